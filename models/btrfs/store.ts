import { createHash } from 'node:crypto';
import type { SnapshotStore } from '../../src/block/snapshot-driver.js';
import type { DriverEnv, StorageUsage } from '../../src/engine/driver.js';
import { CostMeter, readMeter, resetMeter, type MeterReading } from '../../src/fs/cost.js';
import type { Inode } from '../../src/fs/inode.js';
import { InoAllocator } from '../../src/fs/inode.js';
import { Volume, type BackingFs } from '../../src/fs/volume.js';
import { nameBytes } from './crc32c.js';
import { DaemonFiles } from './daemon.js';
import { BtrfsFs, item, type Block } from './fs.js';
import { CONSTANTS, KEY, ON_DISK, TREE, type BtrfsConfig } from './params.js';
import { Subvol } from './subvolume.js';

/** What the generic Volume accounting assumes of btrfs (its own figures come from the trees, not from this). */
function btrfsBacking(config: BtrfsConfig): BackingFs {
  return {
    name: 'btrfs',
    blockBytes: config.sectorsize,
    inodeBytes: ON_DISK.inodeItemBytes,
    inlineXattrBytes: config.nodesize,
    fastSymlinkMaxBytes: config.sectorsize,
  };
}

/**
 * The meter a subvolume's Volume charges. It only adds to the host's (resetting or lowering it never lowers the
 * host's): file data, copy-up bytes and the Volume's estimate of the metadata an op dirties (inode items, dir entries)
 * are forwarded as they grow, while the trees charge each block they copy or allocate (twice with DUP) through
 * `BtrfsFs.onBlockWritten`; a name lookup is charged as the fs-tree levels it visits (a DIR_ITEM search goes from the
 * subvolume's root node down to a leaf).
 */
class TreeMeter implements CostMeter {
  private seenData = 0;
  private seenMetadata = 0;
  private seenCopyUp = 0;
  private seenLookups = 0;

  constructor(
    private readonly host: CostMeter,
    private readonly height: () => number,
  ) {}

  get dataBytes(): number {
    return this.seenData;
  }
  set dataBytes(v: number) {
    if (v > this.seenData) this.host.dataBytes += v - this.seenData;
    this.seenData = v;
  }

  get metadataBytes(): number {
    return this.seenMetadata;
  }
  set metadataBytes(v: number) {
    if (v > this.seenMetadata) this.host.metadataBytes += v - this.seenMetadata;
    this.seenMetadata = v;
  }

  get copyUpBytes(): number {
    return this.seenCopyUp;
  }
  set copyUpBytes(v: number) {
    if (v > this.seenCopyUp) this.host.copyUpBytes += v - this.seenCopyUp;
    this.seenCopyUp = v;
  }

  get lookups(): number {
    return this.seenLookups;
  }
  set lookups(v: number) {
    if (v > this.seenLookups) this.host.lookups += (v - this.seenLookups) * this.height();
    this.seenLookups = v;
  }

  reset(): void {
    resetMeter(this);
  }

  snapshot(): MeterReading {
    return readMeter(this);
  }
}

/**
 * Docker's btrfs graphdriver store (moby v1.3.0 daemon/graphdriver/btrfs/btrfs.go) on one btrfs filesystem: layers are
 * subvolumes under /var/lib/docker/btrfs/subvolumes of the top-level subvolume; a base layer is
 * BTRFS_IOC_SUBVOL_CREATE, every other a BTRFS_IOC_SNAP_CREATE_V2 snapshot of its parent, removal
 * BTRFS_IOC_SNAP_DESTROY. Get/Put mount nothing (the subvolume is a directory of the mounted filesystem), so
 * transactions commit when a subvolume is created or snapshotted (the ioctls commit) and on sync.
 */
