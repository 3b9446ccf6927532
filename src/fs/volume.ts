import { allocatedBlocksInRange, FileContent, type DataSlice } from './content.js';
import { CostMeter } from './cost.js';
import { Inode, InoAllocator, LogicalClock, type Clock, type FileKind } from './inode.js';

/**
 * How the filesystem holding a layer directory allocates space. The defaults are ext4's (mke2fs.conf "default"
 * profile): 4 KiB blocks, 256-byte inodes with 32 bytes of i_extra_isize, so about 92 bytes of in-inode xattr space
 * before an external xattr block is needed; symlinks shorter than 60 bytes are "fast" (stored in i_block).
 */
export interface BackingFs {
  readonly name: string;
  readonly blockBytes: number;
  readonly inodeBytes: number;
  readonly inlineXattrBytes: number;
  readonly fastSymlinkMaxBytes: number;
}

export const EXT4_BACKING: BackingFs = {
  name: 'ext4',
  blockBytes: 4096,
  inodeBytes: 256,
  inlineXattrBytes: 92,
  fastSymlinkMaxBytes: 59,
};

/** Space a volume takes on its backing filesystem. */
export interface VolumeUsage {
  inodeCount: number;
  /** Sum of st_size over regular files and symlinks (`du --apparent-size` without directories). */
  apparentBytes: number;
  dataBlockCount: number;
  dirBlockCount: number;
  xattrBlockCount: number;
  /** Data blocks x block size. */
  dataBytes: number;
  /** Inodes x inode size + directory and xattr blocks x block size. */
  metadataBytes: number;
  /** dataBytes + metadataBytes. */
  allocatedBytes: number;
  /**
   * Blocks in use (data, directory, xattr) x block size: what `df` sees change. Inodes are not in it: ext4's inode
   * tables are allocated by mkfs.
   */
  blockBytes: number;
}

/**
 * What a filesystem's on-disk layout hears of the changes made through a Volume: the block models (ext4 or xfs on a
 * thin device, btrfs trees, zfs objects) turn these into the blocks, tree nodes and records they write. The events
 * come after the Volume has made the change.
 */
export interface VolumeObserver {
  inodeAllocated(inode: Inode): void;
  /** Attributes, times, size or link count changed: the inode is written. */
  inodeDirtied(inode: Inode): void;
  inodeFreed(inode: Inode): void;
  entryAdded(dir: Inode, name: string, inode: Inode): void;
  entryRemoved(dir: Inode, name: string, inode: Inode): void;
  /** Bytes [offset, offset+length) of a regular file were written. */
  dataWritten(inode: Inode, offset: number, length: number): void;
  /** A regular file's size changed by truncate(2) (blocks past the new size are freed). */
  dataTruncated(inode: Inode, newSize: number, oldSize: number): void;
  xattrsChanged(inode: Inode): void;
}

/** atime updates on read: none, or Linux's default relatime (when atime <= mtime or ctime, or is a day old). */
export type AtimePolicy = 'noatime' | 'relatime';

export interface NewInodeAttrs {
  mode: number;
  uid: number;
  gid: number;
  rdev?: number;
  target?: string;
  content?: FileContent;
}

/** UTF-8 length of a string: its length when it is ASCII (names almost always are), else what Buffer counts. */
function utf8Length(s: string): number {
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) >= 0x80) return Buffer.byteLength(s);
  return s.length;
}

/** ext4 directory record: 8-byte header plus the name padded to 4 bytes. */
function dirRecordBytes(name: string): number {
  return 8 + ((utf8Length(name) + 3) & ~3);
}

function xattrBytes(inode: Inode): number {
  if (!inode.xattrs) return 0;
  let n = 4;
  for (const [name, value] of inode.xattrs) n += 16 + ((utf8Length(name) + 3) & ~3) + ((value.length + 3) & ~3);
  return n;
}

