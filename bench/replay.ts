/**
 * Trace replay of the peer trace (bench/peer-trace.ts) on memfs, on ZenFS CopyOnWrite (@zenfs/core 2.7.6, the JS
 * copy-up peer, set up as shared/peer-bench/lib/systems.mjs does) and on every driver model.
 *
 * Each system runs in a fresh node process (`node dist/bench/replay.js <system> [ops] [seed]` prints one JSON line);
 * `runReplays` drives those processes, interleaved across systems, and refuses to report throughput unless every
 * final view is identical to memfs's. Only the replay is timed; building the base and digesting the final view are not.
 *
 * The ops are the peer script's (shared/peer-bench/bench.mjs): write = open(O_RDWR) + pwrite 4 KiB at the offset +
 * close; create = open(O_WRONLY|O_CREAT|O_TRUNC, 0666) + write 4 KiB + close (writeFileSync); unlink = unlink(2).
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';
import { createFsFromVolume, Volume as MemVolume } from 'memfs';
import { allModels } from '../models/index.js';
import { resolveOptions } from '../src/engine/drivers.js';
import { Host } from '../src/engine/host.js';
import { bytesSource, FileContent, type DataSlice } from '../src/fs/content.js';
import type { Inode } from '../src/fs/inode.js';
import { Volume } from '../src/fs/volume.js';
import { O_CREAT, O_RDWR, O_TRUNC, O_WRONLY, type Syscalls } from '../src/vfs/syscalls.js';
import { ceilingTarget, CEILINGS, keepingOf, UNCHECKED_VIEWS } from './ceiling.js';
import {
  baseLayout,
  DEFAULT_OPS,
  DEFAULT_SEED,
  DOCUMENTED_FINAL_VIEW,
  FILE_SIZE,
  makeTrace,
  OP_CREATE,
  OP_WRITE,
  payload,
  WRITE_SIZE,
  type BaseLayout,
  type FinalView,
} from './peer-trace.js';

export const BASELINE = 'memfs';
/** ZenFS CopyOnWrite (@zenfs/core 2.7.6): InMemory readable base + InMemory writable upper, the JS copy-up peer. */
export const ZENFS = 'zenfs-cow';
/** The peers (not simulator models) every run replays beside the models. */
export const PEERS = [BASELINE, ZENFS] as const;

/** memfs first (the baseline), ZenFS CopyOnWrite, the two ceilings (bench/ceiling.ts), then every registered model. */
export function systemNames(): string[] {
  return [...PEERS, ...CEILINGS, ...allModels.map(m => m.name)];
}

/** What one replay of one system in one process measured. */
export interface ReplayResult {
  system: string;
  node: string;
  ops: number;
  seed: number;
  setupMs: number;
  traceMs: number;
  opsPerSec: number;
  /** CPU time (user + system, every thread of the process) over the replay: steadier than wall time on a busy host. */
  cpuMs: number;
  meanUs: { write: number; create: number; unlink: number };
  rssMiB: number;
  final: FinalView;
  /** Models only: the cost meter's copy-up bytes and the driver's usage after the replay. */
  layers?: Record<string, number>;
}

/** A system under test, with its base built: the three trace ops, the final-view digest and its own counters. */
interface ReplayTarget {
  write(path: string, offset: number): void;
  create(path: string): void;
  unlink(path: string): void;
  digest(): FinalView;
  stats(): Record<string, number> | undefined;
}

/** Minimal synchronous fs surface the memfs replay and digest use (what bench.mjs calls). */
interface SyncFs {
  mkdirSync(path: string, opts: { recursive: boolean }): unknown;
  writeFileSync(path: string, data: Uint8Array): void;
  openSync(path: string, flags: string): number;
  writeSync(fd: number, buf: Uint8Array, off: number, len: number, pos: number): number;
  closeSync(fd: number): void;
  unlinkSync(path: string): void;
  readdirSync(path: string): unknown[];
  statSync(path: string): { isDirectory(): boolean };
  readFileSync(path: string): Uint8Array;
}

