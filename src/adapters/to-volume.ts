/**
 * The merged view of a container as a memfs `Volume` (for users who want to look at it with the fs API), and the
 * reverse: a memfs volume written into a container through its system calls.
 */
import { Volume } from 'memfs';
import type { FileKind } from '../fs/inode.js';
import type { TraceOp } from '../trace/schema.js';
import { O_RDONLY, ROOT, type Syscalls } from '../vfs/syscalls.js';
import { createFs } from './node-fs.js';

export interface ToVolumeOptions {
  /** The directory of the container to copy (default `/`); it becomes the volume's `/`. */
  readonly root?: string;
  /** Filled with the paths of entries memfs cannot hold (character and block devices, fifos, sockets). */
  readonly skipped?: string[];
}

const join = (dir: string, name: string): string => (dir === '/' ? `/${name}` : `${dir}/${name}`);

/**
 * A memfs `Volume` holding the container's merged view: directories, regular files with their bytes, symlinks and
 * hard links (names sharing st_ino), with modes, owners and times. Reads as root, without touching atimes (the data
 * is read from the file's extents, not by read(2)); the path walks still count as lookups on the host's meter.
 */
export function toVolume(sys: Syscalls<object>, opts: ToVolumeOptions = {}): InstanceType<typeof Volume> {
  const vol = new Volume();
  const root = opts.root ?? '/';
  const saved = sys.creds;
  sys.creds = ROOT;
  const byIno = new Map<number, string>();
  const dirs: { path: string; mode: number; uid: number; gid: number; atime: number; mtime: number }[] = [];
  try {
    const walk = (from: string, to: string): void => {
      for (const name of sys.readdir(from)) {
        const src = join(from, name);
        const dst = join(to, name);
        const st = sys.stat(src, false);
        const kind: FileKind = st.kind;
        switch (kind) {
          case 'dir':
            vol.mkdirSync(dst, { mode: 0o700 });
            dirs.push({ path: dst, mode: st.mode & 0o7777, uid: st.uid, gid: st.gid, atime: st.atime, mtime: st.mtime });
            walk(src, dst);
            break;
          case 'file': {
            const first = st.nlink > 1 ? byIno.get(st.ino) : undefined;
            if (first !== undefined) {
              vol.linkSync(first, dst);
              break;
            }
            const f = sys.open(src, O_RDONLY);
            let bytes: Uint8Array;
            try {
              const content = sys.contentOf(f);
              bytes = content.read(0, content.size);
            } finally {
              sys.close(f);
            }
            vol.writeFileSync(dst, bytes, { mode: st.mode & 0o7777 });
            vol.chmodSync(dst, st.mode & 0o7777);
            vol.chownSync(dst, st.uid, st.gid);
            vol.utimesSync(dst, st.atime, st.mtime);
            if (st.nlink > 1) byIno.set(st.ino, dst);
            break;
          }
          case 'symlink':
            vol.symlinkSync(sys.readlink(src), dst);
            // memfs makes symlinks 0666; Linux's are 0777
            vol.lchmodSync(dst, st.mode & 0o7777);
            vol.lchownSync(dst, st.uid, st.gid);
            vol.lutimesSync(dst, st.atime, st.mtime);
            break;
          case 'chr':
          case 'blk':
          case 'fifo':
          case 'sock':
            opts.skipped?.push(src);
            break;
        }
      }
    };
    walk(root, '/');
    // directory modes last (a 0555 directory must still take its children), deepest first for the times
    for (const d of dirs.reverse()) {
      vol.chmodSync(d.path, d.mode);
      vol.chownSync(d.path, d.uid, d.gid);
      vol.utimesSync(d.path, d.atime, d.mtime);
    }
    const rs = sys.stat(root, true);
    vol.chmodSync('/', rs.mode & 0o7777);
  } finally {
    sys.creds = saved;
  }
  return vol;
}

export interface FromVolumeOptions {
  /** The volume's directory to copy (default `/`). */
  readonly from?: string;
  /** Where in the container it goes (default `/`; created with its parents if missing). */
  readonly to?: string;
  /** When given, the system calls made are appended here as trace ops. */
  readonly record?: TraceOp[];
}

/**
 * Writes a memfs volume's tree into a container through its system calls (mkdir, open/write/close, symlink, link,
 * chmod, chown, utimes), as a copy by a program would: the driver model charges each call. Existing entries are
 * replaced as `cp -a` would (files truncated, directories merged).
 */
export function fromVolume(vol: InstanceType<typeof Volume>, sys: Syscalls<object>, opts: FromVolumeOptions = {}): void {
  const fs = createFs(sys, opts.record === undefined ? {} : { record: opts.record });
  const from = opts.from ?? '/';
  const to = opts.to ?? '/';
  fs.mkdirSync(to, { recursive: true });
  const byIno = new Map<number, string>();
  const walk = (src: string, dst: string): void => {
    for (const name of listAnyway(vol, src)) {
      const s = join(src, name);
      const d = join(dst, name);
      const st = vol.lstatSync(s);
      if (st.isDirectory()) {
        const there = fs.lstatSync(d, { throwIfNoEntry: false });
        if (there === undefined) fs.mkdirSync(d, { mode: 0o700 });
        walk(s, d);
        fs.chmodSync(d, Number(st.mode) & 0o7777);
      } else if (st.isSymbolicLink()) {
        fs.rmSync(d, { force: true });
        fs.symlinkSync(String(vol.readlinkSync(s)), d);
        continue;
      } else if (st.isFile()) {
        const first = Number(st.nlink) > 1 ? byIno.get(Number(st.ino)) : undefined;
        if (first !== undefined) {
          fs.rmSync(d, { force: true });
          fs.linkSync(first, d);
          continue;
        }
        fs.writeFileSync(d, readAnyway(vol, s, Number(st.mode)), { mode: Number(st.mode) & 0o7777 });
        fs.chmodSync(d, Number(st.mode) & 0o7777);
        if (Number(st.nlink) > 1) byIno.set(Number(st.ino), d);
      } else {
        continue;
      }
      fs.chownSync(d, Number(st.uid), Number(st.gid));
      fs.utimesSync(d, Number(st.atimeMs) / 1000, Number(st.mtimeMs) / 1000);
    }
  };
  walk(from, to);
}

/** memfs checks permissions with no exception for root: open a file's mode for as long as it takes to read it. */
function readAnyway(vol: InstanceType<typeof Volume>, path: string, mode: number): Buffer {
  return asOwner(vol, path, mode, () => vol.readFileSync(path) as Buffer);
}

function listAnyway(vol: InstanceType<typeof Volume>, path: string): string[] {
  return asOwner(vol, path, Number(vol.statSync(path).mode), () => (vol.readdirSync(path) as unknown[]).map(String));
}

function asOwner<T>(vol: InstanceType<typeof Volume>, path: string, mode: number, read: () => T): T {
  try {
    return read();
  } catch (e) {
    if ((e as { code?: string }).code !== 'EACCES') throw e;
  }
  const { atime, mtime } = vol.statSync(path);
  vol.chmodSync(path, 0o777);
  try {
    return read();
  } finally {
    vol.chmodSync(path, mode & 0o7777);
    // memfs's chmod also sets mtime
    vol.utimesSync(path, atime, mtime);
  }
}
