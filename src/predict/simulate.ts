/**
 * The prediction: N containers of one image, each replaying the same workload, on each driver model, with the
 * usage read after every container (and within it, per group of workload lines), the page cache their processes
 * hold, `docker ps -s`, and every operation's cost aggregated by op kind and by path prefix.
 */
import type { DriverModel, StorageUsage } from '../engine/driver.js';
import { resolveOptions } from '../engine/drivers.js';
import { Host, type ContainerRecord } from '../engine/host.js';
import { FsError } from '../fs/errno.js';
import type { Volume } from '../fs/volume.js';
import { containerSizeRw, layerTarSize } from '../report/docker-size.js';
import { PageCache } from '../report/experiment.js';
import type { TraceLine } from '../trace/parse.js';
import { TraceRunner, type OpCost } from '../trace/execute.js';
import { O_RDONLY } from '../vfs/syscalls.js';
import type { Workload } from './workload.js';

export type Schedule = { kind: 'all' } | { kind: 'commit-every'; every: number };

/** The figures read at one point: the store's usage, Docker's own reports, the page cache and the traffic so far. */
export interface Figures {
  dataBytes: number;
  metadataBytes: number;
  dfUsedBytes: number;
  allocatedBytes: number;
  apparentBytes: number;
  /** `docker ps -s` (read once, after the sweep): the sum of the SizeRw of the containers run so far. */
  sizeRwBytes: number;
  /** Page cache the containers hold: the files their processes executed, read or wrote, by distinct real inode. */
  pageCacheBytes: number;
  /** Bytes written by copy-up so far (union drivers). */
  copyUpBytes: number;
  /** Data bytes written to the store so far (every op, lifecycle included). */
  writtenBytes: number;
}

/** `docker info`'s pool lines (devicemapper's Data/Metadata Space Used), when the usage carries a pool. */
export interface DockerInfo {
  dataSpaceUsedBytes: number;
  metadataSpaceUsedBytes: number;
}

export interface SeriesPoint extends Figures {
  /** Containers run so far (1-based). */
  container: number;
  /** Simulated seconds since the image was loaded. */
  timeSeconds: number;
  /** The image the container ran from. */
  image: string;
  dockerInfo?: DockerInfo;
  /** The model's own usage figures beyond the standard five (pool blocks, chunks, datasets ...). */
  detail: Record<string, number>;
}

export interface TimelinePoint {
  timeSeconds: number;
  container: number;
  /** `docker run`, `lines A-B` of the workload, `docker commit`, `idle`. */
  label: string;
  dataBytes: number;
  metadataBytes: number;
  dfUsedBytes: number;
}

export interface CostRow {
  /** The op kind (`write`, `docker run` ...) or the path prefix (`/var/lib`, `(lifecycle)`). */
  key: string;
  count: number;
  dataBytes: number;
  metadataBytes: number;
  copyUpBytes: number;
  allocatedBytes: number;
  lookups: number;
}

export interface DriverPrediction {
  driver: string;
  kind: 'union' | 'copy' | 'block';
  options: Record<string, string>;
  /** After the image is loaded, before any container. */
  baseline: Figures & { dockerInfo?: DockerInfo; detail: Record<string, number> };
  series: SeriesPoint[];
  timeline: TimelinePoint[];
  /** After the last container and `settleSeconds` of idle time (writeback, transaction commits). */
  final: SeriesPoint;
  /** final minus baseline, per figure. */
  growth: Figures;
  costs: { byOp: CostRow[]; byPrefix: CostRow[] };
  /** Workload lines whose op failed (errno) where the line expected success, first few listed. */
  failedOps: { count: number; first: { container: number; line: number; op: string; outcome: string }[] };
  /** Set when the schedule could not go on (too many layers, no space): the containers that ran are reported. */
  stopped?: { container: number; step: string; reason: string };
  /** Wall-clock milliseconds the simulation took. */
  elapsedMs: number;
}

