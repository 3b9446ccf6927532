import { CONSTANTS, KEY, ON_DISK, TREE, type BtrfsConfig } from './params.js';

/**
 * A btrfs filesystem as its trees: b-tree blocks of `nodesize` holding items (leaves) or key pointers (nodes),
 * copy-on-write of every block the first time a transaction modifies it, extent records with reference counts and
 * backrefs (lazy refcounting of shared blocks, as "Btrfs: Mixed back reference" defines it), block groups in chunks,
 * delayed refs run at commit, and the free space tree. fs/btrfs/ctree.c, extent-tree.c, transaction.c in miniature.
 */

export type Key = readonly [objectid: number, type: number, offset: number];

export function cmpKey(a: Key, b: Key): number {
  return a[0] - b[0] || a[1] - b[1] || a[2] - b[2];
}

/** A regular file extent item's pointer into a data extent (disk_bytenr, disk_num_bytes, offset, num_bytes). */
export interface FileExtent {
  readonly bytenr: number;
  readonly diskBytes: number;
  readonly extOffset: number;
  readonly numBytes: number;
}

/**
 * One leaf item: its key, its data size (the 25-byte btrfs_item header is added by the leaf) and what the model needs
 * to find it again. Every item has every field (made by `item` and its kin below), so all leaf items share one object
 * shape and the code reading them stays monomorphic.
 */
export interface Item {
  readonly key: Key;
  readonly size: number;
  /** EXTENT_DATA: a regular extent (references a data extent); absent for inline extents and holes. */
  readonly fe: FileExtent | undefined;
  /** EXTENT_DATA: a hole item (no-holes off), or the length of an inline extent. */
  readonly hole: number | undefined;
  readonly inline: number | undefined;
  /** DIR_ITEM/DIR_INDEX/INODE_REF/XATTR_ITEM: the names the item holds (hash collisions and hard links share one item). */
  readonly names: readonly string[] | undefined;
}

/** An item with no payload the model follows (inode items, chunk, root and free-space items...). */
export function item(key: Key, size: number): Item {
  return { key, size, fe: undefined, hole: undefined, inline: undefined, names: undefined };
}

/** DIR_ITEM, DIR_INDEX, INODE_REF, XATTR_ITEM: an item holding names. */
export function namedItem(key: Key, size: number, names: readonly string[]): Item {
  return { key, size, fe: undefined, hole: undefined, inline: undefined, names };
}

/** EXTENT_DATA pointing into a data extent. */
export function extentItem(key: Key, size: number, fe: FileExtent): Item {
  return { key, size, fe, hole: undefined, inline: undefined, names: undefined };
}

/** EXTENT_DATA recording a hole of `hole` bytes. */
export function holeItem(key: Key, size: number, hole: number): Item {
  return { key, size, fe: undefined, hole, inline: undefined, names: undefined };
}

/** EXTENT_DATA holding `inline` bytes of file data in the leaf. */
export function inlineItem(key: Key, size: number, inline: number): Item {
  return { key, size, fe: undefined, hole: undefined, inline, names: undefined };
}

export interface Ptr {
  readonly key: Key;
  readonly child: Block;
}

/** Bumped whenever any node's pointers change: a remembered search path is only trusted within one epoch. */
let ptrEpoch = 0;

export class Block {
  /** Leaf items in key order. Changed only through the methods below, which keep `keys` in step. */
  items: Item[] = [];
  /** Leaf bytes the items take, headers included (kept with `items`). */
  used = 0;
  /** Node key pointers in key order. Changed only through the methods below, which keep `keys` in step. */
  ptrs: Ptr[] = [];
  /** BTRFS_BLOCK_FLAG_FULL_BACKREF: the blocks it points to carry SHARED refs naming this block. */
  full = false;
  /**
   * The keys of `items` (leaf) or `ptrs` (node), three numbers each, in one buffer as a block holds its btrfs_disk_key
   * array: a binary search reads these instead of following every entry to its key (a cache miss per step).
   */
  private keys = new Float64Array(3 * 16);
  constructor(
    readonly bytenr: number,
    readonly level: number,
    readonly gen: number,
    readonly owner: number,
  ) {}

  /** The first slot whose key is >= `key` (the items: where the key is, or would go). */
  lowerBound(key: Key): number {
    return this.bound(key, 0);
  }

  /** The first slot whose key is > `key` (the pointers: the child holding `key` is the one before it). */
  upperBound(key: Key): number {
    return this.bound(key, 1);
  }

