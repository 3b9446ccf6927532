import { mulberry32 } from '../engine/random.js';
import type { TraceOp } from '../trace/schema.js';
import { O_APPEND, O_CREAT, O_RDWR, O_TRUNC, O_WRONLY } from '../vfs/syscalls.js';

/**
 * Workload generators: deterministic functions from an options object to trace ops (the output types of
 * `src/trace/schema.ts`), each imitating a real program's system calls. Every path a generator writes is creatable: it
 * emits `mkdirp` for the parents first. The same options (and seed) always give the same ops.
 */

export type Fill = 'zero' | 'pattern' | 'random';

export const KiB = 1024;
export const MiB = 1024 * KiB;

// ---------------------------------------------------------------------------------------------------------------
// small helpers

function dirname(path: string): string {
  const i = path.replace(/\/+$/, '').lastIndexOf('/');
  return i <= 0 ? '/' : path.slice(0, i);
}

function join(dir: string, name: string): string {
  return dir.endsWith('/') ? dir + name : `${dir}/${name}`;
}

function mustBeAbsolute(what: string, path: string): void {
  if (!path.startsWith('/')) throw new Error(`${what}: path '${path}' must be absolute`);
}

function positiveInt(what: string, n: number, allowZero = false): void {
  if (!Number.isSafeInteger(n) || n < 0 || (!allowZero && n === 0)) throw new Error(`${what} must be a ${allowZero ? 'non-negative' : 'positive'} integer, got ${n}`);
}

/** Emits `mkdirp` once per directory (those already made by this builder are skipped). */
class OpBuilder {
  readonly ops: TraceOp[] = [];
  private readonly made = new Set<string>(['/']);

  push(...ops: TraceOp[]): this {
    this.ops.push(...ops);
    return this;
  }

  mkdirp(dir: string): this {
    if (!this.made.has(dir)) {
      this.ops.push({ op: 'mkdirp', path: dir });
      for (let d = dir; d !== '/' && !this.made.has(d); d = dirname(d)) this.made.add(d);
    }
    return this;
  }

  parentOf(path: string): this {
    return this.mkdirp(dirname(path));
  }

  writeFile(path: string, length: number, fill: Fill, mode = 0o644): this {
    this.parentOf(path);
    this.ops.push({ op: 'writeFile', path, length, fill, mode });
    return this;
  }
}

/** A gamma(shape, mean) sample (Marsaglia and Tsang), as filebench's `filesize=cvar(type=gamma)` draws file sizes. */
function gamma(rand: () => number, shape: number, mean: number): number {
  const normal = (): number => {
    const u = 1 - rand();
    const v = rand();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  };
  const sample = (k: number): number => {
    if (k < 1) return sample(k + 1) * Math.pow(1 - rand(), 1 / k);
    const d = k - 1 / 3;
    const c = 1 / Math.sqrt(9 * d);
    for (;;) {
      let x: number;
      let v: number;
      do {
        x = normal();
        v = 1 + c * x;
      } while (v <= 0);
      v = v * v * v;
      const u = 1 - rand();
      if (Math.log(u) < 0.5 * x * x + d - d * v + d * Math.log(v)) return d * v;
    }
  };
  return (sample(shape) * mean) / shape;
}

/** File sizes: fixed, or filebench's gamma distribution around a mean (shape 1.5 as its personalities use). */
export type SizeSpec = number | { mean: number; gamma?: number; min?: number };

function sizer(spec: SizeSpec, rand: () => number): () => number {
  if (typeof spec === 'number') {
    positiveInt('size', spec, true);
    return () => spec;
  }
  const shape = spec.gamma ?? 1.5;
  const min = spec.min ?? 1;
  return () => Math.max(min, Math.round(gamma(rand, shape, spec.mean)));
}

// ---------------------------------------------------------------------------------------------------------------
// dd

export interface DdOptions {
  /** Output file (`of=`). */
  path: string;
  /** Block size in bytes (`bs=`). */
  bs: number;
  /** Number of blocks (`count=`). */
  count: number;
  /** Blocks to skip in the output (`seek=`); the file is truncated there first, as dd does without conv=notrunc. */
  seek?: number;
  /** Data written: `zero` as from /dev/zero (the default), `random` as from /dev/urandom. */
  fill?: Fill;
  /** The fd name in the trace. */
  fd?: string;
}

/**
 * `dd if=/dev/zero of=PATH bs=BS count=COUNT seek=SEEK`: open(O_WRONLY|O_CREAT, 0666), ftruncate to seek*bs (emitted
 * as `truncate`: ftruncate is not a trace op), then COUNT writes of BS bytes at (seek+i)*bs, then close.
 */
export function dd(o: DdOptions): TraceOp[] {
  mustBeAbsolute('dd', o.path);
  positiveInt('dd: bs', o.bs);
  positiveInt('dd: count', o.count, true);
  const seek = o.seek ?? 0;
  positiveInt('dd: seek', seek, true);
  const fd = o.fd ?? 'dd';
  const fill = o.fill ?? 'zero';
  const b = new OpBuilder().parentOf(o.path);
  b.push({ op: 'open', path: o.path, flags: O_WRONLY | O_CREAT, mode: 0o666, fd });
  b.push({ op: 'truncate', path: o.path, size: seek * o.bs });
  for (let i = 0; i < o.count; i++) b.push({ op: 'write', fd, offset: (seek + i) * o.bs, length: o.bs, fill });
  b.push({ op: 'close', fd });
  return b.ops;
}

