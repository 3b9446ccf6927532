/**
 * A synchronous writer for POSIX pax archives (POSIX.1-2001 `pax` interchange format: ustar headers, with an `x`
 * extended header before any member whose fields do not fit ustar), as Go's archive/tar writes them for Docker
 * (`tar.FormatPAX`) and as GNU tar, bsdtar and `parseTar` read them. It takes the same `ArchiveEntry` the readers
 * produce, so a tree written and read back is the same tree.
 *
 * Output is a sequence of chunks: headers, and file data read from the symbolic `FileContent` at most `DATA_CHUNK`
 * bytes at a time, holes as views of one shared zero buffer. A 1 TiB sparse file thus never needs its bytes in memory
 * at once; `writeTar` concatenates the chunks for callers that want one buffer.
 */
import type { FileContent } from '../fs/content.js';
import type { ArchiveEntry, EntryKind } from './tree.js';

const BLOCK = 512;
/** How much file data is materialised at a time. */
const DATA_CHUNK = 1 << 20;
const ZEROS = new Uint8Array(DATA_CHUNK);

/** The largest value of an 8-byte octal field (7 digits and a NUL): ustar's limit for mode, uid, gid, dev numbers. */
const MAX_OCTAL_8 = 0o7777777;
/** The largest value of a 12-byte octal field (11 digits and a NUL): size and mtime. Sizes of 8 GiB need pax. */
const MAX_OCTAL_12 = 0o77777777777;

const encoder = new TextEncoder();

/** ustar typeflags (POSIX.1-1988 "ustar Interchange Format"). Sockets have none: tar cannot archive them. */
const TYPEFLAG: Readonly<Record<Exclude<EntryKind, 'sock'>, string>> = {
  file: '0',
  hardlink: '1',
  symlink: '2',
  chr: '3',
  blk: '4',
  dir: '5',
  fifo: '6',
};

/** glibc's `major()`/`minor()` for a 64-bit st_rdev: the inverse of `makedev` in tar.ts. */
export function splitDev(rdev: number): { major: number; minor: number } {
  const dev = BigInt(rdev);
  return {
    major: Number(((dev >> 8n) & 0xfffn) | ((dev >> 32n) & 0xfffff000n)),
    minor: Number((dev & 0xffn) | ((dev >> 12n) & 0xffffff00n)),
  };
}

/** The ustar header fields of one member, before encoding. */
interface HeaderFields {
  name: Uint8Array;
  mode: number;
  uid: number;
  gid: number;
  size: number;
  mtime: number;
  typeflag: string;
  linkname: Uint8Array;
  devmajor: number;
  devminor: number;
}

function isAscii(bytes: Uint8Array): boolean {
  for (const b of bytes) if (b > 0x7f) return false;
  return true;
}

/** A string field that ustar can hold: at most `length` bytes of portable (ASCII) text, as Go's writer demands. */
function fitsStringField(bytes: Uint8Array, length: number): boolean {
  return bytes.length <= length && isAscii(bytes) && !bytes.includes(0);
}

function putBytes(block: Uint8Array, offset: number, length: number, bytes: Uint8Array): void {
  block.set(bytes.subarray(0, length), offset);
}

/**
 * A numeric field: zero-padded octal and a NUL, as POSIX specifies. Values too large for octal are written in GNU's
 * base-256 (first byte 0x80), which GNU tar, Go and `parseTar` read; only device numbers ever need it, since every
 * other field that overflows goes to a pax record and its ustar field is left 0 (Go's archive/tar does the same).
 */
function putNumber(block: Uint8Array, offset: number, length: number, value: number): void {
  const digits = value.toString(8);
  if (digits.length <= length - 1) {
    putBytes(block, offset, length, encoder.encode(`${digits.padStart(length - 1, '0')}\0`));
    return;
  }
  let v = value;
  for (let i = length - 1; i > 0; i--) {
    block[offset + i] = v % 256;
    v = Math.floor(v / 256);
  }
  block[offset] = 0x80;
}

