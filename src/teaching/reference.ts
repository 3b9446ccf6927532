/**
 * The reference filesystem a driver model is checked against: a memfs volume given the same operations.
 *
 * The spec: "the merged view of every model equals the reference filesystem, a memfs volume given the same
 * operations". The state oracle here is a memfs volume. memfs does not model Linux's errno rules (see
 * MEMFS_ERRNO_FAITHFUL below), so the errno of a failing op comes from the project's vfs model run alongside (plain
 * POSIX over the same VFS layer), and memfs's own errno is cross-checked wherever memfs is faithful. memfs is only
 * ever given ops the POSIX oracle accepted, on symlink-free paths resolved here with Linux's path-walk rules, so that
 * its own (non-Linux) symlink and errno handling cannot corrupt the reference. After every op the two references must
 * agree with each other; a disagreement is reported as a `ReferenceError` (a bug in memfs, in this file or in the vfs
 * model) rather than as a model failure.
 *
 * Union semantics that legitimately differ from POSIX are modelled explicitly (`UnionSemantics`):
 * - rename(2) of a directory that exists in a lower layer: EXDEV (overlayfs without redirect_dir; AUFS when the
 *   directory is not empty). The reference answers EXDEV and changes nothing. "In a lower layer" means the directory
 *   existed at the last commit (or in the image) and has not since been moved (AUFS copies an empty moved directory up
 *   as an opaque, upper-only one).
 * - overlayfs index=off: copying up one name of a hard-linked lower file gives that name a new inode; the other names
 *   keep the old one (and its content). The reference breaks the link the same way before the op: the name is
 *   replaced by a copy. A rename(2) between two names of such a lower inode is then a real rename, not the POSIX no-op.
 * Every other behaviour must match POSIX exactly.
 */
import { Volume as MemVolume, createFsFromVolume } from 'memfs';
import { Host } from '../engine/host.js';
import { resolveOptions } from '../engine/drivers.js';
import type { Errno } from '../fs/errno.js';
import { allModels } from '../../models/index.js';
import type { DriverModel } from '../engine/driver.js';
import { O_CREAT, O_TRUNC, O_WRONLY, type Syscalls } from '../vfs/syscalls.js';
import { baseBytes, buildLayer, type BaseEntry, type UnionSemantics } from './fixtures.js';
import { applyOp, diffViews, formatOp, groupsOf, viewOfSys, type FsOp, type OpKind, type Outcome, type View, type ViewEntry } from './ops.js';

type MemFs = ReturnType<typeof createFsFromVolume>;

/** The lstat fields the reference reads (memfs types them as number | bigint, and possibly undefined). */
interface MemStats {
  isDirectory(): boolean;
  isSymbolicLink(): boolean;
  readonly ino: number | bigint;
  readonly nlink: number | bigint;
  readonly mode: number | bigint;
}
type Sys = Syscalls<object>;

/** The umask every simulated process runs with (Syscalls' default); memfs applies none, so the reference does. */
export const UMASK = 0o022;

/** The reference itself is inconsistent: memfs, this file or the vfs model is wrong (not the model under test). */
export class ReferenceError extends Error {
  override name = 'ReferenceError';
}

/**
 * The (op, errno) pairs for which memfs 4.x answers exactly as Linux does, measured on symlink-free paths without
 * ".", ".." or trailing slashes. Every other pair is an exception where memfs is wrong and only the vfs model decides:
 * - unlink(dir): memfs EPERM (the macOS answer), Linux EISDIR.
 * - link(dir, x): memfs succeeds, Linux EPERM. link(f, file/x): memfs succeeds, Linux ENOTDIR.
 * - rename: memfs follows a symlink source (it moves the symlink's target), replaces a file with a directory and
 *   vice versa (Linux ENOTDIR / EISDIR), replaces a non-empty
 *   directory (ENOTEMPTY), moves a directory into itself (EINVAL), and removes the source when both names are one
 *   inode (Linux: a no-op); it gives ENOTDIR instead of following a symlinked parent. Only ENOENT is trusted.
 * - mkdir/symlink/rmdir below a symlinked directory: memfs ENOTDIR, Linux follows the link (such paths are skipped).
 * - rmdir of a file: memfs ENOTDIR as Linux, kept; rmdir of a missing name: ENOENT, kept.
 * - open(O_CREAT) through a dangling symlink, trailing slashes, ".", "..": not compared (skipped by `plainPath`).
 */
