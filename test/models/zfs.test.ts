import { describe, expect, it } from 'vitest';
import { zfs } from '../../models/zfs/index.js';
import type { Dataset } from '../../models/zfs/dataset.js';
import { blkBytes, metaAsize, type Blk } from '../../models/zfs/objset.js';
import { zfsParams } from '../../models/zfs/params.js';
import type { ZfsPool } from '../../models/zfs/pool.js';
import { vfs } from '../../models/vfs/index.js';
import type { SnapshotDriver } from '../../src/block/snapshot-driver.js';
import type { DriverModel } from '../../src/engine/driver.js';
import { resolveOptions } from '../../src/engine/drivers.js';
import { Host } from '../../src/engine/host.js';
import { loadImageSource } from '../../src/image/resolve.js';
import { runExperiment, type ExperimentResult } from '../../src/report/experiment.js';
import { O_CREAT, O_RDONLY, O_WRONLY, Syscalls } from '../../src/vfs/syscalls.js';
import { errnoOf, openClose, pwrite, readText, tree, writeFile, type TreeSpec } from '../support/world.js';

const ZFS = zfs as unknown as DriverModel;
const KiB = 1024;
const MiB = 1024 * 1024;

function zfsHost(options: Record<string, string> = {}): Host {
  return new Host(ZFS, resolveOptions(ZFS, options));
}

function pool(host: Host): ZfsPool {
  return (host.driver as SnapshotDriver<Dataset>).store as ZfsPool;
}

function dataset(host: Host, layer: string): Dataset {
  return pool(host).datasets.get(layer)!;
}

/** A host with image "img" and a container "c" (no init layer), synced. */
function world(spec: TreeSpec, options: Record<string, string> = {}) {
  const host = zfsHost(options);
  host.loadImage('img', [tree(spec)]);
  const c = host.run('c', 'img', false);
  host.usage();
  return { host, c, sys: c.sys };
}

/** The records (level-0 blocks) of the file at `path` in a layer. */
function records(host: Host, layer: string, path: string): Blk[] {
  const ds = dataset(host, layer);
  const ino = ds.volume.at(path)!.ino;
  return [...ds.os.objects.get(ino)!.l0.values()];
}

describe('zfs whole-record copy on write', () => {
  it('a 1-byte write into a 1 MiB file of a clone copies one 128 KiB record', () => {
    const { host, c, sys } = world({ '/big': { bytes: MiB } });
    const before = host.usage();
    host.meter.reset();
    pwrite(sys, '/big', 'x', 300 * KiB);
    expect(host.meter.copyUpBytes).toBe(128 * KiB);
    expect(host.meter.dataBytes).toBe(128 * KiB);
    const after = host.usage();
    expect(after.dataBytes - before.dataBytes).toBe(128 * KiB);
    expect(readText(sys, '/big').length).toBe(MiB);
    expect(sys.readFile('/big')[300 * KiB]).toBe('x'.charCodeAt(0));
    // the clone owns the new record; the image keeps its own
    const mine = records(host, c.layer, '/big');
    const image = records(host, host.images.get('img')!.layers[0]!, '/big');
    expect(mine.filter(b => !image.includes(b))).toHaveLength(1);
  });

  it('with recordsize=16K, one 16 KiB record', () => {
    const { host, sys } = world({ '/big': { bytes: MiB } }, { recordsize: '16K' });
    const before = host.usage();
    host.meter.reset();
    pwrite(sys, '/big', 'x', 300 * KiB);
    expect(host.meter.copyUpBytes).toBe(16 * KiB);
    expect(host.usage().dataBytes - before.dataBytes).toBe(16 * KiB);
  });

  it('rewrites a record it already owns without copying, and frees the old one', () => {
    const { host, sys } = world({ '/big': { bytes: MiB } });
    pwrite(sys, '/big', 'x', 0);
    host.usage();
    const before = host.usage();
    host.meter.reset();
    pwrite(sys, '/big', 'y', 1);
    expect(host.meter.copyUpBytes).toBe(0);
    // read-modify-write: the whole record is written again ...
    expect(host.meter.dataBytes).toBe(128 * KiB);
    // ... and the one it replaces (born after the origin) is freed
    expect(host.usage().dataBytes).toBe(before.dataBytes);
  });

  it('copies a record once per txg however many writes land in it', () => {
    const { host, sys } = world({ '/big': { bytes: MiB } });
    host.meter.reset();
    for (let i = 0; i < 10; i++) pwrite(sys, '/big', 'z', 1000 + i);
    expect(host.meter.copyUpBytes).toBe(128 * KiB);
    expect(host.meter.dataBytes).toBe(128 * KiB);
  });

  it('does not copy a record a write covers whole', () => {
    const { host, sys } = world({ '/big': { bytes: MiB } });
    host.meter.reset();
    const f = sys.open('/big', O_WRONLY);
    sys.write(f, { source: { kind: 'zero' }, at: 0, length: 128 * KiB }, 128 * KiB);
    sys.close(f);
    expect(host.meter.copyUpBytes).toBe(0);
    expect(host.meter.dataBytes).toBe(128 * KiB);
  });
});

