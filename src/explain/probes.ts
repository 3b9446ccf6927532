/**
 * Probes: what `explain` reads of each mechanism before and after a trace line, and the facts it draws from the
 * difference. A probe only reads (inspect output, the pool's and trees' own counters, the host's layer records): it
 * never goes through the container's syscalls, and never calls `usage()` (which settles the store: writeback and a
 * commit, a state change of its own), so explaining a trace leaves every cost exactly as `run` reports it.
 */
import { BtrfsStore } from '../../models/btrfs/store.js';
import { DmStore } from '../../models/devicemapper/store.js';
import { ZfsPool } from '../../models/zfs/pool.js';
import { SnapshotDriver } from '../block/snapshot-driver.js';
import type { Host } from '../engine/host.js';
import type { VolumeEntryJSON } from '../fs/volume.js';
import type { OpCost } from '../trace/execute.js';
import { listPaths, plural, size, type ExtentRef, type Fact } from './facts.js';

/** Which mechanism a driver instance runs, as the probes tell them apart. */
export type Mechanism = 'union' | 'copy' | 'thin' | 'btrfs' | 'zfs' | 'other';

/** The driver's state around one line: the store's counters, and the target container layer's structures. */
export interface Snapshot {
  readonly usage: Counters;
  readonly layer: string | undefined;
  readonly state: unknown;
}

export interface LineContext {
  readonly op: string;
  readonly outcome: string;
  readonly cost: OpCost;
  /** Whether the line is a file op inside a container (not an image or container lifecycle step). */
  readonly fileOp: boolean;
}

export interface Probe {
  readonly mechanism: Mechanism;
  snapshot(layer: string | undefined): Snapshot;
  facts(before: Snapshot, after: Snapshot, ctx: LineContext): Fact[];
}

// ---- shared helpers -------------------------------------------------------------------------------------------------

type Listing = Map<string, VolumeEntryJSON>;

function listingOf(entries: readonly VolumeEntryJSON[]): Listing {
  return new Map(entries.map(e => [e.path, e]));
}

function baseName(path: string): string {
  return path.slice(path.lastIndexOf('/') + 1);
}

function dirName(path: string): string {
  return path.slice(0, path.lastIndexOf('/')) || '/';
}

function join(dir: string, name: string): string {
  return dir === '/' ? `/${name}` : `${dir}/${name}`;
}

const OVL_OPAQUE = 'trusted.overlay.opaque';
const OVL_REDIRECT = 'trusted.overlay.redirect';
const OVL_METACOPY = 'trusted.overlay.metacopy';
const AUFS_WH = '.wh.';
const AUFS_OPQ = '.wh..wh..opq';
const AUFS_PLNK = '/.wh..wh.plnk';

/** The layer's own on-disk form: overlayfs (0/0 whiteouts, xattrs) or aufs (`.wh.` names). */
export type UnionForm = 'overlay' | 'aufs';

/** What an upper-directory entry means in the union: a whiteout of a name, an opaque marker, an internal, or a name. */
export type UpperRole =
  | { role: 'whiteout'; of: string }
  | { role: 'opaque'; of: string }
  | { role: 'pseudo-link' }
  | { role: 'internal' }
  | { role: 'entry' };

export function roleOf(e: VolumeEntryJSON, form: UnionForm): UpperRole {
  if (form === 'overlay') return e.type === 'whiteout' ? { role: 'whiteout', of: e.path } : { role: 'entry' };
  const name = baseName(e.path);
  if (e.path.startsWith(`${AUFS_PLNK}/`)) return { role: 'pseudo-link' };
  if (name === AUFS_OPQ) return { role: 'opaque', of: dirName(e.path) };
  if (name.startsWith(`${AUFS_WH}${AUFS_WH}`)) return { role: 'internal' };
  if (name.startsWith(AUFS_WH)) return { role: 'whiteout', of: join(dirName(e.path), name.slice(AUFS_WH.length)) };
  return { role: 'entry' };
}

function isOpaqueDir(e: VolumeEntryJSON): boolean {
  return e.xattrs?.[OVL_OPAQUE] === 'y';
}

