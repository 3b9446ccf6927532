/**
 * Lesson: devicemapper on loop-lvm never shrinks. Docker's default devicemapper setup keeps the thin pool in a sparse
 * 100 GB file on the host. Writing into a container takes pool blocks (and host blocks in that file); deleting files
 * inside the container gives nothing back unless the filesystem discards: without discard the pool keeps the blocks
 * mapped, so neither the pool's usage nor the host file goes down. The file's apparent size never changes at all.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { simulate, traceArb, variant } from '../src/teaching/index.js';

describe('loop-lvm never shrinks', () => {
  it('devicemapper loop-lvm, discard off: after any file ops, and any rm, no usage figure goes down', () => {
    const v = variant('devicemapper', { mode: 'loop-lvm', discard: 'off' });
    fc.assert(
      fc.property(traceArb({ maxLength: 10 }), ops => {
        const sim = simulate(v, {
          init: false,
          ops: [{ op: 'mkdirp', path: '/a/d' }, { op: 'writeFile', path: '/a/d/c', length: 512 * 1024, fill: 'pattern' }],
        });
        let before = sim.host.usage();
        const apparent = before['loopDataFileApparentBytes'];
        // the sparse data file is as big as the pool (datasize=100G) from the start
        expect(apparent).toBe(100 * 1024 ** 3);
        for (const op of [...ops, { op: 'rmtree' as const, path: '/a' }]) {
          sim.run([op]);
          const now = sim.host.usage();
          expect(now['loopDataFileApparentBytes']).toBe(apparent);
          expect(now['loopDataFileBytes']!).toBeGreaterThanOrEqual(before['loopDataFileBytes']!);
          expect(now.dataBytes).toBeGreaterThanOrEqual(before.dataBytes);
          before = now;
        }
      }),
      { numRuns: 10 },
    );
  });
});
