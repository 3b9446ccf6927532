/**
 * How `explain` reads btrfs: the file extent items of the container's subvolume and the filesystem's tree CoW counters,
 * around each line; a container layer drawn as its subvolume's tree and the extents it owns (bookends marked).
 */
import type { Host } from '../../src/engine/host.js';
import { errnoFact, layerCount, lifecycleFacts, storeOf, type LineContext, type ModelExplain, type Probe, type Snapshot } from '../../src/explain/contract.js';
import { plural, size, type ExtentRef, type Fact } from '../../src/explain/facts.js';
import { MAX_LINES } from '../../src/explain/pictures.js';
import type { VolumeEntryJSON } from '../../src/fs/volume.js';
import type { BtrfsStore } from './store.js';

export interface BtrfsExtentNode {
  readonly path: string;
  readonly offset: number;
  readonly bytes: number;
  readonly bytenr: number;
  readonly diskBytes: number;
  /** The extent's part this item references starts past 0 or ends short of it: the rest is dead but allocated. */
  readonly bookend: boolean;
  /** The disk extent is also referenced by the parent's subvolume. */
  readonly shared: boolean;
}

export interface SubvolumePicture {
  readonly kind: 'subvolume';
  readonly id: number;
  readonly levels: number;
  readonly treeBlocks: number;
  readonly sharedTreeBlocks: number;
  readonly items: number;
  readonly inlineExtents: number;
  readonly sharedExtents: number;
  /** File extent items this subvolume references that its parent does not, and the bookends (partial references). */
  readonly ownExtents: readonly BtrfsExtentNode[];
}

declare module '../../src/explain/contract.js' {
  interface ModelPictures {
    subvolume: SubvolumePicture;
  }
}

// ---- btrfs: CoW trees and extents ----------------------------------------------------------------------------------------

interface BtrfsExtentJSON {
  ino: number;
  offset: number;
  bytenr?: number;
  diskBytes?: number;
  extOffset?: number;
  numBytes?: number;
  inline?: number;
  hole?: boolean;
}

interface BtrfsState {
  readonly stats: { blocksCowed: number; blocksAllocated: number; blocksFreed: number; splits: number };
  readonly extents: Map<string, BtrfsExtentJSON>;
  readonly paths: Map<number, string>;
}

/** The path of every inode number in a tree listing (first name). */
function pathsByIno(tree: readonly VolumeEntryJSON[]): Map<number, string> {
  const m = new Map<number, string>();
  for (const e of tree) if (!m.has(e.ino)) m.set(e.ino, e.path);
  return m;
}

function extentKey(e: BtrfsExtentJSON): string {
  return `${e.ino}:${e.offset}:${e.bytenr ?? ''}:${e.extOffset ?? ''}:${e.numBytes ?? ''}:${e.inline ?? ''}`;
}

class BtrfsProbe implements Probe {
  readonly mechanism = 'btrfs';
  constructor(
    readonly host: Host,
    readonly store: BtrfsStore,
  ) {}

  snapshot(layer: string | undefined): Snapshot {
    const usage = { layers: layerCount(this.host) };
    const stats = { ...this.store.fs.stats };
    if (layer === undefined) return { usage, layer, state: { stats, extents: new Map(), paths: new Map() } };
    const insp = this.host.driver.inspectLayer(layer) as { tree: VolumeEntryJSON[]; device: { fileExtents: BtrfsExtentJSON[] } };
    const extents = new Map(insp.device.fileExtents.map(e => [extentKey(e), e]));
    return { usage, layer, state: { stats, extents, paths: pathsByIno(insp.tree) } };
  }