/** The merged view of the layers below a container layer (bottom first), path -> entry. */
export function lowerView(host: Host, layer: string, form: UnionForm): Listing {
  const view: Listing = new Map();
  const removeBelow = (path: string, self: boolean) => {
    for (const p of [...view.keys()]) if ((self && p === path) || p.startsWith(path === '/' ? '/' : `${path}/`)) view.delete(p);
  };
  for (const id of [...host.driver.parents(layer)].reverse()) {
    const entries = host.driver.inspectLayer(id) as VolumeEntryJSON[];
    for (const e of entries) {
      const r = roleOf(e, form);
      if (r.role === 'whiteout') removeBelow(r.of, true);
      else if (r.role === 'opaque' || (r.role === 'entry' && e.type === 'dir' && isOpaqueDir(e))) removeBelow(r.role === 'opaque' ? r.of : e.path, false);
    }
    for (const e of entries) if (roleOf(e, form).role === 'entry' && e.path !== '/') view.set(e.path, e);
  }
  return view;
}

/** Directories of the upper dir that kept their inode under a new path (a rename inside the upper dir). */
function movedDirs(a: Listing, b: Listing): [string, string][] {
  const byIno = new Map<number, string>();
  for (const e of b.values()) if (e.type === 'dir') byIno.set(e.ino, e.path);
  const out: [string, string][] = [];
  for (const e of a.values()) {
    if (e.type !== 'dir' || e.path === '/') continue;
    const now = byIno.get(e.ino);
    if (now !== undefined && now !== e.path && !b.has(e.path) && !out.some(([f]) => e.path.startsWith(`${f}/`))) out.push([e.path, now]);
  }
  return out;
}

/** The listing with every path under a moved directory renamed to where it went. */
function renamePaths(a: Listing, moves: readonly [string, string][]): Listing {
  const out: Listing = new Map();
  for (const [path, e] of a) {
    const m = moves.find(([f]) => path === f || path.startsWith(`${f}/`));
    const p = m === undefined ? path : m[1] + path.slice(m[0].length);
    out.set(p, { ...e, path: p });
  }
  return out;
}

/** Figures read off a store without changing it. */
export type Counters = Readonly<Record<string, number>>;

/** How many layers the host holds (image layers, init and container layers): read from its records. */
/** A layer whose inspectLayer() is a directory listing (union upper dirs, vfs layer copies), as a snapshot. */
function listingSnapshot(host: Host, layer: string | undefined): Snapshot {
  const usage = { layers: layerCount(host) };
  if (layer === undefined) return { usage, layer, state: undefined };
  return { usage, layer, state: listingOf(host.driver.inspectLayer(layer) as VolumeEntryJSON[]) };
}

function layerCount(host: Host): number {
  const ids = new Set<string>();
  for (const i of host.images.values()) for (const l of i.layers) ids.add(l);
  for (const c of host.containers.values()) {
    ids.add(c.layer);
    if (c.initLayer !== undefined) ids.add(c.initLayer);
  }
  return ids.size;
}

function usageDelta(a: Counters, b: Counters, key: string): number {
  return (b[key] ?? 0) - (a[key] ?? 0);
}

/** Lifecycle lines (image, run, commit, rm...): what they changed in the store, from the usage counters. */
const COUNTERS: readonly [string, string][] = [
  ['layers', 'layer'],
  ['thinDevices', 'thin device'],
  ['datasets', 'dataset'],
  ['snapshots', 'snapshot'],
];

function lifecycleFacts(before: Snapshot, after: Snapshot, ctx: LineContext): Fact[] {
  const changes: Record<string, number> = {};
  for (const [key] of COUNTERS) {
    const d = usageDelta(before.usage, after.usage, key);
    if (d !== 0) changes[key] = d;
  }
  const out: Fact[] = [];
  const parts = COUNTERS.filter(([k]) => changes[k] !== undefined).map(([k, word]) => `${changes[k]! > 0 ? '+' : ''}${plural(changes[k]!, word)}`);
  if (parts.length > 0) out.push({ kind: 'layers', changes, text: parts.join(', ') });
  out.push(spaceFact(ctx.cost));
  return out;
}

