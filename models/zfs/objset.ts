import type { ZfsParams } from './params.js';
import { Zap } from './zap.js';

/**
 * A block as its block pointer describes it: logical size, allocated size of one copy (the sector-rounded physical
 * size), the number of copies (DVAs), the txg it was born in, and whether it is file data or metadata.
 */
export interface Blk {
  readonly lsize: number;
  readonly asize: number;
  readonly copies: number;
  readonly birth: number;
  readonly data: boolean;
  /** MOS block (pool metadata) rather than a dataset's. */
  readonly mos: boolean;
  /** The dsl_dir that wrote it (its space is charged there: `used`). */
  readonly owner: number;
}

export function blkBytes(b: Blk): number {
  return b.asize * b.copies;
}

/** What an object's level-0 blocks hold, which decides their size. */
export type ObjKind = 'data' | 'zap' | 'bonus' | 'bpobj' | 'dnodes' | 'blob';

/** One object (dnode) of an object set, and the tree of blocks below it. */
export interface Obj {
  readonly num: number;
  readonly kind: ObjKind;
  /** Data block size (dn_datablkszsec x 512). */
  blksz: number;
  readonly nblkptr: number;
  nlevels: number;
  l0: BlockMap<Blk>;
  /** ind[k-1]: the level-k indirect blocks by index. */
  ind: Map<number, Blk>[];
  /** live[k-1]: for each level-k index, how many level-(k-1) blocks exist below it. */
  live: Map<number, number>[];
  zap: Zap | undefined;
  /** bpobj: entries (block pointers) it holds. */
  entries: number;
  /** SA bytes in the bonus buffer (ZPL objects). */
  bonusLive: number;
  /** SA spill block, when the attributes do not fit in the bonus buffer. */
  spill: Blk | undefined;
  /** Bytes the spill block must hold (0: none). */
  spillBytes: number;
  /** Set on objects whose dnode lives in objset_phys (user/group/project used), not in the meta-dnode. */
  readonly inRoot: boolean;
  /** Its dnodeLive as last added to its dnode block's running total (ObjectSet.recount). */
  counted: number;
  /** The ownership token of the object set that may change it in place (ObjectSet.writable). */
  heldBy: object | undefined;
  /**
   * Dirty records of the open txg, kept on the dnode as dn_dirty_records are: level-0 block id (-1: the spill block) to
   * the bytes charged for it so far; undefined while the object is clean.
   */
  dirtyL0: DirtyRecords | undefined;
  /** dirtyInd[k-1]: dirty level-k indirect blocks by index, with the bytes charged for each. */
  dirtyInd: (Map<number, number> | undefined)[] | undefined;
}

/** How an object set's blocks enter and leave the pool: the dataset's birth-time rule, or plain frees for the MOS. */
export interface ObjsetHost {
  readonly p: ZfsParams;
  /** The txg the open changes will be written in. */
  openTxg(): number;
  /** Bytes this change adds to the open txg's writes (an estimate kept current while the block stays dirty). */
  charge(bytes: number, data: boolean): void;
  /** A block written at sync joins the tree. */
  place(b: Blk): void;
  /** A block leaves the tree (overwritten or freed): the birth-time rule decides whether it is freed. */
  drop(b: Blk): void;
  /** The object set has its first dirty change of the open txg. */
  dirtied(): void;
}

/** Rounds up to a multiple of `unit` (n and unit integers, unit > 0): remainder arithmetic keeps small sizes integers. */
export function roundUp(n: number, unit: number): number {
  const r = n % unit;
  return r === 0 ? n : r > 0 ? n - r + unit : n - r;
}

const NO_KEY = -2;

/**
 * A map from block id (>= -1) to V, with a Map's answers and insertion order, holding its entry inline while it has at
 * most one: most objects have a single level-0 block (a file below recordsize, a microzap, a dnode's bonus), and most
 * dirty dnodes one dirty record, so a Map (and its hash table) per object is only built for the others.
 */
export class BlockMap<V> {
  private k0 = NO_KEY;
  private v0: V | undefined = undefined;
  private m: Map<number, V> | undefined = undefined;

  get size(): number {
    return this.m !== undefined ? this.m.size : this.k0 === NO_KEY ? 0 : 1;
  }

  get(k: number): V | undefined {
    if (this.m !== undefined) return this.m.get(k);
    return k === this.k0 ? this.v0 : undefined;
  }

  has(k: number): boolean {
    if (this.m !== undefined) return this.m.has(k);
    return k === this.k0;
  }

