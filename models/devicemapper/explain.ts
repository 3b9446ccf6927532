/**
 * How `explain` reads devicemapper: the thin pool's counters and the filesystem blocks the thin device's filesystem
 * wrote, around each line; a container layer drawn as its thin device's mapping table (virtual blocks -> shared or
 * exclusive pool blocks).
 */
import type { Host } from '../../src/engine/host.js';
import { errnoFact, LAYER_COUNTERS, layerCount, lifecycleFacts, storeOf, usageDelta, type LineContext, type ModelExplain, type Probe, type Snapshot } from '../../src/explain/contract.js';
import { plural, size, type Fact } from '../../src/explain/facts.js';
import { MAX_LINES } from '../../src/explain/pictures.js';
import type { DmStore } from './store.js';

/** A mapped run of a thin device: virtual blocks [from, to] on pool blocks [pool, pool + to - from], all shared or all not. */
export interface MappingRun {
  readonly from: number;
  readonly to: number;
  readonly pool: number;
  readonly shared: boolean;
}

export interface ThinPicture {
  readonly kind: 'thin';
  readonly thinId: number;
  readonly blockBytes: number;
  readonly mappedBlocks: number;
  readonly sharedBlocks: number;
  readonly exclusiveBlocks: number;
  readonly runs: readonly MappingRun[];
  readonly tree: unknown;
}

declare module '../../src/explain/contract.js' {
  interface ModelPictures {
    thin: ThinPicture;
  }
}

// ---- devicemapper: the thin pool and the filesystem on the thin device ------------------------------------------------------

interface DmState {
  readonly blocksWritten: Record<string, number>;
  readonly poolBlocksTaken: Record<string, number>;
}

/** A layer is a thin device: lifecycle lines count both. */
const THIN_COUNTERS = [...LAYER_COUNTERS, ['thinDevices', 'thin device']] as const;

class ThinProbe implements Probe {
  readonly mechanism = 'thin';
  constructor(
    readonly host: Host,
    readonly store: DmStore,
  ) {}

  snapshot(layer: string | undefined): Snapshot {
    const pool = this.store.pool;
    const usage = {
      layers: layerCount(this.host),
      thinDevices: pool.devices.size,
      provisionedBlocks: pool.stats.provisioned,
      sharingBrokenBlocks: pool.stats.sharingBroken,
      poolDataBlocks: pool.usedDataBlocks,
      poolMetadataBlocks: pool.usedMetadataBlocks,
    };
    if (layer === undefined) return { usage, layer, state: undefined };
    const dev = (this.host.driver.inspectLayer(layer) as { device: DmState }).device;
    return { usage, layer, state: { blocksWritten: { ...dev.blocksWritten }, poolBlocksTaken: { ...dev.poolBlocksTaken } } };
  }

  facts(before: Snapshot, after: Snapshot, ctx: LineContext): Fact[] {
    const out: Fact[] = [];
    if (ctx.outcome !== 'ok') out.push(errnoFact(ctx, ctx.outcome === 'ENOSPC' ? 'the pool is out of data blocks' : undefined));
    const u0 = before.usage;
    const u1 = after.usage;
    const blockBytes = this.store.config.blockBytes;
    const provisioned = usageDelta(u0, u1, 'provisionedBlocks');
    const unshared = usageDelta(u0, u1, 'sharingBrokenBlocks');
    const used = usageDelta(u0, u1, 'poolDataBlocks');
    const freed = Math.max(0, provisioned + unshared - used);
    const meta = usageDelta(u0, u1, 'poolMetadataBlocks');
    const parts: string[] = [];
    if (unshared > 0) parts.push(`un-share ${plural(unshared, 'pool block')} (${size(unshared * blockBytes)} copied)`);
    if (provisioned > 0) parts.push(`provision ${plural(provisioned, 'new pool block')} (${size(provisioned * blockBytes)})`);
    if (freed > 0) parts.push(`${plural(freed, 'pool block')} freed${this.store.config.discard && ctx.fileOp ? ' (online discard)' : ''}`);
    if (meta !== 0) parts.push(`pool metadata ${meta > 0 ? '+' : ''}${plural(meta, 'block')}`);
    if (parts.length > 0 || provisioned + unshared + freed + meta !== 0) {
      out.push({ kind: 'pool', blockBytes, provisioned, unshared, freed, metadataBlocks: meta, text: parts.join(', ') });
    }
    const sameLayer = ctx.fileOp && before.layer !== undefined && before.layer === after.layer;
    if (sameLayer) {
      const a = before.state as DmState;
      const b = after.state as DmState;
      const blocks: Record<string, number> = {};
      for (const [k, v] of Object.entries(b.blocksWritten)) {
        const d = v - (a.blocksWritten[k] ?? 0);
        if (d > 0) blocks[k] = d;
      }
      if (Object.keys(blocks).length > 0) {
        const fs = this.store.config.fs;
        const list = Object.entries(blocks).map(([k, n]) => `${k} ${n}`).join(', ');
        out.push({ kind: 'fs-blocks', fs, blocks, text: `${fs} wrote 4 KiB blocks: ${list}` });
      }
      if (ctx.outcome === 'ok' && ctx.fileOp && (ctx.op === 'unlink' || ctx.op === 'rmtree' || ctx.op === 'rmdir' || ctx.op === 'truncate') && freed === 0 && !this.store.config.discard) {
        out.push({ kind: 'pool', blockBytes, provisioned: 0, unshared: 0, freed: 0, metadataBlocks: 0, text: 'no pool block returned (no discard: the pool keeps them mapped)' });
      }
      if (out.length === 0) out.push({ kind: 'none', lookups: ctx.cost.lookups, text: `no block written (${plural(ctx.cost.lookups, 'lookup')})` });
      return out;
    }
    return [...out, ...lifecycleFacts(before, after, ctx, THIN_COUNTERS)];
  }
}

