import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { MessageChannel, receiveMessageOnPort, type MessagePort } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { allModels } from '../../models/index.js';
import { defaultJobs, runPredict, runPredictParallel, threadCount, type PredictCliOptions } from '../../src/predict/cli.js';
import { dispatchOrder, loadSpecWorkload, predictParallel, requestOf, rereadable, revive, serveDriverWorker, type DriverWorker, type PredictSpec, type TaskMessage, type WorkerFactory, type WorkerMessage } from '../../src/predict/parallel.js';
import { predict, type PredictReport } from '../../src/predict/simulate.js';
import { loadImageSource } from '../../src/image/resolve.js';
import { TraceError } from '../../src/trace/parse.js';
import type * as Resolve from '../../src/image/resolve.js';
import type * as Parallel from '../../src/predict/parallel.js';
import type * as Simulate from '../../src/predict/simulate.js';
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

type Factory = WorkerFactory & { made: FakeWorker[] };

/**
 * A worker in this thread: the real worker body (serveDriverWorker) behind a MessageChannel, so every message is
 * structured-cloned as between threads. It runs when this thread yields, i.e. once predictParallel waits.
 */
function inThread(): Factory {
  const made: FakeWorker[] = [];
  const factory = (s: PredictSpec): DriverWorker => {
    const { port1, port2 } = new MessageChannel();
    serveDriverWorker(s, port2 as MessagePort & { on(event: 'message', fn: (m: TaskMessage) => void): unknown });
    const w: FakeWorker = {
      handed: [],
      terminated: false,
      post(m) {
        w.handed.push(m.index);
        port1.postMessage(m);
      },
      poll: () => receiveMessageOnPort(port1)?.message as WorkerMessage | undefined,
      listen: fn => void port1.on('message', fn),
      onDeath() {},
      terminate() {
        w.terminated = true;
        port1.close();
        port2.close();
      },
    };
    made.push(w);
    return w;
  };
  return Object.assign(factory, { made });
}

/** A worker that sweeps the moment it is handed a driver (inside this thread's poll): it always finishes first. */
function instant(): Factory {
  const made: FakeWorker[] = [];
  const factory = (s: PredictSpec): DriverWorker => {
    const outbox: WorkerMessage[] = [];
    let listener: ((m: WorkerMessage) => void) | undefined;
    let serve: ((m: TaskMessage) => void) | undefined;
    serveDriverWorker(s, {
      postMessage: m => (listener ? listener(structuredClone(m)) : outbox.push(structuredClone(m))),
      on: (_, fn) => (serve = fn),
    });
    const w: FakeWorker = {
      handed: [],
      terminated: false,
      post(m) {
        w.handed.push(m.index);
        serve!(m);
      },
      poll: () => outbox.shift(),
      listen(fn) {
        listener = fn;
        for (const m of outbox.splice(0)) fn(m);
      },
      onDeath() {},
      terminate: () => void (w.terminated = true),
    };
    made.push(w);
    return w;
  };
  return Object.assign(factory, { made });
}

