import { describe, expect, it } from 'vitest';
import { allModels } from '../../models/index.js';
import { runTrace } from '../../src/cli/run-trace.js';
import { loadImageSource } from '../../src/image/resolve.js';
import { parseTrace } from '../../src/trace/parse.js';
import type { TraceOp } from '../../src/trace/schema.js';
import {
  appendOnly,
  databasePages,
  dd,
  KiB,
  logAppend,
  manySmallFiles,
  metadataStorm,
  MiB,
  PACKAGE_DB_BYTES,
  packageInstall,
  patternTrace,
  randomOverwrite,
  rewriteWholeFile,
  sequentialWrite,
  sparseFileNames,
  sparseFiles,
  writePatterns,
} from '../../src/workload/generators.js';
import { flagsToString, toJsonl } from '../../src/workload/jsonl.js';
import { MODELS, replay } from './support.js';

const BUSYBOX = loadImageSource('builtin:busybox');

/** Every generator at a small size, as [name, (seed) => ops]. */
const GENERATORS: [string, (seed: number) => TraceOp[]][] = [
  ['dd', () => dd({ path: '/data/out', bs: 64 * KiB, count: 4, seek: 2 })],
  ['sequentialWrite', () => sequentialWrite({ path: '/data/seq', bytes: 300 * KiB })],
  ['randomOverwrite', seed => randomOverwrite({ path: '/data/big', fileBytes: MiB, writes: 50, seed, create: true, fsyncEvery: 10 })],
  ['appendOnly', () => appendOnly({ path: '/var/log/a.log', bytes: 10_000, writeBytes: 4096, fsyncEvery: 2 })],
  ['logAppend', () => logAppend({ lines: 100, fsyncEvery: 10 })],
  ['manySmallFiles', seed => manySmallFiles({ count: 120, dirWidth: 50, size: { mean: 8 * KiB }, seed })],
  ['rewriteWholeFile', () => rewriteWholeFile({ path: '/etc/app/db', bytes: 64 * KiB, times: 3, growBytes: 1000 })],
  ['rewriteWholeFile truncate', () => rewriteWholeFile({ path: '/etc/app/db', bytes: 64 * KiB, times: 2, via: 'truncate' })],
  ['metadataStorm', () => metadataStorm({ paths: ['/bin/busybox', '/bin'], kind: 'chmod', mode: 0o700 })],
  ['databasePages', seed => databasePages({ files: 3, fileBytes: 256 * KiB, writes: 100, seed })],
  ['sparseFiles', seed => sparseFiles({ big: false, phase: 'both', seed })],
  ['packageInstall dpkg', seed => packageInstall({ packages: 3, filesPerPackage: 12, seed, dbScale: 0.01 })],
  ['packageInstall rpm', seed => packageInstall({ packages: 3, filesPerPackage: 12, seed, manager: 'rpm', dbScale: 0.01 })],
  ['packageInstall rpm-sqlite', seed => packageInstall({ packages: 3, filesPerPackage: 12, seed, manager: 'rpm-sqlite', dbScale: 0.01 })],
];

describe.each(GENERATORS)('%s', (_name, gen) => {
  it('is deterministic and parses back from its JSONL', () => {
    const ops = gen(7);
    expect(gen(7)).toEqual(ops);
    expect(parseTrace(toJsonl(ops)).map(l => l.op)).toEqual(JSON.parse(JSON.stringify(ops)));
  });

  it.each(MODELS)('replays on %s with every op succeeding', driver => {
    const { results } = replay(driver, BUSYBOX, gen(7));
    // dpkg's first checkpoint unlinks a status-old that is not there yet, as real dpkg does (ENOENT)
    const failures = results.filter(r => r.outcome !== 'ok' && !(r.op === 'unlink' && r.outcome === 'ENOENT'));
    expect(failures).toEqual([]);
  });
});

