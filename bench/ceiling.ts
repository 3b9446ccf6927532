/**
 * Two reference replays of the peer trace that bound what any simulator can reach in this harness (same trace, same
 * timed loop, same ops: open + pwrite + close, create + write, unlink):
 *
 * - `bare-bytes`: each directory a name map, each file its bytes (a growable Uint8Array). The least an in-memory
 *   filesystem that answers reads can do; its final view is checked against memfs's like every system's.
 * - `bare-extents`: the same name maps, each file the extent map the models keep (src/fs/content.ts: what was
 *   written, by reference, no bytes copied). What a simulator costs before any POSIX rule, accounting or on-disk
 *   structure; its final view is checked.
 * - `bare-names`: the same name maps, each file only its size and times: no data at all, no permission, no
 *   accounting. Nothing that keeps what was written can be faster; having no contents, its final view cannot be
 *   checked (only the file count and total size are).
 *
 * Both resolve a path by one lookup of its directory part in a path-to-directory map (a dentry cache with no misses)
 * and one of its last name: less than any POSIX walk does.
 */
import { createHash } from 'node:crypto';
import { bytesSource, FileContent, type DataSlice } from '../src/fs/content.js';
import type { BaseLayout, FinalView } from './peer-trace.js';

export const BARE_BYTES = 'bare-bytes';
export const BARE_EXTENTS = 'bare-extents';
export const BARE_NAMES = 'bare-names';
/** What a ceiling's files keep of their data. */
export type Keeping = 'bytes' | 'extents' | 'nothing';
/** Each ceiling by name, and what its files keep: one table the system list and the view check are read from. */
const KEEPING: Readonly<Record<string, Keeping>> = { [BARE_BYTES]: 'bytes', [BARE_EXTENTS]: 'extents', [BARE_NAMES]: 'nothing' };
export const CEILINGS: readonly string[] = Object.keys(KEEPING);
/** What the ceiling `system` keeps, or undefined when it is not a ceiling. */
export function keepingOf(system: string): Keeping | undefined {
  return Object.hasOwn(KEEPING, system) ? KEEPING[system] : undefined;
}
/** The systems whose final view cannot be compared with memfs's: they keep no file contents. */
export const UNCHECKED_VIEWS: ReadonlySet<string> = new Set(CEILINGS.filter(c => KEEPING[c] === 'nothing'));

export interface CeilingTarget {
  write(path: string, offset: number): void;
  create(path: string): void;
  unlink(path: string): void;
  digest(): FinalView;
}

class BareDir {
  readonly entries = new Map<string, BareDir | BareFile>();
  mtime = 0;
}

class BareFile {
  /** Capacity grows by doubling; `size` is the file's length. */
  bytes: Uint8Array;
  size: number;
  /** `extents` keeping: the written ranges, by reference. */
  extents: FileContent | undefined;
  mtime = 0;
  ctime = 0;
  constructor(bytes: Uint8Array, size: number, extents?: FileContent) {
    this.bytes = bytes;
    this.size = size;
    this.extents = extents;
  }
}

const ENOENT = (path: string): Error => Object.assign(new Error(`ENOENT: no such file or directory, '${path}'`), { code: 'ENOENT' });

/** A bare tree: `/base` and its directories, every directory also reachable by its path. */
function bareTree(layout: BaseLayout): { root: BareDir; byPath: Map<string, BareDir> } {
  const root = new BareDir();
  const byPath = new Map<string, BareDir>([['', root]]);
  for (const d of layout.dirs) {
    const slash = d.lastIndexOf('/');
    const dir = new BareDir();
    byPath.get(d.slice(0, slash))!.entries.set(d.slice(slash + 1), dir);
    byPath.set(d, dir);
  }
  return { root, byPath };
}

