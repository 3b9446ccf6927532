import type { Inode } from '../../src/fs/inode.js';
import { nameHash, type BlockDevice, type FsLayout } from './layout.js';
import { periodic, type Ext4Params } from './params.js';

/**
 * ext4's on-disk geometry for a device of `bytes`, as mke2fs lays it out: groups of 32768 blocks, sparse_super backups
 * (groups 0, 1 and powers of 3, 5, 7), the group descriptor table and its reserved growth blocks (resize_inode),
 * flex_bg packing the block bitmaps, inode bitmaps and inode tables of 16 groups at the front of the flex group, and
 * the journal in the middle of the filesystem (mkjournal.c).
 */
export class Ext4Geometry {
  readonly blocks: number;
  readonly groups: number;
  readonly inodesPerGroup: number;
  readonly itableBlocks: number;
  readonly gdtBlocks: number;
  readonly reservedGdtBlocks: number;
  readonly blockBitmap: number[] = [];
  readonly inodeBitmap: number[] = [];
  readonly inodeTable: number[] = [];
  /** First block of each group free for data after mkfs. */
  readonly dataStart: number[] = [];
  readonly journalStart: number;
  readonly journalBlocks: number;
  readonly flexGroups: number;
  readonly backups: ReadonlySet<number>;

  constructor(
    bytes: number,
    readonly p: Ext4Params,
  ) {
    const bs = p.blockBytes;
    this.blocks = Math.floor(bytes / bs);
    this.groups = Math.ceil(this.blocks / p.blocksPerGroup);
    this.inodesPerGroup = Math.floor((p.blocksPerGroup * bs) / p.inodeRatio);
    this.itableBlocks = (this.inodesPerGroup * p.inodeBytes) / bs;
    const descPerBlock = bs / p.descBytes;
    this.gdtBlocks = Math.ceil(this.groups / descPerBlock);
    // calc_reserved_gdt_blocks: room to grow 1024x or to 2^32 blocks, at most one block of pointers
    const maxBlocks = this.blocks < 0xffffffff / 1024 ? this.blocks * 1024 : 0xffffffff;
    const rsvGroups = Math.ceil(maxBlocks / p.blocksPerGroup);
    this.reservedGdtBlocks = Math.min(Math.ceil(rsvGroups / descPerBlock) - this.gdtBlocks, bs / 4);
    const backups = new Set<number>([0, 1]);
    for (const base of [3, 5, 7]) for (let g = base; g < this.groups; g *= base) backups.add(g);
    this.backups = backups;
    this.flexGroups = Math.ceil(this.groups / p.flexGroups);
    const bpg = p.blocksPerGroup;
    const headerBlocks = (g: number) => (backups.has(g) ? 1 + this.gdtBlocks + this.reservedGdtBlocks : 0);
    for (let g = 0; g < this.groups; g++) this.dataStart.push(g * bpg + headerBlocks(g));
    for (let f = 0; f < this.flexGroups; f++) {
      const lead = f * p.flexGroups;
      const members = Math.min(p.flexGroups, this.groups - lead);
      const start = this.dataStart[lead]!;
      for (let i = 0; i < members; i++) {
        this.blockBitmap[lead + i] = start + i;
        this.inodeBitmap[lead + i] = start + p.flexGroups + i;
        this.inodeTable[lead + i] = start + 2 * p.flexGroups + i * this.itableBlocks;
      }
      this.dataStart[lead] = start + 2 * p.flexGroups + members * this.itableBlocks;
    }
    this.journalBlocks = p.journalBlocks(this.blocks);
    // write_journal_inode: the middle group, rounded down to its flex group, after that group's metadata
    let jg = Math.floor(this.groups / 2);
    if (jg > p.flexGroups) jg &= ~(p.flexGroups - 1);
    this.journalStart = this.dataStart[jg]!;
    this.dataStart[jg] = this.journalStart + this.journalBlocks;
  }

  groupOf(block: number): number {
    return Math.floor(block / this.p.blocksPerGroup);
  }

  /** The inode-table block holding inode number `ino` (1-based). */
  itableBlockOf(ino: number): number {
    const g = Math.floor((ino - 1) / this.inodesPerGroup);
    const idx = (ino - 1) % this.inodesPerGroup;
    return this.inodeTable[g]! + Math.floor((idx * this.p.inodeBytes) / this.p.blockBytes);
  }
}

interface Ext4Inode {
  ino: number;
  /** logical block -> physical block */
  map: Map<number, number>;
  /** directories: their blocks, in order */
  dirBlocks: number[];
}

