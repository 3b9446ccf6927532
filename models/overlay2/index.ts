import type { DriverModel } from '../../src/engine/driver.js';
import { UnionDriver } from '../../src/union/union-driver.js';
import { overlay2Home } from './layout.js';
import { overlayFormat } from './format.js';
import { overlay2Options, overlay2Params, type Overlay2Options } from './params.js';

/** overlayfs.rst: "metacopy=on" needs redirects, and turns redirect_dir on unless it was set explicitly. */
function redirects(o: Overlay2Options): boolean {
  return o.redirect_dir === 'on' || o.metacopy === 'on';
}

/** Docker's overlay2: overlayfs with one upper directory per container over up to 128 read-only lower layers. */
export const overlay2 = {
  name: 'overlay2',
  summary: 'overlayfs: whole-file copy-up into one upper dir, 0/0 char-device whiteouts, opaque dirs, EXDEV on lower dir rename',
  options: overlay2Options,
  capabilities: (o: Overlay2Options) => ({
    kind: 'union',
    whiteouts: true,
    dirRename: redirects(o) ? 'posix' : 'EXDEV',
    hardLinksSurviveCopyUp: o.index === 'on',
    maxLowerLayers: overlay2Params.maxLowerLayers,
  }),
  create: (o: Overlay2Options, env) =>
    new UnionDriver(
      {
        format: overlayFormat({ origin: overlay2Params.recordOrigin, uuid: overlay2Params.recordUuid }),
        policy: {
          dirRename: redirects(o) ? 'redirect' : 'EXDEV',
          hardLinks: o.index === 'on' ? 'shared' : 'break',
          metacopy: o.metacopy === 'on',
          sparseCopyUpBlockBytes: 0,
        },
        backing: overlay2Params.backing,
        home: overlay2Home,
        nativeDiff: !redirects(o),
        maxLowerLayers: overlay2Params.maxLowerLayers,
      },
      env,
    ),
} as const satisfies DriverModel<Overlay2Options>;