/** The ustar header block: the field offsets of POSIX's `ustar` header, magic "ustar\0" version "00", no uname/gname. */
function encodeHeader(fields: HeaderFields): Uint8Array {
  const block = new Uint8Array(BLOCK);
  putBytes(block, 0, 100, fields.name);
  putNumber(block, 100, 8, fields.mode);
  putNumber(block, 108, 8, fields.uid);
  putNumber(block, 116, 8, fields.gid);
  putNumber(block, 124, 12, fields.size);
  putNumber(block, 136, 12, fields.mtime);
  block[156] = fields.typeflag.charCodeAt(0);
  putBytes(block, 157, 100, fields.linkname);
  putBytes(block, 257, 8, encoder.encode('ustar\x0000'));
  // uname and gname stay empty: Docker's layers carry numeric ids only, and tar then never maps names to ids
  putNumber(block, 329, 8, fields.devmajor);
  putNumber(block, 337, 8, fields.devminor);
  // the checksum is the byte sum with its own field read as spaces, stored as six octal digits, NUL, space
  block.fill(0x20, 148, 156);
  let sum = 0;
  for (const b of block) sum += b;
  putBytes(block, 148, 8, encoder.encode(`${sum.toString(8).padStart(6, '0')}\0 `));
  return block;
}

/** One pax record, `"%d %s=%s\n"`, whose decimal length counts its own digits (POSIX pax, "pax Extended Header"). */
function paxRecord(key: string, value: Uint8Array): Uint8Array {
  const keyBytes = encoder.encode(key);
  const body = 3 + keyBytes.length + value.length; // ' ', '=', '\n'
  let length = body + 1;
  while (String(length).length + body !== length) length = String(length).length + body;
  const out = new Uint8Array(length);
  const prefix = encoder.encode(`${length} ${key}=`);
  out.set(prefix, 0);
  out.set(value, prefix.length);
  out[length - 1] = 0x0a;
  return out;
}

/**
 * A pax decimal time. Whole seconds print as integers; fractions in plain decimal notation (never exponent form,
 * which pax does not allow), with enough digits that `parseFloat` gives the same number back.
 */
export function paxTimeText(seconds: number): string {
  if (Number.isInteger(seconds)) return String(seconds);
  const shortest = String(seconds);
  if (/^-?[0-9]+\.[0-9]+$/.test(shortest)) return shortest;
  return seconds.toFixed(9).replace(/0+$/, '');
}

/**
 * The name of an `x` header: Go's archive/tar uses `<dir>/PaxHeaders.0/<base>`, ASCII only and cut to the name
 * field. Readers ignore it; it matters only to a reader that does not know pax and extracts the records as a file.
 */
function paxHeaderName(name: string): Uint8Array {
  const trimmed = name.replace(/\/+$/, '');
  const slash = trimmed.lastIndexOf('/');
  const dir = slash < 0 ? '' : `${trimmed.slice(0, slash)}/`;
  const base = trimmed.slice(slash + 1);
  const ascii = `${dir}PaxHeaders.0/${base}`.replace(/[^\x20-\x7e]/g, '');
  return encoder.encode(ascii).subarray(0, 100);
}

/** Refuses an xattr name that a pax record cannot carry (the key ends at the first '=', the record at '\n'). */
function xattrKey(name: string, entryName: string): string {
  if (name === '' || /[=\n\0]/.test(name)) {
    throw new Error(`tar: entry '${entryName}': xattr name ${JSON.stringify(name)} cannot be written as a pax record`);
  }
  return `SCHILY.xattr.${name}`;
}

/**
 * The header fields of an entry and the pax records it needs: `path`/`linkpath` for names over 100 bytes or not
 * ASCII, `uid`/`gid` over 07777777, `size` of 8 GiB or more, `mtime` with a fraction or out of the octal range, and
 * `SCHILY.xattr.NAME` per extended attribute (the key star introduced and GNU tar, Go and Docker use).
 */
function planHeader(entry: ArchiveEntry, size: number): { fields: HeaderFields; records: Map<string, Uint8Array> } {
  const kind = entry.kind;
  if (kind === 'sock') throw new Error(`tar: entry '${entry.name}' is a socket, which tar cannot archive`);
  const records = new Map<string, Uint8Array>();
  const text = (value: string | number): Uint8Array => encoder.encode(String(value));

  let name = encoder.encode(entry.name);
  if (!fitsStringField(name, 100)) {
    records.set('path', name);
    name = encoder.encode(entry.name.replace(/[^\x20-\x7e]/g, '_')).subarray(0, 100);
  }
  const target = kind === 'symlink' || kind === 'hardlink' ? (entry.target ?? '') : '';
  let linkname = encoder.encode(target);
  if (!fitsStringField(linkname, 100)) {
    records.set('linkpath', linkname);
    linkname = encoder.encode(target.replace(/[^\x20-\x7e]/g, '_')).subarray(0, 100);
  }
  const id = (key: 'uid' | 'gid', value: number): number => {
    if (Number.isInteger(value) && value >= 0 && value <= MAX_OCTAL_8) return value;
    records.set(key, text(value));
    return 0;
  };
  const uid = id('uid', entry.uid);
  const gid = id('gid', entry.gid);
  let sizeField = size;
  if (size > MAX_OCTAL_12) {
    records.set('size', text(size));
    sizeField = 0;
  }
  let mtimeField = entry.mtime;
  if (!Number.isInteger(entry.mtime) || entry.mtime < 0 || entry.mtime > MAX_OCTAL_12) {
    records.set('mtime', text(paxTimeText(entry.mtime)));
    mtimeField = Math.min(MAX_OCTAL_12, Math.max(0, Math.floor(entry.mtime)));
  }
  for (const [xattr, value] of entry.xattrs ?? []) records.set(xattrKey(xattr, entry.name), value);

  const dev = kind === 'chr' || kind === 'blk' ? splitDev(entry.rdev ?? 0) : { major: 0, minor: 0 };
  const fields: HeaderFields = {
    name,
    mode: entry.mode & 0o7777,
    uid,
    gid,
    size: sizeField,
    mtime: mtimeField,
    typeflag: TYPEFLAG[kind],
    linkname,
    devmajor: dev.major,
    devminor: dev.minor,
  };
  return { fields, records };
}

