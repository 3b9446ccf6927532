import type { Inode } from '../../src/fs/inode.js';
import type { BlockDevice, FsLayout } from './layout.js';
import { periodic, type XfsParams } from './params.js';

/**
 * xfs's on-disk geometry: `agCount` allocation groups, each opening with its headers (sb, agf, agi, agfl sectors in
 * block 0) and btree roots (bnobt, cntbt, inobt, ...), and the internal log in the middle AG right after its
 * preallocated blocks (mkfs.xfs).
 */
export class XfsGeometry {
  readonly blocks: number;
  readonly agBlocks: number;
  readonly logStart: number;
  readonly logBlocks: number;
  /** Blocks at the start of every AG that mkfs fills: the header block, the btree roots, the AGFL's reserve. */
  readonly preallocBlocks: number;
  readonly chunkBlocks: number;
  readonly inodesPerBlock: number;

  constructor(
    bytes: number,
    readonly p: XfsParams,
  ) {
    this.blocks = Math.floor(bytes / p.blockBytes);
    this.agBlocks = Math.ceil(this.blocks / p.agCount);
    this.preallocBlocks = 1 + p.agRootBlocks + 4;
    this.logBlocks = p.logBlocks(this.blocks);
    this.logStart = Math.floor(p.agCount / 2) * this.agBlocks + this.preallocBlocks;
    this.chunkBlocks = (p.inodesPerChunk * p.inodeBytes) / p.blockBytes;
    this.inodesPerBlock = p.blockBytes / p.inodeBytes;
  }

  agOf(block: number): number {
    return Math.floor(block / this.agBlocks);
  }

  agStart(ag: number): number {
    return ag * this.agBlocks;
  }
}

interface XfsInode {
  ag: number;
  /** the block of the inode cluster holding the inode */
  cluster: number;
  map: Map<number, number>;
  dirBlocks: number[];
}

interface Chunk {
  start: number;
  used: number;
}

/** The literal area of an inode for a shortform directory: inode size less the core (96 B v2 inode, 176 B v3). */
function literalBytes(p: XfsParams): number {
  return p.inodeBytes - (p.inodeBytes >= 512 ? 176 : 96);
}

/**
 * xfs on one thin device. Metadata changes are logged (delayed logging: one checkpoint record per sync, sized by the
 * dirty items) and then written in place (the AIL push); every read-write mount first rewrites up to 2 MiB of log
 * ahead of the head (xlog_find_tail -> xlog_clear_stale_blocks); new directories rotate across AGs (inode64), files
 * stay in their directory's AG; inodes come from chunks of 64 allocated when an AG has no free inode.
 */
export class XfsLayout implements FsLayout {
  readonly name = 'xfs';
  private nextBlock: number[];
  private chunks: Chunk[][];
  private inodes = new Map<number, XfsInode>();
  private rotor = 0;
  private lastDirAg = 0;
  /**
   * New non-directory inodes not yet linked, with the data written to them so far: xfs_dialloc places a file in its
   * parent directory's AG (xfs_ialloc_ag_select: XFS_INO_TO_AGNO(parent)), and the volume names the parent only when
   * it links the inode (after inodeAllocated and the initial content).
   */
  private unplaced = new Map<number, [number, number][]>();
  private rootfsAg = -1;
  private dirtyBlocks = new Set<number>();
  private dirtyInodes = new Set<number>();
  private freed: number[] = [];
  /** Log head, in blocks from the log start. */
  private head = 1;
  private discardOn = false;
  /** Dummy records still to write to cover the log (xfs_log_need_covered): activity since the log was last covered. */
  private coverLeft = 0;
  mounted = false;

  constructor(
    readonly geo: XfsGeometry,
    private device: BlockDevice,
  ) {
    this.nextBlock = [];
    this.chunks = [];
    for (let ag = 0; ag < geo.p.agCount; ag++) {
      this.nextBlock.push(geo.agStart(ag) + geo.preallocBlocks + (ag === geo.agOf(geo.logStart) ? geo.logBlocks : 0));
      this.chunks.push([]);
    }
  }

