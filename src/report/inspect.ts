/**
 * `layersim inspect`: an image's layers as their tars list them (whiteouts and opaque directories named as such),
 * each layer's size as Docker and dive record it, and dive's efficiency figures (./dive.ts).
 */
import type { FileKind, Inode } from '../fs/inode.js';
import type { Volume } from '../fs/volume.js';
import { diveAnalysis, type DiveInefficiency } from './dive.js';
import { layerTarSize } from './docker-size.js';
import { formatBytes, humanSizeSI, renderTable } from './format.js';

const WHITEOUT_PREFIX = '.wh.';
const META_PREFIX = '.wh..wh.';
const OPAQUE_MARKER = '.wh..wh..opq';

/** One entry of a layer. */
export interface LayerEntry {
  /** Absolute path; for a whiteout, the path it deletes. */
  path: string;
  type: FileKind | 'whiteout';
  /** st_size: a regular file's length, a symlink's target length, else 0. */
  size: number;
  /** Permission bits, octal (`0644`). */
  mode: string;
  uid: number;
  gid: number;
  /** Symlinks: the target. */
  target?: string;
  /** A further name of an inode listed earlier in the layer (a tar hard-link entry): that first path. */
  hardLink?: string;
  whiteout?: true;
  /** A directory whose lower contents this layer hides (`.wh..wh..opq`, or overlay's opaque xattr). */
  opaque?: true;
}

export interface LayerInspection {
  index: number;
  id: string;
  /** What Docker's ApplyDiff and dive record: Σ tar header sizes (regular files, a hard-linked inode once). */
  sizeBytes: number;
  entries: LayerEntry[];
}

export interface ImageInspection {
  image: string;
  layers: LayerInspection[];
  sizeBytes: number;
  efficiency: number;
  wastedBytes: number;
  wastedUserPercent: number | null;
  userSizeBytes: number;
  reclaimableBytes: number;
  inefficiencies: { path: string; count: number; cumulativeBytes: number; reclaimableBytes: number; layers: number[] }[];
}

function isOverlayOpaque(inode: Inode): boolean {
  const v = inode.xattrs?.get('trusted.overlay.opaque');
  return v !== undefined && v.length === 1 && v[0] === 0x79; // 'y'
}

/** A layer tree's entries in walk order (sorted names, parents first). */
export function layerEntries(volume: Volume): LayerEntry[] {
  const entries: LayerEntry[] = [];
  const dirs = new Map<string, LayerEntry>();
  const firstName = new Map<Inode, string>();
  for (const [path, inode] of volume.walk()) {
    const slash = path.lastIndexOf('/');
    const dir = path.slice(0, slash);
    const name = path.slice(slash + 1);
    if (name === OPAQUE_MARKER) {
      const parent = dirs.get(dir);
      if (parent !== undefined) parent.opaque = true;
      continue;
    }
    // AUFS bookkeeping (.wh..wh.aufs, .wh..wh.plnk, .wh..wh.orph) is not part of a layer
    if (name.startsWith(META_PREFIX) || path.includes(`/${META_PREFIX}`)) continue;
    const base = { mode: inode.mode.toString(8).padStart(4, '0'), uid: inode.uid, gid: inode.gid };
    if (name.startsWith(WHITEOUT_PREFIX) || inode.isWhiteoutDevice()) {
      const target = name.startsWith(WHITEOUT_PREFIX) ? name.slice(WHITEOUT_PREFIX.length) : name;
      entries.push({ path: `${dir}/${target}`, type: 'whiteout', size: 0, ...base, whiteout: true });
      continue;
    }
    const e: LayerEntry = { path, type: inode.kind, size: inode.kind === 'file' || inode.kind === 'symlink' ? inode.size : 0, ...base };
    if (inode.kind === 'symlink') e.target = inode.target!;
    if (inode.kind === 'dir') {
      dirs.set(path, e);
      if (isOverlayOpaque(inode)) e.opaque = true;
    } else if (inode.nlink > 1) {
      const first = firstName.get(inode);
      if (first === undefined) firstName.set(inode, path);
      else e.hardLink = first;
    }
    entries.push(e);
  }
  return entries;
}

/** The inspection of an image given as its layer trees (bottom first) and, optionally, its layer ids. */
export function inspectImage(image: string, trees: readonly Volume[], ids?: readonly string[]): ImageInspection {
  const dive = diveAnalysis(trees);
  return {
    image,
    layers: trees.map((tree, index) => ({ index, id: ids?.[index] ?? `layer${index}`, sizeBytes: layerTarSize(tree), entries: layerEntries(tree) })),
    sizeBytes: dive.sizeBytes,
    efficiency: dive.efficiency,
    wastedBytes: dive.wastedBytes,
    wastedUserPercent: dive.wastedUserPercent,
    userSizeBytes: dive.userSizeBytes,
    reclaimableBytes: dive.reclaimableBytes,
    inefficiencies: dive.inefficiencies.map((i: DiveInefficiency) => ({
      path: i.path,
      count: i.count,
      cumulativeBytes: i.cumulativeBytes,
      reclaimableBytes: i.reclaimableBytes,
      layers: i.layers,
    })),
  };
}

function percentText(v: number | null): string {
  return v === null ? 'n/a' : `${(v * 100).toFixed(2)} %`;
}

/** The inspection as text: layers, dive's figures, the inefficient paths; `verbose` lists every entry. */
export function formatInspection(r: ImageInspection, verbose = false): string {
  const out: string[] = [`image ${r.image}: ${r.layers.length} layers, ${humanSizeSI(r.sizeBytes)} (${r.sizeBytes} bytes)`, ''];
  out.push(
    renderTable([
      ['layer', 'id', 'size', 'entries', 'whiteouts'],
      ...r.layers.map(l => [String(l.index), l.id, formatBytes(l.sizeBytes), String(l.entries.length), String(l.entries.filter(e => e.whiteout).length)]),
    ]),
  );
  if (verbose) {
    for (const l of r.layers) {
      out.push('', `layer ${l.index} (${l.id}):`);
      for (const e of l.entries) {
        const what = e.whiteout ? 'whiteout' : e.type;
        const extra = e.target !== undefined ? ` -> ${e.target}` : e.hardLink !== undefined ? ` link to ${e.hardLink}` : '';
        out.push(`  ${what.padEnd(8)} ${e.mode} ${`${e.uid}:${e.gid}`.padStart(9)} ${String(e.size).padStart(10)}  ${e.path}${e.opaque ? ' (opaque)' : ''}${extra}`);
      }
    }
  }
  out.push(
    '',
    `efficiency:          ${percentText(r.efficiency)}`,
    `wasted (dive):       ${formatBytes(r.wastedBytes)} (${r.wastedBytes} bytes; every copy of a repeated path)`,
    `user size:           ${formatBytes(r.userSizeBytes)} (layers above the first)`,
    `wasted / user:       ${percentText(r.wastedUserPercent)}`,
    `reclaimable:         ${formatBytes(r.reclaimableBytes)} (${r.reclaimableBytes} bytes; the copies the image no longer shows)`,
  );
  if (r.inefficiencies.length > 0) {
    out.push(
      '',
      renderTable([
        ['path', 'count', 'cumulative', 'reclaimable', 'layers'],
        ...r.inefficiencies.map(i => [i.path, String(i.count), formatBytes(i.cumulativeBytes), formatBytes(i.reclaimableBytes), i.layers.join(',')]),
      ]),
    );
  }
  return out.join('\n');
}
