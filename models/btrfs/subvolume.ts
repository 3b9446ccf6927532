import type { Inode } from '../../src/fs/inode.js';
import type { Volume, VolumeObserver } from '../../src/fs/volume.js';
import { nameBytes, nameHash } from './crc32c.js';
import { cmpKey, extentItem, holeItem, inlineItem, item, namedItem, type BtrfsFs, type Item, type Key, type Root } from './fs.js';
import { CONSTANTS, KEY, ON_DISK } from './params.js';

const MAX = Number.MAX_SAFE_INTEGER;

/**
 * One subvolume's fs tree, kept by listening to its Volume: inode items (written back at commit, as the delayed-inode
 * code does), inode refs, dir items and dir index items, xattr items, and file extent items — inline for small files,
 * otherwise pointing into data extents allocated at writeback (delalloc), with bookend splitting on overwrite.
 */
export class Subvol implements VolumeObserver {
  volume!: Volume;
  private readonly dirtyInodes = new Set<Inode>();
  /** The inode `inodeDirtied` last added to `dirtyInodes` while it is still there. */
  private lastDirtied: Inode | undefined;
  /** Dirty page ranges not yet written back, per inode (delalloc). */
  private readonly delalloc = new Map<Inode, [number, number][]>();
  /** When each inode was first dirtied since its last writeback (the flusher's dirtied_when). */
  private readonly dirtiedAt = new Map<Inode, number>();
  /** The clock the flusher ages dirty data by. */
  now: () => number = () => 0;
  private readonly nextIndex = new Map<number, number>();
  /**
   * Per directory, each name's DIR_INDEX offset (the first in key order if a name has several items, which a
   * consistent tree never has: such names are `repeated`, searched for again after each removal). Read from the tree
   * the first time a name of that directory is removed, then kept with the items.
   */
  private readonly dirIndexes = new Map<number, { readonly index: Map<string, number>; readonly repeated: Set<string> }>();
  removed = false;
  /** An init layer: the container id Docker 1.3 names its containers/<id>/ directory after. */
  container: string | undefined;
  /** A new image layer whose StoreImage has not finished (Docker 1.3 graph.Register): Puts seen so far. */
  registering: { readonly tmp: string; readonly parent: string | undefined } | undefined;
  /** File data written into this subvolume (the ChangesSize of a freshly applied layer). */
  writtenBytes = 0;
  /**
   * The volume's apparent size as the store last read it, and whether a change (an inode made or freed, data written
   * or truncated) may have moved it since: the store re-reads only those, not every subvolume on every reading.
   */
  apparentSeen = 0;
  sizeStale = true;
  onSizeStale: ((sv: Subvol) => void) | undefined;

  constructor(
    readonly fs: BtrfsFs,
    readonly root: Root,
    readonly name: string,
  ) {}

  get id(): number {
    return this.root.id;
  }

  /** Tree levels a name lookup visits (root to leaf). */
  get height(): number {
    return this.root.node.level + 1;
  }

  private get sector(): number {
    return this.fs.config.sectorsize;
  }

  // ---------------------------------------------------------------- VolumeObserver

  private sizeChanged(): void {
    if (this.sizeStale) return;
    this.sizeStale = true;
    this.onSizeStale?.(this);
  }

  inodeAllocated(inode: Inode): void {
    this.sizeChanged();
    this.fs.insertItem(this.root, item([inode.ino, KEY.INODE_ITEM, 0], ON_DISK.inodeItemBytes));
    if (inode.kind === 'symlink') {
      // a symlink's target is always an inline extent (btrfs_symlink)
      const n = nameBytes(inode.target!);
      this.fs.insertItem(this.root, inlineItem([inode.ino, KEY.EXTENT_DATA, 0], ON_DISK.inlineExtentHeaderBytes + n, n));
    }
  }

  inodeDirtied(inode: Inode): void {
    // one syscall dirties the same inode several times (size, times, link count): the repeat finds it already there
    if (inode === this.lastDirtied) return;
    this.dirtyInodes.add(inode);
    this.lastDirtied = inode;
  }

  inodeFreed(inode: Inode): void {
    this.sizeChanged();
    this.dirtyInodes.delete(inode);
    if (this.lastDirtied === inode) this.lastDirtied = undefined;
    this.delalloc.delete(inode);
    this.dirtiedAt.delete(inode);
    this.dirIndexes.delete(inode.ino);
    for (const it of this.fs.range(this.root, [inode.ino, 0, 0], [inode.ino, 255, MAX])) this.fs.deleteItem(this.root, it.key);
  }