export const MEMFS_ERRNO_FAITHFUL: Readonly<Record<Exclude<OpKind, 'commit'>, readonly Errno[]>> = {
  write: ['ENOENT', 'ENOTDIR', 'EISDIR'],
  writeFile: ['ENOENT', 'ENOTDIR', 'EISDIR'],
  truncate: ['ENOENT', 'ENOTDIR', 'EISDIR'],
  mkdir: ['ENOENT', 'ENOTDIR', 'EEXIST'],
  rmdir: ['ENOENT', 'ENOTDIR', 'ENOTEMPTY'],
  unlink: ['ENOENT', 'ENOTDIR'],
  chmod: ['ENOENT', 'ENOTDIR'],
  symlink: ['ENOENT', 'ENOTDIR', 'EEXIST'],
  link: ['ENOENT', 'EEXIST'],
  rename: ['ENOENT'],
};

const MAX_SYMLINKS = 40;

/** What an op will do to the reference, worked out before it runs. */
interface Plan {
  /** Names (real paths) whose lower hard link is broken by the op's copy-up (overlayfs index=off). */
  readonly breaks: string[];
  /** Non-directory names (real paths) the op copies up without breaking anything: their inode stops being lower. */
  readonly copiedUp: string[];
  /** The op renames a directory that is in a lower layer, which the union refuses with EXDEV. */
  readonly exdev: boolean;
}

/** The paths an op names, for the memfs errno cross-check. */
function pathsOf(op: FsOp): string[] {
  switch (op.kind) {
    case 'rename':
    case 'link':
      return [op.from, op.to];
    case 'commit':
      return [];
    default:
      return [op.path];
  }
}

/** A reference filesystem: memfs for the state, the vfs model for errnos memfs gets wrong. */
export class ReferenceFs {
  readonly fs: MemFs;
  private oracleSys: Sys;
  /** memfs inode numbers of non-directories that are in a lower layer (the image, or frozen by a commit). */
  /**
   * A copy-up broke a lower hard link since the last commit. Docker's diff may then leave the broken name out (a
   * chmod to the same mode changes only ctime), and the link is whole again in the committed image.
   */
  brokeLinksSinceCommit = false;
  private lowerFiles = new Set<number>();
  /** memfs inode numbers of directories that are in a lower layer. */
  private lowerDirs = new Set<number>();
  /**
   * Permission bits by memfs inode number. memfs enforces permission bits even for uid 0 (it has no notion of
   * CAP_DAC_OVERRIDE), so a directory chmod-ed 0644 would become unsearchable; every memfs node therefore keeps
   * memfs's permissive default mode and the reference tracks the modes itself.
   */
  private readonly modes = new Map<number, number>();

  constructor(
    entries: readonly BaseEntry[],
    readonly semantics: UnionSemantics = { dirRename: 'posix', breaksLowerHardLinks: false },
  ) {
    this.fs = createFsFromVolume(new MemVolume());
    for (const e of entries) {
      switch (e.type) {
        case 'dir':
          this.fs.mkdirSync(e.path);
          this.setMode(e.path, e.mode);
          break;
        case 'file':
          this.fs.writeFileSync(e.path, baseBytes(e.content));
          this.setMode(e.path, e.mode);
          break;
        case 'symlink':
          this.fs.symlinkSync(e.target, e.path);
          break;
        case 'hardlink':
          this.fs.linkSync(e.to, e.path);
          break;
      }
    }
    this.oracleSys = ReferenceFs.oracleFrom(entries);
    this.markAllLower();
  }

  /** A vfs-model container holding `entries`: the POSIX errno oracle. */
  private static oracleFrom(entries: readonly BaseEntry[]): Sys {
    // the registry's vfs: the core reaches models only through models/index.js
    const model: DriverModel = allModels.find(m => m.name === 'vfs')!;
    const host = new Host(model, resolveOptions(model, {}), { seed: 1 });
    host.loadImage('ref', [buildLayer(entries)]);
    return host.run('ref', 'ref', false).sys;
  }

  /** The POSIX oracle's syscalls (a vfs-model container kept equal to memfs). */
  get oracle(): Sys {
    return this.oracleSys;
  }