function spaceFact(cost: OpCost): Fact {
  const wrote = cost.dataBytes + cost.metadataBytes > 0 ? `wrote ${size(cost.dataBytes)} data + ${size(cost.metadataBytes)} metadata, ` : '';
  const sign = cost.allocatedBytes > 0 ? '+' : '';
  return {
    kind: 'space',
    allocatedBytes: cost.allocatedBytes,
    dataBytes: cost.dataBytes,
    metadataBytes: cost.metadataBytes,
    text: `${wrote}in use ${sign}${size(cost.allocatedBytes)}`,
  };
}

function errnoFact(ctx: LineContext, why: string | undefined): Fact {
  return { kind: 'errno', errno: ctx.outcome, text: why === undefined ? ctx.outcome : `${ctx.outcome} (${why})` };
}

// ---- union: the upper directory ---------------------------------------------------------------------------------------

class UnionProbe implements Probe {
  readonly mechanism = 'union';
  private readonly lowers = new Map<string, Listing>();

  constructor(
    readonly host: Host,
    readonly form: UnionForm,
  ) {}

  lower(layer: string): Listing {
    let v = this.lowers.get(layer);
    if (v === undefined) {
      v = lowerView(this.host, layer, this.form);
      this.lowers.set(layer, v);
    }
    return v;
  }

  snapshot(layer: string | undefined): Snapshot {
    return listingSnapshot(this.host, layer);
  }

