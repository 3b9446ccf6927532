/**
 * How `explain` reads zfs: the pool's dataset and MOS figures around each line (records rewritten whole); a container
 * layer drawn as its dataset, the snapshot it is a clone of, and the records born after the clone.
 */
import type { Host } from '../../src/engine/host.js';
import { errnoFact, LAYER_COUNTERS, layerCount, lifecycleFacts, spaceFact, storeOf, usageDelta, type LineContext, type ModelExplain, type Probe, type Snapshot } from '../../src/explain/contract.js';
import { plural, size, type Fact } from '../../src/explain/facts.js';
import { MAX_LINES } from '../../src/explain/pictures.js';
import type { VolumeEntryJSON } from '../../src/fs/volume.js';
import type { ZfsPool } from './pool.js';

export interface DatasetPicture {
  readonly kind: 'dataset';
  readonly dataset: string;
  readonly origin: string | null;
  readonly referencedBytes: number;
  readonly usedByDatasetBytes: number;
  readonly objects: Readonly<Record<string, number>>;
  /** Data objects with records born after the clone's origin (rewritten or new). */
  readonly rewritten: readonly { object: number; path: string; records: number; recordBytes: number; newRecords: number }[];
}

declare module '../../src/explain/contract.js' {
  interface ModelPictures {
    dataset: DatasetPicture;
  }
}

// ---- zfs: records and block-pointer trees -----------------------------------------------------------------------------------

/** A layer is a dataset, cloned from a snapshot of its parent: lifecycle lines count all three. */
const DATASET_COUNTERS = [...LAYER_COUNTERS, ['datasets', 'dataset'], ['snapshots', 'snapshot']] as const;

class ZfsProbe implements Probe {
  readonly mechanism = 'zfs';
  constructor(
    readonly host: Host,
    readonly pool: ZfsPool,
  ) {}

  snapshot(layer: string | undefined): Snapshot {
    // usage(false): the pool's figures as they stand, without the sync usage() would run
    const u = this.pool.usage(false);
    const usage = { layers: layerCount(this.host), datasets: u['datasets'] ?? 0, snapshots: u['snapshots'] ?? 0, datasetMetadataBytes: u['datasetMetadataBytes'] ?? 0, mosBytes: u['mosBytes'] ?? 0 };
    return { usage, layer, state: undefined };
  }

  facts(before: Snapshot, after: Snapshot, ctx: LineContext): Fact[] {
    const out: Fact[] = [];
    if (ctx.outcome !== 'ok') out.push(errnoFact(ctx, undefined));
    if (!ctx.fileOp || before.layer !== after.layer) return [...out, ...lifecycleFacts(before, after, ctx, DATASET_COUNTERS)];
    const recordBytes = this.pool.p.recordBytes;
    const rewritten = Math.ceil(ctx.cost.copyUpBytes / recordBytes);
    const written = ctx.cost.dataBytes;
    const meta = usageDelta(before.usage, after.usage, 'datasetMetadataBytes') + usageDelta(before.usage, after.usage, 'mosBytes');
    if (written > 0 || meta !== 0) {
      const parts: string[] = [];
      if (rewritten > 0) parts.push(`${plural(rewritten, 'record')} of ${size(recordBytes)} rewritten whole (copy on write of the record)`);
      else if (written > 0) parts.push(`${size(written)} in new records`);
      if (meta !== 0) parts.push(`metadata ${meta > 0 ? '+' : ''}${size(meta)} in use (indirect blocks, dnodes, MOS)`);
      out.push({ kind: 'records', recordBytes, rewritten, written, metadataBytes: meta, text: parts.join(', ') });
    }
    if (out.length === 0 && ctx.cost.allocatedBytes !== 0) out.push(spaceFact(ctx.cost));
    if (out.length === 0) out.push({ kind: 'none', lookups: ctx.cost.lookups, text: `no block written (${plural(ctx.cost.lookups, 'ZAP lookup')})` });
    return out;
  }
}

interface ZfsInspect {
  dataset: string;
  origin: { dataset: string; snapshot: string; txg: number } | null;
  referencedBytes: number;
  usedByDatasetBytes: number;
  objects: { object: number; type: string; blockBytes: number; blocks: number; records?: { blkid: number; birth: number }[] }[];
}

function datasetPicture(host: Host, layer: string): DatasetPicture {
  const mine = host.driver.inspectLayer(layer) as { tree: VolumeEntryJSON[]; device: ZfsInspect };
  const d = mine.device;
  const paths = new Map<number, string>();
  for (const e of mine.tree) if (!paths.has(e.ino)) paths.set(e.ino, e.path);
  const objects: Record<string, number> = {};
  const rewritten: { object: number; path: string; records: number; recordBytes: number; newRecords: number }[] = [];
  const since = d.origin?.txg ?? -1;
  for (const o of d.objects) {
    objects[o.type] = (objects[o.type] ?? 0) + 1;
    if (o.type !== 'data' || o.records === undefined) continue;
    const fresh = o.records.filter(r => r.birth > since).length;
    if (fresh > 0) rewritten.push({ object: o.object, path: paths.get(o.object) ?? `object ${o.object}`, records: o.blocks, recordBytes: o.blockBytes, newRecords: fresh });
  }
  return {
    kind: 'dataset',
    dataset: d.dataset,
    origin: d.origin === null ? null : `${d.origin.dataset}@${d.origin.snapshot} (txg ${d.origin.txg})`,
    referencedBytes: d.referencedBytes,
    usedByDatasetBytes: d.usedByDatasetBytes,
    objects,
    rewritten,
  };
}

// ---- text ------------------------------------------------------------------------------------------------------------------

function datasetText(p: DatasetPicture): string[] {
  const out = [
    `dataset ${p.dataset}, clone of ${p.origin ?? '(none)'}: referenced ${size(p.referencedBytes)}, used by the dataset ${size(p.usedByDatasetBytes)}`,
    `  objects: ${Object.entries(p.objects).map(([k, n]) => `${n} ${k}`).join(', ')}`,
  ];
  for (const r of p.rewritten.slice(0, MAX_LINES)) out.push(`  ${r.path} (object ${r.object}): ${r.newRecords} of ${r.records} records of ${size(r.recordBytes)} born after the clone`);
  return out;
}

export const zfsExplain: ModelExplain = {
  probe: host => new ZfsProbe(host, storeOf<ZfsPool>(host)),
  picture: datasetPicture,
  pictureText: datasetText,
};