  /** The first slot whose key compares to `key` at `past` or more (keys are integers: 0 for >=, 1 for >). */
  private bound(key: Key, past: 0 | 1): number {
    const k = this.keys;
    const k0 = key[0];
    const k1 = key[1];
    const k2 = key[2];
    let lo = 0;
    let hi = this.level === 0 ? this.items.length : this.ptrs.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      const b = 3 * mid;
      if ((k[b]! - k0 || k[b + 1]! - k1 || k[b + 2]! - k2) < past) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** The key at `slot` against `key` (negative, zero, positive as cmpKey). */
  compareAt(slot: number, key: Key): number {
    const k = this.keys;
    const b = 3 * slot;
    return k[b]! - key[0] || k[b + 1]! - key[1] || k[b + 2]! - key[2];
  }

  /** Whether a search for `key` through this node takes pointer `slot` (the last whose key is <= it, else the first). */
  routes(slot: number, key: Key): boolean {
    const n = this.ptrs.length;
    if (slot >= n) return false;
    const k = this.keys;
    const k0 = key[0];
    const k1 = key[1];
    const k2 = key[2];
    let b = 3 * slot;
    if (slot > 0 && (k[b]! - k0 || k[b + 1]! - k1 || k[b + 2]! - k2) > 0) return false;
    b += 3;
    return slot + 1 === n || (k[b]! - k0 || k[b + 1]! - k1 || k[b + 2]! - k2) > 0;
  }

  insertItemAt(slot: number, item: Item): void {
    this.openKey(slot, this.items.length, item.key);
    this.items.splice(slot, 0, item);
  }

  removeItemAt(slot: number): void {
    this.closeKey(slot, this.items.length);
    this.items.splice(slot, 1);
  }

  insertPtrAt(slot: number, ptr: Ptr): void {
    ptrEpoch++;
    this.openKey(slot, this.ptrs.length, ptr.key);
    this.ptrs.splice(slot, 0, ptr);
  }

  removePtrAt(slot: number): void {
    ptrEpoch++;
    this.closeKey(slot, this.ptrs.length);
    this.ptrs.splice(slot, 1);
  }

  setPtr(slot: number, ptr: Ptr): void {
    ptrEpoch++;
    this.ptrs[slot] = ptr;
    this.writeKey(slot, ptr.key);
  }

  /** The items from `slot` on leave this leaf (split_leaf's move to the right sibling). */
  cutItems(slot: number): Item[] {
    return this.items.splice(slot);
  }

  cutPtrs(slot: number): Ptr[] {
    ptrEpoch++;
    return this.ptrs.splice(slot);
  }

  setItems(items: Item[]): void {
    this.items = items;
    this.rewriteKeys(items.length, i => items[i]!.key);
  }

  setPtrs(ptrs: Ptr[]): void {
    ptrEpoch++;
    this.ptrs = ptrs;
    this.rewriteKeys(ptrs.length, i => ptrs[i]!.key);
  }

  /** The contents of `src` (same level), as a copy-on-write makes them. */
  copyFrom(src: Block): void {
    ptrEpoch++;
    this.items = src.items.slice();
    this.ptrs = src.ptrs.slice();
    this.used = src.used;
    this.keys = src.keys.slice();
  }

  private writeKey(slot: number, key: Key): void {
    const b = 3 * slot;
    this.keys[b] = key[0];
    this.keys[b + 1] = key[1];
    this.keys[b + 2] = key[2];
  }

  /** Room for a key at `slot` among `n`. */
  private openKey(slot: number, n: number, key: Key): void {
    if (3 * (n + 1) > this.keys.length) {
      const grown = new Float64Array(2 * this.keys.length);
      grown.set(this.keys);
      this.keys = grown;
    }
    if (slot < n) this.keys.copyWithin(3 * (slot + 1), 3 * slot, 3 * n);
    this.writeKey(slot, key);
  }

  private closeKey(slot: number, n: number): void {
    if (slot + 1 < n) this.keys.copyWithin(3 * slot, 3 * (slot + 1), 3 * n);
  }

  private rewriteKeys(n: number, keyAt: (i: number) => Key): void {
    let cap = this.keys.length;
    while (3 * n > cap) cap *= 2;
    if (cap !== this.keys.length) this.keys = new Float64Array(cap);
    for (let i = 0; i < n; i++) this.writeKey(i, keyAt(i));
  }
}

export interface Root {
  readonly id: number;
  /** Creation order: the order commit rewrites ROOT_ITEMs in (the roots map's order). */
  readonly seq: number;
  node: Block;
  /** The block the ROOT_ITEM names, as last written (commit updates it when the root block moved). */
  itemBytenr: number;
  /** Dropped (subvolume deleted). */
  dead: boolean;
}

type BgType = 'data' | 'metadata' | 'system';

export interface BlockGroup {
  readonly start: number;
  readonly length: number;
  readonly type: BgType;
  used: number;
  /** Free ranges [start, end), sorted; pinned ranges return here after the commit that freed them. */
  free: [number, number][];
  cursor: number;
  itemDirty: boolean;
  /** What the free space tree holds for this group: free and pinned space, and the changes not yet written. */
  readonly fst: FreeSpaceRanges;
  /** FREE_SPACE_EXTENT keys currently in the free space tree for this group. */
  fstKeys: Map<number, number>;
}

/**
 * The free space tree's view of a block group: free space, pinned space included, as merged ranges (start -> length),
 * kept as space is allocated and freed — the kernel updates the tree per extent (remove_from_free_space_tree at
 * allocation, add_to_free_space_tree when an extent is freed, before it is unpinned) — with the starts whose range
 * changed since the tree's items were last written.
 */
export class FreeSpaceRanges {
  /** Range starts, sorted. */
  private readonly starts: number[] = [];
  readonly lengths = new Map<number, number>();
  readonly touched = new Set<number>();

  /** Index of the last range starting at or before `at` (-1 when none). */
  private floor(at: number): number {
    let lo = 0;
    let hi = this.starts.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.starts[mid]! <= at) lo = mid + 1;
      else hi = mid;
    }
    return lo - 1;
  }

  private drop(i: number): void {
    const start = this.starts[i]!;
    this.starts.splice(i, 1);
    this.lengths.delete(start);
    this.touched.add(start);
  }

  private put(i: number, start: number, end: number): void {
    this.starts.splice(i, 0, start);
    this.lengths.set(start, end - start);
    this.touched.add(start);
  }

  /** [start, start+length) becomes free: merged with the ranges it touches. */
  add(start: number, length: number): void {
    let s = start;
    let e = start + length;
    let i = this.floor(start);
    if (i >= 0 && this.starts[i]! + this.lengths.get(this.starts[i]!)! >= s) {
      s = this.starts[i]!;
      e = Math.max(e, s + this.lengths.get(s)!);
      this.drop(i);
    } else i++;
    while (i < this.starts.length && this.starts[i]! <= e) {
      const next = this.starts[i]!;
      e = Math.max(e, next + this.lengths.get(next)!);
      this.drop(i);
    }
    this.put(i, s, e);
  }

  /** [start, start+length) is allocated: it lies in one free range, which keeps what is left on either side. */
  remove(start: number, length: number): void {
    const i = this.floor(start);
    const s = this.starts[i]!;
    const e = s + this.lengths.get(s)!;
    this.drop(i);
    let at = i;
    if (s < start) this.put(at++, s, start);
    if (start + length < e) this.put(at, start + length, e);
  }
}

/** The extent tree's view of one extent: reference count and backrefs (keyed by root or by parent block). */
export interface ExtentRec {
  readonly bytenr: number;
  readonly length: number;
  readonly data: boolean;
  readonly level: number;
  refs: number;
  /** r:<root> TREE_BLOCK_REF, p:<parent> SHARED_BLOCK_REF/SHARED_DATA_REF, d:<root>:<ino>:<offset> EXTENT_DATA_REF; value = count. */
  readonly backrefs: Map<string, number>;
  /** Backrefs whose count changed since the last commit, in the order they first changed (the delayed refs). */
  readonly delayed: Set<string>;
  /**
   * What the extent tree holds after the last commit: the extent item's size (0: no item yet), and per backref the
   * units stored inline in it and as keyed items (a data ref is one unit whatever its count; a tree ref one per copy).
   */
  itemSize: number;
  readonly inline: Map<string, number>;
  readonly keyed: Map<string, number>;
}

export interface Path {
  /** nodes[level], slots[level], from the leaf (0) up to the root. */
  readonly nodes: Block[];
  readonly slots: number[];
}

interface Pinned {
  readonly bytenr: number;
  readonly length: number;
}

/** Counters the usage report reads. */
export interface SpaceCounters {
  dataUsed: number;
  metadataUsed: number;
  systemUsed: number;
  dataChunks: number;
  metadataChunks: number;
  systemChunks: number;
  rawAllocated: number;
  treeBlocks: number;
  transid: number;
}

