/**
 * Write-pattern benchmarks (issue 5 item 5): six write patterns x every registered driver model, each run in a fresh
 * simulated Docker host, measured by the host's cost meter and priced by the latency model (bench/latency-model.ts).
 *
 * Each pattern has its own one-layer image (a small skeleton plus the lower files the pattern writes into, built with
 * symbolic content, so a 256 MiB file costs a few objects), loaded with `host.loadImage` and run as a container
 * (`docker run`: the init layer, then the container layer). Only the pattern is counted: the meter and the usage are
 * read before its first syscall and after it plus 30 s of idle time (btrfs's commit interval and the kernel's
 * dirty_expire: delayed writeback and transaction commits land inside the measurement).
 *
 * Per pattern x driver: bytes written (data + metadata, CostMeter), write amplification (bytes written over the bytes
 * the application wrote; for the metadata-only pattern bytes written per operation), copy-up bytes, allocated bytes
 * growth (usage().allocatedBytes after minus before), simulated latency, and the simulator's own time for the run.
 *
 *   node dist/bench/patterns.js [--json FILE]      prints the table (npm run bench runs it too)
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { allModels } from '../models/index.js';
import type { DriverModel } from '../src/engine/driver.js';
import { resolveOptions } from '../src/engine/drivers.js';
import { Host } from '../src/engine/host.js';
import { FileContent, randomSource, type DataSlice } from '../src/fs/content.js';
import type { Inode } from '../src/fs/inode.js';
import { Volume } from '../src/fs/volume.js';
import { O_APPEND, O_CREAT, O_RDWR, O_TRUNC, O_WRONLY, type OpenFile, type Syscalls } from '../src/vfs/syscalls.js';
import { rng } from './peer-trace.js';
import { describeLatencyModel, simulatedLatency, type LatencyBreakdown, type PatternCounters } from './latency-model.js';

const KiB = 1024;
const MiB = 1024 * KiB;

/** The sizes of the patterns (the issue's examples); `scale` < 1 shrinks counts and sizes for tests. */
export interface PatternSizes {
  seqBytes: number;
  seqWriteBytes: number;
  bigFileBytes: number;
  randomWrites: number;
  logBytes: number;
  logLines: number;
  logLineBytes: number;
  smallFiles: number;
  smallFileBytes: number;
  smallFilesPerDir: number;
  rewriteFiles: number;
  rewriteFileBytes: number;
  metaFiles: number;
  metaFileBytes: number;
}

export const FULL_SIZES: PatternSizes = {
  seqBytes: 64 * MiB,
  seqWriteBytes: 1 * MiB,
  bigFileBytes: 256 * MiB,
  randomWrites: 1_000,
  logBytes: 1 * MiB,
  logLines: 10_000,
  logLineBytes: 128,
  smallFiles: 10_000,
  smallFileBytes: 4 * KiB,
  smallFilesPerDir: 100,
  rewriteFiles: 50,
  rewriteFileBytes: 1 * MiB,
  metaFiles: 1_000,
  metaFileBytes: 16 * KiB,
};

/** A small version with the same shape (tests: the accounting, not the scale). */
export const SMALL_SIZES: PatternSizes = {
  seqBytes: 4 * MiB,
  seqWriteBytes: 1 * MiB,
  bigFileBytes: 16 * MiB,
  randomWrites: 50,
  logBytes: 64 * KiB,
  logLines: 200,
  logLineBytes: 128,
  smallFiles: 200,
  smallFileBytes: 4 * KiB,
  smallFilesPerDir: 50,
  rewriteFiles: 5,
  rewriteFileBytes: 256 * KiB,
  metaFiles: 50,
  metaFileBytes: 16 * KiB,
};

export type PatternName =
  | 'sequential-write'
  | 'random-overwrite'
  | 'append'
  | 'many-small-files'
  | 'whole-file-rewrite'
  | 'metadata-only';

/** The syscalls a pattern makes, counted, with the ops during which file data was copied up. */
class CountingSys {
  syscalls = 0;
  copyUpOps = 0;
  /** Bytes the application asked to write. */
  appBytes = 0;

  constructor(
    private readonly sys: Syscalls<object>,
    private readonly host: Host,
  ) {}

