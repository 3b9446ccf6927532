import { describe, expect, it } from 'vitest';
import { bytesSource, FileContent, PATTERN_SOURCE, randomSource, ZERO_SOURCE } from '../../src/fs/content.js';

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
});
