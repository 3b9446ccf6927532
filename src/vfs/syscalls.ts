import type { DataSlice, FileContent } from '../fs/content.js';
import type { CostMeter } from '../fs/cost.js';
import { fail, FsError, type Errno } from '../fs/errno.js';
import type { FileKind, Inode } from '../fs/inode.js';
import type { AttrChange, Mount, OpenIntent } from './mount.js';

/** open(2) flag bits, with Linux x86-64 values. */
export const O_RDONLY = 0;
export const O_WRONLY = 0o1;
export const O_RDWR = 0o2;
export const O_ACCMODE = 0o3;
export const O_CREAT = 0o100;
export const O_EXCL = 0o200;
export const O_TRUNC = 0o1000;
export const O_APPEND = 0o2000;
export const O_DIRECTORY = 0o200000;
export const O_NOFOLLOW = 0o400000;

export const OPEN_FLAG_BITS: Record<string, number> = {
  O_RDONLY,
  O_WRONLY,
  O_RDWR,
  O_CREAT,
  O_EXCL,
  O_TRUNC,
  O_APPEND,
  O_DIRECTORY,
  O_NOFOLLOW,
};

/** MAXSYMLINKS: a path walk follows at most 40 symlinks in total (include/linux/namei.h). */
const MAX_SYMLINKS = 40;
const NAME_MAX = 255;
const PATH_MAX = 4096;
/** Largest file size the simulator represents exactly (sizes are JS numbers); beyond it, EFBIG. */
export const MAX_FILE_BYTES = Number.MAX_SAFE_INTEGER;

const SLASH = 47;
const DOT = 46;

const MAY_EXEC = 1;
const MAY_WRITE = 2;
const MAY_READ = 4;

/** The caller's identity (fsuid, fsgid, supplementary groups). */
export interface Credentials {
  readonly uid: number;
  readonly gid: number;
  readonly groups: readonly number[];
}

export const ROOT: Credentials = { uid: 0, gid: 0, groups: [0] };

/** A resolved location: a node and the chain of directories above it (for "..", and rename's ancestry checks). */
interface PathNode<V> {
  readonly node: V;
  readonly up: PathNode<V> | undefined;
}

type LastType = 'norm' | 'dot' | 'dotdot' | 'root';

/** A walk up to the last component (struct nameidata after path_parentat). */
interface ParentWalk<V> {
  readonly at: PathNode<V>;
  readonly name: string;
  readonly lastType: LastType;
  readonly trailing: boolean;
}

/** stat(2) fields. */
export interface Stat {
  ino: number;
  kind: FileKind;
  mode: number;
  uid: number;
  gid: number;
  nlink: number;
  size: number;
  rdev: number;
  atime: number;
  mtime: number;
  ctime: number;
}

/** An open file description (struct file): the node, access mode and position. */
export class OpenFile<V extends object> {
  closed = false;
  constructor(
    readonly node: V,
    readonly path: string,
    readonly readable: boolean,
    readonly writable: boolean,
    readonly append: boolean,
    public position = 0,
  ) {}
}

/**
 * The generic Linux VFS over one mounted filesystem: path walk, permission checks and the errno rules all filesystems
 * share (fs/namei.c, fs/open.c), in the kernel's order. Every error leaves as an `FsError` carrying the syscall and path.
 */
export class Syscalls<V extends object> {
  creds: Credentials = ROOT;
  umask = 0o022;
  /** Set while a report peeks at where a path leads (`realInode` with `peek`): symlinks followed are not read. */
  private peeking = false;

  /** The root as a path node (immutable, so shared by every walk). */
  private readonly rootNode: PathNode<V>;
  /** Directory walks already resolved, when the mount supports invalidation (`Mount.generation`). */
  private readonly walks: WalkCache<PathNode<V>> | undefined;

  constructor(readonly mount: Mount<V>) {
    this.rootNode = { node: mount.root, up: undefined };
    this.walks = mount.meter !== undefined && mount.generation !== undefined ? new WalkCache(mount, mount.meter) : undefined;
  }

  /** Forgets every cached walk: a change that may make a directory path resolve differently, or its search rights. */
  private invalidateWalks(): void {
    this.walks?.clear();
  }

  // ---- path walk -------------------------------------------------------------------------------------------------

  private rootPath(): PathNode<V> {
    return this.rootNode;
  }

  private isDir(node: V): boolean {
    return this.mount.inode(node).kind === 'dir';
  }

  /** inode_permission(): owner, group or other bits; root passes all but exec on a file with no x bit. */
  permits(inode: Inode, mask: number): boolean {
    const c = this.creds;
    if (c.uid === 0) return !(mask & MAY_EXEC) || inode.kind === 'dir' || (inode.mode & 0o111) !== 0;
    let bits: number;
    if (c.uid === inode.uid) bits = inode.mode >> 6;
    else if (c.gid === inode.gid || c.groups.includes(inode.gid)) bits = inode.mode >> 3;
    else bits = inode.mode;
    return (bits & mask & 7) === mask;
  }