export class BtrfsFs {
  readonly nodesize: number;
  readonly leafData: number;
  readonly maxPtrs: number;
  readonly maxExtentItem: number;
  readonly dupFactor: number;
  transid = 1;
  /** Blocks allocated and freed, and commits, over the filesystem's life (for tests and --json). */
  stats = { blocksCowed: 0, blocksAllocated: 0, blocksFreed: 0, commits: 0, splits: 0 };
  readonly recs = new Map<number, ExtentRec>();
  readonly blocks = new Map<number, Block>();
  /** Live tree blocks per owner tree id. */
  private readonly ownedBlocks = new Map<number, number>();
  readonly roots = new Map<number, Root>();
  readonly groups: BlockGroup[] = [];
  private readonly dirtyRecs = new Set<ExtentRec>();
  /** Roots whose root block moved (or that are new) since their ROOT_ITEM was last written. */
  private readonly movedRoots = new Set<Root>();
  private rootSeq = 0;
  private pinned: Pinned[] = [];
  /** The last search's root and path, valid while `ptrEpoch` stands (see `cachedPath`). */
  private lastRoot: Root | undefined;
  private lastNodes: Block[] = [];
  private lastSlots: number[] = [];
  private lastEpoch = -1;
  private deviceUsed = 0;
  /** Hooks run first in every commit (the subvolumes' delayed inode items, pending snapshots). */
  readonly beforeCommit: (() => void)[] = [];
  /** Charged per tree block written (CoW or new): the host's cost meter. */
  onBlockWritten: (bytes: number) => void = () => {};
  committed: SpaceCounters;

  constructor(readonly config: BtrfsConfig) {
    this.nodesize = config.nodesize;
    this.leafData = config.nodesize - ON_DISK.headerBytes;
    this.maxPtrs = Math.floor(this.leafData / ON_DISK.keyPtrBytes);
    // BTRFS_MAX_EXTENT_ITEM_SIZE: (BTRFS_LEAF_DATA_SIZE >> 4) - sizeof(struct btrfs_item)
    this.maxExtentItem = (this.leafData >> 4) - ON_DISK.itemHeaderBytes;
    this.dupFactor = config.metadata === 'dup' ? 2 : 1;
    this.mkfs();
    this.committed = this.counters();
  }

  // ---------------------------------------------------------------- chunks and space

  private chunkBytes(type: BgType, first: boolean): number {
    const dev = this.config.deviceBytes;
    const cap = Math.floor(dev * CONSTANTS.chunkMaxFraction);
    const round = (n: number) => Math.floor(n / (1024 * 1024)) * 1024 * 1024;
    if (type === 'system') return first ? CONSTANTS.mkfsSystemBytes : Math.min(CONSTANTS.systemChunkBytes, cap);
    if (type === 'metadata') return round(first ? dev * CONSTANTS.mkfsMetadataFraction : Math.min(CONSTANTS.metadataChunkBytes, cap));
    return round(first ? dev * CONSTANTS.mkfsDataFraction : Math.min(CONSTANTS.dataChunkBytes, cap));
  }

  private profileFactor(type: BgType): number {
    return type === 'data' ? 1 : this.dupFactor;
  }

  /** btrfs_alloc_chunk: a block group of `type`, its CHUNK_ITEM, DEV_EXTENTs and BLOCK_GROUP_ITEM. */
  private allocChunk(type: BgType, first = false): BlockGroup {
    const length = this.chunkBytes(type, first);
    const raw = length * this.profileFactor(type);
    if (this.deviceUsed + raw > this.config.deviceBytes) throw new Error('ENOSPC: btrfs device full (no unallocated space for a new chunk)');
    const start = this.groups.reduce((m, g) => Math.max(m, g.start + g.length), 1024 * 1024);
    const bg: BlockGroup = { start, length, type, used: 0, free: [[start, start + length]], cursor: start, itemDirty: true, fst: new FreeSpaceRanges(), fstKeys: new Map() };
    bg.fst.add(start, length);
    this.groups.push(bg);
    this.deviceUsed += raw;
    const stripes = this.profileFactor(type);
    if (this.roots.has(TREE.CHUNK)) {
      this.insertItem(this.root(TREE.CHUNK), item([256, KEY.CHUNK_ITEM, start], ON_DISK.chunkItemBytes + ON_DISK.stripeBytes * stripes));
      for (let s = 0; s < stripes; s++) this.insertItem(this.root(TREE.DEV), item([1, KEY.DEV_EXTENT, this.deviceUsed - raw + s * length], ON_DISK.devExtentBytes));
      this.insertItem(this.root(TREE.EXTENT), item([start, KEY.BLOCK_GROUP_ITEM, length], ON_DISK.blockGroupItemBytes));
      if (this.config.freeSpaceTree) this.insertItem(this.root(TREE.FREE_SPACE), item([start, KEY.FREE_SPACE_INFO, length], ON_DISK.freeSpaceInfoBytes));
    }
    return bg;
  }

  private allocRange(type: BgType, length: number): number {
    for (let pass = 0; pass < 2; pass++) {
      for (const bg of this.groups) {
        if (bg.type !== type) continue;
        // next-fit from the group's cursor (the allocator's cluster moves forward), then from the start
        for (const r of bg.free) {
          const s = pass === 0 ? Math.max(r[0], bg.cursor) : r[0];
          if (r[1] - s >= length) {
            this.takeRange(bg, s, length);
            bg.cursor = s + length;
            return s;
          }
        }
      }
    }
    const bg = this.allocChunk(type);
    this.takeRange(bg, bg.start, length);
    bg.cursor = bg.start + length;
    return bg.start;
  }

  private takeRange(bg: BlockGroup, s: number, length: number): void {
    const i = bg.free.findIndex(r => r[0] <= s && s + length <= r[1]);
    const r = bg.free[i]!;
    const parts: [number, number][] = [];
    if (r[0] < s) parts.push([r[0], s]);
    if (s + length < r[1]) parts.push([s + length, r[1]]);
    bg.free.splice(i, 1, ...parts);
    bg.fst.remove(s, length);
    bg.used += length;
    bg.itemDirty = true;
  }

  private groupOf(bytenr: number): BlockGroup {
    const bg = this.groups.find(g => g.start <= bytenr && bytenr < g.start + g.length);
    if (bg === undefined) throw new Error(`btrfs model: no block group holds ${bytenr}`);
    return bg;
  }

  private releaseRange(bytenr: number, length: number): void {
    const bg = this.groupOf(bytenr);
    const f = bg.free;
    let i = 0;
    while (i < f.length && f[i]![0] < bytenr) i++;
    f.splice(i, 0, [bytenr, bytenr + length]);
    // merge with neighbours
    if (i + 1 < f.length && f[i]![1] === f[i + 1]![0]) f.splice(i, 2, [f[i]![0], f[i + 1]![1]]);
    if (i > 0 && f[i - 1]![1] === f[i]![0]) f.splice(i - 1, 2, [f[i - 1]![0], f[i]![1]]);
  }

  /** Space an extent held is no longer used; it can be reused after the commit (pinned) unless it never reached disk. */
  private freeSpace(bytenr: number, length: number, neverWritten: boolean): void {
    const bg = this.groupOf(bytenr);
    bg.used -= length;
    bg.itemDirty = true;
    // free in the free space tree at once, pinned or not (pinned space only waits for the commit to be reused)
    bg.fst.add(bytenr, length);
    if (neverWritten) this.releaseRange(bytenr, length);
    else this.pinned.push({ bytenr, length });
  }

  // ---------------------------------------------------------------- extent records