  set(k: number, v: V): this {
    if (this.m !== undefined) {
      this.m.set(k, v);
    } else if (this.k0 === NO_KEY || this.k0 === k) {
      this.k0 = k;
      this.v0 = v;
    } else {
      this.m = new Map<number, V>().set(this.k0, this.v0 as V).set(k, v);
      this.k0 = NO_KEY;
      this.v0 = undefined;
    }
    return this;
  }

  delete(k: number): boolean {
    if (this.m !== undefined) return this.m.delete(k);
    if (k !== this.k0 || k === NO_KEY) return false;
    this.k0 = NO_KEY;
    this.v0 = undefined;
    return true;
  }

  /** The first key in insertion order (undefined when empty). */
  firstKey(): number | undefined {
    if (this.m !== undefined) {
      for (const k of this.m.keys()) return k;
      return undefined;
    }
    return this.k0 === NO_KEY ? undefined : this.k0;
  }

  *keys(): Generator<number> {
    if (this.m !== undefined) yield* this.m.keys();
    else if (this.k0 !== NO_KEY) yield this.k0;
  }

  *values(): Generator<V> {
    if (this.m !== undefined) yield* this.m.values();
    else if (this.k0 !== NO_KEY) yield this.v0 as V;
  }

  *entries(): Generator<[number, V]> {
    if (this.m !== undefined) yield* this.m.entries();
    else if (this.k0 !== NO_KEY) yield [this.k0, this.v0 as V];
  }

  [Symbol.iterator](): Generator<[number, V]> {
    return this.entries();
  }

  copy(): BlockMap<V> {
    const c = new BlockMap<V>();
    if (this.m !== undefined) c.m = new Map(this.m);
    else {
      c.k0 = this.k0;
      c.v0 = this.v0;
    }
    return c;
  }
}

/** Dirty level-0 records of one object: block id to the bytes charged for it so far. */
export interface DirtyRecords {
  readonly size: number;
  get(k: number): number | undefined;
  has(k: number): boolean;
  set(k: number, v: number): unknown;
  delete(k: number): boolean;
  keys(): Iterable<number>;
}

/**
 * The meta-dnode's dirty records: its level-0 blocks are the dnode blocks, numbered densely as object numbers are, and
 * nearly every change dirties one (the changed dnode's), so they are kept in an array by block id.
 */
class DenseDirtyRecords implements DirtyRecords {
  /** Bytes charged by block id; undefined where the block is clean. */
  readonly at: (number | undefined)[] = [];
  size = 0;

  get(k: number): number | undefined {
    return this.at[k];
  }

  has(k: number): boolean {
    return this.at[k] !== undefined;
  }

  set(k: number, v: number): this {
    const a = this.at;
    while (a.length < k) a.push(undefined);
    if (a[k] === undefined) this.size++;
    a[k] = v;
    return this;
  }

  delete(k: number): boolean {
    if (this.at[k] === undefined) return false;
    this.at[k] = undefined;
    this.size--;
    return true;
  }

  *keys(): Generator<number> {
    for (let i = 0; i < this.at.length; i++) if (this.at[i] !== undefined) yield i;
  }
}

/** The indirect levels of an object with none (nlevels 1): shared, replaced by its own arrays when it grows a level. */
const NO_IND: Map<number, Blk>[] = Object.freeze([]) as unknown as Map<number, Blk>[];
const NO_LIVE: Map<number, number>[] = Object.freeze([]) as unknown as Map<number, number>[];

/**
 * Physical and allocated size of a metadata block of `lsize` of which `live` bytes carry something [estimate]: metadata
 * is always compressed (lz4/lzjb, [R] zfs_mdcomp_disable=0), mostly-zero blocks shrink to about their live bytes, and
 * the result is kept only if it saves at least 1/8 (zio_compress_data); the allocation rounds up to the sector.
 */
export function metaAsize(p: ZfsParams, lsize: number, live: number): number {
  if (live <= 0) return 0;
  const c = roundUp(live, 512);
  const psize = c <= lsize - (lsize >> p.compressMinSavingShift) ? c : lsize;
  return roundUp(psize, p.sectorBytes);
}

/** The meta-dnode gets enough levels to address 2^48 objects (dmu_objset_create_impl). [R] */
export function metaDnodeLevels(p: ZfsParams): number {
  const bpsShift = Math.log2(p.indirectBytes / p.blkptrBytes);
  const perBlockShift = Math.log2(p.dnodeBlockBytes / p.dnodeBytes);
  let levels = 1;
  while (Math.log2(p.metaDnodeBlkptrs) + perBlockShift + (levels - 1) * bpsShift < p.maxObjectShift) levels++;
  return levels;
}

