import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { allModels } from '../../models/index.js';
import { formatBytes } from '../../src/report/format.js';
import { CSV_COLUMNS, checkpoints } from '../../src/predict/format.js';
import { CHART_IDS } from '../../src/predict/html.js';
import type { DriverModel, StorageDriver } from '../../src/engine/driver.js';
import { loadImageSource } from '../../src/image/resolve.js';
import { predictDriver, type PredictReport } from '../../src/predict/simulate.js';
import { loadWorkload } from '../../src/predict/workload.js';
import { parseSize } from '../../src/predict/units.js';
import { generatorOps } from '../../src/predict/workload.js';
import { capture, findAll, IMAGE, parseStrictHtml } from './support.js';

const dir = mkdtempSync(join(tmpdir(), 'layersim-predict-'));
const N = 5;
const base = ['predict', '--image', IMAGE, '--workload', 'dd:bs=64k,count=1', '--containers', String(N)];
const DRIVERS = allModels.map(m => m.name);

afterEach(() => vi.restoreAllMocks());

type Json = PredictReport & { rules: { rule: string; passed: boolean }[] };

describe('layersim predict: one run, three formats', () => {
  let json: Json;
  let table: string;
  let csv: string;
  beforeAll(() => {
    const j = capture([...base, '--json']);
    expect(j.status).toBe(0);
    json = JSON.parse(j.out) as Json;
    const t = capture(base);
    expect(t.status).toBe(0);
    table = t.out;
    const c = capture([...base, '--csv']);
    expect(c.status).toBe(0);
    csv = c.out;
  });

  it('runs every driver, N containers each, ranked by final df', () => {
    expect(json.drivers.map(d => d.driver)).toEqual(DRIVERS);
    for (const d of json.drivers) {
      expect(d.series.map(p => p.container)).toEqual([1, 2, 3, 4, 5]);
      expect(d.growth.dfUsedBytes).toBe(d.final.dfUsedBytes - d.baseline.dfUsedBytes);
      // every container wrote 64 KiB: docker ps -s totals 64 KiB per container on every driver
      expect(d.series.map(p => p.sizeRwBytes)).toEqual([1, 2, 3, 4, 5].map(n => n * 65536));
      expect(d.costs.byOp.find(c => c.key === 'write')?.dataBytes).toBeGreaterThanOrEqual(N * 65536);
      expect(d.costs.byOp.find(c => c.key === 'docker run')?.count).toBe(N);
      expect(d.costs.byPrefix.map(c => c.key)).toContain('/data1');
      expect(d.timeline.length).toBeGreaterThanOrEqual(2 * N);
    }
    const dfs = json.ranking.map(r => r.dfUsedBytes);
    expect(dfs).toEqual([...dfs].sort((a, b) => a - b));
    expect(json.ranking.map(r => r.rank)).toEqual(DRIVERS.map((_, i) => i + 1));
    // devicemapper's pool is in the figures as docker info shows it
    const dm = json.drivers.find(d => d.driver === 'devicemapper')!;
    expect(dm.final.dockerInfo?.dataSpaceUsedBytes).toBe(dm.final.dataBytes);
  });

  it('the table carries the JSON figures (formatted)', () => {
    const lines = table.split('\n');
    for (const d of json.drivers) {
      const row = lines.find(l => l.trim().split(/\s{2,}/)[1] === d.driver)!;
      expect(row, d.driver).toBeDefined();
      const cells = row.trim().split(/\s{2,}/);
      const rank = json.ranking.find(r => r.driver === d.driver)!.rank;
      expect(cells.slice(0, 10)).toEqual([
        String(rank),
        d.driver,
        formatBytes(d.final.dfUsedBytes),
        formatBytes(d.growth.dfUsedBytes),
        formatBytes(d.final.dataBytes),
        formatBytes(d.final.metadataBytes),
        formatBytes(d.final.sizeRwBytes),
        formatBytes(d.final.pageCacheBytes),
        formatBytes(d.final.copyUpBytes),
        formatBytes(d.final.writtenBytes),
      ]);
    }
    // the growth table: df growth after 1, 2, 5 containers
    const head = lines.findIndex(l => l.startsWith('containers'));
    expect(lines[head]!.trim().split(/\s+/)).toEqual(['containers', ...DRIVERS]);
    checkpoints(N).forEach((n, i) => {
      const cells = lines[head + 2 + i]!.trim().split(/\s{2,}/);
      expect(cells).toEqual([String(n), ...json.drivers.map(d => formatBytes(d.series[n - 1]!.dfUsedBytes - d.baseline.dfUsedBytes))]);
    });
  });

  it('the CSV carries every series figure exactly, one row per driver x container', () => {
    const [header, ...rows] = csv.trim().split('\n');
    expect(header!.split(',')).toEqual([...CSV_COLUMNS]);
    expect(rows).toHaveLength(DRIVERS.length * N);
    for (const row of rows) {
      const cells = row.split(',');
      const rec = Object.fromEntries(CSV_COLUMNS.map((c, i) => [c, cells[i]!]));
      const d = json.drivers.find(x => x.driver === rec['driver'])!;
      const p = d.series[Number(rec['container']) - 1]!;
      for (const k of ['timeSeconds', 'dataBytes', 'metadataBytes', 'dfUsedBytes', 'allocatedBytes', 'apparentBytes', 'sizeRwBytes', 'pageCacheBytes', 'copyUpBytes', 'writtenBytes'] as const) {
        expect(Number(rec[k]), `${d.driver} ${p.container} ${k}`).toBe(p[k]);
      }
      expect(rec['dockerInfoDataSpaceUsedBytes']).toBe(p.dockerInfo ? String(p.dockerInfo.dataSpaceUsedBytes) : '');
    }
  });
});

