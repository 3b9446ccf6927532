import type { TraceOp } from '../trace/schema.js';
import { O_APPEND, O_CREAT, O_DIRECTORY, O_EXCL, O_NOFOLLOW, O_RDONLY, O_RDWR, O_TRUNC, O_WRONLY } from '../vfs/syscalls.js';

/**
 * An importer of `strace -f -e trace=file,write,desc` logs (strace 5 and 6; with or without `-y`/`-yy` fd
 * annotations, `-s N`, `-t`/`-tt`/`-ttt`/`-r` timestamps, `-o FILE` pid prefixes or `[pid N]` ones) into trace ops.
 *
 * It follows each process as the kernel does: a file descriptor table per pid (inherited by a child from its
 * parent: from `clone`/`fork`/`vfork` lines when the log has them, else from the process that ran just before the
 * child's first line), open file descriptions shared by dup/dup2/dup3/F_DUPFD and by inheritance (a trace `close`
 * is emitted when the last descriptor goes), close-on-exec at `execve`, file positions (read, write, lseek), and the
 * current directory (chdir, fchdir). Relative paths resolve against the directory fd or the cwd; `/proc/self/fd/N`
 * against the descriptor. Writes become `write` ops at explicit offsets, with the `data` when strace printed the
 * whole string and it is printable UTF-8, else a `length`. A failed call (`= -1 ENOENT (...)`) becomes its op with
 * `"expect": "ENOENT"`.
 *
 * `pathMap` rewrites host paths into container paths (e.g. the directory the command ran in to `/work`); with
 * `keep: 'mapped'` the calls on other paths (the dynamic loader, locales, /etc/passwd...) are left out.
 */

export interface StraceImportOptions {
  /** The first process's working directory on the host (default `/`). */
  cwd?: string;
  /** Host path prefixes to container paths, longest first: `{ '/tmp/build': '/work' }`. */
  pathMap?: Readonly<Record<string, string>>;
  /** `all` keeps every path (identity where unmapped); `mapped` keeps calls on mapped paths only. Default: `mapped` with a pathMap, else `all`. */
  keep?: 'all' | 'mapped';
  /** Emit `read` ops for reads of files (default true). */
  reads?: boolean;
  /** Emit `stat`/`readlink` ops for stat, lstat, access, statx, readlink... (default true): they cost lookups. */
  lookups?: boolean;
  /** Put `"expect": "ok"` on calls that succeeded (default false: only failures carry an expectation). */
  expectSuccess?: boolean;
  /** Name of the log in warnings (default `strace`). */
  file?: string;
}

export interface StraceImport {
  ops: TraceOp[];
  warnings: string[];
  stats: { lines: number; syscalls: number; ops: number; leftOut: number; processes: number };
}

// ---------------------------------------------------------------------------------------------------------------
// lexing strace's output

/** One syscall line, unfinished/resumed halves joined. */
interface Call {
  line: number;
  pid: number;
  name: string;
  args: string[];
  /** The return value as printed (`3`, `-1`, `0x28800`, `?`), its -y annotation, and the errno name. */
  ret: string;
  retPath: string | undefined;
  errno: string | undefined;
}

/** Splits the text inside a call's parentheses into top-level arguments (strings, structs, arrays, comments aware). */
export function splitArgs(s: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let cur = '';
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (c === '"') {
      let j = i + 1;
      while (j < s.length && s[j] !== '"') j += s[j] === '\\' ? 2 : 1;
      cur += s.slice(i, j + 1);
      i = j;
      continue;
    }
    if (c === '/' && s[i + 1] === '*') {
      const j = s.indexOf('*/', i + 2);
      const end = j < 0 ? s.length : j + 2;
      cur += s.slice(i, end);
      i = end - 1;
      continue;
    }
    if (c === '<' && /[0-9]$/.test(cur)) {
      // a -y annotation: 3</path> or 3<TCP:[1.2.3.4:5->6.7.8.9:10]>; it ends at a '>' before , ) or the end
      let j = i + 1;
      while (j < s.length && !(s[j] === '>' && (j + 1 === s.length || /[,)\s\]}]/.test(s[j + 1]!)))) j++;
      cur += s.slice(i, j + 1);
      i = j;
      continue;
    }
    if (c === '(' || c === '[' || c === '{') depth++;
    else if (c === ')' || c === ']' || c === '}') depth--;
    if (c === ',' && depth === 0) {
      out.push(cur.trim());
      cur = '';
      continue;
    }
    cur += c;
  }
  if (cur.trim() !== '') out.push(cur.trim());
  return out;
}

/** Index of the ')' closing the call's '(' at `open`, or -1. */
function closingParen(s: string, open: number): number {
  let depth = 0;
  for (let i = open; i < s.length; i++) {
    const c = s[i]!;
    if (c === '"') {
      let j = i + 1;
      while (j < s.length && s[j] !== '"') j += s[j] === '\\' ? 2 : 1;
      i = j;
    } else if (c === '/' && s[i + 1] === '*') {
      const j = s.indexOf('*/', i + 2);
      i = j < 0 ? s.length : j + 1;
    } else if (c === '<' && /[0-9]/.test(s[i - 1] ?? '')) {
      let j = i + 1;
      while (j < s.length && !(s[j] === '>' && (j + 1 === s.length || /[,)\s\]}]/.test(s[j + 1]!)))) j++;
      i = j;
    } else if (c === '(' || c === '[' || c === '{') depth++;
    else if (c === ')' || c === ']' || c === '}') {
      depth--;
      if (depth === 0) return i;
    }
  }
  return -1;
}