const ROOT_INO = 2;
const LOST_FOUND_INO = 11;
const FIRST_INO = 11;

/**
 * ext4 on one thin device. Metadata changes dirty blocks in the running jbd2 transaction; a commit writes a
 * descriptor block, a copy of each dirty block and a commit block to the journal (restarted at its first block by each
 * mount: journal_reset), then checkpoints the blocks in place. Data is written in place (data=ordered). Inodes go in
 * the group of their directory; `rootfs/` (a top-level directory) is spread by Orlov to the emptiest flex group.
 */
export class Ext4Layout implements FsLayout {
  readonly name = 'ext4';
  private nextBlock: number[];
  private nextInode: number[];
  private dirsPerFlex: number[];
  private inodes = new Map<number, Ext4Inode>();
  /** The device's own root and lost+found (outside the layer's tree). */
  private deviceRoot: Ext4Inode;
  private rootfsGroup = -1;
  private running = new Set<number>();
  private freed: [number, number][] = [];
  private journalHead = 1;
  /** s_head in the journal superblock (JBD2_CYCLE_RECORD): the head a clean unmount left; 0 after mkfs (none). */
  private savedHead = 0;
  /** The on-disk journal superblock says "nothing to recover" (s_start == 0): mkfs, a clean unmount, a freeze. */
  private journalEmpty = true;
  /** JBD2_FLUSHED: the journal superblock update is deferred to the next commit (journal_reset on an empty journal). */
  private journalFlushed = true;
  private discardOn = false;
  private sequence = 0;
  mounted = false;

  constructor(
    readonly geo: Ext4Geometry,
    private device: BlockDevice,
    private readonly seed: number,
  ) {
    this.nextBlock = [...geo.dataStart];
    this.nextInode = new Array<number>(geo.groups).fill(0);
    this.nextInode[0] = FIRST_INO; // 1..10 reserved, lost+found is 11
    this.dirsPerFlex = new Array<number>(geo.flexGroups).fill(0);
    this.deviceRoot = { ino: ROOT_INO, map: new Map(), dirBlocks: [] };
  }

  clone(device: BlockDevice): Ext4Layout {
    const c = Object.create(Ext4Layout.prototype) as Ext4Layout;
    Object.assign(c, this);
    c.device = device;
    c.nextBlock = [...this.nextBlock];
    c.nextInode = [...this.nextInode];
    c.dirsPerFlex = [...this.dirsPerFlex];
    // a snapshot per container: copied entry by entry, without building the entry arrays first
    c.inodes = new Map();
    for (const [ino, v] of this.inodes) c.inodes.set(ino, { ino: v.ino, map: new Map(v.map), dirBlocks: v.dirBlocks.slice() });
    c.deviceRoot = { ...this.deviceRoot, dirBlocks: [...this.deviceRoot.dirBlocks] };
    c.running = new Set();
    c.freed = [];
    c.mounted = false;
    return c;
  }

  // ---- allocation ----

  private allocBlocks(group: number, count: number): number[] {
    const out: number[] = [];
    let g = group;
    // mballoc criterion 0: a power-of-two request is served from the buddy bitmap, aligned to its size in the group
    if (count > 1 && (count & (count - 1)) === 0 && count <= this.geo.p.blocksPerGroup / 2) {
      const base = g * this.geo.p.blocksPerGroup;
      const aligned = base + Math.ceil((this.nextBlock[g]! - base) / count) * count;
      if (aligned + count <= Math.min(base + this.geo.p.blocksPerGroup, this.geo.blocks)) this.nextBlock[g] = aligned;
    }
    while (out.length < count) {
      const end = (g + 1) * this.geo.p.blocksPerGroup;
      while (out.length < count && this.nextBlock[g]! < Math.min(end, this.geo.blocks)) out.push(this.nextBlock[g]!++);
      if (out.length < count) g = (g + 1) % this.geo.groups;
    }
    for (const b of out) {
      const bg = this.geo.groupOf(b);
      this.dirty(this.geo.blockBitmap[bg]!);
      this.dirtyGdt(bg);
    }
    return out;
  }

  private freeBlocks(blocks: Iterable<number>): void {
    for (const b of blocks) {
      const bg = this.geo.groupOf(b);
      this.dirty(this.geo.blockBitmap[bg]!);
      this.dirtyGdt(bg);
      this.freed.push([b, 1]);
    }
  }

