import { fail } from '../../src/fs/errno.js';
import { humanSizeSI } from '../../src/report/format.js';
import { btreeMaxEntries, thinFormat } from './params.js';

/**
 * A dm-thin pool as the kernel stores it (drivers/md/dm-thin.c, dm-thin-metadata.c, persistent-data/): a data device
 * in pool blocks and a metadata device in 4 KiB blocks holding the superblock, two space maps (2 bits per block,
 * counts above 2 in an overflow btree) and the btrees: device details, and the two-level mapping tree (device id ->
 * the root of that device's tree; virtual block -> (pool block, time)). Nodes are shadowed (copied) on the first
 * change in a transaction; a node with more than one reference is copied with its children's counts raised.
 */

/** A btree node of 4096 bytes: sorted keys, and values (child block numbers in internal nodes). */
interface BNode {
  leaf: boolean;
  keys: number[];
  vals: number[];
  /** Mapping leaves: the time of each block_time value. */
  times?: number[];
}

/** What a tree's leaf values reference (dm-btree value_type inc/dec). */
type ValueKind = 'data' | 'subtree' | 'none';

interface TreeKind {
  readonly maxEntries: number;
  readonly values: ValueKind;
}

const MAPPING: TreeKind = { maxEntries: btreeMaxEntries(thinFormat.valueBytes.mapping), values: 'data' };
const TOP: TreeKind = { maxEntries: btreeMaxEntries(thinFormat.valueBytes.top), values: 'subtree' };
const DETAILS: TreeKind = { maxEntries: btreeMaxEntries(thinFormat.valueBytes.details), values: 'none' };

/** Thin device details (struct disk_device_details). */
export interface ThinDetails {
  readonly id: number;
  mappedBlocks: number;
  creationTime: number;
  snapshottedTime: number;
}

export interface PoolConfig {
  readonly dataBlockBytes: number;
  readonly dataBytes: number;
  readonly metadataBytes: number;
  /** error_if_no_space; otherwise the bio is queued until no_space_timeout, then errored (ENOSPC as well). */
  readonly errorIfNoSpace: boolean;
  /** loop-lvm: data and metadata live in sparse files whose allocation df sees. */
  readonly loopFiles: boolean;
}

/** Counters of the work the pool did, for tests and `--json`. */
export interface PoolStats {
  provisioned: number;
  sharingBroken: number;
  copyBytes: number;
  discarded: number;
  nodesShadowed: number;
  commits: number;
}

/** Number of nodes a btree of `n` entries built by ascending inserts holds (split in halves: 50% residency). */
export function nodesForEntries(n: number, maxEntries: number): number {
  if (n <= 0) return 0;
  let nodes = 0;
  let level = n;
  for (;;) {
    const count = level <= maxEntries ? 1 : Math.ceil(level / Math.floor(maxEntries / 2));
    nodes += count;
    if (count === 1) return nodes;
    level = count;
  }
}

/** What a write bio took from the pool: nothing (an exclusively owned block), a new block, or a copied one. */
export const WRITE_IN_PLACE = 0;
export const WRITE_PROVISIONED = 1;
export const WRITE_BROKE_SHARING = 2;
export type WriteOutcome = typeof WRITE_IN_PLACE | typeof WRITE_PROVISIONED | typeof WRITE_BROKE_SHARING;

export class ThinPool {
  readonly nrDataBlocks: number;
  readonly nrMetaBlocks: number;
  /** Data space map: reference count per pool block. */
  private readonly dataRefs: Uint32Array;
  /** Metadata space map: reference count per metadata block. */
  private readonly metaRefs: Uint32Array;
  private readonly nodes = new Map<number, BNode>();
  private dataUsed = 0;
  private metaUsed = 0;
  /** Entries of the two overflow ref-count btrees (counts > 2). */
  private dataOverflow = 0;
  private metaOverflow = 0;
  /** sm_ll_find_free_block searches forward from the last allocation and wraps. */
  private dataCursor = 0;
  private metaCursor = 0;
  /** Blocks allocated in the running transaction (already shadows) and blocks freed in it (not reusable until commit). */
  private txNew = new Set<number>();
  private txFreed = new Set<number>();
  /** Fixed metadata: superblock, space-map bitmaps and index blocks (sm_ll_extend writes every bitmap at format). */
  readonly staticMetaBlocks: number;
  /** Loop files: pool blocks the sparse data file holds (written and not punched), metadata blocks ever written. */
  private readonly dataFileAllocated: Uint8Array;
  private dataFileBlocks = 0;
  private metaFileHighWater = 0;
  /** The pool's time (24 bits), raised by each snapshot. */
  time = 0;
  private topRoot: number;
  private detailsRoot: number;
  readonly devices = new Map<number, ThinDetails & { root: number }>();
  readonly stats: PoolStats = { provisioned: 0, sharingBroken: 0, copyBytes: 0, discarded: 0, nodesShadowed: 0, commits: 0 };

