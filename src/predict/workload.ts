/**
 * `--workload`: what each container does, as trace lines. A JSONL trace (its file-op lines), a fio job file, or a
 * generator spec `NAME[:key=value,...]` for the generators of src/workload (`dd:bs=64k,count=1`,
 * `dpkg:packages=3`, `db:writes=200` ...).
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, resolve as resolvePath } from 'node:path';
import { parseTrace, TraceError, type TraceLine } from '../trace/parse.js';
import type { TraceOp } from '../trace/schema.js';
import {
  appendOnly,
  databasePages,
  dd,
  fioToTrace,
  logAppend,
  manySmallFiles,
  metadataStorm,
  packageInstall,
  parseFioSize,
  randomOverwrite,
  rewriteWholeFile,
  sequentialWrite,
  sparseFiles,
} from '../workload/index.js';

export type WorkloadKind = 'trace' | 'fio' | 'generator';

export interface Workload {
  kind: WorkloadKind;
  /** As given on the command line. */
  source: string;
  /** The lines each container replays (line numbers: the trace's, else 1-based op indices). */
  lines: TraceLine[];
  /** Lines of the input left out (image/run/driver/mark lines of a trace), and fio's warnings and notes. */
  warnings: string[];
}

/** A workload that cannot be used (exit status 2). */
export class WorkloadError extends Error {}

type ParamType = 'size' | 'int' | 'number' | 'string' | 'bool' | 'paths' | readonly string[];

interface GeneratorSpec {
  summary: string;
  params: Readonly<Record<string, ParamType>>;
  /** Defaults filled in before the call (the generator's required options get a small default here). */
  defaults: Readonly<Record<string, unknown>>;
  make: (o: Record<string, unknown>) => TraceOp[];
}

const FILL = ['zero', 'pattern', 'random'] as const;

