import type { FileContent } from '../fs/content.js';
import type { Clock, FileKind, InoAllocator, Inode } from '../fs/inode.js';
import { Volume, type BackingFs, type NewInodeAttrs } from '../fs/volume.js';
import { imageError, quoteName } from './errors.js';

/** What every image reader accepts: the host's clock and inode allocator, so numbers and times stay deterministic. */
export interface ImageLoadOptions {
  clock?: Clock;
  inos?: InoAllocator;
  backing?: BackingFs;
}

/** An entry kind as archives carry them: an inode kind, or a hard link to an earlier entry. */
export type EntryKind = FileKind | 'hardlink';

/**
 * One entry of an image archive or host tree, in the order the archive lists it: the neutral form that the tar reader,
 * the directory reader and the builtin images produce, and `buildVolume` turns into a Volume.
 */
export interface ArchiveEntry {
  /** The name as the archive gives it: may be absolute or hold `.` and `..` components; `buildVolume` normalises it. */
  readonly name: string;
  readonly kind: EntryKind;
  /** Permission bits (07777); higher bits are ignored. */
  readonly mode: number;
  readonly uid: number;
  readonly gid: number;
  /** Seconds since the epoch. */
  readonly mtime: number;
  readonly atime?: number;
  /** Regular files. */
  readonly content?: FileContent;
  /** Symlinks: the target as stored. Hard links: the name of the earlier entry linked to. */
  readonly target?: string;
  /** Character and block devices: st_rdev. */
  readonly rdev?: number;
  readonly xattrs?: ReadonlyMap<string, Uint8Array>;
}

/** NAME_MAX on ext4, xfs and btrfs: a longer component could not be extracted. */
const NAME_MAX_BYTES = 255;

/**
 * The entry name as a path relative to the image root, '' for the root itself. Docker strips the leading `/` and
 * cleans the name lexically (`filepath.Clean`), then refuses names that still climb out of the root
 * (pkg/archive `createTarFile`: "invalid hardlink / breakout"); we do the same.
 */
export function normaliseEntryName(name: string): string {
  const parts: string[] = [];
  for (const part of name.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') {
      if (parts.length === 0) throw imageError(`entry ${quoteName(name)} escapes the image root`);
      parts.pop();
      continue;
    }
    if (Buffer.byteLength(part) > NAME_MAX_BYTES) {
      throw imageError(`entry ${quoteName(name)} has a component longer than ${NAME_MAX_BYTES} bytes`);
    }
    parts.push(part);
  }
  return parts.join('/');
}

function parentOf(path: string): string {
  const slash = path.lastIndexOf('/');
  return slash < 0 ? '' : path.slice(0, slash);
}

function baseOf(path: string): string {
  return path.slice(path.lastIndexOf('/') + 1);
}

/** Each proper ancestor of `path`, outermost first ('a/b/c' -> 'a', 'a/b'). */
function ancestorsOf(path: string): string[] {
  const out: string[] = [];
  for (let i = path.indexOf('/'); i >= 0; i = path.indexOf('/', i + 1)) out.push(path.slice(0, i));
  return out;
}

/** One step of building the tree, decided before anything is built so that bad input builds nothing. */
type BuildStep =
  | { readonly op: 'mkdir'; readonly path: string }
  | { readonly op: 'remove'; readonly path: string }
  | { readonly op: 'merge'; readonly path: string; readonly entry: ArchiveEntry }
  | { readonly op: 'create'; readonly path: string; readonly kind: FileKind; readonly entry: ArchiveEntry }
  | { readonly op: 'link'; readonly path: string; readonly target: string; readonly entry: ArchiveEntry };

/** What the planner needs to know of a path already in the tree. */
type PlannedKind = 'dir' | 'symlink' | 'other';

function plannedKindOf(kind: FileKind): PlannedKind {
  return kind === 'dir' ? 'dir' : kind === 'symlink' ? 'symlink' : 'other';
}

/**
 * Validates the entries against the tree they build and returns the steps to build it. Refused: names escaping the
 * root, entries whose path goes through a symlink or a non-directory made by an earlier entry (the classic
 * symlink-then-write attack: `ln -s /etc x; x/passwd`), hard links to anything but an earlier non-directory entry,
 * and a non-directory over the root.
 */