function newObj(num: number, kind: ObjKind, blksz: number, nblkptr: number, inRoot = false): Obj {
  return {
    num,
    kind,
    blksz,
    nblkptr,
    nlevels: 1,
    l0: new BlockMap(),
    ind: NO_IND,
    live: NO_LIVE,
    zap: undefined,
    entries: 0,
    bonusLive: 0,
    spill: undefined,
    spillBytes: 0,
    inRoot,
    counted: 0,
    heldBy: undefined,
    dirtyL0: undefined,
    dirtyInd: undefined,
  };
}

/** A private copy of a clean object (objects are only shared between object sets with nothing dirty). */
function cloneObj(o: Obj): Obj {
  return {
    num: o.num,
    kind: o.kind,
    blksz: o.blksz,
    nblkptr: o.nblkptr,
    nlevels: o.nlevels,
    l0: o.l0.copy(),
    ind: o.ind.length === 0 ? NO_IND : o.ind.map(m => new Map(m)),
    live: o.live.length === 0 ? NO_LIVE : o.live.map(m => new Map(m)),
    zap: o.zap?.clone(),
    entries: o.entries,
    bonusLive: o.bonusLive,
    spill: o.spill,
    spillBytes: o.spillBytes,
    inRoot: o.inRoot,
    counted: o.counted,
    heldBy: o.heldBy,
    dirtyL0: undefined,
    dirtyInd: undefined,
  };
}

/**
 * An object set's objects by number, in object-number order (the order the meta-dnode holds them): the objects whose
 * dnodes sit in objset_phys (negative numbers) first. Object numbers are dense (zfs_mknode takes the next free one and
 * this model never reuses one), so an array indexed by number holds them; copying the table is copying the array.
 */
export class ObjTable {
  private nums: (Obj | undefined)[] = [];
  /** Objects with negative numbers, at index -num. */
  private negs: (Obj | undefined)[] = [];
  size = 0;

  get(num: number): Obj | undefined {
    return num >= 0 ? this.nums[num] : this.negs[-num];
  }

  has(num: number): boolean {
    return this.get(num) !== undefined;
  }

  set(num: number, o: Obj): void {
    const a = num >= 0 ? this.nums : this.negs;
    const i = num >= 0 ? num : -num;
    while (a.length < i) a.push(undefined);
    if (a[i] === undefined) this.size++;
    a[i] = o;
  }

  delete(num: number): boolean {
    const a = num >= 0 ? this.nums : this.negs;
    const i = num >= 0 ? num : -num;
    if (a[i] === undefined) return false;
    a[i] = undefined;
    this.size--;
    return true;
  }

  *values(): Generator<Obj> {
    for (const o of this.negs) if (o !== undefined) yield o;
    for (const o of this.nums) if (o !== undefined) yield o;
  }

  copy(): ObjTable {
    const t = new ObjTable();
    t.nums = this.nums.slice();
    t.negs = this.negs.slice();
    t.size = this.size;
    return t;
  }
}

const META = -1;

/**
 * An object set: the objset_phys root block, the meta-dnode (an object whose data blocks are arrays of dnodes, with
 * a fixed number of indirect levels), and the objects, each a dnode over a tree of indirect blocks of
 * `indirectBytes` (1024 or 128 block pointers each) down to its data blocks. Changes dirty blocks in the open txg;
 * `sync` writes every dirty block anew (copy on write: nothing is overwritten in place), bottom up: data, the
 * indirect blocks above, the dnode blocks, the meta-dnode's indirect blocks, the root. [R] On-Disk Spec ch. 3-4.
 */
export class ObjectSet {
  objects = new ObjTable();
  meta: Obj;
  root: Blk | undefined = undefined;
  /** Bytes of every block reachable from the root (the dataset's `referenced`). */
  referenced = 0;
  /** Objects with dirty records in the open txg, in the order they were first dirtied (the txg's dirty dnode list). */
  private dirtyObjs: Obj[] = [];
  private dirtyRoot: number | undefined = undefined;
  /**
   * The objects this object set may change in place carry this token (`heldBy`); others are shared with a clone or
   * snapshot. Cloning gives both sides new tokens: every object is shared then.
   */
  private holder: object = {};
  /** Whether file data was allocated or freed this txg (the accounting objects are rewritten). */
  private spaceChanged = false;
  /** Live bytes of each dnode block of the meta-dnode, by block id: the sum of its objects' `counted` (kept by recount). */
  private dnodeBlockLive: number[] = [];
  /** What each dnode block would take written now, all copies (metaAsize of its live bytes), kept with dnodeBlockLive. */
  private dnodeBlockEst: number[] = [];
  /** The meta-dnode's dirty records (meta.dirtyL0) while it has any. */
  private metaDirty: DenseDirtyRecords | undefined = undefined;
  /** The dsl_dir its new blocks are charged to, and whether it is the MOS. */
  owner = 0;
  mos = false;
  readonly p: ZfsParams;
  /** Sizes the hot paths read, from the parameters. */
  private readonly dnodesPerBlock: number;
  private readonly bpsPerInd: number;
  private readonly sectorBytes: number;
  private readonly dataCopies: number;
  private readonly indirectBytes: number;
  private readonly blkptrBytes: number;

