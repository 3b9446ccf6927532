import type { DriverModel } from '../../src/engine/driver.js';
import { UnionDriver } from '../../src/union/union-driver.js';
import { aufsHome } from './layout.js';
import { aufsFormat } from './format.js';
import { aufsOptions, aufsParams, type AufsOptions } from './params.js';

/** AUFS as Docker mounted it: `br:<diff/id>=rw:<diff/p1>=ro+wh:...`, whole-file copy-up that keeps zero blocks sparse. */
export const aufs = {
  name: 'aufs',
  summary: 'AUFS: .wh.<name> whiteouts hard-linked to .wh..wh.aufs, pseudo-links keep hard links, EXDEV on non-empty lower dir rename',
  options: aufsOptions,
  capabilities: {
    kind: 'union',
    whiteouts: true,
    dirRename: 'EXDEV-unless-empty',
    hardLinksSurviveCopyUp: true,
    maxLowerLayers: aufsParams.maxLowerLayers,
  },
  create: (_o: AufsOptions, env) =>
    new UnionDriver(
      {
        format: aufsFormat,
        policy: {
          dirRename: 'EXDEV-unless-empty',
          hardLinks: 'shared',
          metacopy: false,
          sparseCopyUpBlockBytes: aufsParams.sparseCopyUpBlockBytes,
        },
        backing: aufsParams.backing,
        home: aufsHome,
        nativeDiff: true,
        maxLowerLayers: aufsParams.maxLowerLayers,
      },
      env,
    ),
} as const satisfies DriverModel<AufsOptions>;