/** A ceiling target, the base built as bench.mjs builds it (file i: `template` with i as u32le at offset 0). */
export function ceilingTarget(layout: BaseLayout, template: Uint8Array, writeData: Uint8Array, keeping: Keeping): CeilingTarget {
  const keepBytes = keeping === 'bytes';
  const keepExtents = keeping === 'extents';
  const slice: DataSlice = { source: bytesSource(writeData), at: 0, length: writeData.length };
  const { root, byPath } = bareTree(layout);
  let clock = 0;
  const empty = new Uint8Array(0);
  // one lookup of the directory part, one of the last name, and no tuple allocated between them
  const dirOf = (path: string, slash: number): BareDir => {
    const dir = byPath.get(path.slice(0, slash));
    if (dir === undefined) throw ENOENT(path);
    return dir;
  };
  const pwrite = (f: BareFile, offset: number): void => {
    const end = offset + writeData.length;
    if (keepBytes) {
      if (end > f.bytes.length) {
        const grown = new Uint8Array(Math.max(end, 2 * f.bytes.length));
        grown.set(f.bytes.subarray(0, f.size));
        f.bytes = grown;
      }
      // a write past the end leaves zeros between (the growth above is zero-filled)
      f.bytes.set(writeData, offset);
    } else if (keepExtents) f.extents!.write(offset, slice);
    if (end > f.size) f.size = end;
    f.mtime = f.ctime = ++clock;
  };
  layout.files.forEach((p, i) => {
    const slash = p.lastIndexOf('/');
    const dir = dirOf(p, slash);
    const name = p.slice(slash + 1);
    let bytes = empty;
    if (keepBytes || keepExtents) {
      // a copy (Buffer's slice would share the template's memory)
      bytes = new Uint8Array(template);
      new DataView(bytes.buffer).setUint32(0, i, true);
    }
    dir.entries.set(name, keepExtents ? new BareFile(empty, template.length, FileContent.fromBytes(bytes)) : new BareFile(bytes, template.length));
  });
  return {
    write(path, offset) {
      const slash = path.lastIndexOf('/');
      const f = dirOf(path, slash).entries.get(path.slice(slash + 1));
      if (!(f instanceof BareFile)) throw ENOENT(path);
      pwrite(f, offset);
    },
    create(path) {
      const slash = path.lastIndexOf('/');
      const dir = dirOf(path, slash);
      const name = path.slice(slash + 1);
      let f = dir.entries.get(name);
      if (f instanceof BareDir) throw Object.assign(new Error(`EISDIR: '${path}'`), { code: 'EISDIR' });
      if (f === undefined) {
        f = new BareFile(keepBytes ? new Uint8Array(writeData.length) : empty, 0, keepExtents ? new FileContent() : undefined);
        dir.entries.set(name, f);
        dir.mtime = ++clock;
      } else {
        f.size = 0;
        f.extents?.truncate(0);
      }
      pwrite(f, 0);
    },
    unlink(path) {
      const slash = path.lastIndexOf('/');
      const dir = dirOf(path, slash);
      const name = path.slice(slash + 1);
      if (!(dir.entries.get(name) instanceof BareFile)) throw ENOENT(path);
      dir.entries.delete(name);
      dir.mtime = ++clock;
    },
    digest() {
      // bench.mjs digest(): /base in name order, path + '\0' + content of every file
      const h = createHash('sha256');
      let files = 0;
      let bytes = 0;
      const walk = (dir: BareDir, path: string): void => {
        for (const name of [...dir.entries.keys()].sort()) {
          const child = dir.entries.get(name)!;
          const p = `${path}/${name}`;
          if (child instanceof BareDir) walk(child, p);
          else {
            if (keepBytes) h.update(p).update('\0').update(child.bytes.subarray(0, child.size));
            else if (keepExtents) h.update(p).update('\0').update(child.extents!.read(0, child.size));
            files++;
            bytes += child.size;
          }
        }
      };
      walk(root.entries.get('base') as BareDir, '/base');
      return { files, bytes, sha256: keeping === 'nothing' ? 'no contents' : h.digest('hex').slice(0, 16) };
    },
  };
}