describe('--fail-if', () => {
  const small = ['predict', '--image', 'builtin:busybox', '--workload', 'dd:bs=64k,count=1', '--containers', '2', '--drivers', 'overlay2,vfs', '--no-progress'];

  it('passes when no driver meets a rule', () => {
    const r = capture([...small, '--fail-if', 'overlay2.dataBytes>2GiB', '--fail-if', '*.growth.dfUsedBytes >= 1 TB', '--json']);
    expect(r.status).toBe(0);
    expect((JSON.parse(r.out) as Json).rules.map(x => x.passed)).toEqual([true, true]);
  });

  it('fails (exit 1) naming the rule and the drivers that met it', () => {
    const r = capture([...small, '--fail-if', 'overlay2.dataBytes>2GiB', '--fail-if', '*.growth.sizeRwBytes>100KiB']);
    expect(r.status).toBe(1);
    expect(r.err).toContain("--fail-if '*.growth.sizeRwBytes>100KiB' failed");
    expect(r.err).toContain('overlay2 growth.sizeRwBytes = 128 KiB');
    expect(r.err).toContain('vfs growth.sizeRwBytes');
    expect(r.err).not.toContain('overlay2.dataBytes>2GiB');
  });

  it('compares with SI and binary units at the boundary', () => {
    // 2 containers x 64 KiB = 131072 B of SizeRw
    expect(capture([...small, '--fail-if', 'vfs.sizeRwBytes>=131072B']).status).toBe(1);
    expect(capture([...small, '--fail-if', 'vfs.sizeRwBytes>128KiB']).status).toBe(0);
    expect(capture([...small, '--fail-if', 'vfs.sizeRwBytes>131KB']).status).toBe(1);
    expect(capture([...small, '--fail-if', 'vfs.sizeRwBytes<132KB']).status).toBe(1);
    expect(capture([...small, '--fail-if', 'vfs.sizeRwBytes<=131071']).status).toBe(0);
  });

  it.each([
    ['overlay2.dataBytes=>2GiB', 'expected DRIVER.METRIC OP SIZE'],
    ['overlay2.dataBytes>2 parsecs', 'is not a size'],
    ['overlay2.bogus>1GB', "unknown metric 'bogus'"],
    ['nosuch.dataBytes>1B', "unknown driver 'nosuch'"],
    ['btrfs.dataBytes>1B', 'btrfs is not among the drivers run'],
    ['dataBytes>1GB', 'expected DRIVER.METRIC OP SIZE'],
  ])('a malformed rule %s exits 2 before anything runs', (rule, message) => {
    const r = capture([...small, '--fail-if', rule]);
    expect(r.status).toBe(2);
    expect(r.err).toContain(message);
    expect(r.out).toBe('');
  });

  it('parses sizes', () => {
    expect(parseSize('2GiB')).toBe(2 * 2 ** 30);
    expect(parseSize('1.5 GB')).toBe(1.5e9);
    expect(parseSize('12kB')).toBe(12000);
    expect(parseSize('4096')).toBe(4096);
    expect(parseSize('3 MB ')).toBe(3e6);
    expect(parseSize('1GX')).toBeUndefined();
    expect(parseSize('-1GB')).toBeUndefined();
  });
});