  entryAdded(dir: Inode, name: string, inode: Inode): void {
    const n = nameBytes(name);
    const index = this.allocIndex(dir.ino);
    this.addName(this.root, [inode.ino, KEY.INODE_REF, dir.ino], name, ON_DISK.inodeRefBytes + n);
    this.addName(this.root, [dir.ino, KEY.DIR_ITEM, nameHash(name)], name, ON_DISK.dirItemBytes + n);
    this.addIndex(dir.ino, index, name, ON_DISK.dirItemBytes + n);
  }

  entryRemoved(dir: Inode, name: string, inode: Inode): void {
    const n = nameBytes(name);
    this.removeIndex(dir.ino, name);
    this.removeName(this.root, [dir.ino, KEY.DIR_ITEM, nameHash(name)], name, ON_DISK.dirItemBytes + n);
    this.removeName(this.root, [inode.ino, KEY.INODE_REF, dir.ino], name, ON_DISK.inodeRefBytes + n);
  }

  dataWritten(inode: Inode, offset: number, length: number): void {
    if (length <= 0) return;
    this.sizeChanged();
    this.writtenBytes += length;
    const list = this.delalloc.get(inode);
    if (list !== undefined) {
      // the ranges only ever count as their union (writeback merges them into pages): a write overlapping or touching
      // the last one widens it instead of adding another range that lives until writeback
      const last = list[list.length - 1]!;
      const end = offset + length;
      if (offset <= last[1] && end >= last[0]) {
        if (offset < last[0]) last[0] = offset;
        if (end > last[1]) last[1] = end;
      } else list.push([offset, end]);
      return;
    }
    // an inode has dirtiedAt exactly while it has delalloc ranges
    this.delalloc.set(inode, [[offset, offset + length]]);
    this.dirtiedAt.set(inode, this.now());
  }

  dataTruncated(inode: Inode, newSize: number, oldSize: number): void {
    this.sizeChanged();
    const list = this.delalloc.get(inode);
    if (list !== undefined) {
      const kept = list.filter(r => r[0] < newSize).map(([s, e]) => [s, Math.min(e, newSize)] as [number, number]);
      if (kept.length > 0) this.delalloc.set(inode, kept);
      else {
        this.delalloc.delete(inode);
        this.dirtiedAt.delete(inode);
      }
    }
    if (newSize < oldSize) {
      // btrfs_truncate_inode_items: items past the new end go; one straddling it is trimmed (its extent stays whole)
      const { item: inline, path } = this.fs.lookup(this.root, [inode.ino, KEY.EXTENT_DATA, 0]);
      if (inline?.inline !== undefined) {
        if (newSize === 0) this.fs.deleteItem(this.root, inline.key, path);
        else this.fs.updateItem(this.root, inlineItem(inline.key, ON_DISK.inlineExtentHeaderBytes + Math.min(newSize, inline.inline), Math.min(newSize, inline.inline)), path);
        return;
      }
      this.dropExtents(inode.ino, this.alignUp(newSize), MAX);
    } else if (newSize > oldSize && !this.fs.config.noHoles) {
      // btrfs_cont_expand: without no-holes the new range gets an explicit hole item
      const start = this.alignUp(oldSize);
      const end = this.alignUp(newSize);
      if (end > start) this.insertHole(inode.ino, start, end);
    }
  }

  xattrsChanged(inode: Inode): void {
    for (const it of this.fs.range(this.root, [inode.ino, KEY.XATTR_ITEM, 0], [inode.ino, KEY.XATTR_ITEM, MAX])) this.fs.deleteItem(this.root, it.key);
    for (const [name, value] of inode.xattrs ?? []) {
      this.addName(this.root, [inode.ino, KEY.XATTR_ITEM, nameHash(name)], name, ON_DISK.dirItemBytes + nameBytes(name) + value.length);
    }
  }

  // ---------------------------------------------------------------- names

  /** The next dir index of a directory (btrfs_set_inode_index: one past the highest DIR_INDEX in the tree). */
  private allocIndex(dirIno: number): number {
    let next = this.nextIndex.get(dirIno);
    if (next === undefined) {
      next = CONSTANTS.dirStartIndex;
      for (const it of this.dirIndexItems(dirIno, 0)) next = Math.max(next, it.key[2] + 1);
    }
    this.nextIndex.set(dirIno, next + 1);
    return next;
  }

  /** A directory's DIR_INDEX item for `name` at offset `index`. */
  private addIndex(dirIno: number, index: number, name: string, bytes: number): void {
    this.fs.insertItem(this.root, namedItem([dirIno, KEY.DIR_INDEX, index], bytes, [name]));
    const names = this.dirIndexes.get(dirIno);
    if (names === undefined) return;
    if (names.index.has(name)) names.repeated.add(name);
    else names.index.set(name, index);
  }

