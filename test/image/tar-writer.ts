/**
 * A tiny tar writer for tests: every header field can be set, including wrong ones, so that the reader's handling of
 * well-formed and hostile archives can be exercised byte by byte.
 */

export interface HeaderSpec {
  name: string;
  /** ustar typeflag character; default '0'. */
  type?: string;
  mode?: number;
  uid?: number;
  gid?: number;
  mtime?: number;
  /** Data written after the header (padded to 512). */
  data?: Uint8Array | string;
  /** The size field; default the data's length. */
  size?: number;
  linkname?: string;
  devmajor?: number;
  devminor?: number;
  /** ustar prefix field (POSIX format only). */
  prefix?: string;
  /** 'posix' ("ustar\0" "00"), 'gnu' ("ustar  \0") or 'v7' (no magic). Default 'posix'. */
  format?: 'posix' | 'gnu' | 'v7';
  /** Fields written in GNU base-256 rather than octal. */
  base256?: readonly ('uid' | 'gid' | 'size' | 'mtime')[];
  /** Added to the computed checksum, to corrupt it. */
  checksumDelta?: number;
}

const encoder = new TextEncoder();

export function bytesOf(data: Uint8Array | string | undefined): Uint8Array {
  if (data === undefined) return new Uint8Array(0);
  return typeof data === 'string' ? encoder.encode(data) : data;
}

function writeString(block: Uint8Array, offset: number, length: number, text: string): void {
  const bytes = encoder.encode(text);
  if (bytes.length > length) throw new Error(`test tar: '${text}' does not fit ${length} bytes`);
  block.set(bytes, offset);
}

function writeOctal(block: Uint8Array, offset: number, length: number, value: number): void {
  writeString(block, offset, length, `${value.toString(8).padStart(length - 1, '0')}\0`);
}

function writeBase256(block: Uint8Array, offset: number, length: number, value: number): void {
  let v = value;
  for (let i = length - 1; i > 0; i--) {
    block[offset + i] = v % 256;
    v = Math.floor(v / 256);
  }
  block[offset] = 0x80;
}

export function header(spec: HeaderSpec): Uint8Array {
  const block = new Uint8Array(512);
  const data = bytesOf(spec.data);
  const numeric = (field: 'uid' | 'gid' | 'size' | 'mtime', offset: number, length: number, value: number): void => {
    if (spec.base256?.includes(field)) writeBase256(block, offset, length, value);
    else writeOctal(block, offset, length, value);
  };
  writeString(block, 0, 100, spec.name);
  writeOctal(block, 100, 8, spec.mode ?? 0o644);
  numeric('uid', 108, 8, spec.uid ?? 0);
  numeric('gid', 116, 8, spec.gid ?? 0);
  numeric('size', 124, 12, spec.size ?? data.length);
  numeric('mtime', 136, 12, spec.mtime ?? 1_500_000_000);
  block[156] = (spec.type ?? '0').charCodeAt(0);
  writeString(block, 157, 100, spec.linkname ?? '');
  const format = spec.format ?? 'posix';
  if (format === 'posix') {
    writeString(block, 257, 6, 'ustar\0');
    writeString(block, 263, 2, '00');
  } else if (format === 'gnu') {
    writeString(block, 257, 8, 'ustar  \0');
  }
  if (format !== 'v7') {
    writeOctal(block, 329, 8, spec.devmajor ?? 0);
    writeOctal(block, 337, 8, spec.devminor ?? 0);
  }
  if (spec.prefix !== undefined) writeString(block, 345, 155, spec.prefix);
  block.fill(0x20, 148, 156);
  let sum = 0;
  for (const b of block) sum += b;
  writeString(block, 148, 8, `${(sum + (spec.checksumDelta ?? 0)).toString(8).padStart(6, '0')}\0 `);
  return block;
}

function padded(data: Uint8Array): Uint8Array {
  const out = new Uint8Array(Math.ceil(data.length / 512) * 512);
  out.set(data);
  return out;
}

/** A header and its data, padded to whole blocks. */
export function entry(spec: HeaderSpec): Uint8Array {
  return concat(header(spec), padded(bytesOf(spec.data)));
}

/** One pax record, `"%d %s=%s\n"` with the length counting itself. */
function paxRecord(key: string, value: Uint8Array | string): Uint8Array {
  const body = concat(encoder.encode(` ${key}=`), bytesOf(value), encoder.encode('\n'));
  let length = body.length + 1;
  while (String(length).length + body.length !== length) length = String(length).length + body.length;
  return concat(encoder.encode(String(length)), body);
}

/** A pax extended header ('x', for the next entry) or global header ('g'). */
export function pax(records: Record<string, Uint8Array | string>, type: 'x' | 'g' = 'x'): Uint8Array {
  const data = concat(...Object.entries(records).map(([k, v]) => paxRecord(k, v)));
  return entry({ name: 'PaxHeaders/x', type, data });
}

/** A GNU long name ('L') or long link name ('K') for the next entry. */
export function gnuLong(name: string, type: 'L' | 'K' = 'L'): Uint8Array {
  return entry({ name: '././@LongLink', type, data: `${name}\0`, format: 'gnu' });
}

export function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** A whole archive: the parts, then the two zero blocks that end a POSIX archive. */
export function archive(...parts: Uint8Array[]): Uint8Array {
  return concat(...parts, new Uint8Array(1024));
}

export const file = (name: string, data: string | Uint8Array, extra: Partial<HeaderSpec> = {}): Uint8Array =>
  entry({ name, data, ...extra });
export const dir = (name: string, extra: Partial<HeaderSpec> = {}): Uint8Array =>
  entry({ name, type: '5', mode: 0o755, ...extra });
export const symlink = (name: string, target: string, extra: Partial<HeaderSpec> = {}): Uint8Array =>
  entry({ name, type: '2', mode: 0o777, linkname: target, ...extra });
export const hardlink = (name: string, target: string, extra: Partial<HeaderSpec> = {}): Uint8Array =>
  entry({ name, type: '1', linkname: target, ...extra });