describe('page cache', () => {
  it('union drivers hold one copy of the image pages for N containers; the others one per container', () => {
    const file = join(dir, 'read.jsonl');
    writeFileSync(file, '{"op":"image","name":"x","from":"builtin:busybox"}\n{"op":"run","container":"c","image":"x"}\n{"op":"read","path":"/bin/busybox","length":4096}\n');
    const run = (n: number) => {
      const r = capture(['predict', '--image', IMAGE, '--workload', file, '--containers', String(n), '--exec', 'none', '--json']);
      expect(r.status).toBe(0);
      expect(r.err).toContain('ignored');
      return JSON.parse(r.out) as Json;
    };
    const one = run(1);
    const six = run(6);
    for (const d of six.drivers) {
      const first = one.drivers.find(x => x.driver === d.driver)!.final.pageCacheBytes;
      expect(first).toBeGreaterThan(1_000_000);
      if (d.kind === 'union') expect(d.final.pageCacheBytes, d.driver).toBe(first);
      else expect(d.final.pageCacheBytes, d.driver).toBe(6 * first);
      expect(d.series.map(p => p.pageCacheBytes)).toEqual([1, 2, 3, 4, 5, 6].map(n => (d.kind === 'union' ? first : n * first)));
    }
    expect(six.drivers.filter(d => d.kind === 'union').map(d => d.driver).sort()).toEqual(['aufs', 'overlay2']);
  });
});

describe("docker ps -s in a prediction", () => {
  it('is read once the sweep is over, so its walk and mounts are in none of the disk figures', () => {
    for (const name of ['devicemapper', 'btrfs', 'zfs', 'overlay2']) {
      const model = allModels.find(m => m.name === name)!;
      const calls: string[] = [];
      // the model's own driver, with its size readings and settled usage readings logged in order
      const logged: DriverModel = {
        ...model,
        create: (options, env) => {
          const driver = model.create(options, env);
          return new Proxy(driver, {
            get(target, key, receiver) {
              const v = Reflect.get(target, key, receiver) as unknown;
              if (typeof v !== 'function') return v;
              return (...args: unknown[]) => {
                if (key === 'diffSize') calls.push('diffSize');
                if (key === 'usage' && args[0] !== false) calls.push('usage');
                return (v as (...a: unknown[]) => unknown).apply(target, args);
              };
            },
          }) as StorageDriver;
        },
      };
      const d = predictDriver(logged, {
        image: { source: 'builtin:busybox', trees: loadImageSource('builtin:busybox') },
        workload: loadWorkload('dd:bs=64k,count=1'),
        models: [logged],
        options: {},
        containers: 3,
        schedule: { kind: 'all' },
        exec: '/bin/sh',
      });
      expect(d.series.map(p => p.sizeRwBytes), name).toEqual([1, 2, 3].map(n => n * 65536));
      const lastUsage = calls.lastIndexOf('usage');
      expect(lastUsage, name).toBeGreaterThan(0);
      expect(calls.slice(0, lastUsage), name).not.toContain('diffSize');
    }
  });
});

describe('schedule and workloads', () => {
  it('commit-every:K commits every K-th container and runs later ones from the commit', () => {
    const r = capture(['predict', '--image', 'builtin:busybox', '--workload', 'dd:bs=64k,count=1', '--containers', '6', '--schedule', 'commit-every:2', '--drivers', 'overlay2', '--json']);
    expect(r.status).toBe(0);
    const d = (JSON.parse(r.out) as Json).drivers[0]!;
    expect(d.series.map(p => p.image)).toEqual(['image', 'image', 'commit1', 'commit1', 'commit2', 'commit2']);
    expect(d.costs.byOp.find(c => c.key === 'docker commit')?.count).toBe(3);
    // a container run from a commit overwrites /data1: overlay2 copies the committed 64 KiB up first (O_TRUNC: 0 bytes)
    expect(d.timeline.filter(t => t.label === 'docker commit')).toHaveLength(3);
  });

  it('rejects lifecycle lines of a trace with exit 2, naming the line', () => {
    const file = join(dir, 'commit.jsonl');
    writeFileSync(file, '{"op":"writeFile","path":"/a","data":"x"}\n{"op":"commit","container":"c","image":"i"}\n');
    const r = capture(['predict', '--image', 'builtin:busybox', '--workload', file, '--containers', '1']);
    expect(r.status).toBe(2);
    expect(r.err).toContain(`${file}:2: commit: predict replays the file ops of one container`);
  });

  it('unusable input exits 2', () => {
    const w = ['--image', 'builtin:busybox', '--containers', '1'];
    expect(capture(['predict', ...w, '--workload', 'dd:bs=lots']).err).toContain('not a size');
    expect(capture(['predict', ...w, '--workload', 'dd:bogus=1']).status).toBe(2);
    expect(capture(['predict', ...w, '--workload', 'nosuchfile.jsonl']).err).toContain('not a generator spec');
    expect(capture(['predict', ...w, '--workload', 'dd', '--drivers', 'ext9']).err).toContain("unknown driver 'ext9'");
    expect(capture(['predict', ...w, '--workload', 'dd', '--schedule', 'commit-every:0']).status).toBe(2);
    expect(capture(['predict', ...w, '--workload', 'dd', '--json', '--csv']).status).toBe(2);
    expect(capture(['predict', ...w, '--workload', 'dd', '--driver-opt', 'nosuch=1']).err).toContain('no selected driver has this option');
    expect(capture(['predict', '--image', join(dir, 'missing.tar'), '--workload', 'dd', '--containers', '1']).status).toBe(2);
  });

  it('takes fio job files and generator specs', () => {
    const job = join(dir, 'seq.fio');
    writeFileSync(job, '[global]\nbs=64k\n\n[seq]\nrw=write\nsize=256k\nfilename=/data/seq\n');
    const r = capture(['predict', '--image', 'builtin:busybox', '--workload', job, '--containers', '2', '--drivers', 'overlay2', '--json']);
    expect(r.status).toBe(0);
    const d = (JSON.parse(r.out) as Json).drivers[0]!;
    expect(d.final.sizeRwBytes).toBe(2 * 256 * 1024);
    expect(generatorOps('dd:bs=4k,count=3,path=/x').filter(o => o.op === 'write')).toHaveLength(3);
    expect(generatorOps('chmod:paths=/bin/busybox:/bin/sh').filter(o => o.op === 'chmod')).toHaveLength(2);
    // the names of `layersim workload GENERATOR` work too
    expect(generatorOps('metadata-storm:kind=chown,paths=/a:/b').filter(o => o.op === 'chown')).toHaveLength(2);
    expect(generatorOps('package-install:manager=rpm,packages=1').length).toBeGreaterThan(10);
    expect(generatorOps('sequential-write:bytes=1m')).toEqual(generatorOps('write:bytes=1m'));
  });

  it('stops a driver cleanly when the image gets too deep, reporting the containers that ran', () => {
    const r = capture(['predict', '--image', 'builtin:busybox', '--workload', 'dd', '--containers', '140', '--schedule', 'commit-every:1', '--drivers', 'overlay2', '--json']);
    expect(r.status).toBe(0);
    const d = (JSON.parse(r.out) as Json).drivers[0]!;
    expect(d.stopped?.reason).toMatch(/^EINVAL/);
    expect(d.series.length).toBeLessThan(140);
  });
});