describe('zfs block sizes', () => {
  it('stores a file smaller than recordsize in one block of its size, allocated in sectors', () => {
    const { host, c, sys } = world({});
    writeFile(sys, '/tiny', 'abc');
    sys.close(sys.open('/mid', O_WRONLY | O_CREAT, 0o644));
    const f = sys.open('/mid', O_WRONLY);
    sys.write(f, { source: { kind: 'zero' }, at: 0, length: 100_000 }, 0);
    sys.close(f);
    host.usage();
    const [tiny] = records(host, c.layer, '/tiny');
    expect(tiny).toMatchObject({ lsize: 512, asize: 4096, copies: 1 });
    const [mid] = records(host, c.layer, '/mid');
    expect(mid).toMatchObject({ lsize: 100_352, asize: 102_400 });
  });

  it('uses full records once a file passes recordsize (the tail record is whole: compression is off)', () => {
    const { host, c, sys } = world({});
    const f = sys.open('/f', O_WRONLY | O_CREAT, 0o644);
    sys.write(f, { source: { kind: 'zero' }, at: 0, length: 200 * KiB }, 0);
    sys.close(f);
    host.usage();
    const recs = records(host, c.layer, '/f');
    expect(recs.map(r => r.lsize)).toEqual([128 * KiB, 128 * KiB]);
    const o = dataset(host, c.layer).os.objects.get(dataset(host, c.layer).volume.at('/f')!.ino)!;
    expect(o.nlevels).toBe(2);
    expect(o.ind[0]!.size).toBe(1);
  });

  it('grows a one-block file\'s block as it grows, and copies it if shared', () => {
    const { host, c, sys } = world({ '/small': 'x'.repeat(1000) });
    host.meter.reset();
    pwrite(sys, '/small', 'y'.repeat(5000), 1000);
    expect(host.meter.copyUpBytes).toBe(1024);
    host.usage();
    expect(records(host, c.layer, '/small').map(r => r.lsize)).toEqual([6144]);
  });
});

