import { SnapshotDriver } from '../../src/block/snapshot-driver.js';
import type { DriverModel } from '../../src/engine/driver.js';
import { devicemapperExplain } from './explain.js';
import { devicemapperOptions, MAX_POOL_BLOCK, MIN_POOL_BLOCK, parseSize, profiles, type DevicemapperOptions } from './params.js';
import { DmStore, type DmConfig } from './store.js';

export { devicemapperOptions, type DevicemapperOptions } from './params.js';
export { DmStore } from './store.js';
export { ThinPool, dockerInfo, thinMetadataSize, thinMetadataSizeC } from './thin-pool.js';

/** The options resolved into the store's configuration (profile defaults filled in). */
export function dmConfig(o: DevicemapperOptions): DmConfig {
  const profile = profiles[o.profile as 'docker-1.3' | 'modern'];
  const blockBytes = parseSize(o.blocksize);
  if (blockBytes < MIN_POOL_BLOCK || blockBytes > MAX_POOL_BLOCK || blockBytes % MIN_POOL_BLOCK !== 0) {
    throw new Error(`option devicemapper blocksize=${o.blocksize}: must be 64K..1G, a multiple of 64K`);
  }
  const mode = o.mode as DmConfig['mode'];
  return {
    profile,
    fs: o.fs === '' ? profile.defaultFs : (o.fs as 'ext4' | 'xfs'),
    mode,
    blockBytes,
    baseBytes: parseSize(o.basesize),
    dataBytes: parseSize(o.datasize),
    metadataBytes: parseSize(o.metadatasize),
    discard: o.discard === '' ? profile.discard : o.discard === 'on',
    blkdiscard: o.blkdiscard === '' ? mode === 'loop-lvm' : o.blkdiscard === 'on',
    errorIfNoSpace: o.error_if_no_space === 'error',
  };
}

/** Docker's devicemapper: a thin device per layer in a dm-thin pool, a real filesystem (ext4 or xfs) on each. */
export const devicemapper = {
  name: 'devicemapper',
  summary: 'dm-thin: a thin snapshot per layer with ext4/xfs on it; whole pool blocks provisioned or copied on first write; plain POSIX semantics',
  options: devicemapperOptions,
  capabilities: { kind: 'block', whiteouts: false, dirRename: 'posix', hardLinksSurviveCopyUp: true, maxLowerLayers: 127 },
  parse: (o: DevicemapperOptions) => {
    const c = dmConfig(o);
    if (c.baseBytes < 64 * 1024 ** 2) throw new Error(`option devicemapper basesize=${o.basesize}: too small`);
  },
  create: (o: DevicemapperOptions, env) => new SnapshotDriver(new DmStore(dmConfig(o), env)),
  explain: devicemapperExplain,
} as const satisfies DriverModel<DevicemapperOptions>;
