import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { MessageChannel, type MessagePort } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { allModels } from '../../models/index.js';
import { runPredict, runPredictParallel, workerCount, type PredictCliOptions } from '../../src/predict/cli.js';
import { dispatchOrder, loadSpecWorkload, predictParallel, requestOf, revive, serveDriverWorker, type DriverWorker, type PredictSpec, type TaskMessage, type WorkerFactory, type WorkerMessage } from '../../src/predict/parallel.js';
import { predict, type PredictReport } from '../../src/predict/simulate.js';
import { loadImageSource } from '../../src/image/resolve.js';
import { TraceError } from '../../src/trace/parse.js';
import { WorkloadError } from '../../src/predict/workload.js';

const N = 3;
const spec: PredictSpec = {
  image: 'builtin:busybox',
  workload: 'dd:bs=64k,count=1',
  drivers: allModels.map(m => m.name),
  options: {},
  containers: N,
  schedule: { kind: 'commit-every', every: 2 },
  exec: '/bin/sh',
  intervalSeconds: 10,
  settleSeconds: 60,
  prefixDepth: 2,
  seed: 7,
};
const requestFor = (s: PredictSpec) => requestOf(s, loadSpecWorkload(s), loadImageSource(s.image));

/** The report with the wall-clock figures zeroed: the one thing a parallel run may change. */
const timeless = (r: PredictReport) => JSON.stringify(r, (k, v: unknown) => (k === 'elapsedMs' ? 0 : v));

interface FakeWorker extends DriverWorker {
  /** Drivers it was handed, by index. */
  handed: number[];
  terminated: boolean;
}

/**
 * A worker in this thread: the real worker body (serveDriverWorker) behind a MessageChannel, so every message is
 * structured-cloned as it is between threads. `hold` can keep the worker's messages back until it returns false.
 */
function inThread(hold?: (w: FakeWorker, m: WorkerMessage) => boolean): WorkerFactory & { made: FakeWorker[]; release: () => void } {
  const made: FakeWorker[] = [];
  const held: (() => void)[] = [];
  const factory = (s: PredictSpec): DriverWorker => {
    const { port1, port2 } = new MessageChannel();
    serveDriverWorker(s, port2 as MessagePort & { on(event: 'message', fn: (m: TaskMessage) => void): unknown });
    const listeners: ((m: WorkerMessage) => void)[] = [];
    const w: FakeWorker = {
      handed: [],
      terminated: false,
      postMessage(m: TaskMessage) {
        w.handed.push(m.index);
        port1.postMessage(m);
      },
      on(event: string, fn: (x: never) => void) {
        if (event === 'message') listeners.push(fn as (m: WorkerMessage) => void);
        return w;
      },
      terminate() {
        w.terminated = true;
        port1.close();
        port2.close();
      },
    };
    port1.on('message', (m: WorkerMessage) => {
      const deliver = () => listeners.forEach(fn => fn(m));
      if (hold?.(w, m)) held.push(deliver);
      else deliver();
    });
    made.push(w);
    return w;
  };
  return Object.assign(factory, {
    made,
    release: () => {
      for (const d of held.splice(0)) d();
    },
  });
}