/* eslint-disable @typescript-eslint/no-explicit-any -- options are checked by each param's type, then by the generator */
const GENERATORS: Record<string, GeneratorSpec> = {
  dd: {
    summary: 'dd if=/dev/zero of=PATH bs=BS count=N seek=S',
    params: { path: 'string', bs: 'size', count: 'int', seek: 'int', fill: FILL },
    defaults: { path: '/data1', bs: 64 * 1024, count: 1 },
    make: o => dd(o as any),
  },
  write: {
    summary: 'a new file written sequentially',
    params: { path: 'string', bytes: 'size', blockBytes: 'size', fill: FILL, fsync: 'bool' },
    defaults: { path: '/data/seq', bytes: 1024 * 1024 },
    make: o => sequentialWrite(o as any),
  },
  randwrite: {
    summary: 'random in-place overwrites of a file',
    params: { path: 'string', fileBytes: 'size', blockBytes: 'size', writes: 'int', seed: 'int', create: 'bool', fsyncEvery: 'int', fill: FILL },
    defaults: { path: '/data/big', fileBytes: 4 * 1024 * 1024, writes: 64, create: true },
    make: o => randomOverwrite(o as any),
  },
  append: {
    summary: 'appends to a file',
    params: { path: 'string', bytes: 'size', writeBytes: 'size', fsyncEvery: 'int', fill: FILL },
    defaults: { path: '/var/log/app.log', bytes: 256 * 1024 },
    make: o => appendOnly(o as any),
  },
  log: {
    summary: 'a logger appending lines to an O_APPEND file',
    params: { path: 'string', lineBytes: 'size', lines: 'int', fsyncEvery: 'int' },
    defaults: { lines: 1000 },
    make: o => logAppend(o as any),
  },
  'small-files': {
    summary: 'many small new files',
    params: { dir: 'string', count: 'int', size: 'size', dirWidth: 'int', seed: 'int', fill: FILL },
    defaults: { count: 100 },
    make: o => manySmallFiles(o as any),
  },
  rewrite: {
    summary: 'a whole file rewritten (temporary file + rename, or O_TRUNC)',
    params: { path: 'string', bytes: 'size', times: 'int', via: ['rename', 'truncate'], growBytes: 'size', fill: FILL },
    defaults: { path: '/data/db', bytes: 1024 * 1024 },
    make: o => rewriteWholeFile(o as any),
  },
  chmod: {
    summary: 'chmod of paths (colon-separated)',
    params: { paths: 'paths', mode: 'int', rounds: 'int' },
    defaults: { paths: ['/bin/busybox'] },
    make: o => metadataStorm({ ...(o as any), kind: 'chmod' }),
  },
  chown: {
    summary: 'chown of paths (colon-separated)',
    params: { paths: 'paths', uid: 'int', gid: 'int', rounds: 'int' },
    defaults: { paths: ['/bin/busybox'] },
    make: o => metadataStorm({ ...(o as any), kind: 'chown' }),
  },
  touch: {
    summary: 'utimes of paths (colon-separated)',
    params: { paths: 'paths', time: 'int', rounds: 'int' },
    defaults: { paths: ['/bin/busybox'] },
    make: o => metadataStorm({ ...(o as any), kind: 'touch' }),
  },
  db: {
    summary: 'database page writes (filebench oltp)',
    params: { dir: 'string', files: 'int', fileBytes: 'size', pageBytes: 'size', writes: 'int', seed: 'int', create: 'bool', logEvery: 'int', logWriteBytes: 'size' },
    defaults: { files: 2, fileBytes: 1024 * 1024, writes: 100 },
    make: o => databasePages(o as any),
  },
  sparse: {
    summary: "xfstests overlay/066's sparse files",
    params: { dir: 'string', phase: ['create', 'copyup', 'both'], big: 'bool', seed: 'int' },
    defaults: { big: false },
    make: o => sparseFiles(o as any),
  },
  dpkg: {
    summary: 'a dpkg install run (apt caches, status rewrites, debconf)',
    params: { packages: 'int', filesPerPackage: 'int', meanFileBytes: 'size', seed: 'int', seedDatabases: 'bool', dbScale: 'number', debconf: 'bool', aptCaches: 'bool' },
    defaults: { manager: 'dpkg' },
    make: o => packageInstall(o as any),
  },
  rpm: {
    summary: 'an rpm install run (Berkeley DB, or sqlite with manager=rpm-sqlite)',
    params: { packages: 'int', filesPerPackage: 'int', meanFileBytes: 'size', seed: 'int', seedDatabases: 'bool', dbScale: 'number', manager: ['rpm', 'rpm-sqlite'] },
    defaults: { manager: 'rpm' },
    make: o => packageInstall(o as any),
  },
  'metadata-storm': {
    summary: 'chmod, chown or touch (kind=) of paths (colon-separated)',
    params: { paths: 'paths', kind: ['chmod', 'chown', 'touch'], mode: 'int', uid: 'int', gid: 'int', time: 'int', rounds: 'int' },
    defaults: { paths: ['/bin/busybox'], kind: 'chmod' },
    make: o => metadataStorm(o as any),
  },
  'package-install': {
    summary: 'a package install run (manager=dpkg, rpm or rpm-sqlite)',
    params: { packages: 'int', filesPerPackage: 'int', meanFileBytes: 'size', seed: 'int', seedDatabases: 'bool', dbScale: 'number', debconf: 'bool', aptCaches: 'bool', manager: ['dpkg', 'rpm', 'rpm-sqlite'] },
    defaults: { manager: 'dpkg' },
    make: o => packageInstall(o as any),
  },
};
/* eslint-enable @typescript-eslint/no-explicit-any */

/** The names `layersim workload GENERATOR` uses (src/cli/workload-commands.ts), for the same generators. */
const ALIASES: Readonly<Record<string, string>> = {
  'sequential-write': 'write',
  'random-overwrite': 'randwrite',
  'log-append': 'log',
  'many-small-files': 'small-files',
  'rewrite-whole-file': 'rewrite',
  'database-pages': 'db',
  'sparse-files': 'sparse',
};
for (const [alias, name] of Object.entries(ALIASES)) GENERATORS[alias] = GENERATORS[name]!;

