import { createHash } from 'node:crypto';
import type { SnapshotStore } from '../../src/block/snapshot-driver.js';
import type { DriverEnv, StorageUsage } from '../../src/engine/driver.js';
import { readMeter, resetMeter, type CostMeter, type MeterReading } from '../../src/fs/cost.js';
import { fail } from '../../src/fs/errno.js';
import { InoAllocator } from '../../src/fs/inode.js';
import { Volume, type BackingFs } from '../../src/fs/volume.js';
import { Dataset, type Deadlist, type Snapshot, type SpaceTotals } from './dataset.js';
import { blkBytes, ObjectSet, type Blk, type Obj, type ObjKind, type ObjsetHost } from './objset.js';
import { DOCKER_DATASET_NAME_BYTES, POOL_BASELINE_MOS, ZPL_BOOTSTRAP, type ZfsParams } from './params.js';
import { Zap } from './zap.js';

/** What the Volume's own (ext4-flavoured) accounting sees of a dataset; zfs space comes from the object sets. */
function zfsBacking(p: ZfsParams): BackingFs {
  return { name: 'zfs', blockBytes: p.sectorBytes, inodeBytes: p.dnodeBytes, inlineXattrBytes: 0, fastSymlinkMaxBytes: p.bonusBytes - p.znodeSaBytes };
}

/**
 * The meter a dataset's Volume charges: its own byte counts are dropped (the object set charges what zfs writes), and
 * each path component it resolves is one ZAP lookup on the host's meter (zfs_dirlook -> zap_lookup). A class with
 * the forwarding on its prototype, so every dataset's meter has one shape.
 */
class ZplMeter implements CostMeter {
  dataBytes = 0;
  metadataBytes = 0;
  copyUpBytes = 0;
  private seenLookups = 0;

  constructor(private readonly host: CostMeter) {}

  get lookups(): number {
    return this.seenLookups;
  }
  set lookups(v: number) {
    if (v > this.seenLookups) this.host.lookups += v - this.seenLookups;
    this.seenLookups = v;
  }

  reset(): void {
    resetMeter(this);
  }

  snapshot(): MeterReading {
    return readMeter(this);
  }
}

function zplMeter(host: CostMeter): CostMeter {
  return new ZplMeter(host);
}

/** A host for an object set: a dataset's (birth-time rule, dead lists) or the MOS's (plain frees). */
class Host implements ObjsetHost {
  constructor(
    readonly pool: ZfsPool,
    readonly onPlace: (b: Blk) => void,
    readonly onDrop: (b: Blk) => void,
    readonly onDirty: () => void,
  ) {}
  get p(): ZfsParams {
    return this.pool.p;
  }
  openTxg(): number {
    return this.pool.txg;
  }
  charge(bytes: number, data: boolean): void {
    this.pool.charge(bytes, data);
  }
  place(b: Blk): void {
    this.pool.alloc(b);
    this.onPlace(b);
  }
  drop(b: Blk): void {
    this.onDrop(b);
  }
  dirtied(): void {
    this.onDirty();
  }
}

/**
 * A ZFS pool holding Docker's datasets (zfs.go): `pool/docker` is the parent; a base layer is `zfs create`, every
 * child is `zfs snapshot parent@<ns>` + `zfs clone` + `zfs destroy -d` of the snapshot (it lives while the clone
 * does); Remove is `zfs destroy -r`. Space is what the pool allocates: data records, dataset metadata with its ditto
 * copy, and the MOS (dsl_dirs, dsl_datasets, ZAPs, dead lists) with three copies.
 */
export class ZfsPool implements SnapshotStore<Dataset> {
  /** The open txg. */
  txg = 4;
  readonly mos: ObjectSet;
  private mosNext = 1;
  private dirNext = 1;
  private snapSeq = 0;
  readonly datasets = new Map<string, Dataset>();
  private readonly dirty = new Set<Dataset>();
  private poolDirty = false;
  private syncing = false;
  /** Bytes allocated, by class. */
  allocData = 0;
  allocMeta = 0;
  allocMos = 0;
  /** Written in the open txg so far (at sync) and charged to the meter as changes came. */
  private writtenData = 0;
  private writtenMeta = 0;
  private chargedData = 0;
  private chargedMeta = 0;
  private readonly rootDir: Obj;
  readonly docker: Dataset;
  /** usage()'s sums over the layer datasets, kept as they change (see SpaceTotals). */
  readonly totals: SpaceTotals = { referenced: 0, usedByDataset: 0, usedBySnapshots: 0, apparent: 0, snapshots: 0 };
  /** Datasets whose tree size may have changed since usage() last read it. */
  private sizedSince: Dataset[] = [];
  /** The pool's allocation before Docker's first layer (zpool create + zfs create pool/docker). */
  readonly baselineBytes: number;