// ---------------------------------------------------------------------------------------------------------------
// the six write patterns (issue 5 item 5), as small composable functions

export interface SequentialWriteOptions {
  path: string;
  bytes: number;
  /** Size of each write(2) (default 128 KiB, fio's sequential block size in the MSST '17 setup). */
  blockBytes?: number;
  fill?: Fill;
  fsync?: boolean;
  fd?: string;
}

/** A new file written front to back in `blockBytes` writes (`cp`, `dd`, a download): O_WRONLY|O_CREAT|O_TRUNC. */
export function sequentialWrite(o: SequentialWriteOptions): TraceOp[] {
  mustBeAbsolute('sequentialWrite', o.path);
  positiveInt('sequentialWrite: bytes', o.bytes, true);
  const block = o.blockBytes ?? 128 * KiB;
  positiveInt('sequentialWrite: blockBytes', block);
  const fd = o.fd ?? 'seq';
  const b = new OpBuilder().parentOf(o.path);
  b.push({ op: 'open', path: o.path, flags: O_WRONLY | O_CREAT | O_TRUNC, mode: 0o644, fd });
  for (let off = 0; off < o.bytes; off += block) b.push({ op: 'write', fd, offset: off, length: Math.min(block, o.bytes - off), fill: o.fill ?? 'random' });
  if (o.fsync === true) b.push({ op: 'fsync', fd });
  b.push({ op: 'close', fd });
  return b.ops;
}

export interface RandomOverwriteOptions {
  /** An existing large file (in the image, for a copy-up) or one `create` makes first. */
  path: string;
  fileBytes: number;
  /** Size of each overwrite, aligned to itself (default 4 KiB). */
  blockBytes?: number;
  writes: number;
  seed?: number;
  /** Write the whole file first (sequentially), as a database's initial load does. Default false. */
  create?: boolean;
  fsyncEvery?: number;
  fill?: Fill;
  fd?: string;
}

/** Random in-place overwrites of aligned blocks inside an existing file (open O_RDWR, pwrite, no size change). */
export function randomOverwrite(o: RandomOverwriteOptions): TraceOp[] {
  mustBeAbsolute('randomOverwrite', o.path);
  const block = o.blockBytes ?? 4 * KiB;
  positiveInt('randomOverwrite: blockBytes', block);
  positiveInt('randomOverwrite: fileBytes', o.fileBytes);
  positiveInt('randomOverwrite: writes', o.writes, true);
  if (o.fileBytes < block) throw new Error('randomOverwrite: fileBytes must be at least blockBytes');
  const rand = mulberry32(o.seed ?? 1);
  const fd = o.fd ?? 'rand';
  const ops: TraceOp[] = o.create === true ? sequentialWrite({ path: o.path, bytes: o.fileBytes, fill: o.fill ?? 'random', fd: `${fd}.init` }) : [];
  ops.push({ op: 'open', path: o.path, flags: O_RDWR, fd });
  const blocks = Math.floor(o.fileBytes / block);
  for (let i = 0; i < o.writes; i++) {
    ops.push({ op: 'write', fd, offset: Math.floor(rand() * blocks) * block, length: block, fill: o.fill ?? 'random' });
    if (o.fsyncEvery !== undefined && o.fsyncEvery > 0 && (i + 1) % o.fsyncEvery === 0) ops.push({ op: 'fsync', fd });
  }
  ops.push({ op: 'close', fd });
  return ops;
}

export interface AppendOnlyOptions {
  path: string;
  /** Total bytes appended. */
  bytes: number;
  /** Size of each append (default 4 KiB). */
  writeBytes?: number;
  fsyncEvery?: number;
  fill?: Fill;
  fd?: string;
}

/** Appends to a file (existing or new) through an O_APPEND descriptor: the file grows, nothing is overwritten. */
export function appendOnly(o: AppendOnlyOptions): TraceOp[] {
  mustBeAbsolute('appendOnly', o.path);
  positiveInt('appendOnly: bytes', o.bytes, true);
  const chunk = o.writeBytes ?? 4 * KiB;
  positiveInt('appendOnly: writeBytes', chunk);
  const fd = o.fd ?? 'append';
  const b = new OpBuilder().parentOf(o.path);
  b.push({ op: 'open', path: o.path, flags: O_WRONLY | O_CREAT | O_APPEND, mode: 0o644, fd });
  let n = 0;
  for (let done = 0; done < o.bytes; done += chunk) {
    b.push({ op: 'write', fd, length: Math.min(chunk, o.bytes - done), fill: o.fill ?? 'pattern' });
    n++;
    if (o.fsyncEvery !== undefined && o.fsyncEvery > 0 && n % o.fsyncEvery === 0) b.push({ op: 'fsync', fd });
  }
  b.push({ op: 'close', fd });
  return b.ops;
}

export interface LogAppendOptions {
  /** The log file (default /var/log/app.log). */
  path?: string;
  /** Bytes per line, newline included (default 120). */
  lineBytes?: number;
  lines: number;
  /** fsync after every N lines (0: never, the default; syslog-style loggers fsync each line: 1). */
  fsyncEvery?: number;
  fd?: string;
}