  facts(before: Snapshot, after: Snapshot, ctx: LineContext): Fact[] {
    if (!ctx.fileOp || before.layer === undefined || before.layer !== after.layer) return lifecycleFacts(before, after, ctx);
    const out: Fact[] = [];
    if (ctx.outcome !== 'ok') {
      out.push(errnoFact(ctx, this.whyErrno(ctx, before)));
      return out;
    }
    const b = after.state as Listing;
    const moves = movedDirs(before.state as Listing, b);
    const a = moves.length === 0 ? (before.state as Listing) : renamePaths(before.state as Listing, moves);
    const lower = this.lower(before.layer);
    const whiteouts: string[] = [];
    const opaque: string[] = [];
    const parents: string[] = [];
    const created: string[] = [];
    const metacopy: string[] = [];
    const plinks: string[] = [];
    const copies: { path: string; lowerPath: string | undefined }[] = [];
    const removed: string[] = [];
    const attrs: Fact[] = [];
    let redirect: Fact | undefined;

    for (const [path, e] of b) {
      const old = a.get(path);
      const r = roleOf(e, this.form);
      if (r.role === 'internal') continue;
      if (r.role === 'pseudo-link') {
        if (old === undefined) plinks.push(path);
        continue;
      }
      if (r.role === 'whiteout') {
        if (old === undefined || roleOf(old, this.form).role !== 'whiteout') whiteouts.push(r.of);
        continue;
      }
      if (r.role === 'opaque') {
        if (old === undefined) opaque.push(r.of);
        continue;
      }
      if (e.type === 'dir' && isOpaqueDir(e) && !(old && isOpaqueDir(old))) opaque.push(path);
      const redir = e.xattrs?.[OVL_REDIRECT];
      if (redir !== undefined && redir !== old?.xattrs?.[OVL_REDIRECT]) redirect = { kind: 'redirect', path, to: redir, text: `redirect xattr on ${path} -> ${redir}` };
      if (e.xattrs?.[OVL_METACOPY] !== undefined && old?.xattrs?.[OVL_METACOPY] === undefined) metacopy.push(path);
      if (old === undefined || (old.type === 'whiteout' && e.type !== 'whiteout')) {
        const low = lower.get(path);
        if (e.type === 'dir') {
          if (low?.type === 'dir' && !isOpaqueDir(e)) parents.push(path);
          else created.push(path);
        } else if (low !== undefined && low.type === e.type && old === undefined) copies.push({ path, lowerPath: path });
        else copies.push({ path, lowerPath: undefined });
        continue;
      }
      if (old.mode !== e.mode) attrs.push({ kind: 'attr', path, change: `mode ${old.mode}->${e.mode}`, text: `chmod ${old.mode}->${e.mode} in the upper dir` });
      if (old.uid !== e.uid || old.gid !== e.gid) attrs.push({ kind: 'attr', path, change: `owner ${old.uid}:${old.gid}->${e.uid}:${e.gid}`, text: `chown in the upper dir` });
    }
    for (const path of a.keys()) {
      const e = a.get(path)!;
      if (!b.has(path) && roleOf(e, this.form).role === 'entry') removed.push(path);
    }

    // a new name that is not in the lower layers but whose content came up: a copy-up moved by rename (its old name
    // got a whiteout)
    let copyBudget = ctx.cost.copyUpBytes;
    for (const c of copies) {
      const e = b.get(c.path)!;
      let lowerPath = c.lowerPath;
      if (lowerPath === undefined) {
        lowerPath = whiteouts.find(w => {
          const l = lower.get(w);
          return l !== undefined && l.type === e.type && l.size === e.size;
        });
      }
      if (lowerPath === undefined) {
        created.push(c.path);
        continue;
      }
      const low = lower.get(lowerPath)!;
      const bytes = low.size ?? 0;
      const meta = metacopy.includes(c.path);
      const copied = Math.min(copyBudget, meta ? 0 : bytes);
      copyBudget -= copied;
      const sparse = !meta && e.type === 'file' && copied < bytes ? `, ${size(copied)} copied: holes stay sparse` : '';
      const moved = lowerPath !== c.path ? ` then rename to ${c.path}` : '';
      out.push({
        kind: 'copy-up',
        path: c.path,
        bytes,
        copiedBytes: copied,
        ...(lowerPath !== c.path ? { from: lowerPath } : {}),
        metadataOnly: meta,
        text: meta
          ? `metadata-only copy-up of ${lowerPath} (metacopy: the ${size(bytes)} of data stay below)${moved}`
          : e.type === 'file'
            ? `copy-up of ${lowerPath} (${size(bytes)}${sparse})${moved}`
            : `copy-up of ${e.type} ${lowerPath}${moved}`,
      });
    }
    for (const [from, to] of moves) out.unshift({ kind: 'attr', path: to, change: `moved from ${from}`, text: `upper dir ${from} renamed to ${to} (with its whiteouts)` });
    if (parents.length > 0) out.unshift({ kind: 'parent-copy-up', paths: parents, text: `parent dirs copied up as metadata: ${listPaths(parents)}` });
    const written = ctx.cost.dataBytes - ctx.cost.copyUpBytes;
    if (written > 0) out.push({ kind: 'write', bytes: written, text: `${out.some(f => f.kind === 'copy-up') ? 'then ' : ''}write ${size(written)}` });
    if (created.length > 0) out.push({ kind: 'create', paths: created, text: `new in the upper dir: ${listPaths(created)}` });
    out.push(...attrs);
    if (removed.length > 0) out.push({ kind: 'remove', paths: removed, text: `${plural(removed.length, 'upper entry', 'upper entries')} removed (${listPaths(removed)})` });
    if (whiteouts.length > 0) {
      const form = this.form === 'overlay' ? 'char-device 0/0' : '.wh. hard link';
      out.push({ kind: 'whiteout', paths: whiteouts, form, text: `${plural(whiteouts.length, 'whiteout')} (${form}) hiding ${listPaths(whiteouts)}` });
    }
    if (opaque.length > 0) out.push({ kind: 'opaque', paths: opaque, text: `opaque dir ${listPaths(opaque)} (${this.form === 'overlay' ? OVL_OPAQUE : AUFS_OPQ})` });
    if (redirect !== undefined) out.push(redirect);
    if (plinks.length > 0) out.push({ kind: 'pseudo-link', paths: plinks, text: `pseudo-link ${listPaths(plinks)} keeps the hard link together` });
    if (out.length === 0) out.push({ kind: 'none', lookups: ctx.cost.lookups, text: `upper dir unchanged (${plural(ctx.cost.lookups, 'lookup probe')})` });
    return out;
  }