  constructor(
    readonly p: ZfsParams,
    readonly env: DriverEnv,
  ) {
    const mosHost = new Host(this, () => {}, b => this.free(b), () => this.markPoolDirty());
    this.mos = new ObjectSet(mosHost, p.poolMetadataCopies, 0);
    this.mos.mos = true;
    this.mos.owner = -1;
    let rootDir: Obj | undefined;
    for (const o of POOL_BASELINE_MOS) {
      const obj = o.bytes !== undefined ? this.mosObject('blob', o.bytes) : o.entries > 0 || o.name.includes('props') || o.name.includes('map') ? this.mosZap(o.entries) : this.mosObject('bonus');
      if (o.name === 'root dsl_dir') rootDir = obj;
    }
    this.rootDir = rootDir!;
    this.docker = this.newFilesystem('docker');
    this.sync();
    this.baselineBytes = this.allocData + this.allocMeta + this.allocMos;
  }

  // ---- pool-wide accounting ----------------------------------------------------------------------------------

  charge(bytes: number, data: boolean): void {
    if (data) {
      this.env.meter.dataBytes += bytes;
      this.chargedData += bytes;
    } else {
      this.env.meter.metadataBytes += bytes;
      this.chargedMeta += bytes;
    }
  }

  alloc(b: Blk): void {
    const n = blkBytes(b);
    if (b.mos) this.allocMos += n;
    else if (b.data) this.allocData += n;
    else this.allocMeta += n;
    if (b.data) this.writtenData += n;
    else this.writtenMeta += n;
  }

  apparentChanged(ds: Dataset): void {
    this.sizedSince.push(ds);
  }

  /** A layer's dataset joins the totals (`zfs create` or `zfs clone` done). */
  private countIn(ds: Dataset): void {
    const t = this.totals;
    ds.counted = true;
    ds.snapUsed = ds.usedBySnapshots();
    ds.apparentSeen = ds.volume.apparentBytes;
    ds.apparentStale = false;
    t.referenced += ds.os.referenced;
    t.usedByDataset += ds.usedByDataset;
    t.usedBySnapshots += ds.snapUsed;
    t.apparent += ds.apparentSeen;
    t.snapshots += ds.snapshots.length;
  }

  /** A destroyed dataset leaves the totals with what they held of it. */
  private countOut(ds: Dataset): void {
    if (!ds.counted) return;
    const t = this.totals;
    ds.counted = false;
    t.referenced -= ds.os.referenced;
    t.usedByDataset -= ds.usedByDataset;
    t.usedBySnapshots -= ds.snapUsed;
    t.apparent -= ds.apparentSeen;
    t.snapshots -= ds.snapshots.length;
  }

  /** Dead lists rewritten (a snapshot destroyed): the dataset's snapshot space is summed again. */
  private recountSnapUsed(ds: Dataset): void {
    const n = ds.usedBySnapshots();
    if (ds.counted) this.totals.usedBySnapshots += n - ds.snapUsed;
    ds.snapUsed = n;
  }

  free(b: Blk): void {
    const n = blkBytes(b);
    if (b.mos) this.allocMos -= n;
    else if (b.data) this.allocData -= n;
    else this.allocMeta -= n;
  }

  /** The first change of a txg: the uberblock will be written to every label at sync. */
  markPoolDirty(): void {
    if (this.poolDirty) return;
    this.poolDirty = true;
    this.charge(this.p.uberblockBytes * this.p.labelsPerVdev, false);
  }

  // ---- MOS objects -------------------------------------------------------------------------------------------

  private mosObject(kind: ObjKind, bytes = 512): Obj {
    const o = this.mos.createObject(this.mosNext++, kind, bytes, this.p.metaDnodeBlkptrs);
    // dsl_dir_phys / dsl_dataset_phys and friends sit in the bonus buffer
    this.mos.setBonus(o, kind === 'bonus' ? 256 : 0);
    if (kind === 'blob') this.mos.markL0(o, 0);
    return o;
  }

