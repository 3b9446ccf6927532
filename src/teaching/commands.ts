/**
 * Model-based commands for `fc.commands` + `fc.modelRun`: one class per operation. Each `run` applies its op to the
 * simulated container and to the reference filesystem (memfs, see reference.ts), throws when the outcomes (ok or
 * errno) differ or when the views differ afterwards, and `toString` prints a call that replays it.
 *
 * @example
 * ```ts
 * fc.assert(fc.property(fsCommands(), cmds => checkAgainstReference(modelNamed('overlay2'), {}, cmds)));
 * ```
 *
 * @packageDocumentation
 */
import fc from 'fast-check';
import type { DriverModel } from '../engine/driver.js';
import { opArbs, type PathArbs } from './arbitraries.js';
import { BASE_TREE, setUp, unionSemantics, variant, type BaseEntry, type Setup } from './fixtures.js';
import { applyOp, diffViews, formatOp, viewOfSys, type FsOp, type Outcome } from './ops.js';
import { ReferenceFs } from './reference.js';


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
export function commandArbs(paths?: PathArbs) {
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

/** Options of `checkAgainstReference`. */
export interface CheckOptions {
  /** The base image (default `BASE_TREE`, whose names the path arbitraries use). */
  readonly base?: readonly BaseEntry[];
}

/**
 * Runs `commands` on a fresh container of `model` with `options` (on image `base`) and on a fresh reference filesystem
 * with the union semantics of that model: throws, with the replayable command, at the first op whose outcome or
 * resulting view differs. Meant as the body of an `fc.property` over `fsCommands()`.
 *
 * @param model - a driver model (`modelNamed('overlay2')`, or one of your own).
 * @param options - the model's `key=value` options (defaults filled in, unknown keys refused).
 * @param commands - the commands fast-check generated (`fsCommands()`), or a hand-written list to replay a failure.
 *
 * @example
 * ```ts
 * fc.assert(fc.property(fsCommands({ maxCommands: 10 }), cmds => checkAgainstReference(modelNamed('aufs'), {}, cmds)));
 * // replay a counterexample by hand:
 * checkAgainstReference(modelNamed('overlay2'), {}, [new RenameCommand({ kind: 'rename', from: '/a', to: '/b/x' })]);
 * ```
 */
export function checkAgainstReference(
  model: DriverModel,
  options: Readonly<Record<string, string>>,
  commands: Iterable<fc.Command<ModelState, RealSystem>>,
  opts: CheckOptions = {},
): void {
  const v = variant(model, options);
  const base = opts.base ?? BASE_TREE;
  fc.modelRun(() => modelRunSetup(setUp(v, base), new ReferenceFs(base, unionSemantics(v))), commands);
}
