import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  allocatedBlocksInRange,
  bytesSource,
  FileContent,
  PATTERN_SOURCE,
  randomSource,
  ZERO_SOURCE,
  type DataSource,
} from '../../src/fs/content.js';

const text = (s: string) => ({ source: bytesSource(new TextEncoder().encode(s)), at: 0, length: s.length });
const str = (b: Uint8Array) => new TextDecoder().decode(b);

describe('symbolic file content', () => {
  it('reads back exactly what was written, holes as zeros', () => {
    const c = new FileContent();
    c.write(2, text('abc'));
    expect([...c.read(0, 10)]).toEqual([0, 0, 97, 98, 99]);
    expect(c.size).toBe(5);
  });

  it('replaces overlapping ranges and keeps the bytes around them', () => {
    const c = FileContent.fromBytes(new TextEncoder().encode(':xxx:yyy:zzz'));
    c.write(4, text('QQ'));
    expect(str(c.read(0, 100))).toBe(':xxxQQyy:zzz');
    expect(c.extentCount).toBe(3);
  });

  it('holds a 1 TiB sparse file in a handful of extents', () => {
    const c = new FileContent();
    c.write(2 ** 40 - 4, text('end!'));
    c.write(0, text('start'));
    expect(c.size).toBe(2 ** 40);
    expect(c.extentCount).toBe(2);
    expect(c.dataBytes()).toBe(9);
    expect(c.allocatedBlocks(4096)).toBe(2);
    expect(str(c.read(2 ** 40 - 4, 10))).toBe('end!');
  });

  it('merges sequential writes of zeros into one extent (dd)', () => {
    const c = new FileContent();
    for (let i = 0; i < 1000; i++) c.write(i * 65536, { source: ZERO_SOURCE, at: 0, length: 65536 });
    expect(c.extentCount).toBe(1);
    expect(c.allocatedBlocks(4096)).toBe(16000);
  });

  it('truncates and grows with a hole', () => {
    const c = FileContent.fromBytes(new TextEncoder().encode('abcdef'));
    c.truncate(3);
    c.truncate(5);
    expect([...c.read(0, 10)]).toEqual([97, 98, 99, 0, 0]);
    expect(c.dataBytes()).toBe(3);
  });

  it('generates pattern and random fills deterministically from any offset', () => {
    const c = new FileContent();
    c.write(0, { source: PATTERN_SOURCE, at: 0, length: 8 });
    expect([...c.read(0, 8)]).toEqual([3, 10, 17, 24, 31, 38, 45, 52]);
    const r1 = FileContent.fromSlice({ source: randomSource(7), at: 0, length: 4096 });
    const r2 = FileContent.fromSlice({ source: randomSource(7), at: 0, length: 4096 });
    expect(r1.read(100, 50)).toEqual(r2.read(100, 50));
    expect(r1.read(0, 4096)).not.toEqual(new Uint8Array(4096));
  });

  it('shares extents on clone, and the copy changes alone', () => {
    const a = FileContent.fromBytes(new TextEncoder().encode('original'));
    const b = a.clone();
    b.write(0, text('O'));
    expect(str(a.read(0, 8))).toBe('original');
    expect(str(b.read(0, 8))).toBe('Original');
  });

  it('turns fully zero blocks into holes in a sparse copy, keeping the bytes', () => {
    const c = new FileContent();
    c.write(0, { source: ZERO_SOURCE, at: 0, length: 3 * 4096 });
    c.write(4096 + 10, text('x'));
    const sparse = c.cloneSparse(4096);
    expect(sparse.allocatedBlocks(4096)).toBe(1);
    expect(sparse.read(0, 3 * 4096)).toEqual(c.read(0, 3 * 4096));
  });

  it('a sparse copy keeps every byte, holds no fully zero block, and drops nothing else', () => {
    const BS = 512;
    const zeroBytes = bytesSource(new Uint8Array(4 * BS));
    const mixed = bytesSource(Uint8Array.from({ length: 4 * BS }, (_, i) => (i >= BS && i < 2 * BS ? 0 : (i % 7) + 1)));
    const sources = [ZERO_SOURCE, PATTERN_SOURCE, zeroBytes, mixed, randomSource(3)];
    const write = fc.record({ offset: fc.integer({ min: 0, max: 6 * BS }), length: fc.integer({ min: 1, max: 3 * BS }), src: fc.integer({ min: 0, max: sources.length - 1 }), at: fc.integer({ min: 0, max: BS }) });
    fc.assert(
      fc.property(fc.array(write, { maxLength: 8 }), writes => {
        const c = new FileContent();
        for (const w of writes) c.write(w.offset, { source: sources[w.src]!, at: w.at, length: w.length });
        const sparse = c.cloneSparse(BS);
        expect(sparse.size).toBe(c.size);
        expect(sparse.read(0, c.size)).toEqual(c.read(0, c.size));
        const bytes = c.read(0, c.size);
        for (let b = 0; b * BS < c.size; b++) {
          const inSparse = allocatedBlocksInRange(sparse, b * BS, (b + 1) * BS, BS) === 1;
          const inOriginal = allocatedBlocksInRange(c, b * BS, (b + 1) * BS, BS) === 1;
          const whole = (b + 1) * BS <= c.size && c.listExtents().some(e => e.offset <= b * BS && e.offset + e.length >= (b + 1) * BS);
          const zero = bytes.subarray(b * BS, (b + 1) * BS).every(x => x === 0);
          // a block goes only when one extent covers it whole and it is all zeros; a block holding data stays
          if (!zero) expect(inSparse).toBe(inOriginal);
          if (inSparse) expect(inOriginal).toBe(true);
          if (!whole) expect(inSparse).toBe(inOriginal);
        }
      }),
    );
  });
});

