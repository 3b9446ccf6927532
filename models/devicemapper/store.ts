import type { SnapshotStore } from '../../src/block/snapshot-driver.js';
import type { DriverEnv, StorageUsage } from '../../src/engine/driver.js';
import type { DataSlice, FileContent } from '../../src/fs/content.js';
import { FsError } from '../../src/fs/errno.js';
import type { FileKind, Inode } from '../../src/fs/inode.js';
import { Volume, type NewInodeAttrs } from '../../src/fs/volume.js';
import { Ext4Geometry, Ext4Layout } from './ext4-layout.js';
import { StructureTally, type BlockDevice, type FsLayout } from './layout.js';
import { thinFormat, type FsProfile } from './params.js';
import { dockerInfo, ThinPool, WRITE_BROKE_SHARING, WRITE_IN_PLACE, type WriteOutcome } from './thin-pool.js';
import { XfsGeometry, XfsLayout } from './xfs-layout.js';

export interface DmConfig {
  readonly profile: FsProfile;
  readonly fs: 'ext4' | 'xfs';
  readonly mode: 'loop-lvm' | 'direct-lvm';
  readonly blockBytes: number;
  readonly baseBytes: number;
  readonly dataBytes: number;
  readonly metadataBytes: number;
  readonly discard: boolean;
  readonly blkdiscard: boolean;
  readonly errorIfNoSpace: boolean;
}

/** One layer's thin device: its id in the pool, the filesystem's tree and its on-disk layout. */
export interface DmDevice {
  readonly id: number;
  readonly name: string;
  readonly volume: Volume;
  readonly layout: FsLayout;
  readonly writes: StructureTally;
  /** Pool blocks this device took (provisioned or un-shared), by the structure whose write took them. */
  readonly poolBlocks: StructureTally;
}

/**
 * The tree of a filesystem on a thin device. Every change first asks the pool for the most pool blocks it could take,
 * so a full pool answers ENOSPC before the tree (or the pool) changes.
 */
class DeviceVolume extends Volume {
  declare guard: ((dataBytes: number) => void) | undefined;

  override newInode(kind: FileKind, attrs: NewInodeAttrs): Inode {
    this.guard?.(attrs.content?.dataBytes() ?? 0);
    return super.newInode(kind, attrs);
  }
  override addEntry(dir: Inode, name: string, inode: Inode, fresh = false): void {
    this.guard?.(0);
    super.addEntry(dir, name, inode, fresh);
  }
  override removeEntry(dir: Inode, name: string): Inode {
    this.guard?.(0);
    return super.removeEntry(dir, name);
  }
  override moveEntry(oldDir: Inode, oldName: string, newDir: Inode, newName: string): void {
    this.guard?.(0);
    super.moveEntry(oldDir, oldName, newDir, newName);
  }
  override write(inode: Inode, offset: number, slice: DataSlice): void {
    this.guard?.(slice.length);
    super.write(inode, offset, slice);
  }
  override truncate(inode: Inode, size: number): void {
    this.guard?.(0);
    super.truncate(inode, size);
  }
  override replaceContent(inode: Inode, content: FileContent): void {
    this.guard?.(content.dataBytes());
    super.replaceContent(inode, content);
  }
  override setXattr(inode: Inode, name: string, value: Uint8Array): void {
    this.guard?.(0);
    super.setXattr(inode, name, value);
  }

  static adopt(v: Volume, guard: (dataBytes: number) => void): DeviceVolume {
    Object.setPrototypeOf(v, DeviceVolume.prototype);
    const d = v as DeviceVolume;
    d.guard = guard;
    return d;
  }
}

/**
 * Docker 1.3's devmapper DeviceSet over a dm-thin pool: the base device is created and mkfs'd when the driver starts,
 * every layer is a snapshot (of the base for a layer with no parent), Get/Put mount and unmount the layer's filesystem
 * (with `-o discard` in 1.3), and a deleted device is first BLKDISCARDed on loop-lvm (dm.blkdiscard).
 */
