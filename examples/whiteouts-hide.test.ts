/**
 * Lesson: whiteouts hide. Deleting an image file inside a container cannot touch the read-only lower layer, so the
 * union driver records the deletion in the upper directory: a whiteout (overlay2: a 0/0 character device; aufs: a
 * `.wh.<name>` file). Every lookup stops at it, whichever way the path is spelled (`//`, `.`, `..` detours, symlinks),
 * and it survives `docker commit`: the file stays in the image's bytes, hidden, taking space.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { FsError } from '../src/fs/errno.js';
import { simulate, variant, type BaseEntry } from '../src/teaching/index.js';

const BASE: readonly BaseEntry[] = [
  { path: '/etc', type: 'dir', mode: 0o755 },
  { path: '/etc/conf', type: 'dir', mode: 0o755 },
  { path: '/etc/secret', type: 'file', mode: 0o600, content: 'hunter2' },
  { path: '/cfg', type: 'symlink', target: 'etc' },
  { path: '/abs', type: 'symlink', target: '/etc' },
];

/** `/etc/secret`, spelled many ways: through symlinks, with `//`, `.` and `..` detours. */
const spellingArb = fc
  .tuple(
    fc.constantFrom('/etc', '//etc', '/./etc', '/cfg', '/abs', '/etc/conf/..', '/cfg/conf/..', '/abs/.'),
    fc.constantFrom('/', '//', '/./'),
  )
  .map(([dir, sep]) => `${dir}${sep}secret`);

function errnoOf(fn: () => unknown): string {
  try {
    fn();
    return 'ok';
  } catch (e) {
    if (e instanceof FsError) return e.code;
    throw e;
  }
}

describe('whiteouts hide', () => {
  it.each([variant('overlay2'), variant('overlay2', { redirect_dir: 'on' }), variant('aufs')])('$label: after unlink, no spelling finds the file', v => {
    fc.assert(
      fc.property(fc.array(spellingArb, { minLength: 1, maxLength: 6 }), fc.boolean(), (spellings, commit) => {
        const sim = simulate(v, { base: BASE, init: false });
        expect(sim.run([{ op: 'unlink', path: '/etc/secret' }])[0]!.outcome).toBe('ok');
        let sys = sim.container.sys;
        if (commit) {
          // the whiteout goes into the committed image as a layer entry: a container of the new image sees no file
          sim.host.commit('c', 'next');
          sys = sim.host.run('next-c', 'next', false).sys;
        }
        for (const path of spellings) expect({ path, errno: errnoOf(() => sys.stat(path)) }).toEqual({ path, errno: 'ENOENT' });
        expect(sys.readdir('/etc')).not.toContain('secret');
        // the lower layer still holds the bytes: the whiteout hides them, it does not free them
        const lower = sim.host.image('base').trees[0]!;
        expect(lower.at('/etc/secret')).toBeDefined();
      }),
      { numRuns: 20 },
    );
  });
});