  private requirePermission(node: V, mask: number): void {
    if (!this.permits(this.mount.inode(node), mask)) fail('EACCES');
  }

  private lookupChild(at: PathNode<V>, name: string): V | undefined {
    if (name.length > NAME_MAX && Buffer.byteLength(name) > NAME_MAX) fail('ENAMETOOLONG');
    this.requirePermission(at.node, MAY_EXEC);
    return this.mount.lookup(at.node, name);
  }

  /**
   * Resolves everything but the last component, following symlinks (path_parentat). The path is scanned in place
   * (no split); a walk from the root that followed no symlink is remembered by its directory part (see `WalkCache`).
   */
  private walkParent(path: string, start: PathNode<V>, links: { count: number }): ParentWalk<V> {
    if (path.length === 0) fail('ENOENT');
    if (path.length >= PATH_MAX) fail('ENAMETOOLONG');
    const absolute = path.charCodeAt(0) === SLASH;
    const root = this.rootNode;

    // the last component: [lastStart, end), after any trailing slashes are dropped
    let end = path.length;
    while (end > 0 && path.charCodeAt(end - 1) === SLASH) end--;
    if (end === 0) return { at: absolute ? root : start, name: '', lastType: 'root', trailing: false };
    const lastStart = path.lastIndexOf('/', end - 1) + 1;
    const name = lastStart === 0 && end === path.length ? path : path.slice(lastStart, end);
    const lastType: LastType = name === '.' ? 'dot' : name === '..' ? 'dotdot' : 'norm';
    const trailing = end < path.length;
    if (lastStart === 0) return { at: absolute ? root : start, name, lastType, trailing };
    const fromRoot = absolute || start === root;
    const at = fromRoot ? this.walkDirsCached(path, lastStart, links) : this.walkDirs(path, lastStart, start, links);
    return { at, name, lastType, trailing };
  }

  /** `walkDirs` from the root through the walk cache: a hit charges what walking again would. */
  private walkDirsCached(path: string, dirEnd: number, links: { count: number }): PathNode<V> {
    const cache = this.walks;
    if (cache === undefined) return this.walkDirs(path, dirEnd, this.rootNode, links);
    const key = path.slice(0, dirEnd);
    const hit = cache.get(key, this.creds);
    if (hit !== undefined) return hit;
    const meter = cache.meter;
    const lookupsBefore = meter.lookups;
    const linksBefore = links.count;
    const at = this.walkDirs(path, dirEnd, this.rootNode, links);
    // a walk through a symlink depends on the link count so far (ELOOP): only plain walks are remembered
    if (links.count === linksBefore) cache.set(key, this.creds, at, meter.lookups - lookupsBefore);
    return at;
  }

  /** Walks the directory components in path[0, dirEnd), following symlinks; each must end up a directory. */
  private walkDirs(path: string, dirEnd: number, start: PathNode<V>, links: { count: number }): PathNode<V> {
    let at = path.charCodeAt(0) === SLASH ? this.rootNode : start;
    let i = 0;
    while (i < dirEnd) {
      let j = path.indexOf('/', i);
      if (j < 0 || j > dirEnd) j = dirEnd;
      const len = j - i;
      const from = i;
      i = j + 1;
      if (len === 0 || (len === 1 && path.charCodeAt(from) === DOT)) continue;
      if (len === 2 && path.charCodeAt(from) === DOT && path.charCodeAt(from + 1) === DOT) {
        this.requirePermission(at.node, MAY_EXEC);
        at = at.up ?? at;
        continue;
      }
      const child = this.lookupChild(at, path.slice(from, j));
      if (child === undefined) fail('ENOENT');
      let next: PathNode<V> = { node: child, up: at };
      if (this.mount.inode(child).kind === 'symlink') next = this.followLink(at, child, links);
      if (!this.isDir(next.node)) fail('ENOTDIR');
      at = next;
    }
    return at;
  }

  /** Follows a symlink found in directory `at`: resolves its target from there (or from / when absolute). */
  private followLink(at: PathNode<V>, link: V, links: { count: number }): PathNode<V> {
    if (++links.count > MAX_SYMLINKS) fail('ELOOP');
    // pick_link() -> touch_atime(): following a symlink is a read of it (relatime may write its atime back); checked
    // on Linux 6.18 ext4: `cat link` moves the link's own atime
    if (!this.peeking) this.mount.accessed?.(link);
    const target = this.mount.inode(link).target!;
    if (target === '') fail('ENOENT');
    return this.resolveFrom(target, at, true, links);
  }

  /** The node a path names; `follow` decides for a final symlink (a trailing slash always follows). */
  private resolveFrom(path: string, start: PathNode<V>, follow: boolean, links: { count: number }): PathNode<V> {
    const found = this.lastComponent(this.walkParent(path, start, links), follow, links);
    if (found === undefined) fail('ENOENT');
    return found;
  }