  private mosZap(entries = 0, name = (i: number) => `e${i}`): Obj {
    const o = this.mosObject('zap', this.p.zap.microGrowBytes);
    o.zap = new Zap(this.p.zap);
    for (let i = 0; i < entries; i++) o.zap.add(name(i));
    this.mos.touchZap(o);
    return o;
  }

  private zapAdd(o: Obj, name: string): void {
    o.zap!.add(name);
    this.mos.touchZap(o);
  }

  private zapRemove(o: Obj, name: string): void {
    o.zap!.remove(name);
    this.mos.touchZap(o);
  }

  private newDeadlist(): Deadlist {
    const zapObj = this.mosZap(1);
    const bpobj = this.mosObject('bpobj', this.p.bpobjBlockBytes);
    return { entries: [], zapObj, bpobj };
  }

  private freeDeadlist(dl: Deadlist): void {
    this.mos.freeObject(dl.zapObj);
    this.mos.freeObject(dl.bpobj);
  }

  /** bpobj_enqueue: the block pointer is appended to the dead list's bpobj (its last block rewritten). */
  appendDead(dl: Deadlist, b: Blk): void {
    dl.entries.push(b);
    dl.bpobj.entries = dl.entries.length;
    this.mos.markL0(dl.bpobj, Math.floor(((dl.entries.length - 1) * this.p.bpobjEntryBytes) / dl.bpobj.blksz));
  }

  /** A dead list rewritten with new contents (snapshot destroy moves and frees entries). */
  private rewriteDead(dl: Deadlist, entries: Blk[]): void {
    const before = this.mos.l0Ids(dl.bpobj);
    dl.entries = entries;
    dl.bpobj.entries = entries.length;
    const blocks = Math.ceil((entries.length * this.p.bpobjEntryBytes) / dl.bpobj.blksz);
    for (const b of before) if (b >= blocks) this.mos.freeL0(dl.bpobj, b);
    for (let b = 0; b < blocks; b++) this.mos.markL0(dl.bpobj, b);
    this.mos.markDnode(dl.bpobj);
  }

  // ---- datasets ----------------------------------------------------------------------------------------------

  /** The dataset's object-set host; `get` is undefined while the object set is being built (then see adopt). */
  private datasetHost(get: () => Dataset | undefined): Host {
    return new Host(
      this,
      b => get()!.placed(b),
      b => get()!.dropped(b),
      () => {
        const ds = get();
        if (ds !== undefined) this.datasetDirtied(ds);
      },
    );
  }

  /** A dataset's changes dirty its dsl_dataset (ds_bp, referenced) and the used bytes of its dsl_dir and ancestors. */
  private datasetDirtied(ds: Dataset): void {
    this.dirty.add(ds);
    this.mos.markDnode(ds.mosObjs.ds);
    this.mos.markDnode(ds.mosObjs.dir);
    if (this.dockerReady() && ds !== this.docker) this.mos.markDnode(this.docker.mosObjs.dir);
    this.mos.markDnode(this.rootDir);
    this.markPoolDirty();
  }

  /** dsl_dir_create_sync + dsl_dataset_create_sync: the MOS objects of a new dataset, named in its parent's child map. */
  private newDslObjects(name: string) {
    const dir = this.mosObject('bonus');
    const childMap = this.mosZap();
    const props = this.mosZap(1); // mountpoint=legacy
    const ds = this.mosObject('bonus');
    const snapnames = this.mosZap();
    if (this.dockerReady()) this.zapAdd(this.docker.mosObjs.childMap, name);
    return { dir, childMap, props, ds, snapnames, clones: undefined as Obj | undefined };
  }

  private dockerReady(): boolean {
    return (this as { docker?: Dataset }).docker !== undefined;
  }

  private datasetName(id: string): string {
    return createHash('sha256').update(id).digest('hex').slice(0, DOCKER_DATASET_NAME_BYTES);
  }

  /** `zfs create`: a new object set with the ZPL's bootstrap objects and an empty root directory. */
  private newFilesystem(id: string): Dataset {
    const mos = this.newDslObjects(this.datasetName(id));
    const ref: { ds?: Dataset } = {};
    const os = new ObjectSet(this.datasetHost(() => ref.ds), this.p.datasetMetadataCopies, this.p.accountingObjects);
    os.owner = this.dirNext++;
    const ds = (ref.ds = new Dataset(id, os.owner, this, os, this.newDeadlist(), mos));
    if (os.isDirty()) this.datasetDirtied(ds);
    let num = 1;
    for (const b of ZPL_BOOTSTRAP) {
      const o = os.createObject(num++, 'zap', this.p.zap.microGrowBytes, this.p.znodeBlkptrs);
      o.zap = new Zap(this.p.zap, b.fat === true);
      for (const e of b.entries) o.zap.add(e);
      os.touchZap(o);
    }
    ds.volume = new Volume({
      clock: this.env.clock,
      inos: new InoAllocator(num),
      backing: zfsBacking(this.p),
      meter: zplMeter(this.env.meter),
      observer: ds,
      atime: 'relatime',
    });
    ds.onCopy = n => (this.env.meter.copyUpBytes += n);
    this.datasets.set(id, ds);
    if (this.dockerReady()) this.countIn(ds);
    return ds;
  }