/**
 * Space in blocks and inodes: one volume's, or the sum over every volume a driver keeps on one backing filesystem (its
 * layer directories: what `df` of that filesystem sees), kept as they change rather than summed on every reading.
 */
export class SpaceCounts {
  inodeCount = 0;
  apparentBytes = 0;
  dataBlockCount = 0;
  dirBlockCount = 0;
  xattrBlockCount = 0;

  allocatedBytes(backing: BackingFs): number {
    return (this.dataBlockCount + this.dirBlockCount + this.xattrBlockCount) * backing.blockBytes + this.inodeCount * backing.inodeBytes;
  }

  usage(backing: BackingFs): VolumeUsage {
    const bs = backing.blockBytes;
    const dataBytes = this.dataBlockCount * bs;
    const metadataBytes = this.inodeCount * backing.inodeBytes + (this.dirBlockCount + this.xattrBlockCount) * bs;
    return {
      inodeCount: this.inodeCount,
      apparentBytes: this.apparentBytes,
      dataBlockCount: this.dataBlockCount,
      dirBlockCount: this.dirBlockCount,
      xattrBlockCount: this.xattrBlockCount,
      dataBytes,
      metadataBytes,
      allocatedBytes: dataBytes + metadataBytes,
      blockBytes: dataBytes + (this.dirBlockCount + this.xattrBlockCount) * bs,
    };
  }
}

/**
 * A plain POSIX directory tree on a backing filesystem: the inode table of one layer directory (an overlay upperdir,
 * an aufs branch, a vfs layer copy) or of a whole filesystem. Mutations go through its methods so that the space
 * accounting (inodes, data blocks, directory blocks, xattr blocks) is always current, and so that every byte written to
 * the backing store is charged to the cost meter: data as written, and per metadata change one inode (inodeBytes) and
 * one block per directory or xattr block dirtied.
 */
export class Volume {
  readonly root: Inode;
  readonly clock: Clock;
  readonly inos: InoAllocator;
  readonly backing: BackingFs;
  readonly meter: CostMeter;
  /** The on-disk layout listening to changes (block models); union and vfs layers have none. */
  observer: VolumeObserver | undefined;
  atime: AtimePolicy;
  /**
   * Moves whenever a directory leaves its place in the tree (removed, or moved by rename): path walks through it that
   * a VFS remembered no longer hold (`Mount.generation`).
   */
  generation = 0;
  private readonly space = new SpaceCounts();
  /** The totals of the backing filesystem this volume's directory is on, when its driver keeps them. */
  private disk: SpaceCounts | undefined;

  constructor(
    opts: {
      clock?: Clock;
      inos?: InoAllocator;
      backing?: BackingFs;
      meter?: CostMeter;
      rootMode?: number;
      observer?: VolumeObserver;
      atime?: AtimePolicy;
      disk?: SpaceCounts;
    } = {},
  ) {
    this.disk = opts.disk;
    this.clock = opts.clock ?? new LogicalClock();
    this.meter = opts.meter ?? new CostMeter();
    this.observer = opts.observer;
    this.atime = opts.atime ?? 'noatime';
    this.inos = opts.inos ?? new InoAllocator();
    this.backing = opts.backing ?? EXT4_BACKING;
    this.root = this.newInode('dir', { mode: opts.rootMode ?? 0o755, uid: 0, gid: 0 });
    this.root.nlink = 2;
  }

