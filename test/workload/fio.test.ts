import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadImageSource } from '../../src/image/resolve.js';
import { parseTrace } from '../../src/trace/parse.js';
import type { TraceOp } from '../../src/trace/schema.js';
import { fioToTrace, parseFioJobFile, parseFioSize } from '../../src/workload/fio.js';
import { toJsonl } from '../../src/workload/jsonl.js';
import { MODELS, replay } from './support.js';

const DIR = join(import.meta.dirname, '../fixtures/workload/fio');
const EXAMPLES = readdirSync(DIR).filter(f => f.endsWith('.fio')).sort();
const example = (name: string) => readFileSync(join(DIR, name), 'utf8');

/** Warnings other than the I/O cap, per example: each names a real fio option (or a job fio itself refuses). */
const EXPECTED_WARNINGS: Record<string, RegExp[]> = {
  'butterfly.fio': [/:9: job 'forward': no size= or filesize= and \/tmp\/testfile is not known to exist/, /:16: job 'backward': no size= or filesize=/],
  'jesd219.fio': [/:18: job 'JESD219': random_distribution=zoned:50\/5:30\/15:20\/80: offsets are drawn uniformly/],
  'surface-scan.fio': [/:15: job 'write-phase': fill_device=1: writes until ENOSPC: simulated as size=1073741824/],
  'zipf.fio': [/:10: job 'job': random_distribution=zipf:0.5: offsets are drawn uniformly/],
};

const writes = (ops: TraceOp[]) => ops.filter((o): o is Extract<TraceOp, { op: 'write' }> => o.op === 'write');

describe("fio's own example job files (fio 3.33, Debian's fio-examples)", () => {
  it('are at least ten', () => expect(EXAMPLES.length).toBeGreaterThanOrEqual(10));

  it.each(EXAMPLES)('%s parses; its warnings name the options not simulated; the ops parse back', name => {
    const r = fioToTrace(example(name), { file: name, maxIosPerJob: 300 });
    expect(r.jobs.length).toBeGreaterThan(0);
    const other = r.warnings.filter(w => !/cut at 300 of about/.test(w));
    const expected = EXPECTED_WARNINGS[name] ?? [];
    expect(other).toHaveLength(expected.length);
    expected.forEach((re, i) => expect(other[i]).toMatch(re));
    // every option in fio's examples is one fio knows
    expect(r.warnings.filter(w => w.includes('unknown option'))).toEqual([]);
    const back = parseTrace(toJsonl(r.ops)).map(l => l.op);
    expect(back).toEqual(JSON.parse(JSON.stringify(r.ops)));
  });

  it('fio-rand-write.fio: 4 clones share the named file, 4 KiB random writes inside it, a note on time_based', () => {
    const r = fioToTrace(example('fio-rand-write.fio'), { maxIosPerJob: 100 });
    expect(r.jobs).toMatchObject([{ name: 'file1', clones: 4, rw: 'randwrite', files: ['/fio-rand-write'], ios: 400 }]);
    const w = writes(r.ops);
    expect(w).toHaveLength(400);
    for (const op of w) {
      expect(op.length).toBe(4096);
      expect(op.offset! % 4096).toBe(0);
      expect(op.offset! + 4096).toBeLessThanOrEqual(10 * 2 ** 30);
    }
    expect(r.notes.some(n => n.includes('time_based (runtime=900)'))).toBe(true);
  });

  it('tiobench-example.fio: stonewalled groups run one after another, numjobs clones interleaved within', () => {
    const r = fioToTrace(example('tiobench-example.fio'), { maxIosPerJob: 3 });
    const ioFds = r.ops.filter(o => o.op === 'write' || o.op === 'read').map(o => (o as { fd: string }).fd.replace(/\.\d+$/, ''));
    expect(ioFds.slice(0, 4)).toEqual(['fio.f1.0', 'fio.f1.1', 'fio.f1.2', 'fio.f1.3']);
    const firstF2 = ioFds.findIndex(f => f.startsWith('fio.f2') && !f.endsWith('layout'));
    expect(ioFds.slice(0, firstF2).every(f => f.startsWith('fio.f1'))).toBe(true);
    // f3 reads files it lays out first: written whole, then read
    expect(r.ops).toContainEqual({ op: 'write', fd: 'fio.f3.0.0.layout', offset: 0, length: 512 * 2 ** 20, fill: 'random' });
  });

  it('a scaled job replays on every model: the shared file at its scaled size, every line ok', () => {
    const r = fioToTrace(example('fio-rand-write.fio'), { scale: 1 / 10240, maxIosPerJob: 64 });
    for (const driver of MODELS) {
      const { sys, results } = replay(driver, loadImageSource('builtin:busybox'), r.ops);
      expect(results.filter(x => x.outcome !== 'ok')).toEqual([]);
      expect(sys.stat('/fio-rand-write').size).toBe(2 ** 20);
    }
  });
});

