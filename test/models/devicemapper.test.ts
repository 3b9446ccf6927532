import { describe, expect, it } from 'vitest';
import type { SnapshotDriver } from '../../src/block/snapshot-driver.js';
import { resolveOptions } from '../../src/engine/drivers.js';
import { Host } from '../../src/engine/host.js';
import { ZERO_SOURCE } from '../../src/fs/content.js';
import { FsError } from '../../src/fs/errno.js';
import { loadImageSource } from '../../src/image/resolve.js';
import { runExperiment, REVIEW_2014 } from '../../src/report/experiment.js';
import { O_CREAT, O_RDONLY, O_TRUNC, O_WRONLY, Syscalls } from '../../src/vfs/syscalls.js';
import { setupInitLayer } from '../../src/engine/init-layer.js';
import { devicemapper, dockerInfo, ThinPool, thinMetadataSize, thinMetadataSizeC } from '../../models/devicemapper/index.js';
import { WRITE_BROKE_SHARING, WRITE_IN_PLACE, WRITE_PROVISIONED } from '../../models/devicemapper/thin-pool.js';
import { btreeMaxEntries, parseSize, profiles } from '../../models/devicemapper/params.js';
import type { DmStore } from '../../models/devicemapper/store.js';
import type { XfsLayout } from '../../models/devicemapper/xfs-layout.js';
import { readText, tree, writeFile } from '../support/world.js';

const BLOCK = 64 * 1024;
const META = 4096;
const busybox = () => loadImageSource('builtin:busybox');

function host(options: Record<string, string> = {}): { host: Host; store: DmStore } {
  const h = new Host(devicemapper, resolveOptions(devicemapper, options));
  return { host: h, store: (h.driver as SnapshotDriver<unknown>).store as DmStore };
}

function dd(sys: Syscalls<object>, path: string, bytes: number): void {
  const f = sys.open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o644);
  sys.write(f, { source: ZERO_SOURCE, at: 0, length: bytes });
  sys.close(f);
}

/**
 * The review's experiment through the graphdriver calls in Docker 1.3's own order (daemon.createRootfs: the container
 * layer is created while `<id>-init` is still mounted, `defer driver.Put(initID)`; then libcontainer's pivot_root dir
 * and the exec of busybox), measuring the pool blocks taken per step (provisioned or un-shared), the metric of
 * kernel-6.18-blog-experiment.md's "thin chunks 64K".
 */
function chunkEvents(options: Record<string, string>, n = 10, bytes = 64 * 1024): number[] {
  const { host: h, store } = host(options);
  h.loadImage('busybox', busybox());
  const d = h.driver;
  const taken = () => store.pool.stats.provisioned + store.pool.stats.sharingBroken;
  const start = (sys: Syscalls<object>, i: number) => {
    sys.mkdir(`/.pivot_root${i}`, 0o700);
    sys.rmdir(`/.pivot_root${i}`);
    const exe = sys.open('/bin/busybox', O_RDONLY);
    sys.read(exe, 4096, 0);
    sys.close(exe);
  };
  const run = (name: string, parent: string): Syscalls<object> => {
    d.createLayer(`${name}-init`, parent);
    setupInitLayer(new Syscalls(d.mount(`${name}-init`)), 'docker-1.3');
    d.createLayer(name, `${name}-init`);
    d.release!(`${name}-init`);
    return new Syscalls(d.mount(name));
  };
  const out: number[] = [];
  const step = (each: (i: number) => void) => {
    h.usage();
    const t0 = taken();
    for (let i = 0; i < n; i++) {
      each(i);
      h.usage();
    }
    out.push((taken() - t0) / n);
  };
  const image = h.image('busybox').layers.at(-1)!;
  step(i => {
    const sys = run(`b${i}`, image);
    start(sys, i);
    dd(sys, '/data1', bytes);
    d.release!(`b${i}`);
  });
  step(i => {
    const diff = d.diff(`b${i}`);
    d.createLayer(`b${i}_run`, image);
    d.applyDiff(`b${i}_run`, diff);
  });
  step(i => start(run(`r${i}`, `b${i}_run`), n + i));
  return out;
}

function perStep(options: Record<string, string>, spec = REVIEW_2014) {
  const r = runExperiment(devicemapper, options, busybox(), spec);
  return Object.fromEntries(r.steps.map(s => [s.step, { data: s.perContainer.dataBytes / BLOCK, meta: s.perContainer.metadataBytes / META }]));
}