  private newRec(bytenr: number, length: number, data: boolean, level: number): ExtentRec {
    const rec: ExtentRec = { bytenr, length, data, level, refs: 0, backrefs: new Map(), delayed: new Set(), itemSize: 0, inline: new Map(), keyed: new Map() };
    this.recs.set(bytenr, rec);
    return rec;
  }

  private rec(bytenr: number): ExtentRec {
    const r = this.recs.get(bytenr);
    if (r === undefined) throw new Error(`btrfs model: no extent record at ${bytenr}`);
    return r;
  }

  addRef(bytenr: number, ref: string, count = 1): void {
    const rec = this.rec(bytenr);
    rec.refs += count;
    rec.backrefs.set(ref, (rec.backrefs.get(ref) ?? 0) + count);
    rec.delayed.add(ref);
    this.dirtyRecs.add(rec);
  }

  /** Drops one reference; returns the record's remaining count. */
  dropRef(bytenr: number, ref: string): number {
    const rec = this.rec(bytenr);
    let key = ref;
    if (!rec.backrefs.has(key)) key = rec.backrefs.keys().next().value ?? ref;
    const n = (rec.backrefs.get(key) ?? 1) - 1;
    if (n > 0) rec.backrefs.set(key, n);
    else rec.backrefs.delete(key);
    rec.delayed.add(key);
    rec.refs--;
    this.dirtyRecs.add(rec);
    return rec.refs;
  }

  /** The backref a pointer from `parent` carries: SHARED (by parent) once the parent is FULL_BACKREF, else keyed by its root. */
  treeRefFrom(parent: Block): string {
    return parent.full ? `p:${parent.bytenr}` : `r:${parent.owner}`;
  }

  dataRefFrom(leaf: Block, item: Item): string {
    return leaf.full ? `p:${leaf.bytenr}` : `d:${leaf.owner}:${item.key[0]}:${item.key[2] - item.fe!.extOffset}`;
  }

  /** btrfs_inc_ref / btrfs_dec_ref: every block or data extent `b` points to gains or loses one reference from it. */
  private changeChildRefs(b: Block, full: boolean, rootId: number, inc: boolean): void {
    if (b.level > 0) {
      const ref = full ? `p:${b.bytenr}` : `r:${rootId}`;
      for (const p of b.ptrs) {
        if (inc) this.addRef(p.child.bytenr, ref);
        else this.dropRef(p.child.bytenr, ref);
      }
      return;
    }
    for (const it of b.items) {
      if (it.fe === undefined) continue;
      const ref = full ? `p:${b.bytenr}` : `d:${rootId}:${it.key[0]}:${it.key[2] - it.fe.extOffset}`;
      if (inc) this.addRef(it.fe.bytenr, ref);
      else this.dropRef(it.fe.bytenr, ref);
    }
  }

  // ---------------------------------------------------------------- tree blocks

  private allocBlock(owner: number, level: number): Block {
    const type: BgType = owner === TREE.CHUNK ? 'system' : 'metadata';
    const bytenr = this.allocRange(type, this.nodesize);
    const b = new Block(bytenr, level, this.transid, owner);
    this.blocks.set(bytenr, b);
    this.ownedBlocks.set(owner, (this.ownedBlocks.get(owner) ?? 0) + 1);
    this.newRec(bytenr, this.nodesize, false, level);
    this.stats.blocksAllocated++;
    this.onBlockWritten(this.nodesize * this.dupFactor);
    return b;
  }

  /** The block's last reference went: its space is freed (now if it never reached disk, else at commit). */
  private freeBlock(b: Block): void {
    this.blocks.delete(b.bytenr);
    this.ownedBlocks.set(b.owner, this.ownedBlocks.get(b.owner)! - 1);
    this.stats.blocksFreed++;
    this.freeSpace(b.bytenr, this.nodesize, b.gen === this.transid);
  }

  /**
   * __btrfs_cow_block + update_ref_for_cow: a block from an earlier transaction is copied before its first change in
   * this one. A shared block (refs > 1) stays for its other owners: its children gain a reference from the copy (or,
   * when the owner copies it first, SHARED refs from the old block, which becomes FULL_BACKREF). An unshared block is
   * freed, its children's references passing to the copy.
   */
  cow(root: Root, buf: Block, parent: Block | undefined, slot: number): Block {
    if (buf.gen === this.transid) return buf;
    const cow = this.allocBlock(root.id, buf.level);
    this.stats.blocksCowed++;
    cow.copyFrom(buf);
    const rec = this.rec(buf.bytenr);
    if (rec.refs > 1) {
      if (buf.owner === root.id && !buf.full) {
        this.changeChildRefs(buf, true, root.id, true);
        buf.full = true;
        this.dirtyRecs.add(rec);
      } else {
        this.changeChildRefs(cow, false, root.id, true);
      }
    } else if (buf.full) {
      this.changeChildRefs(cow, false, root.id, true);
      this.changeChildRefs(buf, true, root.id, false);
    }
    const ref = parent === undefined ? `r:${root.id}` : this.treeRefFrom(parent);
    this.addRef(cow.bytenr, ref);
    if (parent === undefined) this.setRootNode(root, cow);
    else parent.setPtr(slot, { key: parent.ptrs[slot]!.key, child: cow });
    if (this.dropRef(buf.bytenr, ref) === 0) this.freeBlock(buf);
    return cow;
  }

  private setRootNode(root: Root, node: Block): void {
    root.node = node;
    this.movedRoots.add(root);
  }

  root(id: number): Root {
    const r = this.roots.get(id);
    if (r === undefined || r.dead) throw new Error(`btrfs model: no tree ${id}`);
    return r;
  }

  /** A new tree: one empty leaf (btrfs_create_tree). */
  createTree(id: number): Root {
    const leaf = this.allocBlock(id, 0);
    this.addRef(leaf.bytenr, `r:${id}`);
    const root: Root = { id, seq: this.rootSeq++, node: leaf, itemBytenr: -1, dead: false };
    this.movedRoots.add(root);
    this.roots.set(id, root);
    return root;
  }


  /** btrfs_search_slot: the path to `key`; with `cow`, every block on it is copied first as needed. Levels visited are returned in `path.nodes.length`. */
  search(root: Root, key: Key, cow: boolean): Path {
    const hit = this.cachedPath(root, key, cow);
    if (hit !== undefined) return hit;
    let b = cow ? this.cow(root, root.node, undefined, 0) : root.node;
    const nodes = new Array<Block>(b.level + 1);
    const slots = new Array<number>(b.level + 1);
    for (;;) {
      if (b.level === 0) {
        nodes[0] = b;
        slots[0] = b.lowerBound(key);
        break;
      }
      let slot = b.upperBound(key) - 1;
      if (slot < 0) slot = 0;
      nodes[b.level] = b;
      slots[b.level] = slot;
      const child = b.ptrs[slot]!.child;
      b = cow ? this.cow(root, child, b, slot) : child;
    }
    this.lastRoot = root;
    this.lastNodes = nodes;
    this.lastSlots = slots;
    this.lastEpoch = ptrEpoch;
    return { nodes: nodes.slice(), slots: slots.slice() };
  }