/** A logger appending one line per write(2) to an O_APPEND file, as syslog, nginx or a json-file log does. */
export function logAppend(o: LogAppendOptions): TraceOp[] {
  const path = o.path ?? '/var/log/app.log';
  const line = o.lineBytes ?? 120;
  positiveInt('logAppend: lineBytes', line);
  positiveInt('logAppend: lines', o.lines, true);
  const opts: AppendOnlyOptions = { path, bytes: line * o.lines, writeBytes: line, fill: 'pattern', fd: o.fd ?? 'log' };
  if (o.fsyncEvery !== undefined) opts.fsyncEvery = o.fsyncEvery;
  return appendOnly(opts);
}

export interface ManySmallFilesOptions {
  /** Directory the files go under (default /data/files). */
  dir?: string;
  count: number;
  /** Each file's size: a number, or `{ mean, gamma }` (filebench fileserver: mean 128 KiB, gamma 1.5). Default 4 KiB. */
  size?: SizeSpec;
  /** Files per directory, as filebench's `dirwidth` (0: all in `dir`, the default). */
  dirWidth?: number;
  seed?: number;
  fill?: Fill;
  mode?: number;
}

/** Many small new files, each open(O_CREAT|O_TRUNC)+write+close (`tar x`, `npm install`, filebench's fileset preallocation). */
export function manySmallFiles(o: ManySmallFilesOptions): TraceOp[] {
  const dir = o.dir ?? '/data/files';
  mustBeAbsolute('manySmallFiles', dir);
  positiveInt('manySmallFiles: count', o.count, true);
  const width = o.dirWidth ?? 0;
  const size = sizer(o.size ?? 4 * KiB, mulberry32(o.seed ?? 1));
  const b = new OpBuilder().mkdirp(dir);
  for (let i = 0; i < o.count; i++) {
    const sub = width > 0 ? join(dir, `d${Math.floor(i / width)}`) : dir;
    b.writeFile(join(sub, `f${i}`), size(), o.fill ?? 'random', o.mode ?? 0o644);
  }
  return b.ops;
}

export interface RewriteWholeFileOptions {
  path: string;
  bytes: number;
  /** How many times the file is rewritten (default 1). */
  times?: number;
  /**
   * `rename` (default): write `PATH.tmp`, fsync, rename over PATH, the atomic save of editors and package managers;
   * `truncate`: open O_TRUNC and write in place.
   */
  via?: 'rename' | 'truncate';
  /** Size growth per rewrite in bytes (default 0). */
  growBytes?: number;
  fill?: Fill;
  mode?: number;
}

/** A whole file rewritten, by a temporary file and rename(2) or in place through O_TRUNC. */
export function rewriteWholeFile(o: RewriteWholeFileOptions): TraceOp[] {
  mustBeAbsolute('rewriteWholeFile', o.path);
  positiveInt('rewriteWholeFile: bytes', o.bytes, true);
  const times = o.times ?? 1;
  const b = new OpBuilder().parentOf(o.path);
  for (let i = 0; i < times; i++) {
    const length = o.bytes + i * (o.growBytes ?? 0);
    const fill = o.fill ?? 'random';
    if ((o.via ?? 'rename') === 'rename') {
      const tmp = `${o.path}.tmp`;
      const fd = `rewrite.${i}`;
      b.push({ op: 'open', path: tmp, flags: O_WRONLY | O_CREAT | O_TRUNC, mode: o.mode ?? 0o644, fd });
      b.push({ op: 'write', fd, offset: 0, length, fill }, { op: 'fsync', fd }, { op: 'close', fd });
      b.push({ op: 'rename', from: tmp, to: o.path });
    } else {
      b.push({ op: 'writeFile', path: o.path, length, fill, mode: o.mode ?? 0o644 });
    }
  }
  return b.ops;
}

export interface MetadataStormOptions {
  paths: readonly string[];
  /** `chmod` (mode), `chown` (uid, gid), `touch` (utimes to now, or to `time`). */
  kind: 'chmod' | 'chown' | 'touch';
  /** chmod: the mode (default 0755). */
  mode?: number;
  /** chown: owner (default 1000:1000). */
  uid?: number;
  gid?: number;
  /** touch: seconds since the epoch (default: now, as `touch` without -d). */
  time?: number;
  /** Rounds over the paths (default 1). */
  rounds?: number;
}

/**
 * Metadata-only changes over many paths: `chmod -R`, `chown -R`, `touch` (moby#17876, nydus-snapshotter#402:
 * on overlay2, AUFS and vfs each costs a full copy-up of the file).
 */
export function metadataStorm(o: MetadataStormOptions): TraceOp[] {
  const ops: TraceOp[] = [];
  for (const p of o.paths) mustBeAbsolute('metadataStorm', p);
  for (let r = 0; r < (o.rounds ?? 1); r++) {
    for (const path of o.paths) {
      switch (o.kind) {
        case 'chmod':
          ops.push({ op: 'chmod', path, mode: o.mode ?? 0o755 });
          break;
        case 'chown':
          ops.push({ op: 'chown', path, uid: o.uid ?? 1000, gid: o.gid ?? 1000 });
          break;
        case 'touch':
          ops.push(o.time === undefined ? { op: 'utimes', path } : { op: 'utimes', path, atime: o.time, mtime: o.time });
          break;
      }
    }
  }
  return ops;
}