describe('devicemapper: the thin pool', () => {
  it('btree nodes hold 252 mappings; thin_metadata_size (Rust and 2013 C) as the tools compute it', () => {
    expect(btreeMaxEntries(8)).toBe(252);
    expect(btreeMaxEntries(24)).toBe(126);
    // 100 GiB / 64 KiB: (1 + ceil(1,638,400 / 126) + max_thins) blocks of 4 KiB (driver-semantics §3.5)
    expect(thinMetadataSize(100 * 1024 ** 3, BLOCK, 0)).toBe(53_268_480);
    expect(thinMetadataSize(100 * 1024 ** 3, BLOCK, 1000)).toBe(53_268_480 + 1000 * 4096);
    expect(thinMetadataSizeC(100 * 1024 ** 3, BLOCK, 0)).toBe(Math.ceil(1 + (2 * 1_638_400) / 252) * 4096);
  });

  it('docker info prints SI sizes with 4 significant digits', () => {
    const pool = new ThinPool({ dataBlockBytes: BLOCK, dataBytes: 100 * 1024 ** 3, metadataBytes: 2 * 1024 ** 3, errorIfNoSpace: false, loopFiles: true });
    const info = dockerInfo(pool);
    expect(info['Pool Blocksize']).toBe('65.54kB');
    expect(info['Data Space Total']).toBe('107.4GB');
    expect(info['Metadata Space Total']).toBe('2.147GB');
  });

  it('a snapshot is O(1): no data block, one reference on the origin root; the first write shadows the path', () => {
    const pool = new ThinPool({ dataBlockBytes: BLOCK, dataBytes: 1024 ** 3, metadataBytes: 64 * 1024 ** 2, errorIfNoSpace: true, loopFiles: false });
    pool.createThin(1);
    for (let v = 0; v < 1000; v++) pool.write(1, v);
    pool.commit();
    const data = pool.usedDataBlocks;
    const meta = pool.usedMetadataBlocks;
    pool.createSnap(2, 1);
    expect(pool.usedDataBlocks).toBe(data);
    expect(pool.usedMetadataBlocks - meta).toBeLessThanOrEqual(1);
    expect(pool.treeShape(2).sharedRoot).toBe(true);
    pool.write(2, 0); // shared: the whole block is copied
    expect(pool.usedDataBlocks).toBe(data + 1);
    expect(pool.stats.copyBytes).toBe(BLOCK);
    pool.write(2, 0); // now exclusive
    expect(pool.usedDataBlocks).toBe(data + 1);
    pool.write(2, 5000); // unprovisioned
    expect(pool.usedDataBlocks).toBe(data + 2);
  });

  it('allocated pool blocks equal the distinct blocks written that the device did not own exclusively', () => {
    const pool = new ThinPool({ dataBlockBytes: BLOCK, dataBytes: 1024 ** 3, metadataBytes: 64 * 1024 ** 2, errorIfNoSpace: true, loopFiles: false });
    pool.createThin(1);
    for (let v = 0; v < 300; v += 2) pool.write(1, v);
    pool.createSnap(2, 1);
    const writes = [0, 0, 1, 2, 3, 298, 299, 400, 400, 2];
    const distinct = new Set(writes);
    const expected = pool.blocksNeeded(2, distinct);
    const before = pool.usedDataBlocks;
    for (const v of writes) pool.write(2, v);
    expect(pool.usedDataBlocks - before).toBe(expected);
    expect(expected).toBe(distinct.size);
  });

  it('a write bio reports what it took: a new block, a copied one, or nothing', () => {
    const pool = new ThinPool({ dataBlockBytes: BLOCK, dataBytes: 1024 ** 3, metadataBytes: 64 * 1024 ** 2, errorIfNoSpace: true, loopFiles: false });
    pool.createThin(1);
    expect(pool.write(1, 7)).toBe(WRITE_PROVISIONED);
    expect(pool.write(1, 7)).toBe(WRITE_IN_PLACE);
    pool.createSnap(2, 1);
    expect(pool.write(2, 7)).toBe(WRITE_BROKE_SHARING);
    expect(pool.write(2, 7)).toBe(WRITE_IN_PLACE);
    expect(pool.write(1, 7)).toBe(WRITE_BROKE_SHARING); // the origin's block is shared too until it is copied
    expect(pool.stats).toMatchObject({ provisioned: 1, sharingBroken: 2, copyBytes: 2 * BLOCK });
  });

  it('parses block sizes and refuses the ones dm-thin refuses', () => {
    expect(parseSize('64K')).toBe(65536);
    expect(parseSize('512K')).toBe(524288);
    expect(parseSize('1G')).toBe(1024 ** 3);
    expect(() => resolveOptions(devicemapper, { blocksize: '96K' })).toThrow(/multiple of 64K/);
    expect(() => resolveOptions(devicemapper, { blocksize: '2G' })).toThrow(/64K..1G/);
  });
});