  /** Why the union refused: EXDEV on a directory that exists below (it would need a redirect, or is not empty). */
  private whyErrno(ctx: LineContext, before: Snapshot): string | undefined {
    if (ctx.outcome !== 'EXDEV') return undefined;
    void before;
    return this.form === 'overlay'
      ? 'the directory is in a lower layer and redirect_dir is off: mv falls back to copy + delete'
      : 'a non-empty directory from a lower branch: mv falls back to copy + delete';
  }
}

// ---- vfs: a full copy per layer -----------------------------------------------------------------------------------------

class CopyProbe implements Probe {
  readonly mechanism = 'copy';
  constructor(readonly host: Host) {}

  snapshot(layer: string | undefined): Snapshot {
    return listingSnapshot(this.host, layer);
  }

  facts(before: Snapshot, after: Snapshot, ctx: LineContext): Fact[] {
    if (!ctx.fileOp || before.layer === undefined || before.layer !== after.layer) return lifecycleFacts(before, after, ctx);
    if (ctx.outcome !== 'ok') return [errnoFact(ctx, undefined)];
    const a = before.state as Listing;
    const b = after.state as Listing;
    const out: Fact[] = [];
    const created = [...b.keys()].filter(p => !a.has(p));
    const removed = [...a.keys()].filter(p => !b.has(p));
    if (ctx.cost.dataBytes > 0) out.push({ kind: 'write', bytes: ctx.cost.dataBytes, text: `write ${size(ctx.cost.dataBytes)} in place (the layer is its own full copy: nothing to copy up)` });
    if (created.length > 0) out.push({ kind: 'create', paths: created, text: `new: ${listPaths(created)}` });
    if (removed.length > 0) out.push({ kind: 'remove', paths: removed, text: `removed for real: ${listPaths(removed)} (no whiteout needed)` });
    for (const [path, e] of b) {
      const o = a.get(path);
      if (o !== undefined && o.mode !== e.mode) out.push({ kind: 'attr', path, change: `mode ${o.mode}->${e.mode}`, text: `chmod ${o.mode}->${e.mode} in place` });
    }
    if (out.length === 0) out.push({ kind: 'none', lookups: ctx.cost.lookups, text: `nothing written (${plural(ctx.cost.lookups, 'lookup')})` });
    return out;
  }
}

// ---- devicemapper: the thin pool and the filesystem on the thin device ------------------------------------------------------

interface DmState {
  readonly blocksWritten: Record<string, number>;
  readonly poolBlocksTaken: Record<string, number>;
}

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
    return [...out, ...lifecycleFacts(before, after, ctx)];
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

// ---- zfs: records and block-pointer trees -----------------------------------------------------------------------------------

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
    if (!ctx.fileOp || before.layer !== after.layer) return [...out, ...lifecycleFacts(before, after, ctx)];
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

// ---- any other driver: its cost record only ----------------------------------------------------------------------------------

class CostProbe implements Probe {
  readonly mechanism = 'other';
  constructor(readonly host: Host) {}
  snapshot(layer: string | undefined): Snapshot {
    return { usage: { layers: layerCount(this.host) }, layer, state: undefined };
  }
  facts(_before: Snapshot, _after: Snapshot, ctx: LineContext): Fact[] {
    return ctx.outcome !== 'ok' ? [errnoFact(ctx, undefined)] : [spaceFact(ctx.cost)];
  }
}

/** The union form of a union driver's layers, from the driver's own description. */
export function unionForm(host: Host): UnionForm {
  const format = (host.driver.toJSON() as { format?: string }).format;
  return format === 'aufs' ? 'aufs' : 'overlay';
}

/** The store under a snapshotting driver (devicemapper, btrfs, zfs), if any. */
export function storeOf(host: Host): unknown {
  return host.driver instanceof SnapshotDriver ? (host.driver as SnapshotDriver<unknown>).store : undefined;
}

export function probeFor(host: Host): Probe {
  const store = storeOf(host);
  if (store instanceof DmStore) return new ThinProbe(host, store);
  if (store instanceof BtrfsStore) return new BtrfsProbe(host, store);
  if (store instanceof ZfsPool) return new ZfsProbe(host, store);
  if (host.capabilities.kind === 'union') return new UnionProbe(host, unionForm(host));
  if (host.capabilities.kind === 'copy') return new CopyProbe(host);
  return new CostProbe(host);
}
