/**
 * fast-check arbitraries for filesystem properties of the storage-driver models.
 *
 * Three levels, each built on the previous one:
 * 1. Names and paths: a tiny alphabet (`a b c d f s`, the names `BASE_TREE` uses) so that generated paths collide with
 *    each other and with the image, which is where copy-up, whiteouts and errno rules are exercised.
 * 2. Ops (`FsOp`, plain data; see ops.ts): one arbitrary per operation, `fsOpArb` for any of them, `fsOpsArb` for
 *    short sequences, and `nastyOpArb` for fuzzing with nonsense paths.
 * 3. Trace ops (the JSONL trace format's objects, `TraceOp`): `traceOpArb` and `traceArb`, for properties over costs
 *    with `simulate`, and `toTraceOp` to turn any `FsOp` into one.
 *
 * The model-based commands built on these are in commands.ts.
 *
 * @packageDocumentation
 */
import fc from 'fast-check';
import type { TraceOp } from '../trace/schema.js';
import { O_CREAT, O_WRONLY } from '../vfs/syscalls.js';
import { formatOp, type FsOp } from './ops.js';

// ---- 1. names and paths -------------------------------------------------------------------------------------------

/** The names paths are made of: few, so that collisions are frequent. */
export const NAMES = ['a', 'b', 'c', 'd', 'f', 's'] as const;

export const nameArb: fc.Arbitrary<string> = fc.constantFrom(...NAMES);

/** An absolute path 1 to 3 components deep, e.g. `/a/d/c`. */
export const pathArb: fc.Arbitrary<string> = fc
  .array(nameArb, { minLength: 1, maxLength: 3 })
  .map(parts => `/${parts.join('/')}`);

/** What a symlink points to: a sibling name, an absolute path, a parent-relative path, or nothing that exists. */
export const symlinkTargetArb: fc.Arbitrary<string> = fc.oneof(
  nameArb,
  pathArb,
  fc.constantFrom('..', '../a', 'a/b', 'x', '/x/y', '.'),
);

/** Small payloads of readable bytes (`x y z 0`). */
export const dataArb: fc.Arbitrary<Uint8Array> = fc
  .array(fc.constantFrom(0x78, 0x79, 0x7a, 0x30), { maxLength: 6 })
  .map(bytes => Uint8Array.from(bytes));

/** Modes given to open(O_CREAT) (the umask then applies). */
export const createModeArb: fc.Arbitrary<number> = fc.constantFrom(0o666, 0o644, 0o600, 0o755, 0o4755);
/** Modes given to mkdir (the umask applies, and mkdir keeps only the permission and sticky bits). */
export const dirModeArb: fc.Arbitrary<number> = fc.constantFrom(0o777, 0o755, 0o700, 0o1777, 0o2755);
/** Modes given to chmod. */
export const chmodModeArb: fc.Arbitrary<number> = fc.constantFrom(0o644, 0o600, 0o755, 0o700, 0o000, 0o4755, 0o2755, 0o1777);

// ---- 2. ops ---------------------------------------------------------------------------------------------------------

/** Paths the op arbitraries use; `nastyPathArb` swaps them for nonsense in the fuzz properties. */
export interface PathArbs {
  readonly path: fc.Arbitrary<string>;
  readonly target: fc.Arbitrary<string>;
}

const plainPaths: PathArbs = { path: pathArb, target: symlinkTargetArb };

/** Gives an op a `toString` for fast-check's counterexample reports: the replayable call (see `formatOp`). */
export function printable<T extends FsOp>(op: T): T {
  return Object.defineProperty({ ...op }, fc.toStringMethod, { value: () => formatOp(op), enumerable: false });
}

/** One arbitrary per op, over the given paths; counterexamples print as replayable calls. */
export function opArbs(paths: PathArbs = plainPaths) {
  const raw = rawOpArbs(paths);
  return Object.fromEntries(Object.entries(raw).map(([k, arb]) => [k, (arb as fc.Arbitrary<FsOp>).map(printable)])) as typeof raw;
}

