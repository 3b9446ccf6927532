import type { DataSlice, FileContent } from '../fs/content.js';
import type { CostMeter } from '../fs/cost.js';
import type { FileKind, Inode } from '../fs/inode.js';

/** Attribute changes of setattr (chmod, chown, utimes). */
export interface AttrChange {
  mode?: number;
  uid?: number;
  gid?: number;
  atime?: number;
  mtime?: number;
}

/** What a new object looks like when the VFS asks the filesystem to create it. */
export interface CreateSpec {
  kind: FileKind;
  mode: number;
  uid: number;
  gid: number;
  target?: string;
  rdev?: number;
}

/** Why a regular file is being opened, for filesystems that act on open (overlayfs copy-up). */
export interface OpenIntent {
  write: boolean;
  truncate: boolean;
}

/**
 * A mounted filesystem as the VFS sees it: the inode operations of one container's root (struct inode_operations and
 * file_operations, reduced to what traces need). `V` is the filesystem's own node type (a plain inode, an overlay
 * dentry). The generic rules every Linux filesystem shares — path walk, symlinks, trailing slashes, permissions,
 * open flags, errno order — live in the VFS (`Syscalls`), so a model implements only what its mechanism decides:
 * where a name is found, what a change writes, and the errors only it raises (EXDEV, ENOTEMPTY, ENOSPC).
 *
 * Mutating calls may throw `FsError` (from `fail()`); they run after the VFS has checked existence, types and
 * permissions, in the kernel's order.
 */
export interface Mount<V extends object> {
  readonly root: V;
  /**
   * A counter the filesystem moves whenever a name it resolved before may now resolve to another node, or (for a
   * mount without `lookupCost`) its lookup may now charge another number of probes, by a change the VFS does not see as
   * such (overlayfs copy-up moving where a directory is found). With `meter`, it lets the VFS remember directory walks;
   * without it, every walk is cold.
   */
  readonly generation?: number;
  /**
   * What a lookup that finds this node charges now. With it, a remembered walk charges the current cost of each of
   * its directories, so a change of cost alone (a copy-up) need not move `generation`.
   */
  lookupCost?(node: V): number;
  /** The meter `lookup` charges. */
  readonly meter?: CostMeter;
  /** The inode whose attributes and payload this node presents (stat, permission checks, reads). */
  inode(node: V): Inode;
  /** st_ino when it is not the inode's own number (overlayfs keeps the lower number across copy-up). */
  ino?(node: V): number;
  /** st_nlink when it is not the inode's own count (overlayfs reports 1 for a merged directory). */
  nlink?(node: V): number;
  /** Looks up `name` (never "." or "..") in a directory; undefined when absent. Charges lookups to the meter. */
  lookup(dir: V, name: string): V | undefined;
  /** The names in a directory (no "." or ".."), in the filesystem's order. */
  readdir(dir: V): string[];
  /** Whether two nodes are the same inode (rename(2) of a name onto a hard link of itself is a no-op). */
  sameInode(a: V, b: V): boolean;
  /** The extended attributes the node shows (overlayfs hides its own trusted.overlay.* names). */
  xattrs(node: V): ReadonlyMap<string, Uint8Array> | undefined;

  create(dir: V, name: string, spec: CreateSpec): V;
  link(node: V, dir: V, name: string): void;
  unlink(dir: V, name: string, node: V): void;
  /** Removes an empty directory; the filesystem decides emptiness (ENOTEMPTY). */
  rmdir(dir: V, name: string, node: V): void;
  /** rename(2) after the VFS checks; `target` is the node being replaced, if any. */
  rename(oldDir: V, oldName: string, node: V, newDir: V, newName: string, target: V | undefined): void;
  /** Called before a regular file is opened (overlayfs copies up here when the open writes or truncates). */
  open(node: V, intent: OpenIntent): void;
  /** A read of the node's data or entries (atime policy: relatime writes the inode back). */
  accessed?(node: V): void;
  /** A regular file's data (a metadata-only copy-up still has its data in the lower file). */
  content(node: V): FileContent;
  write(node: V, offset: number, slice: DataSlice): void;
  truncate(node: V, size: number): void;
  setattr(node: V, change: AttrChange): void;
  setxattr(node: V, name: string, value: Uint8Array): void;
  removexattr(node: V, name: string): void;
}