describe('predictParallel', () => {
  const req = requestFor(spec);
  const sequential = predict(req);

  it('gives the sequential report (elapsedMs aside), the predictions crossing threads by structured clone', async () => {
    const ticks: string[] = [];
    const factory = inThread();
    const report = await predictParallel({ ...req, onProgress: (d, i) => ticks.push(`${d} #${i}`) }, spec, { workers: 3, spawn: factory });
    expect(timeless(report)).toBe(timeless(sequential));
    expect(report.drivers.map(d => d.driver)).toEqual(spec.drivers);
    expect(factory.made).toHaveLength(3);
    expect(factory.made.flatMap(w => w.handed).sort()).toEqual(spec.drivers.map((_, i) => i));
    // every container of every driver ticked once, each driver's in order
    expect(ticks).toHaveLength(spec.drivers.length * N);
    for (const d of spec.drivers) expect(ticks.filter(t => t.startsWith(`${d} #`))).toEqual([1, 2, 3].map(i => `${d} #${i}`));
    expect(factory.made.every(w => w.terminated)).toBe(true);
  });

  it('a prediction is plain data: structured clone keeps every field', () => {
    for (const d of sequential.drivers) expect(structuredClone(d)).toStrictEqual(d);
  });

  it('hands the block stores out first, then the rest in request order', () => {
    const order = dispatchOrder(req.models).map(i => req.models[i]!.name);
    const block = ['devicemapper', 'btrfs', 'zfs'].filter(n => spec.drivers.includes(n));
    expect(order.slice(0, block.length).sort()).toEqual([...block].sort());
    expect(order.slice(block.length)).toEqual(spec.drivers.filter(n => !block.includes(n)));
  });

  it('a worker that finishes early takes the next driver from the queue', async () => {
    // the first worker's results are held back until the second has emptied the queue (and been let go)
    const factory = inThread((w, m) => w === factory.made[0] && m.type === 'done' && !factory.made[1]!.terminated);
    const run = predictParallel(req, spec, { workers: 2, spawn: factory });
    const wait = setInterval(() => factory.made[1]?.terminated && factory.release(), 5);
    const report = await run.finally(() => clearInterval(wait));
    const [slow, fast] = factory.made;
    expect(slow!.handed).toHaveLength(1);
    expect(fast!.handed).toHaveLength(spec.drivers.length - 1);
    expect(timeless(report)).toBe(timeless(sequential));
  });

  it('rejects with the error a worker met, as the same class and message, and stops every worker', async () => {
    const badImage = { ...spec, image: '/nonexistent/image.tar' };
    const expected = (() => {
      try {
        loadImageSource(badImage.image);
      } catch (e) {
        return (e as Error).message;
      }
    })();
    expect(expected).toMatch(/^image: /);
    const factory = inThread();
    await expect(predictParallel(req, badImage, { workers: 2, spawn: factory })).rejects.toThrow(expected);
    expect(factory.made.every(w => w.terminated)).toBe(true);

    const badWorkload = { ...spec, workload: 'nosuchgenerator' };
    const err = await predictParallel(req, badWorkload, { workers: 2, spawn: inThread() }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WorkloadError);
    expect(() => loadSpecWorkload(badWorkload)).toThrow((err as Error).message);
  });

  it('revives a trace error with its file, line and reason', () => {
    const e = revive({ kind: 'trace', message: 'x.jsonl:3: bad op', trace: { file: 'x.jsonl', line: 3, reason: 'bad op' } });
    expect(e).toBeInstanceOf(TraceError);
    expect((e as TraceError).line).toBe(3);
    expect(e.message).toBe('x.jsonl:3: bad op');
  });

  it('rejects when a worker thread dies in the middle of a sweep', async () => {
    let exit: ((code: number) => void) | undefined;
    const dying: WorkerFactory = () => ({
      postMessage() {},
      on(event: string, fn: (x: never) => void) {
        if (event === 'exit') exit = fn as (code: number) => void;
        return this;
      },
      terminate() {},
    });
    const run = predictParallel(req, { ...spec, drivers: ['vfs', 'overlay2'] }, { workers: 1, spawn: dying });
    exit!(1);
    await expect(run).rejects.toThrow(/worker thread sweeping \w+ exited \(code 1\)/);
  });

  it('runs on as many threads as jobs allow, never more than the cores or the drivers, none for one', () => {
    expect(workerCount(2, 6, 2)).toBe(2);
    expect(workerCount(8, 6, 2)).toBe(2);
    expect(workerCount(8, 3, 16)).toBe(3);
    expect(workerCount(1, 6, 2)).toBe(0);
    expect(workerCount(4, 1, 4)).toBe(0);
    expect(workerCount(4, 6, 1)).toBe(0);
  });
});