  /**
   * The same tree with the same inode numbers, sharing file extents: the filesystem a snapshot of this volume's
   * device holds (dm-thin create_snap, a btrfs snapshot, a zfs clone). The copy starts with no observer.
   */
  snapshot(opts: { meter?: CostMeter; observer?: VolumeObserver } = {}): Volume {
    const copy = new Volume({
      clock: this.clock,
      inos: this.inos.clone(),
      backing: this.backing,
      meter: opts.meter ?? this.meter,
      atime: this.atime,
    });
    // only an inode with other names can be met twice (directories have no hard links): those alone are remembered
    const linked = new Map<Inode, Inode>();
    const dup = (src: Inode): Inode => {
      const shared = src.nlink > 1 && src.kind !== 'dir';
      if (shared) {
        const seen = linked.get(src);
        if (seen !== undefined) return seen;
      }
      const d = new Inode(src.ino, src.kind, src.mode, src.uid, src.gid, src.atime, src.mtime, src.ctime);
      d.nlink = src.nlink;
      d.rdev = src.rdev;
      d.dirBlocks = src.dirBlocks;
      d.dirRecordBytes = src.dirRecordBytes;
      if (src.xattrs) d.xattrs = new Map(src.xattrs);
      if (src.content) d.content = src.content.clone();
      if (src.target !== undefined) d.target = src.target;
      if (shared) linked.set(src, d);
      if (src.entries) {
        d.entries = new Map();
        for (const [name, child] of src.entries) d.entries.set(name, dup(child));
      }
      return d;
    };
    const root = dup(this.root);
    // the constructor took a number for its own root; the snapshot continues exactly where the origin is
    Object.assign(copy, { root, inos: this.inos.clone() });
    Object.assign(copy.space, this.space);
    copy.observer = opts.observer;
    return copy;
  }

  private countInodes(n: number): void {
    this.space.inodeCount += n;
    if (this.disk !== undefined) this.disk.inodeCount += n;
  }

  private countApparent(bytes: number): void {
    this.space.apparentBytes += bytes;
    if (this.disk !== undefined) this.disk.apparentBytes += bytes;
  }

  private countDataBlocks(n: number): void {
    this.space.dataBlockCount += n;
    if (this.disk !== undefined) this.disk.dataBlockCount += n;
  }

  private countDirBlocks(n: number): void {
    this.space.dirBlockCount += n;
    if (this.disk !== undefined) this.disk.dirBlockCount += n;
  }

  private countXattrBlocks(n: number): void {
    this.space.xattrBlockCount += n;
    if (this.disk !== undefined) this.disk.xattrBlockCount += n;
  }

  /** The volume's directory is deleted (its layer removed): its space leaves the backing filesystem's totals. */
  leaveDisk(): void {
    const d = this.disk;
    if (d === undefined) return;
    d.inodeCount -= this.space.inodeCount;
    d.apparentBytes -= this.space.apparentBytes;
    d.dataBlockCount -= this.space.dataBlockCount;
    d.dirBlockCount -= this.space.dirBlockCount;
    d.xattrBlockCount -= this.space.xattrBlockCount;
    this.disk = undefined;
  }

  /** A new inode counted against this volume but not yet linked anywhere. */
  newInode(kind: FileKind, attrs: NewInodeAttrs): Inode {
    const t = this.clock.now();
    const inode = new Inode(this.inos.allocate(), kind, attrs.mode & 0o7777, attrs.uid, attrs.gid, t, t, t);
    this.countInodes(1);
    this.meter.metadataBytes += this.backing.inodeBytes;
    if (kind === 'dir') {
      inode.entries = new Map();
      inode.nlink = 2;
      inode.dirRecordBytes = 24; // "." and ".."
      inode.dirBlocks = 1;
      this.countDirBlocks(1);
    } else if (kind === 'file') {
      inode.content = attrs.content ?? new FileContent();
      this.countApparent(inode.content.size);
      this.meter.dataBytes += inode.content.dataBytes();
      const blocks = inode.content.allocatedBlocks(this.backing.blockBytes);
      this.countDataBlocks(blocks);
    } else if (kind === 'symlink') {
      inode.target = attrs.target ?? '';
      this.countApparent(Buffer.byteLength(inode.target));
      if (Buffer.byteLength(inode.target) > this.backing.fastSymlinkMaxBytes) this.countDataBlocks(1);
    } else {
      inode.rdev = attrs.rdev ?? 0;
    }
    this.observer?.inodeAllocated(inode);
    if (this.observer !== undefined && kind === 'file' && inode.content!.size > 0) this.notifyContent(inode, inode.content!);
    return inode;
  }

