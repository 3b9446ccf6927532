/**
 * A synchronous reader for tar archives as container tooling writes them: POSIX ustar with pax extended headers
 * (POSIX.1-2001, what Go's archive/tar writes for Docker and containerd), GNU tar's long-name extensions, and plain v7
 * headers. tar-stream is stream-based and delivers entries asynchronously, so the header format is parsed here
 * directly; it is small and every malformed field is refused rather than guessed at.
 */
import { FileContent } from '../fs/content.js';
import type { Volume } from '../fs/volume.js';
import { decompressArchive } from './compression.js';
import { imageError, quoteName } from './errors.js';
import { buildVolume, type ArchiveEntry, type EntryKind, type ImageLoadOptions } from './tree.js';

const BLOCK = 512;
/** Sizes above 1 TiB are refused outright: no image layer holds such a file and the header is most likely hostile. */
const MAX_ENTRY_SIZE = 2 ** 40;

/** One member of a tar archive, extension headers already folded in. `data` is a view of the archive's bytes. */
export interface TarMember {
  readonly name: string;
  readonly linkname: string;
  /** The ustar typeflag character ('0' regular, '1' hard link, '2' symlink, '3' chr, '4' blk, '5' dir, '6' fifo...). */
  readonly typeflag: string;
  readonly mode: number;
  readonly uid: number;
  readonly gid: number;
  readonly size: number;
  readonly mtime: number;
  readonly atime?: number;
  readonly devmajor: number;
  readonly devminor: number;
  readonly xattrs: ReadonlyMap<string, Uint8Array>;
  readonly data: Uint8Array;
  /** Byte offset of the member's header, for messages. */
  readonly offset: number;
}

