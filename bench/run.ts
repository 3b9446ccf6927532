/**
 * `npm run bench`: the benny primitive suites, then the peer-trace replay on memfs, ZenFS CopyOnWrite and every model
 * (fresh process per run, runs interleaved) with its table and ratios, then the write patterns x drivers table
 * (bench/patterns.ts) and the peer ratios again; the numbers go to bench/results/latest.json and
 * bench/results/patterns.json.
 *
 *   npm run bench                      primitives + 100,000-op replay, 3 runs + patterns
 *   npm run bench -- --quick           short benny budget + 10,000-op replay, 1 run + patterns (same sizes)
 *   npm run bench -- --ops N --runs N  replay size and repetitions
 *   npm run bench -- --no-primitives   skip a part (also --no-replay, --no-zenfs, --no-patterns)
 *
 * Throughput is printed only after every system's final view matched memfs's (exit 1 otherwise).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { cpus } from 'node:os';
import { dirname } from 'node:path';
import { checkPeerTrace, DEFAULT_OPS, DEFAULT_SEED } from './peer-trace.js';
import { patternsReport, printPatterns, runPatterns, savePatterns, type PatternsReport } from './patterns.js';
import { runPrimitives, type PrimitiveSuite } from './primitives.js';
import { BARE_BYTES, BARE_EXTENTS, BARE_NAMES, CEILINGS } from './ceiling.js';
import { BASELINE, FinalViewMismatch, PEERS, runReplays, systemNames, ZENFS, type ReplaySummary } from './replay.js';

/** Issue 5's floor: every model replays the peer trace at least this many times faster than memfs in the same run. */
const FLOOR_RATIO_TO_MEMFS = 10;

interface Args {
  ops: number;
  runs: number;
  seed: number;
  quick: boolean;
  primitives: boolean;
  replay: boolean;
  zenfs: boolean;
  patterns: boolean;
  out: string;
  patternsOut: string;
}

const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));

function parseArgs(argv: readonly string[]): Args {
  const args: Args = {
    ops: DEFAULT_OPS,
    runs: 3,
    seed: DEFAULT_SEED,
    quick: false,
    primitives: true,
    replay: true,
    zenfs: true,
    patterns: true,
    out: `${REPO_ROOT}bench/results/latest.json`,
    patternsOut: `${REPO_ROOT}bench/results/patterns.json`,
  };
  const num = (flag: string, v: string | undefined): number => {
    const n = Number(v);
    if (v === undefined || !Number.isInteger(n) || n <= 0) throw new Error(`${flag} needs a positive integer`);
    return n;
  };
  let ops: number | undefined;
  let runs: number | undefined;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--quick') args.quick = true;
    else if (a === '--ops') ops = num(a, argv[++i]);
    else if (a === '--runs') runs = num(a, argv[++i]);
    else if (a === '--seed') args.seed = num(a, argv[++i]);
    else if (a === '--no-primitives') args.primitives = false;
    else if (a === '--no-replay') args.replay = false;
    else if (a === '--no-zenfs') args.zenfs = false;
    else if (a === '--no-patterns') args.patterns = false;
    else if (a === '--out') args.out = argv[++i] ?? args.out;
    else throw new Error(`unknown argument '${a}' (known: --quick, --ops N, --runs N, --seed N, --no-primitives, --no-replay, --no-zenfs, --no-patterns, --out FILE)`);
  }
  if (args.quick) {
    args.ops = 10_000;
    args.runs = 1;
  }
  args.ops = ops ?? args.ops;
  args.runs = runs ?? args.runs;
  return args;
}

function printTable(s: ReplaySummary): void {
  const header = ['system', 'ops/s (median)', 'runs', 'vs memfs', 'vs ZenFS CoW', 'write µs', 'create µs', 'unlink µs', 'setup ms', 'RSS MiB'];
  const rows = s.systems.map(x => [
    x.system,
    x.medianOpsPerSec.toLocaleString('en-US'),
    x.runsOpsPerSec.map(n => n.toLocaleString('en-US')).join(' · '),
    x.system === BASELINE ? '1.00 (baseline)' : `${x.ratioToBaseline.toFixed(2)}x`,
    x.ratioToZenfs === undefined ? '-' : x.system === ZENFS ? '1.00' : `${x.ratioToZenfs.toFixed(x.ratioToZenfs >= 100 ? 0 : 1)}x`,
    x.meanUs.write.toFixed(2),
    x.meanUs.create.toFixed(2),
    x.meanUs.unlink.toFixed(2),
    String(x.setupMs),
    String(x.rssMiB),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map(r => r[i]!.length)));
  const line = (cells: string[]): string => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  console.log(line(header));
  console.log(widths.map(w => '-'.repeat(w)).join('  '));
  for (const r of rows) console.log(line(r));
  console.log('');
  console.log(`final view (all systems, every run): ${s.final.files} files, ${s.final.bytes} bytes, sha256 ${s.final.sha256}`);
  for (const x of s.systems) {
    if (x.layers === undefined) continue;
    const l = x.layers;
    if (l['copyUpBytes'] === undefined) {
      console.log(`  ${x.system.padEnd(9)} ${Object.entries(l).map(([k, v]) => `${k} ${v}`).join(', ')}`);
      continue;
    }
    const mib = (n: number | undefined): string => `${((n ?? 0) / 2 ** 20).toFixed(1)} MiB`;
    console.log(
      `  ${x.system.padEnd(9)} copy-up ${mib(l['copyUpBytes'])}; usage: data ${mib(l['dataBytes'])}, metadata ${mib(l['metadataBytes'])}, ` +
        `allocated ${mib(l['allocatedBytes'])}, apparent ${mib(l['apparentBytes'])}, inodes ${l['inodeCount'] ?? 0}`,
    );
  }
}