  private notifyContent(inode: Inode, content: FileContent): void {
    for (const e of content.listExtents()) this.observer!.dataWritten(inode, e.offset, e.length);
    this.observer!.inodeDirtied(inode);
  }

  private releaseInode(inode: Inode): void {
    this.countInodes(-1);
    this.observer?.inodeFreed(inode);
    if (inode.kind === 'file') {
      this.countApparent(-inode.content!.size);
      this.countDataBlocks(-inode.content!.allocatedBlocks(this.backing.blockBytes));
    } else if (inode.kind === 'symlink') {
      this.countApparent(-Buffer.byteLength(inode.target!));
      if (Buffer.byteLength(inode.target!) > this.backing.fastSymlinkMaxBytes) this.countDataBlocks(-1);
    } else if (inode.kind === 'dir') {
      this.countDirBlocks(-inode.dirBlocks);
    }
    if (xattrBytes(inode) > this.backing.inlineXattrBytes) this.countXattrBlocks(-1);
  }

  /** Adds the dentry `name` -> `inode` in `dir` (link(2) when the inode is already linked elsewhere). */
  addEntry(dir: Inode, name: string, inode: Inode, fresh = false): void {
    dir.entries!.set(name, inode);
    if (!fresh) inode.nlink++;
    if (inode.kind === 'dir') dir.nlink++;
    dir.dirRecordBytes += dirRecordBytes(name);
    const blocks = Math.ceil(dir.dirRecordBytes / this.backing.blockBytes);
    if (blocks > dir.dirBlocks) {
      this.countDirBlocks(blocks - dir.dirBlocks);
      dir.dirBlocks = blocks;
    }
    this.chargeDirChange();
    const t = this.clock.now();
    dir.mtime = t;
    dir.ctime = t;
    if (this.observer) {
      this.observer.entryAdded(dir, name, inode);
      this.observer.inodeDirtied(dir);
      if (!fresh || inode.kind === 'dir') this.observer.inodeDirtied(inode);
    }
  }

  private chargeDirChange(): void {
    this.meter.metadataBytes += this.backing.blockBytes + this.backing.inodeBytes;
  }

  /** Charges a change of one inode's attributes (chmod, chown, utimes, link count). */
  chargeInode(inode?: Inode): void {
    this.meter.metadataBytes += this.backing.inodeBytes;
    if (inode !== undefined) this.observer?.inodeDirtied(inode);
  }

  /** A read: relatime writes atime back when it is not newer than mtime and ctime, or is a day old. */
  accessed(inode: Inode): void {
    if (this.atime !== 'relatime') return;
    const now = this.clock.now();
    if (inode.atime <= inode.mtime || inode.atime <= inode.ctime || now - inode.atime >= 86400) {
      inode.atime = now;
      this.chargeInode(inode);
    }
  }

  /** Creates an inode and links it as `name` in `dir`. */
  createChild(dir: Inode, name: string, kind: FileKind, attrs: NewInodeAttrs): Inode {
    const inode = this.newInode(kind, attrs);
    this.addEntry(dir, name, inode, true);
    return inode;
  }

  /** Removes the dentry `name` from `dir`; the inode is released when its last link goes. */
  removeEntry(dir: Inode, name: string): Inode {
    const inode = dir.entries!.get(name)!;
    dir.entries!.delete(name);
    dir.dirRecordBytes -= dirRecordBytes(name);
    this.chargeDirChange();
    const t = this.clock.now();
    dir.mtime = t;
    dir.ctime = t;
    if (inode.kind === 'dir') {
      dir.nlink--;
      inode.nlink = 0;
      this.generation++;
    } else {
      inode.nlink--;
      inode.ctime = t;
    }
    if (this.observer) {
      this.observer.entryRemoved(dir, name, inode);
      this.observer.inodeDirtied(dir);
      if (inode.nlink > 0) this.observer.inodeDirtied(inode);
    }
    if (inode.nlink === 0) this.releaseInode(inode);
    return inode;
  }

