/**
 * A `node:fs`-compatible facade over a simulated container: the synchronous, callback and promise subset that memfs
 * implements and that tar libraries and isomorphic-git use, answering through the container's `Syscalls`. Real
 * JavaScript code run against it acts on the container, so the driver model charges what that code does; with
 * `record`, each system call it makes is also kept as a trace op (a workload that `layersim run` can replay).
 *
 * What Node would ask of the kernel is what the facade asks of `Syscalls`: `writeFileSync` is open + write + close,
 * `mkdirSync({ recursive })` is Node's mkdir-first walk, `rmSync({ recursive })` is lstat + readdir + unlink/rmdir,
 * `copyFileSync` opens both files and copies the source's extents. Errors are shaped as Node's
 * (`ENOENT: no such file or directory, open '/x'`, `code`, negative `errno`, `syscall`, `path`, `dest`).
 */
import { Buffer } from 'node:buffer';
import { constants as fsConstants } from 'node:fs';
import { constants as osConstants } from 'node:os';
import { Readable, Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { bytesSource, type DataSlice } from '../fs/content.js';
import { ERRNO_MESSAGES, FsError } from '../fs/errno.js';
import { S_IFMT_BITS, type FileKind } from '../fs/inode.js';
import type { OpOf, TraceOp } from '../trace/schema.js';
import {
  O_ACCMODE,
  O_APPEND,
  O_CREAT,
  O_DIRECTORY,
  O_EXCL,
  O_NOFOLLOW,
  O_RDONLY,
  O_RDWR,
  O_TRUNC,
  O_WRONLY,
  statOf,
  type OpenFile,
  type Stat,
  type Syscalls,
} from '../vfs/syscalls.js';

// ---- types -------------------------------------------------------------------------------------------------------

export type PathLike = string | Buffer | URL;
export type BufferEncodingOrBuffer = BufferEncoding | 'buffer';
export type OpenMode = string | number;
export type Mode = number | string;
export type TimeLike = number | string | Date;
type Data = string | NodeJS.ArrayBufferView;

export interface CreateFsOptions {
  /** The working directory relative paths resolve against (default `/`). */
  readonly cwd?: string;
  /** When given, every system call the facade makes is appended here as a trace op (failed ones with `expect`). */
  readonly record?: TraceOp[];
  /** "Now" in seconds, for `utimes` with non-finite times (default: the wall clock). Pass `() => host.clock.now()`. */
  readonly now?: () => number;
  /** The first file descriptor number handed out (default 3, as after stdin, stdout and stderr). */
  readonly firstFd?: number;
}

// ---- errors ------------------------------------------------------------------------------------------------------

const EXTRA_MESSAGES: Record<string, string> = { ENOSYS: 'function not implemented' };

/** An error as Node's fs throws it (a libuv exception): `code`, negative `errno`, `syscall`, `path`, `dest`. */
export class NodeFsError extends Error {
  readonly errno: number;
  readonly code: string;
  readonly syscall: string;
  // declared, not defined: like Node's, the error has no `path`/`dest` property when the call has none
  declare readonly path?: string;
  declare readonly dest?: string;

  constructor(code: string, syscall: string, path?: string, dest?: string) {
    const desc = (ERRNO_MESSAGES as Record<string, string>)[code] ?? EXTRA_MESSAGES[code] ?? 'unknown error';
    let message = `${code}: ${desc}, ${syscall}`;
    if (path !== undefined) message += ` '${path}'`;
    if (dest !== undefined) message += ` -> '${dest}'`;
    super(message);
    this.errno = -((osConstants.errno as Record<string, number>)[code] ?? 0);
    this.code = code;
    this.syscall = syscall;
    if (path !== undefined) Object.defineProperty(this, 'path', { value: path, enumerable: true, writable: true, configurable: true });
    if (dest !== undefined) Object.defineProperty(this, 'dest', { value: dest, enumerable: true, writable: true, configurable: true });
  }
}

/** Node's `ERR_FS_EISDIR` (what `rmSync` of a directory without `recursive` throws). */
export class NodeSystemError extends Error {
  readonly code = 'ERR_FS_EISDIR';
  readonly info: { code: string; message: string; path: string; syscall: string; errno: number };
  readonly errno: number;
  readonly syscall: string;
  readonly path: string;

  constructor(path: string) {
    super(`Path is a directory: rm returned EISDIR (is a directory) ${path}`);
    Object.defineProperty(this, 'name', { value: 'SystemError', enumerable: false, writable: true, configurable: true });
    this.errno = osConstants.errno.EISDIR;
    this.syscall = 'rm';
    this.path = path;
    this.info = { code: 'EISDIR', message: 'is a directory', path, syscall: 'rm', errno: this.errno };
  }
}

function typeError(code: string, message: string): TypeError {
  const e = new TypeError(message) as TypeError & { code: string };
  e.code = code;
  return e;
}

// ---- Stats and Dirent --------------------------------------------------------------------------------------------

const S_IFMT = 0o170000;
const BLOCK = 4096;

/** `fs.Stats` as Node builds it: numbers, `*Ms` times, `Date`s, and the type predicates. */
export class Stats {
  dev = 0;
  ino: number;
  mode: number;
  nlink: number;
  uid: number;
  gid: number;
  rdev: number;
  size: number;
  blksize = BLOCK;
  blocks: number;
  atimeMs: number;
  mtimeMs: number;
  ctimeMs: number;
  birthtimeMs: number;
  atime: Date;
  mtime: Date;
  ctime: Date;
  birthtime: Date;

  constructor(st: Stat) {
    this.ino = st.ino;
    this.mode = S_IFMT_BITS[st.kind] | (st.mode & 0o7777);
    this.nlink = st.nlink;
    this.uid = st.uid;
    this.gid = st.gid;
    this.rdev = st.rdev;
    this.size = st.size;
    this.blocks = st.kind === 'file' || st.kind === 'dir' ? Math.ceil(st.size / BLOCK) * (BLOCK / 512) : 0;
    this.atimeMs = st.atime * 1000;
    this.mtimeMs = st.mtime * 1000;
    this.ctimeMs = st.ctime * 1000;
    this.birthtimeMs = this.ctimeMs;
    this.atime = new Date(this.atimeMs);
    this.mtime = new Date(this.mtimeMs);
    this.ctime = new Date(this.ctimeMs);
    this.birthtime = new Date(this.birthtimeMs);
  }

  isFile(): boolean {
    return (this.mode & S_IFMT) === S_IFMT_BITS.file;
  }
  isDirectory(): boolean {
    return (this.mode & S_IFMT) === S_IFMT_BITS.dir;
  }
  isSymbolicLink(): boolean {
    return (this.mode & S_IFMT) === S_IFMT_BITS.symlink;
  }
  isCharacterDevice(): boolean {
    return (this.mode & S_IFMT) === S_IFMT_BITS.chr;
  }
  isBlockDevice(): boolean {
    return (this.mode & S_IFMT) === S_IFMT_BITS.blk;
  }
  isFIFO(): boolean {
    return (this.mode & S_IFMT) === S_IFMT_BITS.fifo;
  }
  isSocket(): boolean {
    return (this.mode & S_IFMT) === S_IFMT_BITS.sock;
  }
}

/** `fs.Dirent`: a name, the directory it was read from, and its type (from lstat). */
export class Dirent {
  constructor(
    readonly name: string | Buffer,
    readonly parentPath: string,
    private readonly kind: FileKind,
  ) {}
  /** Node 20's deprecated alias of `parentPath`. */
  get path(): string {
    return this.parentPath;
  }
  isFile(): boolean {
    return this.kind === 'file';
  }
  isDirectory(): boolean {
    return this.kind === 'dir';
  }
  isSymbolicLink(): boolean {
    return this.kind === 'symlink';
  }
  isCharacterDevice(): boolean {
    return this.kind === 'chr';
  }
  isBlockDevice(): boolean {
    return this.kind === 'blk';
  }
  isFIFO(): boolean {
    return this.kind === 'fifo';
  }
  isSocket(): boolean {
    return this.kind === 'sock';
  }
}

// ---- argument conversions (as Node's validators do them) -----------------------------------------------------------

/** Node's string open flags (lib/internal/fs/utils.js stringToFlags), with Linux's bit values. */
const O_SYNC = fsConstants.O_SYNC;
const STRING_FLAGS: Record<string, number> = {
  r: O_RDONLY,
  rs: O_RDONLY | O_SYNC,
  sr: O_RDONLY | O_SYNC,
  'r+': O_RDWR,
  'rs+': O_RDWR | O_SYNC,
  'sr+': O_RDWR | O_SYNC,
  w: O_TRUNC | O_CREAT | O_WRONLY,
  wx: O_TRUNC | O_CREAT | O_WRONLY | O_EXCL,
  xw: O_TRUNC | O_CREAT | O_WRONLY | O_EXCL,
  'w+': O_TRUNC | O_CREAT | O_RDWR,
  'wx+': O_TRUNC | O_CREAT | O_RDWR | O_EXCL,
  'xw+': O_TRUNC | O_CREAT | O_RDWR | O_EXCL,
  a: O_APPEND | O_CREAT | O_WRONLY,
  ax: O_APPEND | O_CREAT | O_WRONLY | O_EXCL,
  xa: O_APPEND | O_CREAT | O_WRONLY | O_EXCL,
  as: O_APPEND | O_CREAT | O_WRONLY | O_SYNC,
  sa: O_APPEND | O_CREAT | O_WRONLY | O_SYNC,
  'a+': O_APPEND | O_CREAT | O_RDWR,
  'ax+': O_APPEND | O_CREAT | O_RDWR | O_EXCL,
  'xa+': O_APPEND | O_CREAT | O_RDWR | O_EXCL,
  'as+': O_APPEND | O_CREAT | O_RDWR | O_SYNC,
  'sa+': O_APPEND | O_CREAT | O_RDWR | O_SYNC,
};

/** The open(2) bits the simulated VFS acts on; others (O_SYNC, O_CLOEXEC, O_NONBLOCK, ...) change no outcome here. */
const SIMULATED_FLAGS = O_ACCMODE | O_CREAT | O_EXCL | O_TRUNC | O_APPEND | O_DIRECTORY | O_NOFOLLOW;

export function stringToFlags(flags: OpenMode | undefined | null, def = 'r'): number {
  if (flags === undefined || flags === null) return STRING_FLAGS[def]!;
  if (typeof flags === 'number') return flags;
  const bits = STRING_FLAGS[flags];
  if (bits === undefined) throw typeError('ERR_INVALID_ARG_VALUE', `The argument 'flags' is invalid. Received '${flags}'`);
  return bits;
}

function parseMode(mode: Mode | undefined | null, def: number): number {
  if (mode === undefined || mode === null) return def;
  if (typeof mode === 'number') return mode;
  if (/^[0-7]+$/.test(mode)) return parseInt(mode, 8);
  throw typeError('ERR_INVALID_ARG_VALUE', `The argument 'mode' must be a 32-bit unsigned integer or an octal string. Received '${mode}'`);
}

function pathString(p: PathLike, name = 'path'): string {
  if (typeof p === 'string') {
    if (p.includes('\0')) throw typeError('ERR_INVALID_ARG_VALUE', `The argument '${name}' must be a string, Uint8Array, or URL without null bytes.`);
    return p;
  }
  if (Buffer.isBuffer(p)) return pathString(p.toString('utf8'), name);
  if (p instanceof URL) return pathString(fileURLToPath(p), name);
  throw typeError('ERR_INVALID_ARG_TYPE', `The "${name}" argument must be of type string or an instance of Buffer or URL.`);
}

function toSeconds(t: TimeLike, now: () => number): number {
  if (t instanceof Date) return t.getTime() / 1000;
  const n = typeof t === 'string' ? Number(t) : t;
  if (typeof n !== 'number' || Number.isNaN(n)) {
    throw typeError('ERR_INVALID_ARG_TYPE', 'The "time" argument must be of type number or an instance of Date.');
  }
  return Number.isFinite(n) ? n : now();
}

function encodingOf(options: unknown, def: BufferEncodingOrBuffer | undefined): BufferEncodingOrBuffer | undefined {
  if (typeof options === 'string') return options as BufferEncodingOrBuffer;
  if (options !== null && typeof options === 'object' && 'encoding' in options) {
    const e = (options as { encoding?: BufferEncodingOrBuffer | null }).encoding;
    return e ?? def;
  }
  return def;
}

function toBytes(data: Data, encoding: BufferEncoding = 'utf8'): Uint8Array {
  if (typeof data === 'string') return Buffer.from(data, encoding);
  // a copy: the caller may reuse its buffer after the call returns, and extents keep their source
  return new Uint8Array(data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength));
}

