/**
 * Worlds to run properties in: driver variants (a model with one set of options), a small base image whose names
 * collide with the generated paths, a container started on it, and `simulate`, which replays trace ops in a container
 * and returns each op's cost record exactly as `layersim run` reports it.
 *
 * @packageDocumentation
 */
import { allModels } from '../../models/index.js';
import type { DriverModel } from '../engine/driver.js';
import { resolveOptions } from '../engine/drivers.js';
import { Host, type ContainerRecord } from '../engine/host.js';
import { FileContent, PATTERN_SOURCE } from '../fs/content.js';
import type { Inode } from '../fs/inode.js';
import { Volume } from '../fs/volume.js';
import { TraceRunner, type LineResult } from '../trace/execute.js';
import type { TraceOp } from '../trace/schema.js';

/** A driver model with one set of options (defaults filled in), named for `describe.each`. */
export interface ModelVariant {
  readonly label: string;
  readonly model: DriverModel;
  readonly options: Readonly<Record<string, string>>;
}

/** The registered model called `name` (`vfs`, `aufs`, `overlay2`, `devicemapper`, `btrfs`, `zfs`); throws if none. */
export function modelNamed(name: string): DriverModel {
  const m = allModels.find(x => x.name === name);
  if (m === undefined) throw new Error(`no driver model '${name}' (known: ${allModels.map(x => x.name).join(', ')})`);
  return m;
}

/**
 * A model with options: `variant('overlay2', { redirect_dir: 'on' })`. Option names and values are the ones the model
 * declares (`layersim drivers --json`); an unknown one throws.
 */
export function variant(model: DriverModel | string, given: Readonly<Record<string, string>> = {}): ModelVariant {
  const m = typeof model === 'string' ? modelNamed(model) : model;
  const extra = Object.entries(given).map(([k, v]) => `${k}=${v}`);
  return { label: [m.name, ...extra].join(' '), model: m, options: resolveOptions(m, given) };
}

/** Every registered model with its defaults, plus overlay2 with each non-default option turned on. */
export function modelVariants(): ModelVariant[] {
  const overlay2 = allModels.find(m => m.name === 'overlay2');
  return [
    ...allModels.map(m => variant(m)),
    ...(overlay2 === undefined ? [] : [variant(overlay2, { redirect_dir: 'on' }), variant(overlay2, { metacopy: 'on' }), variant(overlay2, { index: 'on' })]),
  ];
}

/**
 * How a variant departs from plain POSIX, by the kernel's rules for the mechanism it models:
 * - `dirRename`: rename(2) of a directory that exists in a lower layer (overlayfs: EXDEV unless redirect_dir=on, which
 *   metacopy=on turns on; AUFS: EXDEV unless the directory is empty).
 * - `breaksLowerHardLinks`: copy-up of a hard-linked lower file gives that name a new inode (overlayfs index=off).
 */
export interface UnionSemantics {
  readonly dirRename: 'posix' | 'EXDEV' | 'EXDEV-unless-empty';
  readonly breaksLowerHardLinks: boolean;
}

export function unionSemantics(v: Pick<ModelVariant, 'model' | 'options'>): UnionSemantics {
  switch (v.model.name) {
    case 'overlay2':
      return {
        // overlayfs.rst: "metacopy=on" requires redirect_dir; the kernel enables it unless it was explicitly off
        dirRename: v.options['redirect_dir'] === 'on' || v.options['metacopy'] === 'on' ? 'posix' : 'EXDEV',
        breaksLowerHardLinks: v.options['index'] !== 'on',
      };
    case 'aufs':
      return { dirRename: 'EXDEV-unless-empty', breaksLowerHardLinks: false };
    default:
      return { dirRename: 'posix', breaksLowerHardLinks: false };
  }
}

/** One entry of a base image, in creation order (parents first). */
export type BaseEntry =
  | { readonly path: string; readonly type: 'dir'; readonly mode: number }
  /** A file with this content, or `bytes` of a repeating non-zero pattern (so no copy can keep it sparse). */
  | { readonly path: string; readonly type: 'file'; readonly mode: number; readonly content: string | Uint8Array | { readonly bytes: number } }
  | { readonly path: string; readonly type: 'symlink'; readonly target: string }
  /** A second name for the file at `to` (a hard link within the image layer). */
  | { readonly path: string; readonly type: 'hardlink'; readonly to: string };

/**
 * The base image of the arbitraries. Its names are the arbitraries' alphabet (a b c d f s), so generated paths often
 * hit existing entries: a populated directory, an empty one, a nested one, files, a relative directory symlink
 * (`/d -> a`) and an absolute file symlink (`/s -> /a/b`).
 */
export const BASE_TREE: readonly BaseEntry[] = [
  { path: '/a', type: 'dir', mode: 0o755 },
  { path: '/a/b', type: 'file', mode: 0o644, content: 'lower a/b' },
  { path: '/a/d', type: 'dir', mode: 0o755 },
  { path: '/a/d/c', type: 'file', mode: 0o600, content: 'lower a/d/c' },
  { path: '/b', type: 'dir', mode: 0o755 },
  { path: '/c', type: 'file', mode: 0o644, content: 'lower c' },
  { path: '/d', type: 'symlink', target: 'a' },
  { path: '/s', type: 'symlink', target: '/a/b' },
];

