import type { VolumeObserver } from '../../src/fs/volume.js';

/** Where a filesystem's 4 KiB block writes go: a thin device (whose pool provisions or un-shares pool blocks). */
export interface BlockDevice {
  /** Blocks [block, block+count) of the filesystem are written; `structure` names what they hold (for inspection). */
  write(block: number, count: number, structure: string): void;
  /** The filesystem discards blocks [block, block+count) (mount -o discard after a free; BLKDISCARD). */
  discard(block: number, count: number): void;
}

/**
 * A filesystem's on-disk layout on one thin device: it hears every change made to the layer's tree (VolumeObserver)
 * and turns it into the 4 KiB blocks it writes, at the block numbers the real on-disk geometry gives.
 */
export interface FsLayout extends VolumeObserver {
  readonly name: 'ext4' | 'xfs';
  /** mkfs on the base device. */
  mkfs(): void;
  /** A read-write mount; `discard` is `mount -o discard`. */
  mount(discard: boolean): void;
  /** Writes back everything dirty (journal or log, then the metadata in place): sync(2), or the periodic commit. */
  sync(): void;
  unmount(): void;
  /**
   * freeze_super before a snapshot of the mounted device (dm suspend with lockfs: Docker 1.3 createSnapDevice suspends
   * an active origin): everything reaches the disk and the filesystem is made consistent on it.
   */
  freeze(): void;
  /** thaw_super after the resume: what the filesystem writes once unfrozen. */
  thaw(): void;
  /** `seconds` pass with the filesystem mounted and nothing asked of it: its periodic commits and log work run. */
  idle(seconds: number): void;
  /** Docker 1.3's Get: `rootfs/` and the `id` file on the device, made once (the layer's tree lives in rootfs/). */
  dockerGet(id: string, rootIno: number): void;
  /** The same on-disk state on another device: the filesystem a thin snapshot holds. */
  clone(device: BlockDevice): FsLayout;
  /** The most filesystem blocks one tree operation of `dataBytes` may write (ENOSPC is decided before it runs). */
  worstCaseBlocks(dataBytes: number): number;
  readonly mounted: boolean;
  inspect(): unknown;
}

/** Counts 4 KiB block writes per structure, as "4K blocks by structure" in kernel-6.18-blog-experiment.md. */
export class StructureTally {
  readonly counts = new Map<string, number>();
  add(structure: string, n: number): void {
    this.counts.set(structure, (this.counts.get(structure) ?? 0) + n);
  }
  toJSON(): Record<string, number> {
    return Object.fromEntries([...this.counts].sort(([a], [b]) => (a < b ? -1 : 1)));
  }
}

/** A deterministic string hash (FNV-1a), standing in for the filesystems' seeded name hashes. */
export function nameHash(s: string, seed: number): number {
  let h = (0x811c9dc5 ^ seed) >>> 0;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h;
}