describe('zfs snapshots and clones', () => {
  it('a snapshot + clone costs no data and no dataset metadata, only MOS objects', () => {
    const host = zfsHost();
    host.loadImage('img', [tree({ '/big': { bytes: MiB }, '/etc/a': 'a' })]);
    const before = host.usage();
    host.run('c', 'img', false);
    const after = host.usage();
    expect(after.dataBytes).toBe(before.dataBytes);
    expect(after.datasetMetadataBytes).toBe(before.datasetMetadataBytes);
    expect(after.mosBytes).toBeGreaterThan(before.mosBytes!);
    expect(after.sharedBytes).toBe(before.referencedBytes);
  });

  it('frees, on destroying every container and image, everything the clones wrote', () => {
    const host = zfsHost();
    const empty = host.usage();
    host.loadImage('img', [tree({ '/big': { bytes: MiB }, '/etc/a': 'a', '/d/e/f': 'f' })]);
    for (const name of ['a', 'b', 'c']) {
      const { sys } = host.run(name, 'img');
      pwrite(sys, '/big', 'x', 5);
      writeFile(sys, `/new-${name}`, 'n'.repeat(50_000));
      sys.unlink('/etc/a');
      sys.rename('/d', '/d2');
      host.stop(name);
    }
    host.commit('a', 'img2');
    host.run('r', 'img2');
    for (const name of ['a', 'b', 'c', 'r']) host.rm(name);
    host.rmi('img2');
    host.rmi('img');
    const end = host.usage();
    expect(end.dataBytes).toBe(0);
    expect(end.datasetMetadataBytes).toBe(empty.datasetMetadataBytes);
    expect(pool(host).datasets.size).toBe(1);
    // the MOS keeps only what never shrinks: the docker dataset's child map went fatzap (64-hex names)
    const p = zfsParams('modern', 128 * KiB);
    expect(end.mosBytes! - empty.mosBytes!).toBeLessThanOrEqual(2 * p.poolMetadataCopies * p.zap.fatBlockBytes);
  });

  it('keeps what a snapshot holds when its origin overwrites it, and frees it with the snapshot (birth-time rule)', () => {
    const host = zfsHost();
    const d = host.driver as SnapshotDriver<Dataset>;
    d.createLayer('base', undefined);
    writeFile(new Syscalls(d.mount('base')), '/f', 'a'.repeat(300 * KiB));
    d.release('base');
    const u0 = host.usage();
    d.createLayer('child', 'base');
    const sys = new Syscalls(d.mount('base'));
    pwrite(sys, '/f', 'b', 10);
    d.release('base');
    const u1 = host.usage();
    // the old record stays for the snapshot the clone hangs from; a new one is written
    expect(u1.dataBytes - u0.dataBytes).toBe(128 * KiB);
    const base = dataset(host, 'base');
    expect(base.usedBySnapshots()).toBeGreaterThanOrEqual(128 * KiB);
    expect(base.snapshots).toHaveLength(1);
    d.removeLayer('child');
    const u2 = host.usage();
    expect(base.snapshots).toHaveLength(0);
    expect(u2.dataBytes).toBe(u0.dataBytes);
    expect(base.usedBySnapshots()).toBe(0);
  });
});


/** Every live dataset block, found by walking heads and snapshots. */
function reachable(p: ZfsPool): Set<Blk> {
  const all = new Set<Blk>();
  for (const ds of p.datasets.values()) {
    for (const b of ds.os.blocks()) all.add(b);
    for (const s of ds.snapshots) for (const b of s.blocks) all.add(b);
  }
  return all;
}