describe('devicemapper: POSIX on a thin snapshot', () => {
  for (const fs of ['ext4', 'xfs']) {
    it(`${fs}: writes, reads, renames lower directories (no EXDEV), and each layer sees only its own changes`, () => {
      const { host: h } = host({ fs });
      h.loadImage('img', [tree({ '/etc/motd': 'hello', '/d/sub/f': 'x' })]);
      const a = h.run('a', 'img', false);
      writeFile(a.sys, '/etc/motd', 'changed');
      a.sys.rename('/d', '/d2');
      expect(readText(a.sys, '/d2/sub/f')).toBe('x');
      expect(readText(a.sys, '/etc/motd')).toBe('changed');
      const b = h.run('b', 'img', false);
      expect(readText(b.sys, '/etc/motd')).toBe('hello');
      expect(b.sys.readdir('/').sort()).toContain('d');
      h.commit('a', 'img2');
      const c = h.run('c', 'img2', false);
      expect(readText(c.sys, '/d2/sub/f')).toBe('x');
      expect(() => c.sys.stat('/d')).toThrow(FsError);
    });
  }
});

describe('devicemapper: xfs inode chunks', () => {
  /** Inode chunks per AG after `n` new files in one new directory of a container. */
  const chunksAfter = (n: number): number[] => {
    const { host: h, store } = host({ fs: 'xfs' });
    h.loadImage('img', [tree({ '/a': 'x' })]);
    const c = h.run('c', 'img', false);
    c.sys.mkdir('/d', 0o755);
    for (let i = 0; i < n; i++) writeFile(c.sys, `/d/f${i}`, 'y');
    const dev = [...store.live].find(x => x.name === c.layer)!;
    return (store.inspect(dev) as { fs: { inodeChunks: number[] } }).fs.inodeChunks;
  };

  it('chunks of 64 fill in order and are never reused: 576 more files in the directory\'s AG take exactly 9 more chunks', () => {
    const few = chunksAfter(64);
    const many = chunksAfter(640);
    const grew = many.map((n, ag) => n - few[ag]!);
    expect(grew.filter(g => g !== 0)).toEqual([9]);
  });

  it('a file\'s inode goes to its directory\'s AG, also when it is created with its data (an image layer) right after a mkdir elsewhere', () => {
    const { host: h, store } = host({ profile: 'docker-1.3', fs: 'xfs' });
    h.loadImage('img', [tree({ '/bin/busybox': 'x'.repeat(10000), '/bin/dd': { symlink: 'busybox' }, '/usr/bin/env': 'y', '/linuxrc': 'z' })]);
    const dev = [...store.live][0]!;
    const layout = dev.layout as XfsLayout;
    const root = store.volume(dev).root;
    const at = (path: string) => {
      let n = root;
      for (const part of path.split('/').filter(p => p !== '')) n = n.entries!.get(part)!;
      return layout.inodeAg(n.ino);
    };
    // new directories rotate across the AGs (inode64), so /bin and /usr/bin are in other AGs than /
    expect(at('/bin')).not.toBe(at('/'));
    for (const [file, dir] of [['/bin/busybox', '/bin'], ['/bin/dd', '/bin'], ['/usr/bin/env', '/usr/bin'], ['/linuxrc', '/']]) {
      expect(at(file!)).toBe(at(dir!));
    }
  });
});

