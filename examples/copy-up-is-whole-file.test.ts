/**
 * Lesson: copy-up is whole-file. On a union filesystem (overlay2, aufs) the image's files are read-only; the first
 * write to one, however small, copies the WHOLE file into the container's upper directory before the write happens.
 * A 1-byte change to a 2 MiB file costs 2 MiB. Block-level drivers copy far less: devicemapper un-shares only the
 * pool blocks (64 KiB each) the write touches, and btrfs writes a new extent for the new bytes and copies nothing.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { simulate, variant } from '../src/teaching/index.js';

/** A lower file of some size, and a small write somewhere inside it. */
const caseArb = fc
  .integer({ min: 256 * 1024, max: 2 * 1024 * 1024 })
  .chain(size => fc.record({ size: fc.constant(size), offset: fc.nat(size - 1), length: fc.integer({ min: 1, max: 4096 }) }));

function firstWrite(driver: string, c: { size: number; offset: number; length: number }) {
  const sim = simulate(variant(driver), {
    base: [
      { path: '/data', type: 'dir', mode: 0o755 },
      { path: '/data/file', type: 'file', mode: 0o644, content: { bytes: c.size } },
    ],
    init: false,
  });
  const [r] = sim.run([{ op: 'write', path: '/data/file', offset: c.offset, length: Math.min(c.length, c.size - c.offset), fill: 'pattern' }]);
  expect(r!.outcome).toBe('ok');
  return r!.cost;
}

describe('copy-up is whole-file', () => {
  it.each(['overlay2', 'aufs'])('%s: any write to a lower file copies all of it up', driver => {
    fc.assert(
      fc.property(caseArb, c => {
        expect(firstWrite(driver, c).copyUpBytes).toBe(c.size);
      }),
      { numRuns: 15 },
    );
  });

  it('devicemapper: only the pool blocks the write touches are copied, never the whole file', () => {
    const block = 64 * 1024;
    fc.assert(
      fc.property(caseArb, c => {
        const copied = firstWrite('devicemapper', c).copyUpBytes;
        expect(copied).toBeLessThan(c.size);
        expect(copied).toBeLessThanOrEqual(2 * block);
      }),
      { numRuns: 10 },
    );
  });

  it('btrfs: nothing is copied; the new bytes go to a new extent', () => {
    fc.assert(
      fc.property(caseArb, c => {
        expect(firstWrite('btrfs', c).copyUpBytes).toBe(0);
      }),
      { numRuns: 10 },
    );
  });
});