  createBase(id: string): Dataset {
    if (this.datasets.has(id)) fail('EEXIST');
    let ds: Dataset | undefined;
    this.sync(() => {
      ds = this.newFilesystem(id);
    });
    return ds!;
  }

  /**
   * Docker's cloneFilesystem: `zfs snapshot parent@<ns>` (a sync task: the pending changes are written in that txg,
   * and the snapshot takes the head's dead list), `zfs clone` (a new dsl_dir and dsl_dataset whose root block
   * pointer is the snapshot's: every block shared), then `zfs destroy -d` of the snapshot (deferred: it goes with its
   * last clone).
   */
  snapshot(id: string, parent: Dataset): Dataset {
    if (this.datasets.has(id)) fail('EEXIST');
    let snap: Snapshot | undefined;
    this.sync(() => {
      snap = this.takeSnapshot(parent);
    });
    let clone: Dataset | undefined;
    this.sync(() => {
      clone = this.cloneFrom(id, snap!);
    });
    this.sync(() => {
      snap!.deferDestroy = true;
      this.mos.markDnode(snap!.dsObj);
    });
    return clone!;
  }

  private takeSnapshot(parent: Dataset): Snapshot {
    const name = String(1_700_000_000_000_000_000n + BigInt(++this.snapSeq));
    const frozen = parent.os.clone(parent.os.host);
    const snap: Snapshot = {
      name,
      txg: this.txg,
      prevTxg: parent.prevSnapTxg,
      ds: parent,
      deadlist: parent.deadlist,
      os: frozen,
      // the frozen object set is never written (the head copies an object before changing it): its blocks are the
      // snapshot's, walked when asked rather than listed at every `zfs snapshot`
      get blocks() {
        return [...frozen.blocks()];
      },
      referenced: parent.os.referenced,
      clones: 0,
      deferDestroy: false,
      dsObj: this.mosObject('bonus'),
      nextClones: undefined,
    };
    parent.deadlist = this.newDeadlist();
    parent.prevSnapTxg = this.txg;
    parent.snapshots.push(snap);
    if (parent.counted) this.totals.snapshots++;
    this.zapAdd(parent.mosObjs.snapnames, name);
    this.mos.markDnode(parent.mosObjs.ds);
    return snap;
  }

  private cloneFrom(id: string, snap: Snapshot): Dataset {
    const origin = snap.ds;
    const mos = this.newDslObjects(this.datasetName(id));
    const ref: { ds?: Dataset } = {};
    const os = snap.os.clone(this.datasetHost(() => ref.ds));
    os.owner = this.dirNext++;
    const ds = (ref.ds = new Dataset(id, os.owner, this, os, this.newDeadlist(), mos));
    ds.origin = snap;
    ds.originTxg = snap.txg;
    ds.prevSnapTxg = snap.txg;
    ds.xattrDirs = new Map([...origin.xattrDirs].map(([k, v]) => [k, { dir: v.dir, files: new Map(v.files) }]));
    ds.volume = origin.volume.snapshot({ meter: zplMeter(this.env.meter), observer: ds });
    ds.onCopy = n => (this.env.meter.copyUpBytes += n);
    snap.clones++;
    snap.nextClones ??= this.mosZap();
    this.zapAdd(snap.nextClones, ds.mosObjs.ds.num.toString(16));
    origin.mosObjs.clones ??= this.mosZap();
    this.zapAdd(origin.mosObjs.clones, ds.mosObjs.ds.num.toString(16));
    this.datasets.set(id, ds);
    this.countIn(ds);
    return ds;
  }

  volume(dev: Dataset): Volume {
    return dev.volume;
  }

  /** Mounting writes nothing (no atime or log replay in this model). */
  mount(dev: Dataset): void {
    dev.mounted = true;
  }

