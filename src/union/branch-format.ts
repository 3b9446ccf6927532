import type { Inode } from '../fs/inode.js';
import type { Volume, VolumeEntryJSON } from '../fs/volume.js';

/**
 * What probing one branch directory for a name found: the real entry, `null` when a whiteout hides the name (and
 * everything below it, in this branch and the branches under it), or `undefined` when the name is not there. (A value
 * rather than a record: lookups probe on every cold name, and the cost follows from the result, see `probeCost`.)
 */
export type BranchProbe = Inode | null | undefined;
/**
 * How a union filesystem records its markers inside a branch directory: whiteouts, opaque directories, redirects,
 * and the names it reserves. overlayfs and AUFS implement the same idea with different on-disk forms; the union
 * mechanism (`UnionMount`) only talks to branches through this.
 */
export interface BranchFormat {
  readonly name: string;
  probe(dir: Inode, name: string): BranchProbe;
  /** Directory lookups on the branch filesystem a probe that found `found` performed. */
  probeCost(found: BranchProbe): number;
  /** Whether the upper directory has a whiteout for `name` (to be replaced when `name` is created). */
  hasWhiteout(dir: Inode, name: string): boolean;
  addWhiteout(volume: Volume, dir: Inode, name: string): void;
  removeWhiteout(volume: Volume, dir: Inode, name: string): void;
  isOpaque(dir: Inode): boolean;
  setOpaque(volume: Volume, dir: Inode): void;
  /** The names a directory of this branch whites out. */
  whiteouts(dir: Inode): string[];
  /** Names a directory shows through the union (markers left out). */
  visibleNames(dir: Inode): string[];
  /** Removes the markers left in an upper directory that is about to be removed (it is empty to the user). */
  clearMarkers(volume: Volume, dir: Inode): void;
  /** Whether the union refuses to create or look up this name (AUFS reserves `.wh.*`). */
  isReservedName(name: string): boolean;
  /** Whether an xattr name belongs to the union itself (hidden from listxattr, never copied up). */
  isPrivateXattr(name: string): boolean;
  /** overlayfs redirect_dir: where a moved directory's lower layers are (absolute "/a/b" or a sibling name). */
  getRedirect?(dir: Inode): string | undefined;
  setRedirect?(volume: Volume, dir: Inode, redirect: string): void;
  /** Marks recorded on a copied-up object (overlayfs trusted.overlay.origin: a file handle of the lower inode). */
  markCopiedUp?(volume: Volume, upper: Inode, lower: Inode): void;
  /** Marks an upper directory that now holds entries with a lower origin (overlayfs trusted.overlay.impure=y). */
  markImpure?(volume: Volume, dir: Inode): void;
  /** Called when a branch is mounted read-write (AUFS creates its whiteout base and pseudo-link dirs). */
  prepareUpper?(volume: Volume): void;
  /** overlayfs metacopy: marks an upper file holding metadata only, its data still in the lower file. */
  setMetacopy?(volume: Volume, upper: Inode, on: boolean): void;
  /** The same markers as they show in a branch listing (`inspectLayer`), which is what `explain` reads. */
  readonly listing: BranchListing;
}

/** What a branch listing entry means in the union: a whiteout of a name, an opaque marker, an internal, or a name. */
export type UpperRole =
  | { role: 'whiteout'; of: string }
  | { role: 'opaque'; of: string }
  | { role: 'pseudo-link' }
  | { role: 'internal' }
  | { role: 'entry' };

/**
 * A format's markers read off a branch listing (`Volume.toJSON` entries) rather than inodes, and named for the
 * narrative: `explain` diffs listings taken before and after each trace line.
 */
export interface BranchListing {
  /** The form as `explain` reports it ('overlay', 'aufs'). */
  readonly form: string;
  roleOf(e: VolumeEntryJSON): UpperRole;
  /** A directory entry opaque by its own mark (overlayfs xattr); a form that marks it with an entry says 'opaque' in `roleOf`. */
  isOpaqueDir(e: VolumeEntryJSON): boolean;
  /** overlayfs redirect_dir: where a moved directory's lower layers are. */
  redirectOf(e: VolumeEntryJSON): string | undefined;
  /** overlayfs metacopy: an upper file holding metadata only. */
  isMetacopy(e: VolumeEntryJSON): boolean;
  /** Whether the entry records the lower object it was copied up from (overlayfs trusted.overlay.origin). */
  hasOrigin(e: VolumeEntryJSON): boolean;
  /** How a whiteout is made, in the narrative ('char-device 0/0'). */
  readonly whiteoutForm: string;
  /** What makes a directory opaque, in the narrative. */
  readonly opaqueMarker: string;
  /** A whiteout's mark in the picture of an upper dir, `of` the path it hides. */
  whiteoutMark(of: string): string;
  /** Why the union refuses to rename a directory from a lower layer (EXDEV). */
  readonly exdevWhy: string;
}