  /** The last step of a walk: the node its last component names, or undefined when that name does not exist. */
  private lastComponent(w: ParentWalk<V>, follow: boolean, links: { count: number }): PathNode<V> | undefined {
    let found: PathNode<V>;
    if (w.lastType === 'root') found = w.at;
    else if (w.lastType === 'dot') {
      this.requirePermission(w.at.node, MAY_EXEC);
      found = w.at;
    } else if (w.lastType === 'dotdot') {
      this.requirePermission(w.at.node, MAY_EXEC);
      found = w.at.up ?? w.at;
    } else {
      const node = this.lookupChild(w.at, w.name);
      if (node === undefined) return undefined;
      found = { node, up: w.at };
      if ((follow || w.trailing) && this.mount.inode(node).kind === 'symlink') found = this.followLink(w.at, node, links);
    }
    if (w.trailing && !this.isDir(found.node)) fail('ENOTDIR');
    return found;
  }

  private resolve(path: string, follow: boolean): PathNode<V> {
    return this.resolveFrom(path, this.rootPath(), follow, { count: 0 });
  }

  private parentOf(path: string): ParentWalk<V> {
    return this.walkParent(path, this.rootPath(), { count: 0 });
  }

  /** Runs a syscall body, stamping any errno with the call and path (the edge where errors are built). */
  private call<T>(syscall: string, path: string | undefined, body: () => T, dest?: string): T {
    try {
      return body();
    } catch (e) {
      throw errorAt(e, syscall, path, dest);
    }
  }

  /**
   * `call` for the calls that may change how a directory path resolves or who may search it (rename, rmdir, chmod,
   * ...): cached walks are dropped afterwards, also when the call failed halfway (a copy-up may have happened).
   */
  private callChanging<T>(syscall: string, path: string | undefined, body: () => T, dest?: string): T {
    try {
      return body();
    } catch (e) {
      throw errorAt(e, syscall, path, dest);
    } finally {
      this.invalidateWalks();
    }
  }

  // ---- helpers shared by the calls -------------------------------------------------------------------------------

  /** filename_create(): the parent and a name that must not exist yet (mkdir, symlink, link, mknod). */
  private prepareCreate(path: string, isDir: boolean): ParentWalk<V> {
    const w = this.parentOf(path);
    if (w.lastType !== 'norm') fail('EEXIST');
    const existing = this.lookupChild(w.at, w.name);
    if (existing !== undefined) fail('EEXIST');
    // "you had / on the end, you've been asking for (non-existent) directory. -ENOENT for you."
    if (w.trailing && !isDir) fail('ENOENT');
    this.requirePermission(w.at.node, MAY_WRITE | MAY_EXEC);
    return w;
  }

  /** may_delete(): write+search on the parent, the sticky-bit rule, and the type rule. */
  private mayDelete(dir: V, victim: V, isDir: boolean): void {
    this.requirePermission(dir, MAY_WRITE | MAY_EXEC);
    const parent = this.mount.inode(dir);
    const inode = this.mount.inode(victim);
    const c = this.creds;
    if (parent.mode & 0o1000 && c.uid !== 0 && c.uid !== inode.uid && c.uid !== parent.uid) fail('EPERM');
    if (isDir) {
      if (inode.kind !== 'dir') fail('ENOTDIR');
      if (victim === this.mount.root) fail('EBUSY');
    } else if (inode.kind === 'dir') fail('EISDIR');
  }

  private newMode(mode: number): number {
    return mode & 0o7777 & ~this.umask;
  }

  private isOwner(inode: Inode): boolean {
    return this.creds.uid === 0 || this.creds.uid === inode.uid;
  }

  // ---- the calls -------------------------------------------------------------------------------------------------

  /** open(2). */
  open(path: string, flags: number, mode = 0o666): OpenFile<V> {
    // the hot calls (open, close, read, write, stat, unlink) catch inline rather than through `call`: no closure per call
    try {
      return this.doOpen(path, flags, mode);
    } catch (e) {
      throw errorAt(e, 'open', path);
    }
  }