function planBuild(entries: readonly ArchiveEntry[]): BuildStep[] {
  const steps: BuildStep[] = [];
  const kinds = new Map<string, PlannedKind>([['', 'dir']]);

  const forget = (path: string): void => {
    // only a directory has paths below it; the scan is skipped for the common file-over-file case
    if (kinds.get(path) === 'dir') {
      const below = `${path}/`;
      for (const key of [...kinds.keys()]) if (key.startsWith(below)) kinds.delete(key);
    }
    kinds.delete(path);
  };

  for (const entry of entries) {
    const path = normaliseEntryName(entry.name);
    if (path === '') {
      if (entry.kind !== 'dir') throw imageError(`entry ${quoteName(entry.name)} would replace the image root`);
      steps.push({ op: 'merge', path, entry });
      continue;
    }
    for (const ancestor of ancestorsOf(path)) {
      const kind = kinds.get(ancestor);
      if (kind === undefined) {
        // tar and Docker create missing parents (MkdirAll, 0755, owned by the extracting root)
        steps.push({ op: 'mkdir', path: ancestor });
        kinds.set(ancestor, 'dir');
      } else if (kind === 'symlink') {
        throw imageError(`entry ${quoteName(entry.name)} goes through the symlink ${quoteName(ancestor)}`);
      } else if (kind === 'other') {
        throw imageError(`entry ${quoteName(entry.name)} goes through ${quoteName(ancestor)}, which is not a directory`);
      }
    }

    let step: BuildStep;
    let kind: PlannedKind;
    if (entry.kind === 'hardlink') {
      const linkTarget = normaliseHardLinkTarget(entry);
      const targetKind = kinds.get(linkTarget);
      if (targetKind === undefined) {
        throw imageError(
          `entry ${quoteName(entry.name)} is a hard link to ${quoteName(entry.target ?? '')}, which is not an earlier entry of the archive`,
        );
      }
      if (targetKind === 'dir') {
        throw imageError(`entry ${quoteName(entry.name)} is a hard link to the directory ${quoteName(linkTarget)}`);
      }
      if (linkTarget === path || linkTarget.startsWith(`${path}/`)) {
        // the entry would replace its own target before linking to it (Docker: RemoveAll, then link(2) fails)
        throw imageError(`entry ${quoteName(entry.name)} is a hard link to ${quoteName(linkTarget)}, which it replaces`);
      }
      kind = targetKind;
      step = { op: 'link', path, target: linkTarget, entry };
    } else {
      if (entry.kind === 'symlink' && !entry.target) {
        throw imageError(`entry ${quoteName(entry.name)} is a symlink with an empty target`);
      }
      kind = plannedKindOf(entry.kind);
      step = { op: 'create', path, kind: entry.kind, entry };
    }

    const existing = kinds.get(path);
    if (existing === 'dir' && entry.kind === 'dir') {
      // a directory over a directory keeps its contents and takes the new attributes (tar, Docker)
      steps.push({ op: 'merge', path, entry });
      continue;
    }
    if (existing !== undefined) {
      // any other later entry replaces the earlier one, a directory with its contents (Docker: os.RemoveAll)
      steps.push({ op: 'remove', path });
      forget(path);
    }
    steps.push(step);
    kinds.set(path, kind);
  }
  return steps;
}

function normaliseHardLinkTarget(entry: ArchiveEntry): string {
  try {
    return normaliseEntryName(entry.target ?? '');
  } catch {
    throw imageError(`entry ${quoteName(entry.name)} is a hard link to ${quoteName(entry.target ?? '')}, outside the image root`);
  }
}

function inodeAttrs(entry: ArchiveEntry): NewInodeAttrs {
  // symlink(7): a symlink's permission bits are always 0777 on Linux; tar's are ignored
  const mode = entry.kind === 'symlink' ? 0o777 : entry.mode;
  return { mode, uid: entry.uid, gid: entry.gid, target: entry.target, rdev: entry.rdev, content: entry.content };
}

function setXattrs(volume: Volume, inode: Inode, entry: ArchiveEntry): void {
  for (const [name, value] of entry.xattrs ?? []) volume.setXattr(inode, name, value);
}

/** Applies a header's owner and mode to an existing inode (a directory merged, or the inode a hard link names). */
function applyHeaderAttrs(volume: Volume, inode: Inode, entry: ArchiveEntry): void {
  inode.uid = entry.uid;
  inode.gid = entry.gid;
  // Docker chmods a hard link's inode unless it is a symlink (lchmod does not exist on Linux)
  if (inode.kind !== 'symlink') inode.mode = entry.mode & 0o7777;
  inode.ctime = volume.clock.now();
  volume.chargeInode();
  setXattrs(volume, inode, entry);
}

/** Removes `path` and, for a directory, everything below it, so the volume's accounting releases every inode. */
function removeTree(volume: Volume, dir: Inode, name: string): void {
  const inode = dir.entries!.get(name)!;
  if (inode.kind === 'dir') for (const child of [...inode.entries!.keys()]) removeTree(volume, inode, child);
  volume.removeEntry(dir, name);
}

/**
 * Builds a fresh Volume from archive entries, applied in order as tar extraction applies them. Everything is validated
 * first (see `planBuild`), so bad input throws before a single inode number or clock tick is taken from the host.
 *
 * Times follow Docker's pkg/archive: mtime from the entry, atime from the entry but never before mtime, ctime the
 * extraction time (no syscall sets it). They are applied after the whole tree is built, as tar and Docker delay
 * directory times, since adding an entry to a directory moves its mtime.
 */
export function buildVolume(entries: readonly ArchiveEntry[], opts: ImageLoadOptions = {}): Volume {
  const steps = planBuild(entries);
  const volume = new Volume({ clock: opts.clock, inos: opts.inos, backing: opts.backing });
  const timed: [Inode, ArchiveEntry][] = [];
  const dirOf = (path: string): Inode => volume.at(parentOf(path))!;

  for (const step of steps) {
    switch (step.op) {
      case 'mkdir':
        volume.createChild(dirOf(step.path), baseOf(step.path), 'dir', { mode: 0o755, uid: 0, gid: 0 });
        break;
      case 'remove':
        removeTree(volume, dirOf(step.path), baseOf(step.path));
        break;
      case 'merge': {
        const inode = volume.at(step.path)!;
        applyHeaderAttrs(volume, inode, step.entry);
        timed.push([inode, step.entry]);
        break;
      }
      case 'create': {
        const inode = volume.createChild(dirOf(step.path), baseOf(step.path), step.kind, inodeAttrs(step.entry));
        setXattrs(volume, inode, step.entry);
        timed.push([inode, step.entry]);
        break;
      }
      case 'link': {
        const inode = volume.at(step.target)!;
        volume.addEntry(dirOf(step.path), baseOf(step.path), inode);
        applyHeaderAttrs(volume, inode, step.entry);
        timed.push([inode, step.entry]);
        break;
      }
    }
  }
  for (const [inode, entry] of timed) {
    inode.mtime = entry.mtime;
    inode.atime = Math.max(entry.atime ?? entry.mtime, entry.mtime);
  }
  return volume;
}