  /**
   * The path the last search took, when `key` descends the same way: no pointer has changed since and at every level
   * the key still falls between the chosen pointer and the next (the slot btrfs_search_slot would pick). The ops of
   * one syscall mostly touch one or two leaves (an inode's items, a directory's entries), so most searches end here.
   * With `cow` only a path whose blocks are all this transaction's qualifies (nothing on it would be copied).
   */
  private cachedPath(root: Root, key: Key, cow: boolean): Path | undefined {
    const nodes = this.lastNodes;
    if (root !== this.lastRoot || this.lastEpoch !== ptrEpoch || nodes.length === 0) return undefined;
    const top = nodes.length - 1;
    if (nodes[top] !== root.node) return undefined;
    const slots = this.lastSlots;
    for (let l = top; l > 0; l--) if (!nodes[l]!.routes(slots[l]!, key)) return undefined;
    if (cow) for (let l = top; l >= 0; l--) if (nodes[l]!.gen !== this.transid) return undefined;
    const leaf = nodes[0]!;
    const outSlots = slots.slice();
    outSlots[0] = leaf.lowerBound(key);
    return { nodes: nodes.slice(), slots: outSlots };
  }

  find(root: Root, key: Key): Item | undefined {
    return this.lookup(root, key).item;
  }

  /** The item with `key` (if any) and the path to where it is or would go, found without copying anything. */
  lookup(root: Root, key: Key): { item: Item | undefined; path: Path } {
    const path = this.search(root, key, false);
    const it = path.nodes[0]!.items[path.slots[0]!];
    return { item: it !== undefined && cmpKey(it.key, key) === 0 ? it : undefined, path };
  }

  /**
   * The path to `key` with every block on it copied as needed. A path `found` by `lookup` since the last change is
   * reused when all its blocks are already this transaction's: the copying search would visit (and copy) nothing else.
   */
  private writablePath(root: Root, key: Key, found: Path | undefined): Path {
    if (found !== undefined && this.isCurrent(found)) return found;
    return this.search(root, key, true);
  }

  /** Whether every block on the path was written in this transaction (so copying it changes nothing). */
  private isCurrent(path: Path): boolean {
    for (const b of path.nodes) if (b.gen !== this.transid) return false;
    return true;
  }

  /** Items with lo <= key <= hi, in key order, without changing anything. */
  range(root: Root, lo: Key, hi: Key): Item[] {
    const out: Item[] = [];
    // btrfs_search_slot to `lo`, then along the leaves (btrfs_next_leaf) until a key passes `hi`
    const { nodes, slots } = this.search(root, lo, false);
    let leaf = nodes[0]!;
    let slot = slots[0]!;
    for (;;) {
      for (; slot < leaf.items.length; slot++) {
        if (leaf.compareAt(slot, hi) > 0) return out;
        out.push(leaf.items[slot]!);
      }
      let l = 1;
      while (l < nodes.length && slots[l]! + 1 >= nodes[l]!.ptrs.length) l++;
      if (l >= nodes.length) return out;
      const next = ++slots[l]!;
      if (nodes[l]!.compareAt(next, hi) > 0) return out;
      for (; l > 0; l--) {
        nodes[l - 1] = nodes[l]!.ptrs[slots[l]!]!.child;
        slots[l - 1] = 0;
      }
      leaf = nodes[0]!;
      slot = 0;
    }
  }

  /** Keys in parents follow the first key of their child (fixup_low_keys). */
  private fixKeys(path: Path, level: number): void {
    for (let l = level; l + 1 < path.nodes.length; l++) {
      const b = path.nodes[l]!;
      const parent = path.nodes[l + 1]!;
      const slot = path.slots[l + 1]!;
      const first = b.level === 0 ? b.items[0]?.key : b.ptrs[0]?.key;
      if (first === undefined) return;
      parent.setPtr(slot, { key: first, child: b });
      if (slot !== 0) return;
    }
  }

  private addItemRefs(leaf: Block, it: Item): void {
    if (it.fe !== undefined) this.addRef(it.fe.bytenr, this.dataRefFrom(leaf, it));
  }

  private dropItemRefs(leaf: Block, it: Item): void {
    if (it.fe !== undefined) this.dropRef(it.fe.bytenr, this.dataRefFrom(leaf, it));
  }

  /**
   * btrfs_insert_item: the item goes in its leaf, which splits when full (split_leaf). An existing key is replaced.
   * `found`: the path `lookup` returned for this key, with no change to the tree since.
   */
  insertItem(root: Root, item: Item, found?: Path): void {
    const need = itemBytes(item);
    if (need > this.leafData) throw new Error(`btrfs model: item of ${item.size} bytes does not fit a leaf`);
    let path = this.writablePath(root, item.key, found);
    const first = path.nodes[0]!;
    const existing = first.items[path.slots[0]!];
    if (existing !== undefined && cmpKey(existing.key, item.key) === 0) {
      this.dropItemRefs(first, existing);
      first.removeItemAt(path.slots[0]!);
      first.used -= itemBytes(existing);
    }
    for (let tries = 0; this.leafData - path.nodes[0]!.used < need; tries++) {
      if (tries > 4) throw new Error('btrfs model: leaf split did not make room');
      this.splitLeaf(root, path, item.key);
      // every block on the path is this transaction's now: searching again copies nothing
      path = this.search(root, item.key, true);
    }
    const leaf = path.nodes[0]!;
    const slot = path.slots[0]!;
    leaf.insertItemAt(slot, item);
    leaf.used += need;
    this.addItemRefs(leaf, item);
    if (slot === 0) this.fixKeys(path, 0);
  }

  /** Replaces the item with the same key (it must exist), in place when it still fits. */
  updateItem(root: Root, item: Item, found?: Path): void {
    this.insertItem(root, item, found);
  }

  deleteItem(root: Root, key: Key, found?: Path): Item | undefined {
    const path = this.writablePath(root, key, found);
    const leaf = path.nodes[0]!;
    const slot = path.slots[0]!;
    const it = leaf.items[slot];
    if (it === undefined || cmpKey(it.key, key) !== 0) return undefined;
    this.dropItemRefs(leaf, it);
    leaf.removeItemAt(slot);
    leaf.used -= itemBytes(it);
    if (leaf.items.length === 0 && path.nodes.length > 1) this.removeBlock(root, path, 0);
    else if (slot === 0) this.fixKeys(path, 0);
    return it;
  }

  /** An emptied block leaves its parent (btrfs_del_leaf / del_ptr); a root node left with one child gives way to it. */
  private removeBlock(root: Root, path: Path, level: number): void {
    const b = path.nodes[level]!;
    const parent = path.nodes[level + 1]!;
    const slot = path.slots[level + 1]!;
    parent.removePtrAt(slot);
    if (this.dropRef(b.bytenr, this.treeRefFrom(parent)) === 0) this.freeBlock(b);
    if (parent.ptrs.length === 0 && level + 2 < path.nodes.length) {
      this.removeBlock(root, path, level + 1);
      return;
    }
    if (slot === 0) this.fixKeys(path, level + 1);
    if (parent === root.node && parent.ptrs.length === 1) {
      const child = this.cow(root, parent.ptrs[0]!.child, parent, 0);
      // the child's reference moves from the old root node to the root item: same root, same backref
      this.setRootNode(root, child);
      if (this.dropRef(parent.bytenr, `r:${root.id}`) === 0) this.freeBlock(parent);
    }
  }

