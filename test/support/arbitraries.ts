/**
 * fast-check arbitraries for filesystem properties of the storage-driver models.
 *
 * Three levels, each built on the previous one:
 * 1. Names and paths: a tiny alphabet (`a b c d f s`, the same names the base image uses) so that generated paths
 *    collide with each other and with the image, which is where copy-up, whiteouts and errno rules are exercised.
 * 2. Ops (`FsOp`, plain data; see ops.ts): one arbitrary per operation, `fsOpArb` for any of them, `fsOpsArb` for
 *    short sequences, and `nastyOpArb` for fuzzing with nonsense paths.
 * 3. Model-based commands for `fc.commands` + `fc.modelRun`: one class per operation. Each `run` applies its op to
 *    the simulated container and to the reference filesystem, throws when the outcomes (ok or errno) differ or when
 *    the views differ afterwards, and `toString` prints a call that replays it.
 *
 * Example:
 * ```ts
 * fc.assert(fc.property(fsCommands(), cmds => {
 *   const setup = setUp(variant, BASE_TREE);
 *   fc.modelRun(() => modelRunSetup(setup, new ReferenceFs(BASE_TREE, unionSemantics(variant))), cmds);
 * }));
 * ```
 */
import fc from 'fast-check';
import type { Setup } from './fixtures.js';
import { applyOp, diffViews, formatOp, viewOfSys, type FsOp, type Outcome } from './ops.js';
import type { ReferenceFs } from './reference.js';

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

// ---- 3. model-based commands ----------------------------------------------------------------------------------------

/** The real system a command runs on: a host, and its container (`setup.container`, re-read after commits). */
export interface RealSystem {
  readonly setup: Setup;
  /** Commits made so far (names the images `commit1`, `commit2`, ...). */
  commits: number;
}

/** The model a command is checked against. */
export interface ModelState {
  readonly ref: ReferenceFs;
}

/**
 * Applies an op to the container. `commit` is `docker commit` to a fresh image name followed by a run from that image
 * (as the first container, without an init layer): the new container must see exactly what the old one saw.
 */
export function applyToContainer(real: RealSystem, op: FsOp): Outcome {
  if (op.kind === 'commit') {
    const image = `commit${++real.commits}`;
    real.setup.host.commit(real.setup.container.name, image);
    real.setup.container = real.setup.host.run(`from-${image}`, image, false);
    return 'ok';
  }
  return applyOp(real.setup.container.sys, op);
}

/** The state `fc.modelRun` starts from. */
export function modelRunSetup(setup: Setup, ref: ReferenceFs): { model: ModelState; real: RealSystem } {
  return { model: { ref }, real: { setup, commits: 0 } };
}

/**
 * A command applying one `FsOp`: the same op on the container and the reference must give the same outcome, and
 * afterwards the container's merged view must equal the reference's.
 */
export abstract class OpCommand implements fc.Command<ModelState, RealSystem> {
  constructor(readonly op: FsOp) {}

  check(_m: Readonly<ModelState>): boolean {
    return true;
  }

  run(model: ModelState, real: RealSystem): void {
    const got = applyToContainer(real, this.op);
    const want = model.ref.apply(this.op);
    if (got !== want) throw new Error(`${this.toString()}: model gave ${got}, reference ${want}`);
    const diff = diffViews(viewOfSys(real.setup.container.sys), model.ref.view());
    if (diff !== undefined) throw new Error(`${this.toString()}: views differ afterwards\n${diff}`);
  }

  toString(): string {
    return formatOp(this.op);
  }
}

type OpOf<K extends FsOp['kind']> = Extract<FsOp, { kind: K }>;

/** open(O_WRONLY|O_CREAT) + pwrite at an offset. */
export class WriteCommand extends OpCommand {
  constructor(op: OpOf<'write'>) {
    super(op);
  }
}
/** Creates or replaces a file's content: open(O_WRONLY|O_CREAT|O_TRUNC) + write. */
export class CreateCommand extends OpCommand {
  constructor(op: OpOf<'writeFile'>) {
    super(op);
  }
}
export class TruncateCommand extends OpCommand {
  constructor(op: OpOf<'truncate'>) {
    super(op);
  }
}
export class MkdirCommand extends OpCommand {
  constructor(op: OpOf<'mkdir'>) {
    super(op);
  }
}
export class RmdirCommand extends OpCommand {
  constructor(op: OpOf<'rmdir'>) {
    super(op);
  }
}
export class UnlinkCommand extends OpCommand {
  constructor(op: OpOf<'unlink'>) {
    super(op);
  }
}
export class RenameCommand extends OpCommand {
  constructor(op: OpOf<'rename'>) {
    super(op);
  }
}
export class LinkCommand extends OpCommand {
  constructor(op: OpOf<'link'>) {
    super(op);
  }
}
export class SymlinkCommand extends OpCommand {
  constructor(op: OpOf<'symlink'>) {
    super(op);
  }
}
export class ChmodCommand extends OpCommand {
  constructor(op: OpOf<'chmod'>) {
    super(op);
  }
}
/** docker commit between two steps: the reference only notes that everything visible is now in a lower layer. */
/**
 * `docker commit`, then a run from the new image. Only while no file has two names: Docker's diff tars the changed
 * paths, so a second name of an unchanged inode (a link(2), a rename of one name) arrives in the new image as a copy
 * (test/conformance/lifecycle.test.ts shows it per driver), and a lower hard link broken by a copy-up may come back
 * whole when the diff leaves the broken name out; the reference models neither.
 */
export class CommitCommand extends OpCommand {
  constructor() {
    super({ kind: 'commit' });
  }

  override check(m: Readonly<ModelState>): boolean {
    return m.ref.view().linkGroups.length === 0 && !m.ref.brokeLinksSinceCommit;
  }
}

/** The command arbitraries, one per class. */
export function commandArbs(paths: PathArbs = plainPaths) {
  const a = opArbs(paths);
  return {
    write: a.write.map(op => new WriteCommand(op)),
    create: a.writeFile.map(op => new CreateCommand(op)),
    truncate: a.truncate.map(op => new TruncateCommand(op)),
    mkdir: a.mkdir.map(op => new MkdirCommand(op)),
    rmdir: a.rmdir.map(op => new RmdirCommand(op)),
    unlink: a.unlink.map(op => new UnlinkCommand(op)),
    rename: a.rename.map(op => new RenameCommand(op)),
    link: a.link.map(op => new LinkCommand(op)),
    symlink: a.symlink.map(op => new SymlinkCommand(op)),
    chmod: a.chmod.map(op => new ChmodCommand(op)),
    commit: fc.constant(null).map(() => new CommitCommand()),
  };
}

/** Random command sequences for `fc.modelRun` (commits included unless `withCommits` is false). */
export function fsCommands(opts: { maxCommands?: number; withCommits?: boolean } = {}) {
  const c = commandArbs();
  const arbs: fc.Arbitrary<OpCommand>[] = [
    c.write, c.create, c.create, c.truncate, c.mkdir, c.mkdir, c.rmdir, c.unlink,
    c.rename, c.rename, c.rename, c.link, c.symlink, c.chmod,
  ];
  if (opts.withCommits !== false) arbs.push(c.commit);
  return fc.commands(arbs, { maxCommands: opts.maxCommands ?? 20 });
}