  /** zfs_umount: zfsvfs_teardown waits for the open txg to sync. [R] */
  unmount(dev: Dataset): void {
    dev.mounted = false;
    this.sync();
  }

  /** `zfs destroy -r`: the head goes (blocks born after its origin are freed), then a deferred origin snapshot. */
  remove(dev: Dataset): void {
    for (const s of dev.snapshots) if (s.clones > 0) fail('EBUSY');
    this.sync(() => {
      for (const s of [...dev.snapshots].reverse()) this.destroySnapshot(s);
      this.destroyHead(dev);
    });
  }

  private destroyHead(ds: Dataset): void {
    this.countOut(ds);
    // the open txg's changes were written by this sync; everything the head references born after the origin goes
    for (const b of ds.os.blocks()) if (b.birth > ds.originTxg) this.free(b);
    ds.usedByDataset = 0;
    ds.destroyed = true;
    this.dirty.delete(ds);
    this.freeDeadlist(ds.deadlist);
    const m = ds.mosObjs;
    for (const o of [m.dir, m.childMap, m.props, m.ds, m.snapnames, m.clones]) if (o !== undefined) this.mos.freeObject(o);
    this.zapRemove(this.docker.mosObjs.childMap, this.datasetName(ds.id));
    this.datasets.delete(ds.id);
    const snap = ds.origin;
    if (snap !== undefined) {
      snap.clones--;
      this.zapRemove(snap.nextClones!, m.ds.num.toString(16));
      const originDs = snap.ds;
      if (originDs.mosObjs.clones) this.zapRemove(originDs.mosObjs.clones, m.ds.num.toString(16));
      if (snap.clones === 0 && snap.deferDestroy) this.destroySnapshot(snap);
    }
  }

  /**
   * dsl_destroy_snapshot_sync: the blocks on the next dead list born after the previous snapshot were held by this
   * snapshot alone and are freed; its own dead list joins the next one.
   */
  private destroySnapshot(s: Snapshot): void {
    const ds = s.ds;
    const i = ds.snapshots.indexOf(s);
    const next = ds.snapshots[i + 1];
    const nextDl = next?.deadlist ?? ds.deadlist;
    const keep: Blk[] = [];
    for (const b of nextDl.entries) {
      if (b.birth > s.prevTxg) this.free(b);
      else keep.push(b);
    }
    this.rewriteDead(nextDl, [...keep, ...s.deadlist.entries]);
    if (next !== undefined) next.prevTxg = s.prevTxg;
    else ds.prevSnapTxg = s.prevTxg;
    ds.snapshots.splice(i, 1);
    if (ds.counted) this.totals.snapshots--;
    this.recountSnapUsed(ds);
    this.freeDeadlist(s.deadlist);
    this.mos.freeObject(s.dsObj);
    if (s.nextClones) this.mos.freeObject(s.nextClones);
    this.zapRemove(ds.mosObjs.snapnames, s.name);
    this.mos.markDnode(ds.mosObjs.ds);
  }

  /**
   * spa_sync of the open txg: every dirty dataset's object set, then the sync task (snapshot, clone, destroy, which
   * run in syncing context after the datasets), then the MOS, then the uberblock in each label. The meter, charged
   * as changes came, is trued up to what was written.
   */
  sync(task?: () => void): void {
    if (this.syncing) {
      task?.();
      return;
    }
    if (!this.poolDirty && this.dirty.size === 0 && task === undefined) return;
    this.syncing = true;
    try {
      this.markPoolDirty();
      this.syncDatasets();
      task?.();
      this.syncDatasets();
      this.mos.sync();
      this.writtenMeta += this.p.uberblockBytes * this.p.labelsPerVdev;
      const dData = this.writtenData - this.chargedData;
      const dMeta = this.writtenMeta - this.chargedMeta;
      this.env.meter.dataBytes += dData;
      this.env.meter.metadataBytes += dMeta;
    } finally {
      this.writtenData = this.writtenMeta = this.chargedData = this.chargedMeta = 0;
      this.poolDirty = false;
      this.syncing = false;
      this.txg++;
    }
  }

  private syncDatasets(): void {
    while (this.dirty.size > 0) {
      const batch = [...this.dirty];
      this.dirty.clear();
      for (const ds of batch) if (!ds.destroyed) ds.os.sync();
    }
  }

  // ---- reports -----------------------------------------------------------------------------------------------

  /** `usage(false).allocatedBytes` from the counters, without building a reading (per-op accounting). */
  allocatedBytes(): number {
    return this.allocData + this.allocMeta + this.allocMos;
  }