describe('devicemapper: what mount, freeze and unmount write', () => {
  const devices = (store: DmStore) => [...store.live].map(d => ({ name: d.name, writes: d.writes.toJSON() }));

  it('ext4: a mount and unmount that log nothing leave the journal alone (JBD2_FLUSHED, empty journal not rewritten)', () => {
    const { host: h, store } = host({ profile: 'docker-1.3', fs: 'ext4' });
    h.loadImage('busybox', busybox());
    const d = h.driver;
    const image = h.image('busybox').layers.at(-1)!;
    d.createLayer('child', image); // the image is shared again: a mount's writes take its blocks back
    const dev = [...store.live].find(x => x.name === image)!;
    const journal = dev.writes.counts.get('journal') ?? 0;
    const taken = store.pool.stats.provisioned + store.pool.stats.sharingBroken;
    d.mount(image);
    d.release!(image);
    expect(dev.writes.counts.get('journal') ?? 0).toBe(journal);
    // the superblock (mount count, then state clean) takes back one pool block, nothing else
    expect(store.pool.stats.provisioned + store.pool.stats.sharingBroken - taken).toBe(1);
  });

  it('ext4: a change logged after mount writes the journal superblock once, then the records', () => {
    const { host: h } = host({ profile: 'docker-1.3', fs: 'ext4' });
    h.loadImage('img', [tree({ '/a': 'x' })]);
    const c = h.run('c', 'img', false);
    const store = (h.driver as SnapshotDriver<unknown>).store as DmStore;
    const dev = [...store.live].find(x => x.name === c.layer)!;
    const before = dev.writes.counts.get('journal') ?? 0;
    writeFile(c.sys, '/b', 'y');
    h.usage();
    const first = (dev.writes.counts.get('journal') ?? 0) - before;
    writeFile(c.sys, '/c', 'z');
    h.usage();
    const second = (dev.writes.counts.get('journal') ?? 0) - before - first;
    expect(first).toBe(second + 1);
    expect(devices(store).length).toBeGreaterThan(1);
  });

  it('a snapshot of a mounted ext4 device freezes it; the thaw writes its superblock after create_snap', () => {
    const { host: h, store } = host({ profile: 'docker-1.3', fs: 'ext4' });
    h.loadImage('img', [tree({ '/a': 'x' })]);
    const d = h.driver;
    const image = h.image('img').layers.at(-1)!;
    d.createLayer('init', image);
    const sys = new Syscalls(d.mount('init'));
    writeFile(sys, '/f', 'y');
    const init = [...store.live].find(x => x.name === 'init')!;
    const sb = init.poolBlocks.counts.get('superblock') ?? 0;
    d.createLayer('ctr', 'init');
    // everything logged reached the disk before the snapshot: the container has nothing of init's running transaction
    const ctr = [...store.live].find(x => x.name === 'ctr')!;
    expect(ctr.writes.toJSON()).toEqual({});
    // ext4_unfreeze: needs_recovery set again, the superblock block un-shared from the new snapshot
    expect(init.poolBlocks.counts.get('superblock')).toBe(sb + 1);
    d.release!('init');
    // nothing was logged after the freeze: the unmount does not write the journal
    expect(init.poolBlocks.counts.get('journal') ?? 0).toBe(1);
  });
});

describe('devicemapper: the cost meter', () => {
  it('is additive: an un-shared pool block is data written (copy-up included), never a decrease', () => {
    const { host: h } = host({ fs: 'ext4' });
    h.loadImage('img', [tree({ '/big': 'x'.repeat(200_000) })]);
    h.run('a', 'img', false);
    h.commit('a', 'img2');
    const c = h.run('c', 'img2', false);
    const seen: number[] = [];
    for (const [at, n] of [[0, 1], [70_000, 4096], [150_000, 45_056], [0, 1]] as const) {
      h.meter.reset();
      const f = c.sys.open('/big', O_WRONLY);
      c.sys.write(f, { source: ZERO_SOURCE, at: 0, length: n }, at);
      c.sys.close(f);
      const m = h.meter.snapshot();
      expect(m.dataBytes).toBeGreaterThanOrEqual(m.copyUpBytes);
      expect(m.dataBytes).toBeGreaterThanOrEqual(n);
      seen.push(m.copyUpBytes);
    }
    expect(seen[0]).toBe(BLOCK); // the first write to a shared block copies the whole pool block
    expect(seen[3]).toBe(0); // the block is the device's own now
  });
});

