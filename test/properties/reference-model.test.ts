/**
 * The merged view of every model equals the reference filesystem (a memfs volume given the same operations), op by
 * op: the same outcome (ok or errno) for each op and the same view (paths, types, modes, contents, symlink targets,
 * hard links) after it. Union-only semantics (EXDEV on lower directory renames, overlayfs index=off breaking lower
 * hard links) are modelled by the reference, see test/support/reference.ts.
 */
import fc from 'fast-check';
import { describe, it } from 'vitest';
import { fsCommands, modelRunSetup } from '../support/arbitraries.js';
import { BASE_TREE, BASE_TREE_WITH_HARDLINKS, modelVariants, setUp, unionSemantics } from '../support/fixtures.js';
import { ReferenceFs } from '../support/reference.js';

describe.each(modelVariants)('$label: merged view equals the reference', variant => {
  it('after random op sequences (model-based, commits included)', () => {
    fc.assert(
      fc.property(fsCommands({ maxCommands: 20 }), cmds => {
        const setup = setUp(variant, BASE_TREE);
        fc.modelRun(() => modelRunSetup(setup, new ReferenceFs(BASE_TREE, unionSemantics(variant))), cmds);
      }),
      { numRuns: 80 },
    );
  });

  it('with hard links in the image', () => {
    fc.assert(
      fc.property(fsCommands({ maxCommands: 15 }), cmds => {
        const setup = setUp(variant, BASE_TREE_WITH_HARDLINKS);
        fc.modelRun(() => modelRunSetup(setup, new ReferenceFs(BASE_TREE_WITH_HARDLINKS, unionSemantics(variant))), cmds);
      }),
      { numRuns: 60 },
    );
  });
});