  private doOpen(path: string, flags: number, mode: number): OpenFile<V> {
    const accmode = flags & O_ACCMODE;
    if (accmode === O_ACCMODE) fail('EINVAL');
    // build_open_flags(): O_DIRECTORY | O_CREAT is EINVAL since Linux 6.4 (commit 43b450632676)
    if (flags & O_DIRECTORY && flags & O_CREAT) fail('EINVAL');
    // symlinks followed at the last component (made on the first one: most opens follow none)
    let links: { count: number } | undefined;
    let w = this.parentOf(path);
    // a trailing slash on the path still requires a directory after following symlinks
    const mustBeDir = w.trailing;
    let created = false;
    let found: V;
    for (;;) {
      if (flags & O_CREAT && w.trailing) fail('EISDIR');
      if (w.lastType !== 'norm') {
        found = this.resolveFrom(w.name, w.at, true, (links ??= { count: 0 })).node;
        break;
      }
      const node = this.lookupChild(w.at, w.name);
      if (node === undefined) {
        if (!(flags & O_CREAT)) fail('ENOENT');
        this.requirePermission(w.at.node, MAY_WRITE | MAY_EXEC);
        const made = this.mount.create(w.at.node, w.name, {
          kind: 'file',
          mode: this.newMode(mode),
          uid: this.creds.uid,
          gid: this.newGid(w.at.node),
        });
        found = made;
        created = true;
        break;
      }
      const inode = this.mount.inode(node);
      if (flags & O_CREAT && flags & O_EXCL) fail('EEXIST');
      if (inode.kind === 'symlink' && (w.trailing || !(flags & O_NOFOLLOW))) {
        // follow the link; with O_CREAT a dangling link creates its target (open_last_lookups loop)
        links ??= { count: 0 };
        if (++links.count > MAX_SYMLINKS) fail('ELOOP');
        this.mount.accessed?.(node); // pick_link() -> touch_atime(), as in followLink
        const target = inode.target!;
        if (target === '') fail('ENOENT');
        w = this.walkParent(target, w.at, links);
        continue;
      }
      found = node;
      if ((mustBeDir || w.trailing) && inode.kind !== 'dir') fail('ENOTDIR');
      break;
    }
    const node = found;
    const inode = this.mount.inode(node);
    if (flags & O_CREAT && !created && inode.kind === 'dir') fail('EISDIR');
    if (flags & O_DIRECTORY && inode.kind !== 'dir') fail('ENOTDIR');
    const wantsWrite = accmode !== O_RDONLY;
    let truncate = !created && (flags & O_TRUNC) !== 0;
    if (!created) {
      // may_open()
      let acc = (accmode === O_RDONLY || accmode === O_RDWR ? MAY_READ : 0) | (wantsWrite ? MAY_WRITE : 0);
      if (flags & O_TRUNC) acc |= MAY_WRITE;
      switch (inode.kind) {
        case 'symlink':
          fail('ELOOP');
        case 'dir':
          if (acc & MAY_WRITE) fail('EISDIR');
          break;
        case 'chr':
        case 'blk':
        case 'fifo':
        case 'sock':
          truncate = false;
          break;
        case 'file':
          break;
      }
      if (!this.permits(inode, acc)) fail('EACCES');
      if (inode.kind === 'file') this.mount.open(node, openIntent(wantsWrite, truncate));
      if (truncate && inode.kind === 'file') this.mount.truncate(node, 0);
    }
    return new OpenFile(node, path, accmode !== O_WRONLY, wantsWrite, (flags & O_APPEND) !== 0);
  }

  /** The gid of a new object: the directory's if it is setgid, else the caller's fsgid. */
  private newGid(dir: V): number {
    const d = this.mount.inode(dir);
    return d.mode & 0o2000 ? d.gid : this.creds.gid;
  }

  close(file: OpenFile<V>): void {
    if (file.closed) throw new FsError('EBADF', 'close');
    file.closed = true;
  }

  /** read(2) at the file position, or pread(2) at `offset`; `length` undefined reads to the end of the file. */
  read(file: OpenFile<V>, length?: number, offset?: number): Uint8Array {
    try {
      return this.doRead(file, length, offset);
    } catch (e) {
      throw errorAt(e, 'read', file.path);
    }
  }

  private doRead(file: OpenFile<V>, length: number | undefined, offset: number | undefined): Uint8Array {
    if (file.closed || !file.readable) fail('EBADF');
    const inode = this.mount.inode(file.node);
    if (inode.kind === 'dir') fail('EISDIR');
    if (offset !== undefined && offset < 0) fail('EINVAL');
    if (length !== undefined && length < 0) fail('EINVAL');
    if (inode.kind !== 'file') return new Uint8Array(0);
    const from = offset ?? file.position;
    const data = this.mount.content(file.node).read(from, length ?? Math.max(0, inode.content!.size - from));
    this.mount.accessed?.(file.node);
    if (offset === undefined) file.position += data.length;
    return data;
  }

  /** write(2) at the position (or at the end under O_APPEND), or pwrite(2) at `offset` (which O_APPEND ignores). */
  write(file: OpenFile<V>, slice: DataSlice, offset?: number): number {
    try {
      return this.doWrite(file, slice, offset);
    } catch (e) {
      throw errorAt(e, 'write', file.path);
    }
  }

  private doWrite(file: OpenFile<V>, slice: DataSlice, offset: number | undefined): number {
    if (file.closed || !file.writable) fail('EBADF');
    const inode = this.mount.inode(file.node);
    if (inode.kind === 'dir') fail('EISDIR');
    if (offset !== undefined && offset < 0) fail('EINVAL');
    if (inode.kind !== 'file') return slice.length;
    const at = file.append ? inode.content!.size : (offset ?? file.position);
    if (at + slice.length > MAX_FILE_BYTES) fail('EFBIG');
    this.mount.write(file.node, at, slice);
    if (offset === undefined || file.append) file.position = at + slice.length;
    return slice.length;
  }