  /** Deletes the directory's first DIR_INDEX item (in key order) for `name`, if there is one. */
  private removeIndex(dirIno: number, name: string): void {
    let names = this.dirIndexes.get(dirIno);
    if (names === undefined) {
      names = { index: new Map(), repeated: new Set() };
      for (const it of this.dirIndexItems(dirIno, 0)) {
        const first = it.names?.[0];
        if (first === undefined) continue;
        if (names.index.has(first)) names.repeated.add(first);
        else names.index.set(first, it.key[2]);
      }
      this.dirIndexes.set(dirIno, names);
    }
    const index = names.index.get(name);
    if (index === undefined) return;
    names.index.delete(name);
    this.fs.deleteItem(this.root, [dirIno, KEY.DIR_INDEX, index]);
    if (!names.repeated.has(name)) return;
    names.repeated.delete(name);
    let seen = false;
    for (const it of this.dirIndexItems(dirIno, index)) {
      if (it.names?.[0] !== name) continue;
      if (seen) {
        names.repeated.add(name);
        break;
      }
      names.index.set(name, it.key[2]);
      seen = true;
    }
  }

  private dirIndexItems(dirIno: number, from: number): Item[] {
    return this.fs.range(this.root, [dirIno, KEY.DIR_INDEX, from], [dirIno, KEY.DIR_INDEX, MAX]);
  }

  /** Adds a name to an item that may hold several (hash collisions in DIR_ITEM, hard links in one dir in INODE_REF). */
  addName(root: Root, key: Key, name: string, bytes: number): void {
    const { item: cur, path } = this.fs.lookup(root, key);
    if (cur === undefined) this.fs.insertItem(root, namedItem(key, bytes, [name]), path);
    else this.fs.updateItem(root, namedItem(key, cur.size + bytes, [...(cur.names ?? []), name]), path);
  }

  removeName(root: Root, key: Key, name: string, bytes: number): void {
    const { item: cur, path } = this.fs.lookup(root, key);
    if (cur === undefined) return;
    const names = [...(cur.names ?? [])];
    const i = names.indexOf(name);
    if (i >= 0) names.splice(i, 1);
    if (names.length === 0) this.fs.deleteItem(root, key, path);
    else this.fs.updateItem(root, namedItem(key, cur.size - bytes, names), path);
  }

  /** A subvolume's entry in this tree's directory `dir` (btrfs_insert_dir_item with a ROOT_ITEM location; no inode ref). */
  linkSubvolume(dir: Inode, name: string): void {
    const n = nameBytes(name);
    this.addName(this.root, [dir.ino, KEY.DIR_ITEM, nameHash(name)], name, ON_DISK.dirItemBytes + n);
    this.addIndex(dir.ino, this.allocIndex(dir.ino), name, ON_DISK.dirItemBytes + n);
    this.dirtyInodes.add(dir);
  }

  unlinkSubvolume(dir: Inode, name: string): void {
    this.removeIndex(dir.ino, name);
    this.removeName(this.root, [dir.ino, KEY.DIR_ITEM, nameHash(name)], name, ON_DISK.dirItemBytes + nameBytes(name));
    this.dirtyInodes.add(dir);
  }

  // ---------------------------------------------------------------- commit and writeback

  /** btrfs_run_delayed_items: the inode items of inodes changed in this transaction are written. */
  flushInodes(): void {
    // every commit asks every subvolume: most have nothing
    if (this.dirtyInodes.size === 0) {
      this.lastDirtied = undefined;
      return;
    }
    for (const inode of this.dirtyInodes) this.fs.updateItem(this.root, item([inode.ino, KEY.INODE_ITEM, 0], ON_DISK.inodeItemBytes));
    this.dirtyInodes.clear();
    this.lastDirtied = undefined;
  }

  get hasDirtyData(): boolean {
    return this.delalloc.size > 0;
  }

  /** Writeback (sync, or the flush before a snapshot): dirty ranges become inline extents or new data extents. */
  writeback(olderThan = Number.POSITIVE_INFINITY): void {
    if (this.delalloc.size === 0) return;
    for (const [inode, ranges] of [...this.delalloc]) {
      if (this.dirtiedAt.get(inode)! > olderThan) continue;
      this.delalloc.delete(inode);
      this.dirtiedAt.delete(inode);
      this.writebackInode(inode, ranges);
    }
  }

  private alignUp(n: number): number {
    return Math.ceil(n / this.sector) * this.sector;
  }

