import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { allModels } from '../../models/index.js';
import { main } from '../../src/cli/main.js';
import { runTrace } from '../../src/cli/run-trace.js';
import type { DriverModel } from '../../src/engine/driver.js';
import { explainTrace, formatExplain, type ExplainReport, type ModelPicture } from '../../src/explain/index.js';
import { loadImageSource } from '../../src/image/resolve.js';

/** An image with a 1 MiB database, a cache dir and a data dir, built by a commit; then a container changes it. */
const TRACE = [
  '{"op":"image","name":"base","from":"builtin:busybox"}',
  '{"op":"run","container":"build","image":"base"}',
  '{"op":"mkdirp","path":"/var/lib"}',
  '{"op":"dd","path":"/var/lib/db","bs":"64k","count":16,"fill":"pattern"}',
  '{"op":"mkdirp","path":"/opt/app/cache"}',
  '{"op":"writeFile","path":"/opt/app/cache/a","length":10000,"fill":"pattern"}',
  '{"op":"writeFile","path":"/opt/app/config","data":"x=1\\n"}',
  '{"op":"mkdirp","path":"/srv/data"}',
  '{"op":"writeFile","path":"/srv/data/f","data":"hello\\n"}',
  '{"op":"writeFile","path":"/srv/data/keep","data":"keep\\n"}',
  '{"op":"commit","container":"build","image":"app"}',
  '{"op":"rm","container":"build"}',
  '{"op":"run","container":"c","image":"app"}',
  '{"op":"write","path":"/var/lib/db","offset":4096,"length":4096,"fill":"pattern"}',
  '{"op":"chmod","path":"/opt/app/config","mode":"0600"}',
  '{"op":"rmtree","path":"/opt/app/cache"}',
  '{"op":"rename","from":"/srv/data/f","to":"/srv/g"}',
  '{"op":"rename","from":"/srv/data","to":"/srv/data2"}',
].join('\n');

/** 1-based line numbers of the container's ops. */
const WRITE = 14;
const CHMOD = 15;
const RMTREE = 16;
const MV_FILE = 17;
const MV_DIR = 18;

let report: ExplainReport;

function cell(line: number, driver: string) {
  const l = report.lines.find(x => x.line === line)!;
  const c = l.cells.find(x => x.driver === driver);
  if (c === undefined) throw new Error(`no ${driver} cell on line ${line}`);
  return c;
}

beforeAll(() => {
  report = explainTrace({ text: TRACE, file: 't.jsonl', models: allModels, options: {}, loadImage: f => loadImageSource(f) });
});