  private allocInode(group: number, dir: boolean): number {
    let g = group;
    while (this.nextInode[g]! >= this.geo.inodesPerGroup) g = (g + 1) % this.geo.groups;
    const ino = g * this.geo.inodesPerGroup + ++this.nextInode[g]!;
    this.dirty(this.geo.inodeBitmap[g]!);
    this.dirtyGdt(g);
    this.dirty(this.geo.itableBlockOf(ino));
    if (dir) this.dirsPerFlex[Math.floor(g / this.geo.p.flexGroups)]!++;
    return ino;
  }

  private dirtyGdt(group: number): void {
    this.dirty(1 + Math.floor(group / (this.geo.p.blockBytes / this.geo.p.descBytes)));
  }

  private dirty(block: number): void {
    this.running.add(block);
  }

  private homeGroup(): number {
    return this.rootfsGroup >= 0 ? this.rootfsGroup : 0;
  }

  /**
   * ext4_inode_to_goal_block with flex_bg (>= EXT4_FLEX_SIZE_DIR_ALLOC_SCHEME groups per flex group): directories and
   * special files allocate in the first group of their flex group, regular files from the second one.
   */
  private goalGroup(ino: number, regular: boolean): number {
    const g = Math.floor((ino - 1) / this.geo.inodesPerGroup);
    const lead = g - (g % this.geo.p.flexGroups);
    return regular && lead + 1 < this.geo.groups ? lead + 1 : lead;
  }

  private state(inode: Inode): Ext4Inode {
    let s = this.inodes.get(inode.ino);
    if (s === undefined) {
      s = { ino: this.allocInode(this.homeGroup(), inode.kind === 'dir'), map: new Map(), dirBlocks: [] };
      this.inodes.set(inode.ino, s);
    }
    return s;
  }

  // ---- VolumeObserver ----

  inodeAllocated(inode: Inode): void {
    const s = this.state(inode);
    if (inode.kind === 'dir') s.dirBlocks = this.writeNew(this.allocBlocks(this.goalGroup(s.ino, false), 1), 'directory');
    if (inode.kind === 'symlink' && Buffer.byteLength(inode.target ?? '') > 59) this.writeNew(this.allocBlocks(this.goalGroup(s.ino, false), 1), 'data');
  }

  inodeDirtied(inode: Inode): void {
    this.dirty(this.geo.itableBlockOf(this.state(inode).ino));
  }

  inodeFreed(inode: Inode): void {
    const s = this.state(inode);
    const g = Math.floor((s.ino - 1) / this.geo.inodesPerGroup);
    this.dirty(this.geo.inodeBitmap[g]!);
    this.dirtyGdt(g);
    this.dirty(this.geo.itableBlockOf(s.ino));
    this.freeBlocks(s.map.values());
    this.freeBlocks(s.dirBlocks);
    this.inodes.delete(inode.ino);
  }

  entryAdded(dir: Inode, _name: string, _inode: Inode): void {
    const s = this.state(dir);
    while (s.dirBlocks.length < Math.max(1, dir.dirBlocks)) {
      s.dirBlocks.push(...this.writeNew(this.allocBlocks(this.goalGroup(s.ino, false), 1), 'directory'));
    }
    this.dirty(s.dirBlocks.at(-1)!);
  }

  entryRemoved(dir: Inode, name: string, _inode: Inode): void {
    const s = this.state(dir);
    if (s.dirBlocks.length > 0) this.dirty(s.dirBlocks[nameHash(name, this.seed) % s.dirBlocks.length]!);
  }

  dataWritten(inode: Inode, offset: number, length: number): void {
    if (length <= 0) return;
    const s = this.state(inode);
    const bs = this.geo.p.blockBytes;
    const first = Math.floor(offset / bs);
    const last = Math.floor((offset + length - 1) / bs);
    const map = s.map;
    let missing = 0;
    for (let l = first; l <= last; l++) if (!map.has(l)) missing++;
    if (missing > 0) {
      const got = this.allocBlocks(this.goalGroup(s.ino, true), missing);
      let i = 0;
      for (let l = first; l <= last; l++) if (!map.has(l)) map.set(l, got[i++]!);
    }
    // data=ordered: the data goes in place, in runs of contiguous blocks
    let runStart = -1;
    let runLen = 0;
    for (let l = first; l <= last; l++) {
      const p = map.get(l)!;
      if (runLen > 0 && p === runStart + runLen) runLen++;
      else {
        if (runLen > 0) this.device.write(runStart, runLen, 'data');
        runStart = p;
        runLen = 1;
      }
    }
    if (runLen > 0) this.device.write(runStart, runLen, 'data');
  }