// ---------------------------------------------------------------------------------------------------------------
// database pages (filebench oltp)

export interface DatabasePagesOptions {
  /** Directory of the data files (default /var/lib/db). */
  dir?: string;
  /** Number of data files (filebench oltp: 10). */
  files?: number;
  /** Size of each data file (oltp: 10 MiB). */
  fileBytes?: number;
  /** Page size of each write (oltp: iosize=2k). */
  pageBytes?: number;
  /** Page writes in total, spread over the files at random. */
  writes: number;
  seed?: number;
  /** Create (preallocate, as filebench's fileset does) the data files first. Default true; false when they are in the image. */
  create?: boolean;
  /** A redo log appended by a log writer (oltp's `lgwr`) after every `logEvery` page writes; 0 disables. Default 10. */
  logEvery?: number;
  /** Bytes per log write (default 256 KiB, oltp's lgwr iosize). */
  logWriteBytes?: number;
}

/**
 * filebench `oltp` (workloads/oltp.f): random in-place page writes by the database writers into large data files,
 * with a log writer appending to a redo log. Reads (the 200 shadow readers) are left out: they write nothing.
 */
export function databasePages(o: DatabasePagesOptions): TraceOp[] {
  const dir = o.dir ?? '/var/lib/db';
  mustBeAbsolute('databasePages', dir);
  const files = o.files ?? 10;
  const fileBytes = o.fileBytes ?? 10 * MiB;
  const page = o.pageBytes ?? 2 * KiB;
  positiveInt('databasePages: files', files);
  positiveInt('databasePages: fileBytes', fileBytes);
  positiveInt('databasePages: pageBytes', page);
  positiveInt('databasePages: writes', o.writes, true);
  const logEvery = o.logEvery ?? 10;
  const logBytes = o.logWriteBytes ?? 256 * KiB;
  const rand = mulberry32(o.seed ?? 1);
  const b = new OpBuilder().mkdirp(dir);
  const name = (i: number) => join(dir, `datafile${i}`);
  if (o.create ?? true) for (let i = 0; i < files; i++) b.writeFile(name(i), fileBytes, 'random');
  for (let i = 0; i < files; i++) b.push({ op: 'open', path: name(i), flags: O_RDWR, fd: `db${i}` });
  if (logEvery > 0) b.push({ op: 'open', path: join(dir, 'redo.log'), flags: O_WRONLY | O_CREAT | O_APPEND, mode: 0o644, fd: 'redo' });
  const pages = Math.floor(fileBytes / page);
  for (let w = 0; w < o.writes; w++) {
    const f = Math.floor(rand() * files);
    b.push({ op: 'write', fd: `db${f}`, offset: Math.floor(rand() * pages) * page, length: page, fill: 'random' });
    if (logEvery > 0 && (w + 1) % logEvery === 0) b.push({ op: 'write', fd: 'redo', length: logBytes, fill: 'random' }, { op: 'fsync', fd: 'redo' });
  }
  for (let i = 0; i < files; i++) b.push({ op: 'close', fd: `db${i}` });
  if (logEvery > 0) b.push({ op: 'close', fd: 'redo' });
  return b.ops;
}

// ---------------------------------------------------------------------------------------------------------------
// sparse files (xfstests overlay/066)

export interface SparseFilesOptions {
  /** Directory of the test files (default /sparse). */
  dir?: string;
  /** `create` builds the 16 files; `copyup` opens each O_RDWR and closes it (run it in a container over an image
   * that holds them: the copy-up overlay/066 checks); `both` does one then the other. Default `create`. */
  phase?: 'create' | 'copyup' | 'both';
  /** Include the 10 MiB and 100 MiB random-hole files (default true). */
  big?: boolean;
  seed?: number;
}

const SPARSE_PREFIX = 'copyup_sparse_test';

/** The names overlay/066 gives its files, with their sizes, in creation order. */
export function sparseFileNames(big = true): { name: string; size: number }[] {
  const out = [
    { name: `${SPARSE_PREFIX}_empty_small`, size: 4 * KiB },
    { name: `${SPARSE_PREFIX}_empty_big`, size: 4096 * KiB },
  ];
  for (let io = 1; io <= 2048; io *= 2) out.push({ name: `${SPARSE_PREFIX}_iosize${io}K`, size: 10 * io * KiB });
  if (big) out.push({ name: `${SPARSE_PREFIX}_random_small`, size: 10240 * KiB }, { name: `${SPARSE_PREFIX}_random_big`, size: 102400 * KiB });
  return out;
}

/**
 * xfstests overlay/066's sparse files (`xfs_io -f -c "truncate"`, then `pwrite` of 0xcd bytes): a 4 KiB and a 4 MiB
 * hole-only file; 12 files of 10 x iosize (iosize 1 KiB..2 MiB) alternating hole and data, starting and ending with a
 * hole; a 10 MiB file with random data runs and holes of 4..512 KiB and a 100 MiB one with 1..5 MiB, each data run
 * followed by a hole of its size ($RANDOM replaced by the seeded PRNG). The `copyup` phase opens each file O_RDWR as
 * `xfs_io -c open` does, which copies it up on union drivers.
 */