  /** ftruncate(2). */
  ftruncate(file: OpenFile<V>, size: number): void {
    this.call('ftruncate', file.path, () => {
      if (file.closed) fail('EBADF');
      if (size < 0) fail('EINVAL');
      if (!file.writable) fail('EINVAL');
      if (size > MAX_FILE_BYTES) fail('EFBIG');
      if (this.mount.inode(file.node).kind !== 'file') fail('EINVAL');
      this.mount.truncate(file.node, size);
    });
  }

  /** The data of an open regular file, as extents (copy_file_range(2) and sendfile read it without materialising). */
  contentOf(file: OpenFile<V>): FileContent {
    return this.call('copy_file_range', file.path, () => {
      if (file.closed || !file.readable) fail('EBADF');
      const inode = this.mount.inode(file.node);
      if (inode.kind === 'dir') fail('EISDIR');
      if (inode.kind !== 'file') fail('EINVAL');
      return this.mount.content(file.node);
    });
  }

  fsync(file: OpenFile<V>): void {
    this.call('fsync', file.path, () => {
      if (file.closed) fail('EBADF');
    });
  }

  /** truncate(2). */
  truncate(path: string, size: number): void {
    this.call('truncate', path, () => {
      if (size < 0) fail('EINVAL');
      const { node } = this.resolve(path, true);
      const inode = this.mount.inode(node);
      if (inode.kind === 'dir') fail('EISDIR');
      if (inode.kind !== 'file') fail('EINVAL');
      if (!this.permits(inode, MAY_WRITE)) fail('EACCES');
      if (size > MAX_FILE_BYTES) fail('EFBIG');
      this.mount.truncate(node, size);
    });
  }

  /** stat(2) (follow) or lstat(2). */
  stat(path: string, follow = true): Stat {
    try {
      return this.statNode(this.resolve(path, follow).node);
    } catch (e) {
      throw errorAt(e, follow ? 'stat' : 'lstat', path);
    }
  }

  private statNode(node: V): Stat {
    const st = statOf(this.mount.inode(node));
    if (this.mount.nlink !== undefined) st.nlink = this.mount.nlink(node);
    if (this.mount.ino !== undefined) st.ino = this.mount.ino(node);
    return st;
  }

  /** lstat(2) that answers undefined for a missing path instead of throwing (hot existence checks). */
  lstatOrAbsent(path: string): Stat | undefined {
    try {
      // a missing last name (the usual absence: an init-layer path, a trace's `exists`) is a value, not a thrown error
      const found = this.lastComponent(this.parentOf(path), false, { count: 0 });
      return found === undefined ? undefined : this.statNode(found.node);
    } catch (e) {
      if (e instanceof FsError && (e.code === 'ENOENT' || e.code === 'ENOTDIR')) return undefined;
      throw e instanceof FsError ? e.withContext('lstat', path) : e;
    }
  }

  /** The real inode a path reaches (through symlinks): what the page cache and the kernel's inode cache key on. */
  realInode(path: string, opts: { peek?: boolean } = {}): Inode {
    return this.call('stat', path, () => {
      // a peek (a report asking which inode holds the pages) is not a syscall: it follows links without reading them
      this.peeking = opts.peek === true;
      try {
        return this.mount.inode(this.resolve(path, true).node);
      } finally {
        this.peeking = false;
      }
    });
  }

  /** readlink(2). */
  readlink(path: string): string {
    return this.call('readlink', path, () => {
      const node = this.resolve(path, false).node;
      const inode = this.mount.inode(node);
      if (inode.kind !== 'symlink') fail('EINVAL');
      // do_readlinkat() -> touch_atime()
      this.mount.accessed?.(node);
      return inode.target!;
    });
  }

  /** The contents of a regular file (open O_RDONLY + read to the end). */
  readFile(path: string): Uint8Array {
    const file = this.open(path, O_RDONLY);
    const data = this.read(file);
    this.close(file);
    return data;
  }

  /** getdents(2): the names in a directory, without "." and "..". */
  readdir(path: string): string[] {
    return this.call('open', path, () => {
      const { node } = this.resolve(path, true);
      const inode = this.mount.inode(node);
      if (inode.kind !== 'dir') fail('ENOTDIR');
      if (!this.permits(inode, MAY_READ)) fail('EACCES');
      return this.mount.readdir(node);
    });
  }

  /** mkdir(2). */
  mkdir(path: string, mode = 0o777): void {
    this.call('mkdir', path, () => this.doMkdir(path, mode));
  }

  /**
   * mkdir(2) answering its errno as a value instead of throwing: `mkdir -p` and the init layer expect EEXIST on most
   * components, and an error built for a user (with its stack) per component is most of their cost.
   */
  mkdirResult(path: string, mode = 0o777): Errno | undefined {
    try {
      this.doMkdir(path, mode);
      return undefined;
    } catch (e) {
      if (e instanceof FsError) return e.code;
      throw errorAt(e, 'mkdir', path);
    }
  }

