import { SnapshotDriver } from '../../src/block/snapshot-driver.js';
import type { DriverModel } from '../../src/engine/driver.js';
import { zfsExplain } from './explain.js';
import { parseSize, RECORDSIZE_MAX, RECORDSIZE_MIN, zfsOptions, zfsParams, type ZfsOptions, type ZfsProfile } from './params.js';
import { ZfsPool } from './pool.js';

function profileOf(o: ZfsOptions): ZfsProfile {
  return o.profile === 'docker-1.3' ? 'docker-1.3' : 'modern';
}

/** Docker's zfs graphdriver over a pool model: a dataset per layer, snapshot + clone per child, whole-record copy on write. */
export const zfs = {
  name: 'zfs',
  summary: 'zfs: a dataset per layer (snapshot + clone of the parent), records of recordsize rewritten whole, copy-on-write block trees with birth-time freeing',
  options: zfsOptions,
  capabilities: { kind: 'block', whiteouts: false, dirRename: 'posix', hardLinksSurviveCopyUp: true, maxLowerLayers: 127 },
  parse(o: ZfsOptions) {
    const rs = parseSize(o.recordsize);
    const max = RECORDSIZE_MAX[profileOf(o)];
    if (rs === undefined || rs < RECORDSIZE_MIN || rs > max || (rs & (rs - 1)) !== 0) {
      throw new Error(`option zfs recordsize=${o.recordsize}: must be a power of two from 512 to ${max / 1024}K (profile ${o.profile})`);
    }
  },
  create: (o: ZfsOptions, env) => new SnapshotDriver(new ZfsPool(zfsParams(profileOf(o), parseSize(o.recordsize)!), env)),
  explain: zfsExplain,
} as const satisfies DriverModel<ZfsOptions>;