  clone(device: BlockDevice): XfsLayout {
    const c = Object.create(XfsLayout.prototype) as XfsLayout;
    Object.assign(c, this);
    c.device = device;
    c.nextBlock = [...this.nextBlock];
    c.chunks = this.chunks.map(l => l.map(ch => ({ start: ch.start, used: ch.used })));
    // a snapshot per container: copied entry by entry, without building the entry arrays first
    c.inodes = new Map();
    for (const [ino, v] of this.inodes) c.inodes.set(ino, { ag: v.ag, cluster: v.cluster, map: new Map(v.map), dirBlocks: v.dirBlocks.slice() });
    c.dirtyBlocks = new Set();
    c.dirtyInodes = new Set();
    c.unplaced = new Map();
    c.freed = [];
    c.mounted = false;
    return c;
  }

  private agHeader(ag: number): void {
    this.dirtyBlocks.add(this.geo.agStart(ag));
  }

  /** An extent from the AG's free space: the AGF and the free-space btree roots change. */
  private allocBlocks(ag: number, count: number): number[] {
    const out: number[] = [];
    let a = ag;
    while (out.length < count) {
      const end = Math.min(this.geo.agStart(a + 1), this.geo.blocks);
      while (out.length < count && this.nextBlock[a]! < end) out.push(this.nextBlock[a]!++);
      this.agHeader(a);
      this.dirtyBlocks.add(this.geo.agStart(a) + 1);
      this.dirtyBlocks.add(this.geo.agStart(a) + 2);
      if (out.length < count) a = (a + 1) % this.geo.p.agCount;
    }
    return out;
  }

  /** allocBlocks(ag, 1) without the array: the same block, the same headers dirtied. */
  private allocBlock(ag: number): number {
    let a = ag;
    for (;;) {
      const end = Math.min(this.geo.agStart(a + 1), this.geo.blocks);
      const start = this.geo.agStart(a);
      const got = this.nextBlock[a]! < end ? this.nextBlock[a]!++ : -1;
      this.agHeader(a);
      this.dirtyBlocks.add(start + 1);
      this.dirtyBlocks.add(start + 2);
      if (got >= 0) return got;
      a = (a + 1) % this.geo.p.agCount;
    }
  }

  /** xfs_dialloc: a free inode in the AG's chunks, or a new chunk of 64 (written at once, xfs_ialloc_inode_init). */
  private allocInode(ag: number): XfsInode {
    // chunks fill in order and never empty again (`used` only grows): only the AG's last chunk can have room
    const list = this.chunks[ag]!;
    let ch = list.length > 0 ? list[list.length - 1] : undefined;
    if (ch === undefined || ch.used >= this.geo.p.inodesPerChunk) {
      const align = this.geo.chunkBlocks;
      while (this.nextBlock[ag]! % align !== 0) this.nextBlock[ag]!++;
      const start = this.allocBlocks(ag, this.geo.chunkBlocks)[0]!;
      this.device.write(start, this.geo.chunkBlocks, 'inode chunk');
      ch = { start, used: 0 };
      list.push(ch);
    }
    const idx = ch.used++;
    this.agHeader(ag);
    this.dirtyBlocks.add(this.geo.agStart(ag) + 3);
    return { ag, cluster: ch.start + Math.floor(idx / this.geo.inodesPerBlock), map: new Map(), dirBlocks: [] };
  }

  private state(inode: Inode): XfsInode {
    let s = this.inodes.get(inode.ino);
    if (s === undefined) {
      let ag = this.lastDirAg;
      if (inode.kind === 'dir') {
        ag = this.rotor % this.geo.p.agCount;
        this.rotor++;
      }
      s = this.allocInode(ag);
      this.inodes.set(inode.ino, s);
    }
    return s;
  }

  private dirtyInode(s: XfsInode): void {
    this.dirtyInodes.add(s.cluster);
  }

  inodeAllocated(inode: Inode): void {
    if (inode.kind !== 'dir') {
      this.unplaced.set(inode.ino, []);
      return;
    }
    this.dirtyInode(this.state(inode));
  }

  /** Allocates a new file's inode in `ag` (its directory's) and writes the data it was given before the link. */
  private place(inode: Inode, ag: number): void {
    const pending = this.unplaced.get(inode.ino);
    if (pending === undefined) return;
    this.unplaced.delete(inode.ino);
    this.lastDirAg = ag;
    this.dirtyInode(this.state(inode));
    for (const [offset, length] of pending) this.dataWritten(inode, offset, length);
  }

  inodeDirtied(inode: Inode): void {
    if (this.unplaced.has(inode.ino)) return;
    this.dirtyInode(this.state(inode));
  }

