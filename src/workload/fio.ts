import { mulberry32 } from '../engine/random.js';
import type { TraceOp } from '../trace/schema.js';
import { O_CREAT, O_RDONLY, O_RDWR, O_TRUNC, O_WRONLY } from '../vfs/syscalls.js';
import { FIO_ALIASES, FIO_ENGINE_OPTIONS, FIO_OPTIONS } from './fio-options.js';

/**
 * fio job files (fio's HOWTO, "Job file format" and "Job file parameters", fio 3.33) into trace ops.
 *
 * The parser reads the INI syntax as fio does: `[name]` sections (`[global]` sets defaults for the jobs below it),
 * `key=value` and bare flags, whole-line `;`/`#` comments and, as fio's strip_blank_end does, anything after a `;` or
 * `#` on an option line; `${VAR}` expansion; `include FILE`. Sizes take fio's suffixes (k/m/g/t/p, `b`/`B` optional, a
 * hex `0x` prefix) in fio's compatibility mode (`kb_base=1024`, the default: 4k = 4096, 4ki = 4000) or SI mode
 * (`kb_base=1000`: 4k = 4000, 4ki = 4096).
 *
 * The generator then does what fio does to the files: lays them out (fio's extend_file: files a job reads, or writes
 * with `overwrite=1`, are written out whole; write-only jobs get them fallocated, which a trace models as truncate),
 * opens them (O_RDWR|O_CREAT 0600 to write, O_RDONLY to read), issues the I/O of `rw` with `bs`/`bsrange`/`bssplit`
 * over `size`/`io_size`, `offset`, `nrfiles`, `filesize`, `numjobs` clones (each its own files unless `filename`
 * names shared ones), `loops`, `rwmixread`, `fsync`/`fdatasync`, `end_fsync`, `fsync_on_close`, `file_append`,
 * `create_on_open`, `unlink`, and `stonewall` groups (jobs in a group run interleaved I/O by I/O).
 *
 * Nothing is dropped silently: an option fio does not know, or one it knows that changes what is written but is not
 * simulated, is named with its line in `warnings`; approximations (time_based runs, fallocate, trims) go to `notes`.
 */

export interface FioTraceOptions {
  /** The directory fio runs in, for relative file names (default `/`). */
  cwd?: string;
  /** Emit `read` ops for the reads (default true); false skips them. */
  reads?: boolean;
  /** At most this many I/Os per job clone (default 10000); more are cut with a warning. */
  maxIosPerJob?: number;
  /** The size of a block device named by `filename=/dev/...`, and the base of `size=N%` (default 1 GiB). */
  deviceBytes?: number;
  /** Environment for `${VAR}` (default: none; undefined variables expand to the empty string, as in fio). */
  env?: Readonly<Record<string, string>>;
  /** Reads an `include` file; without it, includes are reported as warnings. */
  include?: (name: string) => string;
  /** Seed of the offsets and mixes when the job has no `randseed` (default 1). */
  seed?: number;
  /**
   * Multiplies every size (size, filesize, io_size, offset, offset_increment, deviceBytes) but not the block sizes:
   * 0.01 runs a 1% model of a job whose files are too big to simulate I/O by I/O. Default 1.
   */
  scale?: number;
  /** Merge contiguous sequential writes to one fd into one `write` op (same bytes, fewer ops). Default false. */
  coalesce?: boolean;
  /** Name used in warnings (default `job file`). */
  file?: string;
}

export interface FioOptionValue {
  /** The value as written (after `${VAR}` expansion); undefined for a bare flag. */
  value: string | undefined;
  line: number;
}

export interface FioSection {
  name: string;
  line: number;
  options: Map<string, FioOptionValue>;
}

export interface FioJobFile {
  /** Jobs in file order, each with the `[global]` options above it merged in (its own options win). */
  jobs: FioSection[];
  warnings: string[];
}

export interface FioJobSummary {
  name: string;
  line: number;
  clones: number;
  rw: string;
  files: string[];
  ios: number;
  writeBytes: number;
  readBytes: number;
  /** Clones cut at maxIosPerJob, and about how many I/Os (or files) each would have done. */
  cutClones: number;
  plannedIos: number;
}

export interface FioTrace {
  ops: TraceOp[];
  jobs: FioJobSummary[];
  warnings: string[];
  notes: string[];
}

// ---------------------------------------------------------------------------------------------------------------
// options: what is simulated, what cannot change the files

/** Options the generator reads. */
const SIMULATED = new Set([
  'name', 'description', 'rw', 'bs', 'bsrange', 'bssplit', 'ba', 'bs_unaligned', 'size', 'io_size', 'filesize', 'offset',
  'offset_increment', 'offset_align', 'nrfiles', 'filename', 'directory', 'filename_format', 'numjobs', 'loops',
  'rwmixread', 'rwmixwrite', 'fsync', 'fdatasync', 'end_fsync', 'fsync_on_close', 'create_on_open', 'create_only',
  'create_fsync', 'allow_file_create', 'file_append', 'overwrite', 'ioengine', 'stonewall', 'new_group', 'kb_base',
  'randseed', 'randrepeat', 'allrandrepeat', 'norandommap', 'unlink', 'unlink_each_loop', 'fill_device', 'number_ios',
  'time_based', 'runtime', 'fallocate', 'zero_buffers', 'file_service_type', 'openfiles', 'random_distribution',
]);

/**
 * Options fio knows that change timing, queueing, caching, CPU placement, reporting or data content and checking,
 * not which bytes land in which files: accepted without a warning.
 */