export const GENERATOR_NAMES: readonly string[] = Object.keys(GENERATORS);

/** One line per generator: `name  summary (keys)`, for --help and errors. */
export function describeGenerators(): string {
  const aka = (name: string) => Object.entries(ALIASES).filter(([, n]) => n === name).map(([a]) => a);
  return Object.entries(GENERATORS)
    .filter(([name]) => !(name in ALIASES))
    .map(([name, g]) => `  ${name}${aka(name).length > 0 ? ` (or ${aka(name).join(', ')})` : ''}: ${g.summary}; options ${Object.keys(g.params).join(', ')}`)
    .join('\n');
}

function parseValue(context: string, key: string, type: ParamType, raw: string): unknown {
  const bad = (what: string) => new WorkloadError(`${context}: ${key}=${raw}: ${what}`);
  if (Array.isArray(type)) {
    if (!type.includes(raw)) throw bad(`one of ${type.join(', ')}`);
    return raw;
  }
  switch (type) {
    case 'size': {
      // dd's and fio's suffixes: 64k = 65536, 1m = 1 MiB (also KiB, MB ...)
      const v = parseFioSize(raw, 1024);
      if (v === undefined || !Number.isSafeInteger(v)) throw bad('not a size (e.g. 4096, 64k, 1m, 2MiB)');
      return v;
    }
    case 'int': {
      if (!/^(0|[1-9]\d*|0[0-7]+)$/.test(raw)) throw bad('not a non-negative integer');
      return raw.length > 1 && raw.startsWith('0') ? Number.parseInt(raw, 8) : Number(raw);
    }
    case 'number': {
      const v = Number(raw);
      if (!Number.isFinite(v)) throw bad('not a number');
      return v;
    }
    case 'bool':
      if (['1', 'true', 'yes', 'on'].includes(raw)) return true;
      if (['0', 'false', 'no', 'off'].includes(raw)) return false;
      throw bad('true or false');
    case 'paths':
      return raw.split(':').filter(p => p !== '');
    case 'string':
      return raw;
  }
}

/** Whether the text is shaped as a generator spec (`name` or `name:key=value,...`) of a known generator. */
export function isGeneratorSpec(text: string): boolean {
  const name = /^([a-z][a-z-]*)(?::|$)/.exec(text)?.[1];
  return name !== undefined && name in GENERATORS;
}

/** The ops of a generator spec such as `dd:bs=64k,count=1`. */
export function generatorOps(spec: string): TraceOp[] {
  const colon = spec.indexOf(':');
  const name = colon < 0 ? spec : spec.slice(0, colon);
  const rest = colon < 0 ? '' : spec.slice(colon + 1);
  return generate(name, rest.split(',').filter(p => p.trim() !== ''), `--workload ${spec}`);
}

/**
 * The ops of generator `name` (or one of its aliases) with `key=value` options, defaults filled in and every value
 * checked by its type; `context` starts every error message (`--workload SPEC`, `workload NAME`).
 */
export function generate(name: string, pairs: readonly string[], context: string): TraceOp[] {
  const g = GENERATORS[name];
  if (g === undefined) throw new WorkloadError(`${context}: unknown generator '${name}' (known: ${GENERATOR_NAMES.join(', ')})`);
  const o: Record<string, unknown> = { ...g.defaults };
  for (const pair of pairs) {
    const eq = pair.indexOf('=');
    if (eq <= 0) throw new WorkloadError(`${context}: '${pair}' is not key=value`);
    const key = pair.slice(0, eq).trim();
    const type = g.params[key];
    if (type === undefined) throw new WorkloadError(`${context}: ${name} has no option '${key}' (options: ${Object.keys(g.params).join(', ')})`);
    o[key] = parseValue(context, key, type, pair.slice(eq + 1).trim());
  }
  try {
    return g.make(o);
  } catch (e) {
    throw new WorkloadError(`${context}: ${(e as Error).message}`);
  }
}