  /** rename(2) of a dentry within this volume; an existing `newName` is replaced. */
  moveEntry(oldDir: Inode, oldName: string, newDir: Inode, newName: string): void {
    const inode = oldDir.entries!.get(oldName)!;
    if (oldDir === newDir && oldName === newName) return;
    if (newDir.entries!.has(newName)) this.removeEntry(newDir, newName);
    oldDir.entries!.delete(oldName);
    oldDir.dirRecordBytes -= dirRecordBytes(oldName);
    if (inode.kind === 'dir') {
      oldDir.nlink--;
      this.generation++;
    }
    inode.nlink--;
    if (this.observer) {
      this.observer.entryRemoved(oldDir, oldName, inode);
      this.observer.inodeDirtied(oldDir);
    }
    this.addEntry(newDir, newName, inode);
    inode.ctime = this.clock.now();
    oldDir.mtime = inode.ctime;
    oldDir.ctime = inode.ctime;
  }

  /** pwrite(2) of `slice` at `offset` into a regular file. */
  write(inode: Inode, offset: number, slice: DataSlice): void {
    const c = inode.content!;
    const bs = this.backing.blockBytes;
    const end = offset + slice.length;
    if (slice.length > 0) {
      const spanStart = Math.floor(offset / bs) * bs;
      const spanEnd = Math.ceil(end / bs) * bs;
      const before = allocatedBlocksInRange(c, spanStart, spanEnd, bs);
      const oldSize = c.size;
      c.write(offset, slice);
      this.meter.dataBytes += slice.length;
      this.observer?.dataWritten(inode, offset, slice.length);
      this.countDataBlocks((spanEnd - spanStart) / bs - before);
      this.countApparent(c.size - oldSize);
    }
    const t = this.clock.now();
    inode.mtime = t;
    inode.ctime = t;
    this.chargeInode(inode);
  }

  /** truncate(2) of a regular file. */
  truncate(inode: Inode, size: number): void {
    const c = inode.content!;
    const bs = this.backing.blockBytes;
    const sizeBefore = c.size;
    if (size < c.size) {
      const boundary = Math.floor(size / bs) * bs;
      const before = allocatedBlocksInRange(c, boundary, c.size, bs);
      const oldSize = c.size;
      c.truncate(size);
      this.countDataBlocks(allocatedBlocksInRange(c, boundary, size, bs) - before);
      this.countApparent(size - oldSize);
    } else {
      this.countApparent(size - c.size);
      c.truncate(size);
    }
    if (size !== sizeBefore) this.observer?.dataTruncated(inode, size, sizeBefore);
    const t = this.clock.now();
    inode.mtime = t;
    inode.ctime = t;
    this.chargeInode(inode);
  }

  /** Replaces the whole content of a regular file (a copy-up or a layer copy writing the file). */
  replaceContent(inode: Inode, content: FileContent): void {
    const bs = this.backing.blockBytes;
    this.countApparent(content.size - inode.content!.size);
    this.countDataBlocks(content.allocatedBlocks(bs) - inode.content!.allocatedBlocks(bs));
    this.meter.dataBytes += content.dataBytes();
    const oldSize = inode.content!.size;
    inode.content = content;
    if (this.observer) {
      this.observer.dataTruncated(inode, 0, oldSize);
      this.notifyContent(inode, content);
    }
    this.chargeInode(inode);
  }