  dataTruncated(inode: Inode, newSize: number, _oldSize: number): void {
    const s = this.state(inode);
    const keep = Math.ceil(newSize / this.geo.p.blockBytes);
    const gone: number[] = [];
    // deleting the entry being visited is safe in a Map iteration (the rest are still visited, in order)
    for (const [l, p] of s.map) {
      if (l >= keep) {
        gone.push(p);
        s.map.delete(l);
      }
    }
    this.freeBlocks(gone);
  }

  xattrsChanged(inode: Inode): void {
    this.inodeDirtied(inode);
  }

  private writeNew(blocks: number[], structure: string): number[] {
    for (const b of blocks) this.device.write(b, 1, structure);
    return blocks;
  }

  // ---- lifecycle ----

  /** mke2fs -E nodiscard,lazy_itable_init=0,lazy_journal_init=0: every table, bitmap, the journal, / and lost+found. */
  mkfs(): void {
    const g = this.geo;
    for (const grp of g.backups) this.device.write(grp * g.p.blocksPerGroup, 1 + g.gdtBlocks + g.reservedGdtBlocks, grp === 0 ? 'superblock+GDT' : 'backup superblock');
    for (let f = 0; f < g.flexGroups; f++) {
      const lead = f * g.p.flexGroups;
      const members = Math.min(g.p.flexGroups, g.groups - lead);
      this.device.write(g.blockBitmap[lead]!, members, 'block bitmap');
      this.device.write(g.inodeBitmap[lead]!, members, 'inode bitmap');
      if (g.p.zeroInodeTables) this.device.write(g.inodeTable[lead]!, members * g.itableBlocks, 'inode table');
      else this.device.write(g.inodeTable[lead]!, 1, 'inode table');
    }
    if (g.p.zeroJournal) this.device.write(g.journalStart, g.journalBlocks, 'journal');
    else this.device.write(g.journalStart, 1, 'journal');
    // / and lost+found (mke2fs grows lost+found to 16 KiB)
    this.deviceRoot.dirBlocks = this.writeNew(this.allocBlocks(0, 1), 'directory');
    this.dirsPerFlex[0] = 2;
    this.writeNew(this.allocBlocks(0, 16384 / g.p.blockBytes), 'directory');
    this.running.clear();
    void LOST_FOUND_INO;
  }

  /**
   * ext4_fill_super + ext4_setup_super: the superblock (mount count, time, needs_recovery). jbd2_journal_load ->
   * journal_reset restarts the log at its first block; on an empty journal (s_start == 0) it does not write the journal
   * superblock but sets JBD2_FLUSHED, so the first commit writes it (jbd2 since Linux 3.5, commit 24bcc89c7e7c).
   */
  mount(discard: boolean): void {
    this.mounted = true;
    this.discardOn = discard;
    // journal_reset: from the first block, or (JBD2_CYCLE_RECORD) from the head the last clean unmount saved
    const cycled = this.geo.p.journalCycleRecord && this.savedHead > 0 && this.savedHead < this.geo.journalBlocks;
    this.journalHead = cycled ? this.savedHead : 1;
    if (!this.journalEmpty) this.device.write(this.geo.journalStart, 1, 'journal');
    this.journalFlushed = true;
    this.device.write(0, 1, 'superblock');
  }

  /** Docker 1.3 Get: MkdirAll(mnt/rootfs) (a top-level directory: Orlov) and the `id` file, once per device lineage. */
  dockerGet(_id: string, rootIno: number): void {
    if (this.rootfsGroup >= 0) return;
    // find_group_orlov for a top-level directory: the flex group with the fewest directories, from a hashed start
    const nflex = this.geo.flexGroups;
    const start = nameHash('rootfs', this.seed) % nflex;
    let best = start;
    for (let i = 0; i < nflex; i++) {
      const f = (start + i) % nflex;
      if (this.dirsPerFlex[f]! < this.dirsPerFlex[best]!) best = f;
    }
    this.rootfsGroup = best * this.geo.p.flexGroups;
    const ino = this.allocInode(this.rootfsGroup, true);
    this.inodes.set(rootIno, { ino, map: new Map(), dirBlocks: this.writeNew(this.allocBlocks(this.rootfsGroup, 1), 'directory') });
    this.dirty(this.deviceRoot.dirBlocks[0]!);
    this.dirty(this.geo.itableBlockOf(ROOT_INO));
    const idIno = this.allocInode(0, false);
    this.writeNew(this.allocBlocks(this.goalGroup(idIno, true), 1), 'data');
  }

