/**
 * Symbolic file content: an extent map of written ranges over holes (what an fs's extent tree records).
 *
 * Bytes are never materialised for fills: a 1 TiB sparse file or a 2.5 MB synthetic binary costs memory in proportion
 * to the number of writes, and `read` still returns the exact bytes. Extents are immutable, so copying a file (copy-up,
 * a vfs layer copy) shares them: the simulator accounts the bytes a real copy writes without holding them twice.
 */

/** Where an extent's bytes come from; `at` is the byte index within the source. */
export type DataSource =
  | { readonly kind: 'bytes'; readonly bytes: Uint8Array }
  | { readonly kind: 'zero' }
  /** kernel-replay's `pattern` fill: byte k of the write is (7k + 3) mod 256. */
  | { readonly kind: 'pattern' }
  /** A deterministic pseudo-random stream: byte k is a hash of (seed, k). */
  | { readonly kind: 'random'; readonly seed: number };

export const ZERO_SOURCE: DataSource = Object.freeze({ kind: 'zero' });
export const PATTERN_SOURCE: DataSource = Object.freeze({ kind: 'pattern' });

export function bytesSource(bytes: Uint8Array): DataSource {
  return { kind: 'bytes', bytes };
}

export function randomSource(seed: number): DataSource {
  return { kind: 'random', seed: seed >>> 0 };
}

/** A contiguous written range of a file: bytes [offset, offset+length) come from source[at, at+length). */
export interface Extent {
  readonly offset: number;
  readonly length: number;
  readonly source: DataSource;
  readonly at: number;
}

/** A slice of data to write: `length` bytes of `source` starting at `at`. */
export interface DataSlice {
  readonly source: DataSource;
  readonly at: number;
  readonly length: number;
}

function randomWord(seed: number, index: number): number {
  // splitmix32-style integer hash: cheap, stateless, so any range of the stream can be read directly
  let z = (seed ^ Math.imul(index + 1, 0x9e3779b9)) >>> 0;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  return (z ^ (z >>> 16)) >>> 0;
}

/** Copies `length` bytes of `source` starting at `at` into `out` at `outOffset`. */
export function fillFromSource(source: DataSource, at: number, length: number, out: Uint8Array, outOffset: number): void {
  switch (source.kind) {
    case 'bytes':
      out.set(source.bytes.subarray(at, at + length), outOffset);
      return;
    case 'zero':
      out.fill(0, outOffset, outOffset + length);
      return;
    case 'pattern':
      for (let k = 0; k < length; k++) out[outOffset + k] = ((at + k) * 7 + 3) & 0xff;
      return;
    case 'random': {
      for (let k = 0; k < length; k++) {
        const i = at + k;
        out[outOffset + k] = (randomWord(source.seed, Math.floor(i / 4)) >>> ((i % 4) * 8)) & 0xff;
      }
      return;
    }
  }
}

function sourceIsZero(source: DataSource, at: number, length: number): boolean {
  if (source.kind === 'zero') return true;
  if (source.kind !== 'bytes') return false;
  const b = source.bytes;
  for (let i = at; i < at + length; i++) if (b[i] !== 0) return false;
  return true;
}

/**
 * Every extent is built here, with its fields in one order: extents then share one hidden class, which keeps the
 * property reads of the hot loops (binary search, block counting) monomorphic.
 */
function extent(offset: number, length: number, source: DataSource, at: number): Extent {
  return { offset, length, source, at };
}

function continues(a: Extent, b: Extent): boolean {
  if (a.offset + a.length !== b.offset || a.source !== b.source) return false;
  return a.source.kind === 'zero' || a.at + a.length === b.at;
}

/** The content of a regular file: its size and the extents written below it. */
export class FileContent {
  /**
   * Known to have no hole: the extents cover [0, size) exactly. Then the data bytes and the blocks they take follow
   * from the size alone, without reading the extents (which, across thousands of files, are cache misses). False
   * means "not known": the exact answers come from the extents.
   */
  private denseKnown: boolean;

  constructor(
    public size = 0,
    private extents: Extent[] = [],
  ) {
    this.denseKnown = size === 0 && extents.length === 0;
  }

  /** Whether the content is known to have no hole (see `denseKnown`). */
  get dense(): boolean {
    return this.denseKnown;
  }