describe('devicemapper: space', () => {
  it('removing every container and image returns a direct-lvm pool to its post-mkfs state', () => {
    const { host: h } = host({ mode: 'direct-lvm', fs: 'xfs' });
    const empty = h.usage();
    h.loadImage('busybox', busybox());
    const c = h.run('c', 'busybox');
    dd(c.sys, '/data1', 1 << 20);
    h.stop('c');
    h.commit('c', 'img2');
    h.run('d', 'img2');
    for (const n of ['d', 'c']) h.rm(n);
    h.rmi('img2');
    h.rmi('busybox');
    const after = h.usage();
    expect(after.dataBytes).toBe(empty.dataBytes);
    expect(after.metadataBytes).toBe(empty.metadataBytes);
    expect(after.dfUsedBytes).toBe(0);
  });

  it('loop-lvm: without discard the data file gives nothing back; with BLKDISCARD its holes are punched', () => {
    const run = (blkdiscard: string) => {
      const { host: h } = host({ fs: 'ext4', blkdiscard, discard: 'off' });
      h.loadImage('busybox', busybox());
      const before = h.usage();
      const c = h.run('c', 'busybox');
      dd(c.sys, '/data1', 1 << 20);
      h.stop('c');
      const full = h.usage();
      h.rm('c');
      return { before, full, after: h.usage() };
    };
    const kept = run('off');
    expect(kept.after.dfUsedBytes).toBeGreaterThanOrEqual(kept.full.dfUsedBytes);
    expect(kept.after.dataBytes).toBe(kept.before.dataBytes); // the pool itself freed them
    const punched = run('on');
    expect(punched.after.dfUsedBytes).toBeLessThan(punched.full.dfUsedBytes);
    expect(punched.after.loopDataFileApparentBytes).toBe(punched.full.loopDataFileApparentBytes);
  });

  for (const mode of ['error', 'queue']) {
    it(`a full pool (error_if_no_space=${mode}) answers ENOSPC and changes nothing`, () => {
      const { host: h, store } = host({ fs: 'ext4', datasize: '600M', error_if_no_space: mode });
      h.loadImage('busybox', busybox());
      const c = h.run('c', 'busybox', false);
      const free = store.pool.freeDataBlocks;
      const usage = h.usage();
      const tree = JSON.stringify(c.sys.readdir('/').sort());
      const f = c.sys.open('/big', O_WRONLY | O_CREAT, 0o644);
      const before = h.usage();
      expect(() => c.sys.write(f, { source: ZERO_SOURCE, at: 0, length: (free + 1) * BLOCK })).toThrow(/ENOSPC/);
      expect(h.usage()).toEqual(before);
      expect(c.sys.stat('/big').size).toBe(0);
      expect(JSON.stringify(c.sys.readdir('/').sort())).toBe(JSON.stringify([...JSON.parse(tree), 'big'].sort()));
      expect(usage.dataBytes).toBeLessThanOrEqual(before.dataBytes);
    });
  }
});