/** Zero bytes that pad `length` bytes of data to a whole block. */
function padding(length: number): Uint8Array {
  return ZEROS.subarray(0, (BLOCK - (length % BLOCK)) % BLOCK);
}

/** The `x` header and its records, keys in byte order so the same entry always gives the same bytes (as Go sorts). */
function* paxHeaderChunks(entryName: string, records: ReadonlyMap<string, Uint8Array>): Generator<Uint8Array> {
  const keys = [...records.keys()].sort((a, b) => Buffer.compare(encoder.encode(a), encoder.encode(b)));
  const body = Buffer.concat(keys.map(key => paxRecord(key, records.get(key)!)));
  yield encodeHeader({
    name: paxHeaderName(entryName),
    mode: 0o644,
    uid: 0,
    gid: 0,
    size: body.length,
    mtime: 0,
    typeflag: 'x',
    linkname: new Uint8Array(0),
    devmajor: 0,
    devminor: 0,
  });
  yield new Uint8Array(body.buffer, body.byteOffset, body.length);
  yield padding(body.length);
}

/**
 * A file's bytes in pieces of at most `DATA_CHUNK`: written extents read from the content, holes as views of the
 * shared zero buffer. tar has no holes (GNU sparse members are an extension Docker never writes), so holes are zeros.
 */
export function* contentChunks(content: FileContent): Generator<Uint8Array> {
  let pos = 0;
  const zerosUpTo = function* (end: number): Generator<Uint8Array> {
    while (pos < end) {
      const n = Math.min(DATA_CHUNK, end - pos);
      yield ZEROS.subarray(0, n);
      pos += n;
    }
  };
  for (const extent of content.listExtents()) {
    yield* zerosUpTo(extent.offset);
    const end = Math.min(extent.offset + extent.length, content.size);
    while (pos < end) {
      const n = Math.min(DATA_CHUNK, end - pos);
      yield content.read(pos, n);
      pos += n;
    }
  }
  yield* zerosUpTo(content.size);
}

/** The blocks of one member: its pax header if it needs one, its ustar header, its data padded to a block. */
export function* entryChunks(entry: ArchiveEntry): Generator<Uint8Array> {
  const content = entry.kind === 'file' ? entry.content : undefined;
  if (entry.kind === 'file' && content === undefined) throw new Error(`tar: entry '${entry.name}' is a file without content`);
  const size = content?.size ?? 0;
  const { fields, records } = planHeader(entry, size);
  if (records.size > 0) yield* paxHeaderChunks(entry.name, records);
  yield encodeHeader(fields);
  if (content !== undefined && size > 0) {
    yield* contentChunks(content);
    yield padding(size);
  }
}

/**
 * A whole archive as chunks: each entry in order, then the two zero blocks that end a POSIX archive. Chunks may be
 * views of one shared zero buffer: consume them (write them out, copy them) rather than modify them.
 */
export function* tarChunks(entries: Iterable<ArchiveEntry>): Generator<Uint8Array> {
  for (const entry of entries) yield* entryChunks(entry);
  yield ZEROS.subarray(0, 2 * BLOCK);
}

/** A whole archive in one buffer: deterministic, the same entries always give the same bytes. */
export function writeTar(entries: Iterable<ArchiveEntry>): Uint8Array {
  const chunks = [...tarChunks(entries)].filter(c => c.length > 0);
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let at = 0;
  for (const chunk of chunks) {
    out.set(chunk, at);
    at += chunk.length;
  }
  return out;
}