  private count<T>(f: () => T): T {
    const before = this.host.meter.copyUpBytes;
    this.syscalls++;
    const r = f();
    if (this.host.meter.copyUpBytes > before) this.copyUpOps++;
    return r;
  }

  open(path: string, flags: number, mode = 0o644): OpenFile<object> {
    return this.count(() => this.sys.open(path, flags, mode));
  }
  write(f: OpenFile<object>, slice: DataSlice, offset?: number): void {
    this.appBytes += slice.length;
    this.count(() => this.sys.write(f, slice, offset));
  }
  close(f: OpenFile<object>): void {
    this.count(() => this.sys.close(f));
  }
  mkdir(path: string): void {
    this.count(() => this.sys.mkdir(path, 0o755));
  }
  chmod(path: string, mode: number): void {
    this.count(() => this.sys.chmod(path, mode));
  }
  chown(path: string, uid: number, gid: number): void {
    this.count(() => this.sys.chown(path, uid, gid));
  }
  touch(path: string): void {
    this.count(() => this.sys.utimes(path, undefined, undefined, this.host.clock.now()));
  }
}

/** Writes come from a pseudo-random stream (not zeros: no driver may skip them as holes), offset-keyed. */
const WRITE_SOURCE = randomSource(0x5eed);
const slice = (at: number, length: number): DataSlice => ({ source: WRITE_SOURCE, at, length });

/** One write pattern: what its image holds, and what the container does. */
export interface PatternSpec {
  readonly name: PatternName;
  readonly description: string;
  /** How the application's own data reaches the device (the latency model's data term). */
  readonly access: 'sequential' | 'random';
  /** Amplification per operation (metadata-only) rather than per byte. */
  readonly perOp: boolean;
  /** Adds the pattern's lower files to the image's layer tree. */
  image(tree: LayerTree): void;
  /** The container's work; returns the operations the amplification is per (perOp patterns). */
  run(sys: CountingSys): number;
}

/** A layer tree under construction: mkdir -p and files with symbolic content. */
export class LayerTree {
  readonly vol = new Volume();

  dir(path: string): Inode {
    let d = this.vol.root;
    for (const name of path.split('/').filter(n => n !== '')) {
      d = d.entries!.get(name) ?? this.vol.createChild(d, name, 'dir', { mode: 0o755, uid: 0, gid: 0 });
    }
    return d;
  }

  /** A regular file of `bytes` from a pseudo-random stream of `seed` (incompressible, no zero blocks). */
  file(path: string, bytes: number, seed: number): void {
    const slash = path.lastIndexOf('/');
    const content = FileContent.fromSlice({ source: randomSource(seed), at: 0, length: bytes });
    this.vol.createChild(this.dir(path.slice(0, slash)), path.slice(slash + 1), 'file', { mode: 0o644, uid: 0, gid: 0, content });
  }
}

const pad = (i: number, n: number): string => String(i).padStart(String(n - 1).length, '0');