/** What a generator imitates (its one-line summary), for the header of a generated trace. */
export function generatorSummary(name: string): string | undefined {
  return GENERATORS[name]?.summary;
}

/** Trace ops predict leaves out of a trace (the schedule makes the containers), and ops it cannot replay per container. */
const IGNORED = new Set(['driver', 'image', 'run', 'mark']);
const REJECTED = new Set(['use', 'stop', 'commit', 'rm', 'rmi', 'export', 'save']);

/**
 * A trace's file-op lines for replay in every container. `image`, `run`, `driver` and `mark` lines are left out
 * (named in the warnings); lifecycle lines (`commit`, `rm`, `stop`, `use`, `rmi`, `export`, `save`) and lines with
 * `in` are rejected: predict makes the containers and commits itself (`--containers`, `--schedule`).
 */
export function traceWorkload(text: string, file: string): Workload {
  const all = parseTrace(text, file);
  const lines: TraceLine[] = [];
  const ignored = new Map<string, number[]>();
  for (const l of all) {
    const op = l.op.op;
    if (IGNORED.has(op)) {
      ignored.set(op, [...(ignored.get(op) ?? []), l.line]);
      continue;
    }
    if (REJECTED.has(op)) {
      throw new TraceError(file, l.line, `${op}: predict replays the file ops of one container; containers and commits come from --containers and --schedule (commit-every:K)`);
    }
    if ('in' in l.op && l.op.in !== undefined) throw new TraceError(file, l.line, `${op}: \`in\` names another container; predict replays one container's ops`);
    lines.push(l);
  }
  const warnings = [...ignored].map(([op, at]) => `${file}: ${at.length} \`${op}\` line(s) ignored (line ${at.slice(0, 5).join(', ')}${at.length > 5 ? ', ...' : ''}): predict runs the image given with --image`);
  if (lines.length === 0) throw new TraceError(file, 0, 'no file-op lines to replay');
  return { kind: 'trace', source: file, lines, warnings };
}

export interface WorkloadOptions {
  /** fio: multiply every size (FioTraceOptions.scale). */
  fioScale?: number;
}

function looksLikeTrace(text: string): boolean {
  const first = text.split('\n').map(l => l.trim()).find(l => l !== '' && !l.startsWith('#') && !l.startsWith(';'));
  return first === undefined || first.startsWith('{');
}

/** Resolves `--workload`: an existing file (a JSONL trace, or a fio job file), else a generator spec. */
export function loadWorkload(arg: string, opts: WorkloadOptions = {}): Workload {
  if (existsSync(arg) && statSync(arg).isFile()) {
    const text = readFileSync(arg, 'utf8');
    if (/\.jsonl?$/i.test(arg) || (!/\.(fio|job|ini)$/i.test(arg) && looksLikeTrace(text))) return traceWorkload(text, arg);
    const fio = fioToTrace(text, {
      file: arg,
      coalesce: true,
      include: name => readFileSync(resolvePath(dirname(arg), name), 'utf8'),
      ...(opts.fioScale !== undefined ? { scale: opts.fioScale } : {}),
    });
    if (fio.ops.length === 0) throw new WorkloadError(`${arg}: the fio job file does no I/O on files${fio.warnings.length > 0 ? ` (${fio.warnings.join('; ')})` : ''}`);
    return {
      kind: 'fio',
      source: arg,
      lines: fio.ops.map((op, i) => ({ line: i + 1, op })),
      warnings: [...fio.warnings, ...fio.notes.map(n => `note: ${n}`)],
    };
  }
  if (isGeneratorSpec(arg)) {
    const ops = generatorOps(arg);
    return { kind: 'generator', source: arg, lines: ops.map((op, i) => ({ line: i + 1, op })), warnings: [] };
  }
  throw new WorkloadError(`--workload ${arg}: no such file, and not a generator spec. Generators:\n${describeGenerators()}`);
}