export function sparseFiles(o: SparseFilesOptions = {}): TraceOp[] {
  const dir = o.dir ?? '/sparse';
  mustBeAbsolute('sparseFiles', dir);
  const phase = o.phase ?? 'create';
  const big = o.big ?? true;
  const rand = mulberry32(o.seed ?? 1);
  const b = new OpBuilder();
  const files = sparseFileNames(big);
  if (phase !== 'copyup') {
    b.mkdirp(dir);
    let n = 0;
    const create = (name: string, sizeK: number, writes: [number, number][]) => {
      const path = join(dir, name);
      const fd = `sparse${n++}`;
      b.push({ op: 'open', path, flags: O_RDWR | O_CREAT, mode: 0o666, fd });
      b.push({ op: 'truncate', path, size: sizeK * KiB });
      for (const [posK, lenK] of writes) b.push({ op: 'write', fd, offset: posK * KiB, length: lenK * KiB, fill: 'pattern' });
      b.push({ op: 'close', fd });
    };
    create(files[0]!.name, 4, []);
    create(files[1]!.name, 4096, []);
    for (let io = 1; io <= 2048; io *= 2) {
      const writes: [number, number][] = [];
      for (let pos = io; pos < 10 * io - io; pos += 2 * io) writes.push([pos, io]);
      create(`${SPARSE_PREFIX}_iosize${io}K`, 10 * io, writes);
    }
    if (big) {
      const randomHoles = (sizeK: number, minHole: number, maxHole: number): [number, number][] => {
        const writes: [number, number][] = [];
        for (let pos = minHole; pos <= sizeK - 2 * maxHole; ) {
          const io = Math.floor(rand() * 32768) % (maxHole - minHole) + minHole;
          writes.push([pos, io]);
          pos += io * 2;
        }
        return writes;
      };
      create(`${SPARSE_PREFIX}_random_small`, 10240, randomHoles(10240, 4, 512));
      create(`${SPARSE_PREFIX}_random_big`, 102400, randomHoles(102400, 1024, 5120));
    }
  }
  if (phase !== 'create') {
    files.forEach((f, i) => b.push({ op: 'open', path: join(dir, f.name), flags: O_RDWR, fd: `copyup${i}` }, { op: 'close', fd: `copyup${i}` }));
  }
  return b.ops;
}

// ---------------------------------------------------------------------------------------------------------------
// package installs (dpkg, rpm)

/**
 * Database sizes from real images (ground-truth §4): dive#238 (Debian), minio#12799 (RHEL UBI),
 * neurocontainers#2360 (rpmdb.sqlite).
 */
export const PACKAGE_DB_BYTES = {
  /** /var/lib/dpkg/status after the install (dive#238: 452 kB; its status-old, the state before: 365 kB). */
  dpkgStatus: 452_000,
  dpkgStatusOld: 365_000,
  /** /var/cache/debconf/templates.dat (dive#238: 2.3 MB, rewritten in 4 layers). */
  debconfTemplates: 2_300_000,
  /** /var/log/dpkg.log (dive#238: 815 kB). */
  dpkgLog: 815_000,
  /** /var/cache/apt/pkgcache.bin and srcpkgcache.bin (dive#238: 562 kB, 425 kB). */
  aptPkgcache: 562_000,
  aptSrcpkgcache: 425_000,
  /** /var/lib/rpm/Packages (minio#12799: 10 MB), __db.003 (1.6 MB), Basenames (950 kB); /etc/ld.so.cache (20 kB). */
  rpmPackages: 10_000_000,
  rpmDbRegion: 1_600_000,
  rpmBasenames: 950_000,
  ldSoCache: 20_000,
  /** /usr/lib/sysimage/rpm/rpmdb.sqlite (neurocontainers#2360: 25 MB). */
  rpmdbSqlite: 25_000_000,
} as const;

export interface PackageInstallOptions {
  /** Packages installed in one run (one `apt-get install` / `dnf install`). Default 5. */
  packages?: number;
  /** Package names (default pkg0, pkg1, ...). */
  names?: readonly string[];
  /** Files per package (default 20). */
  filesPerPackage?: number;
  /** Mean file size: sizes are gamma(1.5)-distributed around it (default 16 KiB). */
  meanFileBytes?: number;
  seed?: number;
  /** `dpkg` (default), `rpm` (Berkeley DB: /var/lib/rpm/Packages, __db.00N, indexes) or `rpm-sqlite` (rpm >= 4.16). */
  manager?: 'dpkg' | 'rpm' | 'rpm-sqlite';
  /**
   * Create the package databases first, at their sizes before this install (default true). Pass false when the
   * image already holds them: each rewrite then copies them up, the waste dive#238 shows.
   */
  seedDatabases?: boolean;
  /** Scale of every database size (default 1: the real sizes above). */
  dbScale?: number;
  /** dpkg: rewrite debconf's templates.dat once per package (default true). */
  debconf?: boolean;
  /** dpkg: apt rewrites pkgcache.bin and srcpkgcache.bin first (default true). */
  aptCaches?: boolean;
}