  facts(before: Snapshot, after: Snapshot, ctx: LineContext): Fact[] {
    const out: Fact[] = [];
    if (ctx.outcome !== 'ok') out.push(errnoFact(ctx, undefined));
    const a = before.state as BtrfsState;
    const b = after.state as BtrfsState;
    if (ctx.fileOp && before.layer !== undefined && before.layer === after.layer) {
      const ref = (e: BtrfsExtentJSON, paths: Map<number, string>): ExtentRef => ({
        path: paths.get(e.ino) ?? `ino ${e.ino}`,
        offset: e.offset,
        bytes: e.inline ?? e.numBytes ?? 0,
        ...(e.bytenr !== undefined ? { bytenr: e.bytenr } : {}),
        ...(e.diskBytes !== undefined ? { diskBytes: e.diskBytes } : {}),
      });
      const oldBytenrs = new Set([...a.extents.values()].map(e => e.bytenr).filter(x => x !== undefined && x !== 0));
      const added: ExtentRef[] = [];
      const bookends: ExtentRef[] = [];
      const inline: ExtentRef[] = [];
      const dropped: ExtentRef[] = [];
      for (const [k, e] of b.extents) {
        if (a.extents.has(k) || e.hole) continue;
        if (e.inline !== undefined) inline.push(ref(e, b.paths));
        else if (e.bytenr === undefined || e.bytenr === 0) continue;
        else if (oldBytenrs.has(e.bytenr)) bookends.push(ref(e, b.paths));
        else added.push(ref(e, b.paths));
      }
      const newBytenrs = new Set([...b.extents.values()].map(e => e.bytenr));
      for (const [k, e] of a.extents) {
        if (b.extents.has(k) || e.hole || e.inline !== undefined || e.bytenr === undefined || e.bytenr === 0) continue;
        if (!newBytenrs.has(e.bytenr)) dropped.push(ref(e, a.paths));
      }
      if (added.length + bookends.length + inline.length + dropped.length > 0) {
        const parts: string[] = [];
        const addedBytes = added.reduce((n, e) => n + (e.diskBytes ?? e.bytes), 0);
        if (added.length > 0) parts.push(added.length === 1 ? `new ${size(addedBytes)} extent` : `${added.length} new extents (${size(addedBytes)})`);
        if (bookends.length > 0) {
          const disk = [...new Set(bookends.map(e => e.bytenr))].map(n => bookends.find(e => e.bytenr === n)!.diskBytes ?? 0).reduce((x, y) => x + y, 0);
          const live = bookends.reduce((n, e) => n + e.bytes, 0);
          parts.push(`old ${size(disk)} extent kept whole as ${plural(bookends.length, 'bookend')} (${size(Math.max(0, disk - live))} of it dead but allocated)`);
        }
        if (inline.length > 0) parts.push(`${plural(inline.length, 'inline extent')} in the leaf (${size(inline.reduce((n, e) => n + e.bytes, 0))})`);
        if (dropped.length > 0) parts.push(`${plural(dropped.length, 'extent reference')} dropped`);
        out.push({ kind: 'extents', added, bookends, inline, dropped, text: parts.join(', ') });
      }
    }
    const cowed = b.stats.blocksCowed - a.stats.blocksCowed;
    const allocated = b.stats.blocksAllocated - a.stats.blocksAllocated;
    const freed = b.stats.blocksFreed - a.stats.blocksFreed;
    const splits = b.stats.splits - a.stats.splits;
    if (cowed + allocated + freed > 0) {
      const nodeBytes = this.store.config.nodesize;
      const copies = this.store.fs.dupFactor;
      const profile = copies > 1 ? 'DUP' : 'single';
      const split = splits > 0 ? `, ${plural(splits, 'split')}` : '';
      out.push({
        kind: 'tree-cow',
        cowed,
        allocated,
        freed,
        splits,
        nodeBytes,
        copies,
        text: `CoW of ${plural(cowed, 'tree block')}${split} (${profile}: ${size(allocated * nodeBytes * copies)} of metadata written)`,
      });
    }
    if (!ctx.fileOp || before.layer !== after.layer) return [...out, ...lifecycleFacts(before, after, ctx)];
    if (out.length === 0) out.push({ kind: 'none', lookups: ctx.cost.lookups, text: `trees unchanged (${plural(ctx.cost.lookups, 'tree level')} searched)` });
    return out;
  }
}

interface BtrfsInspect {
  subvolume: number;
  levels: number;
  treeBlocks: number;
  sharedBlocks: number;
  items: number;
  fileExtents: { ino: number; offset: number; bytenr?: number; diskBytes?: number; extOffset?: number; numBytes?: number; inline?: number; hole?: boolean }[];
}

function subvolumePicture(host: Host, layer: string): SubvolumePicture {
  const mine = host.driver.inspectLayer(layer) as { tree: VolumeEntryJSON[]; device: BtrfsInspect };
  const parent = host.driver.parents(layer)[0];
  const parentBytenrs = new Set<number>();
  if (parent !== undefined) {
    for (const e of (host.driver.inspectLayer(parent) as { device: BtrfsInspect }).device.fileExtents) if (e.bytenr) parentBytenrs.add(e.bytenr);
  }
  const paths = new Map<number, string>();
  for (const e of mine.tree) if (!paths.has(e.ino)) paths.set(e.ino, e.path);
  const d = mine.device;
  let inline = 0;
  let sharedExtents = 0;
  const own: BtrfsExtentNode[] = [];
  for (const e of d.fileExtents) {
    if (e.inline !== undefined) {
      inline++;
      continue;
    }
    if (e.hole || !e.bytenr) continue;
    const bytes = e.numBytes ?? 0;
    const diskBytes = e.diskBytes ?? bytes;
    const bookend = (e.extOffset ?? 0) > 0 || bytes < diskBytes;
    const shared = parentBytenrs.has(e.bytenr);
    if (shared) sharedExtents++;
    if (!shared || bookend) own.push({ path: paths.get(e.ino) ?? `ino ${e.ino}`, offset: e.offset, bytes, bytenr: e.bytenr, diskBytes, bookend, shared });
  }
  return {
    kind: 'subvolume',
    id: d.subvolume,
    levels: d.levels,
    treeBlocks: d.treeBlocks,
    sharedTreeBlocks: d.sharedBlocks,
    items: d.items,
    inlineExtents: inline,
    sharedExtents,
    ownExtents: own,
  };
}

// ---- text ------------------------------------------------------------------------------------------------------------------

function subvolumeText(p: SubvolumePicture): string[] {
  const out = [
    `subvolume ${p.id}: fs tree of ${p.levels} levels, ${plural(p.treeBlocks, 'tree block')} (${p.sharedTreeBlocks} still shared with the snapshot source), ${plural(p.items, 'item')}`,
    `  extent items: ${p.inlineExtents} inline, ${p.sharedExtents} on extents shared with the parent, ${p.ownExtents.filter(e => !e.shared).length} on its own extents:`,
  ];
  for (const e of p.ownExtents.slice(0, MAX_LINES)) {
    const range = `[${size(e.offset)}, +${size(e.bytes)})`;
    out.push(`  ${e.path} ${range} -> extent @${e.bytenr} (${size(e.diskBytes)} on disk${e.shared ? ', shared' : ', own'})${e.bookend ? '  BOOKEND: the rest of the extent is dead but allocated' : ''}`);
  }
  if (p.ownExtents.length > MAX_LINES) out.push(`  ... ${p.ownExtents.length - MAX_LINES} more`);
  return out;
}

export const btrfsExplain: ModelExplain = {
  probe: host => new BtrfsProbe(host, storeOf<BtrfsStore>(host)),
  picture: subvolumePicture,
  pictureText: subvolumeText,
};
