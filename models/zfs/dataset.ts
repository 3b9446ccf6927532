import type { Inode } from '../../src/fs/inode.js';
import type { Volume, VolumeObserver } from '../../src/fs/volume.js';
import { blkBytes, roundUp, type Blk, type Obj, type ObjectSet } from './objset.js';
import type { ZfsParams } from './params.js';
import { Zap } from './zap.js';

/**
 * A dead list (dsl_deadlist): the blocks a head or snapshot stopped referencing that an earlier snapshot (or the
 * clone's origin) still holds, stored as block pointers in a bpobj in the MOS.
 */
export interface Deadlist {
  entries: Blk[];
  /** MOS objects: the dead-list ZAP and its bpobj. */
  readonly zapObj: Obj;
  readonly bpobj: Obj;
}

/** A snapshot: a frozen object set at txg `txg`, its dead list, its clones. */
export interface Snapshot {
  readonly name: string;
  readonly txg: number;
  /** Txg of the previous snapshot of the same dataset (or the origin's, or 0). */
  prevTxg: number;
  readonly ds: Dataset;
  deadlist: Deadlist;
  /** The object set as it was (what a clone starts from). */
  readonly os: ObjectSet;
  /** Every block the snapshot references (for checks and inspect), walked from its frozen object set. */
  readonly blocks: readonly Blk[];
  readonly referenced: number;
  clones: number;
  /** `zfs destroy -d`: destroyed once the last clone goes. */
  deferDestroy: boolean;
  /** MOS: its dsl_dataset and next-clones ZAP. */
  readonly dsObj: Obj;
  nextClones: Obj | undefined;
}

/** Dir-based xattrs (xattr=on): a hidden xattr directory (a ZAP) and one file object per attribute. */
export interface XattrDir {
  /** Object numbers (a clone's objects are its own copies, found by number). */
  readonly dir: number;
  readonly files: Map<string, { num: number; value: Uint8Array }>;
}

/**
 * Sums over Docker's layer datasets of what `zfs list -o space` reports per dataset, kept as blocks come and go (the
 * pool's dsl_dir accounting is running sums too: dd_used_bytes and friends change with every block born or killed).
 */
export interface SpaceTotals {
  referenced: number;
  usedByDataset: number;
  usedBySnapshots: number;
  apparent: number;
  snapshots: number;
}

/** The pool services a dataset uses. */
export interface DatasetPool {
  readonly p: ZfsParams;
  readonly totals: SpaceTotals;
  free(b: Blk): void;
  appendDead(dl: Deadlist, b: Blk): void;
  /** The dataset's POSIX tree changed size (files written, truncated, created or freed). */
  apparentChanged(ds: Dataset): void;
}

/**
 * A ZFS filesystem (the head of a dsl_dataset): its object set, the ZPL mapping of the POSIX tree onto objects
 * (VolumeObserver), and the DSL state that decides what a freed block does: `prevSnapTxg` (the last snapshot, or the
 * origin for a clone) and the dead list.
 */
export class Dataset implements VolumeObserver {
  volume!: Volume;
  snapshots: Snapshot[] = [];
  origin: Snapshot | undefined;
  /** Blocks born at or before this txg belong to the origin (0: no origin). */
  originTxg = 0;
  prevSnapTxg = 0;
  /** Bytes of blocks reachable from the head born after the origin: `usedbydataset`. */
  usedByDataset = 0;
  destroyed = false;
  mounted = false;
  /** Whether its figures are in the pool's totals (a layer's dataset, not destroyed), and what they hold of it. */
  counted = false;
  snapUsed = 0;
  apparentSeen = 0;
  /** The tree changed size since apparentSeen was read. */
  apparentStale = false;
  xattrDirs = new Map<number, XattrDir>();

  constructor(
    readonly id: string,
    readonly dirId: number,
    readonly pool: DatasetPool,
    public os: ObjectSet,
    public deadlist: Deadlist,
    /** MOS objects of the dsl_dir and dsl_dataset. */
    readonly mosObjs: { dir: Obj; childMap: Obj; props: Obj; ds: Obj; snapnames: Obj; clones: Obj | undefined },
  ) {}

  get p(): ZfsParams {
    return this.pool.p;
  }

  /** A block joins the head's tree. */
  placed(b: Blk): void {
    const n = blkBytes(b);
    const mine = b.birth > this.originTxg;
    if (mine) this.usedByDataset += n;
    if (this.counted) {
      const t = this.pool.totals;
      t.referenced += n;
      if (mine) t.usedByDataset += n;
    }
  }