/**
 * A package manager's install run. The dpkg side follows what strace shows dpkg 1.21.22 doing
 * (test/fixtures/workload/strace/dpkg.strace): files unpacked as PATH.dpkg-new then renamed, info/PKG.list-new and
 * .md5sums-new renamed, a journal record per status change (updates/tmp.i renamed to updates/NNNN), a line per change
 * appended to dpkg.log, and at each checkpoint the whole status file written to status-new, status-old unlinked and
 * re-linked to status, status-new renamed over status. The rpm side is a model, not a trace: Berkeley DB (Packages
 * grown by the header, a page written in each index and __db region file) or rpmdb.sqlite (WAL frames, then a
 * checkpoint into the database), files unpacked as PATH;XXXXXXXX then renamed, ldconfig's ld.so.cache~ renamed.
 */
export function packageInstall(o: PackageInstallOptions = {}): TraceOp[] {
  const n = o.packages ?? o.names?.length ?? 5;
  positiveInt('packageInstall: packages', n, true);
  const names = Array.from({ length: n }, (_, i) => o.names?.[i] ?? `pkg${i}`);
  const perPkg = o.filesPerPackage ?? 20;
  positiveInt('packageInstall: filesPerPackage', perPkg, true);
  const rand = mulberry32(o.seed ?? 1);
  const fileSize = sizer({ mean: o.meanFileBytes ?? 16 * KiB, gamma: 1.5 }, rand);
  const scale = o.dbScale ?? 1;
  if (!(scale > 0)) throw new Error('packageInstall: dbScale must be positive');
  const sz = (bytes: number) => Math.max(1, Math.round(bytes * scale));
  const manager = o.manager ?? 'dpkg';
  // the files of each package, under /usr/{bin,lib,share}/<pkg>/
  const layout = names.map(pkg =>
    Array.from({ length: perPkg }, (_, i) => {
      const area = i % 10 === 0 ? 'bin' : i % 10 < 4 ? 'lib' : 'share';
      return { path: `/usr/${area}/${pkg}/${area === 'bin' ? pkg : 'file'}${i}`, size: fileSize(), mode: area === 'bin' ? 0o755 : 0o644 };
    }),
  );
  return manager === 'dpkg' ? dpkgInstall(names, layout, o, sz) : rpmInstall(names, layout, o, sz, manager === 'rpm-sqlite', rand);
}

type PkgFile = { path: string; size: number; mode: number };

function dpkgInstall(names: string[], layout: PkgFile[][], o: PackageInstallOptions, sz: (n: number) => number): TraceOp[] {
  const b = new OpBuilder();
  const admin = '/var/lib/dpkg';
  const status = `${admin}/status`;
  const templates = '/var/cache/debconf/templates.dat';
  const n = names.length;
  const before = sz(PACKAGE_DB_BYTES.dpkgStatusOld);
  const perPkgStatus = n > 0 ? (sz(PACKAGE_DB_BYTES.dpkgStatus) - before) / Math.max(n, 1) : 0;
  const LOG_LINE = 60; // "2024-01-01 00:00:00 status half-installed pkg:amd64 1.0" (strace: 54..61 bytes)
  if (o.seedDatabases ?? true) {
    b.writeFile(status, before, 'pattern');
    b.writeFile(templates, sz(PACKAGE_DB_BYTES.debconfTemplates), 'pattern');
    b.writeFile('/var/log/dpkg.log', sz(PACKAGE_DB_BYTES.dpkgLog), 'pattern');
    if (o.aptCaches ?? true) {
      b.writeFile('/var/cache/apt/pkgcache.bin', sz(PACKAGE_DB_BYTES.aptPkgcache), 'random');
      b.writeFile('/var/cache/apt/srcpkgcache.bin', sz(PACKAGE_DB_BYTES.aptSrcpkgcache), 'random');
    }
  }
  b.mkdirp(`${admin}/updates`).mkdirp(`${admin}/info`);
  // apt rebuilds its caches in a temporary file and renames it over the old one
  if (o.aptCaches ?? true) {
    for (const [name, bytes] of [['pkgcache.bin', PACKAGE_DB_BYTES.aptPkgcache], ['srcpkgcache.bin', PACKAGE_DB_BYTES.aptSrcpkgcache]] as const) {
      const path = `/var/cache/apt/${name}`;
      b.writeFile(`${path}.tmp`, sz(bytes), 'random').push({ op: 'rename', from: `${path}.tmp`, to: path });
    }
  }
  // dpkg's checkpoint: the whole status file written anew, the old one kept as a hard link, then renamed over
  let statusBytes = before;
  let journal = 0;
  const checkpoint = () => {
    b.push(
      { op: 'open', path: `${status}-new`, flags: O_WRONLY | O_CREAT | O_TRUNC, mode: 0o666, fd: 'status-new' },
      { op: 'write', fd: 'status-new', offset: 0, length: Math.round(statusBytes), fill: 'pattern' },
      { op: 'fsync', fd: 'status-new' },
      { op: 'close', fd: 'status-new' },
      { op: 'unlink', path: `${status}-old` },
      { op: 'link', from: status, to: `${status}-old` },
      { op: 'rename', from: `${status}-new`, to: status },
    );
    for (let j = 0; j < journal; j++) b.push({ op: 'unlink', path: `${admin}/updates/${String(j).padStart(4, '0')}` });
    journal = 0;
  };
  b.push({ op: 'open', path: '/var/log/dpkg.log', flags: O_WRONLY | O_CREAT | O_APPEND, mode: 0o644, fd: 'dpkg.log' });
  // each status change: a line in dpkg.log and a journal record (updates/tmp.i renamed to updates/NNNN)
  const statusChange = () => {
    b.push({ op: 'write', fd: 'dpkg.log', length: LOG_LINE, fill: 'pattern' });
    const tmp = `${admin}/updates/tmp.i`;
    b.push({ op: 'writeFile', path: tmp, length: Math.max(200, Math.round(perPkgStatus)), fill: 'pattern', mode: 0o644 });
    b.push({ op: 'rename', from: tmp, to: `${admin}/updates/${String(journal++).padStart(4, '0')}` });
  };
  checkpoint();
  names.forEach((pkg, i) => {
    const files = layout[i]!;
    statusChange(); // half-installed
    for (const f of files) b.writeFile(`${f.path}.dpkg-new`, f.size, 'random', f.mode);
    for (const f of files) b.push({ op: 'rename', from: `${f.path}.dpkg-new`, to: f.path });
    const listBytes = files.reduce((s, f) => s + f.path.length + 1, 0);
    for (const [ext, bytes] of [['list', listBytes], ['md5sums', listBytes + 34 * files.length]] as const) {
      const path = `${admin}/info/${pkg}.${ext}`;
      b.push({ op: 'writeFile', path: `${path}-new`, length: bytes, fill: 'pattern', mode: 0o644 }, { op: 'rename', from: `${path}-new`, to: path });
    }
    statusChange(); // unpacked
  });
  names.forEach(() => {
    if (o.debconf ?? true) {
      // debconf's File driver: templates.dat-new written whole, the old kept as templates.dat-old, then renamed
      b.writeFile(`${templates}-new`, sz(PACKAGE_DB_BYTES.debconfTemplates), 'pattern');
      b.push({ op: 'rename', from: templates, to: `${templates}-old` }, { op: 'rename', from: `${templates}-new`, to: templates });
    }
    statusChange(); // half-configured
    statusBytes += perPkgStatus;
    statusChange(); // installed
  });
  checkpoint();
  b.push({ op: 'close', fd: 'dpkg.log' });
  return b.ops;
}