  static fromBytes(bytes: Uint8Array): FileContent {
    const c = new FileContent();
    if (bytes.length > 0) c.write(0, { source: bytesSource(bytes), at: 0, length: bytes.length });
    return c;
  }

  static fromSlice(slice: DataSlice): FileContent {
    const c = new FileContent();
    if (slice.length > 0) c.write(0, slice);
    return c;
  }

  /** A copy sharing the (immutable) extents: what a byte-for-byte file copy produces. */
  clone(): FileContent {
    const c = new FileContent(this.size, this.extents.slice());
    c.denseKnown = this.denseKnown;
    return c;
  }

  /** A copy in which every fully zero block of `blockBytes` is a hole (AUFS copy-up, `cp --sparse=always`). */
  cloneSparse(blockBytes: number): FileContent {
    const out = new FileContent(this.size);
    for (const e of this.extents) {
      const end = e.offset + e.length;
      // only a zero fill or zero bytes can make a hole: other sources go over whole (one write, not one per block)
      if (e.source.kind !== 'zero' && e.source.kind !== 'bytes') {
        out.write(e.offset, { source: e.source, at: e.at, length: e.length });
        continue;
      }
      // the data between zero blocks is written as one run
      let runStart = e.offset;
      let start = e.offset;
      while (start < end) {
        const blockStart = Math.floor(start / blockBytes) * blockBytes;
        const blockEnd = Math.min(end, blockStart + blockBytes);
        const wholeBlockInExtent = blockStart >= e.offset && blockStart + blockBytes <= end;
        if (wholeBlockInExtent && sourceIsZero(e.source, e.at + (start - e.offset), blockEnd - start)) {
          if (start > runStart) out.write(runStart, { source: e.source, at: e.at + (runStart - e.offset), length: start - runStart });
          runStart = blockEnd;
        }
        start = blockEnd;
      }
      if (end > runStart) out.write(runStart, { source: e.source, at: e.at + (runStart - e.offset), length: end - runStart });
    }
    return out;
  }

  get extentCount(): number {
    return this.extents.length;
  }

  /** The written (non-hole) ranges, in order. */
  listExtents(): readonly Extent[] {
    return this.extents;
  }

  /** Bytes that are data rather than holes (what a hole-skipping copy reads and writes). */
  dataBytes(): number {
    if (this.denseKnown) return this.size;
    let n = 0;
    for (const e of this.extents) n += e.length;
    return n;
  }

  /** Distinct blocks of `blockBytes` holding any written byte: what a block-based fs allocates for the data. */
  allocatedBlocks(blockBytes: number): number {
    if (this.denseKnown) return Math.ceil(this.size / blockBytes);
    let count = 0;
    let lastBlock = -1;
    for (const e of this.extents) {
      const first = Math.floor(e.offset / blockBytes);
      const last = Math.floor((e.offset + e.length - 1) / blockBytes);
      count += last - Math.max(first, lastBlock + 1) + 1;
      if (last > lastBlock) lastBlock = last;
    }
    return count;
  }