  /** The birth-time rule: a block born after the last snapshot is freed; an older one goes on the dead list. */
  dropped(b: Blk): void {
    const n = blkBytes(b);
    const mine = b.birth > this.originTxg;
    if (mine) this.usedByDataset -= n;
    if (b.birth > this.prevSnapTxg) this.pool.free(b);
    else {
      this.pool.appendDead(this.deadlist, b);
      if (mine) this.snapUsed += n;
    }
    if (this.counted) {
      const t = this.pool.totals;
      t.referenced -= n;
      if (mine) {
        t.usedByDataset -= n;
        if (b.birth <= this.prevSnapTxg) t.usedBySnapshots += n;
      }
    }
  }

  /** The tree's size may have changed: the pool reads it again at its next usage. */
  private sized(): void {
    if (this.apparentStale) return;
    this.apparentStale = true;
    this.pool.apparentChanged(this);
  }

  /** `usedbysnapshots`: blocks this dataset wrote that only its snapshots still hold. */
  usedBySnapshots(): number {
    let n = 0;
    for (const dl of [this.deadlist, ...this.snapshots.map(s => s.deadlist)]) {
      for (const b of dl.entries) if (b.birth > this.originTxg) n += blkBytes(b);
    }
    return n;
  }

  /** A snapshot's own space (`used` of the snapshot): blocks born after the previous snapshot that the next one lost. */
  snapshotUnique(s: Snapshot): number {
    const i = this.snapshots.indexOf(s);
    const next = this.snapshots[i + 1]?.deadlist ?? this.deadlist;
    let n = 0;
    for (const b of next.entries) if (b.birth > s.prevTxg) n += blkBytes(b);
    return n;
  }

  private obj(inode: Inode): Obj | undefined {
    return this.os.writable(inode.ino);
  }

  // ---- ZPL: the POSIX tree as objects ------------------------------------------------------------------------

  /** SA bytes in the bonus: the znode attributes, a symlink's target, a device number. */
  private saBytes(inode: Inode): number {
    let n = this.p.znodeSaBytes;
    if (inode.kind === 'symlink') n += Buffer.byteLength(inode.target ?? '');
    if (inode.kind === 'chr' || inode.kind === 'blk') n += 8;
    if (this.xattrDirs.has(inode.ino)) n += 8; // ZPL_XATTR: the xattr directory's object number
    return n;
  }

  inodeAllocated(inode: Inode): void {
    this.sized();
    const p = this.p;
    let o: Obj;
    if (inode.kind === 'file') {
      // zfs_mknode: a new file's block size is SPA_MINBLOCKSIZE until its first write grows it
      o = this.os.createObject(inode.ino, 'data', 512, p.znodeBlkptrs);
    } else if (inode.kind === 'dir') {
      o = this.os.createObject(inode.ino, 'zap', p.zap.microGrowBytes, p.znodeBlkptrs);
      o.zap = new Zap(p.zap);
      this.os.touchZap(o);
    } else {
      o = this.os.createObject(inode.ino, 'bonus', 512, p.znodeBlkptrs);
    }
    this.os.setBonus(o, this.saBytes(inode));
  }

  inodeDirtied(inode: Inode): void {
    const o = this.obj(inode);
    if (o !== undefined) this.os.markDnode(o);
  }

  inodeFreed(inode: Inode): void {
    this.sized();
    const o = this.obj(inode);
    if (o === undefined) return;
    const x = this.xattrDirs.get(inode.ino);
    if (x !== undefined) {
      for (const f of x.files.values()) this.os.freeObject(this.os.writable(f.num)!);
      this.os.freeObject(this.os.writable(x.dir)!);
      this.xattrDirs.delete(inode.ino);
    }
    this.os.freeObject(o);
  }

  entryAdded(dir: Inode, name: string, _inode: Inode): void {
    const o = this.obj(dir);
    if (o?.zap === undefined) return;
    o.zap.add(name);
    this.os.touchZap(o);
  }

  entryRemoved(dir: Inode, name: string, _inode: Inode): void {
    const o = this.obj(dir);
    if (o?.zap === undefined) return;
    o.zap.remove(name);
    this.os.touchZap(o);
  }

  /** Copy counter, set by the pool: bytes of shared records read and rewritten. */
  onCopy: (bytes: number) => void = () => {};

