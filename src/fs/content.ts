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

function continues(a: Extent, b: Extent): boolean {
  if (a.offset + a.length !== b.offset || a.source !== b.source) return false;
  return a.source.kind === 'zero' || a.at + a.length === b.at;
}

/** The content of a regular file: its size and the extents written below it. */
export class FileContent {
  constructor(
    public size = 0,
    private extents: Extent[] = [],
  ) {}

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
    return new FileContent(this.size, this.extents.slice());
  }

  /** A copy in which every fully zero block of `blockBytes` is a hole (AUFS copy-up, `cp --sparse=always`). */
  cloneSparse(blockBytes: number): FileContent {
    const out = new FileContent(this.size);
    for (const e of this.extents) {
      let start = e.offset;
      const end = e.offset + e.length;
      while (start < end) {
        const blockEnd = Math.min(end, (Math.floor(start / blockBytes) + 1) * blockBytes);
        const len = blockEnd - start;
        const blockStart = Math.floor(start / blockBytes) * blockBytes;
        const wholeBlockInExtent = blockStart >= e.offset && blockStart + blockBytes <= end;
        const zeroBlock = wholeBlockInExtent && sourceIsZero(e.source, e.at + (start - e.offset), len);
        if (!zeroBlock) out.write(start, { source: e.source, at: e.at + (start - e.offset), length: len });
        start = blockEnd;
      }
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
    let n = 0;
    for (const e of this.extents) n += e.length;
    return n;
  }

  /** Distinct blocks of `blockBytes` holding any written byte: what a block-based fs allocates for the data. */
  allocatedBlocks(blockBytes: number): number {
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
    const i = this.firstEndingAfter(offset);
    let j = i;
    const pieces: Extent[] = [];
    while (j < this.extents.length && this.extents[j]!.offset < end) {
      const e = this.extents[j]!;
      if (e.offset < offset) pieces.push({ offset: e.offset, length: offset - e.offset, source: e.source, at: e.at });
      j++;
    }
    const added: Extent = { offset, length: slice.length, source: slice.source, at: slice.at };
    pieces.push(added);
    if (j > i) {
      const last = this.extents[j - 1]!;
      const lastEnd = last.offset + last.length;
      if (lastEnd > end) {
        pieces.push({ offset: end, length: lastEnd - end, source: last.source, at: last.at + (end - last.offset) });
      }
    }
    this.extents.splice(i, j - i, ...pieces);
    this.coalesceAround(i, i + pieces.length - 1);
    if (end > this.size) this.size = end;
  }

  private coalesceAround(from: number, to: number): void {
    const lo = Math.max(0, from - 1);
    const hi = Math.min(this.extents.length - 1, to + 1);
    for (let k = hi; k > lo; k--) {
      const a = this.extents[k - 1]!;
      const b = this.extents[k]!;
      if (continues(a, b)) this.extents.splice(k - 1, 2, { ...a, length: a.length + b.length });
    }
  }

  /** truncate(2): shrinking drops the bytes past `size`, growing adds a hole. */
  truncate(size: number): void {
    if (size < this.size) {
      let i = this.firstEndingAfter(size);
      if (i < this.extents.length) {
        const e = this.extents[i]!;
        if (e.offset < size) {
          this.extents[i] = { ...e, length: size - e.offset };
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