export class BtrfsStore implements SnapshotStore<Subvol> {
  readonly fs: BtrfsFs;
  readonly top: Subvol;
  private readonly subvolsDir: Inode;
  private readonly live = new Map<number, Subvol>();
  /** The live subvolumes' apparent sizes summed as last read, and the subvolumes changed since (see Subvol.sizeStale). */
  private apparentBytes = 0;
  private readonly sizeStale = new Set<Subvol>();
  private nextId: number = TREE.FIRST_FREE;
  private pending: (() => void)[] = [];
  private readonly backing: BackingFs;
  private lastCommitAt: number;
  /** Docker 1.3's own files in /var/lib/docker (the daemon_files option). */
  private readonly daemon: DaemonFiles | undefined;

  constructor(
    readonly config: BtrfsConfig,
    readonly env: DriverEnv,
  ) {
    this.fs = new BtrfsFs(config);
    this.backing = btrfsBacking(config);
    this.fs.onBlockWritten = bytes => {
      env.meter.metadataBytes += bytes;
    };
    // the top-level subvolume (FS_TREE) holds /var/lib/docker (driver-semantics §0.6)
    this.top = new Subvol(this.fs, this.fs.createTree(TREE.FS), '<FS_TREE>');
    this.top.volume = new Volume({ clock: env.clock, inos: new InoAllocator(TREE.FIRST_FREE), meter: new CostMeter(), observer: this.top, backing: this.backing, atime: config.atime });
    this.top.addName(this.top.root, [TREE.FIRST_FREE, KEY.INODE_REF, TREE.FIRST_FREE], '..', ON_DISK.inodeRefBytes + 2);
    let dir = this.top.volume.root;
    for (const part of CONSTANTS.subvolumesPath) dir = this.top.volume.createChild(dir, part, 'dir', { mode: 0o700, uid: 0, gid: 0 });
    this.subvolsDir = dir;
    this.daemon = config.daemonFiles ? new DaemonFiles(this.top.volume, CONSTANTS.subvolumesPath.slice(0, 3)) : undefined;
    this.fs.beforeCommit.push(() => {
      this.top.flushInodes();
      for (const sv of this.live.values()) sv.flushInodes();
      const pending = this.pending;
      this.pending = [];
      for (const p of pending) p();
      this.top.flushInodes();
    });
    this.lastCommitAt = this.now();
    this.fs.commit();
  }

  /** The host's clock, which Host.idle advances before calling idle(): the flusher and the transaction kthread run on it. */
  now(): number {
    return this.env.clock.now();
  }

  private commit(): void {
    this.lastCommitAt = this.now();
    this.fs.commit();
  }

  /**
   * Time passes with nothing running (the pause between two batches of commands): the flusher writes back data dirty
   * for longer than dirty_expire_centisecs, and the transaction kthread commits what is pending.
   */
  idle(_seconds: number): void {
    this.background();
  }

  /** The flusher and the transaction kthread, as of now. */
  private background(): void {
    const now = this.now();
    for (const sv of this.live.values()) sv.writeback(now - CONSTANTS.dirtyExpireSeconds);
    if (now - this.lastCommitAt >= CONSTANTS.commitIntervalSeconds) this.commit();
  }

  /** Docker's layer ids are 64 hex digits (init layers "<id>-init"): the subvolume's name. */
  private subvolName(id: string): string {
    const hex = createHash('sha256').update(id).digest('hex');
    return id.endsWith('-init') ? `${hex}-init` : hex;
  }

  /** The subvolume's entries outside its own tree: ROOT_REF/ROOT_BACKREF, the dir entry in subvolumes/, a UUID item. */
  private link(sv: Subvol): void {
    const n = nameBytes(sv.name);
    const rootTree = this.fs.root(TREE.ROOT);
    this.fs.insertItem(rootTree, item([TREE.FS, KEY.ROOT_REF, sv.id], ON_DISK.rootRefBytes + n));
    this.fs.insertItem(rootTree, item([sv.id, KEY.ROOT_BACKREF, TREE.FS], ON_DISK.rootRefBytes + n));
    this.top.linkSubvolume(this.subvolsDir, sv.name);
    this.fs.insertItem(this.fs.root(TREE.UUID), item([uuidOf(sv.name), KEY.UUID_KEY_SUBVOL, uuidOf(`${sv.name}/lo`)], ON_DISK.uuidItemBytes));
    this.live.set(sv.id, sv);
    sv.onSizeStale = s => this.sizeStale.add(s);
    sv.sizeStale = true;
    this.sizeStale.add(sv);
  }

