import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { btrfs } from '../../models/btrfs/index.js';
import { FreeSpaceRanges, type Block } from '../../models/btrfs/fs.js';
import { CONSTANTS, KEY, ON_DISK, TREE } from '../../models/btrfs/params.js';
import type { BtrfsStore } from '../../models/btrfs/store.js';
import type { Subvol } from '../../models/btrfs/subvolume.js';
import type { SnapshotDriver } from '../../src/block/snapshot-driver.js';
import type { DriverModel, StorageUsage } from '../../src/engine/driver.js';
import { resolveOptions } from '../../src/engine/drivers.js';
import { Host } from '../../src/engine/host.js';
import { ZERO_SOURCE } from '../../src/fs/content.js';
import { PlainMount } from '../../src/fs/plain-mount.js';
import { loadImageSource } from '../../src/image/resolve.js';
import { PageCache, REVIEW_2014, runExperiment, startProcess, type ExperimentSpec } from '../../src/report/experiment.js';
import { O_CREAT, O_RDONLY, O_TRUNC, O_WRONLY, Syscalls } from '../../src/vfs/syscalls.js';
import { errnoOf, pwrite, readText, tree, writeFile, type TreeSpec } from '../support/world.js';

const model = btrfs as unknown as DriverModel;
const KiB = 1024;
const MiB = 1024 * KiB;
const busybox = loadImageSource('builtin:busybox');

function host(options: Record<string, string> = {}, layers: TreeSpec[] = [{ '/etc/motd': 'hi\n' }]): Host {
  const h = new Host(model, resolveOptions(model, options));
  h.loadImage('img', layers.map(tree));
  return h;
}

function storeOf(h: Host): BtrfsStore {
  return (h.driver as SnapshotDriver<Subvol>).store as BtrfsStore;
}

/** A bare filesystem with one subvolume, driven through syscalls (no Docker lifecycle). */
function bareSubvolume(options: Record<string, string> = {}): { h: Host; store: BtrfsStore; sys: Syscalls<object>; usage: () => StorageUsage } {
  const h = new Host(model, resolveOptions(model, options));
  const store = storeOf(h);
  const sv = store.createBase('bare');
  const sys = new Syscalls(new PlainMount(sv.volume) as never);
  // usage after a sync whatever the profile's way of reading df (except where a test reads df as the review did)
  return { h, store, sys, usage: () => (options['measure'] === 'df' ? store.usage() : (store.sync(), store.usage())) };
}

function writeZeros(sys: Syscalls<object>, path: string, offset: number, length: number, flags = O_WRONLY | O_CREAT): void {
  const f = sys.open(path, flags, 0o644);
  sys.write(f, { source: ZERO_SOURCE, at: 0, length }, offset);
  sys.close(f);
}