  constructor(readonly config: PoolConfig) {
    const mb = thinFormat.metadataBlockBytes;
    if (config.dataBlockBytes % (64 * 1024) !== 0) throw new Error('blocksize must be a multiple of 64K');
    this.nrDataBlocks = Math.floor(config.dataBytes / config.dataBlockBytes);
    this.nrMetaBlocks = Math.min(Math.floor(config.metadataBytes / mb), thinFormat.maxMetadataBlocks);
    this.dataRefs = new Uint32Array(this.nrDataBlocks);
    this.metaRefs = new Uint32Array(this.nrMetaBlocks);
    this.dataFileAllocated = new Uint8Array(config.loopFiles ? this.nrDataBlocks : 0);
    const perBitmap = thinFormat.entriesPerBitmap;
    // superblock + data sm bitmaps + its index btree root + metadata sm bitmaps + its single index block
    this.staticMetaBlocks = 1 + Math.ceil(this.nrDataBlocks / perBitmap) + 1 + Math.ceil(this.nrMetaBlocks / perBitmap) + 1;
    for (let b = 0; b < this.staticMetaBlocks; b++) this.metaInc(b);
    this.metaCursor = this.staticMetaBlocks;
    this.topRoot = this.newNode({ leaf: true, keys: [], vals: [] });
    this.detailsRoot = this.newNode({ leaf: true, keys: [], vals: [] });
    this.commit();
  }

  // ---- space maps ----

  private metaInc(b: number): void {
    const c = ++this.metaRefs[b]!;
    if (c === 1) this.metaUsed++;
    if (c === thinFormat.bitmapMaxCount + 1) this.metaOverflow++;
    if (b + 1 > this.metaFileHighWater) this.metaFileHighWater = b + 1;
  }

  private metaDec(b: number): void {
    const c = --this.metaRefs[b]!;
    if (c === thinFormat.bitmapMaxCount) this.metaOverflow--;
    if (c === 0) {
      this.metaUsed--;
      this.txFreed.add(b);
    }
  }

  private allocMeta(): number {
    for (let i = 0; i < this.nrMetaBlocks; i++) {
      const b = (this.metaCursor + i) % this.nrMetaBlocks;
      if (this.metaRefs[b] === 0 && !this.txFreed.has(b)) {
        this.metaCursor = b + 1;
        this.metaInc(b);
        this.txNew.add(b);
        return b;
      }
    }
    return fail('ENOSPC');
  }

  private dataInc(b: number): void {
    const c = ++this.dataRefs[b]!;
    if (c === 1) this.dataUsed++;
    if (c === thinFormat.bitmapMaxCount + 1) this.dataOverflow++;
  }

  /** A pool block's last reference gone: free in the pool; a passed-down discard punches the loop file. */
  private dataDec(b: number, passdown: boolean): void {
    const c = --this.dataRefs[b]!;
    if (c === thinFormat.bitmapMaxCount) this.dataOverflow--;
    if (c === 0) {
      this.dataUsed--;
      if (passdown && this.config.loopFiles && this.dataFileAllocated[b] === 1) {
        this.dataFileAllocated[b] = 0;
        this.dataFileBlocks--;
      }
    }
  }

  private allocData(): number {
    for (let i = 0; i < this.nrDataBlocks; i++) {
      const b = (this.dataCursor + i) % this.nrDataBlocks;
      if (this.dataRefs[b] === 0) {
        this.dataCursor = b + 1;
        this.dataInc(b);
        if (this.config.loopFiles && this.dataFileAllocated[b] === 0) {
          this.dataFileAllocated[b] = 1;
          this.dataFileBlocks++;
        }
        return b;
      }
    }
    return fail('ENOSPC');
  }

