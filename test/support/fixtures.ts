/**
 * Shared fixtures for the property tests: the driver variants every property runs over, a small base image (built
 * both as a layer tree for the simulator and as a plain description the reference filesystem replays), and a helper
 * that starts one container on it.
 */
import type { DriverModel } from '../../src/engine/driver.js';
import { resolveOptions } from '../../src/engine/drivers.js';
import { Host, type ContainerRecord } from '../../src/engine/host.js';
import { FileContent } from '../../src/fs/content.js';
import type { Inode } from '../../src/fs/inode.js';
import { Volume } from '../../src/fs/volume.js';
import { allModels } from '../../models/index.js';

/** A driver model with one set of options, named for `describe.each`. */
export interface ModelVariant {
  readonly label: string;
  readonly model: DriverModel;
  readonly options: Record<string, string>;
}

function variant(model: DriverModel, given: Record<string, string> = {}): ModelVariant {
  const extra = Object.entries(given).map(([k, v]) => `${k}=${v}`);
  return { label: [model.name, ...extra].join(' '), model, options: resolveOptions(model, given) };
}

const overlay2 = allModels.find(m => m.name === 'overlay2');

/** Every registered model with its defaults, plus overlay2 with each non-default option turned on. */
export const modelVariants: readonly ModelVariant[] = [
  ...allModels.map(m => variant(m)),
  ...(overlay2 === undefined
    ? []
    : [variant(overlay2, { redirect_dir: 'on' }), variant(overlay2, { metacopy: 'on' }), variant(overlay2, { index: 'on' })]),
];

/**
 * How a variant departs from plain POSIX, by the kernel's rules for the mechanism it models (see reference.ts):
 * - `dirRename`: rename(2) of a directory that exists in a lower layer (overlayfs: EXDEV unless redirect_dir=on, which
 *   metacopy=on turns on; AUFS: EXDEV unless the directory is empty).
 * - `breaksLowerHardLinks`: copy-up of a hard-linked lower file gives that name a new inode (overlayfs index=off).
 */
export interface UnionSemantics {
  readonly dirRename: 'posix' | 'EXDEV' | 'EXDEV-unless-empty';
  readonly breaksLowerHardLinks: boolean;
}

export function unionSemantics(v: ModelVariant): UnionSemantics {
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
  | { readonly path: string; readonly type: 'file'; readonly mode: number; readonly content: string | Uint8Array }
  | { readonly path: string; readonly type: 'symlink'; readonly target: string }
  /** A second name for the file at `to` (a hard link within the image layer). */
  | { readonly path: string; readonly type: 'hardlink'; readonly to: string };

/**
 * The base image. Its names come from the arbitraries' alphabet (a b c d f s) so that generated paths often hit
 * existing entries: a populated directory, an empty one, a nested one, files, a relative directory symlink and an
 * absolute file symlink.
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

/** The base image as a layer tree (`Volume`), for `host.loadImage`. */
export function buildLayer(entries: readonly BaseEntry[]): Volume {
  const v = new Volume();
  const owner = { uid: 0, gid: 0 };
  for (const e of entries) {
    const [dirPath, name] = splitPath(e.path);
    const dir = v.at(dirPath)!;
    switch (e.type) {
      case 'dir':
        v.createChild(dir, name, 'dir', { mode: e.mode, ...owner });
        break;
      case 'file':
        v.createChild(dir, name, 'file', { mode: e.mode, ...owner, content: FileContent.fromBytes(typeof e.content === 'string' ? Buffer.from(e.content) : e.content) });
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

/** A host on `variant` with the base image loaded as `base`, and one container `c1` on it (no init layer). */
export interface Setup {
  readonly host: Host;
  /** The current container: after a commit, the one run from the committed image. */
  container: ContainerRecord;
  /** The image's layer ids (these must never change). */
  readonly imageLayers: readonly string[];
}

export function setUp(v: ModelVariant, entries: readonly BaseEntry[] = BASE_TREE): Setup {
  const host = new Host(v.model, v.options, { seed: 1 });
  host.loadImage('base', [buildLayer(entries)]);
  const container = host.run('c1', 'base', false);
  return { host, container, imageLayers: host.image('base').layers };
}