function rpmInstall(names: string[], layout: PkgFile[][], o: PackageInstallOptions, sz: (n: number) => number, sqlite: boolean, rand: () => number): TraceOp[] {
  const b = new OpBuilder();
  const PAGE = 4096;
  const dbdir = sqlite ? '/usr/lib/sysimage/rpm' : '/var/lib/rpm';
  const dbFiles: { path: string; bytes: number }[] = sqlite
    ? [{ path: `${dbdir}/rpmdb.sqlite`, bytes: sz(PACKAGE_DB_BYTES.rpmdbSqlite) }]
    : [
        { path: `${dbdir}/Packages`, bytes: sz(PACKAGE_DB_BYTES.rpmPackages) },
        { path: `${dbdir}/Basenames`, bytes: sz(PACKAGE_DB_BYTES.rpmBasenames) },
        { path: `${dbdir}/Name`, bytes: sz(12_288) },
        { path: `${dbdir}/Providename`, bytes: sz(180_000) },
        { path: `${dbdir}/__db.001`, bytes: sz(200_000) },
        { path: `${dbdir}/__db.002`, bytes: sz(1_300_000) },
        { path: `${dbdir}/__db.003`, bytes: sz(PACKAGE_DB_BYTES.rpmDbRegion) },
      ];
  if (o.seedDatabases ?? true) {
    for (const f of dbFiles) b.writeFile(f.path, f.bytes, 'random');
    b.writeFile('/etc/ld.so.cache', sz(PACKAGE_DB_BYTES.ldSoCache), 'random');
  }
  b.mkdirp(dbdir).mkdirp('/var/log');
  dbFiles.forEach((f, i) => b.push({ op: 'open', path: f.path, flags: O_RDWR, fd: `rpmdb${i}` }));
  const pageIn = (i: number) => Math.floor(rand() * Math.max(1, Math.floor(dbFiles[i]!.bytes / PAGE))) * PAGE;
  if (sqlite) b.push({ op: 'open', path: `${dbdir}/rpmdb.sqlite-wal`, flags: O_RDWR | O_CREAT, mode: 0o644, fd: 'wal' });
  b.push({ op: 'open', path: '/var/log/dnf.rpm.log', flags: O_WRONLY | O_CREAT | O_APPEND, mode: 0o644, fd: 'rpmlog' });
  let walPages = 0;
  const touched: number[] = [];
  names.forEach((pkg, p) => {
    // rpm unpacks each file under a temporary name (PATH;XXXXXXXX) and renames it into place
    for (const f of layout[p]!) {
      const tmp = `${f.path};${(0x5f000000 + p * 4096 + f.path.length).toString(16)}`;
      b.writeFile(tmp, f.size, 'random', f.mode).push({ op: 'rename', from: tmp, to: f.path });
    }
    // the header blob (about 1 KiB per file) and the index pages
    const headerPages = Math.max(1, Math.ceil((layout[p]!.length * 1024) / PAGE));
    if (sqlite) {
      for (let k = 0; k < headerPages + 3; k++) {
        b.push({ op: 'write', fd: 'wal', offset: walPages * (PAGE + 24) + 32, length: PAGE + 24, fill: 'random' });
        walPages++;
        touched.push(pageIn(0));
      }
      b.push({ op: 'fsync', fd: 'wal' });
    } else {
      const end = dbFiles[0]!.bytes + p * headerPages * PAGE;
      b.push({ op: 'write', fd: 'rpmdb0', offset: end, length: headerPages * PAGE, fill: 'random' });
      for (let i = 1; i < dbFiles.length; i++) b.push({ op: 'write', fd: `rpmdb${i}`, offset: pageIn(i), length: PAGE, fill: 'random' });
    }
    b.push({ op: 'write', fd: 'rpmlog', length: 50 + pkg.length, fill: 'pattern' });
  });
  if (sqlite) {
    // WAL checkpoint: the pages copied into the database file, the WAL truncated
    for (const off of touched) b.push({ op: 'write', fd: 'rpmdb0', offset: off, length: PAGE, fill: 'random' });
    b.push({ op: 'fsync', fd: 'rpmdb0' }, { op: 'truncate', path: `${dbdir}/rpmdb.sqlite-wal`, size: 0 }, { op: 'close', fd: 'wal' });
  } else {
    for (let i = 0; i < dbFiles.length; i++) b.push({ op: 'fsync', fd: `rpmdb${i}` });
  }
  dbFiles.forEach((_, i) => b.push({ op: 'close', fd: `rpmdb${i}` }));
  b.push({ op: 'close', fd: 'rpmlog' });
  // ldconfig in %post: ld.so.cache~ written and renamed
  b.writeFile('/etc/ld.so.cache~', sz(PACKAGE_DB_BYTES.ldSoCache), 'random').push({ op: 'rename', from: '/etc/ld.so.cache~', to: '/etc/ld.so.cache' });
  return b.ops;
}