describe('fio job-file syntax', () => {
  it('sizes: kb_base=1024 (default) and 1000 as the HOWTO lists them, hex, expressions', () => {
    for (const s of ['4096', '4096b', '4096B', '4k', '4kb', '4kB', '4K', '4KB']) expect(parseFioSize(s)).toBe(4096);
    expect(parseFioSize('1m')).toBe(2 ** 20);
    expect(parseFioSize('1mi')).toBe(1e6);
    expect(parseFioSize('1000ki')).toBe(1e6);
    expect(parseFioSize('1t')).toBe(2 ** 40);
    for (const s of ['4096', '4ki', '4kib', '4kiB', '4Ki', '4KiB']) expect(parseFioSize(s, 1000)).toBe(4096);
    expect(parseFioSize('1m', 1000)).toBe(1e6);
    expect(parseFioSize('1mi', 1000)).toBe(2 ** 20);
    expect(parseFioSize('0x1000')).toBe(4096);
    expect(parseFioSize('(4*1024+2^10)')).toBe(5120);
    expect(parseFioSize('4q')).toBeUndefined();
  });

  it('globals apply to the jobs below them; comments, bare flags and ${VAR}', () => {
    const text = [
      '; a comment',
      '# another',
      '[global]',
      'bs=8k ; trailing comment',
      'size=${SIZE}',
      '[a]',
      'rw=write',
      '[global]',
      'bs=16k',
      '[b]',
      'rw=write',
      'time_based',
    ].join('\n');
    const { jobs } = parseFioJobFile(text, { env: { SIZE: '64k' } });
    expect(jobs.map(j => [j.name, j.options.get('bs')?.value, j.options.get('size')?.value])).toEqual([
      ['a', '8k', '64k'],
      ['b', '16k', '64k'],
    ]);
    expect(jobs[1]!.options.get('time_based')).toEqual({ value: undefined, line: 12 });
    const r = fioToTrace(text, { env: { SIZE: '64k' } });
    expect(writes(r.ops).map(w => [w.fd, w.length])).toEqual([
      ['fio.a.0.0', 8192],
      ['fio.b.0.0', 16384],
      ['fio.a.0.0', 8192],
      ['fio.b.0.0', 16384],
      ['fio.a.0.0', 8192],
      ['fio.b.0.0', 16384],
      ['fio.a.0.0', 8192],
      ['fio.b.0.0', 16384],
      ['fio.a.0.0', 8192],
      ['fio.a.0.0', 8192],
      ['fio.a.0.0', 8192],
      ['fio.a.0.0', 8192],
    ]);
  });

  it('names unknown options, fio options it does not simulate, stray options and unread includes, with lines', () => {
    const text = ['size=1m', '[j]', 'rw=write', 'size=64k', 'blocksizee=4k', 'zonemode=zbd', 'iodepth=32', 'include other.fio'].join('\n');
    const r = fioToTrace(text, { file: 'x.fio' });
    expect(r.warnings).toEqual([
      "x.fio:1: option 'size' outside of a [job] section; ignored (fio refuses it)",
      "x.fio:8: include 'other.fio' not read (no include reader given); its options are missing",
      "x.fio:5: job 'j': unknown option 'blocksizee=4k' (not in fio 3.33's option list); ignored",
      "x.fio:6: job 'j': option 'zonemode=zbd' is a fio option layersim does not simulate; ignored",
    ]);
  });

  it('includes are read through the reader given', () => {
    const r = fioToTrace('[j]\nrw=write\ninclude sz.fio\n', { include: () => 'size=8k\nbs=4k' });
    expect(writes(r.ops)).toHaveLength(2);
  });

  it('aliases: readwrite, blocksize, timeout', () => {
    const { jobs } = parseFioJobFile('[j]\nreadwrite=randwrite\nblocksize=2k\ntimeout=5\n');
    expect([...jobs[0]!.options.keys()]).toEqual(['rw', 'bs', 'runtime']);
  });
});

