/**
 * `layersim predict --image SOURCE --workload W`: N containers of an image, each running the workload, on each
 * driver model; disk growth over containers and over time, the ranking, and which operations dominate the cost, as
 * a table, JSON, CSV or a self-contained HTML page; `--fail-if` gates for CI (exit 1), unusable input exits 2.
 */
import { writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import type { Command } from 'commander';
import { allModels } from '../../models/index.js';
import type { DriverModel } from '../engine/driver.js';
import { parseOptionPairs, resolveOptions } from '../engine/drivers.js';
import { loadImageSource } from '../image/resolve.js';
import { formatBytes } from '../report/format.js';
import { TraceError } from '../trace/parse.js';
import { formatCsv, formatPrediction } from './format.js';
import { renderHtml } from './html.js';
import { ProgressBar } from './progress.js';
import { checkRules, parseRule, RuleError, type FailRule, type RuleOutcome } from './rules.js';
import { loadSpecWorkload, predictParallel, requestOf, rereadable, workerScriptAvailable, type PredictSpec, type WorkerFactory } from './parallel.js';
import { predict, ruleFigures, RULE_METRICS, type PredictReport, type PredictRequest, type Schedule } from './simulate.js';
import { describeGenerators, WorkloadError } from './workload.js';

const EXIT_FAILED = 1;
const EXIT_USAGE = 2;

class PredictUsageError extends Error {}

export interface PredictCliOptions {
  image?: string;
  workload?: string;
  containers: string;
  schedule: string;
  drivers: string;
  driverOpt: string[];
  json?: boolean;
  csv?: boolean;
  html?: string;
  failIf: string[];
  exec: string;
  interval: string;
  settle: string;
  prefixDepth: string;
  fioScale?: string;
  seed?: string;
  progress?: boolean;
  jobs?: string;
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

function count(name: string, text: string, min: number): number {
  if (!/^\d+$/.test(text) || Number(text) < min || !Number.isSafeInteger(Number(text))) throw new PredictUsageError(`${name} ${text}: expected an integer >= ${min}`);
  return Number(text);
}

function seconds(name: string, text: string): number {
  const v = Number(text);
  if (text.trim() === '' || !Number.isFinite(v) || v < 0) throw new PredictUsageError(`${name} ${text}: expected seconds >= 0`);
  return v;
}

export function parseSchedule(text: string): Schedule {
  if (text === 'all') return { kind: 'all' };
  const m = /^commit-every:(\d+)$/.exec(text);
  if (m !== null && Number(m[1]) >= 1) return { kind: 'commit-every', every: Number(m[1]) };
  throw new PredictUsageError(`--schedule ${text}: expected all or commit-every:K (K >= 1)`);
}

function pickModels(text: string): DriverModel[] {
  if (text === 'all') return [...allModels];
  return text.split(',').map(s => s.trim()).filter(s => s !== '').map(n => {
    const m = allModels.find(x => x.name === n);
    if (m === undefined) throw new PredictUsageError(`--drivers: unknown driver '${n}' (known: ${allModels.map(x => x.name).join(', ')}, all)`);
    return m;
  });
}

/** Checks `--driver-opt` against the chosen models: every key must belong to one of them, values must be valid. */
function checkOptions(models: readonly DriverModel[], pairs: readonly string[]): Record<string, string> {
  let options: Record<string, string>;
  try {
    options = parseOptionPairs(pairs);
    for (const key of Object.keys(options)) {
      if (!models.some(m => key in m.options)) throw new Error(`--driver-opt ${key}: no selected driver has this option (${models.map(m => `${m.name}: ${Object.keys(m.options).join(', ') || 'none'}`).join('; ')})`);
    }
    for (const m of models) resolveOptions(m, models.length === 1 ? options : Object.fromEntries(Object.entries(options).filter(([k]) => k in m.options)));
  } catch (e) {
    throw new PredictUsageError((e as Error).message);
  }
  return options;
}

export interface PredictOutcome {
  report: PredictReport;
  rules: RuleOutcome[];
  status: number;
}

export interface PredictOutput {
  stdout: (s: string) => void;
  stderr: (s: string) => void;
  isTTY: boolean;
}

/** A validated command: what to simulate (as data and as loaded), the rules to check, the bar to draw on. */
interface Prepared {
  spec: PredictSpec;
  req: PredictRequest;
  rules: FailRule[];
  progress: ProgressBar | undefined;
  jobs: number;
}

/** Validates everything and loads the inputs, in the order that decides which error a bad command reports. */
function prepare(o: PredictCliOptions, out: PredictOutput): Prepared {
  if (o.image === undefined) throw new PredictUsageError('--image SOURCE is required (a directory, a tar, a docker save or OCI archive, builtin:busybox)');
  if (o.workload === undefined) throw new PredictUsageError(`--workload is required: a JSONL trace, a fio job file, or a generator spec:\n${describeGenerators()}`);
  if (o.json && o.csv) throw new PredictUsageError('--json and --csv: choose one');
  const models = pickModels(o.drivers);
  if (models.length === 0) throw new PredictUsageError('--drivers: no driver given');
  const options = checkOptions(models, o.driverOpt);
  const containers = count('--containers', o.containers, 1);
  const schedule = parseSchedule(o.schedule);
  const jobs = o.jobs === undefined ? defaultJobs() : count('--jobs', o.jobs, 1);
  const rules: FailRule[] = o.failIf.map(text => parseRule(text, RULE_METRICS, allModels.map(m => m.name)));
  for (const r of rules) {
    if (r.driver !== '*' && !models.some(m => m.name === r.driver)) throw new RuleError(`--fail-if '${r.text}': ${r.driver} is not among the drivers run (${models.map(m => m.name).join(', ')})`);
  }
  const fioScale = o.fioScale === undefined ? undefined : Number(o.fioScale);
  if (fioScale !== undefined && !(fioScale > 0)) throw new PredictUsageError(`--fio-scale ${o.fioScale}: expected a positive number`);
  const base = { image: o.image, workload: o.workload, ...(fioScale !== undefined ? { fioScale } : {}) };
  const workload = loadSpecWorkload(base);
  for (const w of workload.warnings) out.stderr(`layersim: warning: ${w}`);
  const trees = loadImageSource(o.image);
  const spec: PredictSpec = {
    ...base,
    drivers: models.map(m => m.name),
    options,
    containers,
    schedule,
    ...(o.exec === 'none' ? {} : { exec: o.exec }),
    intervalSeconds: seconds('--interval', o.interval),
    settleSeconds: seconds('--settle', o.settle),
    prefixDepth: count('--prefix-depth', o.prefixDepth, 1),
    ...(o.seed !== undefined ? { seed: count('--seed', o.seed, 0) } : {}),
  };
  const progress = out.isTTY && o.progress !== false && !o.json && !o.csv ? new ProgressBar(models.length * containers, process.stderr) : undefined;
  const req: PredictRequest = { ...requestOf(spec, workload, trees), ...(progress ? { onProgress: (d: string, i: number) => progress.tick(`${d} #${i}`) } : {}) };
  return { spec, req, rules, progress, jobs };
}

/** Checks the rules, writes the report in the format asked for; the exit status. */
function conclude(p: Prepared, report: PredictReport, o: PredictCliOptions, out: PredictOutput): PredictOutcome {
  const outcomes = checkRules(p.rules, new Map(report.drivers.map(d => [d.driver, ruleFigures(d)])));
  if (o.html !== undefined) writeFileSync(o.html, renderHtml(report));
  if (o.json) out.stdout(JSON.stringify({ ...report, rules: outcomes }));
  else if (o.csv) out.stdout(formatCsv(report).trimEnd());
  else {
    out.stdout(formatPrediction(report));
    if (o.html !== undefined) out.stdout(`\nwrote ${o.html}`);
  }
  let status = 0;
  for (const r of outcomes) {
    if (r.passed) continue;
    status = EXIT_FAILED;
    const who = r.failures.map(f => `${f.driver} ${f.metric} = ${formatBytes(f.value)} (${f.value} B)`).join(', ');
    out.stderr(`layersim: --fail-if '${r.rule}' failed: ${who}`);
  }
  return { report, rules: outcomes, status };
}

/** The command's body without the CLI plumbing: validates everything first, then simulates in this thread, writes and checks. */
export function runPredict(o: PredictCliOptions, out: PredictOutput): PredictOutcome {
  const p = prepare(o, out);
  let report: PredictReport;
  try {
    report = predict(p.req);
  } finally {
    p.progress?.finish();
  }
  return conclude(p, report, o, out);
}

/**
 * --jobs by default: a core left to Node's own compiler and garbage-collector threads, which already keep a second
 * core busy (on 2 cores a worker made the kaniko dd sweep slower: 1.22-1.34 s against 1.14-1.18 s in one thread).
 */
export function defaultJobs(cores = availableParallelism()): number {
  return Math.max(1, cores - 1);
}

/** The threads `runPredictParallel` sweeps on, this one included: --jobs, at most one per core and per driver. */
export function threadCount(jobs: number, drivers: number, cores = availableParallelism()): number {
  return Math.max(1, Math.min(jobs, cores, drivers));
}

/**
 * runPredict with the drivers' sweeps spread over `--jobs` threads, this one and worker threads (never more than the
 * cores, or the drivers); all in this thread when that is one, when the compiled worker script is absent (the
 * TypeScript sources under vitest or tsx) or when an input cannot be read twice (a pipe). The output is
 * runPredict's, elapsedMs aside.
 */
export async function runPredictParallel(o: PredictCliOptions, out: PredictOutput, spawn?: WorkerFactory): Promise<PredictOutcome> {
  const p = prepare(o, out);
  const threads = threadCount(p.jobs, p.spec.drivers.length);
  let report: PredictReport;
  try {
    report = threads > 1 && (spawn !== undefined || workerScriptAvailable()) && rereadable(p.spec) ? await predictParallel(p.req, p.spec, { threads, ...(spawn ? { spawn } : {}) }) : predict(p.req);
  } finally {
    p.progress?.finish();
  }
  return conclude(p, report, o, out);
}

/** Unusable input: printed as one line, exit status 2; anything else is a crash. */
function usageStatus(e: unknown): number {
  if (e instanceof PredictUsageError || e instanceof RuleError || e instanceof WorkloadError || e instanceof TraceError || (e instanceof Error && e.message.startsWith('image: '))) {
    console.error(`layersim: ${e.message}`);
    return EXIT_USAGE;
  }
  throw e;
}

/**
 * Adds `predict` to the CLI; `setStatus` receives the exit status. `parallel`: the action returns a promise (the
 * program must be run with parseAsync) and sweeps the drivers on worker threads (runPredictParallel).
 */
export function registerPredict(program: Command, setStatus: (code: number) => void, parallel = false): void {
  const out = (): PredictOutput => ({ stdout: s => console.log(s), stderr: s => console.error(s), isTTY: process.stderr.isTTY === true });
  const command = program
    .command('predict')
    .description('N containers of an image running a workload on each driver: disk growth over containers and time, ranking, dominant operations')
    .option('-i, --image <source>', 'the image: a directory, a rootfs tar, a docker save or OCI archive, builtin:busybox')
    .option('-w, --workload <workload>', `a JSONL trace (its file ops), a fio job file, or a generator spec NAME[:key=value,...], e.g. dd:bs=64k,count=1`)
    .option('-n, --containers <n>', 'containers to run', '100')
    .option('--schedule <schedule>', 'all (every container from the image) or commit-every:K (commit every K-th container, later ones run from it)', 'all')
    .option('-d, --drivers <list>', 'driver models: all, or a comma list', 'all')
    .option('-o, --driver-opt <key=value>', 'driver option, for the drivers that have it (repeatable)', collect, [])
    .option('--json', 'print every figure as one JSON object')
    .option('--csv', 'print one CSV row per driver x container')
    .option('--html <file>', 'write a self-contained HTML page with SVG charts')
    .option('--fail-if <rule>', 'DRIVER.METRIC OP SIZE, e.g. overlay2.dataBytes>2GiB or *.growth.dfUsedBytes>=500MB: exit 1 when it holds (repeatable)', collect, [])
    .option('--exec <path>', "file each container's process executes first (page cache), or none", '/bin/sh')
    .option('--interval <seconds>', 'simulated seconds between containers (background writeback runs)', '10')
    .option('--settle <seconds>', 'idle seconds before the final reading', '60')
    .option('--prefix-depth <n>', 'path components of the by-path cost aggregation', '2')
    .option('--fio-scale <factor>', 'fio job files: multiply every size (0.01 runs a 1% model)')
    .option('--seed <n>', 'seed for random fills')
    .option('--no-progress', 'no progress bar on stderr')
    .option('-j, --jobs <n>', 'drivers simulated at once, this process and worker threads (default: the available cores less one, never more than the cores; 1: one after another in this thread)')
    .addHelpText('after', `\nGenerators:\n${describeGenerators()}\n\nExit status: 0, 1 when a --fail-if rule holds, 2 for unusable input.`);
  if (parallel) {
    command.action(async (o: PredictCliOptions) => {
      try {
        setStatus((await runPredictParallel(o, out())).status);
      } catch (e) {
        setStatus(usageStatus(e));
      }
    });
  } else {
    command.action((o: PredictCliOptions) => {
      try {
        setStatus(runPredict(o, out()).status);
      } catch (e) {
        setStatus(usageStatus(e));
      }
    });
  }
}
