import type { DataSlice, FileContent } from './content.js';
import type { CostMeter } from './cost.js';
import { fail } from './errno.js';
import type { Inode } from './inode.js';
import type { Volume } from './volume.js';
import type { AttrChange, CreateSpec, Mount, OpenIntent } from '../vfs/mount.js';

/**
 * A plain POSIX filesystem mounted as a container root: what vfs, devicemapper (ext4/xfs on a thin device) and btrfs
 * present. Nodes are the volume's inodes; one probe per path component.
 */
export class PlainMount implements Mount<Inode> {
  readonly root: Inode;

  constructor(readonly volume: Volume) {
    this.root = volume.root;
  }

  get generation(): number {
    return this.volume.generation;
  }

  get meter(): CostMeter {
    return this.volume.meter;
  }

  inode(node: Inode): Inode {
    return node;
  }

  lookup(dir: Inode, name: string): Inode | undefined {
    this.volume.meter.lookups++;
    return dir.entries!.get(name);
  }

  readdir(dir: Inode): string[] {
    // iterate_dir() -> file_accessed(): getdents updates the directory's atime (relatime rules), also for Docker's
    // diff walks
    this.volume.accessed(dir);
    return [...dir.entries!.keys()];
  }

  sameInode(a: Inode, b: Inode): boolean {
    return a === b;
  }

  xattrs(node: Inode): ReadonlyMap<string, Uint8Array> | undefined {
    return node.xattrs;
  }

  create(dir: Inode, name: string, spec: CreateSpec): Inode {
    return this.volume.createChild(dir, name, spec.kind, spec);
  }

  link(node: Inode, dir: Inode, name: string): void {
    node.ctime = this.volume.clock.now();
    this.volume.addEntry(dir, name, node);
  }

  unlink(dir: Inode, name: string): void {
    this.volume.removeEntry(dir, name);
  }

  rmdir(dir: Inode, name: string, node: Inode): void {
    if (node.entries!.size > 0) fail('ENOTEMPTY');
    this.volume.removeEntry(dir, name);
  }

  rename(oldDir: Inode, oldName: string, node: Inode, newDir: Inode, newName: string, target?: Inode): void {
    if (target?.kind === 'dir' && target.entries!.size > 0) fail('ENOTEMPTY');
    this.volume.moveEntry(oldDir, oldName, newDir, newName);
    void node;
  }

  open(_node: Inode, _intent: OpenIntent): void {}

  content(node: Inode): FileContent {
    return node.content!;
  }

  accessed(node: Inode): void {
    this.volume.accessed(node);
  }

  write(node: Inode, offset: number, slice: DataSlice): void {
    this.volume.write(node, offset, slice);
  }

  truncate(node: Inode, size: number): void {
    this.volume.truncate(node, size);
  }

  setattr(node: Inode, change: AttrChange): void {
    applyAttrChange(node, change, this.volume.clock.now());
    this.volume.chargeInode(node);
  }

  setxattr(node: Inode, name: string, value: Uint8Array): void {
    this.volume.setXattr(node, name, value);
  }

  removexattr(node: Inode, name: string): void {
    this.volume.removeXattr(node, name);
  }
}

/** notify_change(): the new attributes, and ctime. */
export function applyAttrChange(inode: Inode, change: AttrChange, now: number): void {
  if (change.mode !== undefined) inode.mode = change.mode & 0o7777;
  if (change.uid !== undefined) inode.uid = change.uid;
  if (change.gid !== undefined) inode.gid = change.gid;
  if (change.atime !== undefined) inode.atime = change.atime;
  if (change.mtime !== undefined) inode.mtime = change.mtime;
  inode.ctime = now;
}