export class DmStore implements SnapshotStore<DmDevice> {
  readonly pool: ThinPool;
  readonly base: DmDevice;
  private nextId = 1;
  readonly live = new Set<DmDevice>();
  /** Writes the pool could not take outside a guarded operation (a mount or a commit on a full pool). */
  lostWrites = 0;

  constructor(
    readonly config: DmConfig,
    readonly env: DriverEnv,
  ) {
    this.pool = new ThinPool({
      dataBlockBytes: config.blockBytes,
      dataBytes: config.dataBytes,
      metadataBytes: config.metadataBytes,
      errorIfNoSpace: config.errorIfNoSpace,
      loopFiles: config.mode === 'loop-lvm',
    });
    const seed = Math.floor(env.random() * 2 ** 32);
    const writes = new StructureTally();
    const poolBlocks = new StructureTally();
    this.pool.createThin(0);
    const sink = this.sink(0, writes, poolBlocks);
    const layout: FsLayout =
      config.fs === 'ext4'
        ? new Ext4Layout(new Ext4Geometry(config.baseBytes, config.profile.ext4), sink, seed)
        : new XfsLayout(new XfsGeometry(config.baseBytes, config.profile.xfs), sink);
    layout.mkfs();
    this.pool.commit();
    const volume = new Volume({ clock: env.clock, inos: env.inos, meter: env.meter, atime: 'relatime' });
    this.base = { id: 0, name: 'base', volume, layout, writes, poolBlocks };
  }

  /** The thin device as the filesystem sees it: 4 KiB block writes land in pool blocks of `blockBytes`. */
  private sink(id: number, tally: StructureTally, taken: StructureTally): BlockDevice {
    const fsb = 4096;
    const B = this.config.blockBytes;
    return {
      write: (block, count, structure) => {
        tally.add(structure, count);
        const first = Math.floor((block * fsb) / B);
        const last = Math.floor(((block + count) * fsb - 1) / B);
        for (let v = first; v <= last; v++) {
          let outcome: WriteOutcome = WRITE_IN_PLACE;
          try {
            outcome = this.pool.write(id, v);
          } catch (e) {
            if (!(e instanceof FsError)) throw e;
            this.lostWrites++;
          }
          // break_sharing copies the whole pool block: bytes written to the data device (a copy-up, so both figures)
          if (outcome === WRITE_BROKE_SHARING) {
            this.env.meter.dataBytes += B;
            this.env.meter.copyUpBytes += B;
          }
          taken.add(structure, outcome === WRITE_IN_PLACE ? 0 : 1);
        }
      },
      discard: (block, count) => {
        // process_discard_bio: only whole pool blocks inside the range are unmapped
        const first = Math.ceil((block * fsb) / B);
        const end = Math.floor(((block + count) * fsb) / B);
        for (let v = first; v < end; v++) this.pool.discard(id, v);
      },
    };
  }

  private guard(dev: DmDevice): (dataBytes: number) => void {
    return (dataBytes: number) => {
      const fsBlocks = dev.layout.worstCaseBlocks(0);
      const need = Math.ceil(dataBytes / this.config.blockBytes) + 1 + fsBlocks;
      this.pool.reserve(need);
    };
  }

  private newDevice(name: string, origin: DmDevice): DmDevice {
    // createSnapDevice suspends an active origin (dm suspend with lockfs freezes its filesystem) and resumes it after
    // create_snap: what the freeze writes is in the snapshot, what the thaw writes is the origin's alone
    const active = origin.layout.mounted;
    if (active) origin.layout.freeze();
    const id = this.nextId++;
    this.pool.createSnap(id, origin.id);
    const writes = new StructureTally();
    const poolBlocks = new StructureTally();
    const layout = origin.layout.clone(this.sink(id, writes, poolBlocks));
    if (active) origin.layout.thaw();
    const dev: DmDevice = { id, name, volume: undefined as unknown as Volume, layout, writes, poolBlocks };
    const volume = DeviceVolume.adopt(origin.volume.snapshot({ observer: layout }), this.guard(dev));
    Object.assign(dev, { volume });
    this.live.add(dev);
    return dev;
  }

  createBase(id: string): DmDevice {
    return this.newDevice(id, this.base);
  }

  snapshot(id: string, parent: DmDevice): DmDevice {
    return this.newDevice(id, parent);
  }