function rawOpArbs({ path, target }: PathArbs) {
  return {
    write: fc.record({ kind: fc.constant('write'), path, offset: fc.nat(12), data: dataArb, mode: createModeArb }),
    writeFile: fc.record({ kind: fc.constant('writeFile'), path, data: dataArb, mode: createModeArb }),
    truncate: fc.record({ kind: fc.constant('truncate'), path, size: fc.nat(16) }),
    mkdir: fc.record({ kind: fc.constant('mkdir'), path, mode: dirModeArb }),
    rmdir: fc.record({ kind: fc.constant('rmdir'), path }),
    unlink: fc.record({ kind: fc.constant('unlink'), path }),
    rename: fc.record({ kind: fc.constant('rename'), from: path, to: path }),
    link: fc.record({ kind: fc.constant('link'), from: path, to: path }),
    symlink: fc.record({ kind: fc.constant('symlink'), target, path }),
    chmod: fc.record({ kind: fc.constant('chmod'), path, mode: chmodModeArb }),
    commit: fc.constant({ kind: 'commit' }),
  } satisfies { [K in FsOp['kind']]: fc.Arbitrary<Extract<FsOp, { kind: K }>> };
}

/** Any op but commit, weighted towards the ones that create state (so removals have something to act on). */
export function fsOpArb(paths: PathArbs = plainPaths): fc.Arbitrary<FsOp> {
  const a = opArbs(paths);
  return fc.oneof(
    { arbitrary: a.write, weight: 3 },
    { arbitrary: a.writeFile, weight: 3 },
    { arbitrary: a.mkdir, weight: 3 },
    { arbitrary: a.truncate, weight: 1 },
    { arbitrary: a.rmdir, weight: 2 },
    { arbitrary: a.unlink, weight: 2 },
    { arbitrary: a.rename, weight: 4 },
    { arbitrary: a.link, weight: 2 },
    { arbitrary: a.symlink, weight: 2 },
    { arbitrary: a.chmod, weight: 2 },
  );
}

/** Any op including commit-between-steps. */
export function fsOpOrCommitArb(paths: PathArbs = plainPaths): fc.Arbitrary<FsOp> {
  return fc.oneof({ arbitrary: fsOpArb(paths), weight: 9 }, { arbitrary: opArbs(paths).commit, weight: 1 });
}

/** A short op sequence (1..maxLength ops; no commits unless `withCommits`). */
export function fsOpsArb(maxLength = 12, withCommits = false): fc.Arbitrary<FsOp[]> {
  return fc.array(withCommits ? fsOpOrCommitArb() : fsOpArb(), { minLength: 1, maxLength });
}

/**
 * Nonsense paths for fuzzing: empty strings, ".", "..", "//", trailing slashes, relative paths, names longer than
 * NAME_MAX (255), paths longer than PATH_MAX, paths through files, and names of symlinks that loop.
 */
export const nastyPathArb: fc.Arbitrary<string> = fc.oneof(
  pathArb,
  fc.constantFrom('', '/', '.', '..', '//', '/./', '/../..', 'a', 'a/', '/a/', '/a//b', '/a/./b', '/a/../c', '/c/', '/c/x', '/a/b/', '/s/', '/d/', '/d/../a', '/loop', '/loop/x', '/l1', '/l2/'),
  fc.constantFrom(`/${'n'.repeat(255)}`, `/${'n'.repeat(256)}`, `/a/${'é'.repeat(128)}`, `/${'p/'.repeat(2100)}`),
  fc
    .array(fc.constantFrom('a', 'b', 'c', 'd', 's', '.', '..', '', 'loop', 'l1', 'l2'), { minLength: 0, maxLength: 5 })
    .chain(parts => fc.tuple(fc.constant(parts.join('/')), fc.constantFrom('', '/'), fc.boolean()))
    .map(([p, tail, abs]) => `${abs ? '/' : ''}${p}${tail}`),
);

/** Ops over nonsense paths, plus symlinks that loop (`/loop -> loop`, `/l1 -> l2 -> l1`). */
export const nastyOpArb: fc.Arbitrary<FsOp> = fc.oneof(
  fsOpArb({ path: nastyPathArb, target: fc.oneof(nastyPathArb, fc.constantFrom('loop', 'l1', 'l2', '/l1')) }),
  fc.constantFrom<FsOp>(
    { kind: 'symlink', target: 'loop', path: '/loop' },
    { kind: 'symlink', target: 'l2', path: '/l1' },
    { kind: 'symlink', target: '/l1', path: '/l2' },
  ),
);