  constructor(
    public host: ObjsetHost,
    readonly copies: number,
    readonly accountingObjects: number,
  ) {
    const p = host.p;
    this.p = p;
    this.dnodesPerBlock = p.dnodeBlockBytes / p.dnodeBytes;
    this.bpsPerInd = p.indirectBytes / p.blkptrBytes;
    this.sectorBytes = p.sectorBytes;
    this.dataCopies = p.dataCopies;
    this.indirectBytes = p.indirectBytes;
    this.blkptrBytes = p.blkptrBytes;
    this.meta = newObj(META, 'dnodes', p.dnodeBlockBytes, p.metaDnodeBlkptrs);
    this.meta.nlevels = metaDnodeLevels(p);
    this.meta.ind = [];
    this.meta.live = [];
    for (let k = 1; k < this.meta.nlevels; k++) {
      this.meta.ind.push(new Map());
      this.meta.live.push(new Map());
    }
    for (let i = 1; i <= accountingObjects; i++) {
      const o = newObj(-1 - i, 'zap', p.zap.microGrowBytes, p.metaDnodeBlkptrs, true);
      o.zap = new Zap(p.zap);
      o.zap.add('0'); // uid/gid/project 0
      this.objects.set(o.num, o);
      o.heldBy = this.holder;
      this.touchZap(o);
    }
  }

  /** The same object set sharing every block (a clone's head right after `zfs clone`, or a snapshot's frozen copy). */
  clone(host: ObjsetHost): ObjectSet {
    if (this.isDirty()) throw new Error('zfs: cloning an object set with unsynced changes');
    const c = Object.create(ObjectSet.prototype) as ObjectSet;
    // objects are shared until either side writes one (writable() copies it then)
    this.holder = {};
    Object.assign(c, this, {
      host,
      objects: this.objects.copy(),
      holder: {},
      meta: cloneObj(this.meta),
      dirtyObjs: [],
      dnodeBlockLive: this.dnodeBlockLive.slice(),
      dnodeBlockEst: this.dnodeBlockEst.slice(),
      metaDirty: undefined,
      dirtyRoot: undefined,
      spaceChanged: false,
    });
    return c;
  }

  get bpsPerIndirect(): number {
    return this.bpsPerInd;
  }

  /** Object `num` for changing: a private copy if it is still shared with another object set. */
  writable(num: number): Obj | undefined {
    const o = this.objects.get(num);
    if (o === undefined || o.heldBy === this.holder) return o;
    const c = cloneObj(o);
    c.heldBy = this.holder;
    this.objects.set(num, c);
    return c;
  }

  isDirty(): boolean {
    return this.dirtyRoot !== undefined;
  }

  // ---- sizes -------------------------------------------------------------------------------------------------

  private metaBlk(lsize: number, live: number): { lsize: number; asize: number; data: boolean } | undefined {
    const asize = metaAsize(this.p, lsize, live);
    return asize === 0 ? undefined : { lsize, asize, data: false };
  }

  /** Live bytes of one dnode [estimate]: its header, the block pointers in use, the bonus and a spill pointer. */
  dnodeLive(o: Obj): number {
    const top = o.nlevels === 1 ? o.l0.size : (o.ind[o.nlevels - 2]?.size ?? 0);
    return this.p.dnodeHeaderBytes + Math.min(o.nblkptr, top) * this.blkptrBytes + o.bonusLive + (o.spill ? this.blkptrBytes : 0);
  }

  /** What level-0 block `blkid` of `o` would be if written now (undefined: a hole). */
  l0Shape(o: Obj, blkid: number): { lsize: number; asize: number; data: boolean } | undefined {
    const p = this.p;
    switch (o.kind) {
      case 'data':
        return { lsize: o.blksz, asize: roundUp(o.blksz, p.sectorBytes), data: true };
      case 'zap': {
        const b = o.zap!.block(blkid);
        return b === undefined ? undefined : this.metaBlk(b.lsize, b.live);
      }
      case 'bpobj':
        return this.metaBlk(o.blksz, this.bpobjLive(o, blkid));
      case 'dnodes':
        return this.metaBlk(p.dnodeBlockBytes, this.dnodeBlockLive[blkid] ?? 0);
      case 'blob':
        return blkid === 0 ? this.metaBlk(o.blksz, o.blksz) : undefined;
      case 'bonus':
        return undefined;
    }
  }

