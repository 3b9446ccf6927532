import type { ZapParams } from './params.js';

/** One block of a ZAP object: its logical size and the bytes in it that carry something (for the compression estimate). */
export interface ZapBlock {
  readonly lsize: number;
  readonly live: number;
}

interface Leaf {
  readonly blkid: number;
  prefix: number;
  prefixLen: number;
  chunks: number;
  readonly names: Map<string, { hash: number; chunks: number }>;
}

/** FNV-1a over the UTF-8 bytes: a deterministic stand-in for the ZAP's salted CRC64 hash (only its top bits are used). */
function hash32(name: string): number {
  let h = 0x811c9dc5;
  if (isAscii(name)) {
    for (let i = 0; i < name.length; i++) h = Math.imul(h ^ name.charCodeAt(i), 0x01000193) >>> 0;
  } else {
    for (const b of Buffer.from(name)) h = Math.imul(h ^ b, 0x01000193) >>> 0;
  }
  return h >>> 0;
}

function isAscii(s: string): boolean {
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) >= 0x80) return false;
  return true;
}

/** Bytes of a name in UTF-8 (its length when ASCII, as names almost always are). */
function nameBytes(name: string): number {
  return isAscii(name) ? name.length : Buffer.byteLength(name);
}

const NO_BLOCKS: readonly number[] = Object.freeze([]);
const BLOCK_ZERO: readonly number[] = Object.freeze([0]);

function topBits(hash: number, n: number): number {
  return n === 0 ? 0 : hash >>> (32 - n);
}

/**
 * A ZAP object (a ZPL directory, the SA registry, a dsl_dir's child map): a microzap (one block of 64-byte entries
 * that grows 512 bytes at a time) until a name is too long, a value is not one uint64, or the block would pass its
 * maximum; then a fatzap (mzap_upgrade): a header block with the pointer table, and leaf blocks that split by hash
 * prefix when full (extendible hashing), the pointer table doubling when a leaf's prefix reaches its width.
 * [R] OpenZFS zap_micro.c, zap.c, zap_leaf.c; On-Disk Spec ch. 5.
 */
export class Zap {
  micro: boolean;
  microBytes: number;
  private readonly microNames = new Map<string, number>();
  /** Sum over the microzap's entries of the bytes each keeps after compression (value, cd, name): see block(). */
  private microEntryLive = 0;
  private leaves: Leaf[] = [];
  /** Pointer table width: 2^ptrShift entries. */
  private ptrShift = 0;
  /** Blocks of an external pointer table (none while it fits in half of block 0). */
  private ptrtblBlocks: number[] = [];
  private nextBlk = 1;
  /**
   * Block ids to (re)write since the caller last asked; freed block ids in `freed`. A microzap only ever dirties its
   * one block: `microDirty` stands for {0} then, so an entry added or removed builds nothing.
   */
  private microDirty = false;
  private dirty = new Set<number>();
  private freed = new Set<number>();

  constructor(
    private readonly p: ZapParams,
    fat = false,
  ) {
    this.micro = true;
    this.microBytes = p.microGrowBytes;
    this.microDirty = true;
    if (fat) this.upgrade();
  }

  clone(): Zap {
    const z = Object.create(Zap.prototype) as Zap;
    Object.assign(z, this, {
      microNames: new Map(this.microNames),
      leaves: this.leaves.map(l => ({ ...l, names: new Map(l.names) })),
      ptrtblBlocks: [...this.ptrtblBlocks],
      microDirty: false,
      dirty: new Set<number>(),
      freed: new Set<number>(),
    });
    return z;
  }

  get size(): number {
    return this.micro ? this.microNames.size : this.leaves.reduce((n, l) => n + l.names.size, 0);
  }

  /** The data block size the ZAP's dnode records (dn_datablkszsec). */
  get blockBytes(): number {
    return this.micro ? this.microBytes : this.p.fatBlockBytes;
  }