describe('btrfs trees', () => {
  it('keeps every extent reference count equal to its references, through the whole experiment and removal', () => {
    for (const profile of ['modern', 'docker-1.3']) {
      const h = new Host(model, resolveOptions(model, { profile }));
      h.loadImage('busybox', busybox);
      const store = storeOf(h);
      for (let i = 0; i < 3; i++) {
        const c = h.run(`b${i}`, 'busybox');
        writeZeros(c.sys, '/data1', 0, 64 * KiB, O_WRONLY | O_CREAT | O_TRUNC);
        pwrite(c.sys, '/bin/busybox', 'x'.repeat(5000), 100_000);
        c.sys.rename('/usr/bin', '/usr/bin2');
        h.stop(`b${i}`);
        h.commit(`b${i}`, `b${i}_run`);
        h.run(`r${i}`, `b${i}_run`);
        store.sync();
        expect(store.fs.checkRefs()).toEqual([]);
      }
      for (let i = 0; i < 3; i++) {
        h.rm(`r${i}`);
        h.rm(`b${i}`);
        h.rmi(`b${i}_run`);
        store.sync();
        expect(store.fs.checkRefs()).toEqual([]);
      }
    }
  });

  it('keeps the counted figures (global reserve, apparent size) equal to walking the trees and every subvolume', () => {
    const h = new Host(model, resolveOptions(model, {}));
    h.loadImage('busybox', busybox);
    const store = storeOf(h);
    const live = (store as unknown as { live: Map<number, Subvol> }).live;
    const treeBytes = (id: number): number => {
      const root = store.fs.roots.get(id);
      if (root === undefined) return 0;
      let n = 0;
      const walk = (b: Block): void => {
        n++;
        for (const p of b.ptrs) walk(p.child);
      };
      walk(root.node);
      return n * store.fs.nodesize;
    };
    const check = (): void => {
      const u = h.usage(false);
      const insert = store.fs.nodesize * CONSTANTS.maxLevel * 2 * CONSTANTS.globalReserveMinItems;
      const walked = Math.min(CONSTANTS.globalReserveMaxBytes, treeBytes(TREE.EXTENT) + treeBytes(TREE.CSUM) + treeBytes(TREE.ROOT) + insert);
      expect(u.globalReserveBytes).toBe(walked);
      let apparent = 0;
      for (const sv of live.values()) apparent += sv.volume.usage().apparentBytes;
      expect(u.apparentBytes).toBe(apparent);
    };
    check();
    for (let i = 0; i < 4; i++) {
      const c = h.run(`c${i}`, 'busybox');
      // enough files that the csum and extent trees split (and shrink again on removal)
      for (let f = 0; f < 60; f++) writeZeros(c.sys, `/f${f}`, 0, 16 * KiB, O_WRONLY | O_CREAT | O_TRUNC);
      c.sys.truncate('/f0', 100);
      c.sys.symlink('/f1', '/link');
      check();
      store.sync();
      check();
    }
    for (let i = 0; i < 4; i++) {
      h.rm(`c${i}`);
      check();
      store.sync();
      check();
    }
  });

  it('returns to the image-only figures once every container and commit is removed', () => {
    const h = new Host(model, resolveOptions(model, {}));
    h.loadImage('busybox', busybox);
    const before = h.usage();
    for (let i = 0; i < 3; i++) {
      const c = h.run(`b${i}`, 'busybox');
      writeZeros(c.sys, '/data1', 0, 256 * KiB);
      h.commit(`b${i}`, `b${i}_run`);
    }
    for (let i = 0; i < 3; i++) {
      h.rm(`b${i}`);
      h.rmi(`b${i}_run`);
    }
    const after = h.usage();
    expect(after.dataBytes).toBe(before.dataBytes);
    // the shared trees (extent, root, free space) may keep a split leaf or two
    expect(Math.abs(after.metadataBytes - before.metadataBytes)).toBeLessThanOrEqual(4 * 16 * KiB);
  });

  it('a snapshot costs one new root node (nodesize, twice on disk with DUP) and no data', () => {
    for (const metadata of ['dup', 'single']) {
      const h = host({ metadata }, [{ '/big': { bytes: 4 * MiB }, '/etc/motd': 'hi\n' }]);
      const store = storeOf(h);
      const before = h.usage();
      h.driver.createLayer('snap', h.image('img').layers.at(-1));
      const after = h.usage();
      expect(after.dataBytes - before.dataBytes).toBe(0);
      expect(after.metadataBytes - before.metadataBytes).toBe(16 * KiB);
      expect(after.dfUsedBytes - before.dfUsedBytes).toBe(16 * KiB * (metadata === 'dup' ? 2 : 1));
      expect(store.fs.checkRefs()).toEqual([]);
    }
  });

  it('shares the source tree: a change in the snapshot copies only the path to one leaf', () => {
    const h = host({}, [Object.fromEntries(Array.from({ length: 400 }, (_, i) => [`/d/f${i}`, 'x'.repeat(100)]))]);
    const store = storeOf(h);
    const c = h.run('c', 'img', false);
    const before = h.usage();
    c.sys.chmod('/d/f399', 0o600);
    const after = h.usage();
    const sv = [...(store as unknown as { live: Map<number, Subvol> }).live.values()].at(-1)!;
    // root node (already the snapshot's own) + one leaf copied; the rest still shared with the image
    expect(sv.height).toBeGreaterThan(1);
    expect(after.metadataBytes - before.metadataBytes).toBe(16 * KiB);
  });
});

