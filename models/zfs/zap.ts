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
  for (const b of Buffer.from(name)) h = Math.imul(h ^ b, 0x01000193) >>> 0;
  return h >>> 0;
}

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
  private leaves: Leaf[] = [];
  /** Pointer table width: 2^ptrShift entries. */
  private ptrShift = 0;
  /** Blocks of an external pointer table (none while it fits in half of block 0). */
  private ptrtblBlocks: number[] = [];
  private nextBlk = 1;
  /** Block ids to (re)write since the caller last asked; freed block ids in `freed`. */
  private dirty = new Set<number>();
  private freed = new Set<number>();

  constructor(
    private readonly p: ZapParams,
    fat = false,
  ) {
    this.micro = true;
    this.microBytes = p.microGrowBytes;
    this.dirty.add(0);
    if (fat) this.upgrade();
  }

  clone(): Zap {
    const z = Object.create(Zap.prototype) as Zap;
    Object.assign(z, this, {
      microNames: new Map(this.microNames),
      leaves: this.leaves.map(l => ({ ...l, names: new Map(l.names) })),
      ptrtblBlocks: [...this.ptrtblBlocks],
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
    return 1 + Math.ceil((Buffer.byteLength(name) + 1) / this.p.leafArrayBytes) + Math.ceil(8 / this.p.leafArrayBytes);
  }

  add(name: string): void {
    if (this.micro) {
      if (Buffer.byteLength(name) + 1 > this.p.microNameMax) {
        this.upgrade();
      } else if (this.microNames.size >= this.microCapacity) {
        const grown = this.microBytes + this.p.microGrowBytes;
        if (grown > this.p.microMaxBytes) this.upgrade();
        else this.microBytes = grown;
      }
    }
    if (this.micro) {
      this.microNames.set(name, Buffer.byteLength(name));
      this.dirty.add(0);
      return;
    }
    this.fatAdd(name);
  }

  remove(name: string): void {
    if (this.micro) {
      this.microNames.delete(name);
      this.dirty.add(0);
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

  /** Block ids written since the last call (and those freed), cleared by the call. */
  takeDirty(): { dirty: number[]; freed: number[] } {
    const out = { dirty: [...this.dirty], freed: [...this.freed] };
    this.dirty.clear();
    this.freed.clear();
    return out;
  }

  hasDirty(): boolean {
    return this.dirty.size > 0 || this.freed.size > 0;
  }

  /**
   * A block's size and live bytes, or undefined if the ZAP has no such block. Live bytes [estimate]: what survives
   * compression of a mostly-zero block: the header, each entry's value, cd and name (microzap); the header and the
   * leaf pointers (fatzap block 0); the header, hash slots in use and used chunks (leaf).
   */
  block(blkid: number): ZapBlock | undefined {
    const p = this.p;
    if (this.micro) {
      if (blkid !== 0) return undefined;
      let live = p.microHeaderBytes;
      for (const len of this.microNames.values()) live += 15 + len;
      return { lsize: this.microBytes, live };
    }
    if (blkid === 0) return { lsize: p.fatBlockBytes, live: 128 + this.leaves.length * p.ptrtblEntryBytes };
    if (this.ptrtblBlocks.includes(blkid)) {
      return { lsize: p.fatBlockBytes, live: Math.min(p.fatBlockBytes, this.leaves.length * p.ptrtblEntryBytes) };
    }
    const leaf = this.leaves.find(l => l.blkid === blkid);
    if (leaf === undefined) return undefined;
    return { lsize: p.fatBlockBytes, live: p.leafHeaderBytes + leaf.names.size * p.leafHashEntryBytes + leaf.chunks * p.leafChunkBytes };
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