  /**
   * The bytes level-0 block `blkid` of `o` would take if written now, all copies (0: a hole): l0Shape's size without
   * building the shape, for the charge made at every change.
   */
  private l0Bytes(o: Obj, blkid: number): number {
    switch (o.kind) {
      case 'data':
        return roundUp(o.blksz, this.sectorBytes) * this.dataCopies;
      case 'zap': {
        const z = o.zap!;
        const live = z.blockLive(blkid);
        return live < 0 ? 0 : metaAsize(this.p, z.blockLsize(blkid), live) * this.copies;
      }
      case 'bpobj':
        return metaAsize(this.p, o.blksz, this.bpobjLive(o, blkid)) * this.copies;
      case 'dnodes':
        return this.dnodeBlockEst[blkid] ?? 0;
      case 'blob':
        return blkid === 0 ? metaAsize(this.p, o.blksz, o.blksz) * this.copies : 0;
      case 'bonus':
        return 0;
    }
  }

  private bpobjLive(o: Obj, blkid: number): number {
    return Math.min(o.blksz, o.entries * this.p.bpobjEntryBytes - blkid * o.blksz);
  }

  /** The dnode block (meta-dnode level-0 block id) holding object `num`. */
  private dnodeBlockOf(num: number): number {
    return Math.floor(num / this.dnodesPerBlock);
  }

  /**
   * Brings `o`'s share of its dnode block's live bytes up to date; called after every change to what dnodeLive reads
   * (its block pointers, levels, bonus, spill) of an object in the meta-dnode.
   */
  private recount(o: Obj): void {
    if (o.num < 0 || o.inRoot) return;
    const live = this.dnodeLive(o);
    this.addLive(o.num, live - o.counted);
    o.counted = live;
  }

  private addLive(num: number, delta: number): void {
    if (delta === 0) return;
    const blk = this.dnodeBlockOf(num);
    const a = this.dnodeBlockLive;
    const e = this.dnodeBlockEst;
    while (a.length < blk) a.push(0);
    while (e.length < blk) e.push(0);
    const live = (a[blk] ?? 0) + delta;
    a[blk] = live;
    e[blk] = metaAsize(this.p, this.p.dnodeBlockBytes, live) * this.copies;
  }

  private copiesOf(data: boolean): number {
    return data ? this.dataCopies : this.copies;
  }

  /** Bytes of indirect block `idx` at `level` as written now, all copies (an empty one is still written: one pointer). */
  private indBytes(o: Obj, level: number, idx: number): number {
    const live = o.live[level - 1]?.get(idx) ?? 0;
    const asize = metaAsize(this.p, this.indirectBytes, live * this.blkptrBytes);
    return (asize === 0 ? metaAsize(this.p, this.indirectBytes, this.blkptrBytes) : asize) * this.copies;
  }

  private indShape(o: Obj, level: number, idx: number): { lsize: number; asize: number } | undefined {
    const live = o.live[level - 1]?.get(idx) ?? 0;
    return this.metaBlk(this.indirectBytes, live * this.blkptrBytes);
  }

  private rootShape(): { lsize: number; asize: number } {
    const live = this.p.dnodeHeaderBytes * (1 + this.accountingObjects) + this.blkptrBytes * (this.meta.nblkptr + this.accountingObjects);
    return this.metaBlk(this.p.objsetBytes, live)!;
  }

  // ---- dirtying ----------------------------------------------------------------------------------------------

  /** The dirty level-0 records of `o`, the object joining the txg's dirty list on its first. */
  private dirtyL0Of(o: Obj): DirtyRecords {
    let d = o.dirtyL0;
    if (d === undefined) {
      if (o.dirtyInd === undefined) this.dirtyObjs.push(o);
      if (o === this.meta) d = o.dirtyL0 = this.metaDirty = new DenseDirtyRecords();
      else d = o.dirtyL0 = new BlockMap<number>();
    }
    return d;
  }

  private dirtyIndOf(o: Obj, level: number): Map<number, number> {
    let levels = o.dirtyInd;
    if (levels === undefined) {
      if (o.dirtyL0 === undefined) this.dirtyObjs.push(o);
      levels = o.dirtyInd = [];
    }
    return (levels[level - 1] ??= new Map());
  }

  private markRoot(): void {
    if (this.dirtyRoot === undefined) {
      const est = blkBytesOf(this.rootShape(), this.copies);
      this.dirtyRoot = est;
      this.host.charge(est, false);
      this.host.dirtied();
    }
  }