  inodeFreed(inode: Inode): void {
    if (this.unplaced.delete(inode.ino)) return;
    const s = this.state(inode);
    this.dirtyInode(s);
    this.agHeader(s.ag);
    this.dirtyBlocks.add(this.geo.agStart(s.ag) + 3);
    for (const b of s.map.values()) this.freed.push(b);
    for (const b of s.dirBlocks) this.freed.push(b);
    if (s.map.size + s.dirBlocks.length > 0) this.agHeader(s.ag);
    this.inodes.delete(inode.ino);
  }

  private dirChanged(dir: Inode): void {
    const s = this.state(dir);
    this.lastDirAg = s.ag;
    this.dirtyInode(s);
    if (dir.dirRecordBytes <= literalBytes(this.geo.p)) return;
    // block form: the directory's blocks (data blocks and, past one, a leaf block)
    const want = dir.dirBlocks + (dir.dirBlocks > 1 ? 1 : 0);
    if (s.dirBlocks.length < want) {
      const got = this.allocBlocks(s.ag, want - s.dirBlocks.length);
      for (const b of got) this.device.write(b, 1, 'directory');
      s.dirBlocks.push(...got);
    }
    this.dirtyBlocks.add(s.dirBlocks.at(-1)!);
  }

  entryAdded(dir: Inode, _name: string, inode: Inode): void {
    if (this.unplaced.has(inode.ino)) this.place(inode, this.state(dir).ag);
    this.dirChanged(dir);
  }

  entryRemoved(dir: Inode, _name: string, _inode: Inode): void {
    this.dirChanged(dir);
  }

  dataWritten(inode: Inode, offset: number, length: number): void {
    if (length <= 0) return;
    const pending = this.unplaced.get(inode.ino);
    if (pending !== undefined) {
      pending.push([offset, length]);
      return;
    }
    const s = this.state(inode);
    const bs = this.geo.p.blockBytes;
    const first = Math.floor(offset / bs);
    const last = Math.floor((offset + length - 1) / bs);
    const map = s.map;
    // missing blocks one at a time from the AG (the same blocks, in the same order, as one allocBlocks of them all);
    // the data goes out in runs of contiguous blocks
    let allocated = false;
    let runStart = -1;
    let runLen = 0;
    for (let l = first; l <= last; l++) {
      let p = map.get(l);
      if (p === undefined) {
        p = this.allocBlock(s.ag);
        map.set(l, p);
        allocated = true;
      }
      if (runLen > 0 && p === runStart + runLen) runLen++;
      else {
        if (runLen > 0) this.device.write(runStart, runLen, 'data');
        runStart = p;
        runLen = 1;
      }
    }
    if (allocated) this.dirtyInode(s);
    if (runLen > 0) this.device.write(runStart, runLen, 'data');
  }

  dataTruncated(inode: Inode, newSize: number, _oldSize: number): void {
    this.place(inode, this.lastDirAg);
    const s = this.state(inode);
    const keep = Math.ceil(newSize / this.geo.p.blockBytes);
    // deleting the entry being visited is safe in a Map iteration (the rest are still visited, in order)
    for (const [l, p] of s.map) {
      if (l >= keep) {
        s.map.delete(l);
        this.freed.push(p);
      }
    }
    this.agHeader(s.ag);
    this.dirtyInode(s);
  }

  xattrsChanged(inode: Inode): void {
    this.place(inode, this.lastDirAg);
    this.dirtyInode(this.state(inode));
  }

  /** mkfs.xfs: every AG's headers and btree roots, the whole log (libxfs_log_clear), the root inode chunk. */
  mkfs(): void {
    const g = this.geo;
    for (let ag = 0; ag < g.p.agCount; ag++) this.device.write(g.agStart(ag), 1 + g.p.agRootBlocks, 'AG headers');
    this.device.write(g.logStart, g.logBlocks, 'log');
    this.allocInode(0); // the root directory (shortform) with the realtime bitmap and summary inodes
    this.chunks[0]![0]!.used = 3;
    this.dirtyBlocks.clear();
    this.dirtyInodes.clear();
  }

  /** xfs_log_mount -> xlog_find_tail -> xlog_clear_stale_blocks: up to 2 MiB of log ahead of the head is rewritten. */
  mount(discard: boolean): void {
    this.mounted = true;
    this.coverLeft = 0;
    this.discardOn = discard;
    this.rotor = 0;
    const stale = Math.min(this.geo.p.staleClearBytes / this.geo.p.blockBytes, this.geo.logBlocks - 1);
    this.writeLog(this.head, stale);
  }