  /** Everything visible now is in a lower layer (after the image load, and after each commit). */
  private markAllLower(): void {
    this.lowerFiles.clear();
    this.lowerDirs.clear();
    for (const [path, st] of this.walk()) {
      void path;
      (st.isDirectory() ? this.lowerDirs : this.lowerFiles).add(Number(st.ino));
    }
  }

  private *walk(dir = '/'): Generator<[string, MemStats]> {
    const names = (this.fs.readdirSync(dir) as string[]).slice().sort();
    for (const name of names) {
      const path = dir === '/' ? `/${name}` : `${dir}/${name}`;
      const st = this.lstatOf(path);
      yield [path, st];
      if (st.isDirectory()) yield* this.walk(path);
    }
  }

  // ---- path resolution (Linux rules, on the memfs tree) ----------------------------------------------------------

  private setMode(real: string, mode: number): void {
    this.modes.set(Number(this.lstatOf(real).ino), mode & 0o7777);
  }

  private modeOf(real: string): number {
    return this.modes.get(Number(this.lstatOf(real).ino)) ?? 0o777;
  }

  private lstatOf(path: string): MemStats {
    const st = this.lstat(path);
    if (st === undefined) throw new ReferenceError(`reference: ${path} vanished`);
    return st;
  }

  private lstat(path: string): MemStats | undefined {
    try {
      return this.fs.lstatSync(path) as MemStats | undefined;
    } catch {
      return undefined;
    }
  }

  /**
   * The symlink-free path naming what `path` names (the last component followed when `followLast`), or undefined
   * when the walk fails; `sawSymlink` tells whether any symlink was crossed or named.
   */
  resolve(path: string, followLast: boolean): { real: string; sawSymlink: boolean } | undefined {
    const todo = path.split('/').filter(p => p !== '');
    // a trailing slash follows a final symlink
    const followFinal = followLast || path.endsWith('/');
    let cur: string[] = [];
    let links = 0;
    let sawSymlink = false;
    while (todo.length > 0) {
      const name = todo.shift()!;
      if (name === '.') continue;
      if (name === '..') {
        cur.pop();
        continue;
      }
      const p = `/${[...cur, name].join('/')}`;
      const st = this.lstat(p);
      if (st?.isSymbolicLink()) {
        sawSymlink = true;
        if (todo.length > 0 || followFinal) {
          if (++links > MAX_SYMLINKS) return undefined;
          const target = String(this.fs.readlinkSync(p));
          if (target.startsWith('/')) cur = [];
          todo.unshift(...target.split('/').filter(t => t !== ''));
          continue;
        }
      } else if (todo.length > 0 && !st?.isDirectory()) return undefined;
      cur.push(name);
    }
    return { real: `/${cur.join('/')}`, sawSymlink };
  }

  private real(path: string, followLast: boolean): string {
    const r = this.resolve(path, followLast);
    if (r === undefined) throw new ReferenceError(`reference: cannot resolve ${path} although the POSIX oracle accepted the op`);
    return r.real;
  }

  // ---- applying ops -------------------------------------------------------------------------------------------------

  /** Applies `op` to the reference and returns the outcome a correct model must give. */
  apply(op: FsOp): Outcome {
    if (op.kind === 'commit') {
      this.markAllLower();
      this.brokeLinksSinceCommit = false;
      return 'ok';
    }
    const plan = this.plan(op);
    for (const p of plan.breaks) breakLinkInOracle(this.oracleSys, p);
    const outcome = applyOp(this.oracleSys, op);
    if (outcome !== 'ok' || plan.exdev) {
      // nothing may change: drop whatever the oracle did (a broken link, or a rename the union refuses)
      if (plan.breaks.length > 0 || outcome === 'ok') this.resyncOracle();
      if (plan.exdev && (outcome === 'ok' || (outcome === 'ENOTEMPTY' && !this.targetIsAncestor(op)))) return 'EXDEV';
      if (outcome !== 'ok') this.crossCheckErrno(op, outcome);
      return outcome;
    }
    for (const p of plan.breaks) this.breakLinkInMemfs(p);
    if (plan.breaks.length > 0) this.brokeLinksSinceCommit = true;
    for (const p of plan.copiedUp) this.lowerFiles.delete(Number(this.lstatOf(p).ino));
    // resolved before the op: the target's parent path may go through the renamed name
    const renamedTo = op.kind === 'rename' ? this.real(op.to, false) : undefined;
    const created = this.newObjectPath(op);
    this.applyToMemfs(op);
    // memfs reuses freed inode numbers: a new object must not inherit "lower" from a removed one
    if (created !== undefined) this.forgetLower(created);
    if (renamedTo !== undefined && this.semantics.dirRename === 'EXDEV-unless-empty') {
      // AUFS copies an empty lower directory up as an opaque one when it is renamed: it is upper-only from now on
      const st = this.lstat(renamedTo);
      if (st?.isDirectory()) this.lowerDirs.delete(Number(st.ino));
    }
    this.checkOracleAgrees(op);
    return 'ok';
  }

