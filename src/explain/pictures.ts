/**
 * A container layer as a small picture: the union upper directory as a tree (whiteouts, opaque dirs, redirects,
 * copy-ups marked), the thin device's mapping table (virtual blocks -> shared or exclusive pool blocks), the btrfs
 * subvolume's tree and the extents it owns, the zfs dataset's records. Each picture is data (`--json`) and text.
 */
import { BtrfsStore } from '../../models/btrfs/store.js';
import { DmStore } from '../../models/devicemapper/store.js';
import { ZfsPool } from '../../models/zfs/pool.js';
import type { Host } from '../engine/host.js';
import type { VolumeEntryJSON } from '../fs/volume.js';
import { plural, size } from './facts.js';
import { lowerView, roleOf, storeOf, unionForm, type UnionForm } from './probes.js';

/** One upper-directory entry with what it means to the union. */
export interface UpperNode {
  readonly path: string;
  readonly type: string;
  readonly size?: number;
  /** `whiteout`, `opaque`, `redirect -> X`, `metacopy`, `copy-up`, `from lower` (a parent copied up), `new`. */
  readonly marks: readonly string[];
}

/** A mapped run of a thin device: virtual blocks [from, to] on pool blocks [pool, pool + to - from], all shared or all not. */
export interface MappingRun {
  readonly from: number;
  readonly to: number;
  readonly pool: number;
  readonly shared: boolean;
}

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