  private writebackInode(inode: Inode, ranges: [number, number][]): void {
    const size = inode.content?.size ?? 0;
    const sector = this.sector;
    // pages: dirty ranges widen to whole sectors, never past the last page of the file
    const pages = mergeRanges(ranges.map(([s, e]) => [Math.floor(s / sector) * sector, Math.min(this.alignUp(e), this.alignUp(size))] as [number, number]).filter(([s, e]) => e > s));
    if (pages.length === 0) return;
    // cow_file_range_inline: the whole file from offset 0, under one sector and within max_inline
    const inlineMax = Math.min(this.fs.config.maxInline, sector - 1);
    if (pages[0]![0] === 0 && size > 0 && size <= inlineMax && size % sector !== 0) {
      this.dropExtents(inode.ino, 0, MAX);
      this.fs.insertItem(this.root, inlineItem([inode.ino, KEY.EXTENT_DATA, 0], ON_DISK.inlineExtentHeaderBytes + size, size));
      this.dirtyInodes.add(inode);
      return;
    }
    // data already inline is rewritten as a regular extent once the file outgrows it
    const inline = this.fs.find(this.root, [inode.ino, KEY.EXTENT_DATA, 0]);
    if (inline?.inline !== undefined) pages.unshift([0, sector]);
    for (const [s, e] of mergeRanges(pages)) {
      if (!this.fs.config.noHoles) this.fillHoleBefore(inode.ino, s);
      this.dropExtents(inode.ino, s, e);
      for (let at = s; at < e; at += CONSTANTS.maxExtentBytes) {
        const len = Math.min(CONSTANTS.maxExtentBytes, e - at);
        const bytenr = this.fs.allocData(len);
        this.fs.insertItem(this.root, extentItem([inode.ino, KEY.EXTENT_DATA, at], ON_DISK.fileExtentBytes, { bytenr, diskBytes: len, extOffset: 0, numBytes: len }));
      }
    }
    this.dirtyInodes.add(inode);
  }

  private extentItems(ino: number, end: number): Item[] {
    return [...this.fs.range(this.root, [ino, KEY.EXTENT_DATA, 0], [ino, KEY.EXTENT_DATA, end])];
  }

  private itemEnd(it: Item): number {
    return it.key[2] + (it.fe?.numBytes ?? it.hole ?? this.alignUp(it.inline ?? 0));
  }

  private insertHole(ino: number, start: number, end: number): void {
    this.fs.insertItem(this.root, holeItem([ino, KEY.EXTENT_DATA, start], ON_DISK.fileExtentBytes, end - start));
  }

  /** Without no-holes, a write past the last extent records the gap as a hole item. */
  private fillHoleBefore(ino: number, start: number): void {
    if (start === 0) return;
    let end = 0;
    for (const it of this.extentItems(ino, start - 1)) end = Math.max(end, this.itemEnd(it));
    if (end < start) this.insertHole(ino, end, start);
  }

  /**
   * btrfs_drop_extents over [s, e): items inside go (their extent loses a reference), an item straddling one edge is
   * trimmed, an item spanning the whole range is split in two — both halves keep referencing the whole old extent
   * (a bookend), so it stays allocated until neither is left.
   */
  dropExtents(ino: number, s: number, e: number): void {
    for (const it of this.extentItems(ino, e - 1)) {
      const start = it.key[2];
      const end = this.itemEnd(it);
      if (end <= s) continue;
      if (it.inline !== undefined || (start >= s && end <= e)) {
        this.fs.deleteItem(this.root, it.key);
        continue;
      }
      const piece = (from: number, to: number): Item => {
        const key: Key = [ino, KEY.EXTENT_DATA, from];
        if (it.fe !== undefined) return extentItem(key, ON_DISK.fileExtentBytes, { ...it.fe, extOffset: it.fe.extOffset + (from - start), numBytes: to - from });
        return holeItem(key, ON_DISK.fileExtentBytes, to - from);
      };
      if (start < s) {
        this.fs.updateItem(this.root, piece(start, s));
        if (end > e) this.fs.insertItem(this.root, piece(e, end));
      } else {
        this.fs.deleteItem(this.root, it.key);
        this.fs.insertItem(this.root, piece(e, end));
      }
    }
  }

  /** File extent items of the subvolume's regular files (for tests and inspection). */
  fileExtents(): Item[] {
    const out: Item[] = [];
    for (const it of this.fs.range(this.root, [0, 0, 0], [MAX, 255, MAX])) if (it.key[1] === KEY.EXTENT_DATA) out.push(it);
    return out.sort((a, b) => cmpKey(a.key, b.key));
  }
}

function mergeRanges(ranges: [number, number][]): [number, number][] {
  const sorted = [...ranges].sort((a, b) => a[0] - b[0]);
  const out: [number, number][] = [];
  for (const r of sorted) {
    const last = out.at(-1);
    if (last !== undefined && last[1] >= r[0]) last[1] = Math.max(last[1], r[1]);
    else out.push([r[0], r[1]]);
  }
  return out;
}