  /** The path an op creates a new inode at (when it does): a write or writeFile of a missing file, mkdir, symlink. */
  private newObjectPath(op: FsOp): string | undefined {
    const path = op.kind === 'write' || op.kind === 'writeFile' ? this.resolve(op.path, true) : op.kind === 'mkdir' || op.kind === 'symlink' ? this.resolve(op.path, false) : undefined;
    if (path === undefined || this.lstat(path.real) !== undefined) return undefined;
    return path.real;
  }

  private forgetLower(real: string): void {
    const st = this.lstat(real);
    if (st === undefined) return;
    this.lowerFiles.delete(Number(st.ino));
    this.lowerDirs.delete(Number(st.ino));
  }

  /** Whether the rename's target is an ancestor of the source (the VFS's ENOTEMPTY, before the filesystem is asked). */
  private targetIsAncestor(op: FsOp): boolean {
    if (op.kind !== 'rename') return false;
    const from = this.resolve(op.from, false);
    const to = this.resolve(op.to, false);
    return from !== undefined && to !== undefined && from.real.startsWith(`${to.real}/`);
  }

  private plan(op: FsOp): Plan {
    const breaks: string[] = [];
    const copiedUp: string[] = [];
    let exdev = false;
    const copyUp = (path: string, followLast: boolean): void => {
      const r = this.resolve(path, followLast);
      if (r === undefined) return;
      const st = this.lstat(r.real);
      if (st === undefined || st.isDirectory() || !this.lowerFiles.has(Number(st.ino))) return;
      if (this.semantics.breaksLowerHardLinks && Number(st.nlink) > 1) breaks.push(r.real);
      else copiedUp.push(r.real);
    };
    switch (op.kind) {
      case 'write':
      case 'writeFile':
      case 'truncate':
      case 'chmod':
        copyUp(op.path, true);
        break;
      case 'link':
        copyUp(op.from, false);
        break;
      case 'rename': {
        const from = this.resolve(op.from, false);
        const to = this.resolve(op.to, false);
        const st = from && this.lstat(from.real);
        const target = to && this.lstat(to.real);
        const sameInode = st !== undefined && target !== undefined && st.ino === target.ino;
        if (st?.isDirectory() && !sameInode && this.lowerDirs.has(Number(st.ino))) {
          const empty = (this.fs.readdirSync(from!.real) as string[]).length === 0;
          exdev = this.semantics.dirRename === 'EXDEV' || (this.semantics.dirRename === 'EXDEV-unless-empty' && !empty);
        }
        // a POSIX no-op (one inode under both names) copies nothing up, unless the union sees two inodes (two names
        // of a lower hard link under overlayfs index=off; one name renamed onto itself is still a no-op)
        const sameName = from !== undefined && to !== undefined && from.real === to.real;
        if (!sameInode || (this.semantics.breaksLowerHardLinks && !sameName)) copyUp(op.from, false);
        break;
      }
      default:
        break;
    }
    return { breaks, copiedUp, exdev };
  }

  /** Gives the name `real` a new inode with the same content and mode (a copy-up breaking a lower hard link). */
  private breakLinkInMemfs(real: string): void {
    const st = this.lstatOf(real);
    if (st.isSymbolicLink()) {
      const target = String(this.fs.readlinkSync(real));
      this.fs.unlinkSync(real);
      this.fs.symlinkSync(target, real);
      this.forgetLower(real);
      return;
    }
    const data = this.fs.readFileSync(real) as Buffer;
    const mode = this.modeOf(real);
    this.fs.unlinkSync(real);
    this.fs.writeFileSync(real, data);
    this.setMode(real, mode);
    this.forgetLower(real);
    void st;
  }