const NO_FILE_EFFECT = new Set([
  'wait_for', 'lockfile', 'unique_filename', 'iodepth', 'iodepth_batch', 'iodepth_batch_complete_min',
  'iodepth_batch_complete_max', 'iodepth_low', 'serialize_overlap', 'io_submit_mode', 'ignore_error',
  'random_generator', 'fadvise_hint', 'write_barrier', 'sync_file_range', 'direct', 'atomic', 'buffered', 'startdelay',
  'ramp_time', 'clocksource', 'mem', 'verify', 'do_verify', 'verify_interval', 'verify_offset', 'verify_pattern',
  'verify_fatal', 'verify_dump', 'verify_async', 'verify_backlog', 'verify_backlog_batch', 'experimental_verify',
  'verify_state_load', 'verify_state_save', 'verify_only', 'trim_percentage', 'trim_verify_zero', 'trim_backlog',
  'trim_backlog_batch', 'write_iolog', 'ioscheduler', 'lockmem', 'nice', 'prio', 'prioclass', 'thinktime',
  'thinktime_spin', 'thinktime_blocks', 'thinktime_blocks_type', 'thinktime_iotime', 'rate', 'rate_min', 'rate_process',
  'rate_cycle', 'rate_ignore_thinktime', 'rate_iops', 'rate_iops_min', 'max_latency', 'latency_target',
  'latency_window', 'latency_percentile', 'latency_run', 'invalidate', 'sync', 'write_hint', 'create_serialize',
  'allow_mounted_write', 'pre_read', 'cpumask', 'cpus_allowed', 'cpus_allowed_policy', 'numa_cpu_nodes',
  'numa_mem_policy', 'exitall', 'exit_what', 'exitall_on_error', 'thread', 'per_job_logs', 'write_bw_log', 'bwavgtime',
  'write_lat_log', 'write_iops_log', 'iopsavgtime', 'log_entries', 'log_avg_msec', 'log_hist_msec',
  'log_hist_coarseness', 'write_hist_log', 'log_max_value', 'log_offset', 'log_prio', 'log_compression',
  'log_compression_cpus', 'log_store_compressed', 'log_unix_epoch', 'log_alternate_epoch',
  'log_alternate_epoch_clock_id', 'block_error_percentiles', 'group_reporting', 'stats', 'refill_buffers',
  'scramble_buffers', 'buffer_pattern', 'buffer_compress_percentage', 'buffer_compress_chunk', 'dedupe_percentage',
  'dedupe_mode', 'dedupe_working_set_percentage', 'dedupe_global', 'clat_percentiles', 'lat_percentiles',
  'slat_percentiles', 'percentile_list', 'significant_figures', 'disk_util', 'gtod_reduce', 'disable_lat',
  'disable_clat', 'disable_slat', 'disable_bw_measurement', 'gtod_cpu', 'unified_rw_reporting', 'continue_on_error',
  'error_dump', 'cgroup', 'cgroup_nodelete', 'cgroup_weight', 'unit_base', 'hugepage-size', 'flow_id', 'flow',
  'flow_sleep', 'steadystate', 'steadystate_duration', 'steadystate_ramp_time',
]);

/** Engines whose I/O is read(2)/write(2)-like on files: simulated as such. */
const FILE_ENGINES = new Set(['sync', 'psync', 'vsync', 'pvsync', 'pvsync2', 'libaio', 'io_uring', 'posixaio', 'mmap', 'splice', 'windowsaio', 'solarisaio']);
/** Engines that touch no file. */
const NO_FILE_ENGINES = new Set(['null', 'cpuio', 'net', 'netsplice', 'rdma', 'exec', 'rados', 'rbd', 'gfapi', 'gfapi_async', 'http', 'nbd', 'mtd', 'sg', 'io_uring_cmd', 'dev-dax', 'libpmem', 'pmemblk', 'e4defrag', 'libhdfs', 'dfs', 'nfs', 'ime_psync', 'ime_psyncv', 'ime_aio', 'libiscsi', 'librpma_apm_client', 'librpma_apm_server', 'librpma_gpspm_client', 'librpma_gpspm_server', 'libcufile', 'libzbc', 'xnvme', 'cpp_null', 'filestat']);

// ---------------------------------------------------------------------------------------------------------------
// parsing