  /**
   * split_leaf: a key past the last item starts a new empty leaf (the sequential-insert case); otherwise the items
   * are divided by bytes. A simplification: the kernel first pushes items into the right, then the left neighbour
   * (push_leaf_right, push_leaf_left) and splits by item count only when neither has room. Modelled faithfully, that
   * moves calibrated rows (the Linux 6.18 commit step loses a leaf), so it waits for the mechanism still missing there.
   */
  private splitLeaf(root: Root, path: Path, key: Key): void {
    const leaf = path.nodes[0]!;
    const slot = path.slots[0]!;
    this.stats.splits++;
    const right = this.allocBlock(root.id, 0);
    const n = leaf.items.length;
    let rightKey: Key = key;
    if (slot < n) {
      let mid = 0;
      let acc = 0;
      const total = leaf.used;
      while (mid < n - 1 && acc + itemBytes(leaf.items[mid]!) <= total / 2) acc += itemBytes(leaf.items[mid++]!);
      if (mid === 0) mid = 1;
      right.setItems(leaf.cutItems(mid));
      for (const it of right.items) right.used += itemBytes(it);
      leaf.used -= right.used;
      rightKey = right.items[0]!.key;
    }
    this.insertPtr(root, path, 1, right, rightKey);
  }

  /** Links a new block, right sibling of path.nodes[level-1], into the level above, splitting or growing the tree. */
  private insertPtr(root: Root, path: Path, level: number, block: Block, key: Key): void {
    const left = path.nodes[level - 1]!;
    let parent = path.nodes[level];
    if (parent === undefined) {
      // insert_new_root: the tree grows one level; the old root's reference moves from the root item to the new
      // root node, which belongs to the same root (backref r:root either way)
      parent = this.allocBlock(root.id, level);
      parent.setPtrs([{ key: (left.level === 0 ? left.items[0]?.key : left.ptrs[0]?.key) ?? key, child: left }]);
      this.addRef(parent.bytenr, `r:${root.id}`);
      this.setRootNode(root, parent);
      path.nodes[level] = parent;
      path.slots[level] = 0;
    }
    parent.insertPtrAt(path.slots[level]! + 1, { key, child: block });
    this.addRef(block.bytenr, this.treeRefFrom(parent));
    if (parent.ptrs.length > this.maxPtrs) this.splitNode(root, path, level);
  }

  private splitNode(root: Root, path: Path, level: number): void {
    const node = path.nodes[level]!;
    this.stats.splits++;
    const right = this.allocBlock(root.id, level);
    right.setPtrs(node.cutPtrs(node.ptrs.length >> 1));
    // the moved pointers come from `right` now: same root, so their keyed backrefs stay
    this.insertPtr(root, path, level + 1, right, right.ptrs[0]!.key);
  }

  // ---------------------------------------------------------------- data extents and checksums

  /** A new data extent (allocated at writeback), its checksum items in the csum tree. */
  allocData(length: number): number {
    const bytenr = this.allocRange('data', length);
    this.newRec(bytenr, length, true, 0);
    const csum = this.root(TREE.CSUM);
    const sectors = length / this.config.sectorsize;
    const perItem = Math.floor((this.leafData - 2 * ON_DISK.itemHeaderBytes) / ON_DISK.csumBytes);
    for (let s = 0; s < sectors; s += perItem) {
      const n = Math.min(perItem, sectors - s);
      this.insertItem(csum, item([TREE.EXTENT_CSUM, KEY.EXTENT_CSUM, bytenr + s * this.config.sectorsize], n * ON_DISK.csumBytes));
    }
    return bytenr;
  }

  // ---------------------------------------------------------------- subvolume deletion

  /**
   * btrfs_drop_snapshot: the tree's references are dropped top-down; a block others still reference keeps its
   * children (made SHARED-referenced first when this root owned it), one only this tree held is freed with its refs.
   */
  dropTree(root: Root): void {
    const drop = (b: Block, ref: string): void => {
      const rec = this.rec(b.bytenr);
      if (rec.refs > 1) {
        if (b.owner === root.id && !b.full) {
          this.changeChildRefs(b, true, root.id, true);
          this.changeChildRefs(b, false, root.id, false);
          b.full = true;
        }
        this.dropRef(b.bytenr, ref);
        return;
      }
      if (b.level > 0) for (const p of b.ptrs) drop(p.child, this.treeRefFrom(b));
      else for (const it of b.items) this.dropItemRefs(b, it);
      this.dropRef(b.bytenr, ref);
      this.freeBlock(b);
    };
    drop(root.node, `r:${root.id}`);
    root.dead = true;
    this.roots.delete(root.id);
    this.deleteItem(this.root(TREE.ROOT), [root.id, KEY.ROOT_ITEM, 0]);
  }

  /** create_pending_snapshot: the source root is copied on write, then copied again as the new tree's root. */
  snapshotTree(src: Root, id: number): Root {
    const old = this.cow(src, src.node, undefined, 0);
    const copy = this.allocBlock(id, old.level);
    copy.copyFrom(old);
    this.addRef(copy.bytenr, `r:${id}`);
    this.changeChildRefs(copy, false, id, true);
    const root: Root = { id, seq: this.rootSeq++, node: copy, itemBytenr: -1, dead: false };
    this.movedRoots.add(root);
    this.roots.set(id, root);
    return root;
  }

  // ---------------------------------------------------------------- commit

  /** The extent item's key: METADATA_ITEM by level for a skinny tree block, else EXTENT_ITEM by length. */
  private extentItemKey(rec: ExtentRec): Key {
    return !rec.data && this.config.skinnyMetadata ? [rec.bytenr, KEY.METADATA_ITEM, rec.level] : [rec.bytenr, KEY.EXTENT_ITEM, rec.length];
  }

  /** The extent item with no inline backref: btrfs_extent_item, and btrfs_tree_block_info for a non-skinny tree block. */
  private bareItemSize(rec: ExtentRec): number {
    return ON_DISK.extentItemBytes + (!rec.data && !this.config.skinnyMetadata ? ON_DISK.treeBlockInfoBytes : 0);
  }

  /** A keyed backref item: its key (copy `c` of a tree ref gets its own offset) and size. */
  private keyedBackref(rec: ExtentRec, ref: string, c: number): Item {
    const shared = ref.startsWith('p:');
    const h = hashRef(ref) + c;
    if (!rec.data) return item([rec.bytenr, shared ? KEY.SHARED_BLOCK_REF : KEY.TREE_BLOCK_REF, h], ON_DISK.keyedTreeRefBytes);
    return item([rec.bytenr, shared ? KEY.SHARED_DATA_REF : KEY.EXTENT_DATA_REF, h], shared ? ON_DISK.keyedSharedDataRefBytes : ON_DISK.keyedDataRefBytes);
  }