  private applyToMemfs(op: FsOp): void {
    const fs = this.fs;
    try {
      switch (op.kind) {
        case 'write':
        case 'writeFile': {
          const real = this.real(op.path, true);
          const existed = this.lstat(real) !== undefined;
          const flags = O_WRONLY | O_CREAT | (op.kind === 'writeFile' ? O_TRUNC : 0);
          const fd = fs.openSync(real, flags, 0o666);
          try {
            fs.writeSync(fd, Buffer.from(op.data), 0, op.data.length, op.kind === 'write' ? op.offset : 0);
          } finally {
            fs.closeSync(fd);
          }
          if (!existed) this.setMode(real, op.mode & 0o7777 & ~UMASK);
          break;
        }
        case 'truncate':
          fs.truncateSync(this.real(op.path, true), op.size);
          break;
        case 'mkdir': {
          const real = this.real(op.path, false);
          const parentMode = this.modeOf(parentOf(real));
          fs.mkdirSync(real);
          // vfs_mkdir(): mode & (S_IRWXUGO|S_ISVTX) & ~umask, plus S_ISGID inherited from a setgid parent
          this.setMode(real, (op.mode & 0o1777 & ~UMASK) | (parentMode & 0o2000));
          break;
        }
        case 'rmdir':
          fs.rmdirSync(this.real(op.path, false));
          break;
        case 'unlink':
          fs.unlinkSync(this.real(op.path, false));
          break;
        case 'rename': {
          const from = this.real(op.from, false);
          const to = this.real(op.to, false);
          const a = this.lstat(from);
          const b = this.lstat(to);
          // memfs exception: rename between two names of one inode removes the source; POSIX leaves both
          if (a !== undefined && b !== undefined && a.ino === b.ino) break;
          if (a?.isDirectory()) {
            fs.renameSync(from, to);
            break;
          }
          // memfs exception: renameSync follows a symlink source (it moves the target); non-directories are moved
          // as link + unlink instead, which keeps the inode
          if (b !== undefined) fs.unlinkSync(to);
          fs.linkSync(from, to);
          fs.unlinkSync(from);
          break;
        }
        case 'link':
          fs.linkSync(this.real(op.from, false), this.real(op.to, false));
          break;
        case 'symlink':
          fs.symlinkSync(op.target, this.real(op.path, false));
          break;
        case 'chmod':
          this.setMode(this.real(op.path, true), op.mode);
          break;
        case 'commit':
          break;
      }
    } catch (e) {
      if (e instanceof ReferenceError) throw e;
      throw new ReferenceError(`memfs refused ${op.kind} that the POSIX oracle accepted: ${(e as Error).message}`);
    }
  }

  /** Where memfs models the errno faithfully, it must give the oracle's; it is run only when it cannot change state. */
  private crossCheckErrno(op: FsOp, expected: Outcome): void {
    if (op.kind === 'commit' || expected === 'ok') return;
    if (!MEMFS_ERRNO_FAITHFUL[op.kind].includes(expected)) return;
    const paths = pathsOf(op);
    if (!paths.every(plainPath) || paths.some(p => this.mayHaveSymlink(p))) return;
    let got: string = 'ok';
    try {
      this.rawMemfs(op);
    } catch (e) {
      got = (e as { code?: string }).code ?? String(e);
    }
    if (got !== expected) {
      throw new ReferenceError(`memfs gives ${got} for ${op.kind} ${paths.join(' ')} where the vfs model gives ${expected}`);
    }
  }

  /** Whether any prefix of `path` is a symlink in memfs (the raw memfs call would then resolve it its own way). */
  private mayHaveSymlink(path: string): boolean {
    const parts = path.split('/').filter(p => p !== '');
    for (let i = 1; i <= parts.length; i++) {
      const st = this.lstat(`/${parts.slice(0, i).join('/')}`);
      if (st === undefined) return false;
      if (st.isSymbolicLink()) return true;
    }
    return false;
  }