/** The peer ratios in words, and issue 5's floor (every model ≥ 10x memfs) checked on this run. */
function printFloor(s: ReplaySummary, ops: number): void {
  const references: readonly string[] = [...PEERS, ...CEILINGS];
  const models = s.systems.filter(x => !references.includes(x.system));
  const zen = s.systems.find(x => x.system === ZENFS);
  console.log('');
  console.log(`peer ratios (same run): models vs memfs ${range(models.map(x => x.ratioToBaseline))}` +
    (zen === undefined ? '' : `; vs ZenFS CopyOnWrite ${range(models.map(x => x.ratioToZenfs ?? 0))}; ZenFS CopyOnWrite vs memfs ${zen.ratioToBaseline.toFixed(3)}x`));
  const slow = models.filter(x => x.ratioToBaseline < FLOOR_RATIO_TO_MEMFS);
  const floor = `the floor (every model >= ${FLOOR_RATIO_TO_MEMFS}x memfs, issue 5)`;
  if (slow.length === 0) console.log(`${floor}: met by every model`);
  else {
    console.log(`${floor}: NOT met by ${slow.map(x => `${x.system} (${x.ratioToBaseline.toFixed(2)}x)`).join(', ')}`);
    console.log('profile one with: node --cpu-prof dist/bench/replay.js <system> 100000');
  }
  const ceiling = (name: string): string => {
    const x = s.systems.find(y => y.system === name);
    return x === undefined ? '-' : `${x.ratioToBaseline.toFixed(2)}x`;
  };
  console.log(
    `the harness's ceilings (bench/ceiling.ts): ${BARE_NAMES} ${ceiling(BARE_NAMES)} memfs (name maps with sizes and times, no data: ` +
      `faster than anything that keeps what was written), ${BARE_EXTENTS} ${ceiling(BARE_EXTENTS)} (name maps and the models' extent maps), ` +
      `${BARE_BYTES} ${ceiling(BARE_BYTES)} (name maps and each file's bytes)`,
  );
  if (ops < DEFAULT_OPS) console.log(`(${ops.toLocaleString('en-US')} ops: JIT warm-up weighs on short replays; the floor is judged on the full ${DEFAULT_OPS.toLocaleString('en-US')}-op trace)`);
}

function range(xs: number[]): string {
  if (xs.length === 0) return '-';
  const lo = Math.min(...xs);
  const hi = Math.max(...xs);
  const f = (x: number): string => x.toFixed(x >= 100 ? 0 : 2);
  return lo === hi ? `${f(lo)}x` : `${f(lo)}x to ${f(hi)}x`;
}

async function main(): Promise<number> {
  const args = parseArgs(process.argv.slice(2));
  checkPeerTrace();
  const started = new Date().toISOString();
  let primitives: PrimitiveSuite[] | undefined;
  if (args.primitives) {
    console.log(`== primitives (benny, ${args.quick ? 0.25 : 1} s per case) ==\n`);
    primitives = await runPrimitives({ maxTime: args.quick ? 0.25 : 1 });
  }
  let replay: ReplaySummary | undefined;
  if (args.replay) {
    console.log(`== peer trace replay: seed ${args.seed}, ${args.ops.toLocaleString('en-US')} ops, ${args.runs} run(s) per system, fresh process each ==`);
    try {
      const systems = systemNames().filter(x => args.zenfs || x !== ZENFS);
      replay = runReplays({ ops: args.ops, runs: args.runs, seed: args.seed, systems, log: line => console.log(line) });
    } catch (e) {
      if (e instanceof FinalViewMismatch) {
        console.error(e.message);
        return 1;
      }
      throw e;
    }
    console.log('');
    printTable(replay);
    printFloor(replay, args.ops);
  }
  let patterns: PatternsReport | undefined;
  if (args.patterns) {
    console.log('\n== write patterns x drivers (fresh host per cell; counted by the cost meter, latency from bench/latency-model.ts) ==\n');
    patterns = patternsReport(runPatterns());
    printPatterns(patterns.results);
    savePatterns(args.patternsOut, patterns);
    console.log(`\npatterns: ${args.patternsOut}`);
  }
  if (replay !== undefined && patterns !== undefined) printFloor(replay, args.ops);
  const result = {
    date: started,
    node: process.version,
    cpus: `${cpus().length} x ${cpus()[0]?.model ?? '?'}`,
    args: { ops: args.ops, runs: args.runs, seed: args.seed, quick: args.quick },
    replay,
    primitives,
  };
  mkdirSync(dirname(args.out), { recursive: true });
  writeFileSync(args.out, `${JSON.stringify(result, null, 2)}\n`);
  console.log(`\nresults: ${args.out}`);
  return 0;
}

process.exitCode = await main();