  private get microCapacity(): number {
    return this.microBytes / this.p.microEntryBytes - 1;
  }

  private leafCapacity(): number {
    const bs = this.p.fatBlockBytes;
    return (bs - this.p.leafHashEntryBytes * (bs / 32)) / this.p.leafChunkBytes - 2;
  }

  private entryChunks(name: string): number {
    // one entry chunk, the name (with its NUL) in array chunks, the 8-byte value in one array chunk
    return 1 + Math.ceil((nameBytes(name) + 1) / this.p.leafArrayBytes) + Math.ceil(8 / this.p.leafArrayBytes);
  }

  add(name: string): void {
    if (this.micro) {
      const bytes = nameBytes(name);
      if (bytes + 1 > this.p.microNameMax) {
        this.upgrade();
      } else if (this.microNames.size >= this.microCapacity) {
        const grown = this.microBytes + this.p.microGrowBytes;
        if (grown > this.p.microMaxBytes) this.upgrade();
        else this.microBytes = grown;
      }
      if (this.micro) {
        const before = this.microNames.size;
        this.microNames.set(name, bytes);
        if (this.microNames.size > before) this.microEntryLive += 15 + bytes;
        this.microDirty = true;
        return;
      }
    }
    this.fatAdd(name);
  }

  remove(name: string): void {
    if (this.micro) {
      if (this.microNames.delete(name)) this.microEntryLive -= 15 + nameBytes(name);
      this.microDirty = true;
      return;
    }
    const h = hash32(name);
    const leaf = this.leafFor(h);
    const e = leaf.names.get(name);
    if (e === undefined) return;
    leaf.names.delete(name);
    leaf.chunks -= e.chunks;
    this.dirty.add(leaf.blkid);
    this.dirty.add(0); // zap_num_entries in the header
  }

  /** mzap_upgrade: a header block (0) with the embedded pointer table and one leaf (1); every entry re-added. */
  private upgrade(): void {
    const names = [...this.microNames.keys()];
    this.micro = false;
    this.microNames.clear();
    this.microEntryLive = 0;
    if (this.microDirty) this.dirty.add(0);
    this.microDirty = false;
    this.ptrShift = 0;
    this.leaves = [{ blkid: this.nextBlk++, prefix: 0, prefixLen: 0, chunks: 0, names: new Map() }];
    this.dirty.add(0);
    this.dirty.add(this.leaves[0]!.blkid);
    for (const n of names) this.fatAdd(n);
  }

  private leafFor(h: number): Leaf {
    for (const l of this.leaves) if (topBits(h, l.prefixLen) === l.prefix) return l;
    throw new Error('zap: no leaf for hash');
  }

  private fatAdd(name: string): void {
    const h = hash32(name);
    const need = this.entryChunks(name);
    let leaf = this.leafFor(h);
    while (leaf.chunks + need > this.leafCapacity()) {
      if (leaf.prefixLen >= 32) break;
      this.split(leaf);
      leaf = this.leafFor(h);
    }
    leaf.names.set(name, { hash: h, chunks: need });
    leaf.chunks += need;
    this.dirty.add(leaf.blkid);
    this.dirty.add(0);
  }

  /** zap_expand_leaf: a new leaf takes the entries whose next hash bit is 1; the pointer table doubles first if needed. */
  private split(leaf: Leaf): void {
    if (leaf.prefixLen === this.ptrShift) this.growPtrtbl();
    const bit = leaf.prefixLen;
    const other: Leaf = { blkid: this.nextBlk++, prefix: (leaf.prefix << 1) | 1, prefixLen: bit + 1, chunks: 0, names: new Map() };
    leaf.prefix <<= 1;
    leaf.prefixLen = bit + 1;
    for (const [n, e] of leaf.names) {
      if (topBits(e.hash, bit + 1) === other.prefix) {
        leaf.names.delete(n);
        leaf.chunks -= e.chunks;
        other.names.set(n, e);
        other.chunks += e.chunks;
      }
    }
    this.leaves.push(other);
    this.dirty.add(leaf.blkid);
    this.dirty.add(other.blkid);
    this.dirty.add(0);
    for (const b of this.ptrtblBlocks) this.dirty.add(b);
  }

