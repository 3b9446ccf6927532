/**
 * Focused properties, one per rule the broad reference comparison found broken (each names the bug it pins down),
 * plus the check that what a model declares (`capabilities`) is what it does.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { capabilitiesOf } from '../../src/engine/driver.js';
import { applyToContainer, dataArb, type RealSystem } from '../support/arbitraries.js';
import { BASE_TREE, BASE_TREE_WITH_HARDLINKS, modelVariants, setUp, unionSemantics } from '../support/fixtures.js';
import { applyOp } from '../support/ops.js';
import { UMASK } from '../support/reference.js';

const text = (b: Uint8Array): string => Buffer.from(b).toString('latin1');

describe.each(modelVariants)('$label: POSIX rules', variant => {
  // vfs_mkdir(): mode & (S_IRWXUGO|S_ISVTX) & ~umask; S_ISGID only from a setgid parent, S_ISUID never
  it('mkdir keeps only the permission and sticky bits of its mode (plus a setgid parent’s S_ISGID)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 0o7777 }), fc.boolean(), (mode, setgidParent) => {
        const { container } = setUp(variant, BASE_TREE);
        const sys = container.sys;
        if (setgidParent) sys.chmod('/b', 0o2755);
        sys.mkdir('/b/new', mode);
        const expected = (mode & 0o1777 & ~UMASK) | (setgidParent ? 0o2000 : 0);
        expect(sys.stat('/b/new').mode.toString(8)).toBe(expected.toString(8));
      }),
      { numRuns: 50 },
    );
  });

  // Two names of one inode show the same data whichever name it is written through (unless the union breaks lower
  // hard links on copy-up: overlayfs index=off), including names looked up before the write.
  it('hard links stay one file: a write through one name is read through the other', () => {
    const linkedPairs = [
      { setup: 'lower hard link', base: BASE_TREE_WITH_HARDLINKS, prepare: [], names: ['/f', '/a/f'] as const },
      { setup: 'link(2) of a lower file', base: BASE_TREE, prepare: [{ kind: 'link', from: '/c', to: '/b/c' } as const], names: ['/c', '/b/c'] as const },
    ];
    fc.assert(
      fc.property(fc.constantFrom(...linkedPairs.map((_, i) => i)), fc.boolean(), fc.nat(8), dataArb, fc.boolean(), (index, lookUpFirst, offset, data, commitFirst) => {
        const pair = linkedPairs[index]!;
        if (pair.setup === 'lower hard link' && unionSemantics(variant).breaksLowerHardLinks) return;
        const real: RealSystem = { setup: setUp(variant, pair.base), commits: 0 };
        const sys = (): typeof real.setup.container.sys => real.setup.container.sys;
        for (const op of pair.prepare) expect(applyToContainer(real, op)).toBe('ok');
        // a commit tars only changed paths: link(2) leaves /c unchanged, so /b/c arrives in the image as a copy
        // (lifecycle.test.ts); the lower hard link pair stays one inode through a commit where the union keeps it
        if (commitFirst && pair.prepare.length === 0 && !unionSemantics(variant).breaksLowerHardLinks) applyToContainer(real, { kind: 'commit' });
        const [writer, reader] = pair.names;
        if (lookUpFirst) sys().stat(reader);
        expect(applyOp(sys(), { kind: 'write', path: writer, offset, data, mode: 0o644 })).toBe('ok');
        expect(text(sys().readFile(reader)), `${reader} after a write through ${writer}`).toBe(text(sys().readFile(writer)));
      }),
      { numRuns: 60 },
    );
  });

  it('capabilities declare what the model does (lower directory rename, lower hard links on copy-up)', () => {
    const caps = capabilitiesOf(variant.model, variant.options);
    // a non-empty directory of the image
    const dir = setUp(variant, BASE_TREE).container.sys;
    const renamed = applyOp(dir, { kind: 'rename', from: '/a', to: '/moved' });
    expect(renamed, `rename of a lower directory with capabilities.dirRename=${caps.dirRename}`).toBe(caps.dirRename === 'posix' ? 'ok' : 'EXDEV');
    const links = setUp(variant, BASE_TREE_WITH_HARDLINKS).container.sys;
    applyOp(links, { kind: 'write', path: '/f', offset: 0, data: Buffer.from('X'), mode: 0o644 });
    const together = text(links.readFile('/a/f')) === text(links.readFile('/f'));
    expect(together, `capabilities.hardLinksSurviveCopyUp=${caps.hardLinksSurviveCopyUp}`).toBe(caps.hardLinksSurviveCopyUp);
  });
});