/** A C string as strace prints it: its bytes, and whether it was cut by `-s` (a trailing `...`). */
export function decodeStraceString(arg: string): { bytes: Uint8Array; complete: boolean } | undefined {
  const m = /^"((?:[^"\\]|\\.)*)"(\.\.\.)?/s.exec(arg.trim());
  if (m === null) return undefined;
  const body = m[1]!;
  const bytes: number[] = [];
  for (let i = 0; i < body.length; i++) {
    const c = body[i]!;
    if (c !== '\\') {
      for (const b of Buffer.from(c, 'utf8')) bytes.push(b);
      continue;
    }
    const n = body[++i]!;
    const simple: Record<string, number> = { n: 10, t: 9, r: 13, v: 11, f: 12, a: 7, b: 8, e: 27, '"': 34, '\\': 92, "'": 39, '?': 63 };
    if (n === 'x') {
      const hex = /^[0-9a-fA-F]{1,2}/.exec(body.slice(i + 1))![0];
      bytes.push(parseInt(hex, 16));
      i += hex.length;
    } else if (/[0-7]/.test(n)) {
      const oct = /^[0-7]{1,3}/.exec(body.slice(i))![0];
      bytes.push(parseInt(oct, 8) & 0xff);
      i += oct.length - 1;
    } else {
      bytes.push(simple[n] ?? n.charCodeAt(0));
    }
  }
  return { bytes: Uint8Array.from(bytes), complete: m[2] === undefined };
}

function printableUtf8(bytes: Uint8Array): string | undefined {
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    return undefined;
  }
  return /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/.test(text) ? undefined : text;
}

/** The number in an argument (`3`, `3</path>`, `0x1f`, `0644`, `-1`), or undefined. */
function num(arg: string | undefined): number | undefined {
  if (arg === undefined) return undefined;
  const m = /^(-?)(0x[0-9a-f]+|0[0-7]*|[1-9][0-9]*)/i.exec(arg.trim());
  if (m === null) return undefined;
  const t = m[2]!;
  const v = t.toLowerCase().startsWith('0x') ? parseInt(t, 16) : t.length > 1 && t.startsWith('0') ? parseInt(t, 8) : Number(t);
  return m[1] === '-' ? -v : v;
}

/** The path of a -y annotation (`3</tmp/x>` gives /tmp/x), when it is one. */
function annotation(arg: string | undefined): string | undefined {
  const m = /^-?\d+<(.*)>$/s.exec(arg?.trim() ?? '');
  if (m === null) return undefined;
  const inner = m[1]!;
  // -yy devices print "/dev/null<char 1:3>"; sockets and pipes are not paths
  if (!inner.startsWith('/')) return undefined;
  return inner.replace(/<(char|block) \d+:\d+>$/, '');
}

/** Symbolic flags (`O_WRONLY|O_CREAT|O_TRUNC`, `AT_SYMLINK_NOFOLLOW`, `0`) as a set of names. */
function flagSet(arg: string | undefined): Set<string> {
  return new Set((arg ?? '').split('|').map(s => s.trim()).filter(s => s !== '' && s !== '0'));
}

// ---------------------------------------------------------------------------------------------------------------
// the process model

interface Desc {
  /** The trace fd name, when the open was emitted. */
  traceFd: string | undefined;
  /** The host path it was opened by (absolute, normalised). */
  path: string;
  pos: number | undefined;
  append: boolean;
  refs: number;
}

interface Proc {
  pid: number;
  cwd: string;
  fds: Map<number, { desc: Desc; cloexec: boolean }>;
}

const AT_FDCWD = 'AT_FDCWD';

/** Lexical normalisation of an absolute path; a trailing slash is kept, as it means something to the kernel. */
function normalize(path: string): string {
  const parts: string[] = [];
  for (const p of path.split('/')) {
    if (p === '' || p === '.') continue;
    if (p === '..') parts.pop();
    else parts.push(p);
  }
  const out = '/' + parts.join('/');
  return path.endsWith('/') && out !== '/' ? out + '/' : out;
}

const IGNORED = new Set([
  // no effect on the tree, or on descriptors this importer tracks
  'fstat', 'fstat64', 'fstatfs', 'fstatfs64', 'statfs', 'statfs64', 'getdents', 'getdents64', 'ioctl', 'flock', 'fadvise64',
  'fadvise64_64', 'readahead', 'mmap', 'mmap2', 'munmap', 'mprotect', 'poll', 'ppoll', 'select', 'pselect6', '_newselect',
  'epoll_create', 'epoll_create1', 'epoll_ctl', 'epoll_wait', 'epoll_pwait', 'epoll_pwait2', 'eventfd', 'eventfd2',
  'pipe', 'pipe2', 'socket', 'socketpair', 'bind', 'connect', 'listen', 'accept', 'accept4', 'getsockname',
  'getpeername', 'getsockopt', 'setsockopt', 'sendto', 'recvfrom', 'sendmsg', 'recvmsg', 'sendmmsg', 'recvmmsg',
  'shutdown', 'inotify_init', 'inotify_init1', 'inotify_add_watch', 'inotify_rm_watch', 'fanotify_init',
  'fanotify_mark', 'timerfd_create', 'timerfd_settime', 'timerfd_gettime', 'signalfd', 'signalfd4', 'memfd_create',
  'close_range', 'getxattr', 'lgetxattr', 'fgetxattr', 'listxattr', 'llistxattr', 'flistxattr', 'pidfd_open',
  'pidfd_getfd', 'userfaultfd', 'perf_event_open', 'bpf', 'name_to_handle_at', 'open_by_handle_at', 'syncfs',
  'getcwd', 'newfstat', 'fchdir', 'chdir', 'execve', 'execveat', 'clone', 'clone3', 'fork', 'vfork', 'wait4', 'waitid',
  'umask', 'fsopen', 'fsmount', 'fsconfig', 'fspick', 'open_tree', 'move_mount', 'statmount', 'listmount', 'quotactl',
  'quotactl_fd', 'acct', 'swapon', 'swapoff', 'uselib', 'kexec_file_load', 'finit_module', 'fanotify', 'copy_file_range',
  'sendfile', 'sendfile64', 'sync_file_range', 'fsync', 'fdatasync', 'lseek', '_llseek', 'dup', 'dup2', 'dup3', 'fcntl',
  'fcntl64', 'close', 'read', 'pread64', 'readv', 'preadv', 'preadv2', 'write', 'pwrite64', 'writev', 'pwritev',
  'pwritev2', 'io_uring_setup', 'io_uring_enter', 'io_uring_register', 'io_setup', 'io_submit', 'io_getevents', 'io_destroy',
  'process_madvise', 'landlock_create_ruleset', 'landlock_add_rule', 'cachestat', 'futimesat', 'mq_open', 'mq_unlink',
  'mq_timedsend', 'mq_timedreceive', 'mq_notify', 'mq_getsetattr', 'vmsplice', 'tee', 'pivot_root', 'mount', 'umount',
  'umount2', 'fspick', 'mount_setattr', 'getrandom', 'kill', 'tgkill',
]);

