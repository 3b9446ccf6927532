import { lstatSync, readdirSync, readFileSync, readlinkSync, statSync, type BigIntStats } from 'node:fs';
import { join } from 'node:path';
import { FileContent } from '../fs/content.js';
import type { FileKind } from '../fs/inode.js';
import type { Volume } from '../fs/volume.js';
import { imageError, quoteName } from './errors.js';
import { buildVolume, type ArchiveEntry, type ImageLoadOptions } from './tree.js';

/** The kind of file an lstat(2) result describes. */
export function kindOf(st: Pick<BigIntStats, 'isFile' | 'isDirectory' | 'isSymbolicLink' | 'isCharacterDevice' | 'isBlockDevice' | 'isFIFO'>): FileKind {
  if (st.isFile()) return 'file';
  if (st.isDirectory()) return 'dir';
  if (st.isSymbolicLink()) return 'symlink';
  if (st.isCharacterDevice()) return 'chr';
  if (st.isBlockDevice()) return 'blk';
  if (st.isFIFO()) return 'fifo';
  return 'sock';
}

/** Nanosecond stat times as the simulator's seconds. */
function seconds(ns: bigint): number {
  return Number(ns) / 1e9;
}

function hostError(path: string, err: unknown): Error {
  const detail = err instanceof Error ? err.message : String(err);
  return imageError(`cannot read ${quoteName(path)}: ${detail}`);
}

/** Reads what one host path is, as an entry named `name` in the image. */
function entryFor(hostPath: string, name: string, st: BigIntStats, firstLinks: Map<string, string>): ArchiveEntry {
  const kind = kindOf(st);
  const base = {
    name,
    mode: Number(st.mode) & 0o7777,
    uid: Number(st.uid),
    gid: Number(st.gid),
    mtime: seconds(st.mtimeNs),
    atime: seconds(st.atimeNs),
  };
  if (kind !== 'dir' && st.nlink > 1n) {
    // hard links are one inode met under several names: (st_dev, st_ino) identifies it, as tar and cp -a do
    const key = `${st.dev}:${st.ino}`;
    const first = firstLinks.get(key);
    if (first !== undefined) return { ...base, kind: 'hardlink', target: first };
    firstLinks.set(key, name);
  }
  try {
    switch (kind) {
      case 'file':
        return { ...base, kind, content: FileContent.fromBytes(new Uint8Array(readFileSync(hostPath))) };
      case 'symlink':
        return { ...base, kind, target: readlinkSync(hostPath) };
      case 'chr':
      case 'blk':
        return { ...base, kind, rdev: Number(st.rdev) };
      case 'dir':
      case 'fifo':
      case 'sock':
        return { ...base, kind };
    }
  } catch (err) {
    throw hostError(hostPath, err);
  }
}

/** Every entry below `hostDir`, parents before children and names in sorted order, so a build is deterministic. */
function collectEntries(hostDir: string, prefix: string, out: ArchiveEntry[], firstLinks: Map<string, string>): void {
  let names: string[];
  try {
    names = readdirSync(hostDir).sort();
  } catch (err) {
    throw hostError(hostDir, err);
  }
  for (const name of names) {
    const hostPath = join(hostDir, name);
    const entryName = prefix === '' ? name : `${prefix}/${name}`;
    let st: BigIntStats;
    try {
      st = lstatSync(hostPath, { bigint: true });
    } catch (err) {
      throw hostError(hostPath, err);
    }
    out.push(entryFor(hostPath, entryName, st, firstLinks));
    if (st.isDirectory()) collectEntries(hostPath, entryName, out, firstLinks);
  }
}

/**
 * A host directory as an image tree: an lstat walk keeping modes, owners, times, symlinks, hard links, devices and
 * fifos as found, file data read in full. Extended attributes are not read: Node has no xattr API. `path` itself may be
 * a symlink to the directory. The whole tree is read before anything is built, so an unreadable file builds nothing.
 */
export function readDirectory(path: string, opts: ImageLoadOptions = {}): Volume {
  let rootStat: BigIntStats;
  try {
    rootStat = statSync(path, { bigint: true });
  } catch (err) {
    throw hostError(path, err);
  }
  if (!rootStat.isDirectory()) throw imageError(`${quoteName(path)} is not a directory`);
  const entries: ArchiveEntry[] = [entryFor(path, '.', rootStat, new Map())];
  collectEntries(path, '', entries, new Map());
  return buildVolume(entries, opts);
}