  /** Index of the first extent ending after `offset`. */
  private firstEndingAfter(offset: number): number {
    let lo = 0;
    let hi = this.extents.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const e = this.extents[mid]!;
      if (e.offset + e.length <= offset) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** Replaces bytes [offset, offset+slice.length) with the slice; the file grows if needed. */
  write(offset: number, slice: DataSlice): void {
    if (slice.length === 0) return;
    const end = offset + slice.length;
    const extents = this.extents;
    const added = extent(offset, slice.length, slice.source, slice.at);
    // the extents [i, j) overlap the write: the part of the first before it and of the last after it survive
    const i = this.firstEndingAfter(offset);
    let j = i;
    while (j < extents.length && extents[j]!.offset < end) j++;
    let head: Extent | undefined;
    let tail: Extent | undefined;
    if (j > i) {
      const first = extents[i]!;
      if (first.offset < offset) head = extent(first.offset, offset - first.offset, first.source, first.at);
      const last = extents[j - 1]!;
      const lastEnd = last.offset + last.length;
      if (lastEnd > end) tail = extent(end, lastEnd - end, last.source, last.at + (end - last.offset));
    }
    const count = 1 + (head !== undefined ? 1 : 0) + (tail !== undefined ? 1 : 0);
    this.replaceRange(i, j, head, added, tail);
    this.coalesceAround(i, i + count - 1);
    // a write starting past the end leaves a hole before it
    if (offset > this.size) this.denseKnown = false;
    if (end > this.size) this.size = end;
  }

  /**
   * Puts [head, added, tail] (the defined ones) in place of extents [i, j). The common cases — an append, or an
   * overwrite replacing as many extents as it leaves — need no splice and no temporary array.
   */
  private replaceRange(i: number, j: number, head: Extent | undefined, added: Extent, tail: Extent | undefined): void {
    const extents = this.extents;
    const removed = j - i;
    if (head === undefined && tail === undefined) {
      if (i === extents.length) extents.push(added);
      else if (removed === 1) extents[i] = added;
      else extents.splice(i, removed, added);
    } else if (head !== undefined && tail !== undefined) {
      if (removed === 3) {
        extents[i] = head;
        extents[i + 1] = added;
        extents[i + 2] = tail;
      } else extents.splice(i, removed, head, added, tail);
    } else {
      const a = head ?? added;
      const b = tail ?? added;
      if (removed === 2) {
        extents[i] = a;
        extents[i + 1] = b;
      } else extents.splice(i, removed, a, b);
    }
  }

  private coalesceAround(from: number, to: number): void {
    const lo = Math.max(0, from - 1);
    const hi = Math.min(this.extents.length - 1, to + 1);
    for (let k = hi; k > lo; k--) {
      const a = this.extents[k - 1]!;
      const b = this.extents[k]!;
      if (continues(a, b)) this.extents.splice(k - 1, 2, extent(a.offset, a.length + b.length, a.source, a.at));
    }
  }

  /** truncate(2): shrinking drops the bytes past `size`, growing adds a hole. */
  truncate(size: number): void {
    // growing adds a hole; shrinking keeps a hole-free file hole-free
    if (size > this.size) this.denseKnown = false;
    if (size < this.size) {
      let i = this.firstEndingAfter(size);
      if (i < this.extents.length) {
        const e = this.extents[i]!;
        if (e.offset < size) {
          this.extents[i] = extent(e.offset, size - e.offset, e.source, e.at);
          i++;
        }
        this.extents.length = i;
      }
    }
    this.size = size;
  }

  /** pread(2): up to `length` bytes from `offset`, holes read as zeros. */
  read(offset: number, length: number): Uint8Array {
    const end = Math.min(this.size, offset + length);
    if (end <= offset) return new Uint8Array(0);
    const out = new Uint8Array(end - offset);
    for (let i = this.firstEndingAfter(offset); i < this.extents.length; i++) {
      const e = this.extents[i]!;
      if (e.offset >= end) break;
      const from = Math.max(e.offset, offset);
      const to = Math.min(e.offset + e.length, end);
      fillFromSource(e.source, e.at + (from - e.offset), to - from, out, from - offset);
    }
    return out;
  }

  toJSON(): { size: number; extents: { offset: number; length: number; source: string }[] } {
    return {
      size: this.size,
      extents: this.extents.map(e => ({ offset: e.offset, length: e.length, source: e.source.kind })),
    };
  }
}

/** Distinct blocks of `blockBytes` in [start, end) that hold any written byte of `content`. */
export function allocatedBlocksInRange(content: FileContent, start: number, end: number, blockBytes: number): number {
  if (end <= start) return 0;
  const firstBlock = Math.floor(start / blockBytes);
  const lastBlock = Math.floor((end - 1) / blockBytes);
  if (content.dense) {
    // the data is [0, size): its blocks are 0 .. (size-1)/blockBytes
    if (content.size === 0) return 0;
    return Math.max(0, Math.min(lastBlock, Math.floor((content.size - 1) / blockBytes)) - firstBlock + 1);
  }
  const extents = content.listExtents();
  let lo = 0;
  let hi = extents.length;
  const from = firstBlock * blockBytes;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    const e = extents[mid]!;
    if (e.offset + e.length <= from) lo = mid + 1;
    else hi = mid;
  }
  let count = 0;
  let counted = firstBlock - 1;
  for (let i = lo; i < extents.length; i++) {
    const e = extents[i]!;
    const a = Math.max(firstBlock, Math.floor(e.offset / blockBytes), counted + 1);
    if (a > lastBlock) break;
    const b = Math.min(lastBlock, Math.floor((e.offset + e.length - 1) / blockBytes));
    if (b >= a) {
      count += b - a + 1;
      counted = b;
    }
  }
  return count;
}