describe('btrfs backrefs', () => {
  /** A leaf in the middle of the image's tree (shared by every snapshot, written by none) and its extent tree items. */
  function sharedLeaf(h: Host): { itemSize: () => number; keyedCount: () => number } {
    const store = storeOf(h);
    const fs = store.fs;
    const image = [...(store as unknown as { live: Map<number, Subvol> }).live.values()][0]!;
    const ptrs = image.root.node.ptrs;
    const leaf = ptrs[ptrs.length >> 1]!.child;
    const items = () => fs.range(fs.root(TREE.EXTENT), [leaf.bytenr, 0, 0], [leaf.bytenr, 255, Number.MAX_SAFE_INTEGER]);
    return {
      itemSize: () => items().find(i => i.key[1] === KEY.METADATA_ITEM)!.size,
      keyedCount: () => items().filter(i => i.key[1] === KEY.TREE_BLOCK_REF).length,
    };
  }

  it('keeps backrefs inline while the extent item has room, then adds keyed items, and keyed ones never move inline', () => {
    const h = host({}, [Object.fromEntries(Array.from({ length: 400 }, (_, i) => [`/d/f${i}`, 'x'.repeat(100)]))]);
    const leaf = sharedLeaf(h);
    const fs = storeOf(h).fs;
    const room = Math.floor((fs.maxExtentItem - 1 - ON_DISK.extentItemBytes) / ON_DISK.inlineTreeRefBytes);
    // every snapshot of the image adds a TREE_BLOCK_REF from its root to each child of the image's root node
    let n = 0;
    while (leaf.keyedCount() === 0) {
      h.run(`c${++n}`, 'img', false);
      h.usage();
    }
    expect(leaf.itemSize()).toBe(ON_DISK.extentItemBytes + room * ON_DISK.inlineTreeRefBytes);
    expect(leaf.itemSize() + ON_DISK.inlineTreeRefBytes).toBeGreaterThanOrEqual(fs.maxExtentItem);
    const keyedBefore = leaf.keyedCount();
    // removing containers whose refs are inline shrinks the item; a new reference still goes keyed
    // (lookup_inline_extent_backref adds no inline ref once the extent has any keyed backref)
    h.rm('c1');
    h.rm('c2');
    h.usage();
    expect(leaf.itemSize()).toBe(ON_DISK.extentItemBytes + (room - 2) * ON_DISK.inlineTreeRefBytes);
    h.run(`c${++n}`, 'img', false);
    h.usage();
    expect(leaf.keyedCount()).toBe(keyedBefore + 1);
    expect(leaf.itemSize()).toBe(ON_DISK.extentItemBytes + (room - 2) * ON_DISK.inlineTreeRefBytes);
    expect(fs.checkRefs()).toEqual([]);
  });
});

describe('btrfs free space tree ranges', () => {
  it('holds exactly the free space as merged ranges through any sequence of allocations and frees', () => {
    const UNIT = 4096;
    const SLOTS = 64;
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.nat(SLOTS - 1), fc.integer({ min: 1, max: 8 })), { maxLength: 60 }), ops => {
        const ranges = new FreeSpaceRanges();
        const free = new Array<boolean>(SLOTS).fill(true);
        ranges.add(0, SLOTS * UNIT);
        for (const [at, len] of ops) {
          const end = Math.min(SLOTS, at + len);
          const allFree = free.slice(at, end).every(Boolean);
          const allUsed = free.slice(at, end).every(f => !f);
          if (allFree) ranges.remove(at * UNIT, (end - at) * UNIT);
          else if (allUsed) ranges.add(at * UNIT, (end - at) * UNIT);
          else continue;
          for (let i = at; i < end; i++) free[i] = !allFree;
        }
        const want = new Map<number, number>();
        for (let i = 0; i < SLOTS; ) {
          if (!free[i]) {
            i++;
            continue;
          }
          let j = i;
          while (j < SLOTS && free[j]) j++;
          want.set(i * UNIT, (j - i) * UNIT);
          i = j;
        }
        expect(new Map([...ranges.lengths].sort((a, b) => a[0] - b[0]))).toEqual(want);
      }),
    );
  });
});

