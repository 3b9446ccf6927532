import { bytesSource, PATTERN_SOURCE, randomSource, ZERO_SOURCE, type DataSlice } from '../fs/content.js';
import { FsError, type Errno } from '../fs/errno.js';
import type { StorageUsage } from '../engine/driver.js';
import type { Volume } from '../fs/volume.js';
import { exportTree } from '../image/export.js';
import { saveImage } from '../image/save.js';
import type { ContainerRecord, Host } from '../engine/host.js';
import { O_CREAT, O_RDONLY, O_TRUNC, O_WRONLY, type OpenFile, type Syscalls } from '../vfs/syscalls.js';
import { TraceError, type TraceLine } from './parse.js';
import type { OpOf, TraceOp } from './schema.js';

export interface OpCost {
  dataBytes: number;
  metadataBytes: number;
  copyUpBytes: number;
  allocatedBytes: number;
  lookups: number;
}

/** One line's result, as `--json` prints it. */
export interface LineResult {
  line: number;
  op: string;
  outcome: 'ok' | Errno;
  expected: string | null;
  held: boolean | null;
  cost: OpCost;
}

export interface MarkRecord {
  label: string;
  line: number;
  usage: StorageUsage;
}

/** Defaults where the spec leaves a field optional (the same as shared/tools/kernel-replay.py). */
const DEFAULT_OPEN_MODE = 0o666;
const DEFAULT_MKDIR_MODE = 0o777;
const DEFAULT_WRITEFILE_MODE = 0o666;
const UTF8 = new TextEncoder();

type Sys = Syscalls<object>;

/** An assertion that did not hold (the op itself succeeded). */
const NOT_HELD = false;

/**
 * Replays trace lines on a host, one container op at a time: each line's outcome (ok or errno), whether its
 * expectation or assertion held, and what it cost the storage.
 */
export class TraceRunner {
  private current: ContainerRecord | undefined;
  private readonly fds = new Map<string, OpenFile<object>>();
  private creds = { uid: 0, gid: 0, groups: [0] as readonly number[] };
  readonly results: LineResult[] = [];
  /** Whether each line's result is kept in `results` (a sweep that only sums the costs turns it off). */
  retainResults = true;
  readonly marks: MarkRecord[] = [];

  constructor(
    readonly host: Host,
    readonly file: string,
    /** Loads an image source (`from`) into layer trees; errors are unusable input. */
    readonly loadImage: (from: string) => Volume[],
    /** Writes an archive an `export` or `save` line produces (the CLI writes next to the trace). */
    readonly writeArchive: (to: string, bytes: Uint8Array) => void = () => {},
    /**
     * Let the store settle after each line, as `sync` would (writeback, journal and transaction commits), so that each
     * line's cost includes what reaches the disk for it (explain); off, a line costs what it does by itself.
     */
    readonly settleEachLine = false,
  ) {}

  runAll(lines: readonly TraceLine[]): void {
    for (const l of lines) this.runLine(l);
  }

  runLine({ line, op }: TraceLine): LineResult {
    // per-op accounting must not itself sync the store (a journal or txg commit per op would be a different workload)
    const before = this.host.allocatedBytes();
    this.host.meter.reset();
    let outcome: 'ok' | Errno = 'ok';
    let assertion: boolean | undefined;
    try {
      assertion = this.apply(op, line);
    } catch (e) {
      if (e instanceof FsError) outcome = e.code;
      else if (e instanceof TraceError) throw e;
      else if (e instanceof Error && e.message.startsWith('image: ')) throw new TraceError(this.file, line, e.message);
      else throw e;
      if (hasAssertion(op)) assertion = false;
    }
    if (this.settleEachLine) this.host.usage(true);
    const expected = op.expect ?? null;
    let held: boolean | null = expected === null ? null : outcome === expected;
    if (assertion !== undefined) held = held === null ? assertion : held && assertion;
    const m = this.host.meter;
    const result: LineResult = {
      line,
      op: op.op,
      outcome,
      expected,
      held,
      cost: {
        dataBytes: m.dataBytes,
        metadataBytes: m.metadataBytes,
        copyUpBytes: m.copyUpBytes,
        allocatedBytes: this.host.allocatedBytes() - before,
        lookups: m.lookups,
      },
    };
    if (this.retainResults) this.results.push(result);
    return result;
  }