export interface PredictRequest {
  image: { source: string; trees: readonly Volume[] };
  workload: Workload;
  models: readonly DriverModel[];
  /** `--driver-opt` pairs, given to each model that declares the key. */
  options: Readonly<Record<string, string>>;
  containers: number;
  schedule: Schedule;
  /** The file each container's process executes first (its pages are cached), or undefined for none. */
  exec: string | undefined;
  /** Simulated seconds between containers (default 10). */
  intervalSeconds?: number;
  /** Idle seconds before the final reading (default 60). */
  settleSeconds?: number;
  /** Timeline points per container's workload (default 4). */
  timelineGroups?: number;
  /** Path components kept for the by-prefix aggregation (default 2: /var/lib/dpkg/status -> /var/lib). */
  prefixDepth?: number;
  seed?: number;
  /** Called after each container (for a progress bar). */
  onProgress?: (driver: string, container: number) => void;
}

export interface PredictReport {
  image: { source: string; layers: number; sizeBytes: number };
  workload: { kind: string; source: string; lines: number; warnings: string[] };
  containers: number;
  schedule: Schedule;
  exec: string | null;
  intervalSeconds: number;
  settleSeconds: number;
  drivers: DriverPrediction[];
  /** Drivers by final dfUsedBytes, smallest first. */
  ranking: { rank: number; driver: string; dfUsedBytes: number; growthBytes: number }[];
}

const STANDARD = new Set(['dataBytes', 'metadataBytes', 'dfUsedBytes', 'allocatedBytes', 'apparentBytes']);
/** dm-thin's metadata block (docker info's Metadata Space Used counts these). */
const THIN_METADATA_BLOCK = 4096;

export function dockerInfoOf(u: StorageUsage): DockerInfo | undefined {
  const blocks = u['poolDataBlocks'];
  const blockBytes = u['poolBlockBytes'];
  const meta = u['poolMetadataBlocks'];
  if (blocks === undefined || blockBytes === undefined || meta === undefined) return undefined;
  return { dataSpaceUsedBytes: blocks * blockBytes, metadataSpaceUsedBytes: meta * THIN_METADATA_BLOCK };
}

function detailOf(u: StorageUsage): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(u)) if (!STANDARD.has(k) && typeof v === 'number') out[k] = v;
  return out;
}

/** The names of the figures a driver's final reading has (what `--fail-if` can test). */
export const FIGURE_NAMES = ['dataBytes', 'metadataBytes', 'dfUsedBytes', 'allocatedBytes', 'apparentBytes', 'sizeRwBytes', 'pageCacheBytes', 'copyUpBytes', 'writtenBytes'] as const;

/** The path a trace line acts on (an fd's path from the `open` that named it), for the by-prefix aggregation. */
function linePaths(lines: readonly TraceLine[]): (string | undefined)[] {
  const fdPath = new Map<string, string>();
  return lines.map(({ op }) => {
    const o = op as { path?: string; from?: string; fd?: string };
    if (op.op === 'open' && o.fd !== undefined && o.path !== undefined) fdPath.set(o.fd, o.path);
    return o.path ?? o.from ?? (o.fd !== undefined ? fdPath.get(o.fd) : undefined);
  });
}

/** Paths whose pages a container's process holds at its end: every path the workload names. */
function touchedPaths(lines: readonly TraceLine[]): string[] {
  const out = new Set<string>();
  for (const { op } of lines) {
    const o = op as { path?: string; to?: string };
    if (o.path !== undefined) out.add(o.path);
    if (o.to !== undefined && op.op !== 'export' && op.op !== 'save') out.add(o.to);
  }
  return [...out];
}

export function pathPrefix(path: string | undefined, depth: number): string {
  if (path === undefined) return '(no path)';
  const parts = path.split('/').filter(p => p !== '');
  return '/' + parts.slice(0, depth).join('/');
}