  get freeDataBlocks(): number {
    return this.nrDataBlocks - this.dataUsed;
  }

  /** A full pool answers ENOSPC before anything changes (error_if_no_space, or queue then no_space_timeout). */
  reserve(blocks: number): void {
    if (blocks > this.freeDataBlocks) fail('ENOSPC');
  }

  // ---- btree nodes ----

  private newNode(n: BNode): number {
    const b = this.allocMeta();
    this.nodes.set(b, n);
    return b;
  }

  private node(b: number): BNode {
    const n = this.nodes.get(b);
    if (n === undefined) throw new Error(`metadata block ${b} holds no node`);
    return n;
  }

  /** inc_children: a shared node is copied, so everything it points to gains a reference. */
  private incChildren(n: BNode, kind: TreeKind): void {
    if (!n.leaf) for (const v of n.vals) this.metaInc(v);
    else if (kind.values === 'data') for (const v of n.vals) this.dataInc(v);
    else if (kind.values === 'subtree') for (const v of n.vals) this.metaInc(v);
  }

  /** dm_tm_shadow_block: a node changed in this transaction is written in place; otherwise copied. */
  private shadow(b: number, kind: TreeKind): number {
    if (this.txNew.has(b) && this.metaRefs[b] === 1) return b;
    const old = this.node(b);
    const copy: BNode = { leaf: old.leaf, keys: [...old.keys], vals: [...old.vals] };
    if (old.times) copy.times = [...old.times];
    const shared = this.metaRefs[b]! > 1;
    const nb = this.newNode(copy);
    this.stats.nodesShadowed++;
    if (shared) this.incChildren(copy, kind);
    this.metaDec(b);
    if (this.metaRefs[b] === 0) this.nodes.delete(b);
    return nb;
  }