describe('predictParallel', () => {
  const req = requestFor(spec);
  const sequential = predict(req);
  /** The drivers this thread swept: those no worker was handed. */
  const ownShare = (f: Factory) => spec.drivers.length - f.made.reduce((n, w) => n + w.handed.length, 0);

  it.each([
    ['a worker that starts late gets one driver, this thread sweeps the rest', inThread, 1],
    ['a worker that finishes early takes the next driver from the queue, every time', instant, spec.drivers.length - 1],
  ] as const)('gives the sequential report (elapsedMs aside): %s', async (_, make, workerShare) => {
    const ticks: string[] = [];
    const factory = make();
    const report = await predictParallel({ ...req, onProgress: (d, i) => ticks.push(`${d} #${i}`) }, spec, { threads: 2, spawn: factory });
    expect(timeless(report)).toBe(timeless(sequential));
    expect(report.drivers.map(d => d.driver)).toEqual(spec.drivers);
    expect(factory.made).toHaveLength(1);
    expect(factory.made[0]!.handed).toHaveLength(workerShare);
    expect(ownShare(factory)).toBe(spec.drivers.length - workerShare);
    // every container of every driver ticked once, each driver's in order
    expect(ticks).toHaveLength(spec.drivers.length * N);
    for (const d of spec.drivers) expect(ticks.filter(t => t.startsWith(`${d} #`))).toEqual([1, 2, 3].map(i => `${d} #${i}`));
    expect(factory.made.every(w => w.terminated)).toBe(true);
  });

  it('starts threads - 1 workers, no more than the drivers need', async () => {
    const factory = instant();
    await predictParallel(req, spec, { threads: 4, spawn: factory });
    expect(factory.made).toHaveLength(3);
    const two = instant();
    const pair = { ...spec, drivers: ['vfs', 'zfs'] };
    await predictParallel(requestFor(pair), pair, { threads: 4, spawn: two });
    expect(two.made).toHaveLength(1);
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
    for (const make of [inThread, instant]) {
      const factory = make();
      await expect(predictParallel(req, badImage, { threads: 3, spawn: factory })).rejects.toThrow(expected);
      expect(factory.made.every(w => w.terminated)).toBe(true);
    }
    const badWorkload = { ...spec, workload: 'nosuchgenerator' };
    const err = await predictParallel(req, badWorkload, { threads: 2, spawn: inThread() }).catch((e: unknown) => e);
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
    let die: ((e: Error) => void) | undefined;
    const pending: WorkerMessage[] = [{ type: 'ready' }];
    const dying: WorkerFactory = () => ({
      post() {},
      poll: () => pending.shift(),
      listen() {},
      onDeath: fn => void (die = fn),
      terminate() {},
    });
    const run = predictParallel(req, spec, { threads: 2, spawn: dying });
    die!(new Error('exited (code 1)'));
    // the worker was handed the first driver after this thread's (devicemapper): btrfs
    await expect(run).rejects.toThrow('predict: the worker thread sweeping btrfs exited (code 1)');
  });

  it('runs in this thread only when an input cannot be read twice (a pipe)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'layersim-fifo-'));
    const fifo = join(dir, 'image.tar');
    expect(spawnSync('mkfifo', [fifo]).status).toBe(0);
    expect(rereadable({ image: fifo, workload: 'dd' })).toBe(false);
    expect(rereadable({ image: 'builtin:busybox', workload: fifo })).toBe(false);
    expect(rereadable({ image: 'builtin:busybox', workload: 'dd:bs=64k' })).toBe(true);
    expect(rereadable({ image: dir, workload: fileURLToPath(import.meta.url) })).toBe(true);
  });

  it('runs on as many threads as jobs allow, never more than the cores or the drivers', () => {
    expect(defaultJobs(1)).toBe(1);
    expect(defaultJobs(2)).toBe(1);
    expect(defaultJobs(8)).toBe(7);
    expect(threadCount(2, 6, 2)).toBe(2);
    expect(threadCount(8, 6, 2)).toBe(2);
    expect(threadCount(8, 3, 16)).toBe(3);
    expect(threadCount(1, 6, 2)).toBe(1);
    expect(threadCount(4, 1, 4)).toBe(1);
    expect(threadCount(4, 6, 1)).toBe(1);
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
    expect(factory.made).toHaveLength(threadCount(2, allModels.length) - 1);
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

/**
 * The built CLI (npm run build), which starts real worker threads: the bundle users run (its worker is bundled beside
 * it) and the compiled modules it is made from; both runs come from the same build. On a run this small the main
 * thread may sweep every driver before a worker has started: the test after them hands a real worker thread a driver
 * for certain.
 */
const root = fileURLToPath(new URL('../../', import.meta.url));
const bin = join(root, 'dist/cli/bin.js');
const built = ['dist/cli/bin.js', 'dist/cli/worker.js', 'dist/src/predict/worker.js'].every(p => existsSync(join(root, p)));

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

  it('a worker thread sweeps what it is handed: the report is the sequential one', async () => {
    const dist = (path: string) => import(join(root, 'dist/src', path));
    const par = (await dist('predict/parallel.js')) as typeof Parallel;
    const { predict: predictDist } = (await dist('predict/simulate.js')) as typeof Simulate;
    const { loadImageSource: loadDist } = (await dist('image/resolve.js')) as typeof Resolve;
    const req = par.requestOf(spec, par.loadSpecWorkload(spec), loadDist(spec.image));
    const handed: number[] = [];
    // the worker is ready before this thread starts sweeping, so it gets the second driver of the queue
    const factory: WorkerFactory = s => {
      const w = par.spawnThread(s);
      const sleep = new Int32Array(new SharedArrayBuffer(4));
      let first: WorkerMessage | undefined;
      for (let t = 0; t < 6000 && (first = w.poll()) === undefined; t++) Atomics.wait(sleep, 0, 0, 5);
      expect(first).toEqual({ type: 'ready' });
      const poll = () => {
        const m = first ?? w.poll();
        first = undefined;
        return m;
      };
      return { ...w, poll, post: t => (handed.push(t.index), w.post(t)) };
    };
    const report = await par.predictParallel(req, spec, { threads: 2, spawn: factory });
    expect(handed.length).toBeGreaterThanOrEqual(1);
    expect(timeless(report)).toBe(timeless(predictDist(req)));
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