describe('runPredictParallel', () => {
  const dir = mkdtempSync(join(tmpdir(), 'layersim-parallel-'));
  const cli = (extra: Partial<PredictCliOptions>): PredictCliOptions => ({
    image: 'builtin:busybox',
    workload: 'dd:bs=64k,count=1',
    containers: '3',
    schedule: 'all',
    drivers: 'all',
    driverOpt: [],
    failIf: ['*.growth.sizeRwBytes>100KiB'],
    exec: '/bin/sh',
    interval: '10',
    settle: '60',
    prefixDepth: '2',
    jobs: '2',
    ...extra,
  });
  const capture = () => {
    const o = { stdout: [] as string[], stderr: [] as string[] };
    return { o, out: { stdout: (s: string) => o.stdout.push(s), stderr: (s: string) => o.stderr.push(s), isTTY: false } };
  };

  it.each([['table', {}], ['--csv', { csv: true }], ['--json', { json: true }]] as const)('prints what runPredict prints (%s, --html, --fail-if)', async (_, format) => {
    const a = capture();
    const b = capture();
    const seq = runPredict(cli({ ...format, html: join(dir, 'seq.html') }), a.out);
    const factory = inThread();
    const par = await runPredictParallel(cli({ ...format, html: join(dir, 'par.html') }), b.out, factory);
    expect(factory.made).toHaveLength(workerCount(2, allModels.length));
    const mask = (s: string) => s.replace(/"elapsedMs":[\d.]+/g, '"elapsedMs":0').replace(/(seq|par)\.html/g, 'X.html');
    expect(b.o.stdout.map(mask)).toEqual(a.o.stdout.map(mask));
    expect(b.o.stderr).toEqual(a.o.stderr);
    expect(a.o.stderr.join('\n')).toContain("--fail-if '*.growth.sizeRwBytes>100KiB' failed");
    expect([par.status, seq.status]).toEqual([1, 1]);
    expect(readFileSync(join(dir, 'par.html'), 'utf8')).toBe(readFileSync(join(dir, 'seq.html'), 'utf8'));
  });

  it('--jobs must be a positive integer', async () => {
    await expect(runPredictParallel(cli({ jobs: '0' }), capture().out)).rejects.toThrow('--jobs 0: expected an integer >= 1');
    expect(() => runPredict(cli({ jobs: 'x' }), capture().out)).toThrow('--jobs x: expected an integer >= 1');
  });
});

/** The compiled CLI (npm run build), which starts real worker threads; both runs come from the same build. */
const root = fileURLToPath(new URL('../../', import.meta.url));
const bin = join(root, 'dist/src/cli/bin.js');
const built = existsSync(bin) && existsSync(join(root, 'dist/src/predict/worker.js'));

describe.skipIf(!built)('the compiled CLI on worker threads', () => {
  const run = (...args: string[]) => spawnSync(process.execPath, [bin, 'predict', '--image', 'builtin:busybox', '--workload', 'dd:bs=64k,count=1', '--containers', '3', '--no-progress', ...args], { encoding: 'utf8' });
  const mask = (s: string) => s.replace(/"elapsedMs":[\d.]+/g, '"elapsedMs":0');

  const dir = mkdtempSync(join(tmpdir(), 'layersim-parallel-bin-'));

  it.each([['table'], ['--json'], ['--csv']])('prints the same bytes with --jobs 2 as with --jobs 1 (%s, --html, --fail-if; elapsedMs aside)', format => {
    const html = join(dir, 'out.html');
    const args = ['--fail-if', 'zfs.growth.dfUsedBytes>1B', '--html', html, ...(format === 'table' ? [] : [format])];
    const seq = run('--jobs', '1', ...args);
    const seqHtml = readFileSync(html, 'utf8');
    const par = run('--jobs', '2', ...args);
    expect(seq.status, seq.stderr).toBe(1);
    expect(par.status, par.stderr).toBe(seq.status);
    expect(mask(par.stdout)).toBe(mask(seq.stdout));
    expect(par.stderr).toBe(seq.stderr);
    expect(readFileSync(html, 'utf8')).toBe(seqHtml);
  }, 60_000);

  it('an unusable image exits 2 with the same message', () => {
    const seq = run('--jobs', '1', '--image', '/nonexistent/image.tar');
    const par = run('--jobs', '2', '--image', '/nonexistent/image.tar');
    expect(seq.status).toBe(2);
    expect(par.status).toBe(2);
    expect(par.stderr).toBe(seq.stderr);
    expect(par.stdout).toBe('');
  }, 60_000);
});