  private inlineRefBytes(rec: ExtentRec, ref: string): number {
    if (!rec.data) return ON_DISK.inlineTreeRefBytes;
    return ref.startsWith('p:') ? ON_DISK.inlineSharedDataRefBytes : ON_DISK.inlineDataRefBytes;
  }

  /**
   * __btrfs_run_delayed_refs for one extent: its changed backrefs applied to the items it has, adds before drops
   * (select_delayed_ref: a drop must never see the count reach zero while adds are queued). A new backref goes inline
   * while the extent item stays under BTRFS_MAX_EXTENT_ITEM_SIZE and the extent has no keyed backref yet
   * (lookup_inline_extent_backref: "we just do not add new inline back ref if there is any kind of item for this
   * block"), else it becomes a keyed item; a dropped one leaves from where it is, inline first. So inline refs stay
   * inline and keyed ones keyed: the layout follows the history, and a commit costs what changed, not every backref.
   */
  private applyDelayedRefs(rec: ExtentRec, extent: Root): void {
    const units = (ref: string): number => {
      const count = rec.backrefs.get(ref) ?? 0;
      // tree block refs carry no count: one backref per reference; a data ref counts its references in place
      return rec.data ? Math.min(count, 1) : count;
    };
    const before = rec.itemSize;
    if (rec.itemSize === 0) rec.itemSize = this.bareItemSize(rec);
    let keyedCount = 0;
    for (const n of rec.keyed.values()) keyedCount += n;
    for (const ref of rec.delayed) {
      let add = units(ref) - (rec.inline.get(ref) ?? 0) - (rec.keyed.get(ref) ?? 0);
      const inl = this.inlineRefBytes(rec, ref);
      for (; add > 0; add--) {
        if (keyedCount === 0 && rec.itemSize + inl < this.maxExtentItem) {
          rec.itemSize += inl;
          rec.inline.set(ref, (rec.inline.get(ref) ?? 0) + 1);
          continue;
        }
        const c = rec.keyed.get(ref) ?? 0;
        this.insertItem(extent, this.keyedBackref(rec, ref, c));
        rec.keyed.set(ref, c + 1);
        keyedCount++;
      }
    }
    for (const ref of rec.delayed) {
      let drop = (rec.inline.get(ref) ?? 0) + (rec.keyed.get(ref) ?? 0) - units(ref);
      for (; drop > 0; drop--) {
        const atInline = rec.inline.get(ref) ?? 0;
        if (atInline > 0) {
          rec.itemSize -= this.inlineRefBytes(rec, ref);
          if (atInline > 1) rec.inline.set(ref, atInline - 1);
          else rec.inline.delete(ref);
          continue;
        }
        const c = rec.keyed.get(ref)! - 1;
        this.deleteItem(extent, this.keyedBackref(rec, ref, c).key);
        if (c > 0) rec.keyed.set(ref, c);
        else rec.keyed.delete(ref);
      }
    }
    rec.delayed.clear();
    if (rec.itemSize !== before) this.insertItem(extent, item(this.extentItemKey(rec), rec.itemSize));
  }

  /** __btrfs_run_delayed_refs: extent items follow their records; a record with no reference left goes, with its checksums. */
  private runDelayedRefs(): boolean {
    if (this.dirtyRecs.size === 0) return false;
    const extent = this.root(TREE.EXTENT);
    const batch = [...this.dirtyRecs];
    this.dirtyRecs.clear();
    for (const rec of batch) {
      if (rec.refs > 0) {
        this.applyDelayedRefs(rec, extent);
        continue;
      }
      // the last reference went: the extent item and every keyed backref go (__btrfs_free_extent)
      if (rec.itemSize > 0) this.deleteItem(extent, this.extentItemKey(rec));
      for (const [ref, n] of rec.keyed) for (let c = 0; c < n; c++) this.deleteItem(extent, this.keyedBackref(rec, ref, c).key);
      rec.itemSize = 0;
      rec.inline.clear();
      rec.keyed.clear();
      rec.delayed.clear();
      if (this.recs.get(rec.bytenr) === rec) {
        this.recs.delete(rec.bytenr);
        if (rec.data) {
          const csum = this.root(TREE.CSUM);
          const keys = [...this.range(csum, [TREE.EXTENT_CSUM, KEY.EXTENT_CSUM, rec.bytenr], [TREE.EXTENT_CSUM, KEY.EXTENT_CSUM, rec.bytenr + rec.length - 1])].map(i => i.key);
          for (const k of keys) this.deleteItem(csum, k);
          this.freeSpace(rec.bytenr, rec.length, false);
        }
      }
    }
    return true;
  }

  private updateBlockGroupItems(): boolean {
    let changed = false;
    for (const bg of this.groups) {
      if (!bg.itemDirty) continue;
      bg.itemDirty = false;
      changed = true;
      this.updateItem(this.root(TREE.EXTENT), item([bg.start, KEY.BLOCK_GROUP_ITEM, bg.length], ON_DISK.blockGroupItemBytes));
    }
    return changed;
  }

  /** The free space tree: one FREE_SPACE_EXTENT item per free range (pinned space counts as free there). */
  private updateFreeSpaceTree(): boolean {
    if (!this.config.freeSpaceTree) return false;
    let changed = false;
    const fst = this.root(TREE.FREE_SPACE);
    for (const bg of this.groups) {
      const { touched, lengths } = bg.fst;
      if (touched.size === 0) continue;
      let wrote = false;
      // stale items first, in the order they were written, then the new ranges by address
      for (const [s, len] of bg.fstKeys) {
        if (!touched.has(s) || lengths.get(s) === len) continue;
        this.deleteItem(fst, [s, KEY.FREE_SPACE_EXTENT, len]);
        bg.fstKeys.delete(s);
        wrote = true;
      }
      for (const s of [...touched].sort((a, b) => a - b)) {
        const len = lengths.get(s);
        if (len === undefined || bg.fstKeys.get(s) === len) continue;
        this.insertItem(fst, item([s, KEY.FREE_SPACE_EXTENT, len], 0));
        bg.fstKeys.set(s, len);
        wrote = true;
      }
      touched.clear();
      if (wrote) {
        this.updateItem(fst, item([bg.start, KEY.FREE_SPACE_INFO, bg.length], ON_DISK.freeSpaceInfoBytes));
        changed = true;
      }
    }
    return changed;
  }