  private meterFor(sv: Subvol): CostMeter {
    return new TreeMeter(this.env.meter, () => sv.height);
  }

  /** BTRFS_IOC_SUBVOL_CREATE: a new tree with its root directory (inode 256, INODE_REF ".." to itself); commits. */
  createBase(id: string): Subvol {
    const name = this.subvolName(id);
    const tmp = this.daemon?.imageTmp(name);
    const sv = new Subvol(this.fs, this.fs.createTree(this.nextId++), name);
    sv.now = () => this.now();
    sv.volume = new Volume({ clock: this.env.clock, inos: new InoAllocator(TREE.FIRST_FREE), meter: this.meterFor(sv), observer: sv, backing: this.backing, atime: this.config.atime });
    sv.addName(sv.root, [TREE.FIRST_FREE, KEY.INODE_REF, TREE.FIRST_FREE], '..', ON_DISK.inodeRefBytes + 2);
    this.link(sv);
    this.commit();
    if (tmp !== undefined) sv.registering = { tmp, parent: undefined };
    return sv;
  }

  /**
   * BTRFS_IOC_SNAP_CREATE_V2: the source's dirty data is written back first (btrfs_start_delalloc_snapshot), then the
   * snapshot is made inside the transaction commit (create_pending_snapshot).
   */
  snapshot(id: string, parent: Subvol): Subvol {
    const sid = this.nextId++;
    const name = this.subvolName(id);
    // Docker 1.3's files around the layer: containers/<id>/ before an init layer, graph/_tmp/<rand>/ before an image's
    const container = name.endsWith('-init') ? name.slice(0, -'-init'.length) : undefined;
    if (container !== undefined) this.daemon?.containerDir(container);
    const tmp = container === undefined && parent.container === undefined ? this.daemon?.imageTmp(name) : undefined;
    parent.writeback();
    let made: Subvol | undefined;
    this.pending.push(() => {
      made = new Subvol(this.fs, this.fs.snapshotTree(parent.root, sid), name);
      made.now = () => this.now();
      this.link(made);
    });
    this.commit();
    const sv = made!;
    sv.volume = parent.volume.snapshot({ meter: this.meterFor(sv), observer: sv });
    sv.container = container;
    // the container layer: ToDisk and the start's files; an image layer registers after ApplyDiff and DiffSize
    if (parent.container !== undefined) this.daemon?.containerFiles(parent.container);
    if (tmp !== undefined) sv.registering = { tmp, parent: parent.name };
    return sv;
  }

  volume(dev: Subvol): Volume {
    return dev.volume;
  }

  /** Docker 1.3's btrfs Get: no mount, the subvolume's path is returned. */
  mount(_dev: Subvol): void {}

  /**
   * Docker 1.3's btrfs Put: nothing to undo. The Put that ends a new image layer's ApplyDiff (its untar and size walk)
   * hands back to StoreImage: the daemon writes layersize and json and renames the image's directory into graph/.
   */
  unmount(dev: Subvol): void {
    const r = dev.registering;
    if (r === undefined) return;
    dev.registering = undefined;
    this.daemon?.imageFiles(dev.name, r.tmp, r.parent, dev.writtenBytes);
  }

