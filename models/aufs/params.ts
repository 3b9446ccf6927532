import { EXT4_BACKING } from '../../src/fs/volume.js';
import type { OptionSpec } from '../../src/engine/driver.js';

export const aufsOptions = {
  profile: {
    description: 'era defaults as a set: modern or docker-1.3 (the 2014 review); the aufs mechanism is the same in both',
    default: 'modern',
    values: ['modern', 'docker-1.3'],
    source: 'moby v1.3.0 daemon/graphdriver/aufs/aufs.go; aufs removed from moby in 2022 (commit 3903f16cd6)',
  },
} as const satisfies Record<string, OptionSpec>;

export type AufsOptions = { -readonly [K in keyof typeof aufsOptions]: string };

/** Calibrated constants of the aufs model, each with its source. */
export const aufsParams = {
  /** au_do_lookup(): per branch a whiteout test (`.wh.<name>`) and then the real lookup. */
  probesPerBranch: 2,
  /** A directory found on a branch is also tested for `.wh..wh..opq`. */
  opaqueTestProbes: 1,
  /** Docker's MaxImageDepth = 127 (image/image.go), historically aufs' 127-branch build limit. */
  maxLowerLayers: 127,
  /** au_do_copy_file(): reads in blocks of the destination's block size; an all-zero block becomes a hole. */
  sparseCopyUpBlockBytes: 4096,
  backing: EXT4_BACKING,
} as const;