  setXattr(inode: Inode, name: string, value: Uint8Array): void {
    const before = xattrBytes(inode) > this.backing.inlineXattrBytes;
    (inode.xattrs ??= new Map()).set(name, value);
    const after = xattrBytes(inode) > this.backing.inlineXattrBytes;
    this.countXattrBlocks(Number(after) - Number(before));
    this.chargeXattr(after);
    inode.ctime = this.clock.now();
    this.observer?.xattrsChanged(inode);
  }

  private chargeXattr(externalBlock: boolean): void {
    this.meter.metadataBytes += this.backing.inodeBytes + (externalBlock ? this.backing.blockBytes : 0);
  }

  removeXattr(inode: Inode, name: string): boolean {
    if (!inode.xattrs?.has(name)) return false;
    const before = xattrBytes(inode) > this.backing.inlineXattrBytes;
    inode.xattrs.delete(name);
    if (inode.xattrs.size === 0) inode.xattrs = undefined;
    const after = xattrBytes(inode) > this.backing.inlineXattrBytes;
    this.countXattrBlocks(Number(after) - Number(before));
    this.chargeXattr(before);
    inode.ctime = this.clock.now();
    this.observer?.xattrsChanged(inode);
    return true;
  }

  /** `usage().allocatedBytes`, without building the reading. */
  get allocatedBytes(): number {
    return this.space.allocatedBytes(this.backing);
  }

  /** `usage().apparentBytes`, without building the reading. */
  get apparentBytes(): number {
    return this.space.apparentBytes;
  }

  usage(): VolumeUsage {
    return this.space.usage(this.backing);
  }

  /** Looks up a path made of plain names (no symlink following): the inode, or undefined. */
  at(path: string): Inode | undefined {
    let node: Inode | undefined = this.root;
    for (const name of path.split('/')) {
      if (name === '') continue;
      node = node.entries?.get(name);
      if (!node) return undefined;
    }
    return node;
  }

  /** Every entry below `dir`, depth first, in name order, as [path, inode]. */
  *walk(dir: Inode = this.root, prefix = ''): Generator<[string, Inode]> {
    const names = [...dir.entries!.keys()].sort();
    for (const name of names) {
      const child = dir.entries!.get(name)!;
      const path = `${prefix}/${name}`;
      yield [path, child];
      if (child.kind === 'dir') yield* this.walk(child, path);
    }
  }

  /** The tree as `ls -laR` and `getfattr -d` would show it, for tests and `--json`. */
  toJSON(): VolumeEntryJSON[] {
    const out: VolumeEntryJSON[] = [describeEntry('/', this.root)];
    for (const [path, inode] of this.walk()) out.push(describeEntry(path, inode));
    return out;
  }
}

export interface VolumeEntryJSON {
  path: string;
  type: FileKind | 'whiteout';
  mode: string;
  uid: number;
  gid: number;
  nlink: number;
  ino: number;
  size?: number;
  target?: string;
  rdev?: number;
  xattrs?: Record<string, string>;
}

export function xattrText(value: Uint8Array): string {
  const s = Buffer.from(value).toString('utf8');
  return /^[\x20-\x7e]*$/.test(s) ? s : `hex:${Buffer.from(value).toString('hex')}`;
}

function describeEntry(path: string, inode: Inode): VolumeEntryJSON {
  const e: VolumeEntryJSON = {
    path,
    type: inode.isWhiteoutDevice() ? 'whiteout' : inode.kind,
    mode: inode.mode.toString(8).padStart(4, '0'),
    uid: inode.uid,
    gid: inode.gid,
    nlink: inode.nlink,
    ino: inode.ino,
  };
  if (inode.kind === 'file') e.size = inode.content!.size;
  if (inode.kind === 'symlink') e.target = inode.target!;
  if (inode.kind === 'chr' || inode.kind === 'blk') e.rdev = inode.rdev;
  if (inode.xattrs) e.xattrs = Object.fromEntries([...inode.xattrs].map(([k, v]) => [k, xattrText(v)]));
  return e;
}