  private sys(op: { in?: string | undefined }, line: number): Sys {
    const c = op.in !== undefined ? this.host.containers.get(op.in) : this.current;
    if (c === undefined) {
      throw new TraceError(
        this.file,
        line,
        op.in !== undefined ? `no container '${op.in}'` : 'no container yet: add `image` and `run` lines, or pass --image',
      );
    }
    c.sys.creds = this.creds;
    return c.sys;
  }

  private slice(op: { data?: string | undefined; length?: number | undefined; fill?: string | undefined }): DataSlice {
    if (op.data !== undefined) {
      const bytes = UTF8.encode(op.data);
      return { source: bytesSource(bytes), at: 0, length: bytes.length };
    }
    const length = op.length ?? 0;
    switch (op.fill ?? 'zero') {
      case 'pattern':
        return { source: PATTERN_SOURCE, at: 0, length };
      case 'random':
        return { source: randomSource(Math.floor(this.host.random() * 2 ** 32)), at: 0, length };
      default:
        return { source: ZERO_SOURCE, at: 0, length };
    }
  }

  private fd(name: string): OpenFile<object> {
    const f = this.fds.get(name);
    if (f === undefined) throw new FsError('EBADF');
    return f;
  }

  /** Runs one op; returns whether its assertion held (undefined when it carries none). */
  private apply(op: TraceOp, line: number): boolean | undefined {
    switch (op.op) {
      case 'driver':
        return undefined;
      case 'image':
        this.host.loadImage(op.name, this.loadImage(op.from));
        return undefined;
      case 'run':
        this.current = this.host.run(op.container, op.image, op.init ?? true);
        return undefined;
      case 'use':
        this.current = this.host.container(op.container);
        return undefined;
      case 'stop':
        this.host.stop(op.container);
        return undefined;
      case 'commit':
        this.host.commit(op.container, op.image);
        return undefined;
      case 'rm':
        this.host.rm(op.container);
        if (this.current?.name === op.container) this.current = undefined;
        return undefined;
      case 'rmi':
        this.host.rmi(op.image);
        return undefined;
      case 'mark':
        this.marks.push({ label: op.label, line, usage: this.host.usage() });
        return undefined;
      case 'export':
        this.writeArchive(op.to, exportTree(this.host.container(op.container).sys.mount, { mtime: 'seconds' }));
        return undefined;
      case 'save': {
        const image = this.host.image(op.image);
        this.writeArchive(op.to, saveImage({ name: op.image, layers: image.trees }));
        return undefined;
      }
      case 'as':
        this.creds = { uid: op.uid, gid: op.gid, groups: [op.gid] };
        return undefined;
      default:
        return this.fileOp(op, this.sys(op, line));
    }
  }