  /** The dnode of `o` changed (attributes, size, block pointers): its dnode block is rewritten. */
  markDnode(o: Obj): void {
    if (o.inRoot || o === this.meta) {
      this.markRoot();
      return;
    }
    const blk = Math.floor(o.num / this.dnodesPerBlock);
    const had = this.metaDirty?.at[blk];
    if (had === undefined) {
      this.markL0(this.meta, blk);
      return;
    }
    // already dirty in this txg: markL0's answer for a dirty block, its estimate brought up to date
    const est = this.dnodeBlockEst[blk] ?? 0;
    if (est !== had) {
      this.host.charge(est - had, false);
      this.metaDirty!.at[blk] = est;
    }
  }

  /** Levels needed so that block `maxBlkid` is addressable. */
  private levelsFor(o: Obj, maxBlkid: number): number {
    let n = 1;
    let cap = o.nblkptr;
    while (cap <= maxBlkid) {
      cap *= this.bpsPerInd;
      n++;
    }
    return n;
  }

  /** dnode_new_blkid: more levels when a block id passes what the tree addresses; the new levels are written. */
  private ensureLevels(o: Obj, blkid: number): void {
    const need = this.levelsFor(o, blkid);
    if (need <= o.nlevels) return;
    const B = this.bpsPerInd;
    if (o.ind === NO_IND) {
      o.ind = [];
      o.live = [];
    }
    for (let k = o.nlevels; k < need; k++) {
      const below = k === 1 ? o.l0 : o.ind[k - 2]!;
      const live = new Map<number, number>();
      for (const i of below.keys()) live.set(Math.floor(i / B), (live.get(Math.floor(i / B)) ?? 0) + 1);
      o.ind[k - 1] = new Map();
      o.live[k - 1] = live;
      for (const idx of live.keys()) this.markInd(o, k, idx);
    }
    o.nlevels = need;
    this.recount(o);
  }

  private markInd(o: Obj, level: number, idx: number): void {
    const m = this.dirtyIndOf(o, level);
    const est = this.indBytes(o, level, idx);
    const had = m.get(idx);
    if (had === undefined) {
      this.host.charge(est, false);
      m.set(idx, est);
      if (level + 1 < o.nlevels) this.markInd(o, level + 1, Math.floor(idx / this.bpsPerInd));
      else this.markDnode(o);
    } else if (had !== est) {
      this.host.charge(est - had, false);
      m.set(idx, est);
    }
  }

  /** Block `blkid` of `o` is (re)written in the open txg. Returns whether it was clean before. */
  markL0(o: Obj, blkid: number): boolean {
    // a block id the top level already addresses needs no new level
    if (blkid >= o.nblkptr && blkid >= o.nblkptr * Math.pow(this.bpsPerInd, o.nlevels - 1)) this.ensureLevels(o, blkid);
    const d = o.dirtyL0 ?? this.dirtyL0Of(o);
    const data = o.kind === 'data';
    const est = this.l0Bytes(o, blkid);
    const had = d.get(blkid);
    if (had !== undefined) {
      if (had !== est) {
        this.host.charge(est - had, data);
        d.set(blkid, est);
      }
      return false;
    }
    if (est !== 0) this.host.charge(est, data);
    d.set(blkid, est);
    if (data) this.markSpaceChanged();
    if (o.nlevels > 1) this.markInd(o, 1, Math.floor(blkid / this.bpsPerInd));
    else this.markDnode(o);
    return true;
  }

  /** File space changed: the user/group(/project) used ZAPs are rewritten in this txg (dmu_objset_do_userquota_updates). */
  private markSpaceChanged(): void {
    if (this.spaceChanged) return;
    this.spaceChanged = true;
    // their dnodes sit in objset_phys, numbered -2, -3 (and -4)
    for (let i = 1; i <= this.accountingObjects; i++) {
      const o = this.writable(-1 - i);
      if (o !== undefined) this.touchZapAll(o);
    }
  }

  isL0Dirty(o: Obj, blkid: number): boolean {
    return o.dirtyL0?.has(blkid) ?? false;
  }

  /** Whether `o` has no level-0 block, existing or dirty, other than block 0. */
  onlyL0Zero(o: Obj): boolean {
    // level-0 ids are >= 0; a dirty map also holds -1 for the spill block
    const n = o.l0.size;
    if (n > 1 || (n === 1 && !o.l0.has(0))) return false;
    const d = o.dirtyL0;
    if (d === undefined) return true;
    return d.size - (d.has(0) ? 1 : 0) - (d.has(-1) ? 1 : 0) === 0;
  }