/** The fields of a ustar header block (POSIX.1-1988 `ustar` Header Block, with GNU's variant of the magic). */
interface RawHeader {
  name: string;
  linkname: string;
  typeflag: string;
  mode: number;
  uid: number;
  gid: number;
  size: number;
  mtime: number;
  devmajor: number;
  devminor: number;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Tar names are bytes. UTF-8 (what pax mandates and every current tool writes) is decoded as such; anything else is
 * read as Latin-1, one code unit per byte, so a legacy-charset name still maps to one distinct name.
 */
function decodeName(bytes: Uint8Array): string {
  try {
    return utf8.decode(bytes);
  } catch {
    return Buffer.from(bytes).toString('latin1');
  }
}

/** A NUL-terminated string field. */
function cString(field: Uint8Array): string {
  const nul = field.indexOf(0);
  return decodeName(nul < 0 ? field : field.subarray(0, nul));
}

/**
 * A numeric header field: octal ASCII padded with spaces or NULs, or GNU's base-256 (first byte's high bit set: 0x80
 * positive, 0xff negative), which Go's archive/tar writes for values that do not fit the octal field.
 */
function parseNumeric(field: Uint8Array, what: string, at: number): number {
  const first = field[0]!;
  if (first & 0x80) {
    const negative = first === 0xff;
    let value = 0;
    for (let i = 0; i < field.length; i++) {
      const byte = i === 0 ? first & 0x7f : field[i]!;
      value = value * 256 + (negative ? 0xff - byte : byte);
      if (value > Number.MAX_SAFE_INTEGER) throw imageError(`tar header at offset ${at}: ${what} field overflows`);
    }
    return negative ? -(value + 1) : value;
  }
  const text = Buffer.from(field).toString('latin1').replace(/^[ \0]+|[ \0]+$/g, '');
  if (text === '') return 0;
  if (!/^[0-7]+$/.test(text)) throw imageError(`tar header at offset ${at}: bad ${what} field '${text}'`);
  return parseInt(text, 8);
}

function isZeroBlock(block: Uint8Array): boolean {
  for (const b of block) if (b !== 0) return false;
  return true;
}

/**
 * The header checksum: the sum of the block's bytes with the checksum field read as spaces. Historic tars summed
 * signed chars, so both sums are accepted, as GNU tar and Go's archive/tar do.
 */
function checksumMatches(block: Uint8Array, at: number): boolean {
  let stored: number;
  try {
    stored = parseNumeric(block.subarray(148, 156), 'checksum', at);
  } catch {
    return false; // not even a number: not a tar header
  }
  let unsigned = 0;
  let signed = 0;
  for (let i = 0; i < BLOCK; i++) {
    const b = i >= 148 && i < 156 ? 0x20 : block[i]!;
    unsigned += b;
    signed += b > 127 ? b - 256 : b;
  }
  return stored === unsigned || stored === signed;
}

function decodeHeader(block: Uint8Array, at: number): RawHeader {
  const magic = Buffer.from(block.subarray(257, 263)).toString('latin1');
  let name = cString(block.subarray(0, 100));
  // POSIX ustar splits long names into prefix/name; GNU's "ustar  " header uses those bytes for other fields
  if (magic === 'ustar\0') {
    const prefix = cString(block.subarray(345, 500));
    if (prefix !== '') name = `${prefix}/${name}`;
  }
  return {
    name,
    linkname: cString(block.subarray(157, 257)),
    typeflag: String.fromCharCode(block[156]!),
    mode: parseNumeric(block.subarray(100, 108), 'mode', at),
    uid: parseNumeric(block.subarray(108, 116), 'uid', at),
    gid: parseNumeric(block.subarray(116, 124), 'gid', at),
    size: parseNumeric(block.subarray(124, 136), 'size', at),
    mtime: parseNumeric(block.subarray(136, 148), 'mtime', at),
    devmajor: parseNumeric(block.subarray(329, 337), 'devmajor', at),
    devminor: parseNumeric(block.subarray(337, 345), 'devminor', at),
  };
}

/** pax extended header records: `"%d %s=%s\n"`, length first and counting itself (POSIX.1-2001 pax, "pax Header Block"). */
function parsePaxRecords(data: Uint8Array, at: number): Map<string, Uint8Array> {
  const records = new Map<string, Uint8Array>();
  const bad = (): Error => imageError(`tar pax header at offset ${at} is malformed`);
  let pos = 0;
  while (pos < data.length) {
    const space = data.indexOf(0x20, pos);
    if (space < 0) throw bad();
    const lengthText = Buffer.from(data.subarray(pos, space)).toString('latin1');
    if (!/^[0-9]+$/.test(lengthText)) throw bad();
    const length = parseInt(lengthText, 10);
    const end = pos + length;
    if (end > data.length || end <= space + 1 || data[end - 1] !== 0x0a) throw bad();
    const record = data.subarray(space + 1, end - 1);
    const eq = record.indexOf(0x3d);
    if (eq <= 0) throw bad();
    // values are bytes: SCHILY.xattr values are binary, so only keys are decoded
    records.set(decodeName(record.subarray(0, eq)), record.subarray(eq + 1));
    pos = end;
  }
  return records;
}

function paxText(records: ReadonlyMap<string, Uint8Array>, key: string): string | undefined {
  const value = records.get(key);
  return value === undefined ? undefined : decodeName(value);
}

function paxInteger(records: ReadonlyMap<string, Uint8Array>, key: string, name: string): number | undefined {
  const text = paxText(records, key);
  if (text === undefined) return undefined;
  if (!/^[0-9]+$/.test(text)) throw imageError(`tar entry ${quoteName(name)}: bad pax ${key} '${text}'`);
  return parseInt(text, 10);
}

/** pax times are decimal seconds with an optional fraction (`1614000000.123456789`). */
function paxTime(records: ReadonlyMap<string, Uint8Array>, key: string, name: string): number | undefined {
  const text = paxText(records, key);
  if (text === undefined) return undefined;
  if (!/^-?[0-9]+(\.[0-9]+)?$/.test(text)) throw imageError(`tar entry ${quoteName(name)}: bad pax ${key} '${text}'`);
  return parseFloat(text);
}

/** libarchive percent-encodes the xattr name in `LIBARCHIVE.xattr.NAME` (its `url_encode`). */
function percentDecode(text: string): string {
  const bytes: number[] = [];
  for (let i = 0; i < text.length; i++) {
    const hex = text.slice(i + 1, i + 3);
    if (text[i] === '%' && /^[0-9a-fA-F]{2}$/.test(hex)) {
      bytes.push(parseInt(hex, 16));
      i += 2;
    } else {
      bytes.push(...Buffer.from(text[i]!, 'utf8'));
    }
  }
  return decodeName(Uint8Array.from(bytes));
}

/**
 * Extended attributes from pax records: `SCHILY.xattr.NAME=<raw bytes>` (star, GNU tar, Go's archive/tar, hence
 * Docker) and `LIBARCHIVE.xattr.NAME=<base64>` (bsdtar). When both name the same attribute, SCHILY's exact bytes win.
 */
function paxXattrs(records: ReadonlyMap<string, Uint8Array>): Map<string, Uint8Array> {
  const xattrs = new Map<string, Uint8Array>();
  for (const [key, value] of records) {
    if (key.startsWith('LIBARCHIVE.xattr.')) {
      const name = percentDecode(key.slice('LIBARCHIVE.xattr.'.length));
      xattrs.set(name, new Uint8Array(Buffer.from(decodeName(value), 'base64')));
    }
  }
  for (const [key, value] of records) {
    if (key.startsWith('SCHILY.xattr.')) xattrs.set(key.slice('SCHILY.xattr.'.length), value.slice());
  }
  return xattrs;
}

/** Extension headers seen since the last member; they apply to the next one. */
interface PendingExtensions {
  pax?: Map<string, Uint8Array>;
  longName?: string;
  longLink?: string;
}

/**
 * Header-only types carry no data blocks whatever their size field says (Go's archive/tar `isHeaderOnlyType`, which
 * Docker reads layers with).
 */
function carriesData(typeflag: string): boolean {
  return !'123456'.includes(typeflag);
}

/** Typeflags of headers that describe the next member or the archive rather than a file. */
const EXTENSION_TYPEFLAGS = ['x', 'g', 'L', 'K', 'V'];

/** pax global records apply to every later member; an empty value deletes a key (POSIX pax, "g" typeflag). */
function mergeRecords(base: ReadonlyMap<string, Uint8Array>, over: ReadonlyMap<string, Uint8Array>): Map<string, Uint8Array> {
  const merged = new Map(base);
  for (const [key, value] of over) {
    if (value.length === 0) merged.delete(key);
    else merged.set(key, value);
  }
  return merged;
}

function roundUpToBlock(n: number): number {
  return Math.ceil(n / BLOCK) * BLOCK;
}

/**
 * Every member of an uncompressed tar archive, in order. Throws (`image: ...`) on a bad header checksum, a malformed
 * field or pax record, a size above 1 TiB, or an archive that ends inside a header or a member's data. An archive may
 * end with the two zero blocks of POSIX or exactly after the last member (Go's archive/tar accepts both).
 */
export function parseTar(bytes: Uint8Array): TarMember[] {
  const members: TarMember[] = [];
  let globals = new Map<string, Uint8Array>();
  let pending: PendingExtensions = {};
  let offset = 0;

  for (;;) {
    if (offset >= bytes.length) {
      if (pending.pax || pending.longName !== undefined || pending.longLink !== undefined) {
        throw imageError(`tar archive is truncated: an extension header at the end has no member`);
      }
      break;
    }
    if (bytes.length - offset < BLOCK) {
      throw imageError(
        offset === 0
          ? `not a tar archive (${bytes.length} bytes, shorter than one header block)`
          : `tar archive is truncated inside the header at offset ${offset}`,
      );
    }
    const block = bytes.subarray(offset, offset + BLOCK);
    if (isZeroBlock(block)) break;
    if (!checksumMatches(block, offset)) {
      const rawName = quoteName(cString(block.subarray(0, 100)));
      throw imageError(`tar header at offset ${offset} (entry ${rawName}) has a bad checksum; not a tar archive or corrupt`);
    }
    const header = decodeHeader(block, offset);
    // extension headers are sized by their own header; a member's pax `size` overrides its header field
    const isExtension = EXTENSION_TYPEFLAGS.includes(header.typeflag);
    const records = isExtension ? new Map<string, Uint8Array>() : mergeRecords(globals, pending.pax ?? new Map());
    const name = isExtension ? header.name : (paxText(records, 'path') ?? pending.longName ?? header.name);

    const size = paxInteger(records, 'size', name) ?? header.size;
    const dataSize = carriesData(header.typeflag) ? size : 0;
    if (size < 0 || size > MAX_ENTRY_SIZE) {
      throw imageError(`tar entry ${quoteName(name)} has an absurd size (${size} bytes)`);
    }
    const dataStart = offset + BLOCK;
    if (dataSize > bytes.length - dataStart) {
      throw imageError(
        `tar entry ${quoteName(name)} claims ${dataSize} bytes but the archive has ${bytes.length - dataStart} left: truncated archive`,
      );
    }
    const data = bytes.subarray(dataStart, dataStart + dataSize);
    const headerOffset = offset;
    offset = dataStart + roundUpToBlock(dataSize);

    switch (header.typeflag) {
      case 'x':
        // empty values are kept here: over the globals they mean "unset for this member"
        pending.pax = new Map([...(pending.pax ?? []), ...parsePaxRecords(data, headerOffset)]);
        continue;
      case 'g':
        globals = mergeRecords(globals, parsePaxRecords(data, headerOffset));
        continue;
      case 'L':
        pending.longName = cString(data);
        continue;
      case 'K':
        pending.longLink = cString(data);
        continue;
      case 'V':
        // a GNU volume label names the archive, not a file
        pending = {};
        continue;
    }

    for (const key of records.keys()) {
      if (key.startsWith('GNU.sparse.')) {
        throw imageError(`tar entry ${quoteName(name)} is a GNU sparse file, which is not supported`);
      }
    }
    members.push({
      name,
      linkname: paxText(records, 'linkpath') ?? pending.longLink ?? header.linkname,
      typeflag: header.typeflag,
      mode: header.mode,
      uid: paxInteger(records, 'uid', name) ?? header.uid,
      gid: paxInteger(records, 'gid', name) ?? header.gid,
      size,
      mtime: paxTime(records, 'mtime', name) ?? header.mtime,
      atime: paxTime(records, 'atime', name),
      devmajor: header.devmajor,
      devminor: header.devminor,
      xattrs: paxXattrs(records),
      data,
      offset: headerOffset,
    });
    pending = {};
  }
  return members;
}

/** glibc's `makedev`: the st_rdev encoding Linux reports for a (major, minor) pair. */
export function makedev(major: number, minor: number): number {
  return (minor & 0xff) + (major & 0xfff) * 0x100 + Math.floor(minor / 0x100) * 0x100000 + Math.floor(major / 0x1000) * 2 ** 32;
}

const KIND_BY_TYPEFLAG: Readonly<Record<string, EntryKind>> = {
  '0': 'file',
  '\0': 'file',
  // contiguous files are regular files on every system that does not implement them (all of them)
  '7': 'file',
  '1': 'hardlink',
  '2': 'symlink',
  '3': 'chr',
  '4': 'blk',
  '5': 'dir',
  '6': 'fifo',
  // a GNU dumpdir is a directory whose data lists its contents at dump time
  D: 'dir',
};

const TYPEFLAG_NAMES: Readonly<Record<string, string>> = {
  S: 'a GNU sparse file',
  M: 'a GNU multi-volume continuation',
  N: 'an old GNU long-name entry',
};

/**
 * The entry a tar member describes. Unknown typeflags are refused, as Docker refuses them ("unhandled tar header
 * type"), rather than extracted as regular files as POSIX would have it.
 */
export function memberToEntry(member: TarMember): ArchiveEntry {
  let kind = KIND_BY_TYPEFLAG[member.typeflag];
  if (kind === undefined) {
    const what = TYPEFLAG_NAMES[member.typeflag] ?? `of unknown type ${JSON.stringify(member.typeflag)}`;
    throw imageError(`tar entry ${quoteName(member.name)} is ${what}, which is not supported`);
  }
  // pre-POSIX tars mark a directory by a trailing slash on a regular-file entry
  if (kind === 'file' && member.typeflag !== '7' && member.name.endsWith('/')) kind = 'dir';
  const base = {
    name: member.name,
    mode: member.mode & 0o7777,
    uid: member.uid,
    gid: member.gid,
    mtime: member.mtime,
    atime: member.atime,
    xattrs: member.xattrs.size > 0 ? member.xattrs : undefined,
  };
  switch (kind) {
    case 'file':
      // copied out so that the Volume does not keep the whole archive alive
      return { ...base, kind, content: FileContent.fromBytes(member.data.slice()) };
    case 'symlink':
    case 'hardlink':
      return { ...base, kind, target: member.linkname };
    case 'chr':
    case 'blk':
      return { ...base, kind, rdev: makedev(member.devmajor, member.devminor) };
    case 'dir':
    case 'fifo':
    case 'sock':
      return { ...base, kind };
  }
}

/**
 * A root filesystem tar (`docker export`, `docker import`'s input) or a single image layer tar, as a Volume. gzip and
 * zstd input is recognised by its magic number. `.wh.*` whiteout files are kept as the ordinary empty files they are
 * in the archive: applying layers is the driver's business. Hostile or corrupt input throws `image: ...` and builds
 * nothing.
 */
export function readRootfsTar(bytes: Uint8Array, opts: ImageLoadOptions = {}): Volume {
  const archive = decompressArchive(bytes, 'tar archive');
  const entries = parseTar(archive).map(memberToEntry);
  return buildVolume(entries, opts);
}
