/**
 * The drivers' sweeps on worker threads. Each sweep (predictDriver) builds its own Host from the image trees and the
 * workload, seeded, so sweeps share nothing but their inputs and can run at once. Volume trees are class instances
 * and do not survive structured clone: a worker loads the image and the workload again from the same inputs (the
 * CLI's strings, a PredictSpec), runs the drivers it is handed one at a time, and posts back plain DriverPrediction
 * objects and a tick per container (the progress bar). The report is assembled in the requested driver order, so it
 * is the sequential report whatever order the sweeps finished in.
 */
import { existsSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { MessageChannel, receiveMessageOnPort, Worker, type MessagePort } from 'node:worker_threads';
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
  | { type: 'ready' }
  | { type: 'tick'; driver: string; container: number }
  | { type: 'done'; index: number; prediction: DriverPrediction }
  | { type: 'error'; error: SentError };

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

/** The worker's end of the channel: a MessagePort. */
export interface WorkerPort {
  postMessage(m: WorkerMessage): void;
  on(event: 'message', fn: (m: TaskMessage) => void): unknown;
}

/**
 * A worker's body: loads the spec's workload and image, says it is ready, then sweeps each driver it is handed.
 * Errors, the image's or workload's included, go back as messages: the main thread rethrows them.
 */
export function serveDriverWorker(spec: PredictSpec, port: WorkerPort): void {
  let req: PredictRequest;
  try {
    req = requestOf(spec, loadSpecWorkload(spec), loadImageSource(spec.image));
  } catch (e) {
    port.postMessage({ type: 'error', error: sendable(e) });
    return;
  }
  port.on('message', ({ index }) => {
    try {
      const model = req.models[index];
      if (model === undefined) throw new Error(`predict: no driver #${index}`);
      const prediction = predictDriver(model, { ...req, onProgress: (driver, container) => port.postMessage({ type: 'tick', driver, container }) });
      port.postMessage({ type: 'done', index, prediction });
    } catch (e) {
      port.postMessage({ type: 'error', error: sendable(e) });
    }
  });
  port.postMessage({ type: 'ready' });
}

/**
 * The main thread's handle on a worker. While the main thread runs sweeps of its own it polls (between its
 * containers); when it has none left it listens.
 */
export interface DriverWorker {
  post(task: TaskMessage): void;
  /** The worker's next message if one has arrived, without waiting. */
  poll(): WorkerMessage | undefined;
  /** From now on, messages not polled go to `fn` as they arrive. */
  listen(fn: (m: WorkerMessage) => void): void;
  /** `fn` is called if the thread fails or exits (after terminate() too). */
  onDeath(fn: (e: Error) => void): void;
  terminate(): void;
}

export type WorkerFactory = (spec: PredictSpec) => DriverWorker;

/**
 * Whether a worker reading the spec's inputs again reads what this thread read: a pipe (`--image <(docker save x)`)
 * or a device gives its bytes once, to this thread.
 */
export function rereadable(spec: Pick<PredictSpec, 'image' | 'workload'>): boolean {
  const plain = (path: string) => {
    try {
      const st = statSync(path);
      return st.isFile() || st.isDirectory();
    } catch {
      return true;
    }
  };
  return (spec.image.startsWith('builtin:') || plain(spec.image)) && plain(spec.workload);
}

/** The compiled worker script next to this module (dist); absent when the TypeScript sources run (vitest, tsx). */
const WORKER_SCRIPT = new URL('./worker.js', import.meta.url);

export function workerScriptAvailable(): boolean {
  return WORKER_SCRIPT.protocol === 'file:' && existsSync(fileURLToPath(WORKER_SCRIPT));
}

/** What the worker script receives. */
export interface WorkerData {
  spec: PredictSpec;
  port: MessagePort;
}

/**
 * A worker thread of the worker script, talking over its own MessageChannel (a Worker's built-in port cannot be
 * read synchronously; receiveMessageOnPort reads a MessagePort's).
 */
export const spawnThread: WorkerFactory = spec => {
  const { port1, port2 } = new MessageChannel();
  const data: WorkerData = { spec, port: port2 };
  const thread = new Worker(WORKER_SCRIPT, { workerData: data, transferList: [port2] });
  return {
    post: task => port1.postMessage(task),
    poll: () => receiveMessageOnPort(port1)?.message as WorkerMessage | undefined,
    listen: fn => void port1.on('message', fn),
    onDeath: fn => {
      thread.on('error', e => fn(new Error(`failed: ${e.message}`, { cause: e })));
      thread.on('exit', code => fn(new Error(`exited (code ${code})`)));
    },
    terminate: () => {
      port1.close();
      void thread.terminate();
    },
  };
};

/**
 * The order drivers are handed out: block stores first (measured on the kaniko image, 100 containers: btrfs, zfs
 * and devicemapper take 2-10x a union or copy driver's sweep, every write allocating through a pool, an extent tree
 * or a transaction group), so the long sweeps start at once and the short ones fill in around them; request order
 * otherwise.
 */
export function dispatchOrder(models: readonly DriverModel[]): number[] {
  const block = (m: DriverModel) => (capabilitiesOf(m, resolveOptions(m, {})).kind === 'block' ? 0 : 1);
  return models.map((_, i) => i).sort((a, b) => block(models[a]!) - block(models[b]!) || a - b);
}

export interface ParallelOptions {
  /** Threads sweeping at once, this one included: `threads - 1` workers are started. */
  threads: number;
  spawn?: WorkerFactory;
}

/**
 * `predict(req)` with the sweeps spread over this thread and `threads - 1` workers built by `spawn` from `spec`
 * (which must describe `req`). One queue of drivers: this thread takes the first at once (it has the inputs loaded
 * and its code compiled, while a worker takes a few hundred milliseconds to load both), a worker takes one when it
 * is ready, and whoever finishes takes the next; a run too short to wait for a worker's start is this thread's
 * alone. `req.onProgress` receives every thread's ticks (a worker's when this thread polls between its containers,
 * or as they arrive once it waits). Rejects with the first error a worker reports, as thrown, or when one dies.
 */
export async function predictParallel(req: PredictRequest, spec: PredictSpec, opts: ParallelOptions): Promise<PredictReport> {
  checkContainers(req);
  const queue = dispatchOrder(req.models);
  const results: DriverPrediction[] = [];
  let remaining = req.models.length;
  const spawn = opts.spawn ?? spawnThread;
  const workers: DriverWorker[] = [];
  /** The driver index each worker is sweeping. */
  const busy = new Map<DriverWorker, number>();
  let failure: Error | undefined;
  /** Set while this thread waits for the workers: re-checks whether they are done. */
  let wake: (() => void) | undefined;

  const assign = (w: DriverWorker) => {
    const index = queue.shift();
    if (index === undefined) return w.terminate();
    busy.set(w, index);
    w.post({ type: 'run', index });
  };
  const handle = (w: DriverWorker, m: WorkerMessage) => {
    if (m.type === 'tick') req.onProgress?.(m.driver, m.container);
    else if (m.type === 'ready') assign(w);
    else if (m.type === 'error') failure ??= revive(m.error);
    else {
      results[m.index] = m.prediction;
      remaining--;
      busy.delete(w);
      assign(w);
    }
  };
  const pump = () => {
    for (const w of workers) {
      for (let m = w.poll(); m !== undefined && failure === undefined; m = w.poll()) handle(w, m);
    }
    if (failure !== undefined) throw failure;
  };

  try {
    for (let k = 1; k < Math.min(opts.threads, queue.length); k++) {
      const w = spawn(spec);
      workers.push(w);
      w.onDeath(e => {
        const index = busy.get(w);
        if (index === undefined) return;
        failure ??= new Error(`predict: the worker thread sweeping ${req.models[index]!.name} ${e.message}`, { cause: e });
        wake?.();
      });
    }
    const onProgress = (driver: string, container: number) => {
      req.onProgress?.(driver, container);
      pump();
    };
    for (let index = queue.shift(); index !== undefined; index = queue.shift()) {
      results[index] = predictDriver(req.models[index]!, { ...req, onProgress });
      remaining--;
      pump();
    }
    if (remaining > 0) {
      await new Promise<void>((resolve, reject) => {
        wake = () => (failure !== undefined ? reject(failure) : remaining === 0 ? resolve() : undefined);
        for (const w of workers) {
          w.listen(m => {
            if (failure === undefined) handle(w, m);
            wake?.();
          });
        }
        wake();
      });
    }
  } finally {
    for (const w of workers) w.terminate();
  }
  return assembleReport(req, results);
}
