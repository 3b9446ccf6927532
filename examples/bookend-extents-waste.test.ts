/**
 * Lesson: bookend extents waste space on btrfs. A file's data lives in extents; overwriting part of an extent writes
 * a new extent for the new bytes and leaves the old one allocated, WHOLE, because the rest of the file still points
 * into it (the untouched parts are "bookends"). Until every part of the old extent has been overwritten, the file
 * takes its size plus everything written over it; only the last overwrite frees the old extent at once.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { simulate, variant } from '../src/teaching/index.js';

const PIECE = 4096;
const PIECES = 16; // a 64 KiB file written in one go: one extent

describe('bookend extents waste', () => {
  it('btrfs: partial overwrites keep the old extent allocated until every part of it is gone', () => {
    fc.assert(
      fc.property(fc.shuffledSubarray([...Array(PIECES).keys()], { minLength: 1 }), order => {
        const sim = simulate(variant('btrfs'), { init: false, ops: [{ op: 'writeFile', path: '/db', length: PIECES * PIECE, fill: 'pattern' }] });
        const start = sim.host.usage().dataBytes;
        order.forEach((piece, i) => {
          sim.run([{ op: 'write', path: '/db', offset: piece * PIECE, length: PIECE, fill: 'pattern' }]);
          const grown = sim.host.usage().dataBytes - start;
          const overwritten = (i + 1) * PIECE;
          if (i + 1 < PIECES) {
            // the old 64 KiB extent is still referenced by the untouched pieces: nothing is freed
            expect(grown).toBe(overwritten);
          } else {
            // the last piece: nothing points into the old extent any more, and all 64 KiB of it are freed
            expect(grown).toBe(overwritten - PIECES * PIECE);
          }
        });
      }),
      { numRuns: 15 },
    );
  });
});