describe('what the generators leave', () => {
  it('seeded generators differ by seed', () => {
    for (const [, gen] of GENERATORS.filter(([n]) => /random|many|database|package/i.test(n))) expect(gen(1)).not.toEqual(gen(2));
  });

  it('dd: open O_WRONLY|O_CREAT, truncate at seek, count writes, as `dd if=/dev/zero`', () => {
    const ops = dd({ path: '/out', bs: 4096, count: 2, seek: 1 });
    expect(ops).toEqual([
      { op: 'open', path: '/out', flags: 0o101, mode: 0o666, fd: 'dd' },
      { op: 'truncate', path: '/out', size: 4096 },
      { op: 'write', fd: 'dd', offset: 4096, length: 4096, fill: 'zero' },
      { op: 'write', fd: 'dd', offset: 8192, length: 4096, fill: 'zero' },
      { op: 'close', fd: 'dd' },
    ]);
    expect(toJsonl(ops).split('\n')[0]).toBe('{"op":"open","path":"/out","flags":"O_WRONLY|O_CREAT","mode":"0666","fd":"dd"}');
    const { sys } = replay('overlay2', BUSYBOX, dd({ path: '/a/b/out', bs: 64 * KiB, count: 4, seek: 2 }));
    expect(sys.stat('/a/b/out').size).toBe(6 * 64 * KiB);
  });

  it.each(['overlay2', 'vfs'])('on %s: the sizes each generator promises', driver => {
    const ops = [
      ...logAppend({ path: '/var/log/x.log', lines: 10, lineBytes: 100 }),
      ...databasePages({ dir: '/db', files: 2, fileBytes: 64 * KiB, writes: 20, logEvery: 5, logWriteBytes: 1000 }),
      ...sparseFiles({ dir: '/sparse', big: false }),
      ...manySmallFiles({ dir: '/small', count: 30, size: 1000, dirWidth: 10 }),
      ...rewriteWholeFile({ path: '/re/db', bytes: 5000, times: 2, growBytes: 100 }),
      ...randomOverwrite({ path: '/db/datafile0', fileBytes: 64 * KiB, writes: 5 }),
      ...metadataStorm({ paths: ['/re/db'], kind: 'chown', uid: 5, gid: 6 }),
    ];
    const { sys } = replay(driver, BUSYBOX, ops);
    expect(sys.stat('/var/log/x.log').size).toBe(1000);
    expect(sys.stat('/db/datafile0').size).toBe(64 * KiB);
    expect(sys.stat('/db/redo.log').size).toBe(4000);
    for (const f of sparseFileNames(false)) expect(sys.stat(`/sparse/${f.name}`).size).toBe(f.size);
    expect(sys.readdir('/small').filter(n => !n.startsWith('.')).sort()).toEqual(['d0', 'd1', 'd2']);
    expect(sys.stat('/small/d2/f29').size).toBe(1000);
    expect(sys.stat('/re/db')).toMatchObject({ size: 5100, uid: 5, gid: 6 });
    expect(sys.readdir('/re').filter(n => !n.startsWith('.'))).toEqual(['db']);
  });

  it('sparseFiles follows overlay/066: hole, data, ..., data, hole with iosize data runs', () => {
    const ops = sparseFiles({ big: false });
    const w = ops.filter(o => o.op === 'write' && o.fd === 'sparse2');
    expect(w.map(o => (o as { offset: number }).offset / KiB)).toEqual([1, 3, 5, 7]);
    expect(ops.filter(o => o.op === 'truncate').map(o => (o as { size: number }).size / KiB)).toEqual([4, 4096, ...[1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048].map(k => 10 * k)]);
    const copyup = sparseFiles({ phase: 'copyup' });
    expect(copyup.filter(o => o.op === 'open')).toHaveLength(16);
  });

  it('dpkg: status rewritten whole at each checkpoint (status-new, link to status-old, rename), journal, dpkg.log append', () => {
    const ops = packageInstall({ packages: 2, filesPerPackage: 3, seed: 1 });
    const renames = ops.filter(o => o.op === 'rename').map(o => `${(o as { from: string }).from} -> ${(o as { to: string }).to}`);
    expect(renames).toContain('/var/lib/dpkg/status-new -> /var/lib/dpkg/status');
    expect(renames).toContain('/usr/bin/pkg0/pkg00.dpkg-new -> /usr/bin/pkg0/pkg00');
    expect(renames).toContain('/var/lib/dpkg/updates/tmp.i -> /var/lib/dpkg/updates/0000');
    expect(renames).toContain('/var/cache/debconf/templates.dat-new -> /var/cache/debconf/templates.dat');
    expect(ops).toContainEqual({ op: 'link', from: '/var/lib/dpkg/status', to: '/var/lib/dpkg/status-old' });
    const statusWrites = ops.filter(o => o.op === 'write' && o.fd === 'status-new').map(o => (o as { length: number }).length);
    expect(statusWrites).toEqual([PACKAGE_DB_BYTES.dpkgStatusOld, PACKAGE_DB_BYTES.dpkgStatus]);
    const { sys } = replay('overlay2', BUSYBOX, ops);
    expect(sys.stat('/var/lib/dpkg/status').size).toBe(PACKAGE_DB_BYTES.dpkgStatus);
    expect(sys.stat('/var/lib/dpkg/status-old').size).toBe(PACKAGE_DB_BYTES.dpkgStatusOld);
    expect(sys.stat('/var/cache/debconf/templates.dat').size).toBe(PACKAGE_DB_BYTES.debconfTemplates);
    expect(sys.stat('/var/log/dpkg.log').size).toBe(PACKAGE_DB_BYTES.dpkgLog + 8 * 60);
    expect(sys.readdir('/var/lib/dpkg/updates').filter(n => !n.startsWith('.'))).toEqual([]);
    expect(sys.stat('/usr/bin/pkg1/pkg10').mode & 0o777).toBe(0o755);
  });

  it('dpkg over an image that already holds the databases: each rewrite copies them up on overlay2', () => {
    const seed = packageInstall({ packages: 0, dbScale: 0.1 });
    const install = packageInstall({ packages: 1, filesPerPackage: 2, dbScale: 0.1, seedDatabases: false, aptCaches: false });
    const text = toJsonl([
      { op: 'image', name: 'base', from: 'builtin:busybox' },
      { op: 'run', container: 'b', image: 'base' },
      ...seed,
      { op: 'commit', container: 'b', image: 'debian' },
      { op: 'run', container: 'c', image: 'debian' },
      ...install,
    ]);
    const report = runTrace({ text, file: 't', models: allModels.filter(m => m.name === 'overlay2'), options: {}, loadImage: loadImageSource });
    const copyUp = report.drivers[0]!.results.reduce((t, r) => t + r.cost.copyUpBytes, 0);
    // the status file (for its hard link) and the debconf templates (renamed) come up from the image
    expect(copyUp).toBeGreaterThanOrEqual(Math.round(PACKAGE_DB_BYTES.dpkgStatusOld * 0.1));
  });

  it('rpm: Packages grows by header pages, indexes get page writes, files renamed from PATH;XXXXXXXX', () => {
    const ops = packageInstall({ packages: 2, filesPerPackage: 4, manager: 'rpm', dbScale: 0.01 });
    expect(ops.some(o => o.op === 'rename' && /;[0-9a-f]{8}$/.test(o.from))).toBe(true);
    const { sys } = replay('vfs', BUSYBOX, ops);
    expect(sys.stat('/var/lib/rpm/Packages').size).toBe(Math.round(PACKAGE_DB_BYTES.rpmPackages * 0.01) + 2 * 4096);
    const sqlite = replay('vfs', BUSYBOX, packageInstall({ packages: 2, filesPerPackage: 4, manager: 'rpm-sqlite', dbScale: 0.01 })).sys;
    expect(sqlite.stat('/usr/lib/sysimage/rpm/rpmdb.sqlite').size).toBe(Math.round(PACKAGE_DB_BYTES.rpmdbSqlite * 0.01));
    expect(sqlite.stat('/usr/lib/sysimage/rpm/rpmdb.sqlite-wal').size).toBe(0);
  });

  it('writePatterns: each pattern runs as a whole trace (image, builder, commit, container) on every model', () => {
    for (const p of writePatterns(0.01)) {
      const report = runTrace({ text: toJsonl(patternTrace(p)), file: p.name, models: allModels, options: {}, loadImage: loadImageSource });
      for (const d of report.drivers) {
        expect(d.results.filter(r => r.outcome !== 'ok'), `${p.name} on ${d.driver}`).toEqual([]);
        expect(d.marks.map(m => m.label)).toEqual(['before', 'after']);
      }
    }
  });

  it('flagsToString writes every open flag the trace language has', () => {
    expect(flagsToString(0)).toBe('O_RDONLY');
    expect(flagsToString(0o2 | 0o100 | 0o200 | 0o1000 | 0o2000 | 0o200000 | 0o400000)).toBe('O_RDWR|O_CREAT|O_EXCL|O_TRUNC|O_APPEND|O_DIRECTORY|O_NOFOLLOW');
    expect(() => flagsToString(0o40000)).toThrow(/no trace form/);
  });

  it('refuses relative paths and bad sizes with a message naming the option', () => {
    expect(() => dd({ path: 'out', bs: 1, count: 1 })).toThrow(/dd: path 'out' must be absolute/);
    expect(() => dd({ path: '/out', bs: 0, count: 1 })).toThrow(/dd: bs must be a positive integer/);
  });
});
