import type { Inode } from '../fs/inode.js';
import type { Volume } from '../fs/volume.js';
import { copyInode, copyMetadata, removeTree } from './copy-tree.js';

/** OCI image-spec layer.md: the whiteout prefix, and the opaque marker hiding all lower children of its directory. */
export const WHITEOUT_PREFIX = '.wh.';
export const OPAQUE_MARKER = '.wh..wh..opq';
/** Docker's archive skips `.wh..wh.*` meta entries on apply (pkg/archive/diff.go), except the opaque marker. */
export const AUFS_META_PREFIX = '.wh..wh.';

/** How a layer's whiteouts land in the target: removals (a plain tree) or the driver's own markers (a union branch). */
export interface WhiteoutSink {
  /** `.wh.<name>` in `dir`. */
  whiteout(volume: Volume, dir: Inode, name: string): void;
  /** `.wh..wh..opq` in `dir`: lower children of `dir` are hidden. */
  opaque(volume: Volume, dir: Inode): void;
}

/** Applying to a flattened tree (vfs, block drivers): a whiteout removes the entry, an opaque marker empties the dir. */
export const REMOVE_ON_WHITEOUT: WhiteoutSink = {
  whiteout: (volume, dir, name) => removeTree(volume, dir, name),
  opaque: (volume, dir) => {
    for (const name of [...dir.entries!.keys()]) removeTree(volume, dir, name);
  },
};

/**
 * ApplyDiff: writes a layer tree in OCI form (as read from a layer tar) into `target`. Per directory the opaque marker
 * is handled first, then whiteouts, then entries — entries of the same layer are never hidden by its own markers.
 * An entry replaces a differing one; a directory over a directory keeps the contents and takes the new attributes.
 */
export function applyOciLayer(diff: Volume, target: Volume, sink: WhiteoutSink): void {
  const linked = new Map<Inode, Inode>();
  const walk = (from: Inode, to: Inode): void => {
    const names = [...from.entries!.keys()];
    if (names.includes(OPAQUE_MARKER)) sink.opaque(target, to);
    for (const name of names) {
      if (name === OPAQUE_MARKER || name.startsWith(AUFS_META_PREFIX)) continue;
      if (name.startsWith(WHITEOUT_PREFIX)) sink.whiteout(target, to, name.slice(WHITEOUT_PREFIX.length));
    }
    for (const name of names) {
      if (name.startsWith(WHITEOUT_PREFIX)) continue;
      const child = from.entries!.get(name)!;
      const existing = to.entries!.get(name);
      if (child.kind === 'dir' && existing?.kind === 'dir') {
        copyMetadata(target, child, existing);
        walk(child, existing);
        existing.mtime = child.mtime;
        continue;
      }
      if (existing !== undefined) removeTree(target, to, name);
      const seen = linked.get(child);
      if (seen !== undefined) {
        target.addEntry(to, name, seen);
        continue;
      }
      const made = copyInode(target, child);
      target.addEntry(to, name, made, true);
      if (child.kind === 'dir') walk(child, made);
      else if (child.nlink > 1) linked.set(child, made);
      made.mtime = child.mtime;
    }
  };
  walk(diff.root, target.root);
}
