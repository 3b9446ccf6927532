import { fail } from '../fs/errno.js';
import { PlainMount } from '../fs/plain-mount.js';
import type { Volume } from '../fs/volume.js';
import { layerChain, type StorageDriver, type StorageUsage } from '../engine/driver.js';
import { applyOciLayer, REMOVE_ON_WHITEOUT } from '../layer/apply-oci.js';
import { changesBetween, changesSize, layerFromChanges, type Change } from '../layer/changes.js';

/**
 * What a snapshotting store provides to the graph driver: a devicemapper thin pool (a thin device with a filesystem on
 * it per layer), a btrfs filesystem (a subvolume per layer) or a zfs pool (a dataset per layer). `D` is the store's
 * own handle for one layer's device.
 */
export interface SnapshotStore<D> {
  /** A layer with no parent (Docker 1.3 devicemapper: a snapshot of the pool's base device; btrfs: a new subvolume). */
  createBase(id: string): D;
  /** A writable snapshot of `parent` (dm create_snap, BTRFS_IOC_SNAP_CREATE_V2, zfs snapshot + clone). */
  snapshot(id: string, parent: D): D;
  /** The POSIX tree the layer's filesystem holds; its observer is the store's on-disk layout model. */
  volume(dev: D): Volume;
  /** A read-write mount (ext4: superblock and journal writes; xfs: the log rewrite). */
  mount(dev: D): void;
  /** The unmount (journal flush, superblock clean state). */
  unmount(dev: D): void;
  /** Device deletion (dm: BLKDISCARD then delete; btrfs: subvolume delete; zfs: destroy). */
  remove(dev: D): void;
  /** Space in use; `settle` (default) syncs first, as `sync; df` would. A fresh object per call: the driver adds to it. */
  usage(settle?: boolean): StorageUsage;
  /** `usage(false).allocatedBytes` alone, when the store can answer it cheaply (per-op accounting). */
  allocatedBytes?(): number;
  /** The store's lines of `docker info` (Status()). */
  status?(): Record<string, string>;
  /** Time passes: writeback of data dirty long enough, periodic transaction commits. */
  idle?(seconds: number): void;
  /** The device's own structures (mapping table, tree, records) for `--json` and tests. */
  inspect(dev: D): unknown;
  toJSON(): unknown;
}

interface SnapshotLayer<D> {
  readonly parent: string | undefined;
  readonly dev: D;
  /** Get() calls without a matching Put(): the filesystem is mounted while this is above 0. */
  mounts: number;
}

/**
 * Docker's graphdriver over a snapshotting store (devmapper, btrfs, zfs in Docker 1.3 terms): Create is a snapshot of
 * the parent, Get/Put mount and unmount the layer's filesystem, and Diff/ApplyDiff are the NaiveDiffDriver's: both
 * layers mounted and walked, the changes written again into the new layer (daemon/graphdriver/fsdiff.go).
 */
export class SnapshotDriver<D> implements StorageDriver {
  private readonly layers = new Map<string, SnapshotLayer<D>>();
  /** Devices (subvolumes, datasets) created and filesystem mounts done: what a step's time is made of. */
  private layersCreated = 0;
  private mountCount = 0;

  constructor(readonly store: SnapshotStore<D>) {}

  private layer(id: string): SnapshotLayer<D> {
    const l = this.layers.get(id);
    if (l === undefined) throw new Error(`no such layer: ${id}`);
    return l;
  }

  createLayer(id: string, parent: string | undefined): void {
    if (this.layers.has(id)) throw new Error(`layer exists: ${id}`);
    const dev = parent === undefined ? this.store.createBase(id) : this.store.snapshot(id, this.layer(parent).dev);
    this.layers.set(id, { parent, dev, mounts: 0 });
    this.layersCreated++;
  }

  /** Get(id): mounts the layer's filesystem on the first call. */
  private get(id: string): PlainMount {
    const l = this.layer(id);
    if (l.mounts++ === 0) {
      this.store.mount(l.dev);
      this.mountCount++;
    }
    return new PlainMount(this.store.volume(l.dev));
  }

  /** Put(id): unmounts on the last call. */
  private put(id: string): void {
    const l = this.layer(id);
    if (l.mounts === 0) return;
    if (--l.mounts === 0) this.store.unmount(l.dev);
  }

  mount(id: string): PlainMount {
    return this.get(id);
  }

  release(id: string): void {
    this.put(id);
  }

  /**
   * ApplyDiff as Docker 1.3.2's naiveDiffDriver does it: Get(id), untar (whiteouts remove), then, still mounted,
   * DiffSize: Get(parent) and ChangesDirs + ChangesSize over both; Put both (deferred). A commit mounts four times in
   * all (the container and its parent for Diff, the new layer and its parent here), as the Linux 6.18 replay did.
   */
  applyDiff(id: string, tree: Volume): void {
    const mount = this.get(id);
    try {
      applyOciLayer(tree, mount.volume, REMOVE_ON_WHITEOUT);
      this.diffSize(id);
    } finally {
      this.put(id);
    }
  }

  /** NaiveDiffDriver.Diff: the changed entries tarred up while both layers are mounted. */
  diff(id: string): Volume {
    return this.withChanges(id, layerFromChanges);
  }

  /** NaiveDiffDriver.DiffSize: Changes (both layers mounted and walked), then Get(id) again for archive.ChangesSize. */
  diffSize(id: string): number {
    const changes = this.withChanges(id, (_mine, found) => found);
    const mine = this.get(id);
    try {
      return changesSize(mine, changes);
    } finally {
      this.put(id);
    }
  }

  /** NaiveDiffDriver.Changes: Get(id) and Get(parent), ChangesDirs, `use` of the result while mounted; Put both. */
  private withChanges<T>(id: string, use: (mine: PlainMount, changes: Change[]) => T): T {
    const l = this.layer(id);
    const mine = this.get(id);
    try {
      if (l.parent === undefined) return use(mine, changesBetween(mine, new PlainMount(emptyLike(mine.volume))));
      const parent = this.get(l.parent);
      try {
        return use(mine, changesBetween(mine, parent));
      } finally {
        this.put(l.parent);
      }
    } finally {
      this.put(id);
    }
  }

  removeLayer(id: string): void {
    const l = this.layer(id);
    for (const other of this.layers.values()) if (other.parent === id) fail('EBUSY');
    while (l.mounts > 0) this.put(id);
    this.store.remove(l.dev);
    this.layers.delete(id);
  }

  parents(id: string): string[] {
    return layerChain(id, l => this.layer(l).parent);
  }

  inspectLayer(id: string): unknown {
    const l = this.layer(id);
    return { tree: this.store.volume(l.dev).toJSON(), device: this.store.inspect(l.dev) };
  }

  allocatedBytes(): number {
    return this.store.allocatedBytes?.() ?? this.store.usage(false).allocatedBytes;
  }

  usage(settle = true): StorageUsage {
    // the store's reading is fresh: add to it rather than spread it into a copy (per-op accounting reads it often)
    const u = this.store.usage(settle);
    u['layersCreated'] = this.layersCreated;
    u['mounts'] = this.mountCount;
    return u;
  }

  idle(seconds: number): void {
    this.store.idle?.(seconds);
  }

  status(): Record<string, string> {
    return this.store.status?.() ?? {};
  }

  toJSON(): unknown {
    return {
      layers: [...this.layers].map(([id, l]) => ({ id, parent: l.parent ?? null, mounted: l.mounts > 0 })),
      store: this.store.toJSON(),
    };
  }
}

function emptyLike(volume: Volume): Volume {
  const Ctor = volume.constructor as new () => Volume;
  return new Ctor();
}