/**
 * The extent map as the first, straightforward implementation kept it (temporary array, splice, coalesce around):
 * the fast paths of `FileContent.write` must leave exactly these extents, and the hole-free shortcuts of the block
 * and byte counts must give what counting the extents gives.
 */
describe('symbolic file content against a reference extent map', () => {
  type Ext = { offset: number; length: number; source: DataSource; at: number };
  const continues = (a: Ext, b: Ext) =>
    a.offset + a.length === b.offset && a.source === b.source && (a.source.kind === 'zero' || a.at + a.length === b.at);
  const refWrite = (ex: Ext[], offset: number, source: DataSource, at: number, length: number): void => {
    if (length === 0) return;
    const end = offset + length;
    let i = 0;
    while (i < ex.length && ex[i]!.offset + ex[i]!.length <= offset) i++;
    let j = i;
    const pieces: Ext[] = [];
    while (j < ex.length && ex[j]!.offset < end) {
      const e = ex[j]!;
      if (e.offset < offset) pieces.push({ offset: e.offset, length: offset - e.offset, source: e.source, at: e.at });
      j++;
    }
    pieces.push({ offset, length, source, at });
    if (j > i) {
      const last = ex[j - 1]!;
      const lastEnd = last.offset + last.length;
      if (lastEnd > end) pieces.push({ offset: end, length: lastEnd - end, source: last.source, at: last.at + (end - last.offset) });
    }
    ex.splice(i, j - i, ...pieces);
    const lo = Math.max(0, i - 1);
    const hi = Math.min(ex.length - 1, i + pieces.length);
    for (let k = hi; k > lo; k--) {
      if (continues(ex[k - 1]!, ex[k]!)) ex.splice(k - 1, 2, { ...ex[k - 1]!, length: ex[k - 1]!.length + ex[k]!.length });
    }
  };
  const refTruncate = (ex: Ext[], size: number): void => {
    for (let i = 0; i < ex.length; i++) {
      const e = ex[i]!;
      if (e.offset >= size) {
        ex.length = i;
        return;
      }
      if (e.offset + e.length > size) {
        ex[i] = { ...e, length: size - e.offset };
        ex.length = i + 1;
        return;
      }
    }
  };
  const sources = [ZERO_SOURCE, PATTERN_SOURCE, bytesSource(new Uint8Array(64).fill(7))];
  const op = fc.oneof(
    fc.record({ kind: fc.constant('write' as const), offset: fc.nat(40), length: fc.nat(20), src: fc.nat(2), at: fc.nat(40) }),
    fc.record({ kind: fc.constant('truncate' as const), size: fc.nat(60) }),
  );

  it('leaves the same extents, sizes, data bytes and block counts', () => {
    fc.assert(
      fc.property(fc.array(op, { maxLength: 40 }), ops => {
        const c = new FileContent();
        const ref: Ext[] = [];
        let size = 0;
        for (const o of ops) {
          if (o.kind === 'write') {
            // sequential runs of one source merge only when `at` continues: reuse the extent's own `at` sometimes
            const source = sources[o.src]!;
            c.write(o.offset, { source, at: o.at, length: o.length });
            refWrite(ref, o.offset, source, o.at, o.length);
            if (o.length > 0) size = Math.max(size, o.offset + o.length);
          } else {
            c.truncate(o.size);
            refTruncate(ref, o.size);
            size = o.size;
          }
          expect(c.listExtents()).toEqual(ref);
          expect(c.size).toBe(size);
          const scanned = new FileContent(c.size, [...c.listExtents()]);
          if (c.size > 0) expect(scanned.dense).toBe(false);
          for (const bs of [4, 16]) {
            expect(c.allocatedBlocks(bs)).toBe(scanned.allocatedBlocks(bs));
            for (const [a, b] of [[0, 64], [3, 17], [16, 32], [0, 5], [20, 21]] as const) {
              expect(allocatedBlocksInRange(c, a, b, bs)).toBe(allocatedBlocksInRange(scanned, a, b, bs));
            }
          }
          expect(c.dataBytes()).toBe(scanned.dataBytes());
          expect(c.clone().dataBytes()).toBe(scanned.dataBytes());
        }
      }),
      { numRuns: 500 },
    );
  });
});