  private fileOp(op: Exclude<TraceOp, { op: 'driver' | 'image' | 'run' | 'use' | 'stop' | 'commit' | 'rm' | 'rmi' | 'mark' | 'as' | 'export' | 'save' }>, sys: Sys): boolean | undefined {
    switch (op.op) {
      case 'open': {
        if (op.fd !== undefined) this.fds.delete(op.fd);
        const file = sys.open(op.path, op.flags ?? O_RDONLY, op.mode ?? DEFAULT_OPEN_MODE);
        if (op.fd !== undefined) this.fds.set(op.fd, file);
        else sys.close(file);
        return undefined;
      }
      case 'close': {
        const file = this.fd(op.fd);
        this.fds.delete(op.fd);
        sys.close(file);
        return undefined;
      }
      case 'write': {
        const slice = this.slice(op);
        if (op.fd !== undefined) {
          sys.write(this.fd(op.fd), slice, op.offset);
        } else {
          const file = sys.open(op.path!, O_WRONLY);
          try {
            sys.write(file, slice, op.offset ?? 0);
          } finally {
            sys.close(file);
          }
        }
        return undefined;
      }
      case 'read': {
        let data: Uint8Array;
        if (op.fd !== undefined) {
          data = sys.read(this.fd(op.fd), op.length, op.offset);
        } else {
          const file = sys.open(op.path!, O_RDONLY);
          try {
            data = sys.read(file, op.length, op.offset ?? 0);
          } finally {
            sys.close(file);
          }
        }
        return op.content === undefined ? undefined : bytesEqual(data, UTF8.encode(op.content));
      }
      case 'fsync': {
        if (op.fd !== undefined) sys.fsync(this.fd(op.fd));
        else {
          const file = sys.open(op.path!, O_RDONLY);
          sys.fsync(file);
          sys.close(file);
        }
        return undefined;
      }
      case 'truncate':
        sys.truncate(op.path, op.size);
        return undefined;
      case 'mkdir':
        sys.mkdir(op.path, op.mode ?? DEFAULT_MKDIR_MODE);
        return undefined;
      case 'rmdir':
        sys.rmdir(op.path);
        return undefined;
      case 'unlink':
        sys.unlink(op.path);
        return undefined;
      case 'rename':
        sys.rename(op.from, op.to);
        return undefined;
      case 'link':
        sys.link(op.from, op.to);
        return undefined;
      case 'symlink':
        sys.symlink(op.target, op.path);
        return undefined;
      case 'readlink': {
        const target = sys.readlink(op.path);
        return op.content === undefined ? undefined : target === op.content;
      }
      case 'chmod':
        sys.chmod(op.path, op.mode);
        return undefined;
      case 'chown':
        sys.chown(op.path, op.uid, op.gid);
        return undefined;
      case 'utimes':
        sys.utimes(op.path, op.atime, op.mtime, this.host.clock.now());
        return undefined;
      case 'setxattr':
        sys.setxattr(op.path, op.name, UTF8.encode(op.value ?? ''));
        return undefined;
      case 'removexattr':
        sys.removexattr(op.path, op.name);
        return undefined;
      case 'stat':
        sys.stat(op.path, op.follow ?? true);
        return undefined;
      case 'check':
        return this.check(op, sys);
      case 'writeFile': {
        const file = sys.open(op.path, O_WRONLY | O_CREAT | O_TRUNC, op.mode ?? DEFAULT_WRITEFILE_MODE);
        try {
          sys.write(file, this.slice(op));
        } finally {
          sys.close(file);
        }
        return undefined;
      }
      case 'mkdirp':
        mkdirp(sys, op.path, op.mode ?? DEFAULT_MKDIR_MODE);
        return undefined;
      case 'rmtree':
        rmtree(sys, op.path);
        return undefined;
      case 'cp':
        cp(sys, op.from, op.to);
        return undefined;
      case 'dd':
        this.dd(sys, op);
        return undefined;
    }
  }

  /** `dd if=/dev/zero of=PATH bs=BS count=COUNT seek=SEEK`: truncates to seek*bs, then writes count blocks. */
  private dd(sys: Sys, op: OpOf<'dd'>): void {
    const seek = op.seek ?? 0;
    const file = sys.open(op.path, O_WRONLY | O_CREAT, 0o666);
    try {
      sys.ftruncate(file, seek * op.bs);
      for (let i = 0; i < op.count; i++) sys.write(file, this.slice({ length: op.bs, fill: op.fill }), (seek + i) * op.bs);
    } finally {
      sys.close(file);
    }
  }