describe('zfs space accounting', () => {
  it('adds up: the blocks each dataset wrote (used) sum to the pool, and equal the blocks reachable from heads and snapshots', () => {
    const host = zfsHost();
    host.loadImage('img', [tree({ '/big': { bytes: 3 * MiB }, '/etc/a': 'a', '/d/e/f': 'f', '/x': { bytes: 40_000 } })]);
    for (const name of ['a', 'b', 'c']) {
      const { sys } = host.run(name, 'img');
      pwrite(sys, '/big', 'x', 5 + 200 * KiB * name.charCodeAt(0));
      writeFile(sys, `/new-${name}`, 'n'.repeat(70_000));
      sys.truncate('/x', 10);
      sys.setxattr('/etc/a', 'user.k', new TextEncoder().encode('v'.repeat(300)));
      host.stop(name);
    }
    host.commit('a', 'img2');
    host.run('r', 'img2');
    host.rm('b');
    const u = host.usage();
    const p = pool(host);
    let used = 0;
    for (const ds of p.datasets.values()) used += ds.usedByDataset + ds.usedBySnapshots();
    expect(used).toBe(u.dataBytes + u.datasetMetadataBytes!);
    let walked = 0;
    for (const b of reachable(p)) walked += blkBytes(b);
    expect(walked).toBe(u.dataBytes + u.datasetMetadataBytes!);
    expect(u.dfUsedBytes).toBe(u.dataBytes + u.metadataBytes);
    expect(u.referencedBytes! - u.usedByDatasetBytes!).toBe(u.sharedBytes);
  });

  it('keeps usage()\'s sums running as a walk of every dataset and dead list adds them up, synced or not', () => {
    const host = zfsHost();
    host.loadImage('img', [tree({ '/big': { bytes: 3 * MiB }, '/etc/a': 'a', '/d/e/f': 'f', '/x': { bytes: 40_000 } })]);
    const p = pool(host);
    const check = (settle: boolean) => {
      const u = host.usage(settle);
      const t = p.walkTotals();
      expect([u.referencedBytes, u.usedByDatasetBytes, u.usedBySnapshotsBytes, u.apparentBytes, u.snapshots]).toEqual([
        t.referenced,
        t.usedByDataset,
        t.usedBySnapshots,
        t.apparent,
        t.snapshots,
      ]);
    };
    for (const name of ['a', 'b', 'c']) {
      const { sys } = host.run(name, 'img');
      pwrite(sys, '/big', 'x', 5 + 200 * KiB * name.charCodeAt(0));
      check(false);
      writeFile(sys, `/new-${name}`, 'n'.repeat(70_000));
      sys.truncate('/x', 10);
      sys.unlink('/etc/a');
      sys.symlink('t'.repeat(400), '/s');
      check(false);
      host.stop(name);
      check(true);
    }
    host.commit('a', 'img2');
    check(false);
    const { sys } = host.run('r', 'img2');
    sys.truncate('/big', 0);
    check(false);
    host.rm('b');
    check(true);
    for (const name of ['a', 'c', 'r']) host.rm(name);
    host.rmi('img2');
    check(false);
    expect(p.walkTotals().usedBySnapshots).toBe(0);
    expect(host.usage().referencedBytes).toBeGreaterThan(0);
  });
});

describe('zfs POSIX semantics through a Host', () => {
  const BASE: TreeSpec = {
    '/etc/passwd': 'root:x:0:0::/root:/bin/sh\n',
    '/data/a': 'aaaa',
    '/data/sub/b': 'bbbb',
    '/links/one': 'linked',
    '/links/two': { link: '/links/one' },
    '/sym': { symlink: 'data/a' },
    '/empty/': '',
  };

  it('reads what it writes; renames directories; keeps hard links; no whiteouts', () => {
    const { host, c, sys } = world(BASE);
    pwrite(sys, '/data/a', 'XY', 1);
    expect(readText(sys, '/data/a')).toBe('aXYa');
    sys.rename('/data', '/moved');
    expect(readText(sys, '/moved/sub/b')).toBe('bbbb');
    expect(errnoOf(() => sys.stat('/data'))).toBe('ENOENT');
    pwrite(sys, '/links/one', 'L', 0);
    expect(readText(sys, '/links/two')).toBe('Linked');
    expect(sys.stat('/links/one').nlink).toBe(2);
    sys.unlink('/etc/passwd');
    const layer = host.driver.inspectLayer(c.layer) as { tree: { path: string; type: string }[] };
    expect(layer.tree.some(e => e.type === 'whiteout')).toBe(false);
    expect(layer.tree.some(e => e.path === '/etc/passwd')).toBe(false);
    expect(errnoOf(() => readText(sys, '/sym'))).toBe('ENOENT');
    expect(sys.readlink('/sym')).toBe('data/a');
  });

  it('never changes the image, and keeps two containers apart', () => {
    const { host, sys } = world(BASE);
    const imageLayer = host.images.get('img')!.layers[0]!;
    const other = host.run('d', 'img', false).sys;
    const before = JSON.stringify(host.driver.inspectLayer(imageLayer));
    writeFile(sys, '/data/a', 'mine');
    sys.unlink('/data/sub/b');
    sys.chmod('/etc/passwd', 0o600);
    host.usage();
    expect(JSON.stringify(host.driver.inspectLayer(imageLayer))).toBe(before);
    expect(readText(other, '/data/a')).toBe('aaaa');
    expect(readText(other, '/data/sub/b')).toBe('bbbb');
  });

  it('answers like vfs for the same operations', () => {
    const run = (m: DriverModel) => {
      const host = new Host(m, resolveOptions(m, {}));
      host.loadImage('img', [tree(BASE)]);
      const { sys } = host.run('c', 'img');
      const out: string[] = [];
      const step = (f: () => unknown) => out.push(errnoOf(f));
      step(() => sys.mkdir('/data/new', 0o755));
      step(() => writeFile(sys, '/data/new/f', 'hello'));
      step(() => sys.rename('/data/sub', '/data/new/sub'));
      step(() => sys.rmdir('/data/new'));
      step(() => sys.link('/data/a', '/empty/a2'));
      step(() => sys.truncate('/empty/a2', 2));
      step(() => sys.symlink('/nowhere', '/dangling'));
      step(() => openClose(sys, '/dangling', O_RDONLY));
      step(() => sys.unlink('/links/one'));
      for (const p of ['/data/a', '/data/new/f', '/data/new/sub/b', '/links/two', '/empty/a2']) out.push(`${p}=${errnoOf(() => readText(sys, p)) === 'ok' ? readText(sys, p) : 'absent'}`);
      out.push(JSON.stringify(sys.readdir('/data').sort()));
      return out;
    };
    expect(run(ZFS)).toEqual(run(vfs as unknown as DriverModel));
  });

  it('charges one ZAP lookup per path component', () => {
    const { host, sys } = world(BASE);
    host.meter.reset();
    sys.stat('/data/sub/b');
    expect(host.meter.lookups).toBe(3);
  });
});

