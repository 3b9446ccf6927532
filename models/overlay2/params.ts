import { EXT4_BACKING } from '../../src/fs/volume.js';
import type { OptionSpec } from '../../src/engine/driver.js';

/** overlay2's options (`--driver-opt`), with Docker's defaults and where they come from. */
export const overlay2Options = {
  redirect_dir: {
    description: 'rename(2) of a lower or merged directory copies the directory up and records trusted.overlay.redirect instead of failing with EXDEV',
    default: 'off',
    values: ['on', 'off'],
    source: 'Linux Documentation/filesystems/overlayfs.rst "Renaming directories"; Docker passes no redirect_dir, kernel default CONFIG_OVERLAY_FS_REDIRECT_DIR=n',
  },
  metacopy: {
    description: 'chmod/chown/utimes copy metadata only (trusted.overlay.metacopy); data is copied on the first write-open',
    default: 'off',
    values: ['on', 'off'],
    source: 'overlayfs.rst "Metadata only copy up"; Docker passes no metacopy option (daemon/graphdriver/overlay2/check.go)',
  },
  index: {
    description: 'copy-up keeps hard links together through the index directory',
    default: 'off',
    values: ['on', 'off'],
    source: 'overlayfs.rst "Inode index"; Docker mounts with index=off (moby commit 8422d85087)',
  },
  profile: {
    description: 'era defaults as a set: modern (current kernel and Docker) or docker-1.3 (the 2014 review; overlay did not exist yet, so the same mechanism)',
    default: 'modern',
    values: ['modern', 'docker-1.3'],
    source: 'driver-semantics.md §0.1: overlay merged in Linux 3.18, Docker overlay driver from v1.4.0',
  },
} as const satisfies Record<string, OptionSpec>;

export type Overlay2Options = { -readonly [K in keyof typeof overlay2Options]: string };

/** Calibrated constants of the overlay2 model, each with its source. */
export const overlay2Params = {
  /** overlay2 maxDepth: (26 + len("l") + 1) * 128 = 4096 - 512 (daemon/graphdriver/overlay2/overlay.go). */
  maxLowerLayers: 128,
  /** /var/lib/docker on ext4 (Docker's documented backing filesystems are ext4 and xfs with d_type). */
  backing: EXT4_BACKING,
  /**
   * Copy-up records trusted.overlay.origin when the lower filesystem can encode file handles (ovl_set_origin);
   * observed on Linux 6.18 with layers on tmpfs and ext4 (test/kernel/expected).
   */
  recordOrigin: true,
  /**
   * The upper root gets trusted.overlay.uuid on its first read-write mount (uuid=auto, Linux 6.6+);
   * observed on Linux 6.18 (test/kernel/expected).
   */
  recordUuid: true,
} as const;