class CostTable {
  private readonly rows = new Map<string, CostRow>();
  add(key: string, c: OpCost): void {
    let r = this.rows.get(key);
    if (r === undefined) this.rows.set(key, (r = { key, count: 0, dataBytes: 0, metadataBytes: 0, copyUpBytes: 0, allocatedBytes: 0, lookups: 0 }));
    r.count++;
    r.dataBytes += c.dataBytes;
    r.metadataBytes += c.metadataBytes;
    r.copyUpBytes += c.copyUpBytes;
    r.allocatedBytes += c.allocatedBytes;
    r.lookups += c.lookups;
  }
  /** Biggest first: allocated bytes, then bytes written. */
  sorted(): CostRow[] {
    return [...this.rows.values()].sort((a, b) => b.allocatedBytes - a.allocatedBytes || b.dataBytes + b.copyUpBytes - (a.dataBytes + a.copyUpBytes) || a.key.localeCompare(b.key));
  }
}

function pickFigures(p: Figures): Figures {
  const out = {} as Figures;
  for (const k of FIGURE_NAMES) out[k] = p[k];
  return out;
}

function minus(a: Figures, b: Figures): Figures {
  const out = {} as Figures;
  for (const k of FIGURE_NAMES) out[k] = a[k] - b[k];
  return out;
}