/** The bytes of base file i: payload(4096, 1) with i as u32le at offset 0 (bench.mjs buildBase). */
function baseFileBytes(template: Buffer, i: number): Buffer {
  const buf = Buffer.from(template);
  buf.writeUInt32LE(i, 0);
  return buf;
}

/** The peer trace's three ops through a Node-style sync fs, as bench.mjs makes them. */
function peerOps(fs: SyncFs, writeData: Buffer): Pick<ReplayTarget, 'write' | 'create' | 'unlink'> {
  return {
    write(p, offset) {
      const fd = fs.openSync(p, 'r+');
      fs.writeSync(fd, writeData, 0, WRITE_SIZE, offset);
      fs.closeSync(fd);
    },
    create(p) {
      fs.writeFileSync(p, writeData);
    },
    unlink(p) {
      fs.unlinkSync(p);
    },
  };
}

function memfsTarget(layout: BaseLayout, writeData: Buffer): ReplayTarget {
  const fs = createFsFromVolume(new MemVolume()) as unknown as SyncFs;
  for (const d of layout.dirs) fs.mkdirSync(d, { recursive: true });
  const template = payload(FILE_SIZE, 1);
  layout.files.forEach((p, i) => fs.writeFileSync(p, baseFileBytes(template, i)));
  return {
    ...peerOps(fs, writeData),
    digest: () =>
      digestTree(
        dir => fs.readdirSync(dir).map(String),
        p => fs.statSync(p).isDirectory(),
        p => fs.readFileSync(p),
      ),
    stats: () => undefined,
  };
}

/**
 * ZenFS CopyOnWrite exactly as shared/peer-bench/lib/systems.mjs sets it up (the setup research Part B measured): the
 * readable InMemory store mounted at / while the base is built, then `configureSingle({ backend: CopyOnWrite,
 * readable, writable })` over an empty InMemory writable store. Loaded on demand so model replays never import it.
 */
async function zenfsTarget(layout: BaseLayout, writeData: Buffer): Promise<ReplayTarget> {
  const { configureSingle, fs: zfs, InMemory, CopyOnWrite, resolveMountConfig, mounts } = await import('@zenfs/core');
  const fs = zfs as unknown as SyncFs;
  zfs.umount('/');
  const readable = await resolveMountConfig({ backend: InMemory, label: 'lower' });
  zfs.mount('/', readable);
  for (const d of layout.dirs) fs.mkdirSync(d, { recursive: true });
  const template = payload(FILE_SIZE, 1);
  layout.files.forEach((p, i) => fs.writeFileSync(p, baseFileBytes(template, i)));
  const writable = InMemory.create({ label: 'upper' });
  await configureSingle({ backend: CopyOnWrite, readable, writable });
  const cow = mounts.get('/') as unknown as { journal: { entries: unknown[] }; attributes: Map<string, unknown> };
  const countFiles = (layer: { readdirSync(p: string): string[]; statSync(p: string): { mode: number } }): number => {
    let n = 0;
    const walk = (dir: string): void => {
      for (const name of layer.readdirSync(dir)) {
        const p = `${dir}/${name}`;
        if ((layer.statSync(p).mode & 0o170000) === 0o040000) walk(p);
        else n++;
      }
    };
    walk('/base');
    return n;
  };
  return {
    ...peerOps(fs, writeData),
    digest() {
      // reading a lower file through CopyOnWrite sets its atime and so copies it up (research Part B1): the digest
      // runs after the stats, with no_atime so it reads without copying
      cow.attributes.set('no_atime', true);
      return digestTree(
        dir => fs.readdirSync(dir).map(String),
        p => fs.statSync(p).isDirectory(),
        p => fs.readFileSync(p),
      );
    },
    stats: () => ({
      upperFiles: countFiles(writable as never),
      lowerFiles: countFiles(readable as never),
      journalEntries: cow.journal.entries.length,
    }),
  };
}

