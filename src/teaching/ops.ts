/**
 * The filesystem operations the property tests generate, how each one is applied to a simulated container
 * (`Syscalls`), and how a container's whole view is read back for comparison.
 *
 * An `FsOp` is plain data, so it can be printed (`formatOp`) as a call that can be pasted into a test to replay it.
 */
import { bytesSource } from '../fs/content.js';
import { FsError, type Errno } from '../fs/errno.js';
import type { FileKind } from '../fs/inode.js';
import { O_CREAT, O_TRUNC, O_WRONLY, type Syscalls } from '../vfs/syscalls.js';

/** One operation on a container's filesystem (or `commit`, which only the host performs). */
export type FsOp =
  /** open(path, O_WRONLY|O_CREAT, mode), pwrite(data, offset), close: writes into the middle of a file, creating it. */
  | { readonly kind: 'write'; readonly path: string; readonly offset: number; readonly data: Uint8Array; readonly mode: number }
  /** open(path, O_WRONLY|O_CREAT|O_TRUNC, mode), write(data), close: what `echo data > path` does. */
  | { readonly kind: 'writeFile'; readonly path: string; readonly data: Uint8Array; readonly mode: number }
  | { readonly kind: 'truncate'; readonly path: string; readonly size: number }
  | { readonly kind: 'mkdir'; readonly path: string; readonly mode: number }
  | { readonly kind: 'rmdir'; readonly path: string }
  | { readonly kind: 'unlink'; readonly path: string }
  | { readonly kind: 'rename'; readonly from: string; readonly to: string }
  | { readonly kind: 'link'; readonly from: string; readonly to: string }
  | { readonly kind: 'symlink'; readonly target: string; readonly path: string }
  | { readonly kind: 'chmod'; readonly path: string; readonly mode: number }
  /** docker commit between two steps: the container continues on a fresh layer; nothing visible may change. */
  | { readonly kind: 'commit' };

export type OpKind = FsOp['kind'];

/** What an op returned: `ok`, or the errno it failed with. */
export type Outcome = 'ok' | Errno;

type Sys = Syscalls<object>;

/** Applies `op` to a container's syscalls; an `FsError` becomes its errno, any other exception propagates. */
export function applyOp(sys: Sys, op: FsOp): Outcome {
  try {
    switch (op.kind) {
      case 'write':
      case 'writeFile': {
        const flags = O_WRONLY | O_CREAT | (op.kind === 'writeFile' ? O_TRUNC : 0);
        const file = sys.open(op.path, flags, op.mode);
        try {
          const slice = { source: bytesSource(op.data), at: 0, length: op.data.length };
          sys.write(file, slice, op.kind === 'write' ? op.offset : undefined);
        } finally {
          sys.close(file);
        }
        return 'ok';
      }
      case 'truncate':
        sys.truncate(op.path, op.size);
        return 'ok';
      case 'mkdir':
        sys.mkdir(op.path, op.mode);
        return 'ok';
      case 'rmdir':
        sys.rmdir(op.path);
        return 'ok';
      case 'unlink':
        sys.unlink(op.path);
        return 'ok';
      case 'rename':
        sys.rename(op.from, op.to);
        return 'ok';
      case 'link':
        sys.link(op.from, op.to);
        return 'ok';
      case 'symlink':
        sys.symlink(op.target, op.path);
        return 'ok';
      case 'chmod':
        sys.chmod(op.path, op.mode);
        return 'ok';
      case 'commit':
        throw new Error('commit is a host operation: use applyToContainer');
    }
  } catch (e) {
    if (e instanceof FsError) return e.code;
    throw e;
  }
}

const hex = (data: Uint8Array): string => Buffer.from(data).toString('hex');
const text = (data: Uint8Array): string => JSON.stringify(Buffer.from(data).toString('latin1'));
const oct = (mode: number): string => `0o${mode.toString(8)}`;