export type LayerPicture =
  | { readonly kind: 'upper'; readonly form: UnionForm; readonly entries: readonly UpperNode[] }
  | { readonly kind: 'copy'; readonly entries: number; readonly apparentBytes: number }
  | {
      readonly kind: 'thin';
      readonly thinId: number;
      readonly blockBytes: number;
      readonly mappedBlocks: number;
      readonly sharedBlocks: number;
      readonly exclusiveBlocks: number;
      readonly runs: readonly MappingRun[];
      readonly tree: unknown;
    }
  | {
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
  | {
      readonly kind: 'dataset';
      readonly dataset: string;
      readonly origin: string | null;
      readonly referencedBytes: number;
      readonly usedByDatasetBytes: number;
      readonly objects: Readonly<Record<string, number>>;
      /** Data objects with records born after the clone's origin (rewritten or new). */
      readonly rewritten: readonly { object: number; path: string; records: number; recordBytes: number; newRecords: number }[];
    }
  | { readonly kind: 'other'; readonly inspect: unknown };

export interface ContainerPicture {
  readonly container: string;
  readonly layer: string;
  readonly picture: LayerPicture;
}

export function pictureOf(host: Host, layer: string): LayerPicture {
  const store = storeOf(host);
  if (store instanceof DmStore) return thinPicture(host, store, layer);
  if (store instanceof BtrfsStore) return subvolumePicture(host, layer);
  if (store instanceof ZfsPool) return datasetPicture(host, layer);
  if (host.capabilities.kind === 'union') return upperPicture(host, layer);
  if (host.capabilities.kind === 'copy') {
    const entries = host.driver.inspectLayer(layer) as VolumeEntryJSON[];
    return { kind: 'copy', entries: entries.length, apparentBytes: entries.reduce((n, e) => n + (e.size ?? 0), 0) };
  }
  return { kind: 'other', inspect: host.driver.inspectLayer(layer) };
}

function upperPicture(host: Host, layer: string): LayerPicture {
  const form = unionForm(host);
  const lower = lowerView(host, layer, form);
  const entries: UpperNode[] = [];
  for (const e of host.driver.inspectLayer(layer) as VolumeEntryJSON[]) {
    if (e.path === '/') continue;
    const r = roleOf(e, form);
    const marks: string[] = [];
    if (r.role === 'internal') marks.push('aufs internal');
    else if (r.role === 'pseudo-link') marks.push('pseudo-link');
    else if (r.role === 'whiteout') marks.push(form === 'aufs' ? `whiteout of ${r.of.slice(r.of.lastIndexOf('/') + 1)}` : 'whiteout (0/0 char device)');
    else if (r.role === 'opaque') marks.push('makes its dir opaque');
    else {
      const x = e.xattrs ?? {};
      if (x['trusted.overlay.opaque'] === 'y') marks.push('opaque');
      if (x['trusted.overlay.redirect'] !== undefined) marks.push(`redirect -> ${x['trusted.overlay.redirect']}`);
      if (x['trusted.overlay.metacopy'] !== undefined) marks.push('metacopy');
      const low = lower.get(e.path);
      if (low !== undefined && low.type === e.type) marks.push(e.type === 'dir' ? (marks.includes('opaque') ? 'replaces lower dir' : 'from lower (merged)') : 'copied up');
      else if (x['trusted.overlay.origin'] !== undefined && e.type !== 'dir') marks.push('copied up (moved)');
      else marks.push('new');
    }
    entries.push({ path: e.path, type: e.type, ...(e.type === 'file' ? { size: e.size ?? 0 } : {}), marks });
  }
  return { kind: 'upper', form, entries };
}

function thinPicture(host: Host, store: DmStore, layer: string): LayerPicture {
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

interface BtrfsInspect {
  subvolume: number;
  levels: number;
  treeBlocks: number;
  sharedBlocks: number;
  items: number;
  fileExtents: { ino: number; offset: number; bytenr?: number; diskBytes?: number; extOffset?: number; numBytes?: number; inline?: number; hole?: boolean }[];
}

function subvolumePicture(host: Host, layer: string): LayerPicture {
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

interface ZfsInspect {
  dataset: string;
  origin: { dataset: string; snapshot: string; txg: number } | null;
  referencedBytes: number;
  usedByDatasetBytes: number;
  objects: { object: number; type: string; blockBytes: number; blocks: number; records?: { blkid: number; birth: number }[] }[];
}

function datasetPicture(host: Host, layer: string): LayerPicture {
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

const MAX_LINES = 40;

/** The upper directory as a tree, `tree(1)` style. */
function upperText(p: Extract<LayerPicture, { kind: 'upper' }>): string[] {
  const shown = p.entries.filter(e => !e.marks.includes('aufs internal'));
  const hidden = p.entries.length - shown.length;
  const out = [`upper dir (${p.form === 'overlay' ? 'overlayfs' : 'aufs'} form), ${plural(shown.length, 'entry', 'entries')}${hidden > 0 ? ` + ${hidden} aufs internal` : ''}:`, '/'];
  const children = new Map<string, UpperNode[]>();
  for (const e of shown) {
    const parent = e.path.slice(0, e.path.lastIndexOf('/')) || '/';
    children.set(parent, [...(children.get(parent) ?? []), e]);
  }
  let lines = 0;
  const walk = (dir: string, prefix: string) => {
    const kids = children.get(dir) ?? [];
    kids.forEach((e, i) => {
      if (lines++ >= MAX_LINES) return;
      const last = i === kids.length - 1;
      const name = e.path.slice(e.path.lastIndexOf('/') + 1) + (e.type === 'dir' ? '/' : '');
      const sz = e.size !== undefined ? `  ${size(e.size)}` : '';
      out.push(`${prefix}${last ? '└── ' : '├── '}${name}${sz}  [${e.marks.join(', ')}]`);
      if (e.type === 'dir') walk(e.path, `${prefix}${last ? '    ' : '│   '}`);
    });
  };
  walk('/', '');
  if (lines > MAX_LINES) out.push(`... ${lines - MAX_LINES} more entries`);
  return out;
}

function thinText(p: Extract<LayerPicture, { kind: 'thin' }>): string[] {
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

function subvolumeText(p: Extract<LayerPicture, { kind: 'subvolume' }>): string[] {
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

function datasetText(p: Extract<LayerPicture, { kind: 'dataset' }>): string[] {
  const out = [
    `dataset ${p.dataset}, clone of ${p.origin ?? '(none)'}: referenced ${size(p.referencedBytes)}, used by the dataset ${size(p.usedByDatasetBytes)}`,
    `  objects: ${Object.entries(p.objects).map(([k, n]) => `${n} ${k}`).join(', ')}`,
  ];
  for (const r of p.rewritten.slice(0, MAX_LINES)) out.push(`  ${r.path} (object ${r.object}): ${r.newRecords} of ${r.records} records of ${size(r.recordBytes)} born after the clone`);
  return out;
}

export function pictureText(p: LayerPicture): string[] {
  switch (p.kind) {
    case 'upper':
      return upperText(p);
    case 'copy':
      return [`a full copy of its parent: ${plural(p.entries, 'entry', 'entries')}, ${size(p.apparentBytes)} of file data`];
    case 'thin':
      return thinText(p);
    case 'subvolume':
      return subvolumeText(p);
    case 'dataset':
      return datasetText(p);
    case 'other':
      return [JSON.stringify(p.inspect).slice(0, 200)];
  }
}