/** The 10,000-file base as one image layer (a plain tree in OCI form). */
export function buildBaseVolume(layout: BaseLayout): Volume {
  const vol = new Volume();
  const dirs = new Map<string, Inode>([['', vol.root]]);
  const at = (path: string): Inode => {
    const d = dirs.get(path);
    if (d === undefined) throw new Error(`bench: base directory ${path} built out of order`);
    return d;
  };
  const split = (path: string): [string, string] => {
    const slash = path.lastIndexOf('/');
    return [path.slice(0, slash), path.slice(slash + 1)];
  };
  for (const d of layout.dirs) {
    const [parent, name] = split(d);
    dirs.set(d, vol.createChild(at(parent), name, 'dir', { mode: 0o755, uid: 0, gid: 0 }));
  }
  const template = payload(FILE_SIZE, 1);
  layout.files.forEach((p, i) => {
    const [parent, name] = split(p);
    vol.createChild(at(parent), name, 'file', {
      mode: 0o644,
      uid: 0,
      gid: 0,
      content: FileContent.fromBytes(baseFileBytes(template, i)),
    });
  });
  return vol;
}

function modelTarget(modelName: string, layout: BaseLayout, writeData: Buffer): ReplayTarget {
  const model = allModels.find(m => m.name === modelName);
  if (model === undefined) throw new Error(`unknown system '${modelName}' (known: ${systemNames().join(', ')})`);
  const host = new Host(model, resolveOptions(model, {}));
  host.loadImage('base', [buildBaseVolume(layout)]);
  const sys: Syscalls<object> = host.run('c', 'base', false).sys;
  const slice: DataSlice = { source: bytesSource(writeData), at: 0, length: WRITE_SIZE };
  const meterBefore = host.meter.copyUpBytes;
  return {
    write(p, offset) {
      const f = sys.open(p, O_RDWR);
      sys.write(f, slice, offset);
      sys.close(f);
    },
    create(p) {
      const f = sys.open(p, O_WRONLY | O_CREAT | O_TRUNC, 0o666);
      sys.write(f, slice);
      sys.close(f);
    },
    unlink(p) {
      sys.unlink(p);
    },
    digest: () =>
      digestTree(
        dir => sys.readdir(dir),
        p => sys.stat(p).kind === 'dir',
        p => sys.readFile(p),
      ),
    stats() {
      const u = host.usage();
      return {
        copyUpBytes: host.meter.copyUpBytes - meterBefore,
        dataBytes: u.dataBytes,
        metadataBytes: u.metadataBytes,
        allocatedBytes: u.allocatedBytes,
        apparentBytes: u.apparentBytes,
        inodeCount: u['inodeCount'] ?? 0,
      };
    },
  };
}

/** bench.mjs digest(): walk /base in name order, hash path + '\0' + content of every non-directory. */
function digestTree(
  readdir: (dir: string) => string[],
  isDir: (path: string) => boolean,
  readFile: (path: string) => Uint8Array,
): FinalView {
  const h = createHash('sha256');
  let files = 0;
  let bytes = 0;
  const walk = (dir: string): void => {
    for (const name of readdir(dir).sort()) {
      const p = `${dir}/${name}`;
      if (isDir(p)) walk(p);
      else {
        const c = readFile(p);
        h.update(p).update('\0').update(c);
        files++;
        bytes += c.length;
      }
    }
  };
  walk('/base');
  return { files, bytes, sha256: h.digest('hex').slice(0, 16) };
}

const round2 = (x: number): number => Math.round(x * 100) / 100;

