/**
 * The drivers' sweeps on worker threads. Each sweep (predictDriver) builds its own Host from the image trees and the
 * workload, seeded, so sweeps share nothing but their inputs and can run at once. Volume trees are class instances
 * and do not survive structured clone: a worker loads the image and the workload again from the same inputs (the
 * CLI's strings, a PredictSpec), runs the drivers it is handed one at a time, and posts back plain DriverPrediction
 * objects and a tick per container (the progress bar). The report is assembled in the requested driver order, so it
 * is the sequential report whatever order the sweeps finished in.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { allModels } from '../../models/index.js';
import { capabilitiesOf, type DriverModel } from '../engine/driver.js';
import { resolveOptions } from '../engine/drivers.js';
import { loadImageSource } from '../image/resolve.js';
import { TraceError } from '../trace/parse.js';
import type { Volume } from '../fs/volume.js';
import { assembleReport, checkContainers, predictDriver, type DriverPrediction, type PredictReport, type PredictRequest, type Schedule } from './simulate.js';
import { loadWorkload, WorkloadError, type Workload } from './workload.js';

/** A prediction's inputs as plain data (what crosses to a worker): sources by name, drivers by model name. */
export interface PredictSpec {
  image: string;
  workload: string;
  fioScale?: number;
  drivers: string[];
  options: Record<string, string>;
  containers: number;
  schedule: Schedule;
  exec?: string;
  intervalSeconds: number;
  settleSeconds: number;
  prefixDepth: number;
  seed?: number;
}

export function loadSpecWorkload(spec: Pick<PredictSpec, 'workload' | 'fioScale'>): Workload {
  return loadWorkload(spec.workload, spec.fioScale !== undefined ? { fioScale: spec.fioScale } : {});
}

/** The request a spec stands for, from its loaded workload and image trees (the CLI and every worker build it here). */
export function requestOf(spec: PredictSpec, workload: Workload, trees: readonly Volume[]): PredictRequest {
  const models = spec.drivers.map(name => {
    const m = allModels.find(x => x.name === name);
    if (m === undefined) throw new Error(`predict: unknown driver '${name}'`);
    return m;
  });
  return {
    image: { source: spec.image, trees },
    workload,
    // every model, not only a worker's share: predictDriver hands a lone model every --driver-opt
    models,
    options: spec.options,
    containers: spec.containers,
    schedule: spec.schedule,
    exec: spec.exec,
    intervalSeconds: spec.intervalSeconds,
    settleSeconds: spec.settleSeconds,
    prefixDepth: spec.prefixDepth,
    ...(spec.seed !== undefined ? { seed: spec.seed } : {}),
  };
}

/** Main thread to worker: sweep `req.models[index]`. */
export interface TaskMessage {
  type: 'run';
  index: number;
}

/** An error as it crosses threads: its message and stack, and what the CLI needs to classify it (exit 2 or a crash). */
export interface SentError {
  kind: 'workload' | 'trace' | 'other';
  message: string;
  stack?: string;
  trace?: { file: string; line: number; reason: string };
}

export type WorkerMessage =
  | { type: 'tick'; driver: string; container: number }
  | { type: 'done'; index: number; prediction: DriverPrediction }
  | { type: 'error'; index: number; error: SentError };

function sendable(e: unknown): SentError {
  if (e instanceof TraceError) return { kind: 'trace', message: e.message, ...(e.stack ? { stack: e.stack } : {}), trace: { file: e.file, line: e.line, reason: e.reason } };
  if (e instanceof Error) return { kind: e instanceof WorkloadError ? 'workload' : 'other', message: e.message, ...(e.stack ? { stack: e.stack } : {}) };
  return { kind: 'other', message: String(e) };
}

/** The error the worker threw, as the same class when the CLI tells classes apart (WorkloadError, TraceError). */
export function revive(e: SentError): Error {
  const err = e.kind === 'trace' && e.trace !== undefined ? new TraceError(e.trace.file, e.trace.line, e.trace.reason) : e.kind === 'workload' ? new WorkloadError(e.message) : new Error(e.message);
  if (e.stack !== undefined) err.stack = e.stack;
  return err;
}

/** The worker's end of the channel: a worker thread's parentPort, or a MessagePort in tests. */
export interface WorkerPort {
  postMessage(m: WorkerMessage): void;
  on(event: 'message', fn: (m: TaskMessage) => void): unknown;
}

/**
 * A worker's body: loads the spec's workload and image at its first task (once), then sweeps each driver it is
 * handed. Errors, the image's or workload's included, go back as messages: the main thread rethrows them.
 */