function thinPicture(host: Host, store: DmStore, layer: string): ThinPicture {
  const dev = (host.driver.inspectLayer(layer) as { device: { thinId: number; mapping: unknown } }).device;
  const pool = store.pool;
  const d = pool.device(dev.thinId);
  const root = d.root;
  const runs: MappingRun[] = [];
  let shared = 0;
  for (const v of pool.mappedBlocks(dev.thinId)) {
    const m = pool.lookup(root, v);
    if (m === undefined) continue;
    // dm-thin shares by time stamp: a mapping older than the device's last snapshot is shared (a write breaks it)
    const isShared = m.time < d.snapshottedTime || pool.refCount(m.block) > 1;
    if (isShared) shared++;
    const last = runs.at(-1);
    if (last !== undefined && last.shared === isShared && last.to === v - 1 && last.pool + (v - last.from) === m.block) {
      runs[runs.length - 1] = { ...last, to: v };
    } else runs.push({ from: v, to: v, pool: m.block, shared: isShared });
  }
  const mapped = runs.reduce((n, r) => n + r.to - r.from + 1, 0);
  return {
    kind: 'thin',
    thinId: dev.thinId,
    blockBytes: store.config.blockBytes,
    mappedBlocks: mapped,
    sharedBlocks: shared,
    exclusiveBlocks: mapped - shared,
    runs,
    tree: dev.mapping,
  };
}

// ---- text ------------------------------------------------------------------------------------------------------------------

function thinText(p: ThinPicture): string[] {
  const out = [
    `thin device ${p.thinId}: ${plural(p.mappedBlocks, 'virtual block')} mapped (${size(p.blockBytes)} each): ` +
      `${p.sharedBlocks} shared with other devices (${size(p.sharedBlocks * p.blockBytes)}), ${p.exclusiveBlocks} exclusive (${size(p.exclusiveBlocks * p.blockBytes)})`,
    '  virtual blocks      -> pool blocks         ',
  ];
  const exclusiveFirst = p.runs.length > MAX_LINES ? [...p.runs].sort((a, b) => Number(a.shared) - Number(b.shared)) : p.runs;
  for (const r of exclusiveFirst.slice(0, MAX_LINES)) {
    const v = r.from === r.to ? `${r.from}` : `${r.from}-${r.to}`;
    const pb = r.from === r.to ? `${r.pool}` : `${r.pool}-${r.pool + r.to - r.from}`;
    const bar = (r.shared ? '=' : '#').repeat(Math.min(20, r.to - r.from + 1));
    out.push(`  ${v.padEnd(18)}  -> ${pb.padEnd(18)}  ${r.shared ? 'shared   ' : 'exclusive'}  ${bar}`);
  }
  if (p.runs.length > MAX_LINES) out.push(`  ... ${p.runs.length - MAX_LINES} more runs (exclusive runs listed first)`);
  out.push('  (= shared with the image or another snapshot; # this device\'s own copy)');
  return out;
}

export const devicemapperExplain: ModelExplain = {
  probe: host => new ThinProbe(host, storeOf<DmStore>(host)),
  picture: (host, layer) => thinPicture(host, storeOf<DmStore>(host), layer),
  pictureText: thinText,
};