  volume(dev: DmDevice): Volume {
    return dev.volume;
  }

  mount(dev: DmDevice): void {
    dev.layout.mount(this.config.discard);
    dev.layout.dockerGet(dev.name, dev.volume.root.ino);
    this.pool.commit();
  }

  unmount(dev: DmDevice): void {
    dev.layout.unmount();
    this.pool.commit();
  }

  /** deleteDevice: BLKDISCARD over the whole device when dm.blkdiscard, then the pool's delete. */
  remove(dev: DmDevice): void {
    if (dev.layout.mounted) this.unmount(dev);
    if (this.config.blkdiscard) for (const v of this.pool.mappedBlocks(dev.id)) this.pool.discard(dev.id, v);
    this.pool.deleteThin(dev.id, this.config.blkdiscard);
    this.live.delete(dev);
  }

  /** Time passes: every mounted filesystem's periodic work (jbd2 commits, xfs log worker) runs. */
  idle(seconds: number): void {
    for (const dev of this.live) if (dev.layout.mounted) dev.layout.idle(seconds);
    this.pool.commit();
  }

  /** The periodic commit and writeback have run (the review read `docker info` seconds after each step). */
  private settle(): void {
    for (const dev of this.live) if (dev.layout.mounted) dev.layout.sync();
    this.pool.commit();
  }

  /** `usage(false).allocatedBytes` from the counters, without building a reading (per-op accounting). */
  allocatedBytes(): number {
    return this.pool.usedDataBlocks * this.config.blockBytes + this.pool.usedMetadataBlocks * thinFormat.metadataBlockBytes;
  }

  /** `settle` (default): the periodic commits run first, as `sync; docker info` would; `false` reads the pool as it is. */
  usage(settle = true): StorageUsage {
    if (settle) this.settle();
    const dataBytes = this.pool.usedDataBlocks * this.config.blockBytes;
    const metadataBytes = this.pool.usedMetadataBlocks * thinFormat.metadataBlockBytes;
    const files = this.pool.loopFileBytes;
    let apparentBytes = 0;
    for (const dev of this.live) apparentBytes += dev.volume.apparentBytes;
    return {
      dataBytes,
      metadataBytes,
      dfUsedBytes: files.data + files.metadata,
      allocatedBytes: dataBytes + metadataBytes,
      apparentBytes,
      poolDataBlocks: this.pool.usedDataBlocks,
      poolMetadataBlocks: this.pool.usedMetadataBlocks,
      poolBlockBytes: this.config.blockBytes,
      thinDevices: this.pool.devices.size,
      sharingBrokenBlocks: this.pool.stats.sharingBroken,
      provisionedBlocks: this.pool.stats.provisioned,
      /** Pool blocks every device has taken (provisioned, or copied to break sharing): what a chunk-by-chunk comparison
       * of each device with its origin counts (kernel-6.18-blog-experiment.md "dm-thin emulation"). */
      takenDataBytes: (this.pool.stats.provisioned + this.pool.stats.sharingBroken) * this.config.blockBytes,
      copyBytes: this.pool.stats.copyBytes,
      loopDataFileBytes: files.data,
      loopMetadataFileBytes: files.metadata,
      loopDataFileApparentBytes: this.config.mode === 'loop-lvm' ? this.pool.nrDataBlocks * this.config.blockBytes : 0,
    };
  }

  inspect(dev: DmDevice): unknown {
    return {
      thinId: dev.id,
      mapping: this.pool.treeShape(dev.id),
      mappedBlocks: this.pool.device(dev.id).mappedBlocks,
      fs: dev.layout.inspect(),
      blocksWritten: dev.writes.toJSON(),
      poolBlocksTaken: dev.poolBlocks.toJSON(),
    };
  }

  toJSON(): unknown {
    return {
      mode: this.config.mode,
      fs: this.config.fs,
      dockerInfo: dockerInfo(this.pool),
      pool: this.pool.toJSON(),
      base: { fs: this.base.layout.inspect(), blocksWritten: this.base.writes.toJSON() },
      lostWrites: this.lostWrites,
    };
  }
}