describe('--html', () => {
  it('writes one well-formed self-contained page with an SVG per chart, every driver drawn', () => {
    const file = join(dir, 'report.html');
    const r = capture([...base, '--html', file]);
    expect(r.status).toBe(0);
    expect(r.out).toContain(`wrote ${file}`);
    const html = readFileSync(file, 'utf8');
    expect(html).not.toMatch(/<script|<link|src=|url\(|https?:\/\/(?!www\.w3\.org\/2000\/svg)/);
    const doc = parseStrictHtml(html);
    const svgs = findAll(doc, e => e.name === 'svg');
    expect(svgs.map(s => s.attrs['id'])).toEqual([...CHART_IDS]);
    for (const svg of svgs) {
      const series = findAll(svg, e => e.name === 'g' && e.attrs['class'] === 'series');
      const bars = findAll(svg, e => e.name === 'g' && e.attrs['class'] === 'bar');
      const drawn = svg.attrs['id'] === 'chart-where' ? bars : series;
      expect(drawn.map(g => g.attrs['data-series']), svg.attrs['id']).toEqual(DRIVERS);
      for (const g of drawn) {
        if (svg.attrs['id'] === 'chart-where') expect(findAll(g, e => e.name === 'rect')).toHaveLength(4);
        else {
          const d = findAll(g, e => e.name === 'path')[0]!.attrs['d']!;
          // one point per container plus the origin (the time chart: one per reading)
          expect(d.match(/[ML]/g)!.length).toBeGreaterThanOrEqual(N + 1);
          expect(d).toMatch(/^M[\d.]+,[\d.]+(L[\d.]+,[\d.]+)+$/);
        }
      }
      // axes with units, a legend naming every driver
      const texts = findAll(svg, e => e.name === 'text').map(t => t.text);
      if (svg.attrs['id'] !== 'chart-where' && svg.attrs['id'] !== 'chart-time') expect(texts).toContain('containers run');
      expect(texts.some(t => /\d (B|KiB|MiB|GiB)$/.test(t))).toBe(true);
      const legend = findAll(svg, e => e.attrs['class'] === 'legend-item').map(g => g.attrs['data-series']);
      expect(legend).toEqual(svg.attrs['id'] === 'chart-where' ? ['data', 'metadata', 'page cache', 'copy-up (written)'] : DRIVERS);
    }
  });

  it('the strict parser rejects broken markup', () => {
    expect(() => parseStrictHtml('<div><span></div>')).toThrow();
    expect(() => parseStrictHtml('<svg><path d="M0,0"></svg>')).toThrow();
    expect(() => parseStrictHtml('<p>a & b</p>')).toThrow();
  });
});