// ---- 3. trace ops ------------------------------------------------------------------------------------------------------

/**
 * An `FsOp` as trace ops with the same effect. `write` becomes open(O_WRONLY|O_CREAT) + pwrite + close on an fd named
 * `w` (the trace's own `write` with a path opens without O_CREAT). Data is written as text (the arbitraries' bytes are
 * ASCII). `commit` has no form without names and is refused: write `{ op: 'commit', container, image }` yourself.
 */
export function toTraceOps(op: FsOp): TraceOp[] {
  const data = Buffer.from(op.kind === 'write' || op.kind === 'writeFile' ? op.data : new Uint8Array()).toString('latin1');
  switch (op.kind) {
    case 'write':
      return [
        { op: 'open', path: op.path, flags: O_WRONLY | O_CREAT, mode: op.mode, fd: 'w' },
        { op: 'write', fd: 'w', offset: op.offset, data },
        { op: 'close', fd: 'w' },
      ];
    default:
      return [toTraceOp(op)];
  }
}

/** An `FsOp` other than `write` as one trace op (see `toTraceOps`). */
export function toTraceOp(op: Exclude<FsOp, { kind: 'write' }>): TraceOp {
  const data = Buffer.from(op.kind === 'writeFile' ? op.data : new Uint8Array()).toString('latin1');
  switch (op.kind) {
    case 'writeFile':
      return { op: 'writeFile', path: op.path, data, mode: op.mode };
    case 'truncate':
      return { op: 'truncate', path: op.path, size: op.size };
    case 'mkdir':
      return { op: 'mkdir', path: op.path, mode: op.mode };
    case 'rmdir':
      return { op: 'rmdir', path: op.path };
    case 'unlink':
      return { op: 'unlink', path: op.path };
    case 'rename':
      return { op: 'rename', from: op.from, to: op.to };
    case 'link':
      return { op: 'link', from: op.from, to: op.to };
    case 'symlink':
      return { op: 'symlink', target: op.target, path: op.path };
    case 'chmod':
      return { op: 'chmod', path: op.path, mode: op.mode };
    case 'commit':
      throw new Error('toTraceOp: a commit needs a container and an image name: write { op: "commit", container, image }');
  }
}

/** Sizes for data-heavy trace ops: a few bytes up to 256 KiB, biased to block boundaries. */
export const lengthArb: fc.Arbitrary<number> = fc.oneof(
  fc.integer({ min: 1, max: 64 }),
  fc.constantFrom(4096, 8192, 65536, 131072),
  fc.integer({ min: 1, max: 256 * 1024 }),
);

/**
 * One container file op of the trace format over `pathArb` names, including the data-heavy ones the `FsOp` level
 * lacks (`dd`, pattern-filled `write`s at large offsets, `rmtree`, `mkdirp`).
 */
export function traceOpArb(paths: PathArbs = plainPaths): fc.Arbitrary<TraceOp> {
  const { path } = paths;
  const fill = fc.constantFrom('zero' as const, 'pattern' as const);
  return fc.oneof(
    fsOpArb(paths).filter(op => op.kind !== 'write').map(op => toTraceOp(op as Exclude<FsOp, { kind: 'write' }>)),
    fc.record({ op: fc.constant('write' as const), path, offset: fc.nat(1 << 20), length: lengthArb, fill }),
    fc.record({ op: fc.constant('writeFile' as const), path, length: lengthArb, fill }),
    fc.record({ op: fc.constant('dd' as const), path, bs: fc.constantFrom(4096, 65536), count: fc.integer({ min: 1, max: 8 }), fill }),
    fc.record({ op: fc.constant('mkdirp' as const), path }),
    fc.record({ op: fc.constant('rmtree' as const), path }),
  );
}

/** A short trace of container file ops (run them with `simulate`, whose container they act in). */
export function traceArb(opts: { minLength?: number; maxLength?: number; paths?: PathArbs } = {}): fc.Arbitrary<TraceOp[]> {
  return fc.array(traceOpArb(opts.paths), { minLength: opts.minLength ?? 1, maxLength: opts.maxLength ?? 12 });
}