/** Runs the sweep on one model. */
export function predictDriver(model: DriverModel, req: PredictRequest): DriverPrediction {
  const t0 = performance.now();
  const options = resolveOptions(model, Object.fromEntries(Object.entries(req.options).filter(([k]) => req.models.length === 1 || k in model.options)));
  const host = new Host(model, options, req.seed !== undefined ? { seed: req.seed } : {});
  const interval = req.intervalSeconds ?? 10;
  const groups = Math.max(1, req.timelineGroups ?? 4);
  const depth = req.prefixDepth ?? 2;
  const lines = req.workload.lines;
  // every container runs the same lines: their by-prefix keys are worked out once
  const prefixes = linePaths(lines).map(p => pathPrefix(p, depth));
  const touched = touchedPaths(lines);
  const groupSize = Math.max(1, Math.ceil(lines.length / groups));
  const byOp = new CostTable();
  const byPrefix = new CostTable();
  const cache = new PageCache();
  const timeline: TimelinePoint[] = [];
  const series: SeriesPoint[] = [];
  const failedOps: DriverPrediction['failedOps'] = { count: 0, first: [] };
  let copyUp = 0;
  let written = 0;
  /** The containers that ran, in order: their SIZE is read after the sweep (see below). */
  const ran: ContainerRecord[] = [];
  let stopped: DriverPrediction['stopped'];

  host.loadImage('image', req.image.trees);
  const start = host.clock.now();
  const figures = (u: StorageUsage): Figures => ({
    dataBytes: u.dataBytes,
    metadataBytes: u.metadataBytes,
    dfUsedBytes: u.dfUsedBytes,
    allocatedBytes: u.allocatedBytes,
    apparentBytes: u.apparentBytes,
    // filled in after the sweep, when `docker ps -s` is read
    sizeRwBytes: 0,
    pageCacheBytes: cache.bytes,
    copyUpBytes: copyUp,
    writtenBytes: written,
  });
  /**
   * Readings are few: on btrfs (measure=sync) every usage() commits a transaction, whatever its `settle` argument.
   * `alloc` is the allocated bytes at the last reading, the "before" of the next step when nothing ran in between.
   */
  let alloc = 0;
  const time = () => Math.round((host.clock.now() - start) * 1000) / 1000;
  const point = (container: number, image: string): SeriesPoint => {
    const u = host.usage();
    alloc = u.allocatedBytes;
    const info = dockerInfoOf(u);
    return { container, timeSeconds: time(), image, ...figures(u), ...(info ? { dockerInfo: info } : {}), detail: detailOf(u) };
  };
  const mark = (container: number, label: string, u: StorageUsage = host.usage(false)) => {
    alloc = u.allocatedBytes;
    timeline.push({ timeSeconds: time(), container, label, dataBytes: u.dataBytes, metadataBytes: u.metadataBytes, dfUsedBytes: u.dfUsedBytes });
  };
  const charge = (key: string, prefix: string, c: OpCost) => {
    byOp.add(key, c);
    byPrefix.add(prefix, c);
    copyUp += c.copyUpBytes;
    written += c.dataBytes;
  };
  /** A lifecycle step, metered as a trace line is; `before` is the last reading. Returns the reading after it. */
  const step = (key: string, prefix: string, fn: () => void): StorageUsage => {
    host.meter.reset();
    const before = alloc;
    const account = (): StorageUsage => {
      const m = host.meter;
      const u = host.usage(false);
      alloc = u.allocatedBytes;
      charge(key, prefix, { dataBytes: m.dataBytes, metadataBytes: m.metadataBytes, copyUpBytes: m.copyUpBytes, allocatedBytes: u.allocatedBytes - before, lookups: m.lookups });
      return u;
    };
    try {
      fn();
    } catch (e) {
      account();
      throw e;
    }
    return account();
  };

  const b = point(0, 'image');
  const baseline: DriverPrediction['baseline'] = { ...pickFigures(b), ...(b.dockerInfo ? { dockerInfo: b.dockerInfo } : {}), detail: b.detail };
  let image = 'image';
  let commits = 0;
  const noImages = () => {
    throw new Error('image: predict workloads load no images');
  };
  for (let i = 1; i <= req.containers; i++) {
    const name = `c${i}`;
    let c: ContainerRecord | undefined;
    try {
      mark(i, 'docker run', step('docker run', '(lifecycle)', () => (c = host.run(name, image))));
    } catch (e) {
      if (!(e instanceof FsError)) throw e;
      stopped = { container: i, step: 'docker run', reason: `${e.code}${e.code === 'EINVAL' ? ' (too many layers below the container)' : ''}` };
      break;
    }
    if (c === undefined) break;
    if (req.exec !== undefined) {
      const exe = req.exec;
      try {
        const sys = c.sys;
        step('exec', pathPrefix(exe, depth), () => {
          const f = sys.open(exe, O_RDONLY);
          sys.read(f, 4096, 0);
          sys.close(f);
        });
        cache.read(sys, exe);
      } catch (e) {
        if (!(e instanceof FsError)) throw e;
      }
    }
    const runner = new TraceRunner(host, req.workload.source, noImages);
    runner.retainResults = false;
    runner.runLine({ line: 0, op: { op: 'use', container: name } });
    for (let g = 0; g < lines.length; g += groupSize) {
      const end = Math.min(lines.length, g + groupSize);
      for (let k = g; k < end; k++) {
        const r = runner.runLine(lines[k]!);
        charge(r.op, prefixes[k]!, r.cost);
        if (r.outcome !== 'ok' && r.expected === null) {
          failedOps.count++;
          if (failedOps.first.length < 5) failedOps.first.push({ container: i, line: r.line, op: r.op, outcome: r.outcome });
        }
      }
      mark(i, lines.length <= groupSize ? 'workload' : `lines ${lines[g]!.line}-${lines[end - 1]!.line}`);
    }
    runner.closeAll();
    for (const p of touched) {
      try {
        if (c.sys.lstatOrAbsent(p)?.kind === 'file') cache.read(c.sys, p);
      } catch (e) {
        if (!(e instanceof FsError)) throw e;
      }
    }
    ran.push(c);
    if (req.schedule.kind === 'commit-every' && i % req.schedule.every === 0) {
      const next = `commit${++commits}`;
      try {
        mark(i, 'docker commit', step('docker commit', '(lifecycle)', () => void host.commit(name, next)));
        image = next;
      } catch (e) {
        if (!(e instanceof FsError)) throw e;
        stopped = { container: i, step: 'docker commit', reason: `${e.code}${e.code === 'EINVAL' ? ' (too many layers in the image)' : ''}` };
      }
    }
    if (interval > 0) host.idle(interval);
    series.push(point(i, c.image));
    req.onProgress?.(model.name, i);
    if (stopped !== undefined) break;
  }
  host.idle(req.settleSeconds ?? 60);
  const final = point(series.length, image);
  mark(series.length, 'settled');
  // `docker ps -s` once, after the last reading, as an operator runs it after the sweep: a container's SIZE no longer
  // changes once its workload is done (an idle container writes nothing; writeback and commits move no apparent
  // size), and the naive diff's mounts and directory reads (journal and log writes, atimes) would otherwise be counted
  // in the very disk figures the sizes are printed beside
  let sizeRw = 0;
  ran.forEach((c, k) => {
    sizeRw += containerSizeRw(host, c);
    if (k < series.length) series[k]!.sizeRwBytes = sizeRw;
  });
  final.sizeRwBytes = sizeRw;
  return {
    driver: model.name,
    kind: host.capabilities.kind,
    options,
    baseline,
    series,
    timeline,
    final,
    growth: minus(final, baseline),
    costs: { byOp: byOp.sorted(), byPrefix: byPrefix.sorted() },
    failedOps,
    ...(stopped !== undefined ? { stopped } : {}),
    elapsedMs: Math.round((performance.now() - t0) * 10) / 10,
  };
}