describe('btrfs data extents', () => {
  it('bookend: overwriting 4 KiB in the middle of a 1 MiB extent keeps the whole extent until the rest goes', () => {
    const { sys, usage } = bareSubvolume();
    const base = usage().dataBytes;
    writeZeros(sys, '/f', 0, MiB);
    expect(usage().dataBytes - base).toBe(MiB);
    pwrite(sys, '/f', 'y'.repeat(4096), 512 * KiB);
    expect(usage().dataBytes - base).toBe(MiB + 4 * KiB);
    // the first half goes: the old extent is still referenced by the item for its tail
    writeZeros(sys, '/f', 0, 512 * KiB);
    expect(usage().dataBytes - base).toBe(MiB + 4 * KiB + 512 * KiB);
    // the tail goes too: nothing references the old extent, it is freed
    writeZeros(sys, '/f', 516 * KiB, 508 * KiB);
    expect(usage().dataBytes - base).toBe(MiB);
    expect(readText(sys, '/f').slice(512 * KiB, 512 * KiB + 4)).toBe('yyyy');
  });

  it('a 64 KiB dd is one 64 KiB extent, with 16 checksums', () => {
    const { store, sys, usage } = bareSubvolume();
    const base = usage();
    writeZeros(sys, '/data1', 0, 64 * KiB);
    const after = usage();
    expect(after.dataBytes - base.dataBytes).toBe(64 * KiB);
    const sv = [...(store as unknown as { live: Map<number, Subvol> }).live.values()].at(-1)!;
    const extents = sv.fileExtents().filter(e => e.fe !== undefined);
    expect(extents).toHaveLength(1);
    expect(extents[0]!.fe!.diskBytes).toBe(64 * KiB);
  });

  it('stores small files inline in the leaf: no data space (max_inline, under one sector)', () => {
    for (const [options, size, inline] of [
      [{}, 100, true],
      [{}, 2048, true],
      [{}, 3000, false],
      [{ profile: 'docker-1.3' }, 3000, true],
      [{ profile: 'docker-1.3' }, 4096, false],
      [{ max_inline: '0' }, 10, false],
    ] as const) {
      const { sys, usage } = bareSubvolume(options);
      const base = usage().dataBytes;
      writeFile(sys, '/small', 'z'.repeat(size));
      expect(usage().dataBytes - base).toBe(inline ? 0 : 4096);
    }
  });

  it('truncate trims a file extent item; the extent stays whole while referenced', () => {
    const { sys, usage } = bareSubvolume();
    const base = usage().dataBytes;
    writeZeros(sys, '/f', 0, MiB);
    // written back first (truncating dirty pages before writeback would allocate only what is left)
    expect(usage().dataBytes - base).toBe(MiB);
    sys.truncate('/f', 8 * KiB);
    expect(usage().dataBytes - base).toBe(MiB);
    sys.unlink('/f');
    expect(usage().dataBytes - base).toBe(0);
  });

  it('writes data at writeback: df before a sync (measure=df) does not see dirty data yet', () => {
    const { h, sys, usage } = bareSubvolume({ measure: 'df' });
    const base = usage().dataBytes;
    writeZeros(sys, '/f', 0, 64 * KiB);
    expect(usage().dataBytes - base).toBe(0);
    h.idle(29);
    expect(usage().dataBytes - base).toBe(0);
    h.idle(2);
    expect(usage().dataBytes - base).toBe(64 * KiB);
  });
});

