import type { DataSlice, FileContent } from '../fs/content.js';
import type { CostMeter } from '../fs/cost.js';
import { fail } from '../fs/errno.js';
import type { Inode } from '../fs/inode.js';
import { applyAttrChange } from '../fs/plain-mount.js';
import type { Volume } from '../fs/volume.js';
import type { AttrChange, CreateSpec, Mount, OpenIntent } from './mount.js';

/** A host file bind-mounted over a file of the container (Docker's /etc/hosts, /etc/hostname, /etc/resolv.conf). */
export class BoundFile {
  constructor(
    readonly inode: Inode,
    readonly volume: Volume,
  ) {}
}

/**
 * A container root with files bind-mounted over some of its names: looking such a name up crosses into the host
 * file, so writes to it never reach the layer below (daemon/volumes.go in Docker 1.3). As for any mountpoint,
 * unlinking or renaming it is EBUSY, and a hard link to it is EXDEV.
 */
export class BindMounts<V extends object> implements Mount<V | BoundFile> {
  readonly root: V;
  private readonly binds = new Map<V, BoundFile>();

  /** The inner mount's, when it has one: bound nodes are files, never a directory a walk passes. */
  readonly lookupCost?: (node: V | BoundFile) => number;

  constructor(readonly inner: Mount<V>) {
    this.root = inner.root;
    const cost = inner.lookupCost?.bind(inner);
    if (cost !== undefined) this.lookupCost = node => (node instanceof BoundFile ? 1 : cost(node));
  }

  /** Bound nodes are files, never a directory on a walk: the inner mount's counter is the whole story. */
  get generation(): number | undefined {
    return this.inner.generation;
  }

  get meter(): CostMeter | undefined {
    return this.inner.meter;
  }

  /** Mounts `file` over the node a path resolved to. */
  bind(node: V, file: BoundFile): void {
    this.binds.set(node, file);
  }

  inode(node: V | BoundFile): Inode {
    return node instanceof BoundFile ? node.inode : this.inner.inode(node);
  }

  nlink(node: V | BoundFile): number {
    if (node instanceof BoundFile) return node.inode.nlink;
    return this.inner.nlink?.(node) ?? this.inner.inode(node).nlink;
  }

  ino(node: V | BoundFile): number {
    if (node instanceof BoundFile) return node.inode.ino;
    return this.inner.ino?.(node) ?? this.inner.inode(node).ino;
  }

  lookup(dir: V | BoundFile, name: string): V | BoundFile | undefined {
    if (dir instanceof BoundFile) return undefined;
    const found = this.inner.lookup(dir, name);
    return found === undefined ? undefined : (this.binds.get(found) ?? found);
  }

  readdir(dir: V | BoundFile): string[] {
    return dir instanceof BoundFile ? [] : this.inner.readdir(dir);
  }

  sameInode(a: V | BoundFile, b: V | BoundFile): boolean {
    if (a instanceof BoundFile || b instanceof BoundFile) return a === b;
    return this.inner.sameInode(a, b);
  }

  xattrs(node: V | BoundFile): ReadonlyMap<string, Uint8Array> | undefined {
    return node instanceof BoundFile ? node.inode.xattrs : this.inner.xattrs(node);
  }

  content(node: V | BoundFile): FileContent {
    return node instanceof BoundFile ? node.inode.content! : this.inner.content(node);
  }

  private dir(node: V | BoundFile): V {
    if (node instanceof BoundFile) fail('ENOTDIR');
    return node;
  }

  create(dir: V | BoundFile, name: string, spec: CreateSpec): V {
    return this.inner.create(this.dir(dir), name, spec);
  }

  link(node: V | BoundFile, dir: V | BoundFile, name: string): void {
    if (node instanceof BoundFile) fail('EXDEV');
    this.inner.link(node, this.dir(dir), name);
  }

  unlink(dir: V | BoundFile, name: string, node: V | BoundFile): void {
    if (node instanceof BoundFile) fail('EBUSY');
    this.inner.unlink(this.dir(dir), name, node);
  }

  rmdir(dir: V | BoundFile, name: string, node: V | BoundFile): void {
    if (node instanceof BoundFile) fail('EBUSY');
    this.inner.rmdir(this.dir(dir), name, node);
  }

  rename(oldDir: V | BoundFile, oldName: string, node: V | BoundFile, newDir: V | BoundFile, newName: string, target?: V | BoundFile): void {
    if (node instanceof BoundFile || target instanceof BoundFile) fail('EBUSY');
    this.inner.rename(this.dir(oldDir), oldName, node, this.dir(newDir), newName, target);
  }

  open(node: V | BoundFile, intent: OpenIntent): void {
    if (!(node instanceof BoundFile)) this.inner.open(node, intent);
  }

  accessed(node: V | BoundFile): void {
    if (node instanceof BoundFile) node.volume.accessed(node.inode);
    else this.inner.accessed?.(node);
  }

  write(node: V | BoundFile, offset: number, slice: DataSlice): void {
    if (node instanceof BoundFile) node.volume.write(node.inode, offset, slice);
    else this.inner.write(node, offset, slice);
  }

  truncate(node: V | BoundFile, size: number): void {
    if (node instanceof BoundFile) node.volume.truncate(node.inode, size);
    else this.inner.truncate(node, size);
  }

  setattr(node: V | BoundFile, change: AttrChange): void {
    if (node instanceof BoundFile) applyAttrChange(node.inode, change, node.volume.clock.now());
    else this.inner.setattr(node, change);
  }

  setxattr(node: V | BoundFile, name: string, value: Uint8Array): void {
    if (node instanceof BoundFile) node.volume.setXattr(node.inode, name, value);
    else this.inner.setxattr(node, name, value);
  }

  removexattr(node: V | BoundFile, name: string): void {
    if (node instanceof BoundFile) node.volume.removeXattr(node.inode, name);
    else this.inner.removexattr(node, name);
  }
}
