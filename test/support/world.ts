import { allModels } from '../../models/index.js';
import { FileContent } from '../../src/fs/content.js';
import type { DriverModel } from '../../src/engine/driver.js';
import { resolveOptions } from '../../src/engine/drivers.js';
import { Host, type ContainerRecord } from '../../src/engine/host.js';
import { Volume } from '../../src/fs/volume.js';
import { O_CREAT, O_RDONLY, O_TRUNC, O_WRONLY, type Syscalls } from '../../src/vfs/syscalls.js';

/** A file tree as JSON: "path": "content" for files, "path/": a directory, {symlink}, {link} for a hard link. */
export type TreeSpec = Record<string, string | { symlink: string } | { link: string } | { bytes: number; fill?: 'zero' }>;

/** Builds an image layer (a Volume in OCI form) from a JSON tree; parents are created 0755 root. */
export function tree(spec: TreeSpec): Volume {
  const v = new Volume();
  const dirOf = (path: string) => {
    let d = v.root;
    for (const part of path.split('/').filter(p => p !== '')) {
      d = d.entries!.get(part) ?? v.createChild(d, part, 'dir', { mode: 0o755, uid: 0, gid: 0 });
    }
    return d;
  };
  for (const [path, value] of Object.entries(spec)) {
    const slash = path.lastIndexOf('/', path.length - 2);
    const parent = dirOf(path.slice(0, slash));
    const name = path.slice(slash + 1).replace(/\/$/, '');
    if (path.endsWith('/')) {
      dirOf(path);
    } else if (typeof value === 'string') {
      v.createChild(parent, name, 'file', { mode: 0o644, uid: 0, gid: 0, content: FileContent.fromBytes(new TextEncoder().encode(value)) });
    } else if ('symlink' in value) {
      v.createChild(parent, name, 'symlink', { mode: 0o777, uid: 0, gid: 0, target: value.symlink });
    } else if ('link' in value) {
      v.addEntry(parent, name, v.at(value.link)!);
    } else {
      const content = new FileContent();
      content.write(0, { source: { kind: 'zero' }, at: 0, length: value.bytes });
      v.createChild(parent, name, 'file', { mode: 0o644, uid: 0, gid: 0, content });
    }
  }
  return v;
}

export function model(name: string): DriverModel {
  const m = allModels.find(x => x.name === name);
  if (m === undefined) throw new Error(`no model ${name}`);
  return m;
}

/** A host on `driverName` with image "img" made of `layers` (bottom first) and a running container "c" on it. */
export function world(driverName: string, layers: TreeSpec[], options: Record<string, string> = {}, init = false): { host: Host; c: ContainerRecord; sys: Syscalls<object> } {
  const m = model(driverName);
  const host = new Host(m, resolveOptions(m, options));
  host.loadImage('img', layers.map(tree));
  const c = host.run('c', 'img', init);
  return { host, c, sys: c.sys };
}

const enc = new TextEncoder();
const dec = new TextDecoder();

export function writeFile(sys: Syscalls<object>, path: string, data: string): void {
  const f = sys.open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o644);
  const bytes = enc.encode(data);
  sys.write(f, { source: { kind: 'bytes', bytes }, at: 0, length: bytes.length });
  sys.close(f);
}

/** pwrite of `data` at `offset` into an existing file (open O_WRONLY, no truncation). */
export function pwrite(sys: Syscalls<object>, path: string, data: string, offset: number): void {
  const f = sys.open(path, O_WRONLY);
  const bytes = enc.encode(data);
  sys.write(f, { source: { kind: 'bytes', bytes }, at: 0, length: bytes.length }, offset);
  sys.close(f);
}

export function readText(sys: Syscalls<object>, path: string): string {
  return dec.decode(sys.readFile(path));
}

export function openClose(sys: Syscalls<object>, path: string, flags = O_RDONLY): void {
  sys.close(sys.open(path, flags));
}

/** The code of the FsError `fn` throws (or 'ok'). */
export function errnoOf(fn: () => unknown): string {
  try {
    fn();
    return 'ok';
  } catch (e) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string') return code;
    throw e;
  }
}