  private doMkdir(path: string, mode: number): void {
    const w = this.prepareCreate(path, true);
    this.mount.create(w.at.node, w.name, {
      kind: 'dir',
      // vfs_mkdir(): only the permission bits and S_ISVTX of `mode`; S_ISGID comes from a setgid parent
      mode: (this.newMode(mode) & 0o1777) | (this.mount.inode(w.at.node).mode & 0o2000),
      uid: this.creds.uid,
      gid: this.newGid(w.at.node),
    });
  }

  /** symlink(2). */
  symlink(target: string, path: string): void {
    this.callChanging(
      'symlink',
      target,
      () => {
        if (target === '') fail('ENOENT');
        if (target.length >= PATH_MAX) fail('ENAMETOOLONG');
        const w = this.prepareCreate(path, false);
        this.mount.create(w.at.node, w.name, {
          kind: 'symlink',
          mode: 0o777,
          uid: this.creds.uid,
          gid: this.newGid(w.at.node),
          target,
        });
      },
      path,
    );
  }

  /** mknod(2) for fifos, sockets and device nodes (devices need root: CAP_MKNOD). */
  mknod(path: string, kind: 'fifo' | 'chr' | 'blk' | 'sock', mode: number, rdev = 0): void {
    this.call('mknod', path, () => {
      if ((kind === 'chr' || kind === 'blk') && this.creds.uid !== 0) fail('EPERM');
      const w = this.prepareCreate(path, false);
      this.mount.create(w.at.node, w.name, {
        kind,
        mode: this.newMode(mode),
        uid: this.creds.uid,
        gid: this.newGid(w.at.node),
        rdev,
      });
    });
  }

  /** link(2): the source is not followed. */
  link(from: string, to: string): void {
    this.call(
      'link',
      from,
      () => {
        const src = this.resolve(from, false);
        const w = this.prepareCreate(to, false);
        const inode = this.mount.inode(src.node);
        if (inode.kind === 'dir') fail('EPERM');
        this.mayLink(inode);
        if (inode.nlink === 0) fail('ENOENT');
        this.mount.link(src.node, w.at.node, w.name);
      },
      to,
    );
  }

  /** may_linkat() with fs.protected_hardlinks=1 (the default on Debian and Fedora). */
  private mayLink(inode: Inode): void {
    if (this.isOwner(inode)) return;
    const safeSource =
      inode.kind === 'file' &&
      !(inode.mode & 0o4000) &&
      !((inode.mode & 0o2010) === 0o2010) &&
      this.permits(inode, MAY_READ | MAY_WRITE);
    if (!safeSource) fail('EPERM');
  }

  /** unlink(2). */
  unlink(path: string): void {
    try {
      this.doUnlink(path);
    } catch (e) {
      throw errorAt(e, 'unlink', path);
    }
  }

  private doUnlink(path: string): void {
    const w = this.parentOf(path);
    if (w.lastType !== 'norm') fail('EISDIR');
    const node = this.lookupChild(w.at, w.name);
    if (w.trailing) {
      if (node === undefined) fail('ENOENT');
      fail(this.isDir(node) ? 'EISDIR' : 'ENOTDIR');
    }
    if (node === undefined) fail('ENOENT');
    this.mayDelete(w.at.node, node, false);
    // cached walks never pass a symlink; dropping them here keeps that true without relying on it
    const isLink = this.mount.inode(node).kind === 'symlink';
    this.mount.unlink(w.at.node, w.name, node);
    if (isLink) this.invalidateWalks();
  }

  /** rmdir(2). */
  rmdir(path: string): void {
    this.callChanging('rmdir', path, () => {
      const w = this.parentOf(path);
      if (w.lastType === 'dotdot') fail('ENOTEMPTY');
      if (w.lastType === 'dot') fail('EINVAL');
      if (w.lastType === 'root') fail('EBUSY');
      const node = this.lookupChild(w.at, w.name);
      if (node === undefined) fail('ENOENT');
      this.mayDelete(w.at.node, node, true);
      this.mount.rmdir(w.at.node, w.name, node);
    });
  }

  /** rename(2). */
  rename(from: string, to: string): void {
    this.callChanging(
      'rename',
      from,
      () => {
        const links = { count: 0 };
        const o = this.walkParent(from, this.rootPath(), links);
        const n = this.walkParent(to, this.rootPath(), links);
        if (o.lastType !== 'norm' || n.lastType !== 'norm') fail('EBUSY');
        const node = this.lookupChild(o.at, o.name);
        if (node === undefined) fail('ENOENT');
        const target = this.lookupChild(n.at, n.name);
        const isDir = this.isDir(node);
        if (!isDir && (o.trailing || n.trailing)) fail('ENOTDIR');
        // lock_rename(): the source may not be an ancestor of the target, nor the target of the source
        if (isAncestorOrSelf(node, n.at)) fail('EINVAL');
        if (target !== undefined && isAncestorOrSelf(target, o.at)) fail('ENOTEMPTY');
        if (target !== undefined && this.mount.sameInode(node, target)) return;
        this.mayDelete(o.at.node, node, isDir);
        if (target === undefined) this.requirePermission(n.at.node, MAY_WRITE | MAY_EXEC);
        else this.mayDelete(n.at.node, target, isDir);
        if (isDir && o.at.node !== n.at.node) this.requirePermission(node, MAY_WRITE);
        this.mount.rename(o.at.node, o.name, node, n.at.node, n.name, target);
      },
      to,
    );
  }

