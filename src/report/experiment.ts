import type { DriverModel, StorageUsage } from '../engine/driver.js';
import { resolveOptions } from '../engine/drivers.js';
import { Host } from '../engine/host.js';
import { ZERO_SOURCE } from '../fs/content.js';
import type { Volume } from '../fs/volume.js';
import { O_CREAT, O_RDONLY, O_TRUNC, O_WRONLY, type Syscalls } from '../vfs/syscalls.js';

/** The 2014 review's experiment (calibration/blog-2014.md), parameterised so tests can change the workload. */
export interface ExperimentSpec {
  /** Containers per step (the review: 10). */
  readonly containers: number;
  /** Bytes the `dd` writes in each first-round container (the review: bs=64k count=1). */
  readonly writeBytes: number;
  /**
   * Seconds between the image load and the steps, and between the steps (the review typed each batch of commands
   * by hand and read `df` between them); background writeback runs in them.
   */
  readonly pauseSeconds?: number;
}

export const REVIEW_2014: ExperimentSpec = { containers: 10, writeBytes: 64 * 1024, pauseSeconds: 60 };

export type StepName = 'run' | 'commit' | 'run from commit';

export interface StepGrowth {
  step: StepName;
  /** Mean growth per container (or per commit) over the step. */
  /** Mean growth of every usage figure per container after the first (dataBytes, metadataBytes, dfUsedBytes, the model's own). */
  perContainer: Growth;
  /** The first container's growth (the review reports one-time costs on the first). */
  first: Growth;
  copyUpBytes: number;
  /** Bytes written to the store per container (data and metadata, copies included), from the cost meter. */
  writtenBytes: number;
}

export interface ExperimentResult {
  driver: string;
  options: Record<string, string>;
  steps: StepGrowth[];
  final: StorageUsage;
  /** Page cache the containers' processes hold (the busybox binary each one executes), by distinct real inode. */
  pageCacheBytes: number;
  pageCacheFiles: number;
}

/** Growth of each usage figure between two readings. */
export type Growth = { dataBytes: number; metadataBytes: number; dfUsedBytes: number } & Record<string, number>;

function delta(a: StorageUsage, b: StorageUsage): Growth {
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(b)) if (typeof v === 'number' && typeof a[k] === 'number') out[k] = v - a[k];
  return out as Growth;
}

function add(a: Growth, b: Growth): Growth {
  const out: Record<string, number> = { ...a };
  for (const [k, v] of Object.entries(b)) out[k] = (out[k] ?? 0) + v;
  return out as Growth;
}

function scale(g: Growth, n: number): Growth {
  return Object.fromEntries(Object.entries(g).map(([k, v]) => [k, v / n])) as Growth;
}

/**
 * Replays the review's steps on one model: N x `docker run bN busybox dd if=/dev/zero of=/data1 bs=64k count=1`,
 * N x `docker commit bN bN_run`, N x `docker run bN_run sleep 180`, recording usage after each container.
 */
export function runExperiment(model: DriverModel, given: Record<string, string>, image: Volume[], spec: ExperimentSpec = REVIEW_2014): ExperimentResult {
  const options = resolveOptions(model, given);
  const host = new Host(model, options);
  host.loadImage('busybox', image);
  const steps: StepGrowth[] = [];
  // the review read `df` right after each command: a step's first figure runs from the reading that ended the
  // previous step (so it includes what happened in the pause between them), the others from container to container
  let last = host.usage();
  const measure = (step: StepName, each: (i: number) => void) => {
    const previous = last;
    host.idle(spec.pauseSeconds ?? 0);
    let first: Growth = { dataBytes: 0, metadataBytes: 0, dfUsedBytes: 0 };
    let rest: Growth | undefined;
    let copyUpBytes = 0;
    let writtenBytes = 0;
    for (let i = 0; i < spec.containers; i++) {
      const before = i === 0 ? previous : last;
      host.meter.reset();
      each(i);
      copyUpBytes += host.meter.copyUpBytes;
      writtenBytes += host.meter.dataBytes + host.meter.metadataBytes;
      last = host.usage();
      const growth = delta(before, last);
      if (i === 0) first = growth;
      else rest = rest === undefined ? growth : add(rest, growth);
    }
    const n = Math.max(1, spec.containers);
    steps.push({
      step,
      // "first / mean(steps 2..n)", as both sources report it
      perContainer: rest === undefined ? first : scale(rest, n - 1),
      first,
      copyUpBytes,
      writtenBytes: writtenBytes / n,
    });
  };
  const cache = new PageCache();
  measure('run', i => {
    const c = host.run(`b${i}`, 'busybox');
    startProcess(c.sys, i, cache, '/bin/dd');
    const f = c.sys.open('/data1', O_WRONLY | O_CREAT | O_TRUNC, 0o644);
    c.sys.write(f, { source: ZERO_SOURCE, at: 0, length: spec.writeBytes });
    c.sys.close(f);
    host.stop(`b${i}`);
  });
  measure('commit', i => host.commit(`b${i}`, `b${i}_run`));
  measure('run from commit', i => startProcess(host.run(`r${i}`, `b${i}_run`).sys, spec.containers + i, cache, '/bin/sleep'));
  return { driver: model.name, options, steps, final: host.usage(), pageCacheBytes: cache.bytes, pageCacheFiles: cache.files };
}

/**
 * The page cache: keyed by the real inode a read reaches. Union drivers read the image's own inode from every
 * container, so its pages are cached once; block drivers give each container its own filesystem, its own inode, and
 * its own copy of the pages (Docker's storage-driver docs; driver-semantics.md §5).
 */
export class PageCache {
  private readonly cached = new Set<object>();
  bytes = 0;
  files = 0;

  read(sys: Syscalls<object>, path: string): void {
    const inode = sys.realInode(path, { peek: true });
    if (this.cached.has(inode)) return;
    this.cached.add(inode);
    this.bytes += inode.size;
    this.files++;
  }
}

/**
 * What starting the container's process does to its root in Docker 1.3 (kernel-6.18-blog-experiment.md "What is
 * replayed"): libcontainer's pivot_root makes and removes a temporary dir in the layer, then the static busybox is
 * executed through its applet symlink (`/bin/dd`, `/bin/sleep`: the link and the binary are read, relatime may write
 * both atimes back).
 */
export function startProcess(sys: Syscalls<object>, n: number, cache: PageCache, command: string): void {
  const pivot = `/.pivot_root${String(100000 + n).slice(1)}`;
  sys.mkdir(pivot, 0o700);
  sys.rmdir(pivot);
  // execve(command): the applet symlink is followed (its atime read) to the static busybox, whose pages are read
  const exe = sys.open(command, O_RDONLY);
  sys.read(exe, 4096, 0);
  sys.close(exe);
  cache.read(sys, command);
}