  /** Whether level-0 block `blkid` of `o` exists or is dirty. */
  hasL0(o: Obj, blkid: number): boolean {
    return o.l0.has(blkid) || (blkid >= 0 && this.isL0Dirty(o, blkid));
  }

  /** Level-0 block ids that exist or are dirty (to be written). */
  l0Ids(o: Obj): Set<number> {
    const ids = new Set(o.l0.keys());
    if (o.dirtyL0 !== undefined) for (const k of o.dirtyL0.keys()) if (k >= 0) ids.add(k);
    return ids;
  }

  /** Frees level-0 block `blkid` of `o` now (truncate, object free, a ZAP block given up). */
  freeL0(o: Obj, blkid: number): void {
    const d = o.dirtyL0;
    const charged = d?.get(blkid);
    if (charged !== undefined) {
      this.host.charge(-charged, o.kind === 'data');
      d!.delete(blkid);
    }
    const old = o.l0.get(blkid);
    if (old === undefined) return;
    o.l0.delete(blkid);
    this.recount(o);
    this.remove(old);
    if (old.data) this.markSpaceChanged();
    this.childGone(o, 1, blkid);
  }

  /** A block at level `level - 1` under index `child` is gone: the parent loses a pointer (and goes if empty). */
  private childGone(o: Obj, level: number, child: number): void {
    if (level >= o.nlevels) {
      this.markDnode(o);
      return;
    }
    const idx = Math.floor(child / this.bpsPerInd);
    const live = o.live[level - 1]!;
    const n = (live.get(idx) ?? 0) - 1;
    if (n > 0) {
      live.set(idx, n);
      this.markInd(o, level, idx);
      return;
    }
    live.delete(idx);
    o.dirtyInd?.[level - 1]?.delete(idx);
    const old = o.ind[level - 1]!.get(idx);
    if (old !== undefined) {
      o.ind[level - 1]!.delete(idx);
      this.recount(o);
      this.remove(old);
      this.childGone(o, level + 1, idx);
    } else {
      this.markDnode(o);
    }
  }

  private childBorn(o: Obj, level: number, child: number): void {
    if (level >= o.nlevels) return;
    const idx = Math.floor(child / this.bpsPerInd);
    const live = o.live[level - 1]!;
    live.set(idx, (live.get(idx) ?? 0) + 1);
  }

  private remove(b: Blk): void {
    this.referenced -= blkBytes(b);
    this.host.drop(b);
  }

  private add(shape: { lsize: number; asize: number; data?: boolean }, data: boolean): Blk {
    const b: Blk = {
      lsize: shape.lsize,
      asize: shape.asize,
      copies: this.copiesOf(data),
      birth: this.host.openTxg(),
      data,
      mos: this.mos,
      owner: this.owner,
    };
    return b;
  }

  // ---- objects -----------------------------------------------------------------------------------------------

  createObject(num: number, kind: ObjKind, blksz: number, nblkptr: number): Obj {
    if (this.objects.has(num)) throw new Error(`zfs: object ${num} exists`);
    const o = newObj(num, kind, blksz, nblkptr);
    this.objects.set(num, o);
    o.heldBy = this.holder;
    this.recount(o);
    this.markDnode(o);
    return o;
  }

  /** Frees an object: every block below its dnode, and the dnode itself. */
  freeObject(o: Obj): void {
    if (o.l0.size === 1) this.freeL0(o, o.l0.firstKey()!);
    else if (o.l0.size > 1) for (const blkid of [...o.l0.keys()]) this.freeL0(o, blkid);
    // its dirty records are dropped (dnode_free: nothing of it is written); it stays on the dirty list, skipped at sync
    o.dirtyL0 = undefined;
    o.dirtyInd = undefined;
    if (o.spill) {
      this.remove(o.spill);
      o.spill = undefined;
    }
    this.objects.delete(o.num);
    if (o.num >= 0 && !o.inRoot) this.addLive(o.num, -o.counted);
    this.markDnode(o);
  }

  /** After ZAP changes: its dirty blocks are rewritten, the ones it gave up are freed; the block size follows. */
  touchZap(o: Obj): void {
    const z = o.zap!;
    if (z.micro) {
      // a microzap has one block and gives none up
      if (!z.takeMicroDirty()) return;
      if (o.blksz !== z.blockBytes) {
        o.blksz = z.blockBytes;
        this.markDnode(o);
      }
      this.markL0(o, 0);
      return;
    }
    if (!z.hasDirty()) return;
    const freed = z.takeFreed();
    const dirty = z.takeDirty();
    if (o.blksz !== z.blockBytes) {
      o.blksz = z.blockBytes;
      this.markDnode(o);
    }
    for (let i = 0; i < freed.length; i++) this.freeL0(o, freed[i]!);
    for (let i = 0; i < dirty.length; i++) this.markL0(o, dirty[i]!);
  }