export function patternSpecs(z: PatternSizes = FULL_SIZES): PatternSpec[] {
  const mib = (n: number): string => (n >= MiB ? `${n / MiB} MiB` : `${n / KiB} KiB`);
  return [
    {
      name: 'sequential-write',
      description: `a new file of ${mib(z.seqBytes)} written in ${mib(z.seqWriteBytes)} writes (open O_CREAT|O_TRUNC, write..., close)`,
      access: 'sequential',
      perOp: false,
      image: () => {},
      run: s => {
        const f = s.open('/data/seq.bin', O_WRONLY | O_CREAT | O_TRUNC);
        for (let off = 0; off < z.seqBytes; off += z.seqWriteBytes) s.write(f, slice(off, Math.min(z.seqWriteBytes, z.seqBytes - off)));
        s.close(f);
        return 1;
      },
    },
    {
      name: 'random-overwrite',
      description: `${z.randomWrites.toLocaleString('en-US')} pwrites of 4 KiB at random 4 KiB-aligned offsets in a ${mib(z.bigFileBytes)} file of the image (one open O_RDWR)`,
      access: 'random',
      perOp: false,
      image: t => t.file('/data/big.db', z.bigFileBytes, 11),
      run: s => {
        const rand = rng(7);
        const blocks = z.bigFileBytes / (4 * KiB);
        const f = s.open('/data/big.db', O_RDWR);
        for (let i = 0; i < z.randomWrites; i++) {
          const off = Math.floor(rand() * blocks) * 4 * KiB;
          s.write(f, slice(off, 4 * KiB), off);
        }
        s.close(f);
        return 1;
      },
    },
    {
      name: 'append',
      description: `${z.logLines.toLocaleString('en-US')} log lines of ${z.logLineBytes} B appended (O_APPEND, one write each) to a ${mib(z.logBytes)} log of the image`,
      access: 'sequential',
      perOp: false,
      image: t => t.file('/var/log/app.log', z.logBytes, 12),
      run: s => {
        const f = s.open('/var/log/app.log', O_WRONLY | O_APPEND);
        for (let i = 0; i < z.logLines; i++) s.write(f, slice(i * z.logLineBytes, z.logLineBytes));
        s.close(f);
        return 1;
      },
    },
    {
      name: 'many-small-files',
      description: `${z.smallFiles.toLocaleString('en-US')} new files of ${mib(z.smallFileBytes)} in ${Math.ceil(z.smallFiles / z.smallFilesPerDir)} new directories (open O_CREAT|O_TRUNC, write, close)`,
      access: 'sequential',
      perOp: false,
      image: () => {},
      run: s => {
        const dirs = Math.ceil(z.smallFiles / z.smallFilesPerDir);
        s.mkdir('/data/small');
        for (let d = 0; d < dirs; d++) s.mkdir(`/data/small/d${pad(d, dirs)}`);
        for (let i = 0; i < z.smallFiles; i++) {
          const d = Math.floor(i / z.smallFilesPerDir);
          const f = s.open(`/data/small/d${pad(d, dirs)}/f${pad(i, z.smallFiles)}`, O_WRONLY | O_CREAT | O_TRUNC);
          s.write(f, slice(i * z.smallFileBytes, z.smallFileBytes));
          s.close(f);
        }
        return 1;
      },
    },
    {
      name: 'whole-file-rewrite',
      description: `${z.rewriteFiles} files of ${mib(z.rewriteFileBytes)} of the image rewritten in place (open O_WRONLY|O_TRUNC, one write, close)`,
      access: 'sequential',
      perOp: false,
      image: t => {
        for (let i = 0; i < z.rewriteFiles; i++) t.file(`/data/rewrite/f${pad(i, z.rewriteFiles)}`, z.rewriteFileBytes, 100 + i);
      },
      run: s => {
        for (let i = 0; i < z.rewriteFiles; i++) {
          const f = s.open(`/data/rewrite/f${pad(i, z.rewriteFiles)}`, O_WRONLY | O_TRUNC);
          s.write(f, slice(i * z.rewriteFileBytes, z.rewriteFileBytes));
          s.close(f);
        }
        return 1;
      },
    },
    {
      name: 'metadata-only',
      description: `chmod 0600, chown 1000:1000 and touch of each of ${z.metaFiles.toLocaleString('en-US')} files of ${mib(z.metaFileBytes)} of the image (${(3 * z.metaFiles).toLocaleString('en-US')} ops)`,
      access: 'sequential',
      perOp: true,
      image: t => {
        for (let i = 0; i < z.metaFiles; i++) t.file(`/usr/share/meta/f${pad(i, z.metaFiles)}`, z.metaFileBytes, 10_000 + i);
      },
      run: s => {
        for (let i = 0; i < z.metaFiles; i++) {
          const p = `/usr/share/meta/f${pad(i, z.metaFiles)}`;
          s.chmod(p, 0o600);
          s.chown(p, 1000, 1000);
          s.touch(p);
        }
        return 3 * z.metaFiles;
      },
    },
  ];
}

/** A driver configuration a pattern runs on: a model with options, and the patterns it applies to. */
export interface DriverConfig {
  readonly label: string;
  readonly model: DriverModel;
  readonly options: Readonly<Record<string, string>>;
  readonly patterns?: readonly PatternName[];
}

/** Every model with its defaults, and overlay2 metacopy=on for the metadata-only pattern. */
export function driverConfigs(models: readonly DriverModel[] = allModels): DriverConfig[] {
  const out: DriverConfig[] = models.map(model => ({ label: model.name, model, options: {} }));
  const overlay2 = models.find(m => m.name === 'overlay2');
  if (overlay2 !== undefined) out.push({ label: 'overlay2 metacopy=on', model: overlay2, options: { metacopy: 'on' }, patterns: ['metadata-only'] });
  return out;
}