  /** zap_grow_ptrtbl: the table doubles; past half of block 0 it moves to blocks of its own (the old ones are freed). */
  private growPtrtbl(): void {
    this.ptrShift++;
    const bytes = (1 << this.ptrShift) * this.p.ptrtblEntryBytes;
    if (bytes <= this.p.fatBlockBytes / 2) return;
    for (const b of this.ptrtblBlocks) this.freed.add(b);
    const n = Math.ceil(bytes / this.p.fatBlockBytes);
    this.ptrtblBlocks = [];
    for (let i = 0; i < n; i++) this.ptrtblBlocks.push(this.nextBlk++);
    for (const b of this.ptrtblBlocks) this.dirty.add(b);
  }

  /** Block ids written since the last call, cleared by the call. */
  takeDirty(): readonly number[] {
    if (this.microDirty) {
      this.microDirty = false;
      return BLOCK_ZERO;
    }
    if (this.dirty.size === 0) return NO_BLOCKS;
    const out = [...this.dirty];
    this.dirty.clear();
    return out;
  }

  /** Block ids given up since the last call, cleared by the call. */
  takeFreed(): readonly number[] {
    if (this.freed.size === 0) return NO_BLOCKS;
    const out = [...this.freed];
    this.freed.clear();
    return out;
  }

  /** A microzap's one block was changed since the last call (cleared by the call); false for a fatzap. */
  takeMicroDirty(): boolean {
    const d = this.microDirty;
    this.microDirty = false;
    return d;
  }

  hasDirty(): boolean {
    return this.microDirty || this.dirty.size > 0 || this.freed.size > 0;
  }

  /**
   * A block's size and live bytes, or undefined if the ZAP has no such block. Live bytes [estimate]: what survives
   * compression of a mostly-zero block: the header, each entry's value, cd and name (microzap); the header and the
   * leaf pointers (fatzap block 0); the header, hash slots in use and used chunks (leaf).
   */
  block(blkid: number): ZapBlock | undefined {
    const live = this.blockLive(blkid);
    return live < 0 ? undefined : { lsize: this.blockLsize(blkid), live };
  }

  /** Logical size of block `blkid` (of a block the ZAP holds). */
  blockLsize(_blkid: number): number {
    return this.micro ? this.microBytes : this.p.fatBlockBytes;
  }

  /** block(blkid).live without building the answer; -1 when the ZAP has no such block. */
  blockLive(blkid: number): number {
    const p = this.p;
    if (this.micro) return blkid === 0 ? p.microHeaderBytes + this.microEntryLive : -1;
    if (blkid === 0) return 128 + this.leaves.length * p.ptrtblEntryBytes;
    if (this.ptrtblBlocks.includes(blkid)) return Math.min(p.fatBlockBytes, this.leaves.length * p.ptrtblEntryBytes);
    const leaf = this.leaves.find(l => l.blkid === blkid);
    if (leaf === undefined) return -1;
    return p.leafHeaderBytes + leaf.names.size * p.leafHashEntryBytes + leaf.chunks * p.leafChunkBytes;
  }

  /** Every block id the ZAP holds. */
  blockIds(): number[] {
    if (this.micro) return [0];
    return [0, ...this.ptrtblBlocks, ...this.leaves.map(l => l.blkid)];
  }

  toJSON(): unknown {
    return this.micro
      ? { kind: 'microzap', entries: this.size, blockBytes: this.microBytes }
      : { kind: 'fatzap', entries: this.size, leaves: this.leaves.length, ptrtblShift: this.ptrShift, externalPtrtblBlocks: this.ptrtblBlocks.length };
  }
}
