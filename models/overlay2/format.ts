import type { Inode } from '../../src/fs/inode.js';
import type { Volume } from '../../src/fs/volume.js';
import type { BranchFormat, BranchListing } from '../../src/union/branch-format.js';

const OPAQUE = 'trusted.overlay.opaque';
const REDIRECT = 'trusted.overlay.redirect';
const METACOPY = 'trusted.overlay.metacopy';
const ORIGIN = 'trusted.overlay.origin';
const UUID = 'trusted.overlay.uuid';
const IMPURE = 'trusted.overlay.impure';
/** overlayfs.rst: a whiteout may also be a zero-size file with this xattr (userspace-built layers). */
const XATTR_WHITEOUT = 'trusted.overlay.whiteout';
const Y = new TextEncoder().encode('y');

/** overlayfs.rst "whiteouts and opaque directories": a 0/0 character device, and trusted.overlay.opaque=y. */
function isWhiteout(e: Inode | undefined): boolean {
  if (e === undefined) return false;
  return e.isWhiteoutDevice() || (e.kind === 'file' && e.content!.size === 0 && (e.xattrs?.has(XATTR_WHITEOUT) ?? false));
}

/** Bytes of the file handle overlayfs records: struct ovl_fb header plus an ext4/tmpfs handle. */
const FH_BYTES = 29;
/** File handles are cut from shared slabs: one view per copy-up instead of a typed array and its own backing store. */
const FH_SLAB_HANDLES = 256;
let fhSlab = new Uint8Array(0);
let fhNext = 0;

/** Encodes the lower inode as overlayfs records it (struct ovl_fb: a file handle); only its presence matters here. */
function fileHandle(lower: Inode): Uint8Array {
  if (fhNext + FH_BYTES > fhSlab.length) {
    fhSlab = new Uint8Array(FH_BYTES * FH_SLAB_HANDLES);
    fhNext = 0;
  }
  const fh = new Uint8Array(fhSlab.buffer, fhNext, FH_BYTES);
  fhNext += FH_BYTES;
  fh[0] = 0; // version
  fh[1] = 0xfb; // OVL_FH_MAGIC
  // the inode number, little-endian u32 at 21 (written byte by byte: no DataView per copy-up)
  const ino = lower.ino;
  fh[21] = ino & 0xff;
  fh[22] = (ino >>> 8) & 0xff;
  fh[23] = (ino >>> 16) & 0xff;
  fh[24] = (ino >>> 24) & 0xff;
  return fh;
}

/** Which optional records the kernel writes (both depend on the kernel version and the upper filesystem). */
export interface OverlayRecords {
  /** trusted.overlay.origin on every copied-up object (ovl_set_origin; needs file handles on the lower fs). */
  readonly origin: boolean;
  /** trusted.overlay.uuid on the upper root at the first read-write mount (ovl_init_uuid_xattr, uuid=auto). */
  readonly uuid: boolean;
}

/** overlayfs markers in a branch listing: a whiteout lists as type 'whiteout' (the 0/0 device), the rest are xattrs. */
const overlayListing: BranchListing = {
  form: 'overlay',
  roleOf: e => (e.type === 'whiteout' ? { role: 'whiteout', of: e.path } : { role: 'entry' }),
  isOpaqueDir: e => e.xattrs?.[OPAQUE] === 'y',
  redirectOf: e => e.xattrs?.[REDIRECT],
  isMetacopy: e => e.xattrs?.[METACOPY] !== undefined,
  hasOrigin: e => e.xattrs?.[ORIGIN] !== undefined,
  whiteoutForm: 'char-device 0/0',
  opaqueMarker: OPAQUE,
  whiteoutMark: () => 'whiteout (0/0 char device)',
  exdevWhy: 'the directory is in a lower layer and redirect_dir is off: mv falls back to copy + delete',
};

/** The overlayfs on-disk form of a branch. */
export function overlayFormat(records: OverlayRecords): BranchFormat {
  return {
    name: 'overlayfs',
    listing: overlayListing,
    prepareUpper(volume) {
      if (records.uuid && !volume.root.xattrs?.has(UUID)) volume.setXattr(volume.root, UUID, fileHandle(volume.root).subarray(0, 16));
    },
    probe(dir, name) {
      const e = dir.entries!.get(name);
      return e !== undefined && isWhiteout(e) ? null : e;
    },
    // ovl_lookup_single(): one lookup_one_len() in the branch directory, whatever it finds
    probeCost: () => 1,
    hasWhiteout: (dir, name) => isWhiteout(dir.entries!.get(name)),
    addWhiteout(volume: Volume, dir: Inode, name: string) {
      // vfs_whiteout(): mknod S_IFCHR|WHITEOUT_MODE (0), WHITEOUT_DEV (0), created with the mounter's credentials
      volume.createChild(dir, name, 'chr', { mode: 0, uid: 0, gid: 0, rdev: 0 });
    },
    removeWhiteout: (volume, dir, name) => void volume.removeEntry(dir, name),
    isOpaque: dir => dir.xattrs?.get(OPAQUE)?.[0] === 0x79,
    setOpaque: (volume, dir) => volume.setXattr(dir, OPAQUE, Y),
    whiteouts: dir => [...dir.entries!].filter(([, e]) => isWhiteout(e)).map(([n]) => n),
    visibleNames: dir => [...dir.entries!].filter(([, e]) => !isWhiteout(e)).map(([n]) => n),
    clearMarkers(volume, dir) {
      for (const [name, e] of [...dir.entries!]) if (isWhiteout(e)) volume.removeEntry(dir, name);
    },
    isReservedName: () => false,
    isPrivateXattr: name => name.startsWith('trusted.overlay.'),
    getRedirect(dir) {
      const v = dir.xattrs?.get(REDIRECT);
      return v === undefined ? undefined : new TextDecoder().decode(v);
    },
    setRedirect: (volume, dir, redirect) => volume.setXattr(dir, REDIRECT, new TextEncoder().encode(redirect)),
    markImpure(volume, dir) {
      if (!dir.xattrs?.has(IMPURE)) volume.setXattr(dir, IMPURE, Y);
    },
    markCopiedUp(volume, upper, lower) {
      if (records.origin) volume.setXattr(upper, ORIGIN, fileHandle(lower));
    },
    setMetacopy(volume, upper, on) {
      if (on) volume.setXattr(upper, METACOPY, new Uint8Array(0));
      else volume.removeXattr(upper, METACOPY);
    },
  };
}