/** One pattern on one driver configuration. */
export interface PatternResult {
  pattern: PatternName;
  driver: string;
  model: string;
  options: Record<string, string>;
  /** Bytes the application asked to write. */
  appBytes: number;
  /** Operations the per-op amplification divides by (metadata-only), else 1. */
  ops: number;
  syscalls: number;
  dataBytes: number;
  metadataBytes: number;
  /** dataBytes + metadataBytes. */
  bytesWritten: number;
  /** bytesWritten / appBytes, or for metadata-only bytesWritten per op (then `amplificationUnit` is 'B/op'). */
  amplification: number;
  amplificationUnit: 'x' | 'B/op';
  copyUpBytes: number;
  copyUpOps: number;
  lookups: number;
  allocatedGrowthBytes: number;
  latency: LatencyBreakdown;
  /** Wall-clock ms the simulator took for the pattern (not the setup). */
  simMs: number;
  setupMs: number;
}

/** Seconds of idle time after the pattern, inside the measurement (btrfs commit interval, dirty_expire 30 s). */
export const IDLE_AFTER_SECONDS = 30;

export function runPattern(spec: PatternSpec, config: DriverConfig): PatternResult {
  const t0 = performance.now();
  const options = resolveOptions(config.model, config.options);
  const host = new Host(config.model, options);
  const tree = new LayerTree();
  for (const d of ['/etc', '/var/log', '/data', '/usr/share', '/tmp']) tree.dir(d);
  spec.image(tree);
  host.loadImage('img', [tree.vol]);
  const sys = new CountingSys(host.run('c', 'img').sys, host);
  const before = host.meter.snapshot();
  const usageBefore = host.usage().allocatedBytes;
  const t1 = performance.now();
  const ops = spec.run(sys);
  host.idle(IDLE_AFTER_SECONDS);
  const simMs = performance.now() - t1;
  const after = host.meter.snapshot();
  const dataBytes = after.dataBytes - before.dataBytes;
  const metadataBytes = after.metadataBytes - before.metadataBytes;
  const copyUpBytes = after.copyUpBytes - before.copyUpBytes;
  const lookups = after.lookups - before.lookups;
  const bytesWritten = dataBytes + metadataBytes;
  const counters: PatternCounters = {
    syscalls: sys.syscalls,
    lookups,
    dataBytes,
    metadataBytes,
    copyUpBytes,
    copyUpOps: sys.copyUpOps,
    access: spec.access,
  };
  return {
    pattern: spec.name,
    driver: config.label,
    model: config.model.name,
    options,
    appBytes: sys.appBytes,
    ops,
    syscalls: sys.syscalls,
    dataBytes,
    metadataBytes,
    bytesWritten,
    amplification: spec.perOp ? bytesWritten / ops : sys.appBytes === 0 ? 0 : bytesWritten / sys.appBytes,
    amplificationUnit: spec.perOp ? 'B/op' : 'x',
    copyUpBytes,
    copyUpOps: sys.copyUpOps,
    lookups,
    allocatedGrowthBytes: host.usage().allocatedBytes - usageBefore,
    latency: simulatedLatency(config.model.name, counters),
    simMs: Math.round(simMs * 10) / 10,
    setupMs: Math.round((t1 - t0) * 10) / 10,
  };
}

/** Every pattern on every configuration that applies to it. */
export function runPatterns(
  opts: { sizes?: PatternSizes; configs?: readonly DriverConfig[]; log?: (r: PatternResult) => void } = {},
): PatternResult[] {
  const configs = opts.configs ?? driverConfigs();
  const out: PatternResult[] = [];
  for (const spec of patternSpecs(opts.sizes)) {
    for (const config of configs) {
      if (config.patterns !== undefined && !config.patterns.includes(spec.name)) continue;
      const r = runPattern(spec, config);
      opts.log?.(r);
      out.push(r);
    }
  }
  return out;
}

// ---- report ------------------------------------------------------------------------------------------------------

