/**
 * The teaching API: write your own properties about storage drivers with fast-check.
 *
 * - Worlds (`fixtures.ts`): `variant('overlay2', { redirect_dir: 'on' })`, `modelVariants()`, a base image
 *   (`BASE_TREE`, or your own `BaseEntry[]`), `setUp` (a host and a container on it) and `simulate` (trace ops in a
 *   container, with each op's cost record as `layersim run` reports it).
 * - Arbitraries (`arbitraries.ts`): names and paths that collide on purpose, one arbitrary per `FsOp`, nonsense paths
 *   for fuzzing, and trace-format ops (`traceOpArb`, `traceArb`) for properties over costs.
 * - Model-based commands (`commands.ts`): one class per op (`WriteCommand`, `RenameCommand`, `CommitCommand`...), each
 *   checking the container against the reference after it runs, and printing as a replayable call; `fsCommands()`
 *   generates sequences, and `checkAgainstReference(model, options, commands)` runs them.
 * - The reference (`reference.ts`): `ReferenceFs`, a memfs volume given the same ops, with the union semantics that
 *   legitimately differ from POSIX (EXDEV on lower directory renames, broken lower hard links) modelled explicitly.
 * - Views (`ops.ts`): `applyOp`, `formatOp`, `viewOfSys` (a container's whole tree) and `diffViews`.
 *
 * `fast-check` and `memfs` are needed at run time by this module (they are the project's dev dependencies).
 *
 * @example
 * ```ts
 * import fc from 'fast-check';
 * import { checkAgainstReference, fsCommands, modelNamed } from 'layersim/src/teaching/index.js';
 *
 * fc.assert(fc.property(fsCommands({ maxCommands: 10 }), cmds => checkAgainstReference(modelNamed('overlay2'), {}, cmds)));
 * ```
 *
 * See `examples/` for properties that teach: copy-up is whole-file, whiteouts hide, bookend extents waste, loop-lvm
 * never shrinks.
 *
 * @packageDocumentation
 */
export {
  NAMES,
  nameArb,
  pathArb,
  symlinkTargetArb,
  dataArb,
  createModeArb,
  dirModeArb,
  chmodModeArb,
  printable,
  opArbs,
  fsOpArb,
  fsOpOrCommitArb,
  fsOpsArb,
  nastyPathArb,
  nastyOpArb,
  toTraceOp,
  toTraceOps,
  lengthArb,
  traceOpArb,
  traceArb,
  type PathArbs,
} from './arbitraries.js';
export {
  OpCommand,
  WriteCommand,
  CreateCommand,
  TruncateCommand,
  MkdirCommand,
  RmdirCommand,
  UnlinkCommand,
  RenameCommand,
  LinkCommand,
  SymlinkCommand,
  ChmodCommand,
  CommitCommand,
  commandArbs,
  fsCommands,
  applyToContainer,
  modelRunSetup,
  checkAgainstReference,
  type CheckOptions,
  type ModelState,
  type RealSystem,
} from './commands.js';
export {
  BASE_TREE,
  BASE_TREE_WITH_HARDLINKS,
  baseBytes,
  buildLayer,
  contentOf,
  modelNamed,
  modelVariants,
  setUp,
  simulate,
  unionSemantics,
  variant,
  type BaseEntry,
  type ModelVariant,
  type Setup,
  type Simulation,
  type UnionSemantics,
} from './fixtures.js';
export { applyOp, diffViews, formatOp, groupsOf, viewOfSys, type FsOp, type OpKind, type Outcome, type View, type ViewEntry } from './ops.js';
export { MEMFS_ERRNO_FAITHFUL, ReferenceError, ReferenceFs, UMASK } from './reference.js';