describe('btrfs POSIX semantics through a Host', () => {
  it('renames lower directories, keeps hard links, has no whiteouts', () => {
    const h = host({}, [{ '/a/x': 'one', '/a/y': { link: '/a/x' }, '/b/': '' }]);
    const { sys } = h.run('c', 'img');
    sys.rename('/a', '/a2');
    expect(readText(sys, '/a2/x')).toBe('one');
    pwrite(sys, '/a2/x', 'ON', 0);
    expect(readText(sys, '/a2/y')).toBe('ONe');
    sys.unlink('/a2/y');
    expect(sys.readdir('/a2').sort()).toEqual(['x']);
    expect(errnoOf(() => sys.stat('/a'))).toBe('ENOENT');
    sys.rmdir('/b');
    const layer = h.driver.inspectLayer(h.container('c').layer) as { tree: { path: string; type: string }[] };
    expect(layer.tree.some(e => e.type === 'whiteout' || e.path.includes('.wh.'))).toBe(false);
    expect(storeOf(h).fs.checkRefs()).toEqual([]);
  });

  it('commit carries the changes into a new image', () => {
    const h = host();
    const { sys } = h.run('c', 'img');
    writeFile(sys, '/etc/new', 'data');
    sys.unlink('/etc/motd');
    h.commit('c', 'img2');
    const r = h.run('r', 'img2');
    expect(readText(r.sys, '/etc/new')).toBe('data');
    expect(errnoOf(() => r.sys.stat('/etc/motd'))).toBe('ENOENT');
  });

  it("keeps the host's meter additive: every op only adds, a reset of a layer's own meter takes nothing back", () => {
    const h = host({}, [{ '/etc/motd': 'hi\n', '/big': { bytes: MiB } }]);
    const c = h.run('c', 'img');
    h.meter.reset();
    let last = h.meter.snapshot();
    const ops = [
      () => writeZeros(c.sys, '/data1', 0, 64 * KiB),
      () => pwrite(c.sys, '/big', 'y'.repeat(4096), 4096),
      () => c.sys.truncate('/big', 100),
      () => c.sys.unlink('/data1'),
      () => c.sys.rename('/etc', '/etc2'),
      () => h.usage(),
      () => (h.driver.mount(h.container('c').layer) as PlainMount).volume.meter.reset(),
    ];
    for (const op of ops) {
      op();
      const now = h.meter.snapshot();
      for (const k of ['dataBytes', 'metadataBytes', 'copyUpBytes', 'lookups'] as const) expect(now[k]).toBeGreaterThanOrEqual(last[k]);
      last = now;
    }
    expect(last.dataBytes).toBeGreaterThanOrEqual(64 * KiB + 4096);
    expect(last.metadataBytes).toBeGreaterThan(0);
    expect(last.lookups).toBeGreaterThan(0);
  });

  it('charges a name lookup as the fs-tree levels it visits', () => {
    const h = host({}, [Object.fromEntries(Array.from({ length: 600 }, (_, i) => [`/d/f${i}`, 'x']))]);
    const { sys } = h.run('c', 'img', false);
    h.meter.reset();
    sys.close(sys.open('/d/f1', O_RDONLY));
    expect(h.meter.lookups).toBe(2 * 2);
  });
});

/**
 * The review's sequence through the Host API with the core's pauses (REVIEW_2014.pauseSeconds before each batch), but
 * read as the review read it: `df -k` after each command, so a step's first figure runs from the previous batch's last
 * reading and includes the pause (runExperiment starts its first figure after the pause).
 */
function reviewSequence(options: Record<string, string>, spec: ExperimentSpec = REVIEW_2014) {
  const h = new Host(model, resolveOptions(model, options));
  h.loadImage('busybox', busybox);
  const pause = () => h.idle(spec.pauseSeconds ?? 0);
  pause();
  const steps: { step: string; mean: number; first: number }[] = [];
  let last = h.usage();
  const measure = (step: string, each: (i: number) => void) => {
    const before = last;
    pause();
    const start = h.usage();
    let first = 0;
    for (let i = 0; i < spec.containers; i++) {
      each(i);
      if (i === 0) first = h.usage().dfUsedBytes - before.dfUsedBytes;
    }
    last = h.usage();
    steps.push({ step, mean: (last.dfUsedBytes - start.dfUsedBytes) / spec.containers, first });
  };
  // the page cache only counts what was read; it writes nothing to the store
  const start = (sys: Syscalls<object>, i: number, command: string) => startProcess(sys, i, new PageCache(), command);
  measure('run', i => {
    const c = h.run(`b${i}`, 'busybox');
    start(c.sys, i, '/bin/dd');
    writeZeros(c.sys, '/data1', 0, spec.writeBytes, O_WRONLY | O_CREAT | O_TRUNC);
    h.stop(`b${i}`);
  });
  measure('commit', i => h.commit(`b${i}`, `b${i}_run`));
  measure('run from commit', i => start(h.run(`r${i}`, `b${i}_run`).sys, spec.containers + i, '/bin/sleep'));
  return steps;
}

