import type { DriverModel, OptionSpec } from '../../src/engine/driver.js';
import { EXT4_BACKING } from '../../src/fs/volume.js';
import { VfsDriver } from './driver.js';

const vfsOptions = {
  profile: {
    description: 'era defaults as a set: modern or docker-1.3; vfs copies whole trees in both',
    default: 'modern',
    values: ['modern', 'docker-1.3'],
    source: 'moby v1.3.0 daemon/graphdriver/vfs/driver.go (cp -aT --reflink=auto); HEAD copy.DirCopy',
  },
} as const satisfies Record<string, OptionSpec>;

type VfsOptions = { -readonly [K in keyof typeof vfsOptions]: string };

/** Docker's vfs driver: each layer a full copy of its parent on a plain filesystem (ext4, no reflink). */
export const vfs = {
  name: 'vfs',
  summary: 'no copy-on-write: each layer is a full copy of its parent; plain POSIX semantics',
  options: vfsOptions,
  capabilities: { kind: 'copy', whiteouts: false, dirRename: 'posix', hardLinksSurviveCopyUp: true, maxLowerLayers: 127 },
  create: (_o: VfsOptions, env) => new VfsDriver(env, EXT4_BACKING),
} as const satisfies DriverModel<VfsOptions>;