function decode(bytes: Uint8Array, encoding: BufferEncodingOrBuffer | undefined): string | Buffer {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return encoding === undefined || encoding === 'buffer' ? buf : buf.toString(encoding);
}

const STRICT_UTF8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** A trace payload for bytes: `data` when they are UTF-8 text (exact), else `length` with a zero or random fill. */
function payloadOf(bytes: Uint8Array): { data: string } | { length: number; fill: 'zero' | 'random' } {
  try {
    return { data: STRICT_UTF8.decode(bytes) };
  } catch {
    return { length: bytes.length, fill: bytes.every(b => b === 0) ? 'zero' : 'random' };
  }
}

// ---- the facade --------------------------------------------------------------------------------------------------

interface FdEntry {
  readonly file: OpenFile<object>;
  /** The absolute path it was opened by (what f* calls without a syscall of their own act on). */
  readonly path: string;
  /** Its name in the recorded trace. */
  readonly name: string;
}

type Callback<T> = (err: Error | null, value?: T) => void;

const F_OK = 0;

/**
 * A node:fs-compatible object over a container's system calls. Every function is bound (it may be detached, or
 * copied onto another object as `withNodeFs` does).
 */
export function createFs(sys: Syscalls<object>, opts: CreateFsOptions = {}) {
  const cwd = opts.cwd ?? '/';
  const record = opts.record;
  const now = opts.now ?? (() => Date.now() / 1000);
  const firstFd = opts.firstFd ?? 3;
  const fds = new Map<number, FdEntry>();
  let fdSeq = 0;
  let tmpSeq = 0;

  // ---- plumbing ----

  const abs = (p: string): string => (p.startsWith('/') || p === '' ? p : `${cwd.replace(/\/+$/, '')}/${p}`);

  /** Runs a syscall, turning an `FsError` into Node's error with Node's syscall name and the caller's paths. */
  function call<T>(syscall: string, path: string | undefined, dest: string | undefined, body: () => T): T {
    try {
      return body();
    } catch (e) {
      if (e instanceof FsError) throw new NodeFsError(e.code, syscall, path, dest);
      throw e;
    }
  }

  /** Runs `body`, recording `op` (with the errno as `expect` when it fails). */
  function traced<T>(op: TraceOp | undefined, body: () => T): T {
    if (record === undefined || op === undefined) return body();
    try {
      const r = body();
      record.push(op);
      return r;
    } catch (e) {
      if (e instanceof FsError) record.push({ ...op, expect: e.code } as TraceOp);
      throw e;
    }
  }

  function fdEntry(fd: number, syscall: string): FdEntry {
    if (typeof fd !== 'number' || !Number.isInteger(fd) || fd < 0 || fd > 0x7fffffff) {
      throw typeError('ERR_INVALID_ARG_TYPE', `The "fd" argument must be of type number. Received ${String(fd)}`);
    }
    const e = fds.get(fd);
    if (e === undefined) throw new NodeFsError('EBADF', syscall);
    return e;
  }

  function allocFd(): number {
    let fd = firstFd;
    while (fds.has(fd)) fd++;
    return fd;
  }

  function openRaw(path: string, flags: number, mode: number, shown: string): number {
    const name = `fd${++fdSeq}`;
    const bits = flags & SIMULATED_FLAGS;
    const file = call('open', shown, undefined, () =>
      traced({ op: 'open', path, flags: bits, mode: mode & 0o7777, fd: name } satisfies OpOf<'open'>, () => sys.open(path, bits, mode)),
    );
    const fd = allocFd();
    fds.set(fd, { file, path, name });
    return fd;
  }

  function closeRaw(fd: number): void {
    const e = fdEntry(fd, 'close');
    fds.delete(fd);
    call('close', undefined, undefined, () => traced({ op: 'close', fd: e.name } satisfies OpOf<'close'>, () => sys.close(e.file)));
  }

  function readRaw(e: FdEntry, length: number | undefined, position: number | undefined): Uint8Array {
    const op: OpOf<'read'> = { op: 'read', fd: e.name };
    if (position !== undefined) op.offset = position;
    if (length !== undefined) op.length = length;
    return call('read', undefined, undefined, () => traced(op, () => sys.read(e.file, length, position)));
  }

  function writeRaw(e: FdEntry, bytes: Uint8Array, position: number | undefined): number {
    const slice: DataSlice = { source: bytesSource(bytes), at: 0, length: bytes.length };
    const op = { op: 'write', fd: e.name, ...payloadOf(bytes) } as OpOf<'write'>;
    if (position !== undefined) op.offset = position;
    return call('write', undefined, undefined, () => traced(op, () => sys.write(e.file, slice, position)));
  }

  function statRaw(path: string, follow: boolean, syscall: string, shown: string): Stat {
    return call(syscall, shown, undefined, () => traced({ op: 'stat', path, follow } satisfies OpOf<'stat'>, () => sys.stat(path, follow)));
  }

  function fstatOf(e: FdEntry): Stat {
    if (e.file.closed) throw new NodeFsError('EBADF', 'fstat');
    const m = sys.mount;
    const st = statOf(m.inode(e.file.node));
    if (m.nlink !== undefined) st.nlink = m.nlink(e.file.node);
    if (m.ino !== undefined) st.ino = m.ino(e.file.node);
    return st;
  }

  const position = (p: number | bigint | null | undefined): number | undefined =>
    p === null || p === undefined || p === -1 || p === -1n ? undefined : Number(p);

  // ---- files by descriptor ----

  function openSync(path: PathLike, flags?: OpenMode | null, mode?: Mode | null): number {
    const shown = pathString(path);
    return openRaw(abs(shown), stringToFlags(flags), parseMode(mode, 0o666), shown);
  }

  function closeSync(fd: number): void {
    closeRaw(fd);
  }

  function readSync(
    fd: number,
    buffer: NodeJS.ArrayBufferView,
    offsetOrOptions?: number | { offset?: number; length?: number; position?: number | bigint | null } | null,
    length?: number | null,
    pos?: number | bigint | null,
  ): number {
    const e = fdEntry(fd, 'read');
    let offset = 0;
    let len: number;
    let at: number | undefined;
    if (offsetOrOptions !== null && typeof offsetOrOptions === 'object') {
      offset = offsetOrOptions.offset ?? 0;
      len = offsetOrOptions.length ?? buffer.byteLength - offset;
      at = position(offsetOrOptions.position);
    } else {
      offset = offsetOrOptions ?? 0;
      len = length ?? buffer.byteLength - offset;
      at = position(pos);
    }
    if (offset < 0 || len < 0 || offset + len > buffer.byteLength) {
      throw typeError('ERR_OUT_OF_RANGE', `The value of "length" is out of range. Received ${len}`);
    }
    if (len === 0) return 0;
    const data = readRaw(e, len, at);
    new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength).set(data, offset);
    return data.length;
  }

  function writeSync(
    fd: number,
    data: Data,
    offsetOrPosition?: number | null | { offset?: number; length?: number; position?: number | null },
    lengthOrEncoding?: number | BufferEncoding | null,
    pos?: number | null,
  ): number {
    const e = fdEntry(fd, 'write');
    let bytes: Uint8Array;
    let at: number | undefined;
    if (typeof data === 'string') {
      bytes = Buffer.from(data, (typeof lengthOrEncoding === 'string' ? lengthOrEncoding : 'utf8') as BufferEncoding);
      at = position(typeof offsetOrPosition === 'number' ? offsetOrPosition : undefined);
    } else {
      const view = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
      let offset = 0;
      let len: number;
      if (offsetOrPosition !== null && typeof offsetOrPosition === 'object') {
        offset = offsetOrPosition.offset ?? 0;
        len = offsetOrPosition.length ?? view.length - offset;
        at = position(offsetOrPosition.position);
      } else {
        offset = offsetOrPosition ?? 0;
        len = typeof lengthOrEncoding === 'number' ? lengthOrEncoding : view.length - offset;
        at = position(pos);
      }
      if (offset < 0 || len < 0 || offset + len > view.length) {
        throw typeError('ERR_OUT_OF_RANGE', `The value of "length" is out of range. Received ${len}`);
      }
      bytes = view.slice(offset, offset + len);
    }
    return writeRaw(e, bytes, at);
  }

  function fstatSync(fd: number): Stats {
    return new Stats(fstatOf(fdEntry(fd, 'fstat')));
  }

  function ftruncateSync(fd: number, len = 0): void {
    const e = fdEntry(fd, 'ftruncate');
    // the trace language has truncate by path only: ftruncate is recorded on the path the fd was opened by
    call('ftruncate', undefined, undefined, () =>
      traced({ op: 'truncate', path: e.path, size: len } satisfies OpOf<'truncate'>, () => sys.ftruncate(e.file, len)),
    );
  }

  function fsyncSync(fd: number): void {
    const e = fdEntry(fd, 'fsync');
    call('fsync', undefined, undefined, () => traced({ op: 'fsync', fd: e.name } satisfies OpOf<'fsync'>, () => sys.fsync(e.file)));
  }

  function fchmodSync(fd: number, mode: Mode): void {
    const e = fdEntry(fd, 'fchmod');
    const m = parseMode(mode, 0);
    call('fchmod', undefined, undefined, () => traced({ op: 'chmod', path: e.path, mode: m & 0o7777 } satisfies OpOf<'chmod'>, () => sys.chmod(e.path, m)));
  }

  function fchownSync(fd: number, uid: number, gid: number): void {
    const e = fdEntry(fd, 'fchown');
    call('fchown', undefined, undefined, () => traced({ op: 'chown', path: e.path, uid, gid } satisfies OpOf<'chown'>, () => sys.chown(e.path, uid, gid)));
  }

  function futimesSync(fd: number, atime: TimeLike, mtime: TimeLike): void {
    const e = fdEntry(fd, 'futime');
    const a = toSeconds(atime, now);
    const m = toSeconds(mtime, now);
    call('futime', undefined, undefined, () =>
      traced({ op: 'utimes', path: e.path, atime: a, mtime: m } satisfies OpOf<'utimes'>, () => sys.utimes(e.path, a, m, now())),
    );
  }

  // ---- whole files ----

  function readAll(e: FdEntry): Uint8Array {
    // one read from the position to the end of the file (Node reads fstat's size, then until EOF)
    return readRaw(e, undefined, undefined);
  }

  function readFileSync(path: PathLike | number, options?: { encoding?: null; flag?: OpenMode } | null): Buffer;
  function readFileSync(path: PathLike | number, options: BufferEncoding | { encoding: BufferEncoding; flag?: OpenMode }): string;
  function readFileSync(path: PathLike | number, options?: BufferEncoding | { encoding?: BufferEncoding | null; flag?: OpenMode } | null): string | Buffer;
  function readFileSync(path: PathLike | number, options?: BufferEncoding | { encoding?: BufferEncoding | null; flag?: OpenMode } | null): string | Buffer {
    const encoding = encodingOf(options, undefined);
    if (typeof path === 'number') return decode(readAll(fdEntry(path, 'read')), encoding);
    const flag = typeof options === 'object' && options !== null ? options.flag : undefined;
    const fd = openSync(path, flag ?? 'r', 0o666);
    try {
      return decode(readAll(fds.get(fd)!), encoding);
    } finally {
      closeRaw(fd);
    }
  }

  function writeAll(fd: number, data: Data, encoding: BufferEncoding | undefined): void {
    writeRaw(fdEntry(fd, 'write'), toBytes(data, encoding), undefined);
  }

  type WriteOptions = BufferEncoding | { encoding?: BufferEncoding | null; mode?: Mode; flag?: OpenMode } | null | undefined;

  function writeWith(path: PathLike | number, data: Data, options: WriteOptions, defFlag: string): void {
    const encoding = (encodingOf(options, 'utf8') ?? 'utf8') as BufferEncoding;
    if (typeof path === 'number') return writeAll(path, data, encoding);
    const o = typeof options === 'object' && options !== null ? options : {};
    const fd = openSync(path, o.flag ?? defFlag, o.mode ?? 0o666);
    try {
      writeAll(fd, data, encoding);
    } finally {
      closeRaw(fd);
    }
  }

  function writeFileSync(path: PathLike | number, data: Data, options?: WriteOptions): void {
    writeWith(path, data, options, 'w');
  }

  function appendFileSync(path: PathLike | number, data: Data, options?: WriteOptions): void {
    writeWith(path, data, options, 'a');
  }

  function truncateSync(path: PathLike | number, len = 0): void {
    if (typeof path === 'number') return ftruncateSync(path, len);
    const shown = pathString(path);
    const p = abs(shown);
    // Node opens with 'r+' and ftruncates: errors name `open`
    call('open', shown, undefined, () => traced({ op: 'truncate', path: p, size: len } satisfies OpOf<'truncate'>, () => sys.truncate(p, len)));
  }

  function copyFileSync(src: PathLike, dest: PathLike, mode = 0): void {
    const s = pathString(src, 'src');
    const d = pathString(dest, 'dest');
    const from = abs(s);
    const to = abs(d);
    const run = (): void => {
      // uv_fs_copyfile: open the source, fstat it, open the destination with its mode, truncate, copy the data
      const fin = sys.open(from, O_RDONLY);
      try {
        const st = sys.stat(from);
        const flags = O_WRONLY | O_CREAT | (mode & fsConstants.COPYFILE_EXCL ? O_EXCL : 0);
        if (st.kind === 'dir') throw new FsError('EISDIR');
        const content = sys.contentOf(fin);
        const fout = sys.open(to, flags, st.mode & 0o7777);
        try {
          sys.ftruncate(fout, 0);
          for (const x of content.listExtents()) sys.write(fout, { source: x.source, at: x.at, length: x.length }, x.offset);
          if (content.size > 0) sys.ftruncate(fout, content.size);
        } finally {
          sys.close(fout);
        }
      } finally {
        sys.close(fin);
      }
    };
    const op: OpOf<'cp'> | undefined = mode & fsConstants.COPYFILE_EXCL ? undefined : { op: 'cp', from, to };
    call('copyfile', s, d, () => traced(op, run));
  }

  // ---- names ----

  function existsSync(path: PathLike): boolean {
    try {
      const p = abs(pathString(path));
      traced({ op: 'stat', path: p, follow: true } satisfies OpOf<'stat'>, () => sys.stat(p, true));
      return true;
    } catch {
      return false;
    }
  }

  type StatOptions = { bigint?: boolean; throwIfNoEntry?: boolean };

  function statWith(path: PathLike, follow: boolean, options: StatOptions | undefined): Stats | undefined {
    if (options?.bigint) throw typeError('ERR_FEATURE_UNAVAILABLE_ON_PLATFORM', 'bigint stats are not simulated');
    const shown = pathString(path);
    try {
      return new Stats(statRaw(abs(shown), follow, follow ? 'stat' : 'lstat', shown));
    } catch (e) {
      if (options?.throwIfNoEntry === false && e instanceof NodeFsError && (e.code === 'ENOENT' || e.code === 'ENOTDIR')) return undefined;
      throw e;
    }
  }

  function statSync(path: PathLike, options?: StatOptions & { throwIfNoEntry?: true }): Stats;
  function statSync(path: PathLike, options?: StatOptions): Stats | undefined;
  function statSync(path: PathLike, options?: StatOptions): Stats | undefined {
    return statWith(path, true, options);
  }

  function lstatSync(path: PathLike, options?: StatOptions & { throwIfNoEntry?: true }): Stats;
  function lstatSync(path: PathLike, options?: StatOptions): Stats | undefined;
  function lstatSync(path: PathLike, options?: StatOptions): Stats | undefined {
    return statWith(path, false, options);
  }

  type ReaddirOptions = BufferEncodingOrBuffer | { encoding?: BufferEncodingOrBuffer | null; withFileTypes?: boolean; recursive?: boolean } | null;

  function readdirSync(path: PathLike, options: { withFileTypes: true; encoding?: BufferEncodingOrBuffer | null; recursive?: boolean }): Dirent[];
  function readdirSync(path: PathLike, options: 'buffer' | { encoding: 'buffer'; withFileTypes?: false; recursive?: boolean }): Buffer[];
  function readdirSync(path: PathLike, options?: BufferEncoding | { encoding?: BufferEncoding | null; withFileTypes?: false; recursive?: boolean } | null): string[];
  function readdirSync(path: PathLike, options?: ReaddirOptions): (string | Buffer | Dirent)[];
  function readdirSync(path: PathLike, options?: ReaddirOptions): (string | Buffer | Dirent)[] {
    const encoding = encodingOf(options, 'utf8');
    const o = typeof options === 'object' && options !== null ? options : {};
    const shown = pathString(path);
    const out: (string | Buffer | Dirent)[] = [];
    const name = (n: string): string | Buffer => (encoding === 'buffer' ? Buffer.from(n) : n);
    const list = (dir: string, rel: string): void => {
      // getdents(2) has no trace op: a directory listing costs lookups but writes nothing
      const names = call('scandir', shown, undefined, () => sys.readdir(dir));
      for (const n of names) {
        const child = `${dir.replace(/\/+$/, '')}/${n}`;
        const relName = rel === '' ? n : `${rel}/${n}`;
        let kind: FileKind | undefined;
        if (o.withFileTypes || o.recursive) kind = sys.lstatOrAbsent(child)?.kind;
        if (o.withFileTypes) out.push(new Dirent(name(n), rel === '' ? shown : `${shown.replace(/\/+$/, '')}/${rel}`, kind ?? 'file'));
        else out.push(name(relName));
        if (o.recursive && kind === 'dir') list(child, relName);
      }
    };
    list(abs(shown), '');
    return out;
  }

  function mkdirSync(path: PathLike, options?: Mode | { recursive?: boolean; mode?: Mode } | null): string | undefined {
    const shown = pathString(path);
    const o = typeof options === 'object' && options !== null ? options : { mode: options ?? undefined };
    const mode = parseMode(o.mode, 0o777);
    const mk = (p: string): void =>
      call('mkdir', shown, undefined, () => traced({ op: 'mkdir', path: p, mode: mode & 0o7777 } satisfies OpOf<'mkdir'>, () => sys.mkdir(p, mode)));
    const target = abs(shown);
    if (!o.recursive) {
      mk(target);
      return undefined;
    }
    // Node's MKDirpSync: mkdir first; on ENOENT make the parent and retry; on anything else stat to see a directory
    const made: string[] = [];
    const mkdirp = (p: string): void => {
      try {
        mk(p);
        made.push(p);
        return;
      } catch (e) {
        if (!(e instanceof NodeFsError)) throw e;
        if (e.code === 'ENOENT') {
          const parent = p.replace(/\/+[^/]*\/*$/, '') || '/';
          if (parent === p) throw e;
          mkdirp(parent);
          mk(p);
          made.push(p);
          return;
        }
        let st: Stat | undefined;
        try {
          st = sys.stat(p, true);
        } catch {
          throw e;
        }
        if (st.kind !== 'dir') throw new NodeFsError(e.code === 'EEXIST' && p !== target ? 'ENOTDIR' : 'EEXIST', 'mkdir', shown);
      }
    };
    mkdirp(target.replace(/(.)\/+$/, '$1'));
    return made[0];
  }

  function rmdirPlain(p: string, shown: string): void {
    call('rmdir', shown, undefined, () => traced({ op: 'rmdir', path: p } satisfies OpOf<'rmdir'>, () => sys.rmdir(p)));
  }

  function unlinkPlain(p: string, shown: string): void {
    call('unlink', shown, undefined, () => traced({ op: 'unlink', path: p } satisfies OpOf<'unlink'>, () => sys.unlink(p)));
  }

  /** rm -r: lstat, then unlink a non-directory or empty a directory and rmdir it (Node 20's rimraf, sync). */
  function removeTree(p: string, shown: string): void {
    const st = statRaw(p, false, 'lstat', shown);
    if (st.kind !== 'dir') return unlinkPlain(p, shown);
    for (const n of call('scandir', shown, undefined, () => sys.readdir(p))) {
      const child = `${p.replace(/\/+$/, '')}/${n}`;
      removeTree(child, child);
    }
    rmdirPlain(p, shown);
  }

  function rmdirSync(path: PathLike, options?: { recursive?: boolean }): void {
    const shown = pathString(path);
    if (options?.recursive) return removeTree(abs(shown), shown);
    rmdirPlain(abs(shown), shown);
  }

  function rmSync(path: PathLike, options?: { recursive?: boolean; force?: boolean }): void {
    const shown = pathString(path);
    const p = abs(shown);
    let st: Stat;
    try {
      st = statRaw(p, false, 'lstat', shown);
    } catch (e) {
      if (options?.force && e instanceof NodeFsError && e.code === 'ENOENT') return;
      throw e;
    }
    if (st.kind === 'dir' && !options?.recursive) throw new NodeSystemError(shown);
    try {
      removeTree(p, shown);
    } catch (e) {
      if (options?.force && e instanceof NodeFsError && e.code === 'ENOENT') return;
      throw e;
    }
  }

  function unlinkSync(path: PathLike): void {
    const shown = pathString(path);
    unlinkPlain(abs(shown), shown);
  }

  function renameSync(oldPath: PathLike, newPath: PathLike): void {
    const a = pathString(oldPath, 'oldPath');
    const b = pathString(newPath, 'newPath');
    const from = abs(a);
    const to = abs(b);
    call('rename', a, b, () => traced({ op: 'rename', from, to } satisfies OpOf<'rename'>, () => sys.rename(from, to)));
  }

  function linkSync(existingPath: PathLike, newPath: PathLike): void {
    const a = pathString(existingPath, 'existingPath');
    const b = pathString(newPath, 'newPath');
    const from = abs(a);
    const to = abs(b);
    call('link', a, b, () => traced({ op: 'link', from, to } satisfies OpOf<'link'>, () => sys.link(from, to)));
  }

  function symlinkSync(target: PathLike, path: PathLike, _type?: string | null): void {
    const t = pathString(target, 'target');
    const shown = pathString(path);
    const p = abs(shown);
    call('symlink', t, shown, () => traced({ op: 'symlink', target: t, path: p } satisfies OpOf<'symlink'>, () => sys.symlink(t, p)));
  }

  function readlinkSync(path: PathLike, options: 'buffer' | { encoding: 'buffer' }): Buffer;
  function readlinkSync(path: PathLike, options?: BufferEncoding | { encoding?: BufferEncoding | null } | null): string;
  function readlinkSync(path: PathLike, options?: BufferEncodingOrBuffer | { encoding?: BufferEncodingOrBuffer | null } | null): string | Buffer;
  function readlinkSync(path: PathLike, options?: BufferEncodingOrBuffer | { encoding?: BufferEncodingOrBuffer | null } | null): string | Buffer {
    const shown = pathString(path);
    const p = abs(shown);
    const target = call('readlink', shown, undefined, () => traced({ op: 'readlink', path: p } satisfies OpOf<'readlink'>, () => sys.readlink(p)));
    const encoding = encodingOf(options, 'utf8');
    return encoding === 'buffer' ? Buffer.from(target) : Buffer.from(target).toString(encoding);
  }

  function chmodSync(path: PathLike, mode: Mode): void {
    const shown = pathString(path);
    const p = abs(shown);
    const m = parseMode(mode, 0);
    call('chmod', shown, undefined, () => traced({ op: 'chmod', path: p, mode: m & 0o7777 } satisfies OpOf<'chmod'>, () => sys.chmod(p, m)));
  }

  function chownSync(path: PathLike, uid: number, gid: number): void {
    const shown = pathString(path);
    const p = abs(shown);
    call('chown', shown, undefined, () => traced({ op: 'chown', path: p, uid, gid } satisfies OpOf<'chown'>, () => sys.chown(p, uid, gid)));
  }

  /** lchown(2): chown for anything but a symlink; the simulated VFS has no lchown, so a symlink's owner is ENOSYS. */
  function lchownSync(path: PathLike, uid: number, gid: number): void {
    const shown = pathString(path);
    const st = statRaw(abs(shown), false, 'lchown', shown);
    if (st.kind !== 'symlink') return chownSync(path, uid, gid);
    if ((uid === -1 || uid === st.uid) && (gid === -1 || gid === st.gid)) return;
    throw new NodeFsError('ENOSYS', 'lchown', shown);
  }

  function utimesSync(path: PathLike, atime: TimeLike, mtime: TimeLike): void {
    const shown = pathString(path);
    const p = abs(shown);
    const a = toSeconds(atime, now);
    const m = toSeconds(mtime, now);
    call('utime', shown, undefined, () =>
      traced({ op: 'utimes', path: p, atime: a, mtime: m } satisfies OpOf<'utimes'>, () => sys.utimes(p, a, m, now())),
    );
  }

  function accessSync(path: PathLike, mode = F_OK): void {
    const shown = pathString(path);
    const p = abs(shown);
    call('access', shown, undefined, () => {
      // access(2) is a path walk: recorded as the stat that costs the same lookups
      const inode = traced({ op: 'stat', path: p, follow: true } satisfies OpOf<'stat'>, () => sys.realInode(p));
      if (mode !== F_OK && !sys.permits(inode, mode & 7)) throw new FsError('EACCES');
    });
  }

  /** Node's JavaScript realpathSync: lstat each component; a symlink is stat'ed, then read, at most 40 of them. */
  function realpathSync(path: PathLike, options: 'buffer' | { encoding: 'buffer' }): Buffer;
  function realpathSync(path: PathLike, options?: BufferEncoding | { encoding?: BufferEncoding | null } | null): string;
  function realpathSync(path: PathLike, options?: BufferEncodingOrBuffer | { encoding?: BufferEncodingOrBuffer | null } | null): string | Buffer;
  function realpathSync(path: PathLike, options?: BufferEncodingOrBuffer | { encoding?: BufferEncodingOrBuffer | null } | null): string | Buffer {
    const shown = pathString(path);
    let pending = abs(shown).split('/').filter(s => s !== '' && s !== '.');
    const done: string[] = [];
    let links = 0;
    while (pending.length > 0) {
      const part = pending.shift()!;
      if (part === '..') {
        done.pop();
        continue;
      }
      const here = `/${[...done, part].join('/')}`;
      const st = statRaw(here, false, 'lstat', here);
      if (st.kind !== 'symlink') {
        if (pending.length > 0 && st.kind !== 'dir') throw new NodeFsError('ENOTDIR', 'lstat', `${here}/${pending[0]!}`);
        done.push(part);
        continue;
      }
      if (++links > 40) throw new NodeFsError('ELOOP', 'lstat', here);
      // as Node does before readlink: stat the link (a loop or a dangling link fails here)
      statRaw(here, true, 'stat', here);
      const target = call('readlink', here, undefined, () => traced({ op: 'readlink', path: here } satisfies OpOf<'readlink'>, () => sys.readlink(here)));
      const tparts = target.split('/').filter(s => s !== '' && s !== '.');
      if (target.startsWith('/')) done.length = 0;
      pending = [...tparts, ...pending];
    }
    const resolved = `/${done.join('/')}`;
    const encoding = encodingOf(options, 'utf8');
    return encoding === 'buffer' ? Buffer.from(resolved) : resolved;
  }
  realpathSync.native = realpathSync;

  function mkdtempSync(prefix: string, _options?: BufferEncoding | { encoding?: BufferEncoding | null } | null): string {
    const chars = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';
    for (;;) {
      let n = ++tmpSeq * 2654435761;
      let suffix = '';
      for (let i = 0; i < 6; i++) {
        suffix += chars[n % chars.length];
        n = Math.floor(n / chars.length);
      }
      const p = `${prefix}${suffix}`;
      try {
        mkdirSync(p, 0o700);
      } catch (e) {
        if (e instanceof NodeFsError && e.code === 'EEXIST') continue;
        throw e;
      }
      return p;
    }
  }

  // ---- streams (fs.ReadStream / fs.WriteStream, reduced: open on construction, one syscall per chunk) ----

  type StreamOptions = { flags?: OpenMode; encoding?: BufferEncoding | null; fd?: number; mode?: Mode; autoClose?: boolean; start?: number; end?: number; highWaterMark?: number };

  function createReadStream(path: PathLike | null, options?: BufferEncoding | StreamOptions): Readable & { path: string; fd: number | null; bytesRead: number } {
    const o: StreamOptions = typeof options === 'string' ? { encoding: options } : (options ?? {});
    const chunk = o.highWaterMark ?? 64 * 1024;
    let pos = o.start ?? (o.end !== undefined ? 0 : undefined);
    const end = o.end ?? Infinity;
    const stream = new Readable({
      highWaterMark: chunk,
      ...(o.encoding ? { encoding: o.encoding } : {}),
      construct(cb) {
        try {
          stream.fd = o.fd ?? openSync(path!, o.flags ?? 'r', o.mode ?? 0o666);
          process.nextTick(() => stream.emit('open', stream.fd));
          cb();
        } catch (e) {
          cb(e as Error);
        }
      },
      read(size) {
        try {
          const want = Math.min(size, end - (pos ?? 0) + 1);
          const data = want <= 0 ? new Uint8Array(0) : readRaw(fds.get(stream.fd!) ?? fdEntry(stream.fd!, 'read'), want, pos);
          if (pos !== undefined) pos += data.length;
          stream.bytesRead += data.length;
          this.push(data.length === 0 ? null : Buffer.from(data.buffer, data.byteOffset, data.length));
        } catch (e) {
          this.destroy(e as Error);
        }
      },
      destroy(err, cb) {
        if (stream.fd !== null && o.autoClose !== false && fds.has(stream.fd)) {
          try {
            closeRaw(stream.fd);
          } catch (e) {
            return cb(err ?? (e as Error));
          }
        }
        cb(err);
      },
    }) as Readable & { path: string; fd: number | null; bytesRead: number };
    stream.path = path === null ? '' : pathString(path);
    stream.fd = null;
    stream.bytesRead = 0;
    return stream;
  }

  function createWriteStream(path: PathLike | null, options?: BufferEncoding | StreamOptions): Writable & { path: string; fd: number | null; bytesWritten: number } {
    const o: StreamOptions = typeof options === 'string' ? { encoding: options } : (options ?? {});
    let pos = o.start;
    const close = (cb: (e?: Error | null) => void, err?: Error | null): void => {
      if (stream.fd !== null && o.autoClose !== false && fds.has(stream.fd)) {
        try {
          closeRaw(stream.fd);
        } catch (e) {
          return cb(err ?? (e as Error));
        }
      }
      cb(err);
    };
    const stream = new Writable({
      decodeStrings: true,
      ...(o.encoding ? { defaultEncoding: o.encoding } : {}),
      construct(cb) {
        try {
          stream.fd = o.fd ?? openSync(path!, o.flags ?? 'w', o.mode ?? 0o666);
          process.nextTick(() => stream.emit('open', stream.fd));
          cb();
        } catch (e) {
          cb(e as Error);
        }
      },
      write(data: Buffer, _enc, cb) {
        try {
          const n = writeRaw(fdEntry(stream.fd!, 'write'), new Uint8Array(data), pos);
          if (pos !== undefined) pos += n;
          stream.bytesWritten += n;
          cb();
        } catch (e) {
          cb(e as Error);
        }
      },
      final(cb) {
        close(cb);
      },
      destroy(err, cb) {
        close(cb, err);
      },
    }) as Writable & { path: string; fd: number | null; bytesWritten: number };
    stream.path = path === null ? '' : pathString(path);
    stream.fd = null;
    stream.bytesWritten = 0;
    return stream;
  }

  // ---- the sync API, then callbacks and promises built on it ----

  const sync = {
    accessSync,
    appendFileSync,
    chmodSync,
    chownSync,
    closeSync,
    copyFileSync,
    existsSync,
    fchmodSync,
    fchownSync,
    fdatasyncSync: fsyncSync,
    fstatSync,
    fsyncSync,
    ftruncateSync,
    futimesSync,
    lchownSync,
    linkSync,
    lstatSync,
    mkdirSync,
    mkdtempSync,
    openSync,
    readFileSync,
    readSync,
    readdirSync,
    readlinkSync,
    realpathSync,
    renameSync,
    rmSync,
    rmdirSync,
    statSync,
    symlinkSync,
    truncateSync,
    unlinkSync,
    utimesSync,
    writeFileSync,
    writeSync,
  };

  type SyncName = keyof typeof sync;
  type AsyncName<K extends SyncName> = K extends `${infer N}Sync` ? N : never;
  type Fn = (...args: never[]) => unknown;
  // optional arguments may be left out before the callback, so the arguments are not typed one by one
  type Callbackify<F extends Fn> = (...args: [...unknown[], Callback<ReturnType<F>>]) => void;
  type Promisify<F extends Fn> = (...args: Parameters<F>) => Promise<ReturnType<F>>;

  /** fs.x(args..., cb): runs now, calls back on the next tick (as libuv's threadpool would, later). */
  function callbackify<F extends Fn>(f: F, spread?: (r: ReturnType<F>, args: unknown[]) => unknown[]): Callbackify<F> {
    return (...args: unknown[]) => {
      let cb = args.pop();
      // close's callback is optional (Node's default logs nothing on success)
      if (typeof cb !== 'function' && f === (closeSync as unknown)) {
        if (cb !== undefined) args.push(cb);
        cb = (): void => {};
      }
      if (typeof cb !== 'function') throw typeError('ERR_INVALID_ARG_TYPE', 'The "cb" argument must be of type function.');
      const fn = cb as (...a: unknown[]) => void;
      cb = undefined;
      let result: ReturnType<F>;
      try {
        result = (f as unknown as (...a: unknown[]) => ReturnType<F>)(...args);
      } catch (e) {
        if (e instanceof TypeError) throw e;
        process.nextTick(fn, e);
        return;
      }
      process.nextTick(() => fn(null, ...(spread ? spread(result, args) : [result])));
    };
  }

  const promisify =
    <F extends Fn>(f: F): Promisify<F> =>
    async (...args: Parameters<F>) =>
      (f as unknown as (...a: Parameters<F>) => ReturnType<F>)(...args);

  const callbacks = Object.fromEntries(
    (Object.keys(sync) as SyncName[]).filter(k => k !== 'existsSync').map(k => [k.slice(0, -4), callbackify(sync[k] as Fn)]),
  ) as { [K in Exclude<SyncName, 'existsSync'> as AsyncName<K>]: Callbackify<(typeof sync)[K]> };

  const promiseApi = Object.fromEntries(
    (Object.keys(sync) as SyncName[])
      .filter(k => !['existsSync', 'closeSync', 'readSync', 'writeSync', 'openSync', 'fstatSync', 'ftruncateSync', 'fsyncSync', 'fdatasyncSync', 'futimesSync', 'fchmodSync', 'fchownSync'].includes(k))
      .map(k => [k.slice(0, -4), promisify(sync[k] as Fn)]),
  ) as { [K in SyncName as AsyncName<K>]: Promisify<(typeof sync)[K]> };

  /** A minimal `FileHandle` (fs.promises.open). */
  class FileHandle {
    constructor(readonly fd: number) {}
    async read(buffer: NodeJS.ArrayBufferView, offset?: number, length?: number, pos?: number | null): Promise<{ bytesRead: number; buffer: NodeJS.ArrayBufferView }> {
      return { bytesRead: readSync(this.fd, buffer, offset ?? 0, length ?? buffer.byteLength - (offset ?? 0), pos), buffer };
    }
    async write(data: Data, offset?: number, length?: number, pos?: number | null): Promise<{ bytesWritten: number; buffer: Data }> {
      return { bytesWritten: writeSync(this.fd, data, offset, length, pos), buffer: data };
    }
    async readFile(options?: BufferEncoding | { encoding?: BufferEncoding | null }): Promise<string | Buffer> {
      return readFileSync(this.fd, options);
    }
    async writeFile(data: Data, options?: WriteOptions): Promise<void> {
      writeFileSync(this.fd, data, options);
    }
    async appendFile(data: Data, options?: WriteOptions): Promise<void> {
      writeFileSync(this.fd, data, options);
    }
    async stat(): Promise<Stats> {
      return fstatSync(this.fd);
    }
    async truncate(len = 0): Promise<void> {
      ftruncateSync(this.fd, len);
    }
    async sync(): Promise<void> {
      fsyncSync(this.fd);
    }
    async datasync(): Promise<void> {
      fsyncSync(this.fd);
    }
    async chmod(mode: Mode): Promise<void> {
      fchmodSync(this.fd, mode);
    }
    async chown(uid: number, gid: number): Promise<void> {
      fchownSync(this.fd, uid, gid);
    }
    async utimes(atime: TimeLike, mtime: TimeLike): Promise<void> {
      futimesSync(this.fd, atime, mtime);
    }
    async close(): Promise<void> {
      closeSync(this.fd);
    }
  }

  const promises = {
    ...promiseApi,
    open: async (path: PathLike, flags?: OpenMode | null, mode?: Mode | null): Promise<FileHandle> => new FileHandle(openSync(path, flags, mode)),
    rm: async (path: PathLike, options?: { recursive?: boolean; force?: boolean }): Promise<void> => rmSync(path, options),
    constants: fsConstants,
  };

  return {
    ...sync,
    ...callbacks,
    read: callbackify(readSync, (n, args) => [n, args[1]]),
    write: callbackify(writeSync, (n, args) => [n, args[1]]),
    exists: (path: PathLike, cb: (exists: boolean) => void): void => {
      const r = existsSync(path);
      process.nextTick(cb, r);
    },
    promises,
    createReadStream,
    createWriteStream,
    constants: fsConstants,
    Stats,
    Dirent,
    /** The simulated system calls underneath. */
    sys,
    /** Open descriptors, for tests and for closing what a program left open (`process exit`). */
    openFds: (): number[] => [...fds.keys()],
    /** Closes every open descriptor, as process exit does. */
    closeAll: (): void => {
      for (const fd of [...fds.keys()]) closeRaw(fd);
    },
  };
}

export type SimFs = ReturnType<typeof createFs>;

const FLAG_NAMES: [string, number][] = [
  ['O_CREAT', O_CREAT],
  ['O_EXCL', O_EXCL],
  ['O_TRUNC', O_TRUNC],
  ['O_APPEND', O_APPEND],
  ['O_DIRECTORY', O_DIRECTORY],
  ['O_NOFOLLOW', O_NOFOLLOW],
];

/** Open flags as the trace language writes them (`"O_WRONLY|O_CREAT|O_TRUNC"`). */
export function flagsToString(flags: number): string {
  const acc = flags & O_ACCMODE;
  const parts = [acc === O_WRONLY ? 'O_WRONLY' : acc === O_RDWR ? 'O_RDWR' : 'O_RDONLY'];
  for (const [name, bit] of FLAG_NAMES) if (flags & bit) parts.push(name);
  return parts.join('|');
}

/**
 * Recorded ops as a JSON Lines trace (shared/spec/trace-format.md): open flags as names, modes as octal strings. Prepend
 * `image` and `run` lines (or pass `--image` to `layersim run`) to replay it.
 */
export function toTraceLines(ops: readonly TraceOp[]): string {
  return ops
    .map(op => {
      const o: Record<string, unknown> = { ...op };
      if (op.op === 'open' && op.flags !== undefined) o['flags'] = flagsToString(op.flags);
      if ('mode' in op && typeof op.mode === 'number') o['mode'] = `0${op.mode.toString(8)}`;
      for (const k of Object.keys(o)) if (o[k] === undefined) delete o[k];
      return `${JSON.stringify(o)}\n`;
    })
    .join('');
}