export function serveDriverWorker(spec: PredictSpec, port: WorkerPort): void {
  let req: PredictRequest | undefined;
  port.on('message', ({ index }) => {
    try {
      req ??= requestOf(spec, loadSpecWorkload(spec), loadImageSource(spec.image));
      const model = req.models[index];
      if (model === undefined) throw new Error(`predict: no driver #${index}`);
      const prediction = predictDriver(model, { ...req, onProgress: (driver, container) => port.postMessage({ type: 'tick', driver, container }) });
      port.postMessage({ type: 'done', index, prediction });
    } catch (e) {
      port.postMessage({ type: 'error', index, error: sendable(e) });
    }
  });
}

/** The main thread's handle on a worker (node's Worker has this shape). */
export interface DriverWorker {
  postMessage(m: TaskMessage): void;
  on(event: 'message', fn: (m: WorkerMessage) => void): unknown;
  on(event: 'error', fn: (e: Error) => void): unknown;
  on(event: 'exit', fn: (code: number) => void): unknown;
  terminate(): unknown;
}

export type WorkerFactory = (spec: PredictSpec) => DriverWorker;

/** The compiled worker script next to this module (dist); absent when the TypeScript sources run (vitest, tsx). */
const WORKER_SCRIPT = new URL('./worker.js', import.meta.url);

export function workerScriptAvailable(): boolean {
  return WORKER_SCRIPT.protocol === 'file:' && existsSync(fileURLToPath(WORKER_SCRIPT));
}

export const spawnThread: WorkerFactory = spec => new Worker(WORKER_SCRIPT, { workerData: spec });

/**
 * The order drivers are handed out: block stores first (measured on 100 containers: btrfs, zfs and devicemapper
 * take 2-6x a union or copy driver's sweep, every write allocating through a pool, an extent tree or a transaction
 * group), so the long sweeps start at once and the short ones fill in around them; request order otherwise.
 */
export function dispatchOrder(models: readonly DriverModel[]): number[] {
  const block = (m: DriverModel) => (capabilitiesOf(m, resolveOptions(m, {})).kind === 'block' ? 0 : 1);
  return models.map((_, i) => i).sort((a, b) => block(models[a]!) - block(models[b]!) || a - b);
}

export interface ParallelOptions {
  /** Worker threads to start (at most one per driver). */
  workers: number;
  spawn?: WorkerFactory;
}

/**
 * `predict(req)` with the sweeps on worker threads built by `spawn` from `spec` (which must describe `req`): a
 * queue of drivers, each worker taking the next one when it finishes. `req.onProgress` receives every worker's
 * ticks. Rejects with the first error a worker reports (its class and message as thrown), or when a worker dies.
 */
export function predictParallel(req: PredictRequest, spec: PredictSpec, opts: ParallelOptions): Promise<PredictReport> {
  checkContainers(req);
  const queue = dispatchOrder(req.models);
  const results: DriverPrediction[] = [];
  const spawn = opts.spawn ?? spawnThread;
  const count = Math.max(1, Math.min(opts.workers, queue.length));
  return new Promise<PredictReport>((resolve, reject) => {
    const pool: DriverWorker[] = [];
    /** The driver index each worker is sweeping. */
    const busy = new Map<DriverWorker, number>();
    let remaining = req.models.length;
    let settled = false;
    const stopAll = () => {
      settled = true;
      for (const w of pool) w.terminate();
    };
    const fail = (e: Error) => {
      if (settled) return;
      stopAll();
      reject(e);
    };
    const next = (w: DriverWorker) => {
      const index = queue.shift();
      if (index === undefined) {
        busy.delete(w);
        w.terminate();
        return;
      }
      busy.set(w, index);
      w.postMessage({ type: 'run', index });
    };
    for (let k = 0; k < count && !settled; k++) {
      let w: DriverWorker;
      try {
        w = spawn(spec);
      } catch (e) {
        fail(e as Error);
        break;
      }
      pool.push(w);
      w.on('message', m => {
        if (settled) return;
        if (m.type === 'tick') req.onProgress?.(m.driver, m.container);
        else if (m.type === 'error') fail(revive(m.error));
        else {
          results[m.index] = m.prediction;
          if (--remaining > 0) return next(w);
          stopAll();
          try {
            resolve(assembleReport(req, results));
          } catch (e) {
            reject(e as Error);
          }
        }
      });
      w.on('error', fail);
      w.on('exit', code => {
        const index = busy.get(w);
        if (index !== undefined) fail(new Error(`predict: the worker thread sweeping ${req.models[index]!.name} exited (code ${code})`));
      });
      next(w);
    }
  });
}