/** Builds `system`, replays the trace on it (timed) and digests the final view (not timed). */
export async function replayOnce(system: string, ops: number, seed: number): Promise<ReplayResult> {
  const layout = baseLayout();
  const trace = makeTrace({ ops, seed, layout });
  const writeData = payload(WRITE_SIZE, 2);
  const t0 = performance.now();
  const keeping = keepingOf(system);
  const target =
    system === BASELINE
      ? memfsTarget(layout, writeData)
      : system === ZENFS
        ? await zenfsTarget(layout, writeData)
        : keeping !== undefined
          ? { ...ceilingTarget(layout, payload(FILE_SIZE, 1), writeData, keeping), stats: () => undefined }
          : modelTarget(system, layout, writeData);
  const setupMs = performance.now() - t0;

  const { kinds, offsets, paths } = trace;
  const kindMs = [0, 0, 0];
  const kindN = [0, 0, 0];
  const cpuStart = process.cpuUsage();
  const start = performance.now();
  let prev = start;
  for (let i = 0; i < ops; i++) {
    const k = kinds[i]!;
    const p = paths[i]!;
    if (k === OP_WRITE) target.write(p, offsets[i]!);
    else if (k === OP_CREATE) target.create(p);
    else target.unlink(p);
    const now = performance.now();
    kindMs[k]! += now - prev;
    kindN[k]!++;
    prev = now;
  }
  const traceMs = prev - start;
  const cpu = process.cpuUsage(cpuStart);

  const rssMiB = Math.round(process.memoryUsage().rss / 2 ** 20);
  const meanUs = (k: number): number => (kindN[k]! === 0 ? 0 : round2((kindMs[k]! / kindN[k]!) * 1000));
  const result: ReplayResult = {
    system,
    node: process.version,
    ops,
    seed,
    setupMs: Math.round(setupMs * 10) / 10,
    traceMs: Math.round(traceMs * 10) / 10,
    opsPerSec: Math.round(ops / (traceMs / 1000)),
    cpuMs: Math.round((cpu.user + cpu.system) / 100) / 10,
    meanUs: { write: meanUs(0), create: meanUs(1), unlink: meanUs(2) },
    rssMiB,
    final: { files: 0, bytes: 0, sha256: '' },
  };
  // counters before the digest: the digest reads every file, which may change a peer's layers
  const layers = target.stats();
  if (layers !== undefined) result.layers = layers;
  result.final = target.digest();
  return result;
}

/** One system's runs and what the summary reports for it (the median run by ops/s). */
export interface SystemSummary {
  system: string;
  runsOpsPerSec: number[];
  medianOpsPerSec: number;
  /** median ops/s over memfs's median ops/s, both measured in this run. */
  ratioToBaseline: number;
  /** median ops/s over ZenFS CopyOnWrite's median ops/s in this run (absent when ZenFS was not replayed). */
  ratioToZenfs?: number;
  /** Per-op-kind means of the median run. */
  meanUs: { write: number; create: number; unlink: number };
  setupMs: number;
  rssMiB: number;
  final: FinalView;
  layers?: Record<string, number>;
}

export interface ReplaySummary {
  ops: number;
  seed: number;
  runs: number;
  node: string;
  final: FinalView;
  systems: SystemSummary[];
}

/** A final view differing from the baseline's: throughput is not reported. */
export class FinalViewMismatch extends Error {
  constructor(readonly mismatches: { system: string; run: number; got: FinalView; want: FinalView }[]) {
    super(
      'final views differ from memfs; throughput not reported:\n' +
        mismatches
          .map(m => `  ${m.system} run ${m.run}: ${JSON.stringify(m.got)} (memfs: ${JSON.stringify(m.want)})`)
          .join('\n'),
    );
  }
}

const sameView = (a: FinalView, b: FinalView): boolean => a.files === b.files && a.bytes === b.bytes && a.sha256 === b.sha256;

/**
 * Replays the trace `runs` times on every system, each in a fresh process, interleaved (run 1 of every system, then
 * run 2...), checks every final view against memfs's (and, for the default trace, against the documented view), and
 * only then summarises: median ops/s per system and its ratio to memfs's median in the same run.
 */
