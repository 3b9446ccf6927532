import type { Inode } from '../../src/fs/inode.js';
import type { Volume } from '../../src/fs/volume.js';
import type { VolumeEntryJSON } from '../../src/fs/volume.js';
import type { BranchFormat, BranchListing, UpperRole } from '../../src/union/branch-format.js';
import { aufsParams } from './params.js';

/** include/uapi/linux/aufs_type.h */
const WH_PFX = '.wh.';
const WH_BASE = '.wh..wh.aufs';
const WH_DIROPQ = '.wh..wh..opq';
const WH_PLINKDIR = '.wh..wh.plnk';
const WH_ORPHDIR = '.wh..wh.orph';

/**
 * The whiteout base: "all whiteouts are hard-linked to it, in order not to consume inode on the writable branch"
 * (design/02struct.txt "Whiteout Base").
 */
function whiteoutBase(volume: Volume): Inode {
  return volume.root.entries!.get(WH_BASE) ?? volume.createChild(volume.root, WH_BASE, 'file', { mode: 0o444, uid: 0, gid: 0 });
}

function linkMarker(volume: Volume, dir: Inode, markerName: string): void {
  volume.addEntry(dir, markerName, whiteoutBase(volume));
}

function baseName(path: string): string {
  return path.slice(path.lastIndexOf('/') + 1);
}

function dirName(path: string): string {
  return path.slice(0, path.lastIndexOf('/')) || '/';
}

function join(dir: string, name: string): string {
  return dir === '/' ? `/${name}` : `${dir}/${name}`;
}

/** A listed entry by its name: AUFS keeps every marker in the name (`.wh.` prefix), none in xattrs. */
function roleOf(e: VolumeEntryJSON): UpperRole {
  const name = baseName(e.path);
  if (e.path.startsWith(`/${WH_PLINKDIR}/`)) return { role: 'pseudo-link' };
  if (name === WH_DIROPQ) return { role: 'opaque', of: dirName(e.path) };
  if (name.startsWith(`${WH_PFX}${WH_PFX}`)) return { role: 'internal' };
  if (name.startsWith(WH_PFX)) return { role: 'whiteout', of: join(dirName(e.path), name.slice(WH_PFX.length)) };
  return { role: 'entry' };
}

const aufsListing: BranchListing = {
  form: 'aufs',
  roleOf,
  isOpaqueDir: () => false,
  redirectOf: () => undefined,
  isMetacopy: () => false,
  hasOrigin: () => false,
  whiteoutForm: '.wh. hard link',
  opaqueMarker: WH_DIROPQ,
  whiteoutMark: of => `whiteout of ${baseName(of)}`,
  exdevWhy: 'a non-empty directory from a lower branch: mv falls back to copy + delete',
};

/** The AUFS on-disk form of a branch: `.wh.<name>` whiteouts, `.wh..wh..opq` opaque markers, pseudo-links. */
export const aufsFormat: BranchFormat = {
  name: 'aufs',
  listing: aufsListing,
  probe(dir, name) {
    // au_do_lookup(): on a whiteout-able branch, test ".wh.<name>" first, then look the name up (and, for a
    // directory, test its opaque marker)
    const entries = dir.entries!;
    if (entries.has(WH_PFX + name)) return null;
    return entries.get(name);
  },
  // a whiteout ends the probe at its own test; else the whiteout test and the lookup, plus the opaque test of a directory
  probeCost: found =>
    found === null ? 1 : aufsParams.probesPerBranch + (found?.kind === 'dir' ? aufsParams.opaqueTestProbes : 0),
  hasWhiteout: (dir, name) => dir.entries!.has(WH_PFX + name),
  addWhiteout: (volume, dir, name) => linkMarker(volume, dir, WH_PFX + name),
  removeWhiteout: (volume, dir, name) => void volume.removeEntry(dir, WH_PFX + name),
  isOpaque: dir => dir.entries!.has(WH_DIROPQ),
  setOpaque(volume, dir) {
    if (!dir.entries!.has(WH_DIROPQ)) linkMarker(volume, dir, WH_DIROPQ);
  },
  whiteouts: dir =>
    [...dir.entries!.keys()].filter(n => n.startsWith(WH_PFX) && !n.startsWith(WH_PFX + WH_PFX)).map(n => n.slice(WH_PFX.length)),
  visibleNames: dir => [...dir.entries!.keys()].filter(n => !n.startsWith(WH_PFX)),
  clearMarkers(volume, dir) {
    for (const name of [...dir.entries!.keys()]) if (name.startsWith(WH_PFX)) volume.removeEntry(dir, name);
  },
  // names starting with ".wh." are reserved for the union itself
  isReservedName: name => name.startsWith(WH_PFX),
  isPrivateXattr: () => false,
  prepareUpper(volume) {
    // au_wh_init(): a writable branch gets the whiteout base, the pseudo-link dir and the orphan dir
    whiteoutBase(volume);
    for (const d of [WH_PLINKDIR, WH_ORPHDIR]) {
      if (!volume.root.entries!.has(d)) volume.createChild(volume.root, d, 'dir', { mode: 0o700, uid: 0, gid: 0 });
    }
  },
  markCopiedUp(volume, upper, lower) {
    // au_plink_append(): a copied-up hard-linked file is also linked under .wh..wh.plnk so its other names follow it
    if (lower.kind !== 'dir' && lower.nlink > 1) {
      const plnk = volume.root.entries!.get(WH_PLINKDIR);
      if (plnk !== undefined) volume.addEntry(plnk, `${lower.ino}`, upper);
    }
  },
};