describe('zfs on the 2014 experiment (busybox)', () => {
  const image = loadImageSource('builtin:busybox');
  const p = zfsParams('modern', 128 * KiB);
  const exp = (options: Record<string, string> = {}, spec = { containers: 10, writeBytes: 64 * KiB }): ExperimentResult =>
    runExperiment(ZFS, options, image, spec);
  const step = (r: ExperimentResult, name: string) => r.steps.find(s => s.step === name)!;

  it('grows by the dd\'s one block per run and per commit, and by metadata only for a run from a commit', () => {
    const r = exp();
    expect(step(r, 'run').perContainer.dataBytes).toBe(64 * KiB);
    expect(step(r, 'commit').perContainer.dataBytes).toBe(64 * KiB);
    expect(step(r, 'run from commit').perContainer.dataBytes).toBe(0);
    for (const s of r.steps) {
      expect(s.perContainer.metadataBytes).toBeGreaterThan(0);
      expect(s.perContainer.metadataBytes).toBeLessThan(MiB);
      expect(s.perContainer.dfUsedBytes).toBeCloseTo(s.perContainer.dataBytes + s.perContainer.metadataBytes, 6);
      expect(s.copyUpBytes).toBe(0);
    }
  });

  it('moves as the mechanism says for a 1 MiB dd: eight records and one indirect block (ditto)', () => {
    const small = exp();
    const big = exp({}, { containers: 10, writeBytes: MiB });
    const l1 = metaAsize(p, p.indirectBytes, 8 * p.blkptrBytes) * p.datasetMetadataCopies;
    for (const name of ['run', 'commit']) {
      expect(step(big, name).perContainer.dataBytes).toBe(MiB);
      expect(step(big, name).perContainer.metadataBytes - step(small, name).perContainer.metadataBytes).toBe(l1);
    }
    const pick = (r: ExperimentResult) => {
      const g = step(r, 'run from commit').perContainer;
      return [g.dataBytes, g.metadataBytes, g.dfUsedBytes];
    };
    expect(pick(big)).toEqual(pick(small));
  });

  it('moves as the mechanism says for recordsize=16K: the same data, plus an indirect block over the records', () => {
    const r = exp({ recordsize: '16K' });
    const small = exp();
    expect(step(r, 'run').perContainer.dataBytes).toBe(64 * KiB);
    const l1 = metaAsize(p, p.indirectBytes, 4 * p.blkptrBytes) * p.datasetMetadataCopies;
    expect(step(r, 'run').perContainer.metadataBytes - step(small, 'run').perContainer.metadataBytes).toBe(l1);
  });

  it('scales with the number of containers: 4 instead of 10', () => {
    const ten = exp();
    const four = exp({}, { containers: 4, writeBytes: 64 * KiB });
    for (const name of ['run', 'commit', 'run from commit']) expect(step(four, name).perContainer.dataBytes).toBe(step(ten, name).perContainer.dataBytes);
    const imageData = ten.final.dataBytes - 10 * 2 * 64 * KiB;
    expect(four.final.dataBytes).toBe(imageData + 4 * 2 * 64 * KiB);
    expect(ten.final.snapshots).toBe(10 * 5);
    expect(four.final.snapshots).toBe(4 * 5);
  });
});