/** The experiments several tests read, run once. */
const once = <T>(f: () => T): (() => T) => {
  let v: T | undefined;
  return () => (v ??= f());
};
const modern = once(() => runExperiment(model, {}, busybox));
const review = once(() => runExperiment(model, { profile: 'docker-1.3' }, busybox, REVIEW_2014));

const within = (got: number, want: number, tol: number) => expect(Math.abs(got - want) / want, `${got / KiB} KiB vs ${want / KiB} KiB`).toBeLessThanOrEqual(tol);

describe('btrfs calibration', () => {
  it('modern: per-step growth near the 6.18 replay (btrfs default DUP, docker13)', () => {
    const r = modern();
    const [run, commit, rfs] = r.steps;
    within(run!.perContainer.dfUsedBytes, 320 * KiB, 0.15);
    within(run!.perContainer.metadataBytes, 128 * KiB, 0.15);
    expect(run!.perContainer.dataBytes).toBe(64 * KiB);
    expect(commit!.perContainer.dataBytes).toBe(64 * KiB);
    // 6.18: +198.4 df, +67.2 metadata. The model's 64 KiB owes one leaf to its simplified split_leaf (a key past a
    // full leaf starts a new one); with the kernel's push_leaf_right/left it comes to 48 KiB, so a mechanism of the
    // commit step is still missing (getdents atime is modelled: PlainMount.readdir)
    within(commit!.perContainer.dfUsedBytes, 198.4 * KiB, 0.2);
    within(rfs!.perContainer.dfUsedBytes, 265.6 * KiB, 0.15);
    within(rfs!.perContainer.metadataBytes, 132.8 * KiB, 0.15);
    expect(rfs!.perContainer.dataBytes).toBe(0);
  });

  it('metadata=single: df counts metadata once, metadata itself unchanged', () => {
    const dup = modern();
    const single = runExperiment(model, { metadata: 'single' }, busybox);
    for (let s = 0; s < 3; s++) {
      const d = dup.steps[s]!.perContainer;
      const m = single.steps[s]!.perContainer;
      expect(m.metadataBytes).toBe(d.metadataBytes);
      expect(m.dfUsedBytes).toBe(m.dataBytes + m.metadataBytes);
      expect(d.dfUsedBytes).toBe(d.dataBytes + 2 * d.metadataBytes);
    }
    within(single.steps[0]!.perContainer.dfUsedBytes, 192 * KiB, 0.15);
    within(single.steps[2]!.perContainer.dfUsedBytes, 133.3 * KiB, 0.15);
  });

  it('1 MiB instead of 64 KiB: Data used grows 1 MiB per run and per commit, metadata barely moves', () => {
    const small = modern();
    const big = runExperiment(model, {}, busybox, { containers: 10, writeBytes: MiB });
    expect(big.steps[0]!.perContainer.dataBytes).toBe(MiB);
    expect(big.steps[1]!.perContainer.dataBytes).toBe(MiB);
    expect(big.steps[2]!.perContainer.dataBytes).toBe(0);
    // 256 checksums instead of 16: about a kilobyte more in the csum tree per extent
    expect(Math.abs(big.steps[0]!.perContainer.metadataBytes - small.steps[0]!.perContainer.metadataBytes)).toBeLessThanOrEqual(16 * KiB);
  });

  it('4 containers instead of 10: the same per-container cost, a quarter... of the total', () => {
    const ten = modern();
    const four = runExperiment(model, {}, busybox, { containers: 4, writeBytes: 64 * KiB });
    for (let s = 0; s < 3; s++) {
      expect(four.steps[s]!.perContainer.dataBytes).toBe(ten.steps[s]!.perContainer.dataBytes);
      expect(Math.abs(four.steps[s]!.perContainer.metadataBytes - ten.steps[s]!.perContainer.metadataBytes)).toBeLessThanOrEqual(16 * KiB);
    }
    expect(four.final.dataBytes).toBeLessThan(ten.final.dataBytes);
  });

  it('noatime: the busybox read writes no inode item back', () => {
    const rel = modern();
    const noa = runExperiment(model, { noatime: 'on' }, busybox);
    expect(noa.steps[0]!.perContainer.metadataBytes).toBeLessThanOrEqual(rel.steps[0]!.perContainer.metadataBytes);
    within(noa.steps[0]!.perContainer.dfUsedBytes, 288 * KiB, 0.15);
  });

  it('docker-1.3: the review figures through runExperiment (df -k right after each command, data still dirty)', () => {
    const r = review();
    const [run, commit, rfs] = r.steps;
    within(run!.perContainer.dfUsedBytes, 256 * KiB, 0.25);
    within(commit!.perContainer.dfUsedBytes, 128 * KiB, 0.25);
    within(rfs!.perContainer.dfUsedBytes, 256 * KiB, 0.25);
    // the dd's and the commits' 64 KiB are written back by the flusher 30 s later, in the pauses
    for (const s of r.steps) expect(s.perContainer.dataBytes).toBe(0);
    // the first commit is read from the end of the run step: the pause before it wrote the runs' data back
    expect(commit!.first.dataBytes).toBe(10 * 64 * KiB);
  });

  it("docker-1.3: the review's first commit and first run from a commit include the pause before them", () => {
    const steps = reviewSequence({ profile: 'docker-1.3' });
    const r = review();
    const [, commit, rfs] = steps;
    // runExperiment reads the first figure the review's way: from the reading that ended the step before the pause
    expect(r.steps[1]!.first.dfUsedBytes).toBe(commit!.first);
    expect(r.steps[2]!.first.dfUsedBytes).toBe(rfs!.first);
    // ten 64 KiB files of the previous batch written back in the pause, with their extent items, csums and leaves
    expect(r.steps[1]!.first.dataBytes).toBe(10 * 64 * KiB);
    expect(r.steps[2]!.first.dataBytes).toBe(10 * 64 * KiB);
    within(commit!.first, 672 * KiB, 0.25);
    within(rfs!.first, 700 * KiB, 0.25);
  });

  it("docker-1.3: the daemon's files on the same btrfs (daemon_files) add leaf bytes to the top-level tree", () => {
    const on = review();
    const off = runExperiment(model, { profile: 'docker-1.3', daemon_files: 'off' }, busybox, REVIEW_2014);
    for (let s = 0; s < 3; s++) expect(on.steps[s]!.perContainer.metadataBytes).toBeGreaterThanOrEqual(off.steps[s]!.perContainer.metadataBytes);
    expect(on.final.metadataBytes).toBeGreaterThan(off.final.metadataBytes);
    // without them a commit is its snapshot's root node and ApplyDiff's two leaves (the first commit's leaves land
    // with the second, so from the second on each commit shows 3 nodes)
    expect(off.steps[1]!.perContainer.metadataBytes).toBe(3 * 16 * KiB);
    const h = new Host(model, resolveOptions(model, { profile: 'docker-1.3' }));
    h.loadImage('busybox', busybox);
    writeZeros(h.run('c', 'busybox').sys, '/data1', 0, 64 * KiB);
    h.stop('c');
    h.commit('c', 'c_run');
    const top = new Syscalls(new PlainMount(storeOf(h).top.volume) as never);
    const containers = top.readdir('/var/lib/docker/containers');
    expect(containers).toHaveLength(1);
    expect(top.readdir(`/var/lib/docker/containers/${containers[0]}`).sort()).toEqual(['config.json', `${containers[0]}-json.log`, 'hostconfig.json', 'hostname', 'hosts', 'resolv.conf'].sort());
    const graph = top.readdir('/var/lib/docker/graph').filter(n => n !== '_tmp');
    expect(graph).toHaveLength(2);
    expect(top.readdir('/var/lib/docker/graph/_tmp')).toEqual([]);
    const committed = graph.find(g => readText(top, `/var/lib/docker/graph/${g}/layersize`) === String(64 * KiB));
    expect(JSON.parse(readText(top, `/var/lib/docker/graph/${committed}/json`)).parent).toBe(graph.find(g => g !== committed));
  });
});