/** Runs the sweep on every model, one after another in this thread, and ranks them by final df. */
export function predict(req: PredictRequest): PredictReport {
  checkContainers(req);
  return assembleReport(req, req.models.map(m => predictDriver(m, req)));
}

export function checkContainers(req: PredictRequest): void {
  if (!Number.isSafeInteger(req.containers) || req.containers < 1) throw new Error('containers must be a positive integer');
}

/** The report of the models' sweeps (`drivers` in `req.models`' order, wherever each ran): the ranking by final df. */
export function assembleReport(req: PredictRequest, drivers: DriverPrediction[]): PredictReport {
  const ranking = [...drivers]
    .sort((a, b) => a.final.dfUsedBytes - b.final.dfUsedBytes || a.driver.localeCompare(b.driver))
    .map((d, i) => ({ rank: i + 1, driver: d.driver, dfUsedBytes: d.final.dfUsedBytes, growthBytes: d.growth.dfUsedBytes }));
  const layerSize = req.image.trees.reduce((sum, t) => sum + layerTarSize(t), 0);
  return {
    image: { source: req.image.source, layers: req.image.trees.length, sizeBytes: layerSize },
    workload: { kind: req.workload.kind, source: req.workload.source, lines: req.workload.lines.length, warnings: req.workload.warnings },
    containers: req.containers,
    schedule: req.schedule,
    exec: req.exec ?? null,
    intervalSeconds: req.intervalSeconds ?? 10,
    settleSeconds: req.settleSeconds ?? 60,
    drivers,
    ranking,
  };
}

/** A driver's final figures by name, as `--fail-if` reads them (plus `growth.<figure>`). */
export function ruleFigures(d: DriverPrediction): Record<string, number> {
  const out: Record<string, number> = {};
  for (const k of FIGURE_NAMES) {
    out[k] = d.final[k];
    out[`growth.${k}`] = d.growth[k];
  }
  if (d.final.dockerInfo !== undefined) {
    out['dockerInfo.dataSpaceUsedBytes'] = d.final.dockerInfo.dataSpaceUsedBytes;
    out['dockerInfo.metadataSpaceUsedBytes'] = d.final.dockerInfo.metadataSpaceUsedBytes;
  }
  return out;
}

/** Every metric name a rule may use. */
export const RULE_METRICS: readonly string[] = [...FIGURE_NAMES, ...FIGURE_NAMES.map(k => `growth.${k}`), 'dockerInfo.dataSpaceUsedBytes', 'dockerInfo.metadataSpaceUsedBytes'];
