/** Shared helpers for the adapter tests: a container on a model, and a tree listing to compare filesystems by. */
import type { DriverModel } from '../../src/engine/driver.js';
import { resolveOptions } from '../../src/engine/drivers.js';
import { Host, type ContainerRecord } from '../../src/engine/host.js';
import { loadImageSource } from '../../src/image/resolve.js';

export function container(model: DriverModel, options: Record<string, string> = {}): { host: Host; c: ContainerRecord } {
  const host = new Host(model, resolveOptions(model, options));
  host.loadImage('img', loadImageSource('builtin:busybox'));
  return { host, c: host.run('c', 'img') };
}

/** The parts of fs.Stats/readdir/readlink/readFile a tree listing needs (node:fs, memfs and the facade all have them). */
export interface TreeFs {
  readdirSync(path: string): unknown[];
  lstatSync(path: string): { mode: number | bigint; size: number | bigint; nlink: number | bigint; ino: number | bigint; uid: number | bigint; gid: number | bigint; mtimeMs: number | bigint; isDirectory(): boolean; isFile(): boolean; isSymbolicLink(): boolean } | undefined;
  readlinkSync(path: string): unknown;
  readFileSync(path: string): unknown;
}

export interface TreeEntry {
  type: 'dir' | 'file' | 'symlink' | 'other';
  mode: string;
  uid: number;
  gid: number;
  mtime?: number;
  size?: number;
  sha?: string;
  target?: string;
  /** Paths sharing this file's inode (hard links), relative to the root, sorted. */
  links?: string[];
}

/** Every entry under `root`, keyed by its path relative to root: type, permission bits, owner, content hash, links. */
export function listTree(fs: TreeFs, root: string, opts: { mtime?: boolean } = {}): Record<string, TreeEntry> {
  const out: Record<string, TreeEntry> = {};
  const byIno = new Map<string, string[]>();
  const walk = (dir: string, rel: string): void => {
    for (const raw of fs.readdirSync(dir)) {
      const name = String(raw);
      const p = `${dir.replace(/\/+$/, '')}/${name}`;
      const r = rel === '' ? name : `${rel}/${name}`;
      const st = fs.lstatSync(p)!;
      const e: TreeEntry = {
        type: st.isDirectory() ? 'dir' : st.isFile() ? 'file' : st.isSymbolicLink() ? 'symlink' : 'other',
        mode: (Number(st.mode) & 0o7777).toString(8),
        uid: Number(st.uid),
        gid: Number(st.gid),
      };
      if (opts.mtime && e.type === 'file') e.mtime = Math.floor(Number(st.mtimeMs) / 1000);
      if (e.type === 'file') {
        const bytes = fs.readFileSync(p) as Uint8Array;
        e.size = Number(st.size);
        e.sha = hash(bytes);
        if (Number(st.nlink) > 1) {
          const k = String(st.ino);
          byIno.set(k, [...(byIno.get(k) ?? []), r]);
          e.links = byIno.get(k)!;
        }
      }
      if (e.type === 'symlink') e.target = String(fs.readlinkSync(p));
      out[r] = e;
      if (e.type === 'dir') walk(p, r);
    }
  };
  walk(root, '');
  for (const e of Object.values(out)) if (e.links !== undefined) e.links = [...e.links].sort();
  return out;
}

export function hash(bytes: Uint8Array): string {
  // FNV-1a 32 and the length: enough to tell contents apart in a test
  let h = 0x811c9dc5;
  for (const b of bytes) h = Math.imul(h ^ b, 0x01000193) >>> 0;
  return `${bytes.length}:${h.toString(16)}`;
}