  private writeLog(from: number, count: number): void {
    let at = from;
    let left = count;
    while (left > 0) {
      if (at >= this.geo.logBlocks) at = 0;
      const n = Math.min(left, this.geo.logBlocks - at);
      this.device.write(this.geo.logStart + at, n, 'log');
      at += n;
      left -= n;
    }
  }

  /** A log record at the head; the head moves on. */
  private logRecord(bytes: number, dummy = false): void {
    this.coverLeft = dummy ? this.coverLeft - 1 : periodic.xfsCoverRecords;
    const blocks = 1 + Math.ceil(bytes / this.geo.p.blockBytes);
    this.writeLog(this.head, blocks);
    this.head = (this.head + blocks) % this.geo.logBlocks;
  }

  dockerGet(_id: string, rootIno: number): void {
    if (this.rootfsAg >= 0) return;
    // rootfs/: a new directory (rotor AG), shortform; the `id` file beside it with one data block
    const s = this.allocInode(this.rotor++ % this.geo.p.agCount);
    this.rootfsAg = s.ag;
    this.inodes.set(rootIno, s);
    this.dirtyInode(s);
    const id = this.allocInode(0);
    this.dirtyInode(id);
    const b = this.allocBlocks(0, 1);
    this.device.write(b[0]!, 1, 'data');
    this.lastDirAg = s.ag;
  }

  /** A CIL checkpoint (one log record of the dirty items), then the AIL push writes them in place. */
  sync(): void {
    if (this.dirtyBlocks.size === 0 && this.dirtyInodes.size === 0 && this.freed.length === 0) return;
    if (this.dirtyBlocks.size + this.dirtyInodes.size > 0) {
      this.logRecord(this.dirtyBlocks.size * 512 + this.dirtyInodes.size * this.geo.p.inodeBytes);
      for (const b of this.dirtyBlocks) this.device.write(b, 1, b % this.geo.agBlocks === 0 ? 'AG headers' : 'other');
      for (const b of this.dirtyInodes) this.device.write(b, 1, 'inode cluster');
    }
    if (this.discardOn) for (const b of this.freed) this.device.discard(b, 1);
    this.dirtyBlocks.clear();
    this.dirtyInodes.clear();
    this.freed = [];
  }

  /** xfs_log_quiesce: the last checkpoint and push, the superblock counters logged and written, the unmount record. */
  unmount(): void {
    this.sync();
    this.dirtyBlocks.add(0);
    this.sync();
    this.logRecord(0);
    this.mounted = false;
  }

  /**
   * xfs_fs_freeze: xfs_quiesce_attr (log forced, superblock counters logged, AIL pushed, an unmount record), then
   * xfs_fs_log_dummy logs the superblock again so the frozen log is dirty; its buffer is written back after the thaw.
   */
  freeze(): void {
    this.sync();
    this.dirtyBlocks.add(0);
    this.sync();
    this.logRecord(0);
    this.logRecord(512);
    this.dirtyBlocks.add(0);
  }

  /**
   * xfs_log_worker, every xfs_syncd_centisecs: forces the log and pushes the AIL, and while the log is not covered
   * logs a dummy superblock transaction (xfs_fs_log_dummy), one per run, until two have gone since the last activity.
   */
  idle(seconds: number): void {
    const runs = Math.floor(seconds / periodic.xfsLogWorkerSeconds);
    for (let i = 0; i < runs; i++) {
      this.sync();
      if (this.coverLeft <= 0) break;
      // the dummy transaction logs the superblock; the AIL push writes it back in place
      this.logRecord(512, true);
      this.device.write(this.geo.agStart(0), 1, 'AG headers');
    }
  }

  /** xfs_fs_unfreeze: nothing written at once (the dummy transaction's superblock goes with the next push). */
  thaw(): void {}

  /** The AG holding an inode (its chunk's), or undefined for one this layout has not placed. */
  inodeAg(ino: number): number | undefined {
    return this.inodes.get(ino)?.ag;
  }

  worstCaseBlocks(dataBytes: number): number {
    return Math.ceil(dataBytes / this.geo.p.blockBytes) + this.geo.chunkBlocks + 16;
  }

  inspect(): unknown {
    const g = this.geo;
    return {
      fs: 'xfs',
      blocks: g.blocks,
      agCount: g.p.agCount,
      agBlocks: g.agBlocks,
      log: { start: g.logStart, blocks: g.logBlocks, head: this.head },
      inodeChunks: this.chunks.map(l => l.length),
      rootfsAg: this.rootfsAg,
      mounted: this.mounted,
    };
  }
}