  /** BTRFS_IOC_SNAP_DESTROY: the entry goes, the tree's references are dropped (the cleaner's work, done at once here). */
  remove(dev: Subvol): void {
    if (dev.removed) return;
    dev.removed = true;
    this.live.delete(dev.id);
    this.sizeStale.delete(dev);
    dev.onSizeStale = undefined;
    this.apparentBytes -= dev.apparentSeen;
    dev.apparentSeen = 0;
    const n = nameBytes(dev.name);
    const rootTree = this.fs.root(TREE.ROOT);
    this.top.unlinkSubvolume(this.subvolsDir, dev.name);
    this.fs.deleteItem(rootTree, [TREE.FS, KEY.ROOT_REF, dev.id]);
    this.fs.deleteItem(rootTree, [dev.id, KEY.ROOT_BACKREF, TREE.FS]);
    this.fs.deleteItem(this.fs.root(TREE.UUID), [uuidOf(dev.name), KEY.UUID_KEY_SUBVOL, uuidOf(`${dev.name}/lo`)]);
    void n;
    this.fs.dropTree(dev.root);
  }

  /** sync(2): every subvolume's dirty data written back, then the transaction committed. */
  sync(): void {
    for (const sv of this.live.values()) sv.writeback();
    this.commit();
  }

  /** `usage(false).allocatedBytes` from the counters, without building a reading (per-op accounting). */
  allocatedBytes(): number {
    return this.fs.committed.dataUsed + this.fs.committed.metadataUsed;
  }

  usage(settle = true): StorageUsage {
    // settle: what `sync; df` (measure=sync) or a plain `df` after background work (measure=df) reads; without it,
    // the committed state as it stands, with no transaction started by the reading itself
    if (settle) {
      if (this.config.measure === 'sync') this.sync();
      else this.background();
    }
    const c = this.fs.committed;
    for (const sv of this.sizeStale) {
      sv.sizeStale = false;
      const now = sv.volume.apparentBytes;
      this.apparentBytes += now - sv.apparentSeen;
      sv.apparentSeen = now;
    }
    this.sizeStale.clear();
    const apparentBytes = this.apparentBytes;
    return {
      dataBytes: c.dataUsed,
      metadataBytes: c.metadataUsed,
      dfUsedBytes: this.fs.dfUsed(c),
      allocatedBytes: c.dataUsed + c.metadataUsed,
      apparentBytes,
      systemBytes: c.systemUsed,
      dataChunkBytes: c.dataChunks,
      metadataChunkBytes: c.metadataChunks,
      systemChunkBytes: c.systemChunks,
      rawAllocatedBytes: c.rawAllocated,
      metadataRawBytes: c.metadataUsed * this.fs.dupFactor,
      globalReserveBytes: this.fs.globalReserve(),
      treeBlocks: c.treeBlocks,
      transactions: this.fs.stats.commits,
      subvolumes: this.live.size,
    };
  }

  inspect(dev: Subvol): unknown {
    const blocks: Block[] = [];
    const walk = (b: Block) => {
      blocks.push(b);
      for (const p of b.ptrs) walk(p.child);
    };
    if (!dev.removed) walk(dev.root.node);
    const shared = blocks.filter(b => (this.fs.recs.get(b.bytenr)?.refs ?? 0) > 1).length;
    return {
      subvolume: dev.id,
      name: dev.name,
      levels: dev.height,
      treeBlocks: blocks.length,
      sharedBlocks: shared,
      items: blocks.reduce((n, b) => n + b.items.length, 0),
      fileExtents: dev.removed ? [] : dev.fileExtents().map(it => ({ ino: it.key[0], offset: it.key[2], ...(it.fe ?? {}), inline: it.inline, hole: it.hole })),
    };
  }

  toJSON(): unknown {
    return {
      nodesize: this.config.nodesize,
      sectorsize: this.config.sectorsize,
      metadataProfile: this.config.metadata,
      transid: this.fs.transid,
      stats: this.fs.stats,
      blockGroups: this.fs.groups.map(g => ({ type: g.type, start: g.start, length: g.length, used: g.used })),
      trees: [...this.fs.roots.values()].map(r => ({ id: r.id, level: r.node.level, root: r.node.bytenr })),
    };
  }
}

function uuidOf(s: string): number {
  return Number.parseInt(createHash('sha256').update(s).digest('hex').slice(0, 12), 16);
}