  /** chmod(2). */
  chmod(path: string, mode: number): void {
    this.callChanging('chmod', path, () => {
      const { node } = this.resolve(path, true);
      const inode = this.mount.inode(node);
      if (!this.isOwner(inode)) fail('EPERM');
      let bits = mode & 0o7777;
      // setattr_prepare(): a non-member without CAP_FSETID loses S_ISGID
      if (this.creds.uid !== 0 && inode.gid !== this.creds.gid && !this.creds.groups.includes(inode.gid)) bits &= ~0o2000;
      this.mount.setattr(node, { mode: bits });
    });
  }

  /** chown(2): only root may give a file away; an owner may change the group to one of its own groups. */
  chown(path: string, uid: number, gid: number): void {
    this.callChanging('chown', path, () => {
      const { node } = this.resolve(path, true);
      const inode = this.mount.inode(node);
      const c = this.creds;
      const newUid = uid === -1 ? inode.uid : uid;
      const newGid = gid === -1 ? inode.gid : gid;
      if (c.uid !== 0) {
        if (newUid !== inode.uid || c.uid !== inode.uid) fail('EPERM');
        if (newGid !== inode.gid && newGid !== c.gid && !c.groups.includes(newGid)) fail('EPERM');
      }
      const change: AttrChange = { uid: newUid, gid: newGid };
      // chown of a non-directory clears set-user-ID (and set-group-ID when group-executable)
      if (inode.kind !== 'dir' && inode.mode & 0o6000) {
        let mode = inode.mode & ~0o4000;
        if (mode & 0o010) mode &= ~0o2000;
        change.mode = mode;
      }
      this.mount.setattr(node, change);
    });
  }

  /** utimes(2): explicit times need ownership (EPERM); "now" (both undefined) needs ownership or write access. */
  utimes(path: string, atime: number | undefined, mtime: number | undefined, now: number): void {
    this.callChanging('utimes', path, () => {
      const { node } = this.resolve(path, true);
      const inode = this.mount.inode(node);
      if (atime === undefined && mtime === undefined) {
        if (!this.isOwner(inode) && !this.permits(inode, MAY_WRITE)) fail('EACCES');
        this.mount.setattr(node, { atime: now, mtime: now });
      } else {
        if (!this.isOwner(inode)) fail('EPERM');
        this.mount.setattr(node, { atime: atime ?? inode.atime, mtime: mtime ?? inode.mtime });
      }
    });
  }

  /** xattr_permission(): namespaces and the rules for each. */
  private xattrAccess(node: V, name: string, write: boolean): void {
    if (name.length === 0 || Buffer.byteLength(name) > 255) fail('ERANGE');
    const inode = this.mount.inode(node);
    if (name.startsWith('trusted.')) {
      if (this.creds.uid !== 0) fail(write ? 'EPERM' : 'ENODATA');
      return;
    }
    if (name.startsWith('user.')) {
      if (inode.kind !== 'file' && inode.kind !== 'dir') fail(write ? 'EPERM' : 'ENODATA');
      if (inode.kind === 'dir' && inode.mode & 0o1000 && !this.isOwner(inode)) fail('EPERM');
      if (!this.permits(inode, write ? MAY_WRITE : MAY_READ)) fail('EACCES');
      return;
    }
    if (name.startsWith('security.')) {
      if (write && this.creds.uid !== 0) fail('EPERM');
      return;
    }
    if (name.startsWith('system.')) fail('ENOTSUP');
    fail('ENOTSUP');
  }

  /** setxattr(2) (follows symlinks). */
  setxattr(path: string, name: string, value: Uint8Array): void {
    this.callChanging('setxattr', path, () => {
      if (value.length > 65536) fail('E2BIG');
      const { node } = this.resolve(path, true);
      this.xattrAccess(node, name, true);
      this.mount.setxattr(node, name, value);
    });
  }

  /** getxattr(2). */
  getxattr(path: string, name: string): Uint8Array {
    return this.call('getxattr', path, () => {
      const { node } = this.resolve(path, true);
      this.xattrAccess(node, name, false);
      const v = this.mount.xattrs(node)?.get(name);
      if (v === undefined) fail('ENODATA');
      return v;
    });
  }

  /** listxattr(2): the names the caller may see. */
  listxattr(path: string): string[] {
    return this.call('listxattr', path, () => {
      const { node } = this.resolve(path, true);
      const names = [...(this.mount.xattrs(node)?.keys() ?? [])];
      return this.creds.uid === 0 ? names : names.filter(n => !n.startsWith('trusted.'));
    });
  }