export function runReplays(opts: {
  ops: number;
  runs: number;
  seed: number;
  systems?: readonly string[];
  log?: (line: string) => void;
}): ReplaySummary {
  const systems = opts.systems ?? systemNames();
  if (systems[0] !== BASELINE) throw new Error(`the baseline (${BASELINE}) must run first`);
  const log = opts.log ?? (() => {});
  const byRun = new Map<string, ReplayResult[]>(systems.map(s => [s, []]));
  for (let run = 1; run <= opts.runs; run++) {
    for (const system of systems) {
      const r = replayInChild(system, opts.ops, opts.seed);
      byRun.get(system)!.push(r);
      log(`  run ${run}/${opts.runs} ${system.padEnd(9)} done (setup ${r.setupMs} ms, final view ${r.final.sha256})`);
    }
  }
  const want = byRun.get(BASELINE)![0]!.final;
  const mismatches: FinalViewMismatch['mismatches'] = [];
  for (const [system, results] of byRun) {
    results.forEach((r, i) => {
      // a ceiling with no contents can only show the same files and sizes
      const same = UNCHECKED_VIEWS.has(system) ? r.final.files === want.files && r.final.bytes === want.bytes : sameView(r.final, want);
      if (!same) mismatches.push({ system, run: i + 1, got: r.final, want });
    });
  }
  if (opts.ops === DEFAULT_OPS && opts.seed === DEFAULT_SEED && !sameView(want, DOCUMENTED_FINAL_VIEW)) {
    mismatches.push({ system: `${BASELINE} vs documented`, run: 1, got: want, want: DOCUMENTED_FINAL_VIEW });
  }
  if (mismatches.length > 0) throw new FinalViewMismatch(mismatches);

  const summaries = systems.map(system => {
    const results = byRun.get(system)!;
    const sorted = [...results].sort((a, b) => a.opsPerSec - b.opsPerSec);
    const median = sorted[(sorted.length - 1) >> 1]!;
    const s: SystemSummary = {
      system,
      runsOpsPerSec: results.map(r => r.opsPerSec),
      medianOpsPerSec: median.opsPerSec,
      ratioToBaseline: 0,
      meanUs: median.meanUs,
      setupMs: median.setupMs,
      rssMiB: median.rssMiB,
      final: median.final,
    };
    if (median.layers !== undefined) s.layers = median.layers;
    return s;
  });
  const base = summaries[0]!.medianOpsPerSec;
  const zen = summaries.find(s => s.system === ZENFS)?.medianOpsPerSec;
  for (const s of summaries) {
    s.ratioToBaseline = Math.round((s.medianOpsPerSec / base) * 100) / 100;
    if (zen !== undefined) s.ratioToZenfs = Math.round((s.medianOpsPerSec / zen) * 100) / 100;
  }
  return { ops: opts.ops, seed: opts.seed, runs: opts.runs, node: process.version, final: want, systems: summaries };
}

const SELF = fileURLToPath(import.meta.url);

/** Runs one replay of `system` in a fresh node process (this file, compiled) and parses its JSON line. */
export function replayInChild(system: string, ops: number, seed: number, nodeArgs: readonly string[] = []): ReplayResult {
  const r = spawnSync(process.execPath, [...nodeArgs, SELF, system, String(ops), String(seed)], {
    encoding: 'utf8',
    maxBuffer: 16 * 2 ** 20,
  });
  if (r.status !== 0) {
    throw new Error(`replay of ${system} failed (exit ${r.status ?? r.signal}):\n${r.stderr}${r.error?.message ?? ''}`);
  }
  const line = r.stdout.trim().split('\n').at(-1) ?? '';
  return JSON.parse(line) as ReplayResult;
}

if (process.argv[1] === SELF) {
  const [system, opsArg, seedArg] = process.argv.slice(2);
  if (system === undefined) {
    console.error(`usage: node dist/bench/replay.js <${systemNames().join('|')}> [ops=${DEFAULT_OPS}] [seed=${DEFAULT_SEED}]`);
    process.exit(2);
  }
  const ops = Number(opsArg ?? DEFAULT_OPS);
  const seed = Number(seedArg ?? DEFAULT_SEED);
  if (!Number.isInteger(ops) || ops <= 0 || !Number.isInteger(seed)) {
    console.error(`bad ops or seed: ${opsArg} ${seedArg}`);
    process.exit(2);
  }
  console.log(JSON.stringify(await replayOnce(system, ops, seed)));
}
