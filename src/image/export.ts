/**
 * `docker export` of a container's mounted view, and the tar of a plain layer tree, as Docker's pkg/archive
 * (`TarWithOptions`) writes them: every entry below the root and not the root itself, names relative to it with no
 * `./` prefix and a trailing `/` on directories (`bin/`, `bin/busybox`), in `filepath.Walk` order (names sorted
 * bytewise, each directory before its contents), a name whose inode has other links written once in full and then as
 * hard-link members naming that first name, sockets skipped (Docker logs "skipping ... since it is a socket").
 */
import type { FileContent } from '../fs/content.js';
import type { Inode } from '../fs/inode.js';
import type { Volume } from '../fs/volume.js';
import type { Mount } from '../vfs/mount.js';
import { tarChunks, writeTar } from './tar-write.js';
import type { ArchiveEntry } from './tree.js';

/**
 * `mtime: 'exact'` (the default) keeps the simulator's fractional times (pax `mtime` records), so a tree read back has
 * the same times; `'seconds'` truncates them as Docker does (`hdr.ModTime.Truncate(time.Second)`, no atime or ctime).
 */
export interface ExportOptions {
  readonly mtime?: 'exact' | 'seconds';
}

/** What the export needs of a tree: a mounted view and a plain Volume both give it. */
interface TreeView<N> {
  readonly root: N;
  names(dir: N): string[];
  child(dir: N, name: string): N | undefined;
  inode(node: N): Inode;
  /** st_ino and st_nlink as stat(2) reports them, which is what Docker's hard-link detection reads. */
  ino(node: N): number;
  nlink(node: N): number;
  content(node: N): FileContent;
  xattrs(node: N): ReadonlyMap<string, Uint8Array> | undefined;
}

/** Go compares strings bytewise; `filepath.Walk` lists each directory in that order (`sort.Strings`). */
function byteOrder(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

function mountView<V extends object>(mount: Mount<V>): TreeView<V> {
  return {
    root: mount.root,
    names: dir => mount.readdir(dir),
    child: (dir, name) => mount.lookup(dir, name),
    inode: node => mount.inode(node),
    ino: node => mount.ino?.(node) ?? mount.inode(node).ino,
    nlink: node => mount.nlink?.(node) ?? mount.inode(node).nlink,
    content: node => mount.content(node),
    xattrs: node => mount.xattrs(node),
  };
}

/** A Volume read directly, not through a mount: no lookups are charged to its meter. */
function volumeView(volume: Volume): TreeView<Inode> {
  return {
    root: volume.root,
    names: dir => [...dir.entries!.keys()],
    child: (dir, name) => dir.entries!.get(name),
    inode: node => node,
    ino: node => node.ino,
    nlink: node => node.nlink,
    content: node => node.content!,
    xattrs: node => node.xattrs,
  };
}

/** Every node below the root as [relative path, node], each directory before its contents, names in byte order. */
function* walkView<N>(view: TreeView<N>, dir: N, prefix: string): Generator<[string, N]> {
  for (const name of view.names(dir).sort(byteOrder)) {
    const node = view.child(dir, name);
    if (node === undefined) continue;
    const path = `${prefix}${name}`;
    yield [path, node];
    if (view.inode(node).kind === 'dir') yield* walkView(view, node, `${path}/`);
  }
}

/** The archive entries of a tree, in the order Docker writes them. */
function* viewEntries<N>(view: TreeView<N>, opts: ExportOptions): Generator<ArchiveEntry> {
  // pkg/archive's `SeenFiles`: inode number -> the first name written for it
  const firstNames = new Map<number, string>();
  for (const [path, node] of walkView(view, view.root, '')) {
    const inode = view.inode(node);
    if (inode.kind === 'sock') continue;
    const xattrs = view.xattrs(node);
    const base = {
      mode: inode.mode & 0o7777,
      uid: inode.uid,
      gid: inode.gid,
      mtime: opts.mtime === 'seconds' ? Math.floor(inode.mtime) : inode.mtime,
      xattrs: xattrs !== undefined && xattrs.size > 0 ? xattrs : undefined,
    };
    if (inode.kind === 'dir') {
      yield { ...base, name: `${path}/`, kind: 'dir' };
      continue;
    }
    // Docker looks for other names only when st_nlink > 1 (`hasHardlinks`), so a broken overlay hard link, which
    // still reports its lower inode number, is written as the separate file it has become
    if (view.nlink(node) > 1) {
      const ino = view.ino(node);
      const first = firstNames.get(ino);
      if (first !== undefined) {
        yield { ...base, name: path, kind: 'hardlink', target: first };
        continue;
      }
      firstNames.set(ino, path);
    }
    switch (inode.kind) {
      case 'file':
        yield { ...base, name: path, kind: 'file', content: view.content(node) };
        break;
      case 'symlink':
        yield { ...base, name: path, kind: 'symlink', target: inode.target ?? '' };
        break;
      case 'chr':
      case 'blk':
        yield { ...base, name: path, kind: inode.kind, rdev: inode.rdev };
        break;
      case 'fifo':
        yield { ...base, name: path, kind: 'fifo' };
        break;
    }
  }
}

/** The entries `exportTree` writes, for callers that stream them (`tarChunks`) or inspect them. */
export function exportTreeEntries<V extends object>(mount: Mount<V>, opts: ExportOptions = {}): Iterable<ArchiveEntry> {
  return viewEntries(mountView(mount), opts);
}

/** The entries `exportVolume` writes. */
export function exportVolumeEntries(volume: Volume, opts: ExportOptions = {}): Iterable<ArchiveEntry> {
  return viewEntries(volumeView(volume), opts);
}

/**
 * `docker export`: the root filesystem tar of a mounted view (a container's root: whiteouts and the driver's private
 * xattrs are already hidden by the mount). It walks the view through `lookup`, so a union mount charges its lookups
 * to its meter as the real walk would cost them.
 */
export function exportTree<V extends object>(mount: Mount<V>, opts: ExportOptions = {}): Uint8Array {
  return writeTar(exportTreeEntries(mount, opts));
}

/**
 * The tar of a plain Volume as it stands, e.g. an OCI layer tree (whiteouts are the empty `.wh.` files they are in
 * the tree): what `docker save` stores as a `layer.tar`. The volume's meter is not charged.
 */
export function exportVolume(volume: Volume, opts: ExportOptions = {}): Uint8Array {
  return writeTar(exportVolumeEntries(volume, opts));
}

/** `exportTree` as chunks, for writing a large export out without one buffer holding it all. */
export function exportTreeChunks<V extends object>(mount: Mount<V>, opts: ExportOptions = {}): Iterable<Uint8Array> {
  return tarChunks(exportTreeEntries(mount, opts));
}