  private static search(n: BNode, key: number): number {
    // index of the last key <= key (-1 if none)
    let lo = 0;
    let hi = n.keys.length - 1;
    let ans = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (n.keys[mid]! <= key) {
        ans = mid;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    return ans;
  }

  lookup(root: number, key: number): { block: number; time: number } | undefined {
    let n = this.node(root);
    for (;;) {
      const i = ThinPool.search(n, key);
      if (n.leaf) {
        if (i < 0 || n.keys[i] !== key) return undefined;
        return { block: n.vals[i]!, time: n.times?.[i] ?? 0 };
      }
      if (i < 0) return undefined;
      n = this.node(n.vals[i]!);
    }
  }

  /** The time of `key`'s mapping, or -1 when unmapped: `lookup` without the result object (the per-write path). */
  private mappedTime(root: number, key: number): number {
    let n = this.node(root);
    for (;;) {
      const i = ThinPool.search(n, key);
      if (n.leaf) return i < 0 || n.keys[i] !== key ? -1 : (n.times?.[i] ?? 0);
      if (i < 0) return -1;
      n = this.node(n.vals[i]!);
    }
  }

  /** Splits a full node in halves into a new right sibling (btree_split_sibling). */
  private splitHalves(n: BNode): BNode {
    const half = Math.floor(n.keys.length / 2);
    const right: BNode = { leaf: n.leaf, keys: n.keys.splice(half), vals: n.vals.splice(half) };
    if (n.times) right.times = n.times.splice(half);
    return right;
  }

  /**
   * btree_insert_raw: shadows every node on the path; a full node is split first (the root beneath itself, others
   * into a new sibling). Replacing a value drops the old value's reference. Returns the new root.
   */
  private insert(rootBlock: number, key: number, val: number, time: number | undefined, kind: TreeKind): number {
    const root = this.shadow(rootBlock, kind);
    const r = this.node(root);
    if (r.keys.length >= kind.maxEntries) {
      // btree_split_beneath: the root keeps its block and gains two children
      const left: BNode = { leaf: r.leaf, keys: r.keys, vals: r.vals };
      if (r.times) left.times = r.times;
      const right = this.splitHalves(left);
      const lb = this.newNode(left);
      const rb = this.newNode(right);
      r.leaf = false;
      r.keys = [left.keys[0]!, right.keys[0]!];
      r.vals = [lb, rb];
      delete r.times;
    }
    let n = r;
    for (;;) {
      let i = ThinPool.search(n, key);
      if (n.leaf) {
        if (i >= 0 && n.keys[i] === key) {
          this.dropValue(n.vals[i]!, kind);
          n.vals[i] = val;
          if (n.times) n.times[i] = time ?? 0;
        } else {
          n.keys.splice(i + 1, 0, key);
          n.vals.splice(i + 1, 0, val);
          if (time !== undefined) (n.times ??= new Array<number>(n.keys.length - 1).fill(0)).splice(i + 1, 0, time);
        }
        return root;
      }
      if (i < 0) {
        i = 0;
        n.keys[0] = key;
      }
      let child = this.shadow(n.vals[i]!, kind);
      n.vals[i] = child;
      let c = this.node(child);
      if (c.keys.length >= kind.maxEntries) {
        const right = this.splitHalves(c);
        const rb = this.newNode(right);
        n.keys.splice(i + 1, 0, right.keys[0]!);
        n.vals.splice(i + 1, 0, rb);
        if (key >= right.keys[0]!) {
          child = rb;
          c = right;
        }
      }
      n = c;
    }
  }

  /** Removes `key` (dm_btree_remove, without the sibling rebalancing); returns the new root. */
  private remove(rootBlock: number, key: number, kind: TreeKind): number {
    if (this.lookupAny(rootBlock, key) === undefined) return rootBlock;
    const root = this.shadow(rootBlock, kind);
    const path: { n: BNode; i: number }[] = [];
    let n = this.node(root);
    for (;;) {
      const i = ThinPool.search(n, key);
      if (n.leaf) {
        this.dropValue(n.vals[i]!, kind);
        n.keys.splice(i, 1);
        n.vals.splice(i, 1);
        n.times?.splice(i, 1);
        break;
      }
      const child = this.shadow(n.vals[i]!, kind);
      n.vals[i] = child;
      path.push({ n, i });
      n = this.node(child);
    }
    // an emptied node leaves its parent
    for (let d = path.length - 1; d >= 0 && n.keys.length === 0; d--) {
      const { n: parent, i } = path[d]!;
      const b = parent.vals[i]!;
      parent.keys.splice(i, 1);
      parent.vals.splice(i, 1);
      this.metaDec(b);
      if (this.metaRefs[b] === 0) this.nodes.delete(b);
      n = parent;
    }
    return root;
  }

  private lookupAny(root: number, key: number): number | undefined {
    let n = this.node(root);
    for (;;) {
      const i = ThinPool.search(n, key);
      if (n.leaf) return i >= 0 && n.keys[i] === key ? n.vals[i] : undefined;
      if (i < 0) return undefined;
      n = this.node(n.vals[i]!);
    }
  }

  private dropValue(v: number, kind: TreeKind): void {
    if (kind.values === 'data') this.dataDec(v, true);
    else if (kind.values === 'subtree') this.deleteTree(v, MAPPING);
  }

  /** dm_btree_del: drops one reference; the last one releases the children. */
  private deleteTree(b: number, kind: TreeKind): void {
    if (this.metaRefs[b]! > 1) {
      this.metaDec(b);
      return;
    }
    const n = this.node(b);
    if (!n.leaf) for (const v of n.vals) this.deleteTree(v, kind);
    else if (kind.values === 'data') for (const v of n.vals) this.dataDec(v, this.passdownOnDelete);
    this.metaDec(b);
    this.nodes.delete(b);
  }

  /** Whether freeing blocks by device deletion punches the loop file (only after a BLKDISCARD did). */
  private passdownOnDelete = false;

  // ---- transactions ----

  /** dm_pool_commit_metadata: the shadows become the committed state; freed blocks become allocatable. */
  commit(): void {
    this.txNew = new Set();
    this.txFreed = new Set();
    this.stats.commits++;
  }

  // ---- thin devices ----

  private setTop(id: number, root: number): void {
    // the top-level leaf value is rewritten in place (the old root was shadowed, so it holds no extra reference)
    const top = this.shadow(this.topRoot, TOP);
    this.topRoot = top;
    const n = this.node(top);
    const i = ThinPool.search(n, id);
    if (n.leaf && i >= 0 && n.keys[i] === id) {
      n.vals[i] = root;
      return;
    }
    this.topRoot = this.insertNoDrop(top, id, root, TOP);
  }

  private insertNoDrop(root: number, key: number, val: number, kind: TreeKind): number {
    return this.insert(root, key, val, undefined, kind);
  }

  private writeDetails(d: ThinDetails): void {
    this.detailsRoot = this.insert(this.detailsRoot, d.id, d.mappedBlocks, undefined, DETAILS);
  }

  /** create_thin: an empty mapping tree and a details entry. */
  createThin(id: number): void {
    if (this.devices.has(id)) throw new Error(`thin device ${id} exists`);
    const root = this.newNode({ leaf: true, keys: [], vals: [], times: [] });
    const d = { id, mappedBlocks: 0, creationTime: this.time, snapshottedTime: this.time, root };
    this.devices.set(id, d);
    this.setTop(id, root);
    this.writeDetails(d);
    this.commit();
  }

  /** create_snap: one reference on the origin's root, a details entry; the pool time moves on. O(1). */
  createSnap(id: number, originId: number): void {
    const o = this.device(originId);
    if (this.devices.has(id)) throw new Error(`thin device ${id} exists`);
    this.metaInc(o.root);
    this.time = (this.time + 1) % 2 ** thinFormat.timeBits;
    o.snapshottedTime = this.time;
    const d = { id, mappedBlocks: o.mappedBlocks, creationTime: this.time, snapshottedTime: this.time, root: o.root };
    this.devices.set(id, d);
    this.setTop(id, o.root);
    this.writeDetails(d);
    this.writeDetails(o);
    this.commit();
  }

  /** delete: the device's tree loses a reference; blocks nothing else maps are freed. */
  deleteThin(id: number, discarded: boolean): void {
    const d = this.device(id);
    this.passdownOnDelete = discarded;
    this.deleteTree(d.root, MAPPING);
    this.passdownOnDelete = false;
    this.devices.delete(id);
    this.topRoot = this.remove(this.topRootNoDrop(), id, { ...TOP, values: 'none' });
    this.detailsRoot = this.remove(this.detailsRoot, id, DETAILS);
    this.commit();
  }

  private topRootNoDrop(): number {
    return this.topRoot;
  }

  device(id: number): ThinDetails & { root: number } {
    const d = this.devices.get(id);
    if (d === undefined) throw new Error(`no thin device ${id}`);
    return d;
  }

  /** How many pool blocks writing these virtual blocks would take (provision or break sharing). */
  blocksNeeded(id: number, vblocks: Iterable<number>): number {
    const d = this.device(id);
    let n = 0;
    for (const v of vblocks) if (this.mappedTime(d.root, v) < d.snapshottedTime) n++;
    return n;
  }

  /**
   * A write bio to virtual block `v`: an unprovisioned block gets a whole pool block; a block mapped before the
   * device (or its origin) was last snapshotted is shared, and the write breaks sharing by copying the whole block.
   * Returns what it took: WRITE_IN_PLACE, WRITE_PROVISIONED or WRITE_BROKE_SHARING.
   */
  write(id: number, v: number): WriteOutcome {
    const d = this.device(id);
    const t = this.mappedTime(d.root, v);
    if (t >= d.snapshottedTime) return WRITE_IN_PLACE;
    if (this.freeDataBlocks === 0) fail('ENOSPC');
    const b = this.allocData();
    if (t < 0) {
      this.stats.provisioned++;
      d.mappedBlocks++;
    } else {
      this.stats.sharingBroken++;
      this.stats.copyBytes += this.config.dataBlockBytes;
    }
    d.root = this.insert(d.root, v, b, this.time, MAPPING);
    this.setTop(id, d.root);
    return t < 0 ? WRITE_PROVISIONED : WRITE_BROKE_SHARING;
  }

  /** A discard of whole pool blocks: each mapped one is unmapped (passed down to the data device when not shared). */
  discard(id: number, v: number): void {
    const d = this.device(id);
    if (this.mappedTime(d.root, v) < 0) return;
    d.root = this.remove(d.root, v, MAPPING);
    d.mappedBlocks--;
    this.stats.discarded++;
    this.setTop(id, d.root);
  }

  /** The virtual blocks a device maps, ascending (for BLKDISCARD over the whole device and inspection). */
  mappedBlocks(id: number): number[] {
    const out: number[] = [];
    const walk = (b: number) => {
      const n = this.node(b);
      if (n.leaf) out.push(...n.keys);
      else for (const v of n.vals) walk(v);
    };
    walk(this.device(id).root);
    return out;
  }

  /** The device's mapping tree: depth and node counts, and whether its root is shared. */
  treeShape(id: number): { depth: number; nodes: number; leaves: number; sharedRoot: boolean } {
    const d = this.device(id);
    let depth = 0;
    let nodes = 0;
    let leaves = 0;
    const walk = (b: number, level: number) => {
      const n = this.node(b);
      nodes++;
      depth = Math.max(depth, level);
      if (n.leaf) leaves++;
      else for (const v of n.vals) walk(v, level + 1);
    };
    walk(d.root, 1);
    return { depth, nodes, leaves, sharedRoot: this.metaRefs[d.root]! > 1 };
  }

  refCount(poolBlock: number): number {
    return this.dataRefs[poolBlock]!;
  }

  // ---- figures ----

  get usedDataBlocks(): number {
    return this.dataUsed;
  }

  /** Used metadata blocks: the live nodes, the fixed blocks, and the overflow ref-count btrees' nodes. */
  get usedMetadataBlocks(): number {
    const rc = btreeMaxEntries(thinFormat.valueBytes.refcount);
    return this.metaUsed + nodesForEntries(this.dataOverflow, rc) + nodesForEntries(this.metaOverflow, rc);
  }

  /** Bytes the loop files hold on the host filesystem (sparse: only written, unpunched blocks). */
  get loopFileBytes(): { data: number; metadata: number } {
    if (!this.config.loopFiles) return { data: 0, metadata: 0 };
    return { data: this.dataFileBlocks * this.config.dataBlockBytes, metadata: this.metaFileHighWater * thinFormat.metadataBlockBytes };
  }

  toJSON(): unknown {
    return {
      dataBlockBytes: this.config.dataBlockBytes,
      dataBlocks: { used: this.usedDataBlocks, total: this.nrDataBlocks },
      metadataBlocks: { used: this.usedMetadataBlocks, total: this.nrMetaBlocks, fixed: this.staticMetaBlocks },
      overflowEntries: { data: this.dataOverflow, metadata: this.metaOverflow },
      time: this.time,
      devices: [...this.devices.values()].map(d => ({ id: d.id, mappedBlocks: d.mappedBlocks, creationTime: d.creationTime, snapshottedTime: d.snapshottedTime, tree: this.treeShape(d.id) })),
      stats: { ...this.stats },
    };
  }
}

/** `docker info` (Docker 1.3 Status()): used/total from the pool status line, printed with units.HumanSize (SI, %.4g). */
export function dockerInfo(pool: ThinPool): Record<string, string> {
  const mb = thinFormat.metadataBlockBytes;
  return {
    'Pool Blocksize': humanSizeSI(pool.config.dataBlockBytes),
    'Data Space Used': humanSizeSI(pool.usedDataBlocks * pool.config.dataBlockBytes),
    'Data Space Total': humanSizeSI(pool.nrDataBlocks * pool.config.dataBlockBytes),
    'Metadata Space Used': humanSizeSI(pool.usedMetadataBlocks * mb),
    'Metadata Space Total': humanSizeSI(pool.nrMetaBlocks * mb),
  };
}

/**
 * thin_metadata_size, current Rust tool (thin-provisioning-tools src/thin/metadata_size.rs): leaves at 50% residency
 * (calc_max_entries / 2 = 126 mappings), plus the superblock and one root per thin device. Bytes.
 */
export function thinMetadataSize(poolBytes: number, blockBytes: number, maxThins: number): number {
  const perLeaf = btreeMaxEntries(thinFormat.valueBytes.mapping) / 2;
  const leaves = Math.ceil(Math.floor(poolBytes / blockBytes) / perLeaf);
  return Math.min(1 + leaves + maxThins, thinFormat.maxMetadataBlocks) * thinFormat.metadataBlockBytes;
}

/**
 * thin_metadata_size, the 2013/14 C tool: mappings_per_block = (4096 - 64) / 16 = 252,
 * r = 1 + 2 * pool_blocks / 252 + max_thins blocks ("double-fold # of nodes, because they aren't fully populated").
 */
export function thinMetadataSizeC(poolBytes: number, blockBytes: number, maxThins: number): number {
  const mappingsPerBlock = Math.floor((4096 - 64) / 16);
  const blocks = 1 + (2 * Math.floor(poolBytes / blockBytes)) / mappingsPerBlock + maxThins;
  return Math.ceil(blocks) * thinFormat.metadataBlockBytes;
}
