/**
 * The VFS remembers directory walks (and whole parent walks by path) to go fast; a remembered walk must charge the
 * cost meter exactly what walking again would, and resolve to the same node, whatever happened in between
 * (copy-ups moving where a directory is found, whiteouts, renames, rmdir, chmod). Compared, op by op, with the same
 * container walked through a mount that offers no generation (every walk cold).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Mount } from '../../src/vfs/mount.js';
import { Syscalls } from '../../src/vfs/syscalls.js';
import { fsOpsArb } from '../support/arbitraries.js';
import { applyOp } from '../support/ops.js';
import { BASE_TREE, modelVariants, setUp } from '../support/fixtures.js';

/** The same mount, without `generation`: the VFS keeps no walk over it. */
function uncached(mount: Mount<object>): Mount<object> {
  return new Proxy(mount, { get: (target, key) => (key === 'generation' ? undefined : Reflect.get(target, key, target)) });
}

describe.each(modelVariants)('$label: remembered walks', variant => {
  it('charge the lookups and give the outcomes of walking again', () => {
    fc.assert(
      fc.property(fsOpsArb(20), fsOpsArb(20), (ops, again) => {
        const warm = setUp(variant, BASE_TREE);
        const cold = setUp(variant, BASE_TREE);
        const coldSys = new Syscalls(uncached(cold.container.sys.mount));
        for (const op of [...ops, ...again, ...ops]) {
          if (op.kind === 'commit') continue;
          const w0 = warm.host.meter.lookups;
          const c0 = cold.host.meter.lookups;
          const outcome = applyOp(warm.container.sys, op);
          expect(applyOp(coldSys, op), JSON.stringify(op)).toBe(outcome);
          expect(warm.host.meter.lookups - w0, JSON.stringify(op)).toBe(cold.host.meter.lookups - c0);
        }
      }),
      { numRuns: 60 },
    );
  });
});