/** Parses a job file into its jobs, each with the global options above it merged in. */
export function parseFioJobFile(text: string, opts: FioTraceOptions = {}): FioJobFile {
  const warnings: string[] = [];
  const file = opts.file ?? 'job file';
  const env = opts.env ?? {};
  const jobs: FioSection[] = [];
  let global = new Map<string, FioOptionValue>();
  let current: FioSection | undefined;
  let inGlobal = false;
  const lines: { text: string; line: number }[] = text.split(/\r?\n/).map((t, i) => ({ text: t, line: i + 1 }));
  for (let idx = 0; idx < lines.length; idx++) {
    const { text: raw, line } = lines[idx]!;
    let s = raw.trimStart();
    if (s === '' || s.startsWith(';') || s.startsWith('#')) continue;
    // fio's strip_blank_end: anything after ';' or '#' is a comment, then trailing blanks go
    s = s.replace(/[;#].*$/, '').trimEnd();
    if (s === '') continue;
    const section = /^\[(.*)\]$/.exec(s);
    if (section !== null) {
      const name = section[1]!.trim();
      if (name === 'global') {
        inGlobal = true;
        current = undefined;
        // a later [global] adds to the defaults: copy, so jobs above keep what they saw
        global = new Map(global);
      } else {
        inGlobal = false;
        current = { name, line, options: new Map(global) };
        jobs.push(current);
      }
      continue;
    }
    const inc = /^include\s+(.+)$/.exec(s);
    if (inc !== null) {
      const name = inc[1]!.trim();
      if (opts.include === undefined) {
        warnings.push(`${file}:${line}: include '${name}' not read (no include reader given); its options are missing`);
      } else {
        // included lines report the include line's number
        lines.splice(idx + 1, 0, ...opts.include(name).split(/\r?\n/).map(t => ({ text: t, line })));
      }
      continue;
    }
    const eq = s.indexOf('=');
    const rawKey = (eq < 0 ? s : s.slice(0, eq)).trim();
    const value = eq < 0 ? undefined : expand(s.slice(eq + 1).trim(), env);
    const key = FIO_ALIASES[rawKey] ?? rawKey;
    if (!inGlobal && current === undefined) {
      warnings.push(`${file}:${line}: option '${rawKey}' outside of a [job] section; ignored (fio refuses it)`);
      continue;
    }
    const target = inGlobal ? global : current!.options;
    target.set(key, { value, line });
  }
  return { jobs, warnings };
}

function expand(value: string, env: Readonly<Record<string, string>>): string {
  return value.replace(/\$\{([^}]+)\}/g, (_, v: string) => env[v] ?? '');
}

/** fio's unit multiplier for a suffix (case-insensitive; `i` selects the other base, as the HOWTO's int type says). */
function unitMultiplier(suffix: string, kbBase: number): number | undefined {
  const m = /^([kmgtp]?)(i?)(b?)$/i.exec(suffix);
  if (m === null) return undefined;
  const letter = m[1]!.toLowerCase();
  if (letter === '') return m[2] === '' ? 1 : undefined;
  const power = 'kmgtp'.indexOf(letter) + 1;
  const base = m[2] !== '' ? (kbBase === 1000 ? 1024 : 1000) : kbBase;
  return base ** power;
}

/** A size in fio's syntax (`4k`, `1GiB`, `0x1000`, `(4*1024)`), or undefined when it is not one. */
export function parseFioSize(text: string, kbBase = 1024): number | undefined {
  const s = text.trim();
  const expr = /^\((.*)\)$/.exec(s);
  if (expr !== null) return evalExpression(expr[1]!, kbBase);
  const m = /^(0x[0-9a-f]+|\d+)\s*([a-z]*)$/i.exec(s);
  if (m === null) return undefined;
  const mult = m[1]!.toLowerCase().startsWith('0x') ? 1 : unitMultiplier(m[2]!, kbBase);
  if (mult === undefined) return undefined;
  return Number(m[1]) * mult;
}

/**
 * fio's arithmetic in parentheses: + - * / % ^ (power) over sizes with suffixes, by precedence climbing. Undefined
 * when the text is not such an expression.
 */
function evalExpression(text: string, kbBase: number): number | undefined {
  const tokens = text.match(/0x[0-9a-f]+|\d+(?:\.\d+)?[a-z]*|[-+*/%^()]|\S/gi) ?? [];
  let i = 0;
  const atom = (): number => {
    const t = tokens[i++];
    if (t === undefined) throw new Error('end');
    if (t === '(') {
      const v = sum();
      if (tokens[i++] !== ')') throw new Error(')');
      return v;
    }
    if (t === '-') return -atom();
    if (t === '+') return atom();
    const v = parseFioSize(t, kbBase);
    if (v === undefined) throw new Error(t);
    return v;
  };
  const power = (): number => {
    const base = atom();
    if (tokens[i] === '^') {
      i++;
      return base ** power();
    }
    return base;
  };
  const product = (): number => {
    let v = power();
    while (tokens[i] === '*' || tokens[i] === '/' || tokens[i] === '%') {
      const op = tokens[i++];
      const r = power();
      v = op === '*' ? v * r : op === '/' ? Math.trunc(v / r) : v % r;
    }
    return v;
  };
  const sum = (): number => {
    let v = product();
    while (tokens[i] === '+' || tokens[i] === '-') {
      const op = tokens[i++];
      const r = product();
      v = op === '+' ? v + r : v - r;
    }
    return v;
  };
  try {
    const v = sum();
    return i === tokens.length && Number.isFinite(v) ? Math.floor(v) : undefined;
  } catch {
    return undefined;
  }
}

// ---------------------------------------------------------------------------------------------------------------
// the job model

type Ddir = 'read' | 'write' | 'trim';

interface BsSpec {
  /** Per direction: fixed size, range, or a split. */
  pick: (rand: () => number) => number;
  max: number;
  min: number;
}

interface JobPlan {
  name: string;
  line: number;
  clones: number;
  rw: string;
  random: boolean;
  ddirs: Ddir[];
  /** Sequential: bytes added after each I/O (`rw=write:4k`); random: I/Os per random offset (`rw=randread:8`). */
  rwMod: number;
  bs: Record<Ddir, BsSpec>;
  align: number | undefined;
  size: number | undefined;
  ioSize: number | undefined;
  fileSize: [number, number] | undefined;
  offset: number;
  offsetIncrement: number;
  nrfiles: number;
  filenames: string[] | undefined;
  directory: string;
  filenameFormat: string;
  loops: number;
  rwmixread: number;
  fsync: number;
  fdatasync: number;
  endFsync: boolean;
  fsyncOnClose: boolean;
  createOnOpen: boolean;
  createOnly: boolean;
  createFsync: boolean;
  fileAppend: boolean;
  overwrite: boolean;
  engine: string;
  stonewall: boolean;
  seed: number;
  randommap: boolean;
  unlink: boolean;
  numberIos: number | undefined;
  fill: 'zero' | 'random';
  fallocate: string;
  timeBased: boolean;
}

class JobReader {
  constructor(
    readonly job: FioSection,
    readonly file: string,
    readonly warnings: string[],
    readonly kbBase: number,
    readonly deviceBytes: number,
    readonly scale: number,
  ) {}

  has(key: string): boolean {
    return this.job.options.has(key);
  }

  str(key: string): string | undefined {
    return this.job.options.get(key)?.value;
  }

  bad(key: string, why: string): void {
    const o = this.job.options.get(key);
    this.warnings.push(`${this.file}:${o?.line ?? this.job.line}: job '${this.job.name}': ${key}=${o?.value ?? ''}: ${why}`);
  }

  bool(key: string, def: boolean): boolean {
    if (!this.has(key)) return def;
    const v = this.str(key);
    if (v === undefined || v === '') return true;
    const n = parseFioSize(v, this.kbBase);
    if (n === undefined) {
      this.bad(key, 'not a boolean (0 or 1); the default is used');
      return def;
    }
    return n !== 0;
  }

  int(key: string, def: number): number {
    const v = this.str(key);
    if (v === undefined) return def;
    const n = parseFioSize(v, this.kbBase);
    if (n === undefined) {
      this.bad(key, 'not a number; the default is used');
      return def;
    }
    return n;
  }

  /** A size (times the scale), or a percentage of `of` (fio's `size=50%`, `offset=25%`). */
  size(key: string, of: number | undefined = this.deviceBytes): number | undefined {
    const n = this.rawSize(key, of);
    return n === undefined ? undefined : Math.round(n * this.scale);
  }

  rawSize(key: string, of: number | undefined): number | undefined {
    const v = this.str(key);
    if (v === undefined) return undefined;
    const pct = /^(\d+(?:\.\d+)?)%$/.exec(v.trim());
    if (pct !== null) {
      if (of === undefined) {
        this.bad(key, 'a percentage of an unknown size; ignored');
        return undefined;
      }
      this.bad(key, `a percentage of the device: taken of ${of} bytes (FioTraceOptions.deviceBytes)`);
      return Math.floor((of * Number(pct[1])) / 100 / this.scale);
    }
    const n = parseFioSize(v, this.kbBase);
    if (n === undefined) this.bad(key, 'not a size; ignored');
    return n;
  }
}

/** `bs=4k`, `bs=4k,8k` (reads, writes[, trims]) and fio's defaults (4096 for each). */
function splitPerDdir<T>(value: string | undefined, parse: (s: string) => T | undefined, def: T): Record<Ddir, T> {
  if (value === undefined) return { read: def, write: def, trim: def };
  const parts = value.split(',');
  const get = (s: string | undefined): T => (s === undefined || s.trim() === '' ? def : (parse(s.trim()) ?? def));
  if (parts.length === 1) {
    const v = get(parts[0]);
    return { read: v, write: v, trim: v };
  }
  const read = get(parts[0]);
  const write = get(parts[1]);
  const trim = parts.length >= 3 ? get(parts[2]) : parts[1]!.trim() === '' ? def : write;
  return { read, write, trim };
}

function fixedBs(n: number): BsSpec {
  return { pick: () => n, min: n, max: n };
}

function planJob(job: FioSection, o: FioTraceOptions, warnings: string[], notes: string[]): JobPlan | undefined {
  const file = o.file ?? 'job file';
  const kbBase = job.options.get('kb_base')?.value === '1000' ? 1000 : 1024;
  const scale = o.scale ?? 1;
  const deviceBytes = Math.round((o.deviceBytes ?? 2 ** 30) * scale);
  const r = new JobReader(job, file, warnings, kbBase, deviceBytes, scale);
  const engine = (r.str('ioengine') ?? 'psync').split(':')[0]!.trim();

  // name every option the generator cannot honour
  for (const [key, { line, value }] of job.options) {
    if (SIMULATED.has(key) || NO_FILE_EFFECT.has(key)) continue;
    if (FIO_ENGINE_OPTIONS.has(key)) continue;
    if (FIO_OPTIONS.has(key)) {
      warnings.push(`${file}:${line}: job '${job.name}': option '${key}${value !== undefined ? `=${value}` : ''}' is a fio option layersim does not simulate; ignored`);
    } else {
      warnings.push(`${file}:${line}: job '${job.name}': unknown option '${key}${value !== undefined ? `=${value}` : ''}' (not in fio 3.33's option list); ignored`);
    }
  }

  // rw
  const rwRaw = (r.str('rw') ?? 'read').trim();
  const [rwKind, rwModText] = rwRaw.split(':') as [string, string | undefined];
  const KINDS: Record<string, { ddirs: Ddir[]; random: boolean }> = {
    read: { ddirs: ['read'], random: false },
    write: { ddirs: ['write'], random: false },
    trim: { ddirs: ['trim'], random: false },
    randread: { ddirs: ['read'], random: true },
    randwrite: { ddirs: ['write'], random: true },
    randtrim: { ddirs: ['trim'], random: true },
    rw: { ddirs: ['read', 'write'], random: false },
    readwrite: { ddirs: ['read', 'write'], random: false },
    randrw: { ddirs: ['read', 'write'], random: true },
    trimwrite: { ddirs: ['trim', 'write'], random: false },
    randtrimwrite: { ddirs: ['trim', 'write'], random: true },
  };
  const kind = KINDS[rwKind.trim()];
  if (kind === undefined) {
    r.bad('rw', 'not one of fio\'s rw values (read, write, trim, randread, randwrite, randtrim, rw, readwrite, randrw, trimwrite, randtrimwrite); job skipped');
    return undefined;
  }
  let rwMod = 0;
  if (rwModText !== undefined && rwModText.trim() !== '') {
    const neg = rwModText.trim().startsWith('-');
    const n = parseFioSize(rwModText.trim().replace(/^[-+]/, ''), kbBase);
    if (n === undefined) r.bad('rw', 'the offset modifier after \':\' is not a number; ignored');
    else rwMod = neg ? -n : n;
  }

  // block sizes
  const parseSize = (s: string) => parseFioSize(s, kbBase);
  let bs: Record<Ddir, BsSpec>;
  if (r.has('bssplit')) {
    const perDdir = splitPerDdir<BsSpec | undefined>(r.str('bssplit'), s => parseBssplit(s, kbBase), undefined);
    const fallback = splitPerDdir(r.str('bs'), parseSize, 4096);
    bs = {
      read: perDdir.read ?? fixedBs(fallback.read),
      write: perDdir.write ?? fixedBs(fallback.write),
      trim: perDdir.trim ?? fixedBs(fallback.trim),
    };
    if (perDdir.write === undefined && perDdir.read === undefined) r.bad('bssplit', 'not of the form size/percent:size/percent; bs is used');
  } else if (r.has('bsrange')) {
    const ranges = splitPerDdir<[number, number] | undefined>(r.str('bsrange'), s => parseRange(s, kbBase), undefined);
    const unaligned = r.bool('bs_unaligned', false);
    const mk = (range: [number, number] | undefined): BsSpec => {
      if (range === undefined) return fixedBs(4096);
      const [lo, hi] = range;
      return {
        min: lo,
        max: hi,
        pick: rand => {
          const n = lo + Math.floor(rand() * (hi - lo + 1));
          return unaligned ? n : Math.min(hi, Math.ceil(n / lo) * lo);
        },
      };
    };
    bs = { read: mk(ranges.read), write: mk(ranges.write), trim: mk(ranges.trim) };
  } else {
    const b = splitPerDdir(r.str('bs'), parseSize, 4096);
    bs = { read: fixedBs(b.read), write: fixedBs(b.write), trim: fixedBs(b.trim) };
  }
  const align = r.has('ba') ? r.int('ba', 4096) : undefined;

  // files and sizes
  const filenameFormat = r.str('filename_format') ?? '$jobname.$jobnum.$filenum';
  const fname = r.str('filename');
  const filenames = fname === undefined ? undefined : fname.split(/(?<!\\):/).map(s => s.replace(/\\:/g, ':').trim()).filter(s => s !== '');
  const nrfiles = filenames !== undefined ? Math.max(filenames.length, 1) : Math.max(1, r.int('nrfiles', 1));
  const dirs = (r.str('directory') ?? '').split(/(?<!\\):/).filter(s => s !== '');
  if (dirs.length > 1) r.bad('directory', `several directories: files go to the first (${dirs[0]}) only`);
  const directory = dirs[0] ?? o.cwd ?? '/';
  let fileSize: [number, number] | undefined;
  if (r.has('filesize')) {
    const v = r.str('filesize') ?? '';
    const unscaled = /[-:]/.test(v) ? parseRange(v, kbBase) : undefined;
    const range = unscaled === undefined ? undefined : (unscaled.map(n => Math.round(n * scale)) as [number, number]);
    const single = range === undefined ? r.size('filesize') : undefined;
    fileSize = range ?? (single !== undefined ? [single, single] : undefined);
  }
  let size = r.size('size');
  if (r.bool('fill_device', false)) {
    r.bad('fill_device', `writes until ENOSPC: simulated as size=${deviceBytes} (FioTraceOptions.deviceBytes)`);
    size = deviceBytes;
  }
  const isDevice = (filenames ?? []).some(f => f.startsWith('/dev/'));
  if (isDevice) {
    notes.push(`job '${job.name}': ${filenames!.join(':')} is a block device on the host; simulated as a regular file in the container`);
    if (size === undefined && fileSize === undefined) size = deviceBytes;
  }
  const ioSize = r.size('io_size');

  const timeBased = r.bool('time_based', false);
  if (timeBased) notes.push(`job '${job.name}': time_based (runtime=${r.str('runtime') ?? '0'}): simulated as one pass over size (or io_size), not for a time`);

  const rwmixwriteSet = r.has('rwmixwrite');
  const rwmixreadSet = r.has('rwmixread');
  let rwmixread = 50;
  if (rwmixreadSet && rwmixwriteSet) {
    // fio: the later of the two wins
    const lr = job.options.get('rwmixread')!.line;
    const lw = job.options.get('rwmixwrite')!.line;
    rwmixread = lr >= lw ? r.int('rwmixread', 50) : 100 - r.int('rwmixwrite', 50);
  } else if (rwmixreadSet) rwmixread = r.int('rwmixread', 50);
  else if (rwmixwriteSet) rwmixread = 100 - r.int('rwmixwrite', 50);

  if (r.has('random_distribution') && (r.str('random_distribution') ?? 'random') !== 'random') {
    r.bad('random_distribution', 'offsets are drawn uniformly (as random_distribution=random)');
  }
  const fst = r.str('file_service_type');
  if (fst !== undefined && !/^roundrobin(:\d+)?$/.test(fst.trim())) r.bad('file_service_type', 'files are served round robin');
  const fallocate = (r.str('fallocate') ?? 'native').trim();

  const randseedGiven = r.has('randseed');
  const seed = randseedGiven ? r.int('randseed', 1) : (o.seed ?? 1);
  if (!r.bool('randrepeat', true) && !randseedGiven) notes.push(`job '${job.name}': randrepeat=0 (a new random sequence per run): the simulation uses seed ${seed}`);

  return {
    name: job.name,
    line: job.line,
    clones: Math.max(1, r.int('numjobs', 1)),
    rw: rwRaw,
    random: kind.random,
    ddirs: kind.ddirs,
    rwMod,
    bs,
    align,
    size,
    ioSize,
    fileSize,
    offset: r.size('offset', fileSize?.[1] ?? size) ?? 0,
    offsetIncrement: r.size('offset_increment') ?? 0,
    nrfiles,
    filenames,
    directory,
    filenameFormat,
    loops: Math.max(1, r.int('loops', 1)),
    rwmixread,
    fsync: r.int('fsync', 0),
    fdatasync: r.int('fdatasync', 0),
    endFsync: r.bool('end_fsync', false),
    fsyncOnClose: r.bool('fsync_on_close', false),
    createOnOpen: r.bool('create_on_open', false),
    createOnly: r.bool('create_only', false),
    createFsync: r.bool('create_fsync', true),
    fileAppend: r.bool('file_append', false),
    overwrite: r.bool('overwrite', false),
    engine,
    stonewall: r.bool('stonewall', false),
    seed,
    randommap: !r.bool('norandommap', false),
    unlink: r.bool('unlink', false),
    numberIos: r.has('number_ios') ? r.int('number_ios', 0) : undefined,
    fill: r.bool('zero_buffers', false) ? 'zero' : 'random',
    fallocate,
    timeBased,
  };
}

function parseRange(s: string, kbBase: number): [number, number] | undefined {
  const m = /^\s*([^-:]+)[-:]([^-:]+)\s*$/.exec(s);
  if (m === null) {
    const n = parseFioSize(s, kbBase);
    return n === undefined ? undefined : [n, n];
  }
  const a = parseFioSize(m[1]!, kbBase);
  const b = parseFioSize(m[2]!, kbBase);
  if (a === undefined || b === undefined) return undefined;
  return a <= b ? [a, b] : [b, a];
}

/** `bssplit=4k/10:64k/50:32k/40`: block sizes with percentages; entries without one share what is left. */
function parseBssplit(s: string, kbBase: number): BsSpec | undefined {
  const entries: { size: number; pct: number | undefined }[] = [];
  for (const part of s.split(':')) {
    if (part.trim() === '') continue;
    const [sz, pct] = part.split('/');
    const size = parseFioSize(sz ?? '', kbBase);
    if (size === undefined || size === 0) return undefined;
    entries.push({ size, pct: pct === undefined || pct.trim() === '' ? undefined : Number(pct) });
  }
  if (entries.length === 0) return undefined;
  const given = entries.reduce((t, e) => t + (e.pct ?? 0), 0);
  const unset = entries.filter(e => e.pct === undefined).length;
  const weights = entries.map(e => e.pct ?? (unset > 0 ? Math.max(0, 100 - given) / unset : 0));
  const total = weights.reduce((a, b) => a + b, 0) || 1;
  return {
    min: Math.min(...entries.map(e => e.size)),
    max: Math.max(...entries.map(e => e.size)),
    pick: rand => {
      let x = rand() * total;
      for (let i = 0; i < entries.length; i++) {
        x -= weights[i]!;
        if (x < 0) return entries[i]!.size;
      }
      return entries[entries.length - 1]!.size;
    },
  };
}

// ---------------------------------------------------------------------------------------------------------------
// generation

function joinPath(dir: string, name: string): string {
  if (name.startsWith('/')) return name;
  return dir.endsWith('/') ? dir + name : `${dir}/${name}`;
}

function dirname(path: string): string {
  const i = path.lastIndexOf('/');
  return i <= 0 ? '/' : path.slice(0, i);
}

/** State shared by every job of the file: what exists, and how big, as far as these ops made it. */
interface World {
  sizes: Map<string, number>;
  dirs: Set<string>;
  reads: boolean;
  maxIos: number;
  warnings: string[];
  notes: Set<string>;
  file: string;
}

/** A random permutation of [0, n) drawn lazily (a sparse Fisher-Yates), as fio's random map visits each block once. */
class LazyPermutation {
  private readonly swapped = new Map<number, number>();
  private next = 0;
  constructor(
    readonly n: number,
    readonly rand: () => number,
  ) {}
  draw(): number {
    if (this.next >= this.n) this.next = 0; // a new pass (fio resets the map)
    const i = this.next++;
    const j = i + Math.floor(this.rand() * (this.n - i));
    const vi = this.swapped.get(i) ?? i;
    const vj = this.swapped.get(j) ?? j;
    this.swapped.set(j, vi);
    this.swapped.set(i, vj);
    return vj;
  }
}

interface CloneFile {
  path: string;
  fd: string;
  size: number;
  start: number;
}

function* runClone(plan: JobPlan, clone: number, w: World, summary: FioJobSummary): Generator<TraceOp[]> {
  const rand = mulberry32((plan.seed + clone * 0x9e3779b1) >>> 0);
  const writes = plan.ddirs.includes('write');
  const reads = plan.ddirs.includes('read');
  // the files
  const names: string[] = plan.filenames ?? Array.from({ length: plan.nrfiles }, (_, i) =>
    plan.filenameFormat.replace(/\$jobname/g, plan.name).replace(/\$jobnum/g, String(clone)).replace(/\$filenum/g, String(i)).replace(/\$clientuid/g, '0'),
  );
  const pickFileSize = (): number | undefined => {
    if (plan.fileSize !== undefined) {
      const [lo, hi] = plan.fileSize;
      const min = plan.bs.write.min;
      return lo === hi ? lo : Math.floor((lo + Math.floor(rand() * (hi - lo + 1))) / min) * min;
    }
    if (plan.size !== undefined) return Math.floor(plan.size / names.length);
    return undefined;
  };
  const files: CloneFile[] = [];
  for (const [i, n] of names.entries()) {
    const path = joinPath(plan.directory, n);
    const size = pickFileSize() ?? w.sizes.get(path);
    if (size === undefined || size === 0) {
      w.warnings.push(`${w.file}:${plan.line}: job '${plan.name}': no size= or filesize= and ${path} is not known to exist: fio refuses this job; skipped`);
      return;
    }
    files.push({ path, fd: `fio.${plan.name}.${clone}.${i}`, size, start: plan.offset + clone * plan.offsetIncrement });
  }
  const ioPerLoop = plan.ioSize ?? (plan.size ?? files.reduce((t, f) => t + f.size, 0));

  // engines without file I/O
  if (NO_FILE_ENGINES.has(plan.engine)) {
    w.notes.add(`job '${plan.name}': ioengine=${plan.engine} does no file I/O in a container; no ops`);
    return;
  }
  if (!FILE_ENGINES.has(plan.engine) && !['falloc', 'ftruncate', 'filecreate', 'filedelete'].includes(plan.engine)) {
    w.warnings.push(`${w.file}:${plan.line}: job '${plan.name}': ioengine=${plan.engine} is not simulated; treated as psync`);
  }

  // setup: fio's extend_file, unless the files are created on open
  const setup: TraceOp[] = [];
  const ensureDir = (path: string) => {
    const d = dirname(path);
    if (!w.dirs.has(d)) {
      setup.push({ op: 'mkdirp', path: d });
      for (let x = d; x !== '/' && !w.dirs.has(x); x = dirname(x)) w.dirs.add(x);
    }
  };
  const newLayout = reads || (writes && plan.overwrite);
  for (const f of files) {
    ensureDir(f.path);
    const need = f.start + f.size;
    const known = w.sizes.get(f.path);
    if (plan.engine === 'filecreate' || plan.engine === 'filedelete' || plan.createOnOpen || plan.fileAppend || (plan.ddirs.length === 1 && plan.ddirs[0] === 'trim')) continue;
    if (known !== undefined && known >= need) continue;
    const fd = `${f.fd}.layout`;
    if (newLayout) {
      setup.push({ op: 'open', path: f.path, flags: O_WRONLY | O_CREAT | O_TRUNC, mode: 0o644, fd });
      setup.push({ op: 'truncate', path: f.path, size: need });
      setup.push({ op: 'write', fd, offset: 0, length: need, fill: plan.fill });
      if (plan.createFsync) setup.push({ op: 'fsync', fd });
    } else {
      setup.push({ op: 'open', path: f.path, flags: O_WRONLY | O_CREAT, mode: 0o644, fd });
      if (plan.fallocate !== 'none' && plan.fallocate !== '0') w.notes.add(`fallocate=${plan.fallocate} pre-allocation is not a trace op: the file is extended with truncate (no blocks allocated)`);
      setup.push({ op: 'truncate', path: f.path, size: need });
    }
    setup.push({ op: 'close', fd });
    w.sizes.set(f.path, need);
  }
  yield setup;

  if (plan.engine === 'filecreate' || plan.createOnly) {
    const ops: TraceOp[] = [];
    if (files.length > w.maxIos) {
      summary.cutClones++;
      summary.plannedIos = Math.max(summary.plannedIos, files.length);
      files.length = w.maxIos;
    }
    for (const f of files) {
      ops.push({ op: 'open', path: f.path, flags: O_RDWR | O_CREAT, mode: 0o600, fd: f.fd }, { op: 'close', fd: f.fd });
      if (!w.sizes.has(f.path)) w.sizes.set(f.path, 0);
    }
    yield ops;
    return;
  }
  if (plan.engine === 'filedelete') {
    yield files.map(f => ({ op: 'unlink', path: f.path }) as TraceOp);
    for (const f of files) w.sizes.delete(f.path);
    return;
  }

  // open
  const open: TraceOp[] = [];
  for (const f of files) {
    if (writes || plan.ddirs.includes('trim')) open.push({ op: 'open', path: f.path, flags: O_RDWR | O_CREAT, mode: 0o600, fd: f.fd });
    else open.push({ op: 'open', path: f.path, flags: O_RDONLY, fd: f.fd });
    if (!w.sizes.has(f.path)) w.sizes.set(f.path, 0);
    if (plan.fileAppend) f.start = w.sizes.get(f.path)!;
  }
  yield open;

  // the I/O
  const state = files.map(f => {
    const align = plan.align ?? Math.min(plan.bs.read.min, plan.bs.write.min, plan.bs.trim.min);
    const blocks = Math.max(1, Math.floor(f.size / align));
    return { start: f.start, pos: { read: f.start, write: f.start, trim: f.start } as Record<Ddir, number>, align, blocks, perm: new LazyPermutation(blocks, rand), seqLeft: 0, lastOff: f.start, writesSinceSync: 0, exhausted: false };
  });
  let ios = 0;
  let cut = false;
  if (plan.engine === 'falloc') w.notes.add(`job '${plan.name}': ioengine=falloc: fallocate/punch-hole I/O is not a trace op; only the files are created`);
  for (let loop = 0; loop < plan.loops && !cut; loop++) {
    for (const st of state) {
      st.exhausted = false;
      st.pos = { read: st.start, write: st.start, trim: st.start };
    }
    let done = 0;
    let fi = 0;
    let loopIos = 0;
    while (done < ioPerLoop) {
      if (plan.numberIos !== undefined && plan.numberIos > 0 && loopIos >= plan.numberIos) break;
      if (ios >= w.maxIos) {
        cut = true;
        summary.cutClones++;
        summary.plannedIos = Math.max(summary.plannedIos, Math.ceil((ioPerLoop * plan.loops) / Math.max(1, (plan.bs.write.min + plan.bs.read.min) / 2)));
        break;
      }
      if (state.every(x => x.exhausted)) break;
      while (state[fi]!.exhausted) fi = (fi + 1) % files.length;
      const f = files[fi]!;
      const st = state[fi]!;
      fi = (fi + 1) % files.length;
      const ddir: Ddir = plan.ddirs.length === 1 ? plan.ddirs[0]! : plan.ddirs[0] === 'trim' ? (loopIos % 2 === 0 ? 'trim' : 'write') : rand() * 100 < plan.rwmixread ? 'read' : 'write';
      let len = plan.bs[ddir].pick(rand);
      let off: number;
      if (plan.fileAppend) {
        off = w.sizes.get(f.path)!;
      } else if (plan.random) {
        if (st.seqLeft > 0 && plan.rwMod > 0) {
          st.seqLeft--;
          off = st.lastOff + len;
        } else {
          const block = plan.randommap ? st.perm.draw() : Math.floor(rand() * st.blocks);
          off = f.start + block * st.align;
          st.seqLeft = plan.rwMod > 0 ? plan.rwMod - 1 : 0;
        }
        if (off + len > f.start + f.size) off = f.start + Math.max(0, Math.floor((f.size - len) / st.align)) * st.align;
      } else {
        off = st.pos[ddir];
        if (off + len > f.start + f.size && plan.ddirs.length === 1 && plan.rwMod >= 0 && !plan.timeBased) {
          // fio's get_next_seq_offset: a sequential job is done with a file at its end (it wraps only when time_based)
          st.exhausted = true;
          continue;
        }
        if (off + len > f.start + f.size || off < f.start) off = plan.rwMod < 0 ? Math.max(f.start, f.start + f.size - len) : f.start;
        st.pos[ddir] = off + len + plan.rwMod;
      }
      len = Math.max(1, Math.min(len, Math.max(1, f.start + f.size - off)));
      st.lastOff = off;
      const ops: TraceOp[] = [];
      if (ddir === 'write') {
        if (plan.engine === 'ftruncate') {
          ops.push({ op: 'truncate', path: f.path, size: off });
          w.sizes.set(f.path, off);
        } else if (plan.engine !== 'falloc') {
          ops.push({ op: 'write', fd: f.fd, offset: off, length: len, fill: plan.fill });
          w.sizes.set(f.path, Math.max(w.sizes.get(f.path)!, off + len));
          summary.writeBytes += len;
          st.writesSinceSync++;
          if (plan.fsync > 0 && st.writesSinceSync % plan.fsync === 0) ops.push({ op: 'fsync', fd: f.fd });
          else if (plan.fdatasync > 0 && st.writesSinceSync % plan.fdatasync === 0) ops.push({ op: 'fsync', fd: f.fd });
        }
      } else if (ddir === 'read') {
        if (w.reads) ops.push({ op: 'read', fd: f.fd, offset: off, length: len });
        summary.readBytes += len;
      } else {
        w.notes.add('trims (rw=trim, randtrim, trimwrite) are not trace ops: their I/Os write nothing');
      }
      done += len;
      ios++;
      loopIos++;
      summary.ios++;
      yield ops;
    }
  }

  const end: TraceOp[] = [];
  for (const f of files) {
    if ((plan.endFsync || plan.fsyncOnClose) && writes) end.push({ op: 'fsync', fd: f.fd });
    end.push({ op: 'close', fd: f.fd });
    if (plan.unlink) {
      end.push({ op: 'unlink', path: f.path });
      w.sizes.delete(f.path);
    }
  }
  yield end;
}

/** Merges runs of contiguous writes to one fd (no op between them) into one write. */
function coalesceWrites(ops: TraceOp[]): TraceOp[] {
  const out: TraceOp[] = [];
  for (const op of ops) {
    const prev = out[out.length - 1];
    if (
      op.op === 'write' && prev !== undefined && prev.op === 'write' && op.fd !== undefined && prev.fd === op.fd &&
      op.data === undefined && prev.data === undefined && op.fill === prev.fill && op.offset !== undefined &&
      prev.offset !== undefined && prev.length !== undefined && op.length !== undefined && prev.offset + prev.length === op.offset
    ) {
      out[out.length - 1] = { ...prev, length: prev.length + op.length };
      continue;
    }
    out.push(op);
  }
  return out;
}

/** A fio job file as trace ops, with the jobs it ran, warnings (unsupported or unknown options) and notes. */
export function fioToTrace(text: string, opts: FioTraceOptions = {}): FioTrace {
  const parsed = parseFioJobFile(text, opts);
  const warnings = [...parsed.warnings];
  const notes = new Set<string>();
  const noteList: string[] = [];
  const plans: JobPlan[] = [];
  for (const job of parsed.jobs) {
    const p = planJob(job, opts, warnings, noteList);
    if (p !== undefined) plans.push(p);
  }
  const world: World = {
    sizes: new Map(),
    dirs: new Set(['/']),
    reads: opts.reads ?? true,
    maxIos: opts.maxIosPerJob ?? 10_000,
    warnings,
    notes,
    file: opts.file ?? 'job file',
  };
  // stonewall groups: a job with stonewall waits for every job before it
  const groups: JobPlan[][] = [];
  for (const p of plans) {
    if (groups.length === 0 || p.stonewall) groups.push([]);
    groups[groups.length - 1]!.push(p);
  }
  let ops: TraceOp[] = [];
  const jobs: FioJobSummary[] = [];
  for (const group of groups) {
    const runners: Generator<TraceOp[]>[] = [];
    for (const p of group) {
      const summary: FioJobSummary = { name: p.name, line: p.line, clones: p.clones, rw: p.rw, files: [], ios: 0, writeBytes: 0, readBytes: 0, cutClones: 0, plannedIos: 0 };
      jobs.push(summary);
      for (let c = 0; c < p.clones; c++) runners.push(runClone(p, c, world, summary));
      summary.files = fileNamesOf(p);
    }
    // round robin, one step of each clone at a time, as concurrent jobs interleave
    let live = runners;
    while (live.length > 0) {
      const next: Generator<TraceOp[]>[] = [];
      for (const g of live) {
        const r = g.next();
        if (r.done !== true) {
          for (const op of r.value) ops.push(op);
          next.push(g);
        }
      }
      live = next;
    }
  }
  for (const j of jobs) {
    if (j.cutClones > 0) {
      const who = j.clones === 1 ? '' : ` (${j.cutClones} of ${j.clones} clones)`;
      warnings.push(`${world.file}:${j.line}: job '${j.name}'${who}: cut at ${world.maxIos} of about ${j.plannedIos} I/Os per clone (FioTraceOptions.maxIosPerJob; or shrink the job with scale)`);
    }
  }
  if (opts.coalesce === true) ops = coalesceWrites(ops);
  return { ops, jobs, warnings, notes: [...noteList, ...notes] };
}

function fileNamesOf(p: JobPlan): string[] {
  const out = new Set<string>();
  for (let c = 0; c < p.clones; c++) {
    const names = p.filenames ?? Array.from({ length: p.nrfiles }, (_, i) => p.filenameFormat.replace(/\$jobname/g, p.name).replace(/\$jobnum/g, String(c)).replace(/\$filenum/g, String(i)));
    for (const n of names) out.add(joinPath(p.directory, n));
  }
  return [...out];
}
