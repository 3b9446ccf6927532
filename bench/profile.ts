/**
 * Profiles one system's peer-trace replay and summarises the timed window only (not the base build, not the digest):
 *
 *   node dist/bench/profile.js <system> [ops=100000] [top=25]
 *
 * Runs `node --cpu-prof dist/bench/replay.js <system> <ops>` in a fresh directory, then prints self time per function
 * and per file, and inclusive time, over the samples from the first to the last one inside a trace op (garbage
 * collection in that window included). Locations are mapped back to the TypeScript sources through the source maps.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SourceMap } from 'node:module';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
  columnNumber: number;
}
interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}
interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

const HERE = dirname(fileURLToPath(import.meta.url));
const REPO = resolve(HERE, '../..');
const OPS = new Set(['write', 'create', 'unlink']);

const maps = new Map<string, SourceMap | null>();
function sourceMap(file: string): SourceMap | null {
  if (!maps.has(file)) {
    try {
      maps.set(file, new SourceMap(JSON.parse(readFileSync(`${file}.map`, 'utf8')) as never));
    } catch {
      maps.set(file, null);
    }
  }
  return maps.get(file)!;
}

/** `name path:line` with the path relative to the repository and the line in the TypeScript source when mapped. */
function location(cf: CallFrame): string {
  const name = cf.functionName || '(anonymous)';
  if (!cf.url.startsWith('file://')) return `${name} ${cf.url || '(native)'}`;
  const file = fileURLToPath(cf.url);
  const entry = sourceMap(file)?.findEntry(cf.lineNumber, cf.columnNumber);
  if (entry !== undefined && entry !== null && 'originalSource' in entry && entry.originalSource) {
    const src = entry.originalSource.startsWith('file://') ? fileURLToPath(entry.originalSource) : resolve(dirname(file), entry.originalSource);
    return `${name} ${relative(REPO, src)}:${entry.originalLine + 1}`;
  }
  return `${name} ${relative(REPO, file).replace(/^.*node_modules\//, '')}:${cf.lineNumber + 1}`;
}

export function summarise(profile: CpuProfile, top: number): string[] {
  const byId = new Map(profile.nodes.map(n => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const replayFile = (url: string): boolean => url.endsWith('/bench/replay.js');
  const inOp = (id: number): boolean => {
    for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
      const cf = byId.get(cur)!.callFrame;
      if (replayFile(cf.url) && OPS.has(cf.functionName)) return true;
    }
    return false;
  };
  let first = -1;
  let last = -1;
  profile.samples.forEach((id, i) => {
    if (inOp(id)) {
      if (first < 0) first = i;
      last = i;
    }
  });
  const self = new Map<string, number>();
  const incl = new Map<string, number>();
  const keys = new Map<number, string>();
  const key = (id: number): string => {
    let k = keys.get(id);
    if (k === undefined) keys.set(id, (k = location(byId.get(id)!.callFrame)));
    return k;
  };
  let total = 0;
  for (let i = first; i >= 0 && i <= last; i++) {
    const id = profile.samples[i]!;
    const t = profile.timeDeltas[i] ?? 0;
    total += t;
    self.set(key(id), (self.get(key(id)) ?? 0) + t);
    const seen = new Set<string>();
    for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
      const k = key(cur);
      if (seen.has(k)) continue;
      seen.add(k);
      incl.set(k, (incl.get(k) ?? 0) + t);
    }
  }
  const files = new Map<string, number>();
  for (const [k, t] of self) {
    const file = k.slice(k.indexOf(' ') + 1).replace(/:\d+$/, '');
    files.set(file, (files.get(file) ?? 0) + t);
  }
  const list = (m: Map<string, number>, title: string, filter: (k: string) => boolean = () => true): string[] => [
    `-- ${title}`,
    ...[...m]
      .filter(([k]) => filter(k))
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([k, t]) => `${((100 * t) / total).toFixed(1).padStart(5)}%  ${k}`),
  ];
  return [
    `timed window: ${(total / 1000).toFixed(0)} ms of samples`,
    ...list(self, 'self time'),
    ...list(files, 'self time by file'),
    ...list(incl, 'inclusive time (src/ and models/)', k => / (src|models)\//.test(k)),
  ];
}

const SELF = fileURLToPath(import.meta.url);
if (process.argv[1] === SELF) {
  const [system, opsArg, topArg] = process.argv.slice(2);
  if (system === undefined) {
    console.error('usage: node dist/bench/profile.js <system> [ops=100000] [top=25]');
    process.exit(2);
  }
  const dir = mkdtempSync(join(tmpdir(), 'layersim-prof-'));
  const r = spawnSync(process.execPath, ['--cpu-prof', `--cpu-prof-dir=${dir}`, join(HERE, 'replay.js'), system, opsArg ?? '100000'], { encoding: 'utf8' });
  if (r.status !== 0) {
    console.error(r.stderr);
    process.exit(1);
  }
  const result = JSON.parse(r.stdout.trim().split('\n').at(-1)!) as { opsPerSec: number; meanUs: unknown };
  console.log(`${system}: ${result.opsPerSec.toLocaleString('en-US')} ops/s under the profiler, mean µs ${JSON.stringify(result.meanUs)}`);
  const file = readdirSync(dir).find(n => n.endsWith('.cpuprofile'))!;
  for (const line of summarise(JSON.parse(readFileSync(join(dir, file), 'utf8')) as CpuProfile, Number(topArg ?? 25))) console.log(line);
  rmSync(dir, { recursive: true, force: true });
}