class Importer {
  readonly ops: TraceOp[] = [];
  readonly warnings: string[] = [];
  private readonly procs = new Map<number, Proc>();
  private readonly unsupported = new Map<string, { count: number; line: number; why: string }>();
  private readonly symlinks = new Set<string>();
  private lastPid: number | undefined;
  private fdCounter = 0;
  leftOut = 0;
  syscalls = 0;
  private readonly maps: [string, string][];
  private readonly keepMapped: boolean;

  constructor(readonly o: StraceImportOptions) {
    this.maps = Object.entries(o.pathMap ?? {})
      .map(([from, to]) => [normalize(from), to.replace(/\/+$/, '') || '/'] as [string, string])
      .sort((a, b) => b[0].length - a[0].length);
    this.keepMapped = (o.keep ?? (this.maps.length > 0 ? 'mapped' : 'all')) === 'mapped';
  }

  /** Processes seen in the log. */
  processes = 0;

  // --- processes and descriptors

  /** A line of `pid` was seen: a new pid inherits from the process that ran just before it. */
  seen(pid: number): void {
    this.proc(pid);
    this.lastPid = pid;
  }

  proc(pid: number): Proc {
    let p = this.procs.get(pid);
    if (p === undefined) {
      const parent = this.lastPid !== undefined ? this.procs.get(this.lastPid) : undefined;
      p = { pid, cwd: parent?.cwd ?? normalize(this.o.cwd ?? '/'), fds: new Map() };
      this.processes++;
      if (parent !== undefined) for (const [fd, e] of parent.fds) this.bind(p, fd, e.desc, e.cloexec);
      this.procs.set(pid, p);
    }
    return p;
  }

  forked(parent: Proc, childPid: number): void {
    if (this.procs.has(childPid)) return;
    const child: Proc = { pid: childPid, cwd: parent.cwd, fds: new Map() };
    this.processes++;
    for (const [fd, e] of parent.fds) this.bind(child, fd, e.desc, e.cloexec);
    this.procs.set(childPid, child);
  }

  bind(p: Proc, fd: number, desc: Desc, cloexec: boolean): void {
    this.release(p, fd);
    desc.refs++;
    p.fds.set(fd, { desc, cloexec });
  }

  release(p: Proc, fd: number): void {
    const e = p.fds.get(fd);
    if (e === undefined) return;
    p.fds.delete(fd);
    e.desc.refs--;
    if (e.desc.refs === 0 && e.desc.traceFd !== undefined) this.ops.push({ op: 'close', fd: e.desc.traceFd });
  }

  exit(p: Proc): void {
    for (const fd of [...p.fds.keys()]) this.release(p, fd);
    this.procs.delete(p.pid);
  }

  desc(p: Proc, arg: string | undefined): Desc | undefined {
    const fd = num(arg);
    return fd === undefined ? undefined : p.fds.get(fd)?.desc;
  }

  // --- paths

  /** The absolute host path of (dirfd, path), or undefined when the directory fd is unknown. */
  resolve(p: Proc, dirfdArg: string | undefined, pathArg: string | undefined): string | undefined {
    const s = pathArg === undefined ? undefined : decodeStraceString(pathArg);
    if (s === undefined) return undefined;
    const path = new TextDecoder().decode(s.bytes);
    const procFd = /^\/proc\/(?:self|\d+|thread-self)\/fd\/(\d+)(\/.*)?$/.exec(path);
    if (procFd !== null) {
      const d = p.fds.get(Number(procFd[1]))?.desc;
      return d === undefined ? undefined : normalize(d.path + (procFd[2] ?? ''));
    }
    if (path.startsWith('/')) return normalize(path);
    let base: string | undefined;
    if (dirfdArg === undefined || dirfdArg.startsWith(AT_FDCWD)) base = p.cwd;
    else base = this.desc(p, dirfdArg)?.path ?? annotation(dirfdArg);
    if (base === undefined) return undefined;
    return normalize(`${base}/${path}`);
  }

  /** The container path of a host path, or undefined when it is left out. */
  map(host: string): string | undefined {
    for (const [from, to] of this.maps) {
      if (host === from || host === `${from}/` || host.startsWith(`${from}/`)) {
        const rest = host.slice(from.length);
        return to === '/' ? rest || '/' : to + rest;
      }
    }
    return this.keepMapped ? undefined : host;
  }

  // --- emitting

  expectOf(c: Call, failureOnly?: readonly string[]): { expect?: string } {
    if (c.errno !== undefined) return failureOnly === undefined || failureOnly.includes(c.errno) ? { expect: c.errno } : {};
    return this.o.expectSuccess === true ? { expect: 'ok' } : {};
  }

  emit(op: TraceOp): void {
    this.ops.push(op);
  }

  note(c: Call, why: string): void {
    const key = `${c.name}: ${why}`;
    const u = this.unsupported.get(key);
    if (u === undefined) this.unsupported.set(key, { count: 1, line: c.line, why });
    else u.count++;
  }

  flushNotes(file: string): void {
    for (const [key, u] of this.unsupported) {
      this.warnings.push(`${file}:${u.line}: ${key} (${u.count} call${u.count === 1 ? '' : 's'}; first at this line)`);
    }
  }

  // --- the calls