describe('devicemapper: calibration, profile=docker-1.3 (the 2014 review, docker info figures)', () => {
  const loop = perStep({ profile: 'docker-1.3', mode: 'loop-lvm' });
  const direct = perStep({ profile: 'docker-1.3', mode: 'direct-lvm', fs: 'xfs' });

  it('loop-lvm ext4: run +16 data / +10 metadata blocks, commit +8 / +5, within one block', () => {
    expect(Math.abs(loop['run']!.data - 16)).toBeLessThanOrEqual(1);
    expect(Math.abs(loop['run']!.meta - 10)).toBeLessThanOrEqual(1);
    expect(Math.abs(loop['commit']!.data - 8)).toBeLessThanOrEqual(1);
    expect(Math.abs(loop['commit']!.meta - 5)).toBeLessThanOrEqual(1);
    expect(Math.abs(loop['run from commit']!.meta - 10)).toBeLessThanOrEqual(1);
  });

  // Open: 14 used (15 taken: the container's superblock write frees the block the init's thaw left it alone with).
  // The init takes 8 here against 9 on Linux 6.18 because of JBD2_CYCLE_RECORD (6.4+: the journal goes on from the
  // saved head and crosses a pool block) and of Docker 1.3's freeze/thaw order, not of a 3.17 mechanism left out.
  it.fails('loop-lvm ext4: run from commit +16 data blocks within one (model: 14, see the report)', () => {
    expect(Math.abs(loop['run from commit']!.data - 16)).toBeLessThanOrEqual(1);
  });

  it('direct-lvm xfs: metadata +2 per run, +1 per commit (one shadowed leaf root per new device)', () => {
    expect(Math.abs(direct['run']!.meta - 2)).toBeLessThanOrEqual(1);
    expect(Math.abs(direct['commit']!.meta - 1)).toBeLessThanOrEqual(1);
  });

  // Open, both xfs data figures, and likely one cause: a commit mounts four times as Docker 1.3.2's naiveDiffDriver
  // does (ApplyDiff keeps the new layer mounted through its size walk; the Linux 6.18 replay did the same and its ext4
  // commit is now matched exactly), and then every new xfs device is 2-3 pool blocks short of the review in run (two
  // new devices: 79 against 84; 77 since files go to their directory's AG, see below) and commit (one: 39 against 41) alike — a per-new-device 3.17-era xfs write not found
  // yet. Ruled out: the thin device's I/O hints as an xfs stripe (16 AGs, aligned log, chunks and extents: run 81 but
  // commit 55-56; see XfsParams.agCount). Since modelled: execve("/bin/dd") follows the applet symlink and relatime
  // updates its atime (+1 per run). Also tried and not it (each probed by a temporary change, figures run/commit):
  // the log at XFS_PREALLOC_BLOCKS (AG block 4, the AGFL's blocks after it) or any offset 0-14: 78-79 / 39-41, noise
  // of the pool-boundary phase, not a per-device cost; v4's real inode alignment (sb_inoalignmt =
  // XFS_INODE_BIG_CLUSTER_SIZE >> blocklog = 2 blocks, mkfs.xfs): 77 / 39, further off; a second mount+unmount of the
  // container in daemon.Create (container.Mount(); defer container.Unmount(); prepareVolumes, 1.3-1.5 era): 79 / 40;
  // a smaller shortform literal area (an attr fork for SELinux's security.selinux: the review ran devicemapper with
  // OPTIONS=--selinux-enabled, turned off only for btrfs, and the init and committed layers are mounted with no
  // context= label): no change at any size, the directory blocks land in pool blocks already taken. Per role, profile=modern
  // meets the Linux 6.18 replay's chunks (run: init 42 vs 41, container 37 vs 37; commit: committed layer 37 vs 36,
  // image 34 vs 34, init 39 vs 38, container 4 vs 2), and docker-1.3 takes run 44 + 37 (34 kept: the container's
  // first writes free 3 blocks the thawed init had already copied) and commit 36 for the new layer; so the missing
  // 2-3 blocks per new device are 3.17/v4-specific and touch 64 KiB regions the model never touches (not the log,
  // which every first mount covers with 32-33 blocks whatever the era). Fixed on the way: a file created with its
  // data (the image's /bin/busybox) or right after a mkdir elsewhere went to the AG of the last directory changed,
  // not its own; in its directory's AG (xfs_ialloc_ag_select) the run takes 77, commit and the 6.18 rows unchanged.
  it.fails('direct-lvm xfs: commit +41 data blocks within one (model: 39, see the report)', () => {
    expect(Math.abs(direct['commit']!.data - 41)).toBeLessThanOrEqual(1);
  });

  it.fails('direct-lvm xfs: run +84 data blocks within one (model: 77, see the report)', () => {
    expect(Math.abs(direct['run']!.data - 84)).toBeLessThanOrEqual(1);
  });

  it('a 1 MiB dd instead of 64 KiB: +15 more data blocks per run (16 aligned pool blocks instead of 1), and +15 per commit', () => {
    const big = perStep({ profile: 'docker-1.3' }, { containers: 10, writeBytes: 1 << 20 });
    expect(big['run']!.data - loop['run']!.data).toBeCloseTo(15, 5);
    expect(big['commit']!.data - loop['commit']!.data).toBeCloseTo(15, 5);
    expect(big['run from commit']!.data).toBeCloseTo(loop['run from commit']!.data, 5);
  });

  it('4 containers instead of 10: the same cost per container (the cost is per new device)', () => {
    const four = perStep({ profile: 'docker-1.3' }, { containers: 4, writeBytes: 64 * 1024 });
    expect(Math.abs(four['run']!.data - loop['run']!.data)).toBeLessThanOrEqual(1);
    expect(Math.abs(four['commit']!.data - loop['commit']!.data)).toBeLessThanOrEqual(1);
  });

  it('512K pool blocks: each scattered 4 KiB write takes a bigger block, so fewer blocks but more bytes', () => {
    const big = perStep({ profile: 'docker-1.3', blocksize: '512K' }); // in 64 KiB units
    expect(big['run']!.data / 8).toBeLessThan(loop['run']!.data);
    expect(big['run']!.data).toBeGreaterThan(loop['run']!.data);
  });
});