// ---------------------------------------------------------------------------------------------------------------
// the write-pattern catalogue (issue 5 item 5)

/** A write pattern for the benchmarks: `prepare` builds what must already be in the image, `run` is the container's work. */
export interface WritePattern {
  name: 'sequential-write' | 'random-overwrite' | 'append' | 'many-small-files' | 'whole-file-rewrite' | 'metadata-only';
  description: string;
  prepare: TraceOp[];
  run: TraceOp[];
}

/** The six patterns at a size scale (1: 64 MiB files, 1000 small files; smaller for quick runs). */
export function writePatterns(scale = 1, seed = 1): WritePattern[] {
  const big = Math.max(64 * KiB, Math.round(64 * MiB * scale));
  const small = Math.max(10, Math.round(1000 * scale));
  return [
    { name: 'sequential-write', description: `a new ${big} B file written in 128 KiB blocks`, prepare: [], run: sequentialWrite({ path: '/data/seq', bytes: big }) },
    {
      name: 'random-overwrite',
      description: `256 random 4 KiB overwrites in a ${big} B file of the image`,
      prepare: sequentialWrite({ path: '/data/big', bytes: big, fd: 'prep' }),
      run: randomOverwrite({ path: '/data/big', fileBytes: big, writes: 256, seed }),
    },
    {
      name: 'append',
      description: '4 MiB appended in 4 KiB writes to a 1 MiB log of the image',
      prepare: sequentialWrite({ path: '/var/log/app.log', bytes: MiB, fd: 'prep' }),
      run: appendOnly({ path: '/var/log/app.log', bytes: 4 * MiB }),
    },
    { name: 'many-small-files', description: `${small} new files of 4 KiB`, prepare: [], run: manySmallFiles({ dir: '/data/small', count: small, dirWidth: 100, seed }) },
    {
      name: 'whole-file-rewrite',
      description: `a ${big} B file of the image rewritten through a temporary file and rename`,
      prepare: sequentialWrite({ path: '/data/db', bytes: big, fd: 'prep' }),
      run: rewriteWholeFile({ path: '/data/db', bytes: big }),
    },
    {
      name: 'metadata-only',
      description: `chmod of a ${big} B file of the image`,
      prepare: sequentialWrite({ path: '/data/bin', bytes: big, fd: 'prep' }),
      run: metadataStorm({ paths: ['/data/bin'], kind: 'chmod', mode: 0o700 }),
    },
  ];
}

/**
 * A whole trace for one pattern: the image, a builder container that runs `prepare`, a commit, the container `c` on
 * the committed image, and `run` between the marks `before` and `after`.
 */
export function patternTrace(p: WritePattern, from = 'builtin:busybox'): TraceOp[] {
  return [
    { op: 'image', name: 'base', from },
    { op: 'run', container: 'builder', image: 'base' },
    ...p.prepare,
    { op: 'commit', container: 'builder', image: 'prepared' },
    { op: 'stop', container: 'builder' },
    { op: 'rm', container: 'builder' },
    { op: 'run', container: 'c', image: 'prepared' },
    { op: 'mark', label: 'before' },
    ...p.run,
    { op: 'mark', label: 'after' },
  ];
}