describe('explain: narratives from the mechanisms', () => {
  it('overlay2: a 4 KiB write into a lower file is a copy-up of the whole 1 MiB file, then the write', () => {
    const c = cell(WRITE, 'overlay2');
    expect(c.summary).toMatch(/copy-up of \/var\/lib\/db \(1\.00 MiB\).*then write 4\.00 KiB/);
    expect(c.facts).toContainEqual(expect.objectContaining({ kind: 'copy-up', path: '/var/lib/db', bytes: 1048576 }));
    expect(c.facts).toContainEqual(expect.objectContaining({ kind: 'parent-copy-up', paths: ['/var', '/var/lib'] }));
  });

  it('aufs: the same copy-up; vfs: a write in place with nothing copied', () => {
    expect(cell(WRITE, 'aufs').summary).toContain('copy-up of /var/lib/db (1.00 MiB)');
    expect(cell(WRITE, 'vfs').summary).toContain('write 4.00 KiB in place');
    expect(cell(WRITE, 'vfs').summary).not.toContain('copy-up');
  });

  it('overlay2: a chmod copies the file up too', () => {
    expect(cell(CHMOD, 'overlay2').summary).toContain('copy-up of /opt/app/config (4 B)');
  });

  it('union drivers: rm -rf of a lower dir leaves a whiteout, in each form', () => {
    const o = cell(RMTREE, 'overlay2');
    expect(o.facts).toContainEqual(expect.objectContaining({ kind: 'whiteout', paths: ['/opt/app/cache'], form: 'char-device 0/0' }));
    expect(o.summary).toContain('whiteout (char-device 0/0) hiding /opt/app/cache');
    expect(cell(RMTREE, 'aufs').summary).toContain('whiteout (.wh. hard link) hiding /opt/app/cache');
    expect(cell(RMTREE, 'vfs').summary).toContain('removed for real');
  });

  it('overlay2: mv of a lower file is a copy-up, a rename and a whiteout', () => {
    const s = cell(MV_FILE, 'overlay2').summary;
    expect(s).toContain('copy-up of /srv/data/f (6 B) then rename to /srv/g');
    expect(s).toContain('whiteout (char-device 0/0) hiding /srv/data/f');
  });

  it('overlay2: rename of a lower dir is EXDEV (redirect_dir off); btrfs and devicemapper rename it', () => {
    const o = cell(MV_DIR, 'overlay2');
    expect(o.outcome).toBe('EXDEV');
    expect(o.summary).toMatch(/^EXDEV \(.*redirect_dir is off/);
    expect(cell(MV_DIR, 'btrfs').outcome).toBe('ok');
    expect(cell(MV_DIR, 'devicemapper').outcome).toBe('ok');
    // aufs refuses a non-empty lower dir as well
    expect(cell(MV_DIR, 'aufs').outcome).toBe('EXDEV');
  });

  it('devicemapper: the small write un-shares one pool block and names the filesystem structures written', () => {
    const c = cell(WRITE, 'devicemapper');
    expect(c.facts).toContainEqual(expect.objectContaining({ kind: 'pool', unshared: 1, provisioned: 0, blockBytes: 65536 }));
    expect(c.summary).toMatch(/un-share 1 pool block \(64\.0 KiB copied\)/);
    expect(c.facts.some(f => f.kind === 'fs-blocks')).toBe(true);
    expect(c.summary).not.toContain('copy-up');
  });

  it('btrfs: a new 4 KiB extent, the old one kept as bookends, and CoW of tree blocks in DUP', () => {
    const c = cell(WRITE, 'btrfs');
    const ext = c.facts.find(f => f.kind === 'extents');
    expect(ext).toBeDefined();
    if (ext?.kind !== 'extents') throw new Error('no extents fact');
    expect(ext.added).toEqual([expect.objectContaining({ path: '/var/lib/db', offset: 4096, bytes: 4096 })]);
    expect(ext.bookends.length).toBe(2);
    expect(c.summary).toMatch(/new 4\.00 KiB extent, old 1\.00 MiB extent kept whole as 2 bookends \(4\.00 KiB of it dead but allocated\)/);
    expect(c.summary).toMatch(/CoW of \d+ tree blocks? .*\(DUP: /);
  });

  it('zfs: the write rewrites the whole record', () => {
    expect(cell(WRITE, 'zfs').summary).toMatch(/1 record of 128 KiB rewritten whole/);
  });

  it('the costs are exactly those `run` reports when it also syncs after each line: probing changes nothing', () => {
    const run = runTrace({ text: TRACE, file: 't.jsonl', models: allModels, options: {}, loadImage: f => loadImageSource(f), settleEachLine: true });
    for (const d of run.drivers) {
      for (const r of d.results) expect({ driver: d.driver, line: r.line, cost: cell(r.line, d.driver).cost }).toEqual({ driver: d.driver, line: r.line, cost: r.cost });
    }
  });
});

describe('explain: layer pictures', () => {
  const picture = (driver: string) => report.drivers.find(d => d.driver === driver)!.containers.find(c => c.container === 'c')!.picture;

  it('overlay2: the upper dir with whiteouts and copy-ups marked', () => {
    const p = picture('overlay2');
    if (p.kind !== 'upper') throw new Error(p.kind);
    expect(p.entries).toContainEqual({ path: '/opt/app/cache', type: 'whiteout', marks: ['whiteout (0/0 char device)'] });
    expect(p.entries).toContainEqual({ path: '/var/lib/db', type: 'file', size: 1048576, marks: ['copied up'] });
    const text = formatExplain(report, allModels);
    expect(text).toContain('│       ├── cache  [whiteout (0/0 char device)]');
  });

  it('aufs: .wh. whiteouts and the opaque marker of the moved-dir case', () => {
    const p = picture('aufs');
    if (p.kind !== 'upper') throw new Error(p.kind);
    expect(p.entries).toContainEqual(expect.objectContaining({ path: '/opt/app/.wh.cache', marks: ['whiteout of cache'] }));
  });

  it('devicemapper: the mapping table splits shared from exclusive pool blocks', () => {
    const p = picture('devicemapper');
    if (p.kind !== 'thin') throw new Error(p.kind);
    expect(p.exclusiveBlocks).toBeGreaterThan(0);
    expect(p.sharedBlocks).toBeGreaterThan(p.exclusiveBlocks);
    expect(p.sharedBlocks + p.exclusiveBlocks).toBe(p.mappedBlocks);
    expect(formatExplain(report, allModels)).toMatch(/-> \d+ +exclusive +#/);
  });

  it('btrfs: the extents the subvolume owns, with its bookends', () => {
    const p = picture('btrfs');
    if (p.kind !== 'subvolume') throw new Error(p.kind);
    expect(p.ownExtents.filter(e => e.path === '/var/lib/db' && e.bookend).length).toBe(2);
    expect(p.ownExtents).toContainEqual(expect.objectContaining({ path: '/var/lib/db', offset: 4096, bytes: 4096, shared: false }));
  });

  it('zfs: the dataset, the snapshot it is a clone of, and its objects', () => {
    const p = picture('zfs');
    if (p.kind !== 'dataset') throw new Error(p.kind);
    expect(p.origin).toMatch(/-init@\d+ \(txg \d+\)$/);
    expect(p.objects['data']).toBeGreaterThan(0);
    expect(formatExplain(report, allModels)).toMatch(/dataset pool\/docker\/[0-9a-f]+, clone of /);
  });
});

describe('explain: a model that declares its own explanation', () => {
  it('is narrated by its own probe and drawn by its own picture, with nothing in the core naming it', () => {
    const vfs = allModels.find(m => m.name === 'vfs')!;
    const own: DriverModel = {
      ...vfs,
      name: 'own',
      explain: {
        probe: () => ({
          mechanism: 'own',
          snapshot: layer => ({ usage: {}, layer, state: undefined }),
          facts: (_before, _after, ctx) => [{ kind: 'none', lookups: ctx.cost.lookups, text: `own ${ctx.op} ${ctx.outcome}` }],
        }),
        picture: (_host, layer) => ({ kind: 'own', layer }) as unknown as ModelPicture,
        pictureText: p => [`own picture of ${(p as unknown as { layer: string }).layer}`],
      },
    };
    const r = explainTrace({ text: TRACE, file: 't.jsonl', models: [own], options: {}, loadImage: f => loadImageSource(f) });
    expect(r.drivers[0]!.mechanism).toBe('own');
    expect(r.lines.find(l => l.line === WRITE)!.cells[0]!.summary).toBe('own write ok');
    expect(formatExplain(r, [own])).toMatch(/== own: container c \(layer (\S+)\)\n {2}own picture of \1$/);
  });
});

describe('layersim explain (CLI)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'layersim-explain-'));
  const file = join(dir, 't.jsonl');
  writeFileSync(file, TRACE + '\n');

  function capture(argv: string[]): { status: number; out: string; err: string } {
    const out: string[] = [];
    const err: string[] = [];
    const log = vi.spyOn(console, 'log').mockImplementation((...a: unknown[]) => void out.push(a.join(' ')));
    const error = vi.spyOn(console, 'error').mockImplementation((...a: unknown[]) => void err.push(a.join(' ')));
    try {
      return { status: main(argv), out: out.join('\n'), err: err.join('\n') };
    } finally {
      log.mockRestore();
      error.mockRestore();
    }
  }

  it('narrates the chosen drivers side by side and draws the layers', () => {
    const r = capture(['explain', file, '--drivers', 'overlay2,devicemapper']);
    expect(r.status).toBe(0);
    expect(r.out).toContain(`line ${WRITE}: write /var/lib/db @4096 +4.00 KiB`);
    expect(r.out).toMatch(/ {2}overlay2 +parent dirs copied up as metadata: \/var, \/var\/lib; copy-up of \/var\/lib\/db \(1\.00 MiB\)/);
    expect(r.out).toMatch(/ {2}devicemapper +un-share 1 pool block/);
    expect(r.out).toContain('== overlay2: container c');
    expect(r.out).toContain('== devicemapper: container c');
    expect(r.out).not.toContain('btrfs');
  });

  it('--json carries the same as data; options reach the models that declare them', () => {
    const r = capture(['explain', file, '--drivers', 'overlay2', '--driver-opt', 'redirect_dir=on', '--json']);
    expect(r.status).toBe(0);
    const j = JSON.parse(r.out) as ExplainReport;
    expect(j.drivers[0]!.options['redirect_dir']).toBe('on');
    const mv = j.lines.find(l => l.line === MV_DIR)!.cells[0]!;
    expect(mv.outcome).toBe('ok');
    expect(mv.facts).toContainEqual(expect.objectContaining({ kind: 'redirect', path: '/srv/data2' }));
  });

  it('unusable input: exit 2 with the reason', () => {
    expect(capture(['explain', file, '--drivers', 'nope']).err).toContain("unknown driver 'nope'");
    expect(capture(['explain', join(dir, 'missing.jsonl')]).status).toBe(2);
    expect(capture(['explain', file, '--driver-opt', 'redirect_dir=maybe', '--drivers', 'overlay2']).status).toBe(2);
  });
});