describe('devicemapper: calibration, profile=modern (kernel-6.18-blog-experiment.md, 64K thin chunks taken per step)', () => {
  const within = (got: number, want: number) => expect(Math.abs(got - want) / want).toBeLessThanOrEqual(0.15);

  /** Pool blocks taken per step (takenDataBytes) through the core's modern order: init Put before the container snapshot, as the 6.18 replay did. */
  const taken = (options: Record<string, string>) =>
    runExperiment(devicemapper, options, busybox()).steps.map(st => st.perContainer['takenDataBytes']! / BLOCK);

  it('ext4: run 18, commit 16, run from commit 15 chunks, within 15% (jbd2 goes on from the saved journal head: JBD2_CYCLE_RECORD)', () => {
    const [run, commit, rfc] = taken({ profile: 'modern', fs: 'ext4', discard: 'on' });
    within(run!, 1152 / 64);
    within(commit!, 1024 / 64);
    within(rfc!, 960 / 64);
  });

  it('ext4: without JBD2_CYCLE_RECORD (every mount restarts the log at its first block) the journal takes one chunk per device, not two or three', () => {
    const journalChunks = (cycle: boolean) => {
      const saved = profiles.modern.ext4;
      (profiles.modern as { ext4: typeof saved }).ext4 = { ...saved, journalCycleRecord: cycle };
      try {
        const { host: h, store } = host({ profile: 'modern', fs: 'ext4' });
        h.loadImage('img', [tree({ '/a': 'x' })]);
        for (let i = 0; i < 3; i++) h.run(`c${i}`, 'img');
        h.usage();
        const inits = [...store.live].filter(d => d.name.endsWith('-init'));
        return inits.map(d => d.poolBlocks.counts.get('journal') ?? 0);
      } finally {
        (profiles.modern as { ext4: typeof saved }).ext4 = saved;
      }
    };
    expect(journalChunks(false)).toEqual([1, 1, 1]);
    for (const n of journalChunks(true)) expect(n).toBeGreaterThan(1);
  });

  it('xfs: run 78, commit 110, run from commit 73.9 chunks, within 15%', () => {
    const [run, commit, rfc] = chunkEvents({ profile: 'modern', fs: 'xfs', discard: 'on' });
    within(run!, 4992 / 64);
    within(commit!, 7040 / 64);
    within(rfc!, 4729.6 / 64);
  });
});

describe('devicemapper: idle time on mounted filesystems', () => {
  const mountedWith = (fs: string) => {
    const { host: h, store } = host({ profile: 'docker-1.3', fs });
    h.loadImage('img', [tree({ '/a': 'x' })]);
    const c = h.run('c', 'img', false);
    writeFile(c.sys, '/b', 'y');
    const dev = [...store.live].find(x => x.name === c.layer)!;
    const total = () => [...dev.writes.counts.values()].reduce((a, b) => a + b, 0);
    return { h, dev, total };
  };

  it('ext4: the running transaction commits after the 5 s commit interval, not before', () => {
    const { h, dev, total } = mountedWith('ext4');
    const before = total();
    h.idle(4);
    expect(total()).toBe(before);
    h.idle(5);
    expect(total()).toBeGreaterThan(before);
    expect(dev.writes.counts.get('journal')).toBeGreaterThan(0);
    const after = total();
    h.idle(60); // nothing new to commit
    expect(total()).toBe(after);
  });

  it('xfs: the log worker (30 s) forces the log, then covers it with two dummy records, then stays quiet', () => {
    const { h, dev, total } = mountedWith('xfs');
    const log = () => dev.writes.counts.get('log') ?? 0;
    const start = total();
    h.idle(29);
    expect(total()).toBe(start);
    h.idle(30); // force + push, first dummy
    expect(total()).toBeGreaterThan(start);
    const first = log();
    h.idle(30); // second dummy
    expect(log()).toBeGreaterThan(first);
    const covered = total();
    h.idle(120);
    expect(total()).toBe(covered);
  });
});