function bytes(n: number): string {
  const a = Math.abs(n);
  if (a >= 10 * MiB) return `${(n / MiB).toFixed(0)} MiB`;
  if (a >= MiB) return `${(n / MiB).toFixed(1)} MiB`;
  if (a >= 10 * KiB) return `${(n / KiB).toFixed(0)} KiB`;
  if (a >= KiB) return `${(n / KiB).toFixed(1)} KiB`;
  return `${n} B`;
}

function ms(us: number): string {
  const m = us / 1000;
  return m >= 100 ? m.toFixed(0) : m >= 10 ? m.toFixed(1) : m.toFixed(2);
}

/** The pattern x driver table, as lines. */
export function formatPatternTable(results: readonly PatternResult[]): string[] {
  const header = ['pattern', 'driver', 'app wrote', 'written (data+meta)', 'amplification', 'copy-up', 'allocated +', 'latency ms', '(flush ms)', 'sim ms'];
  const rows = results.map(r => [
    r.pattern,
    r.driver,
    r.amplificationUnit === 'B/op' ? `${r.ops.toLocaleString('en-US')} ops` : bytes(r.appBytes),
    `${bytes(r.bytesWritten)} (${bytes(r.dataBytes)}+${bytes(r.metadataBytes)})`,
    r.amplificationUnit === 'B/op' ? `${Math.round(r.amplification).toLocaleString('en-US')} B/op` : `${r.amplification.toFixed(2)}x`,
    r.copyUpBytes === 0 ? '0' : `${bytes(r.copyUpBytes)} (${r.copyUpOps} ops)`,
    bytes(r.allocatedGrowthBytes),
    ms(r.latency.totalUs),
    r.latency.flushUs === 0 ? '-' : ms(r.latency.flushUs),
    r.simMs.toFixed(0),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map(r => r[i]!.length)));
  const line = (cells: string[]): string => cells.map((c, i) => (i < 2 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  const out = [line(header), widths.map(w => '-'.repeat(w)).join('  ')];
  let prev = '';
  for (let i = 0; i < rows.length; i++) {
    const r = rows[i]!;
    if (prev !== '' && r[0] !== prev) out.push('');
    prev = r[0]!;
    out.push(line(r));
  }
  return out;
}

/** Patterns slower than this in the simulator are flagged (issue: each cell well under a few seconds). */
export const SLOW_CELL_MS = 2000;

export function printPatterns(results: readonly PatternResult[], sizes: PatternSizes = FULL_SIZES): void {
  for (const spec of patternSpecs(sizes)) console.log(`  ${spec.name}: ${spec.description}`);
  console.log('');
  for (const l of formatPatternTable(results)) console.log(l);
  console.log('');
  console.log(`amplification: bytes written (data + metadata) / bytes the application wrote; metadata-only: bytes written per op.`);
  console.log(`latency: simulated from the counters (bench/latency-model.ts); "flush" is the copy-up fsyncs inside it. sim ms: the simulator's own time.`);
  const slow = results.filter(r => r.simMs > SLOW_CELL_MS);
  if (slow.length > 0) console.log(`slow in the simulator (> ${SLOW_CELL_MS} ms): ${slow.map(r => `${r.pattern} on ${r.driver} (${r.simMs} ms)`).join(', ')}`);
}

export interface PatternsReport {
  date: string;
  node: string;
  sizes: PatternSizes;
  idleAfterSeconds: number;
  latencyModel: string[];
  patterns: { name: PatternName; description: string; access: string }[];
  results: PatternResult[];
}

export function patternsReport(results: PatternResult[], sizes: PatternSizes = FULL_SIZES): PatternsReport {
  return {
    date: new Date().toISOString(),
    node: process.version,
    sizes,
    idleAfterSeconds: IDLE_AFTER_SECONDS,
    latencyModel: describeLatencyModel(),
    patterns: patternSpecs(sizes).map(s => ({ name: s.name, description: s.description, access: s.access })),
    results,
  };
}

export function savePatterns(file: string, report: PatternsReport): void {
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, `${JSON.stringify(report, null, 2)}\n`);
}

const SELF = fileURLToPath(import.meta.url);
if (process.argv[1] === SELF) {
  const out = process.argv[2] === '--json' ? process.argv[3] : undefined;
  const results = runPatterns();
  printPatterns(results);
  if (out !== undefined) savePatterns(out, patternsReport(results));
}
