import type { FileContent } from '../fs/content.js';
import type { Inode } from '../fs/inode.js';
import type { Volume } from '../fs/volume.js';

/** Copies one inode's attributes and payload into a new, unlinked inode of `dst` (cp -a of a single object). */
export function copyInode(dst: Volume, src: Inode, copyContent: (c: FileContent) => FileContent = c => c.clone()): Inode {
  const inode = dst.newInode(src.kind, {
    mode: src.mode,
    uid: src.uid,
    gid: src.gid,
    rdev: src.rdev,
    ...(src.target !== undefined ? { target: src.target } : {}),
    ...(src.content !== undefined ? { content: copyContent(src.content) } : {}),
  });
  copyMetadata(dst, src, inode);
  return inode;
}

/** Times and xattrs of `src` onto `dst` (what `cp -a` and tar extraction preserve). */
export function copyMetadata(volume: Volume, src: Inode, dst: Inode): void {
  dst.mode = src.mode;
  dst.uid = src.uid;
  dst.gid = src.gid;
  if (src.xattrs) for (const [k, v] of src.xattrs) volume.setXattr(dst, k, v);
  dst.atime = src.atime;
  dst.mtime = src.mtime;
}

/**
 * `cp -a SRC/. DST/`: every entry of `src` below `srcDir` recreated in `dst` below `dstDir`, hard links kept together.
 * This is what Docker's vfs driver does for each new layer.
 */
export function copyTree(src: Volume, dst: Volume, srcDir: Inode = src.root, dstDir: Inode = dst.root): void {
  copyMetadata(dst, srcDir, dstDir);
  const copied = new Map<Inode, Inode>();
  const walk = (from: Inode, to: Inode): void => {
    for (const [name, child] of from.entries!) {
      const seen = copied.get(child);
      if (seen !== undefined) {
        dst.addEntry(to, name, seen);
        continue;
      }
      const made = copyInode(dst, child);
      dst.addEntry(to, name, made, true);
      if (child.kind === 'dir') walk(child, made);
      else if (child.nlink > 1) copied.set(child, made);
      made.mtime = child.mtime;
    }
  };
  walk(srcDir, dstDir);
  dstDir.mtime = srcDir.mtime;
}

/** Removes `name` from `dir` and, for a directory, everything below it (rm -rf). */
export function removeTree(volume: Volume, dir: Inode, name: string): void {
  const inode = dir.entries!.get(name);
  if (inode === undefined) return;
  if (inode.kind === 'dir') for (const child of [...inode.entries!.keys()]) removeTree(volume, inode, child);
  volume.removeEntry(dir, name);
}