describe('zfs options and structures', () => {
  it('takes recordsize as a power of two from 512 to 1M (128K for docker-1.3)', () => {
    expect(resolveOptions(ZFS, { recordsize: '1M' }).recordsize).toBe('1M');
    expect(() => resolveOptions(ZFS, { recordsize: '1M', profile: 'docker-1.3' })).toThrow(/recordsize/);
    expect(() => resolveOptions(ZFS, { recordsize: '96K' })).toThrow(/recordsize/);
    expect(() => resolveOptions(ZFS, { recordsize: '256' })).toThrow(/recordsize/);
    expect(() => resolveOptions(ZFS, { recordsize: 'big' })).toThrow(/recordsize/);
  });

  it('gives the meta-dnode enough levels for 2^48 objects: 6 with 128 KiB indirect blocks, 7 with 16 KiB', () => {
    const modern = world({}).host;
    const old = world({}, { profile: 'docker-1.3' }).host;
    const levels = (h: Host) => (h.driver.inspectLayer(h.containers.get('c')!.layer) as { device: { metaDnodeLevels: number } }).device.metaDnodeLevels;
    expect(levels(modern)).toBe(6);
    expect(levels(old)).toBe(7);
  });

  it('keeps a directory a microzap that grows by 512 bytes, and makes it a fatzap for a long name or past 128 KiB', () => {
    const { host, c, sys } = world({ '/d/': '', '/e/': '' });
    const zapOf = (path: string) => dataset(host, c.layer).os.objects.get(dataset(host, c.layer).volume.at(path)!.ino)!.zap!;
    for (let i = 0; i < 8; i++) writeFile(sys, `/d/f${i}`, '');
    expect(zapOf('/d').toJSON()).toEqual({ kind: 'microzap', entries: 8, blockBytes: 1024 });
    writeFile(sys, `/d/${'n'.repeat(50)}`, '');
    expect(zapOf('/d').micro).toBe(false);
    for (let i = 0; i < 2047; i++) sys.mkdir(`/e/${i}`, 0o755);
    expect(zapOf('/e').toJSON()).toEqual({ kind: 'microzap', entries: 2047, blockBytes: 128 * KiB });
    sys.mkdir('/e/one-more', 0o755);
    expect(zapOf('/e').micro).toBe(false);
    expect(readText(sys, `/d/${'n'.repeat(50)}`)).toBe('');
    expect(sys.readdir('/e')).toHaveLength(2048);
  });

  it('keeps xattrs in a hidden xattr directory with a file object per attribute (xattr=on)', () => {
    const { host, c, sys } = world({ '/f': 'x' });
    const ds = dataset(host, c.layer);
    const before = ds.os.objects.size;
    sys.setxattr('/f', 'user.a', new TextEncoder().encode('1'));
    sys.setxattr('/f', 'user.b', new TextEncoder().encode('2'));
    expect(ds.os.objects.size).toBe(before + 3);
    sys.removexattr('/f', 'user.a');
    expect(ds.os.objects.size).toBe(before + 2);
    sys.unlink('/f');
    expect(ds.os.objects.size).toBe(before - 1);
  });
});