describe('fio semantics', () => {
  const run = (body: string, o = {}) => fioToTrace(`[j]\n${body}`, o);

  it('randwrite with the random map writes each block exactly once per pass', () => {
    const w = writes(run('rw=randwrite\nbs=4k\nsize=256k').ops);
    expect(w.map(x => x.offset).sort((a, b) => a! - b!)).toEqual(Array.from({ length: 64 }, (_, i) => i * 4096));
    expect(new Set(w.map(x => x.offset)).size).toBe(64);
  });

  it('is deterministic, and randseed changes the order', () => {
    const a = run('rw=randwrite\nsize=64k').ops;
    expect(run('rw=randwrite\nsize=64k').ops).toEqual(a);
    expect(run('rw=randwrite\nsize=64k\nrandseed=7').ops).not.toEqual(a);
  });

  it('write-only jobs extend the file (fallocate as truncate); readers lay it out whole; open modes as fio', () => {
    const w = run('rw=write\nsize=8k\ndirectory=/data\nfilename=f');
    expect(w.ops.slice(0, 4)).toEqual([
      { op: 'mkdirp', path: '/data' },
      { op: 'open', path: '/data/f', flags: 0o101, mode: 0o644, fd: 'fio.j.0.0.layout' },
      { op: 'truncate', path: '/data/f', size: 8192 },
      { op: 'close', fd: 'fio.j.0.0.layout' },
    ]);
    expect(w.ops[4]).toEqual({ op: 'open', path: '/data/f', flags: 0o102, mode: 0o600, fd: 'fio.j.0.0' });
    const r = run('rw=read\nsize=8k\nfilename=/f');
    expect(r.ops.slice(0, 6)).toEqual([
      { op: 'open', path: '/f', flags: 0o1101, mode: 0o644, fd: 'fio.j.0.0.layout' },
      { op: 'truncate', path: '/f', size: 8192 },
      { op: 'write', fd: 'fio.j.0.0.layout', offset: 0, length: 8192, fill: 'random' },
      { op: 'fsync', fd: 'fio.j.0.0.layout' },
      { op: 'close', fd: 'fio.j.0.0.layout' },
      { op: 'open', path: '/f', flags: 0, fd: 'fio.j.0.0' },
    ]);
    expect(run('rw=read\nsize=8k\nfilename=/f', { reads: false }).ops.filter(o => o.op === 'read')).toEqual([]);
  });

  it('nrfiles and filesize: files named $jobname.$jobnum.$filenum, served round robin', () => {
    const r = run('rw=write\nnrfiles=3\nfilesize=8k\nbs=4k\nnumjobs=2');
    expect(r.jobs[0]!.files).toEqual(['/j.0.0', '/j.0.1', '/j.0.2', '/j.1.0', '/j.1.1', '/j.1.2']);
    expect(writes(r.ops).slice(0, 6).map(w => `${w.fd}@${w.offset}`)).toEqual(['fio.j.0.0@0', 'fio.j.1.0@0', 'fio.j.0.1@0', 'fio.j.1.1@0', 'fio.j.0.2@0', 'fio.j.1.2@0']);
    expect(writes(r.ops)).toHaveLength(12);
  });

  it('rwmixread, bs per direction, fsync=N, end_fsync, loops, offset and offset_increment', () => {
    const mixed = run('rw=randrw\nrwmixread=100\nsize=64k').ops;
    expect(writes(mixed).filter(w => !w.fd!.endsWith('.layout'))).toEqual([]);
    const perDir = run('rw=rw\nbs=4k,8k\nsize=256k\nrwmixwrite=50').ops;
    for (const op of writes(perDir)) if (!op.fd!.endsWith('.layout')) expect(op.length).toBe(8192);
    for (const op of perDir) if (op.op === 'read') expect(op.length).toBe(4096);
    const synced = run('rw=write\nsize=16k\nfsync=2\nend_fsync=1').ops;
    expect(synced.filter(o => o.op === 'fsync')).toHaveLength(3);
    expect(writes(run('rw=write\nsize=8k\nloops=3').ops)).toHaveLength(6);
    const offs = run('rw=write\nsize=8k\noffset=1m\noffset_increment=1m\nnumjobs=2\nfilename=/shared').ops;
    expect(writes(offs).map(w => w.offset)).toEqual([2 ** 20, 2 ** 21, 2 ** 20 + 4096, 2 ** 21 + 4096]);
  });

  it('file_append writes after the end of the file; rw=write:4k leaves holes; bssplit picks sizes by weight', () => {
    const app = fioToTrace('[a]\nrw=write\nsize=8k\nfilename=/f\n[b]\nstonewall\nrw=write\nsize=8k\nfilename=/f\nfile_append=1\n').ops;
    expect(writes(app).filter(w => w.fd!.startsWith('fio.b')).map(w => w.offset)).toEqual([8192, 12288]);
    expect(writes(run('rw=write:4k\nsize=32k').ops).map(w => w.offset)).toEqual([0, 8192, 16384, 24576]);
    const split = writes(run('rw=randwrite\nbssplit=4k/75:64k/25\nsize=64m\nnorandommap', { maxIosPerJob: 2000 }).ops);
    const small = split.filter(w => w.length === 4096).length / split.length;
    expect(small).toBeGreaterThan(0.7);
    expect(small).toBeLessThan(0.8);
    expect(split.every(w => w.length === 4096 || w.length === 65536)).toBe(true);
  });

  it('coalesce merges a sequential job into one write per run of contiguous I/O', () => {
    const r = run('rw=write\nbs=4k\nsize=1m', { coalesce: true });
    expect(writes(r.ops)).toEqual([{ op: 'write', fd: 'fio.j.0.0', offset: 0, length: 2 ** 20, fill: 'random' }]);
  });
});