  /** jbd2 commit (descriptor, the blocks, commit block), the checkpoint in place, then the freed blocks' discards. */
  sync(): void {
    if (this.running.size === 0 && this.freed.length === 0) return;
    const blocks = [...this.running].sort((a, b) => a - b);
    this.running.clear();
    if (blocks.length > 0) {
      const tagsPerDescriptor = Math.floor((this.geo.p.blockBytes - 12) / this.geo.p.journalTagBytes);
      const logged = Math.ceil(blocks.length / tagsPerDescriptor) + blocks.length + 1;
      // jbd2_journal_commit_transaction: with JBD2_FLUSHED the journal superblock gets the log tail first
      if (this.journalFlushed) this.device.write(this.geo.journalStart, 1, 'journal');
      this.journalFlushed = false;
      this.journalEmpty = false;
      this.writeJournal(logged);
      this.sequence++;
      for (const b of blocks) this.device.write(b, 1, this.structureOf(b));
    }
    if (this.discardOn) for (const [b, n] of this.freed) this.device.discard(b, n);
    this.freed = [];
  }

  private writeJournal(count: number): void {
    const size = this.geo.journalBlocks;
    let left = count;
    while (left > 0) {
      if (this.journalHead >= size) this.journalHead = 1;
      const n = Math.min(left, size - this.journalHead);
      this.device.write(this.geo.journalStart + this.journalHead, n, 'journal');
      this.journalHead += n;
      left -= n;
    }
  }

  /**
   * jbd2_mark_journal_empty after the last checkpoint: s_start = 0 in the journal superblock, written only when the
   * journal was not already empty (jbd2 since Linux 3.11: "don't write superblock when if its empty"); that write
   * also saves the head in s_head (read back by the next mount with JBD2_CYCLE_RECORD).
   */
  private markJournalEmpty(): void {
    if (!this.journalEmpty) {
      this.device.write(this.geo.journalStart, 1, 'journal');
      this.savedHead = this.journalHead;
    }
    this.journalEmpty = true;
    this.journalFlushed = true;
  }

  /** ext4_put_super: the last commit and checkpoint (jbd2_journal_destroy), the journal marked empty, the superblock (state clean). */
  unmount(): void {
    this.sync();
    this.markJournalEmpty();
    this.device.write(0, 1, 'superblock');
    this.mounted = false;
  }

  /** ext4_freeze: jbd2_journal_flush (commit, checkpoint, journal marked empty), then the superblock without needs_recovery. */
  freeze(): void {
    this.sync();
    this.markJournalEmpty();
    this.device.write(0, 1, 'superblock');
  }

  /** kjournald2 commits the running transaction every commit interval; writeback then puts the blocks in place. */
  idle(seconds: number): void {
    if (seconds >= periodic.jbd2CommitSeconds) this.sync();
  }

  /** ext4_unfreeze: needs_recovery set again, the superblock written (after the snapshot was taken). */
  thaw(): void {
    this.device.write(0, 1, 'superblock');
  }

  structureOf(b: number): string {
    const g = this.geo;
    const grp = g.groupOf(b);
    if (grp === 0 && b <= g.gdtBlocks) return b === 0 ? 'superblock' : 'group descriptors';
    const lead = Math.floor(grp / g.p.flexGroups) * g.p.flexGroups;
    const bb = g.blockBitmap[lead]!;
    if (b >= bb && b < bb + g.p.flexGroups) return 'block bitmap';
    if (b >= bb + g.p.flexGroups && b < bb + 2 * g.p.flexGroups) return 'inode bitmap';
    if (b >= g.inodeTable[lead]! && b < g.inodeTable[lead]! + g.p.flexGroups * g.itableBlocks) return 'inode table';
    if (b >= g.journalStart && b < g.journalStart + g.journalBlocks) return 'journal';
    return 'other';
  }

  worstCaseBlocks(dataBytes: number): number {
    // the data, a directory block, the inode-table, bitmap, descriptor and superblock blocks, and the journal's copies
    return Math.ceil(dataBytes / this.geo.p.blockBytes) + 2 * 8 + 3;
  }

  inspect(): unknown {
    const g = this.geo;
    return {
      fs: 'ext4',
      blocks: g.blocks,
      groups: g.groups,
      inodesPerGroup: g.inodesPerGroup,
      inodeTableBlocksPerGroup: g.itableBlocks,
      gdtBlocks: g.gdtBlocks,
      reservedGdtBlocks: g.reservedGdtBlocks,
      journal: { start: g.journalStart, blocks: g.journalBlocks, head: this.journalHead, sequence: this.sequence },
      rootfsGroup: this.rootfsGroup,
      inodes: this.inodes.size,
      mounted: this.mounted,
    };
  }
}
