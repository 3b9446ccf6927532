/**
 * benny suites for idempotent primitives (research rule 9: benny repeats a function on the same state, so only calls
 * that leave the state as they found it belong here; copy-up and other one-time transitions are measured by the trace
 * replay instead).
 *
 * - stat of a file present only in the bottom layer, through N = 1, 8, 32, 125 lower layers (125: the deepest image
 *   Docker runs a container on, MaxImageDepth 127 less the container layer and one spare: Host.run refuses deeper);
 * - stat of a lower file in a directory whose upper holds 10, 1,000 or 100,000 whiteouts (must stay flat).
 *
 * Each is measured warm (the mount's dentry cache holds the path, as after a first lookup) and cold (the union mount's
 * dentry cache dropped before every call, like `echo 2 > /proc/sys/vm/drop_caches`, so every branch is probed again).
 * Every suite also prints each case's ratio to its smallest case, measured in the same run.
 */
import b from 'benny';
import { allModels } from '../models/index.js';
import { capabilitiesOf, type DriverModel } from '../src/engine/driver.js';
import { resolveOptions } from '../src/engine/drivers.js';
import { Host } from '../src/engine/host.js';
import type { Inode } from '../src/fs/inode.js';
import { Volume } from '../src/fs/volume.js';
import { UnionMount } from '../src/union/union-mount.js';
import type { Syscalls } from '../src/vfs/syscalls.js';

export const LAYER_COUNTS = [1, 8, 32, 125] as const;
export const WHITEOUT_COUNTS = [10, 1_000, 100_000] as const;

export interface PrimitiveCase {
  name: string;
  opsPerSec: number;
  /** Relative margin of error, percent. */
  marginPct: number;
  /** ops/s of the suite's first (smallest) case over this case's: 1 = flat, 2 = twice as slow. */
  slowdownVsFirst: number;
}

export interface PrimitiveSuite {
  model: string;
  primitive: 'lookup-through-layers' | 'lookup-beside-whiteouts';
  mode: 'warm' | 'cold';
  cases: PrimitiveCase[];
  skipped: string[];
}

interface Stat {
  stat(path: string): unknown;
}

/** A container's view whose lookups are measured warm (as is) or cold (dentry cache dropped before each call). */
function statter(sys: Syscalls<object>, mode: 'warm' | 'cold'): Stat {
  const mount = sys.mount;
  if (mode === 'cold' && mount instanceof UnionMount) {
    return {
      stat(path) {
        mount.root.children = undefined;
        return sys.stat(path);
      },
    };
  }
  return sys;
}

function mkdirs(vol: Volume, path: string): Inode {
  let dir = vol.root;
  for (const name of path.split('/').filter(n => n !== '')) {
    dir = dir.entries!.get(name) ?? vol.createChild(dir, name, 'dir', { mode: 0o755, uid: 0, gid: 0 });
  }
  return dir;
}

function addFile(vol: Volume, dir: Inode, name: string): void {
  vol.createChild(dir, name, 'file', { mode: 0o644, uid: 0, gid: 0 });
}

const LOOKUP_DIR = '/deep/a/b';
const LOOKUP_PATH = `${LOOKUP_DIR}/target`;

/** A container over an image of `n` layers: every layer has /deep/a/b (so each level merges n directories) with a file of its own; only the bottom one has `target`. */
function layeredContainer(model: DriverModel, n: number): Syscalls<object> {
  const host = new Host(model, resolveOptions(model, {}));
  const layers: Volume[] = [];
  for (let k = 0; k < n; k++) {
    const vol = new Volume();
    const dir = mkdirs(vol, LOOKUP_DIR);
    addFile(vol, dir, `l${k}`);
    if (k === 0) addFile(vol, dir, 'target');
    layers.push(vol);
  }
  host.loadImage('img', layers);
  const sys = host.run('c', 'img', false).sys;
  if (sys.stat(LOOKUP_PATH).kind !== 'file') throw new Error(`${model.name}: ${LOOKUP_PATH} not visible`);
  return sys;
}

const WH_DIR = '/w';
const WH_PATH = `${WH_DIR}/keep`;