/** BASE_TREE plus a lower hard link: `/f` and `/a/f` are one inode. */
export const BASE_TREE_WITH_HARDLINKS: readonly BaseEntry[] = [
  ...BASE_TREE,
  { path: '/f', type: 'file', mode: 0o644, content: 'lower f' },
  { path: '/a/f', type: 'hardlink', to: '/f' },
];

function splitPath(path: string): [string, string] {
  const i = path.lastIndexOf('/');
  return [path.slice(0, i) || '/', path.slice(i + 1)];
}

/** The bytes of a base file's content (a `{ bytes }` content is the pattern the trace format's `fill: "pattern"` writes). */
export function contentOf(content: string | Uint8Array | { readonly bytes: number }): FileContent {
  if (typeof content === 'string') return FileContent.fromBytes(new TextEncoder().encode(content));
  if (content instanceof Uint8Array) return FileContent.fromBytes(content);
  const c = new FileContent();
  if (content.bytes > 0) c.write(0, { source: PATTERN_SOURCE, at: 0, length: content.bytes });
  return c;
}

/** The bytes of a base file's content (what a reader of the file gets). */
export function baseBytes(content: string | Uint8Array | { readonly bytes: number }): Uint8Array {
  if (typeof content === 'string') return new TextEncoder().encode(content);
  if (content instanceof Uint8Array) return content;
  return contentOf(content).read(0, content.bytes);
}

/** The entries as an image layer tree (`Volume`, OCI form), for `host.loadImage`. */
export function buildLayer(entries: readonly BaseEntry[]): Volume {
  const v = new Volume();
  const owner = { uid: 0, gid: 0 };
  for (const e of entries) {
    const [dirPath, name] = splitPath(e.path);
    const dir = v.at(dirPath);
    if (dir === undefined) throw new Error(`base image: no parent directory for ${e.path} (list parents first)`);
    switch (e.type) {
      case 'dir':
        v.createChild(dir, name, 'dir', { mode: e.mode, ...owner });
        break;
      case 'file':
        v.createChild(dir, name, 'file', { mode: e.mode, ...owner, content: contentOf(e.content) });
        break;
      case 'symlink':
        v.createChild(dir, name, 'symlink', { mode: 0o777, ...owner, target: e.target });
        break;
      case 'hardlink':
        v.addEntry(dir, name, v.at(e.to) as Inode);
        break;
    }
  }
  return v;
}

/** A host on one variant with the base image loaded as `base`, and a container on it. */
export interface Setup {
  readonly host: Host;
  /** The current container: after a commit, the one run from the committed image. */
  container: ContainerRecord;
  /** The image's layer ids (these must never change). */
  readonly imageLayers: readonly string[];
}

/** Starts container `c1` (no init layer) on image `base` made of `entries`, on the variant. */
export function setUp(v: Pick<ModelVariant, 'model' | 'options'>, entries: readonly BaseEntry[] = BASE_TREE): Setup {
  const host = new Host(v.model, { ...v.options }, { seed: 1 });
  host.loadImage('base', [buildLayer(entries)]);
  const container = host.run('c1', 'base', false);
  return { host, container, imageLayers: host.image('base').layers };
}

/** What `simulate` returns: the host as the ops leave it, the container, and each op's result and cost. */
export interface Simulation {
  readonly host: Host;
  readonly container: ContainerRecord;
  /** One per op, in order: outcome (`ok` or the errno), whether an expectation held, and the cost record. */
  readonly results: readonly LineResult[];
  /** Runs more ops in the same container (costs appended to `results` and returned). */
  run(ops: readonly TraceOp[]): LineResult[];
}

/**
 * Replays trace ops (the JSONL trace format's objects, e.g. `{ op: 'write', path: '/a/b', offset: 0, length: 4096 }`)
 * in container `c` (Docker's init layer included unless `init: false`) on image `base` made of `base` entries.
 * Costs are those `layersim run` prints: `dataBytes`, `metadataBytes`, `copyUpBytes`, `allocatedBytes`, `lookups`.
 *
 * @example
 * ```ts
 * const sim = simulate(variant('overlay2'), { base: [{ path: '/big', type: 'file', mode: 0o644, content: { bytes: 1 << 20 } }] });
 * const [w] = sim.run([{ op: 'write', path: '/big', offset: 0, data: 'x' }]);
 * w.cost.copyUpBytes; // 1048576: the whole file, for one byte
 * ```
 */
export function simulate(
  v: Pick<ModelVariant, 'model' | 'options'>,
  opts: { base?: readonly BaseEntry[]; ops?: readonly TraceOp[]; init?: boolean; seed?: number } = {},
): Simulation {
  const host = new Host(v.model, { ...v.options }, { seed: opts.seed ?? 1 });
  const layer = buildLayer(opts.base ?? BASE_TREE);
  const runner = new TraceRunner(host, '<simulate>', () => [layer]);
  const prelude: TraceOp[] = [
    { op: 'image', name: 'base', from: 'teaching:base' },
    { op: 'run', container: 'c', image: 'base', init: opts.init ?? true },
  ];
  for (const op of prelude) {
    const r = runner.runLine({ line: 0, op });
    if (r.outcome !== 'ok') throw new Error(`simulate: ${op.op} failed with ${r.outcome}`);
  }
  runner.results.length = 0;
  let n = 0;
  const run = (ops: readonly TraceOp[]): LineResult[] => ops.map(op => runner.runLine({ line: ++n, op }));
  run(opts.ops ?? []);
  return { host, container: host.container('c'), results: runner.results, run };
}