  /** `zpool sync; zpool list` and `zfs list -o space` summed over Docker's datasets. */
  usage(settle = true): StorageUsage {
    if (settle) this.sync();
    this.readSizes();
    const { referenced, usedByDataset, usedBySnapshots, apparent, snapshots } = this.totals;
    const metadataBytes = this.allocMeta + this.allocMos;
    return {
      dataBytes: this.allocData,
      metadataBytes,
      dfUsedBytes: this.allocData + metadataBytes,
      allocatedBytes: this.allocData + metadataBytes,
      apparentBytes: apparent,
      datasetMetadataBytes: this.allocMeta,
      mosBytes: this.allocMos,
      referencedBytes: referenced,
      usedByDatasetBytes: usedByDataset,
      usedBySnapshotsBytes: usedBySnapshots,
      /** Referenced but charged to another dataset (the origin): what clones share. */
      sharedBytes: referenced - usedByDataset,
      baselineBytes: this.baselineBytes,
      datasets: this.datasets.size - 1,
      snapshots,
    };
  }

  /** The trees that changed size since the last reading are read again (`du --apparent-size` of each). */
  private readSizes(): void {
    const list = this.sizedSince;
    if (list.length === 0) return;
    this.sizedSince = [];
    for (const ds of list) {
      if (!ds.apparentStale) continue;
      ds.apparentStale = false;
      if (!ds.counted) continue;
      const now = ds.volume.apparentBytes;
      this.totals.apparent += now - ds.apparentSeen;
      ds.apparentSeen = now;
    }
  }

  /** The sums usage() keeps running, added up again by walking every layer's dataset and dead list (a check). */
  walkTotals(): SpaceTotals {
    const t: SpaceTotals = { referenced: 0, usedByDataset: 0, usedBySnapshots: 0, apparent: 0, snapshots: 0 };
    for (const ds of this.datasets.values()) {
      if (ds === this.docker) continue;
      t.referenced += ds.os.referenced;
      t.usedByDataset += ds.usedByDataset;
      t.usedBySnapshots += ds.usedBySnapshots();
      t.apparent += ds.volume.apparentBytes;
      t.snapshots += ds.snapshots.length;
    }
    return t;
  }

  inspect(dev: Dataset): unknown {
    const objects = [...dev.os.objects.values()]
      .sort((a, b) => a.num - b.num)
      .map(o => ({
        object: o.num,
        type: o.kind,
        blockBytes: o.blksz,
        levels: o.nlevels,
        blocks: o.l0.size,
        indirectBlocks: o.ind.reduce((n, m) => n + m.size, 0),
        ...(o.zap ? { zap: o.zap.toJSON() } : {}),
        ...(o.l0.size <= 16 && o.kind === 'data' ? { records: [...o.l0].map(([blkid, b]) => ({ blkid, lsize: b.lsize, asize: b.asize, birth: b.birth })) } : {}),
      }));
    // the dataset's own structures only: what its snapshots and clones do shows in toJSON (the pool)
    return {
      dataset: `pool/docker/${this.datasetName(dev.id)}`,
      origin: dev.origin === undefined ? null : { dataset: dev.origin.ds.id, snapshot: dev.origin.name, txg: dev.origin.txg },
      referencedBytes: dev.os.referenced,
      usedByDatasetBytes: dev.usedByDataset,
      metaDnodeLevels: dev.os.meta.nlevels,
      objects,
    };
  }

  toJSON(): unknown {
    return {
      txg: this.txg,
      recordsize: this.p.recordBytes,
      profile: this.p.profile,
      allocated: { data: this.allocData, datasetMetadata: this.allocMeta, mos: this.allocMos },
      datasets: [...this.datasets.values()]
        .filter(d => d !== this.docker)
        .map(d => ({
          id: d.id,
          dataset: `pool/docker/${this.datasetName(d.id)}`,
          origin: d.origin === undefined ? null : `${d.origin.ds.id}@${d.origin.name}`,
          prevSnapTxg: d.prevSnapTxg,
          referenced: d.os.referenced,
          usedByDataset: d.usedByDataset,
          usedBySnapshots: d.usedBySnapshots(),
          deadListEntries: d.deadlist.entries.length,
          snapshots: d.snapshots.map(s => ({ name: s.name, txg: s.txg, unique: d.snapshotUnique(s), clones: s.clones, deferDestroy: s.deferDestroy })),
        })),
    };
  }
}