  /** removexattr(2). */
  removexattr(path: string, name: string): void {
    this.callChanging('removexattr', path, () => {
      const { node } = this.resolve(path, true);
      this.xattrAccess(node, name, true);
      if (!this.mount.xattrs(node)?.has(name)) fail('ENODATA');
      this.mount.removexattr(node, name);
    });
  }
}

/** A remembered walk: where it ended, for which caller, and the lookups it charged. */
interface CachedWalk<T> {
  /** The directory the walk ended in, with the chain above it (a hit charges each one's `Mount.lookupCost`). */
  readonly walk: T;
  readonly creds: Credentials;
  readonly lookups: number;
}

/** Entries kept before the cache starts over (a bound on memory; a replay touches far fewer directories). */
const WALK_CACHE_MAX = 8192;

/**
 * Directory walks resolved before, keyed by the directory part of a path ("/a/b/" of "/a/b/c") walked from the root
 * without following a symlink (a map of full paths was tried: larger, colder, and measured slower). An entry holds only for the credentials
 * it was checked with (search permission on every directory), and only until the VFS clears the cache (rename, rmdir,
 * attribute changes) or the mount's generation moves (a name re-resolved). A hit charges the meter what walking again
 * would: each directory's current lookup cost (`Mount.lookupCost`), or, on a mount without it, the lookups the cold
 * walk charged (such a mount moves its generation when a cost changes). test/properties/walk-cache.test.ts checks it.
 */
class WalkCache<T extends PathNode<object>> {
  private readonly entries = new Map<string, CachedWalk<T>>();
  private mountGeneration: number;

  constructor(
    private readonly mount: Mount<object>,
    readonly meter: CostMeter,
  ) {
    this.mountGeneration = mount.generation!;
  }

  get(key: string, creds: Credentials): T | undefined {
    return this.current() ? this.hit(this.entries.get(key), creds) : undefined;
  }

  set(key: string, creds: Credentials, walk: T, lookups: number): void {
    // the walk itself may have moved the mount's generation (a lookup that re-resolved): it is current now
    this.current();
    if (!this.chargeable(walk, lookups)) return;
    if (this.entries.size >= WALK_CACHE_MAX) this.entries.clear();
    this.entries.set(key, { walk, creds, lookups });
  }

  clear(): void {
    this.entries.clear();
  }

  /** False (and the cache emptied) when the mount's generation moved since the entries were made. */
  private current(): boolean {
    if (this.mount.generation === this.mountGeneration) return true;
    this.clear();
    this.mountGeneration = this.mount.generation!;
    return false;
  }

  private hit(e: CachedWalk<T> | undefined, creds: Credentials): T | undefined {
    if (e === undefined || e.creds !== creds) return undefined;
    this.meter.lookups += this.mount.lookupCost === undefined ? e.lookups : this.chainCost(e.walk);
    return e.walk;
  }

  /** What looking up each directory of the chain charges now, root excluded. */
  private chainCost(at: PathNode<object>): number {
    const cost = this.mount.lookupCost!;
    let n = 0;
    for (let p: PathNode<object> | undefined = at; p?.up !== undefined; p = p.up) n += cost.call(this.mount, p.node);
    return n;
  }

  /**
   * Whether a hit can charge what a cold walk charges: always with a fixed cost; with `lookupCost`, when the chain's
   * current cost is what the cold walk charged (a walk through "..", which looked up a directory it then left, is
   * not remembered).
   */
  private chargeable(at: PathNode<object>, lookups: number): boolean {
    return this.mount.lookupCost === undefined || this.chainCost(at) === lookups;
  }
}

/** The four open intents, shared (a mount only reads them): no object per open(2). */
const OPEN_INTENTS: readonly OpenIntent[] = [
  { write: false, truncate: false },
  { write: false, truncate: true },
  { write: true, truncate: false },
  { write: true, truncate: true },
];

function openIntent(write: boolean, truncate: boolean): OpenIntent {
  return OPEN_INTENTS[(write ? 2 : 0) + (truncate ? 1 : 0)]!;
}

/** The error a syscall throws for what its body threw: an errno stamped with the call and path. */
function errorAt(e: unknown, syscall: string, path: string | undefined, dest?: string): unknown {
  if (e instanceof FsError) return e.withContext(syscall, path, dest);
  if (e instanceof RangeError) return new FsError('ENOMEM', syscall, path);
  return e;
}

function isAncestorOrSelf<V>(node: V, at: PathNode<V> | undefined): boolean {
  for (let p = at; p !== undefined; p = p.up) if (p.node === node) return true;
  return false;
}

export function statOf(inode: Inode): Stat {
  return {
    ino: inode.ino,
    kind: inode.kind,
    mode: inode.mode,
    uid: inode.uid,
    gid: inode.gid,
    nlink: inode.nlink,
    size: inode.size,
    rdev: inode.rdev,
    atime: inode.atime,
    mtime: inode.mtime,
    ctime: inode.ctime,
  };
}