  handle(c: Call): void {
    this.syscalls++;
    const p = this.proc(c.pid);
    this.lastPid = c.pid;
    const ok = c.errno === undefined && c.ret !== '?';
    const retN = num(c.ret);
    const a = c.args;
    switch (c.name) {
      case 'clone':
      case 'clone3':
      case 'fork':
      case 'vfork':
        if (ok && retN !== undefined && retN > 0) this.forked(p, retN);
        return;
      case 'execve':
      case 'execveat':
        if (ok) for (const [fd, e] of [...p.fds]) if (e.cloexec) this.release(p, fd);
        return;
      case 'chdir': {
        const path = this.resolve(p, undefined, a[0]);
        if (ok && path !== undefined) p.cwd = path.replace(/\/$/, '') || '/';
        return;
      }
      case 'fchdir': {
        const d = this.desc(p, a[0]);
        if (ok && d !== undefined) p.cwd = d.path;
        else if (ok) this.note(c, 'fchdir to an unknown descriptor: the working directory is lost');
        return;
      }
      case 'getcwd': {
        const s = a[0] === undefined ? undefined : decodeStraceString(a[0]);
        if (ok && s !== undefined) {
          const cwd = new TextDecoder().decode(s.bytes);
          if (cwd.startsWith('/') && normalize(cwd) !== p.cwd) {
            this.warnings.push(`${this.o.file ?? 'strace'}:${c.line}: getcwd says ${cwd}, the importer had ${p.cwd} (pass the cwd option); using ${cwd}`);
            p.cwd = normalize(cwd);
          }
        }
        return;
      }
      case 'open':
        return this.open(c, p, undefined, a[0], a[1], a[2]);
      case 'openat':
        return this.open(c, p, a[0], a[1], a[2], a[3]);
      case 'openat2': {
        const how = a[2] ?? '';
        const flags = /flags=([^,}]+)/.exec(how)?.[1];
        const mode = /mode=([^,}]+)/.exec(how)?.[1];
        return this.open(c, p, a[0], a[1], flags, mode);
      }
      case 'creat':
        return this.open(c, p, undefined, a[0], 'O_WRONLY|O_CREAT|O_TRUNC', a[1]);
      case 'close':
        if (num(a[0]) !== undefined) this.release(p, num(a[0])!);
        return;
      case 'dup':
        if (ok && retN !== undefined) this.dupTo(p, a[0], retN, false);
        return;
      case 'dup2':
      case 'dup3':
        if (ok && retN !== undefined) this.dupTo(p, a[0], retN, flagSet(a[2]).has('O_CLOEXEC'));
        return;
      case 'fcntl':
      case 'fcntl64': {
        const cmd = a[1] ?? '';
        if (ok && retN !== undefined && (cmd === 'F_DUPFD' || cmd === 'F_DUPFD_CLOEXEC')) this.dupTo(p, a[0], retN, cmd === 'F_DUPFD_CLOEXEC');
        if (ok && cmd === 'F_SETFD') {
          const e = p.fds.get(num(a[0]) ?? -1);
          if (e !== undefined) e.cloexec = (a[2] ?? '').includes('FD_CLOEXEC') || num(a[2]) === 1;
        }
        return;
      }
      case 'lseek':
      case '_llseek': {
        const d = this.desc(p, a[0]);
        if (d === undefined || !ok) return;
        if (c.name === 'lseek') d.pos = retN;
        else d.pos = num(/\[(\d+)\]/.exec(a[3] ?? '')?.[1]);
        return;
      }
      case 'read':
      case 'readv':
        return this.read(c, p, a[0], undefined);
      case 'pread64':
      case 'preadv':
      case 'preadv2':
        return this.read(c, p, a[0], num(a[3]));
      case 'write':
      case 'writev':
        // a failed writev has no byte count to replay (its third argument counts iovecs): write(2)'s does
        return this.write(c, p, a[0], undefined, c.name === 'write' ? a[1] : undefined, c.name === 'write' ? num(a[2]) : undefined);
      case 'pwrite64':
      case 'pwritev':
      case 'pwritev2':
        return this.write(c, p, a[0], num(a[3]), c.name === 'pwrite64' ? a[1] : undefined, c.name === 'pwrite64' ? num(a[2]) : undefined);
      case 'copy_file_range': {
        if (!ok || retN === undefined || retN === 0) return;
        const offIn = /^\[(\d+)/.exec(a[1] ?? '')?.[1];
        const offOut = /^\[(\d+)/.exec(a[3] ?? '')?.[1];
        this.transfer(c, p, a[0], offIn === undefined ? undefined : Number(offIn), a[2], offOut === undefined ? undefined : Number(offOut), retN);
        return;
      }
      case 'sendfile':
      case 'sendfile64': {
        if (!ok || retN === undefined || retN === 0) return;
        const off = /^\[(\d+)/.exec(a[2] ?? '')?.[1];
        this.transfer(c, p, a[1], off === undefined ? undefined : Number(off), a[0], undefined, retN);
        return;
      }
      case 'splice':
        if (this.desc(p, a[2]) !== undefined && ok) this.note(c, 'splice into a file is not imported (its bytes are missing)');
        return;
      case 'fsync':
      case 'fdatasync':
      case 'sync_file_range': {
        const d = this.desc(p, a[0]);
        if (d?.traceFd !== undefined && c.name !== 'sync_file_range') this.emit({ op: 'fsync', fd: d.traceFd, ...this.expectOf(c) });
        return;
      }
      case 'ftruncate':
      case 'ftruncate64': {
        const d = this.desc(p, a[0]);
        const m = d === undefined ? undefined : this.map(d.path);
        if (m !== undefined && num(a[1]) !== undefined) this.emit({ op: 'truncate', path: m, size: num(a[1])!, ...this.expectOf(c) });
        else if (d === undefined && ok) this.note(c, 'on an unknown descriptor');
        return;
      }
      case 'truncate':
      case 'truncate64':
        return this.pathOp(c, p, undefined, a[0], path => ({ op: 'truncate', path, size: num(a[1]) ?? 0 }));
      case 'fallocate': {
        const d = this.desc(p, a[0]);
        if (d !== undefined && this.map(d.path) !== undefined) this.note(c, 'fallocate is not a trace op; left out');
        return;
      }
      case 'mkdir':
        return this.pathOp(c, p, undefined, a[0], path => ({ op: 'mkdir', path, mode: (num(a[1]) ?? 0o777) & 0o7777 }));
      case 'mkdirat':
        return this.pathOp(c, p, a[0], a[1], path => ({ op: 'mkdir', path, mode: (num(a[2]) ?? 0o777) & 0o7777 }));
      case 'rmdir':
        return this.pathOp(c, p, undefined, a[0], path => ({ op: 'rmdir', path }));
      case 'unlink':
        return this.pathOp(c, p, undefined, a[0], path => ({ op: 'unlink', path }), path => this.symlinks.delete(path));
      case 'unlinkat':
        return this.pathOp(c, p, a[0], a[1], path => (flagSet(a[2]).has('AT_REMOVEDIR') ? { op: 'rmdir', path } : { op: 'unlink', path }), path => this.symlinks.delete(path));
      case 'rename':
        return this.twoPaths(c, p, undefined, a[0], undefined, a[1], (from, to) => ({ op: 'rename', from, to }));
      case 'renameat':
      case 'renameat2': {
        const flags = flagSet(a[4]);
        if (flags.has('RENAME_EXCHANGE') || flags.has('RENAME_WHITEOUT')) {
          this.note(c, `${[...flags].join('|')} has no trace op; left out (the tree may differ from here on)`);
          return;
        }
        if (flags.has('RENAME_NOREPLACE') && c.errno === 'EEXIST') {
          // a plain rename would replace the target: record the lookup that failed it instead
          const to = this.resolve(p, a[2], a[3]);
          const m = to === undefined ? undefined : this.map(to);
          if (m !== undefined && this.o.lookups !== false) this.emit({ op: 'stat', path: m, follow: false, ...(this.o.expectSuccess === true ? { expect: 'ok' } : {}) });
          return;
        }
        return this.twoPaths(c, p, a[0], a[1], a[2], a[3], (from, to) => ({ op: 'rename', from, to }));
      }
      case 'link':
        return this.twoPaths(c, p, undefined, a[0], undefined, a[1], (from, to) => ({ op: 'link', from, to }));
      case 'linkat': {
        const flags = flagSet(a[4]);
        if (flags.has('AT_SYMLINK_FOLLOW')) this.note(c, 'AT_SYMLINK_FOLLOW: imported as link(2), which does not follow');
        if (flags.has('AT_EMPTY_PATH')) {
          const d = this.desc(p, a[0]);
          const to = this.resolve(p, a[2], a[3]);
          const mf = d === undefined ? undefined : this.map(d.path);
          const mt = to === undefined ? undefined : this.map(to);
          if (mf !== undefined && mt !== undefined) this.emit({ op: 'link', from: mf, to: mt, ...this.expectOf(c) });
          else this.leftOut++;
          return;
        }
        return this.twoPaths(c, p, a[0], a[1], a[2], a[3], (from, to) => ({ op: 'link', from, to }));
      }
      case 'symlink':
        return this.symlink(c, p, a[0], undefined, a[1]);
      case 'symlinkat':
        return this.symlink(c, p, a[0], a[1], a[2]);
      case 'chmod':
        return this.pathOp(c, p, undefined, a[0], path => ({ op: 'chmod', path, mode: (num(a[1]) ?? 0) & 0o7777 }));
      case 'fchmod':
        return this.fdOp(c, p, a[0], path => ({ op: 'chmod', path, mode: (num(a[1]) ?? 0) & 0o7777 }));
      case 'fchmodat':
      case 'fchmodat2':
        if (flagSet(a[3]).has('AT_SYMLINK_NOFOLLOW')) this.note(c, 'AT_SYMLINK_NOFOLLOW: imported as chmod(2), which follows');
        return this.pathOp(c, p, a[0], a[1], path => ({ op: 'chmod', path, mode: (num(a[2]) ?? 0) & 0o7777 }));
      case 'chown':
      case 'chown32':
        return this.pathOp(c, p, undefined, a[0], path => ({ op: 'chown', path, uid: num(a[1]) ?? -1, gid: num(a[2]) ?? -1 }));
      case 'lchown':
      case 'lchown32':
        return this.nofollowOwner(c, p, undefined, a[0], a[1], a[2]);
      case 'fchown':
      case 'fchown32':
        return this.fdOp(c, p, a[0], path => ({ op: 'chown', path, uid: num(a[1]) ?? -1, gid: num(a[2]) ?? -1 }));
      case 'fchownat': {
        const flags = flagSet(a[4]);
        if (flags.has('AT_EMPTY_PATH') && decodeStraceString(a[1] ?? '')?.bytes.length === 0) {
          return this.fdOp(c, p, a[0], path => ({ op: 'chown', path, uid: num(a[2]) ?? -1, gid: num(a[3]) ?? -1 }));
        }
        if (flags.has('AT_SYMLINK_NOFOLLOW')) return this.nofollowOwner(c, p, a[0], a[1], a[2], a[3]);
        return this.pathOp(c, p, a[0], a[1], path => ({ op: 'chown', path, uid: num(a[2]) ?? -1, gid: num(a[3]) ?? -1 }));
      }
      case 'utimensat':
        return this.utimens(c, p, a[0], a[1], a[2], flagSet(a[3]));
      case 'utimes':
      case 'futimesat': {
        const [dirfd, path, times] = c.name === 'utimes' ? [undefined, a[0], a[1]] : [a[0], a[1], a[2]];
        const secs = [...(times ?? '').matchAll(/tv_sec=(\d+)/g)].map(m => Number(m[1]));
        return this.pathOp(c, p, dirfd, path, pth => (secs.length === 2 ? { op: 'utimes', path: pth, atime: secs[0]!, mtime: secs[1]! } : { op: 'utimes', path: pth }));
      }
      case 'utime': {
        const at = num(/actime=(\d+)/.exec(a[1] ?? '')?.[1]);
        const mt = num(/modtime=(\d+)/.exec(a[1] ?? '')?.[1]);
        return this.pathOp(c, p, undefined, a[0], path => (at !== undefined && mt !== undefined ? { op: 'utimes', path, atime: at, mtime: mt } : { op: 'utimes', path }));
      }
      case 'setxattr':
      case 'lsetxattr':
      case 'fsetxattr': {
        const name = decodeStraceString(a[1] ?? '');
        const value = decodeStraceString(a[2] ?? '');
        const text = value === undefined || !value.complete ? undefined : printableUtf8(value.bytes);
        if (c.name === 'lsetxattr') this.note(c, 'imported as setxattr(2), which follows symlinks');
        if (name === undefined) return;
        const mk = (path: string): TraceOp => ({ op: 'setxattr', path, name: new TextDecoder().decode(name.bytes), ...(text !== undefined ? { value: text } : {}) });
        if (value !== undefined && text === undefined) this.note(c, 'a binary or cut value is imported as an empty one');
        return c.name === 'fsetxattr' ? this.fdOp(c, p, a[0], mk) : this.pathOp(c, p, undefined, a[0], mk);
      }
      case 'removexattr':
      case 'lremovexattr':
      case 'fremovexattr': {
        const name = decodeStraceString(a[1] ?? '');
        if (name === undefined) return;
        const mk = (path: string): TraceOp => ({ op: 'removexattr', path, name: new TextDecoder().decode(name.bytes) });
        return c.name === 'fremovexattr' ? this.fdOp(c, p, a[0], mk) : this.pathOp(c, p, undefined, a[0], mk);
      }
      case 'stat':
      case 'stat64':
      case 'lstat':
      case 'lstat64':
        return this.lookup(c, p, undefined, a[0], c.name.startsWith('l'), a[1]);
      case 'newfstatat':
      case 'fstatat64':
        if (flagSet(a[3]).has('AT_EMPTY_PATH') && decodeStraceString(a[1] ?? '')?.bytes.length === 0) return;
        return this.lookup(c, p, a[0], a[1], flagSet(a[3]).has('AT_SYMLINK_NOFOLLOW'), a[2]);
      case 'statx':
        if (flagSet(a[2]).has('AT_EMPTY_PATH') && decodeStraceString(a[1] ?? '')?.bytes.length === 0) return;
        return this.lookup(c, p, a[0], a[1], flagSet(a[2]).has('AT_SYMLINK_NOFOLLOW'), a[4]);
      case 'access':
        return this.lookup(c, p, undefined, a[0], false, undefined);
      case 'faccessat':
      case 'faccessat2':
        return this.lookup(c, p, a[0], a[1], flagSet(a[3]).has('AT_SYMLINK_NOFOLLOW'), undefined);
      case 'readlink':
      case 'readlinkat': {
        if (this.o.lookups === false) return;
        const [dirfd, path] = c.name === 'readlink' ? [undefined, a[0]] : [a[0], a[1]];
        return this.pathOp(c, p, dirfd, path, pth => ({ op: 'readlink', path: pth }), undefined, ['ENOENT', 'ENOTDIR', 'EINVAL', 'ELOOP']);
      }
      case 'mknod':
      case 'mknodat':
        if (ok) this.note(c, 'device, FIFO and socket nodes have no trace op; left out');
        return;
      case 'chroot':
        if (ok) this.note(c, 'chroot is not followed: later absolute paths are taken as they are');
        return;
      case 'mmap':
        return;
      default:
        if (!IGNORED.has(c.name)) this.note(c, 'not imported');
    }
  }

  dupTo(p: Proc, oldArg: string | undefined, newFd: number, cloexec: boolean): void {
    const d = this.desc(p, oldArg);
    if (d === undefined) this.release(p, newFd);
    else if (p.fds.get(newFd)?.desc !== d) this.bind(p, newFd, d, cloexec);
  }

  open(c: Call, p: Proc, dirfd: string | undefined, pathArg: string | undefined, flagsArg: string | undefined, modeArg: string | undefined): void {
    const host = this.resolve(p, dirfd, pathArg);
    const flags = flagSet(flagsArg);
    const fd = num(c.ret);
    const bindDesc = (traceFd: string | undefined) => {
      if (c.errno !== undefined || fd === undefined || fd < 0) return;
      const desc: Desc = { traceFd, path: host ?? c.retPath ?? '/', pos: 0, append: flags.has('O_APPEND'), refs: 0 };
      this.bind(p, fd, desc, flags.has('O_CLOEXEC'));
    };
    if (host === undefined) {
      this.note(c, 'relative to an unknown directory descriptor; left out');
      bindDesc(undefined);
      return;
    }
    const path = this.map(host);
    if (path === undefined) {
      this.leftOut++;
      bindDesc(undefined);
      return;
    }
    if (flags.has('O_PATH')) {
      // a path-only descriptor: a lookup, no open file
      // O_DIRECTORY asks for a directory: a trailing slash makes stat(2) ask the same (ENOTDIR)
      const dirPath = flags.has('O_DIRECTORY') && !path.endsWith('/') ? `${path}/` : path;
      if (this.o.lookups !== false) this.emit({ op: 'stat', path: dirPath, follow: !flags.has('O_NOFOLLOW'), ...this.expectOf(c) });
      bindDesc(undefined);
      return;
    }
    if (flags.has('O_TMPFILE')) {
      this.note(c, 'O_TMPFILE has no trace op; left out');
      bindDesc(undefined);
      return;
    }
    let bits = flags.has('O_RDWR') ? O_RDWR : flags.has('O_WRONLY') ? O_WRONLY : O_RDONLY;
    const extra: [string, number][] = [['O_CREAT', O_CREAT], ['O_EXCL', O_EXCL], ['O_TRUNC', O_TRUNC], ['O_APPEND', O_APPEND], ['O_DIRECTORY', O_DIRECTORY], ['O_NOFOLLOW', O_NOFOLLOW]];
    for (const [name, bit] of extra) if (flags.has(name)) bits |= bit;
    const traceFd = `p${c.pid}.fd${fd !== undefined && fd >= 0 ? fd : 'x'}.${++this.fdCounter}`;
    const op: TraceOp = { op: 'open', path, flags: bits, fd: traceFd, ...this.expectOf(c) };
    if (flags.has('O_CREAT') && num(modeArg) !== undefined) op.mode = num(modeArg)! & 0o7777;
    this.emit(op);
    bindDesc(traceFd);
  }

  read(c: Call, p: Proc, fdArg: string | undefined, offset: number | undefined): void {
    const d = this.desc(p, fdArg);
    const n = num(c.ret);
    if (d === undefined || c.errno !== undefined || n === undefined) return;
    const at = offset ?? d.pos;
    if (offset === undefined && d.pos !== undefined) d.pos += n;
    if (d.traceFd === undefined || this.o.reads === false || n === 0) return;
    this.emit(at === undefined ? { op: 'read', fd: d.traceFd, length: n } : { op: 'read', fd: d.traceFd, offset: at, length: n });
  }

  write(c: Call, p: Proc, fdArg: string | undefined, offset: number | undefined, dataArg: string | undefined, count: number | undefined): void {
    const d = this.desc(p, fdArg);
    if (d === undefined) {
      const ann = annotation(fdArg);
      if (ann !== undefined && this.map(ann) !== undefined && c.errno === undefined) this.note(c, `to a descriptor opened before the trace began (${ann}); left out`);
      return;
    }
    const n = c.errno === undefined ? num(c.ret) : count;
    if (n === undefined) return;
    const at = offset ?? (d.append ? undefined : d.pos);
    if (offset === undefined) d.pos = d.append ? undefined : d.pos === undefined ? undefined : d.pos + (c.errno === undefined ? n : 0);
    if (d.traceFd === undefined) return;
    const s = dataArg === undefined ? undefined : decodeStraceString(dataArg);
    const text = s !== undefined && s.complete ? printableUtf8(s.bytes) : undefined;
    const payload = text !== undefined && Buffer.byteLength(text) === n ? { data: text } : { length: n, fill: 'pattern' as const };
    if (n === 0 && c.errno === undefined) return;
    this.emit({ op: 'write', fd: d.traceFd, ...(at !== undefined ? { offset: at } : {}), ...payload, ...this.expectOf(c) });
  }

  transfer(c: Call, p: Proc, inArg: string | undefined, inOff: number | undefined, outArg: string | undefined, outOff: number | undefined, n: number): void {
    const din = this.desc(p, inArg);
    const dout = this.desc(p, outArg);
    if (din !== undefined) {
      const at = inOff ?? din.pos;
      if (inOff === undefined && din.pos !== undefined) din.pos += n;
      if (din.traceFd !== undefined && this.o.reads !== false) this.emit(at === undefined ? { op: 'read', fd: din.traceFd, length: n } : { op: 'read', fd: din.traceFd, offset: at, length: n });
    }
    if (dout !== undefined) {
      const at = outOff ?? (dout.append ? undefined : dout.pos);
      if (outOff === undefined) dout.pos = dout.append || dout.pos === undefined ? undefined : dout.pos + n;
      if (dout.traceFd !== undefined) this.emit({ op: 'write', fd: dout.traceFd, ...(at !== undefined ? { offset: at } : {}), length: n, fill: 'pattern', ...this.expectOf(c) });
    }
  }

  pathOp(c: Call, p: Proc, dirfd: string | undefined, pathArg: string | undefined, make: (path: string) => TraceOp, after?: (host: string) => void, expectOnly?: readonly string[]): void {
    const host = this.resolve(p, dirfd, pathArg);
    if (host === undefined) {
      if (pathArg !== undefined && decodeStraceString(pathArg) !== undefined) this.note(c, 'relative to an unknown directory descriptor; left out');
      return;
    }
    const path = this.map(host);
    if (path === undefined) {
      this.leftOut++;
      return;
    }
    this.emit({ ...make(path), ...this.expectOf(c, expectOnly) } as TraceOp);
    if (c.errno === undefined) after?.(host);
  }

  fdOp(c: Call, p: Proc, fdArg: string | undefined, make: (path: string) => TraceOp): void {
    const d = this.desc(p, fdArg);
    if (d === undefined) {
      if (c.errno === undefined) this.note(c, 'on a descriptor opened before the trace began; left out');
      return;
    }
    const path = this.map(d.path);
    if (path === undefined) {
      this.leftOut++;
      return;
    }
    this.emit({ ...make(path), ...this.expectOf(c) } as TraceOp);
  }

  twoPaths(c: Call, p: Proc, d1: string | undefined, a1: string | undefined, d2: string | undefined, a2: string | undefined, make: (from: string, to: string) => TraceOp): void {
    const h1 = this.resolve(p, d1, a1);
    const h2 = this.resolve(p, d2, a2);
    if (h1 === undefined || h2 === undefined) {
      this.note(c, 'relative to an unknown directory descriptor; left out');
      return;
    }
    const m1 = this.map(h1);
    const m2 = this.map(h2);
    if (m1 === undefined && m2 === undefined) {
      this.leftOut++;
      return;
    }
    if (m1 === undefined || m2 === undefined) {
      this.note(c, 'between a kept and a left-out path; left out (the tree may differ from here on)');
      return;
    }
    this.emit({ ...make(m1, m2), ...this.expectOf(c) } as TraceOp);
    if (c.errno === undefined && c.name.startsWith('rename') && this.symlinks.delete(h1)) this.symlinks.add(h2);
  }

  symlink(c: Call, p: Proc, targetArg: string | undefined, dirfd: string | undefined, pathArg: string | undefined): void {
    const t = targetArg === undefined ? undefined : decodeStraceString(targetArg);
    if (t === undefined) return;
    let target = new TextDecoder().decode(t.bytes);
    // an absolute target into a mapped directory points at the same place in the container
    if (target.startsWith('/')) target = this.mapTarget(target);
    this.pathOp(c, p, dirfd, pathArg, path => ({ op: 'symlink', target, path }), host => this.symlinks.add(host));
  }

  mapTarget(target: string): string {
    for (const [from, to] of this.maps) {
      const n = normalize(target);
      if (n === from || n.startsWith(`${from}/`)) return (to === '/' ? '' : to) + n.slice(from.length) || '/';
    }
    return target;
  }

  /** lchown / fchownat(AT_SYMLINK_NOFOLLOW): chown(2) when the path is not a known symlink. */
  nofollowOwner(c: Call, p: Proc, dirfd: string | undefined, pathArg: string | undefined, uidArg: string | undefined, gidArg: string | undefined): void {
    const host = this.resolve(p, dirfd, pathArg);
    if (host !== undefined && this.symlinks.has(host)) {
      if (this.map(host) !== undefined) this.note(c, 'changing the owner of a symlink itself has no trace op; left out');
      return;
    }
    this.pathOp(c, p, dirfd, pathArg, path => ({ op: 'chown', path, uid: num(uidArg) ?? -1, gid: num(gidArg) ?? -1 }));
  }

  utimens(c: Call, p: Proc, dirfd: string | undefined, pathArg: string | undefined, timesArg: string | undefined, flags: Set<string>): void {
    const times: (number | 'now' | 'omit')[] = [];
    if (timesArg !== undefined && timesArg !== 'NULL') {
      const inner = timesArg.replace(/\/\*.*?\*\//gs, '').replace(/^\[|\]$/g, '');
      for (const part of splitArgs(inner)) {
        if (part.includes('UTIME_OMIT')) times.push('omit');
        else if (part.includes('UTIME_NOW')) times.push('now');
        else {
          const sec = Number(/tv_sec=(-?\d+)/.exec(part)?.[1] ?? 0);
          const nsec = Number(/tv_nsec=(\d+)/.exec(part)?.[1] ?? 0);
          times.push(sec + nsec / 1e9);
        }
      }
    }
    const make = (path: string): TraceOp => {
      const [at, mt] = times;
      if (times.length < 2 || at === 'now' || mt === 'now') return { op: 'utimes', path };
      const op: TraceOp = { op: 'utimes', path };
      if (at !== 'omit') op.atime = at!;
      if (mt !== 'omit') op.mtime = mt!;
      if (at === 'omit' && mt === 'omit') return { op: 'stat', path };
      return op;
    };
    const pathText = pathArg === undefined || pathArg === 'NULL' ? undefined : decodeStraceString(pathArg);
    if (pathText === undefined || (pathText.bytes.length === 0 && flags.has('AT_EMPTY_PATH'))) return this.fdOp(c, p, dirfd, make);
    const host = this.resolve(p, dirfd, pathArg);
    if (host !== undefined && flags.has('AT_SYMLINK_NOFOLLOW') && this.symlinks.has(host)) {
      if (this.map(host) !== undefined) this.note(c, 'times of a symlink itself have no trace op; left out');
      return;
    }
    this.pathOp(c, p, dirfd, pathArg, make);
  }

  lookup(c: Call, p: Proc, dirfd: string | undefined, pathArg: string | undefined, nofollow: boolean, statArg: string | undefined): void {
    const host = this.resolve(p, dirfd, pathArg);
    if (host !== undefined && c.errno === undefined && nofollow && statArg !== undefined) {
      if (/S_IFLNK/.test(statArg)) this.symlinks.add(host);
      else if (/S_IF[A-Z]+/.test(statArg)) this.symlinks.delete(host);
    }
    if (this.o.lookups === false) return;
    // access(2) may fail (EACCES, EROFS) where stat(2) succeeds: only path-walk errors become expectations
    this.pathOp(c, p, dirfd, pathArg, path => ({ op: 'stat', path, follow: !nofollow }), undefined, ['ENOENT', 'ENOTDIR', 'ELOOP', 'ENAMETOOLONG']);
  }
}

// ---------------------------------------------------------------------------------------------------------------

const LINE = /^(?:\[pid\s+(\d+)\]\s+|(\d+)\s+)?(?:(?:\d{2}:\d{2}:\d{2}(?:\.\d+)?|\d+\.\d+)\s+)?(.*)$/;

/** Imports an strace log (see the module comment) into trace ops. */
export function importStrace(text: string, opts: StraceImportOptions = {}): StraceImport {
  const file = opts.file ?? 'strace';
  const im = new Importer(opts);
  const pending = new Map<number, { text: string; line: number }>();
  const lines = text.split(/\r?\n/);
  let unparsed = 0;
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i]!;
    if (raw.trim() === '') continue;
    const m = LINE.exec(raw);
    if (m === null) continue;
    const pid = Number(m[1] ?? m[2] ?? 0);
    let body = m[3]!;
    if (body.startsWith('+++ ')) {
      if (/^\+\+\+ (exited|killed)/.test(body)) im.exit(im.proc(pid));
      continue;
    }
    if (body.startsWith('--- ') || body.startsWith('strace: ') || body.startsWith('????')) continue;
    const resumed = /^<\.\.\. ([a-z0-9_]+) resumed>\s?(.*)$/.exec(body);
    if (resumed !== null) {
      const start = pending.get(pid);
      pending.delete(pid);
      if (start === undefined) {
        unparsed++;
        continue;
      }
      // "openat(AT_FDCWD, "x", O_RDONLY" + ") = 3"; strace 4 wrote "<... openat resumed> ) = 3"
      const rest = resumed[2]!;
      const needsComma = !start.text.endsWith('(') && !start.text.endsWith(', ') && !/^\s*\)/.test(rest) && !rest.startsWith(',');
      body = start.text.replace(/\s+$/, '') + (needsComma ? ', ' : '') + rest.replace(/^\s+(?=\))/, '');
    }
    const unfinished = / <unfinished \.\.\.>$/.exec(body);
    if (unfinished !== null) {
      im.seen(pid);
      pending.set(pid, { text: body.slice(0, unfinished.index), line: i + 1 });
      continue;
    }
    const call = parseCall(body, pid, i + 1);
    if (call === undefined) {
      unparsed++;
      continue;
    }
    im.handle(call);
  }
  for (const [pid, p] of pending) im.warnings.push(`${file}:${p.line}: pid ${pid}: a call never resumed (the log ends inside it); left out`);
  if (unparsed > 0) im.warnings.push(`${file}: ${unparsed} line(s) not understood as syscalls; left out`);
  im.flushNotes(file);
  return {
    ops: im.ops,
    warnings: im.warnings,
    stats: { lines: lines.length, syscalls: im.syscalls, ops: im.ops.length, leftOut: im.leftOut, processes: im.processes },
  };
}

function parseCall(body: string, pid: number, line: number): Call | undefined {
  const m = /^([a-z_][a-z0-9_]*)\(/.exec(body);
  if (m === null) return undefined;
  const open = m[1]!.length;
  const close = closingParen(body, open);
  if (close < 0) return undefined;
  const after = body.slice(close + 1);
  const r = /^\s*=\s*(\?|-?(?:0x[0-9a-f]+|\d+))(<(?:[^>]|>(?!\s|$))*>)?(?:\s+([A-Z][A-Z0-9_]+))?/i.exec(after);
  if (r === null) return undefined;
  const ret = r[1]!;
  const errno = ret.startsWith('-') && r[3] !== undefined && /^E[A-Z0-9]+$/.test(r[3]) ? r[3] : undefined;
  const retAnn = r[2] === undefined ? undefined : annotation(`${ret}${r[2]}`);
  return { line, pid, name: m[1]!, args: splitArgs(body.slice(open + 1, close)), ret, retPath: retAnn, errno };
}
