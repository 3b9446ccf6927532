import type { StepGrowth } from './experiment.js';

/**
 * A stated cost model for the time of one experiment step on the review's 2014 machine (Lenovo IdeaPad Z710,
 * Fedora 20, kernel 3.17, Docker 1.3, a laptop hard disk): time = the container's own process + the storage events the
 * step performed (devices or layers created, filesystem mounts, bytes written). Every figure below is an estimate with
 * its reasoning, not a measurement; the per-step event counts come from the models.
 */
export const TIME_MODEL_2014 = {
  /**
   * `docker run` of a short static binary, storage aside: API round trips, container config written, libcontainer
   * namespaces, veth and bridge set-up, wait, teardown. The review's cheapest storage (btrfs, run 0.92 s) bounds it.
   */
  processSeconds: 0.8,
  /**
   * `docker run --detach` (the review's run from the commits): create and start, no wait and no teardown. The
   * review's btrfs run from snapshot (0.45 s) bounds it.
   */
  detachedProcessSeconds: 0.4,
  /** `docker commit` storage aside: pause/unpause, the image json and layersize files, the tar stream (btrfs commit 0.17 s bounds it). */
  commitSeconds: 0.1,
  /** Creating one layer's device, per driver (seconds). */
  perLayerSeconds: {
    /** dmsetup message create_snap (a pool metadata transaction); activation is paid per mount. */
    devicemapper: 0.05,
    /** BTRFS_IOC_SNAP_CREATE_V2 commits a transaction (one fsync-like flush on a laptop disk). */
    btrfs: 0.02,
    /** zfs snapshot + zfs clone: two txg syncs. */
    zfs: 0.06,
    /** mkdir of the layer's directories. */
    overlay2: 0.001,
    aufs: 0.001,
    /** vfs copies the parent tree: its time is in the bytes written. */
    vfs: 0.001,
  } as Record<string, number>,
  /** One filesystem mount (or union mount) (seconds). */
  perMountSeconds: {
    /**
     * Docker 1.3 activates a thin device on Get and deactivates it on Put (deviceset.go MountDevice/UnmountDevice):
     * dmsetup create and remove, each waiting for udev (lvm2 of 2014), and the ext4/xfs mount and unmount.
     */
    devicemapper: 0.25,
    btrfs: 0,
    zfs: 0.02,
    overlay2: 0.002,
    aufs: 0.004,
    vfs: 0,
  } as Record<string, number>,
  /** Sequential write bandwidth of a 2014 laptop hard disk (bytes per second). */
  writeBytesPerSecond: 80e6,
} as const;

/** The modelled seconds of one container's (or one commit's) step. */
export function stepSeconds(driver: string, step: StepGrowth): number {
  const m = TIME_MODEL_2014;
  const own = step.step === 'commit' ? m.commitSeconds : step.step === 'run' ? m.processSeconds : m.detachedProcessSeconds;
  const layers = step.perContainer['layersCreated'] ?? 0;
  const mounts = step.perContainer['mounts'] ?? 0;
  return own + layers * (m.perLayerSeconds[driver] ?? 0) + mounts * (m.perMountSeconds[driver] ?? 0) + step.writtenBytes / m.writeBytesPerSecond;
}