  /** `check`: lstat, then each stated field; a missing path holds only for `type: "absent"`. */
  private check(op: OpOf<'check'>, sys: Sys): boolean {
    const st = sys.lstatOrAbsent(op.path);
    if (st === undefined) {
      return op.type === 'absent' && ['content', 'size', 'mode', 'uid', 'gid', 'nlink', 'target'].every(k => !(k in op));
    }
    let ok = true;
    if (op.type !== undefined && op.type !== st.kind) ok = NOT_HELD;
    if (op.size !== undefined && st.size !== op.size) ok = NOT_HELD;
    if (op.mode !== undefined && st.mode !== op.mode) ok = NOT_HELD;
    if (op.uid !== undefined && st.uid !== op.uid) ok = NOT_HELD;
    if (op.gid !== undefined && st.gid !== op.gid) ok = NOT_HELD;
    if (op.nlink !== undefined && st.nlink !== op.nlink) ok = NOT_HELD;
    if (op.target !== undefined && (st.kind !== 'symlink' || sys.readlink(op.path) !== op.target)) ok = NOT_HELD;
    if (op.content !== undefined) {
      if (st.kind !== 'file') ok = NOT_HELD;
      else if (!bytesEqual(sys.readFile(op.path), UTF8.encode(op.content))) ok = NOT_HELD;
    }
    return ok;
  }

  /** Open fds are part of the state a run leaves; closing them all is what process exit does. */
  closeAll(): void {
    this.fds.clear();
  }
}

function hasAssertion(op: TraceOp): boolean {
  return op.op === 'check' || ((op.op === 'read' || op.op === 'readlink') && op.content !== undefined);
}

function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** `mkdir -p`: each component, EEXIST tolerated unless the last one exists as a non-directory. */
export function mkdirp(sys: Sys, path: string, mode: number): void {
  const parts = path.split('/').filter(p => p !== '');
  let cur = '';
  parts.forEach((p, i) => {
    cur += `/${p}`;
    const errno = sys.mkdirResult(cur, mode);
    if (errno === undefined) return;
    // the error a user sees is built only when it is reported
    if (errno !== 'EEXIST') throw new FsError(errno, 'mkdir', cur);
    if (i === parts.length - 1) {
      let isDir = false;
      try {
        isDir = sys.stat(cur).kind === 'dir';
      } catch {
        isDir = false;
      }
      if (!isDir) throw new FsError(errno, 'mkdir', cur);
    }
  });
}

/** `rm -rf` bottom-up: unlink non-directories, rmdir directories (names in sorted order); the first errno wins. */
export function rmtree(sys: Sys, path: string): void {
  const st = sys.stat(path, false);
  if (st.kind === 'dir') {
    for (const name of sys.readdir(path).sort()) rmtree(sys, `${path.replace(/\/+$/, '')}/${name}`);
    sys.rmdir(path);
  } else {
    sys.unlink(path);
  }
}

/** `cp FROM TO` of a regular file: the data is copied extent by extent (holes written as zeros, as read(2) sees them). */
export function cp(sys: Sys, from: string, to: string): void {
  const src = sys.open(from, O_RDONLY);
  try {
    const st = sys.stat(from);
    if (st.kind === 'dir') throw new FsError('EISDIR', 'read', from);
    const content = sys.contentOf(src);
    const dst = sys.open(to, O_WRONLY | O_CREAT | O_TRUNC, st.mode);
    try {
      let pos = 0;
      for (const e of content.listExtents()) {
        if (e.offset > pos) sys.write(dst, { source: ZERO_SOURCE, at: 0, length: e.offset - pos });
        sys.write(dst, { source: e.source, at: e.at, length: e.length });
        pos = e.offset + e.length;
      }
      if (content.size > pos) sys.write(dst, { source: ZERO_SOURCE, at: 0, length: content.size - pos });
    } finally {
      sys.close(dst);
    }
  } finally {
    sys.close(src);
  }
}