  /** The bonus or spill of `o` changed. */
  setBonus(o: Obj, saBytes: number): void {
    const spill = Math.max(0, saBytes - this.p.bonusBytes);
    o.bonusLive = Math.min(saBytes, this.p.bonusBytes);
    o.spillBytes = spill === 0 ? 0 : roundUp(spill + 16, 512);
    this.recount(o);
    this.markDnode(o);
    if (o.spillBytes > 0 || o.spill) this.markSpill(o);
  }

  private markSpill(o: Obj): void {
    const d = this.dirtyL0Of(o);
    const est = o.spillBytes === 0 ? 0 : blkBytesOf(this.metaBlk(o.spillBytes, o.spillBytes - 16)!, this.copies);
    const had = d.get(-1);
    this.host.charge(est - (had ?? 0), false);
    d.set(-1, est);
  }

  // ---- sync --------------------------------------------------------------------------------------------------

  /** Writes the open txg's dirty blocks, bottom up. Returns the bytes written. */
  sync(): number {
    if (this.dirtyRoot === undefined) return 0;
    let written = 0;
    const place = (b: Blk) => {
      this.referenced += blkBytes(b);
      written += blkBytes(b);
      this.host.place(b);
    };
    // objects first (their dnode blocks become dirty), then the meta-dnode; objects first dirtied while syncing are
    // not written in this txg
    const dirty = this.dirtyObjs;
    const n = dirty.length;
    for (let i = 0; i < n; i++) {
      const o = dirty[i]!;
      if (o !== this.meta) this.syncObj(o, place);
    }
    if (this.meta.dirtyL0 !== undefined || this.meta.dirtyInd !== undefined) this.syncObj(this.meta, place);
    const old = this.root;
    this.root = this.add(this.rootShape(), false);
    if (old) this.remove(old);
    place(this.root);
    for (const o of dirty) {
      o.dirtyL0 = undefined;
      o.dirtyInd = undefined;
    }
    this.dirtyObjs = [];
    this.metaDirty = undefined;
    this.dirtyRoot = undefined;
    this.spaceChanged = false;
    return written;
  }

  private touchZapAll(o: Obj): void {
    for (const b of o.zap!.blockIds()) this.markL0(o, b);
  }

  private syncObj(o: Obj, place: (b: Blk) => void): void {
    if (o.dirtyL0 === undefined && o.dirtyInd === undefined) return;
    if (o !== this.meta && this.objects.get(o.num) !== o) return;
    const l0 = o.dirtyL0;
    if (l0 !== undefined) {
      for (const blkid of [...l0.keys()].sort((a, b) => a - b)) {
        if (blkid === -1) {
          const old = o.spill;
          o.spill = o.spillBytes === 0 ? undefined : this.add(this.metaBlk(o.spillBytes, o.spillBytes - 16)!, false);
          this.recount(o);
          if (old) this.remove(old);
          if (o.spill) place(o.spill);
          continue;
        }
        const shape = this.l0Shape(o, blkid);
        const old = o.l0.get(blkid);
        if (shape === undefined) {
          if (old !== undefined) this.freeL0(o, blkid);
          continue;
        }
        const b = this.add(shape, shape.data);
        if (old) this.remove(old);
        else this.childBorn(o, 1, blkid);
        o.l0.set(blkid, b);
        this.recount(o);
        place(b);
      }
    }
    for (let level = 1; level < o.nlevels; level++) {
      const m = o.dirtyInd?.[level - 1];
      if (m === undefined) continue;
      for (const idx of [...m.keys()].sort((a, b) => a - b)) {
        const shape = this.indShape(o, level, idx);
        const old = o.ind[level - 1]!.get(idx);
        if (shape === undefined) {
          if (old) {
            o.ind[level - 1]!.delete(idx);
            this.recount(o);
            this.remove(old);
          }
          continue;
        }
        const b = this.add(shape, false);
        if (old) this.remove(old);
        else this.childBorn(o, level + 1, idx);
        o.ind[level - 1]!.set(idx, b);
        this.recount(o);
        place(b);
      }
    }
  }

  /** Every block reachable from the root. */
  *blocks(): Generator<Blk> {
    if (this.root) yield this.root;
    for (const o of [this.meta, ...this.objects.values()]) {
      yield* o.l0.values();
      for (const m of o.ind) yield* m.values();
      if (o.spill) yield o.spill;
    }
  }
}

function blkBytesOf(shape: { asize: number }, copies: number): number {
  return shape.asize * copies;
}