  /** commit_cowonly_roots / commit_fs_roots: a ROOT_ITEM is rewritten when its tree's root block moved. */
  private updateRootItems(): boolean {
    if (this.movedRoots.size === 0) return false;
    let changed = false;
    const rootTree = this.root(TREE.ROOT);
    // the roots whose block moved, in the roots' own order; the root and chunk trees live in the superblock
    const moved = [...this.movedRoots].sort((a, b) => a.seq - b.seq);
    this.movedRoots.clear();
    for (const r of moved) {
      if (r.id === TREE.ROOT || r.id === TREE.CHUNK || r.dead || this.roots.get(r.id) !== r) continue;
      if (r.itemBytenr === r.node.bytenr) continue;
      r.itemBytenr = r.node.bytenr;
      this.updateItem(rootTree, item([r.id, KEY.ROOT_ITEM, 0], ON_DISK.rootItemBytes));
      changed = true;
    }
    return changed;
  }

  /** btrfs_commit_transaction: delayed inodes and snapshots, then delayed refs, block groups, free space and root items until nothing moves. */
  commit(): void {
    for (const hook of this.beforeCommit) hook();
    for (let pass = 0; ; pass++) {
      if (pass > 64) throw new Error('btrfs model: commit did not converge');
      let changed = this.runDelayedRefs();
      changed = this.updateBlockGroupItems() || changed;
      changed = this.updateFreeSpaceTree() || changed;
      changed = this.updateRootItems() || changed;
      if (!changed && this.dirtyRecs.size === 0) break;
    }
    for (const p of this.pinned) this.releaseRange(p.bytenr, p.length);
    this.pinned = [];
    this.transid++;
    this.stats.commits++;
    this.committed = this.counters();
  }

  counters(): SpaceCounters {
    let dataUsed = 0;
    let metadataUsed = 0;
    let systemUsed = 0;
    let dataChunks = 0;
    let metadataChunks = 0;
    let systemChunks = 0;
    let rawAllocated = 0;
    for (const bg of this.groups) {
      rawAllocated += bg.length * this.profileFactor(bg.type);
      if (bg.type === 'data') {
        dataUsed += bg.used;
        dataChunks += bg.length;
      } else if (bg.type === 'metadata') {
        metadataUsed += bg.used;
        metadataChunks += bg.length;
      } else {
        systemUsed += bg.used;
        systemChunks += bg.length;
      }
    }
    return { dataUsed, metadataUsed, systemUsed, dataChunks, metadataChunks, systemChunks, rawAllocated, treeBlocks: this.blocks.size, transid: this.transid };
  }

  /** Raw bytes in use as statfs counts them (btrfs_statfs: the sum of every space_info's disk_used). */
  dfUsed(c: SpaceCounters): number {
    return c.dataUsed + (c.metadataUsed + c.systemUsed) * this.dupFactor;
  }

  /** The GlobalReserve `btrfs filesystem df` prints: the extent, csum and root trees' size plus a 10-item insert, at most 512 MiB (block-rsv.c). */
  globalReserve(): number {
    // these trees are never snapshotted: each of their blocks has one reference, from the tree its owner field names,
    // so the blocks a tree holds are the blocks allocated for it less those freed (counted as they go, as the root
    // item's bytes_used is, instead of walking three trees on every reading)
    const used = (id: number) => (this.roots.has(id) ? (this.ownedBlocks.get(id) ?? 0) * this.nodesize : 0);
    const insert = this.nodesize * CONSTANTS.maxLevel * 2 * CONSTANTS.globalReserveMinItems;
    return Math.min(CONSTANTS.globalReserveMaxBytes, used(TREE.EXTENT) + used(TREE.CSUM) + used(TREE.ROOT) + insert);
  }

  /** mkfs.btrfs: the first chunks and the trees a fresh filesystem holds. */
  private mkfs(): void {
    this.allocChunk('system', true);
    this.allocChunk('metadata', true);
    this.allocChunk('data', true);
    this.createTree(TREE.ROOT);
    this.createTree(TREE.CHUNK);
    this.createTree(TREE.DEV);
    this.createTree(TREE.EXTENT);
    this.createTree(TREE.CSUM);
    this.createTree(TREE.UUID);
    if (this.config.freeSpaceTree) this.createTree(TREE.FREE_SPACE);
    for (const bg of this.groups) {
      const stripes = this.profileFactor(bg.type);
      this.insertItem(this.root(TREE.CHUNK), item([256, KEY.CHUNK_ITEM, bg.start], ON_DISK.chunkItemBytes + ON_DISK.stripeBytes * stripes));
      for (let s = 0; s < stripes; s++) this.insertItem(this.root(TREE.DEV), item([1, KEY.DEV_EXTENT, bg.start + s * bg.length], ON_DISK.devExtentBytes));
      this.insertItem(this.root(TREE.EXTENT), item([bg.start, KEY.BLOCK_GROUP_ITEM, bg.length], ON_DISK.blockGroupItemBytes));
      if (this.config.freeSpaceTree) this.insertItem(this.root(TREE.FREE_SPACE), item([bg.start, KEY.FREE_SPACE_INFO, bg.length], ON_DISK.freeSpaceInfoBytes));
    }
  }

  /** Every tree block reachable from a live root, once each (shared blocks are counted once). */
  liveBlocks(): Set<Block> {
    const seen = new Set<Block>();
    const walk = (b: Block) => {
      if (seen.has(b)) return;
      seen.add(b);
      for (const p of b.ptrs) walk(p.child);
    };
    for (const r of this.roots.values()) if (!r.dead) walk(r.node);
    return seen;
  }

  /**
   * The reference-count invariant: every extent's count equals the pointers to it from distinct live blocks (and root
   * items), and every data extent's count the file extent items in distinct live leaves. Returns the mismatches.
   */
  checkRefs(): string[] {
    const counts = new Map<number, number>();
    const bump = (b: number) => counts.set(b, (counts.get(b) ?? 0) + 1);
    for (const r of this.roots.values()) if (!r.dead) bump(r.node.bytenr);
    for (const b of this.liveBlocks()) {
      for (const p of b.ptrs) bump(p.child.bytenr);
      for (const it of b.items) if (it.fe !== undefined) bump(it.fe.bytenr);
    }
    const bad: string[] = [];
    for (const [bytenr, rec] of this.recs) {
      if (rec.refs === 0) continue;
      const n = counts.get(bytenr) ?? 0;
      if (n !== rec.refs) bad.push(`${rec.data ? 'data' : 'tree'} extent ${bytenr}: refs ${rec.refs}, referenced ${n}`);
      let sum = 0;
      for (const c of rec.backrefs.values()) sum += c;
      if (sum !== rec.refs) bad.push(`extent ${bytenr}: backrefs sum ${sum} != refs ${rec.refs}`);
    }
    for (const [bytenr, n] of counts) if (!this.recs.has(bytenr) || this.rec(bytenr).refs === 0) bad.push(`extent ${bytenr} referenced ${n} times but has no record`);
    return bad;
  }
}

/** Bytes an item takes in its leaf: the btrfs_item header and its data. */
function itemBytes(it: Item): number {
  return ON_DISK.itemHeaderBytes + it.size;
}

function hashRef(ref: string): number {
  let h = 0;
  for (let i = 0; i < ref.length; i++) h = (Math.imul(h, 31) + ref.charCodeAt(i)) >>> 0;
  return h * 64;
}
