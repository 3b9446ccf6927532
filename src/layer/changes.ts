import type { Inode } from '../fs/inode.js';
import { Volume } from '../fs/volume.js';
import type { Mount } from '../vfs/mount.js';
import { copyInode } from './copy-tree.js';
import { OPAQUE_MARKER, WHITEOUT_PREFIX } from './apply-oci.js';

/** A change between a layer and its parent, as Docker's archive.ChangesDirs reports it. */
export interface Change {
  readonly path: string;
  readonly kind: 'add' | 'modify' | 'delete';
}

/**
 * statDifferent() (pkg/archive/changes_unix.go): mode, owner, rdev, mtime, and size for non-directories. Inode numbers
 * and ctime are ignored: they change whenever a file is copied into a container.
 */
function statDifferent(a: Inode, b: Inode): boolean {
  return (
    a.kind !== b.kind ||
    a.mode !== b.mode ||
    a.uid !== b.uid ||
    a.gid !== b.gid ||
    a.rdev !== b.rdev ||
    (a.kind !== 'dir' && a.size !== b.size) ||
    a.mtime !== b.mtime ||
    !sameBytes(a.xattrs?.get('security.capability'), b.xattrs?.get('security.capability'))
  );
}

function sameBytes(a: Uint8Array | undefined, b: Uint8Array | undefined): boolean {
  if (a === undefined || b === undefined) return a === b;
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

/**
 * ChangesDirs(layer, parent): walks both mounted views. A name only in the layer is an add (and everything below
 * it), only in the parent a delete (one entry, not its children), in both but with a different stat a modify; a
 * directory holding any change is itself reported as modified, before its children — except `/`.
 */
export function changesBetween<L extends object, P extends object>(layer: Mount<L>, parent: Mount<P>): Change[] {
  const changes: Change[] = [];
  const walk = (dir: L, old: P | undefined, path: string): void => {
    const oldNames = new Set(old !== undefined && parent.inode(old).kind === 'dir' ? parent.readdir(old) : []);
    for (const name of layer.readdir(dir).sort()) {
      const child = layer.lookup(dir, name)!;
      const childPath = `${path}/${name}`;
      const oldChild = oldNames.has(name) ? parent.lookup(old!, name) : undefined;
      oldNames.delete(name);
      const at = changes.length;
      let childAdded = false;
      if (oldChild === undefined) {
        changes.push({ path: childPath, kind: 'add' });
        childAdded = true;
      } else if (statDifferent(parent.inode(oldChild), layer.inode(child))) {
        changes.push({ path: childPath, kind: 'modify' });
        childAdded = true;
      }
      if (layer.inode(child).kind === 'dir') {
        walk(child, oldChild, childPath);
        if (changes.length > at && !childAdded) changes.splice(at, 0, { path: childPath, kind: 'modify' });
      }
    }
    for (const name of [...oldNames].sort()) changes.push({ path: `${path}/${name}`, kind: 'delete' });
  };
  walk(layer.root, parent.root, '');
  return changes;
}

/**
 * ExportChanges(): the layer tree (OCI form) holding the changes: added and modified entries whole (a directory as
 * itself, not its contents unless they changed), deletions as `.wh.<name>` whiteouts.
 */
export function layerFromChanges<L extends object>(layer: Mount<L>, changes: readonly Change[], into: Volume = new Volume()): Volume {
  const copies = new Map<Inode, Inode>();
  const dirAt = (path: string): Inode => {
    let d = into.root;
    let node: L = layer.root;
    for (const name of path.split('/').filter(p => p !== '')) {
      node = layer.lookup(node, name)!;
      d = d.entries!.get(name) ?? into.createChild(d, name, 'dir', layer.inode(node));
    }
    return d;
  };
  for (const change of changes) {
    const slash = change.path.lastIndexOf('/');
    const dir = dirAt(change.path.slice(0, slash));
    const name = change.path.slice(slash + 1);
    if (change.kind === 'delete') {
      into.createChild(dir, WHITEOUT_PREFIX + name, 'file', { mode: 0o600, uid: 0, gid: 0 });
      continue;
    }
    const node = nodeAt(layer, change.path);
    const inode = layer.inode(node);
    const existing = dir.entries!.get(name);
    if (existing !== undefined) {
      existing.mode = inode.mode;
      existing.uid = inode.uid;
      existing.gid = inode.gid;
      existing.mtime = inode.mtime;
      continue;
    }
    // hard links inside the change set stay one inode (the tar writer emits link entries for them)
    const seen = copies.get(inode);
    if (seen !== undefined && inode.kind !== 'dir') {
      into.addEntry(dir, name, seen);
      continue;
    }
    const made = copyInode(into, inode, () => layer.content(node).clone());
    const xattrs = layer.xattrs(node);
    made.xattrs = undefined;
    if (xattrs) for (const [k, v] of xattrs) into.setXattr(made, k, v);
    made.mtime = inode.mtime;
    into.addEntry(dir, name, made, true);
    if (inode.kind !== 'dir') copies.set(inode, made);
  }
  return into;
}

/** The node a change's path names in the layer's view (every change names an entry the walk found there). */
function nodeAt<L extends object>(layer: Mount<L>, path: string): L {
  let node: L = layer.root;
  for (const name of path.split('/')) if (name !== '') node = layer.lookup(node, name)!;
  return node;
}

/**
 * archive.ChangesSize(layerFs, changes), what NaiveDiffDriver.DiffSize returns (`docker ps -s` SIZE, ApplyDiff's
 * size): the apparent size of the added and modified non-directories, a hard-linked inode counted once.
 */
export function changesSize<L extends object>(layer: Mount<L>, changes: readonly Change[]): number {
  let size = 0;
  const seen = new Set<number>();
  for (const c of changes) {
    if (c.kind === 'delete') continue;
    const inode = layer.inode(nodeAt(layer, c.path));
    if (inode.kind === 'dir' || seen.has(inode.ino)) continue;
    seen.add(inode.ino);
    size += inode.size;
  }
  return size;
}

/** pkg/directory `Size()`: the non-directories with st_size > 0 below `dir`, apparent sizes, each inode once. */
export function directorySize(volume: Volume): number {
  const seen = new Set<number>();
  let size = 0;
  for (const [, inode] of volume.walk()) {
    if (inode.kind === 'dir') continue;
    const s = inode.size;
    if (s === 0 || seen.has(inode.ino)) continue;
    seen.add(inode.ino);
    size += s;
  }
  return size;
}

export { OPAQUE_MARKER };