/** The op as a replayable call on a `Syscalls` named `sys` (or `host.commit` for a commit). */
export function formatOp(op: FsOp): string {
  const s = JSON.stringify;
  switch (op.kind) {
    case 'write':
      return `write(sys, ${s(op.path)}, ${op.offset}, ${text(op.data)}, ${oct(op.mode)})`;
    case 'writeFile':
      return `writeFile(sys, ${s(op.path)}, ${text(op.data)}, ${oct(op.mode)})`;
    case 'truncate':
      return `sys.truncate(${s(op.path)}, ${op.size})`;
    case 'mkdir':
      return `sys.mkdir(${s(op.path)}, ${oct(op.mode)})`;
    case 'rmdir':
      return `sys.rmdir(${s(op.path)})`;
    case 'unlink':
      return `sys.unlink(${s(op.path)})`;
    case 'rename':
      return `sys.rename(${s(op.from)}, ${s(op.to)})`;
    case 'link':
      return `sys.link(${s(op.from)}, ${s(op.to)})`;
    case 'symlink':
      return `sys.symlink(${s(op.target)}, ${s(op.path)})`;
    case 'chmod':
      return `sys.chmod(${s(op.path)}, ${oct(op.mode)})`;
    case 'commit':
      return `host.commit(container, <next image>)`;
  }
}

/** One entry of a filesystem view: what `ls -lR` plus `cat`/`readlink` of every entry shows. */
export interface ViewEntry {
  readonly path: string;
  readonly type: FileKind;
  /** Permission bits (07777); symlinks report 0o777 as Linux does. */
  readonly mode: number;
  /** Regular files: the content, hex-encoded. */
  readonly content?: string;
  /** Symlinks: the target. */
  readonly target?: string;
}

/** A whole view: every entry below the root in path order, and which paths name the same inode (hard links). */
export interface View {
  readonly entries: ViewEntry[];
  /** Groups of two or more paths that are one inode (sorted), sorted by first path. */
  readonly linkGroups: string[][];
}

/** Reads the whole tree below `/` through a container's syscalls (lstat, readdir, readFile, readlink). */
export function viewOfSys(sys: Sys): View {
  const entries: ViewEntry[] = [];
  const byIno = new Map<number, string[]>();
  const walk = (dir: string): void => {
    for (const name of [...sys.readdir(dir)].sort()) {
      const path = dir === '/' ? `/${name}` : `${dir}/${name}`;
      const st = sys.stat(path, false);
      const mode = st.kind === 'symlink' ? 0o777 : st.mode & 0o7777;
      if (st.kind === 'file') {
        entries.push({ path, type: st.kind, mode, content: hex(sys.readFile(path)) });
      } else if (st.kind === 'symlink') {
        entries.push({ path, type: st.kind, mode, target: sys.readlink(path) });
      } else entries.push({ path, type: st.kind, mode });
      if (st.kind !== 'dir') byIno.set(st.ino, [...(byIno.get(st.ino) ?? []), path]);
      if (st.kind === 'dir') walk(path);
    }
  };
  walk('/');
  return { entries, linkGroups: groupsOf(byIno) };
}

/** Paths sharing an inode, as sorted groups of two or more. */
export function groupsOf(byIno: ReadonlyMap<number, string[]>): string[][] {
  return [...byIno.values()]
    .filter(g => g.length > 1)
    .map(g => [...g].sort())
    .sort((a, b) => (a[0]! < b[0]! ? -1 : 1));
}

/** A readable description of how two views differ (undefined when equal). */
export function diffViews(actual: View, expected: View): string | undefined {
  const lines: string[] = [];
  const show = (e: ViewEntry | undefined): string =>
    e === undefined
      ? 'absent'
      : `${e.type} ${e.mode.toString(8)}${e.content !== undefined ? ` "${Buffer.from(e.content, 'hex').toString('latin1')}"` : ''}${e.target !== undefined ? ` -> ${e.target}` : ''}`;
  const a = new Map(actual.entries.map(e => [e.path, e]));
  const b = new Map(expected.entries.map(e => [e.path, e]));
  for (const path of [...new Set([...a.keys(), ...b.keys()])].sort()) {
    const x = show(a.get(path));
    const y = show(b.get(path));
    if (x !== y) lines.push(`  ${path}: model ${x}, reference ${y}`);
  }
  const ga = JSON.stringify(actual.linkGroups);
  const gb = JSON.stringify(expected.linkGroups);
  if (ga !== gb) lines.push(`  hard links: model ${ga}, reference ${gb}`);
  return lines.length === 0 ? undefined : lines.join('\n');
}