  /** The op straight on memfs (for the errno cross-check; only ever called where memfs must fail). */
  private rawMemfs(op: FsOp): void {
    const fs = this.fs;
    switch (op.kind) {
      case 'write':
      case 'writeFile':
        fs.closeSync(fs.openSync(op.path, O_WRONLY | O_CREAT | (op.kind === 'writeFile' ? O_TRUNC : 0), 0o600));
        break;
      case 'truncate':
        fs.truncateSync(op.path, op.size);
        break;
      case 'mkdir':
        fs.mkdirSync(op.path);
        break;
      case 'rmdir':
        fs.rmdirSync(op.path);
        break;
      case 'unlink':
        fs.unlinkSync(op.path);
        break;
      case 'rename':
        fs.renameSync(op.from, op.to);
        break;
      case 'link':
        fs.linkSync(op.from, op.to);
        break;
      case 'symlink':
        fs.symlinkSync(op.target, op.path);
        break;
      case 'chmod':
        // memfs's mode is not the reference's (see `modes`): only the lookup's errno matters here
        fs.statSync(op.path);
        break;
      case 'commit':
        break;
    }
  }

  /** Rebuilds the POSIX oracle from memfs (after an op the union refuses, or a failed op that broke a link first). */
  private resyncOracle(): void {
    this.oracleSys = ReferenceFs.oracleFrom(this.toEntries());
  }

  /** The memfs tree as base-image entries (hard links kept). */
  toEntries(): BaseEntry[] {
    const out: BaseEntry[] = [];
    const firstName = new Map<number, string>();
    for (const [path, st] of this.walk()) {
      const ino = Number(st.ino);
      if (st.isDirectory()) out.push({ path, type: 'dir', mode: this.modeOf(path) });
      else if (firstName.has(ino)) out.push({ path, type: 'hardlink', to: firstName.get(ino)! });
      else if (st.isSymbolicLink()) out.push({ path, type: 'symlink', target: String(this.fs.readlinkSync(path)) });
      else {
        const content = new Uint8Array(this.fs.readFileSync(path) as Buffer);
        out.push({ path, type: 'file', mode: this.modeOf(path), content });
      }
      if (!st.isDirectory()) firstName.set(ino, path);
    }
    return out;
  }

  /** After a successful op the POSIX oracle and memfs must show the same tree. */
  private checkOracleAgrees(op: FsOp): void {
    const diff = diffViews(viewOfSys(this.oracleSys), this.view());
    if (diff !== undefined) {
      throw new ReferenceError(
        `the POSIX oracle (vfs model, shown as "model") and memfs (shown as "reference") disagree after ${formatOp(op)}; ` +
          `every model is then suspect: a bug in src/vfs (shared by all models), in memfs, or in this file\n${diff}`,
      );
    }
  }

  /** The whole reference view (paths, types, modes, contents, symlink targets, hard-link groups). */
  view(): View {
    const entries: ViewEntry[] = [];
    const byIno = new Map<number, string[]>();
    for (const [path, st] of this.walk()) {
      if (st.isDirectory()) entries.push({ path, type: 'dir', mode: this.modeOf(path) });
      else if (st.isSymbolicLink()) {
        // memfs reports symlinks as 0o666; Linux always shows 0o777
        entries.push({ path, type: 'symlink', mode: 0o777, target: String(this.fs.readlinkSync(path)) });
      } else {
        const content = (this.fs.readFileSync(path) as Buffer).toString('hex');
        entries.push({ path, type: 'file', mode: this.modeOf(path), content });
      }
      if (!st.isDirectory()) byIno.set(Number(st.ino), [...(byIno.get(Number(st.ino)) ?? []), path]);
    }
    return { entries, linkGroups: groupsOf(byIno) };
  }
}

/** Whether a path is plain: absolute, no empty, "." or ".." components, no trailing slash. */
function plainPath(path: string): boolean {
  return /^(\/[^/]+)+$/.test(path) && !path.split('/').some(p => p === '.' || p === '..');
}

function parentOf(real: string): string {
  return real.slice(0, real.lastIndexOf('/')) || '/';
}

/** Breaks a hard link in the oracle the way `breakLinkInMemfs` does. */
function breakLinkInOracle(sys: Sys, real: string): void {
  const st = sys.stat(real, false);
  if (st.kind === 'symlink') {
    const target = sys.readlink(real);
    sys.unlink(real);
    sys.symlink(target, real);
    return;
  }
  const data = sys.readFile(real);
  sys.unlink(real);
  applyOp(sys, { kind: 'writeFile', path: real, data, mode: 0o600 });
  sys.chmod(real, st.mode & 0o7777);
}

