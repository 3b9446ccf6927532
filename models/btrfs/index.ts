import { SnapshotDriver } from '../../src/block/snapshot-driver.js';
import type { DriverModel } from '../../src/engine/driver.js';
import { btrfsExplain } from './explain.js';
import { btrfsOptions, resolveConfig, validateOptions, type BtrfsOptions } from './params.js';
import { BtrfsStore } from './store.js';

export { BtrfsStore } from './store.js';
export { btrfsOptions, PROFILES, resolveConfig } from './params.js';

/**
 * Docker's btrfs graphdriver: one subvolume per layer, each child a snapshot of its parent, on one btrfs filesystem
 * whose trees (fs trees, extent tree, checksum tree, root tree, free space tree) are modelled block by block with
 * copy-on-write, lazy reference counts and bookend extents. Plain POSIX semantics in the container.
 */
export const btrfs = {
  name: 'btrfs',
  summary: 'a subvolume per layer, snapshots share tree blocks and extents; CoW b-trees, bookend extents, DUP metadata',
  options: btrfsOptions,
  capabilities: { kind: 'block', whiteouts: false, dirRename: 'posix', hardLinksSurviveCopyUp: true, maxLowerLayers: 127 },
  parse: (o: BtrfsOptions) => validateOptions(o),
  create: (o: BtrfsOptions, env) => new SnapshotDriver(new BtrfsStore(resolveConfig(o), env)),
  explain: btrfsExplain,
} as const satisfies DriverModel<BtrfsOptions>;