  /**
   * Dirties record `blkid` for a write of [from, to) (file offsets). A partial write of an existing record is a
   * read-modify-write of the whole record (dbuf_will_dirty); when that record is shared with a snapshot or the
   * origin (born at or before prevSnapTxg) the whole record is copied: counted once per txg.
   */
  private dirtyRecord(o: Obj, blkid: number, from: number, to: number): void {
    const start = blkid * o.blksz;
    const partial = from > start || to < start + o.blksz;
    // a record already dirty in this txg was read (and copied) when it was first dirtied
    if (!this.os.markL0(o, blkid) || !partial) return;
    const old = o.l0.get(blkid);
    if (old !== undefined && old.birth <= this.prevSnapTxg) this.onCopy(old.lsize);
  }

  /** zfs_write/zfs_extend: while a file has one block, that block grows (to the write's end, up to recordsize). */
  private growBlock(o: Obj, end: number): void {
    if (o.blksz >= this.p.recordBytes || end <= o.blksz || !this.os.onlyL0Zero(o)) return;
    const grown = roundUp(Math.min(end, this.p.recordBytes), 512);
    if (this.os.hasL0(o, 0)) {
      // the existing block is rewritten at the new size: its old bytes are carried over
      const old = o.l0.get(0);
      const fresh = this.os.markL0(o, 0);
      o.blksz = grown;
      this.os.markL0(o, 0);
      if (fresh && old !== undefined && old.birth <= this.prevSnapTxg) this.onCopy(old.lsize);
    } else {
      o.blksz = grown;
    }
    this.os.markDnode(o);
  }

  dataWritten(inode: Inode, offset: number, length: number): void {
    this.sized();
    const o = this.obj(inode);
    if (o === undefined || length === 0) return;
    const end = offset + length;
    this.growBlock(o, end);
    const first = Math.floor(offset / o.blksz);
    const last = Math.floor((end - 1) / o.blksz);
    for (let b = first; b <= last; b++) this.dirtyRecord(o, b, offset, end);
  }

  dataTruncated(inode: Inode, newSize: number, oldSize: number): void {
    this.sized();
    const o = this.obj(inode);
    if (o === undefined) return;
    if (newSize > oldSize) {
      this.growBlock(o, newSize);
      return;
    }
    const keep = Math.ceil(newSize / o.blksz);
    for (const b of this.os.l0Ids(o)) if (b >= keep) this.os.freeL0(o, b);
    // a partial last record is zeroed past the new end: rewritten
    if (newSize % o.blksz !== 0 && this.os.hasL0(o, keep - 1)) this.dirtyRecord(o, keep - 1, newSize, keep * o.blksz);
    this.os.markDnode(o);
  }

  xattrsChanged(inode: Inode): void {
    const o = this.obj(inode);
    if (o === undefined) return;
    const want = inode.xattrs ?? new Map<string, Uint8Array>();
    let x = this.xattrDirs.get(inode.ino);
    if (x === undefined) {
      if (want.size === 0) return;
      // zfs_make_xattrdir: a hidden directory object, numbered like any new object
      const dir = this.os.createObject(this.volume.inos.allocate(), 'zap', this.p.zap.microGrowBytes, this.p.znodeBlkptrs);
      dir.zap = new Zap(this.p.zap);
      this.os.touchZap(dir);
      this.os.setBonus(dir, this.p.znodeSaBytes);
      x = { dir: dir.num, files: new Map() };
      this.xattrDirs.set(inode.ino, x);
      this.os.setBonus(o, this.saBytes(inode));
    }
    const dir = this.os.writable(x.dir)!;
    for (const [name, f] of [...x.files]) {
      if (want.has(name)) continue;
      dir.zap!.remove(name);
      this.os.freeObject(this.os.writable(f.num)!);
      x.files.delete(name);
    }
    for (const [name, value] of want) {
      const have = x.files.get(name);
      if (have !== undefined && sameBytes(have.value, value)) continue;
      let f = have === undefined ? undefined : this.os.writable(have.num)!;
      if (f === undefined) {
        f = this.os.createObject(this.volume.inos.allocate(), 'data', 512, this.p.znodeBlkptrs);
        this.os.setBonus(f, this.p.znodeSaBytes);
        dir.zap!.add(name);
      } else {
        for (const b of this.os.l0Ids(f)) this.os.freeL0(f, b);
      }
      x.files.set(name, { num: f.num, value });
      if (value.length > 0) {
        f.blksz = roundUp(Math.min(value.length, this.p.recordBytes), 512);
        for (let b = 0; b * f.blksz < value.length; b++) this.os.markL0(f, b);
      }
    }
    this.os.touchZap(dir);
  }
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a === b) return true;
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