/** A container whose /w upper holds `k` whiteouts: the lower has /w/keep and /w/g0..g(k-1), the container unlinks the g's. */
function whiteoutContainer(model: DriverModel, k: number): Syscalls<object> {
  const host = new Host(model, resolveOptions(model, {}));
  const vol = new Volume();
  const dir = mkdirs(vol, WH_DIR);
  addFile(vol, dir, 'keep');
  for (let i = 0; i < k; i++) addFile(vol, dir, `g${i}`);
  host.loadImage('img', [vol]);
  const sys = host.run('c', 'img', false).sys;
  for (let i = 0; i < k; i++) sys.unlink(`${WH_DIR}/g${i}`);
  if (sys.readdir(WH_DIR).length !== 1) throw new Error(`${model.name}: /w should show only keep after ${k} unlinks`);
  return sys;
}

function summarise(cases: { name: string; ops: number; margin: number }[]): PrimitiveCase[] {
  const first = cases[0]?.ops ?? 1;
  return cases.map(c => ({
    name: c.name,
    opsPerSec: Math.round(c.ops),
    marginPct: c.margin,
    slowdownVsFirst: Math.round((first / c.ops) * 100) / 100,
  }));
}

function printRatios(title: string, cases: PrimitiveCase[]): void {
  console.log(`  ${title}: slowdown vs ${cases[0]?.name ?? '-'} (same run)`);
  for (const c of cases) {
    console.log(`    ${c.name.padEnd(16)} ${String(c.opsPerSec).padStart(12)} ops/s ±${c.marginPct}%  x${c.slowdownVsFirst}`);
  }
  console.log('');
}

async function runSuite(
  title: string,
  entries: { name: string; fn: () => void }[],
  maxTime: number,
): Promise<PrimitiveCase[]> {
  const summary = await b.suite(
    title,
    b.configure({ cases: { maxTime, minSamples: 5 } }),
    ...entries.map(e => b.add(e.name, e.fn)),
    // on a terminal benny's live progress; in a log one line per finished case
    process.stdout.isTTY
      ? b.cycle()
      : b.cycle(r => void console.log(`  ${r.name}: ${Math.round(r.ops)} ops/s ±${r.margin}% (${r.samples} samples)`)),
  );
  // benny reports in the order added
  const byName = new Map(summary.results.map(r => [r.name, r]));
  const cases = summarise(entries.map(e => byName.get(e.name)!).map(r => ({ name: r.name, ops: r.ops, margin: r.margin })));
  printRatios(title, cases);
  return cases;
}

/** Runs every primitive suite; `maxTime` is benny's time budget per case in seconds. */
export async function runPrimitives(opts: { maxTime: number; models?: readonly DriverModel[] }): Promise<PrimitiveSuite[]> {
  const models = opts.models ?? allModels;
  const out: PrimitiveSuite[] = [];
  for (const model of models) {
    const caps = capabilitiesOf(model, resolveOptions(model, {}));
    const counts = LAYER_COUNTS.filter(n => n <= caps.maxLowerLayers);
    const skipped = LAYER_COUNTS.filter(n => n > caps.maxLowerLayers).map(n => `N=${n} (max ${caps.maxLowerLayers} lower layers)`);
    for (const why of skipped) console.log(`${model.name}: lookup through layers: skipping ${why}`);
    const containers = counts.map(n => ({ n, sys: layeredContainer(model, n) }));
    for (const mode of ['warm', 'cold'] as const) {
      const entries = containers.map(({ n, sys }) => {
        const s = statter(sys, mode);
        return { name: `N=${n}`, fn: () => void s.stat(LOOKUP_PATH) };
      });
      const title = `${model.name}: stat ${LOOKUP_PATH} (bottom layer only) through N layers, ${mode} dcache`;
      out.push({ model: model.name, primitive: 'lookup-through-layers', mode, cases: await runSuite(title, entries, opts.maxTime), skipped });
    }
  }
  for (const model of models) {
    if (!capabilitiesOf(model, resolveOptions(model, {})).whiteouts) continue;
    const containers = WHITEOUT_COUNTS.map(k => ({ k, sys: whiteoutContainer(model, k) }));
    for (const mode of ['warm', 'cold'] as const) {
      const entries = containers.map(({ k, sys }) => {
        const s = statter(sys, mode);
        return { name: `whiteouts=${k}`, fn: () => void s.stat(WH_PATH) };
      });
      const title = `${model.name}: stat ${WH_PATH} beside K whiteouts in the upper, ${mode} dcache`;
      out.push({ model: model.name, primitive: 'lookup-beside-whiteouts', mode, cases: await runSuite(title, entries, opts.maxTime), skipped: [] });
    }
  }
  return out;
}
