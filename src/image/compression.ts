import { gunzipSync } from 'node:zlib';
import { decompress as zstdDecompress } from 'fzstd';
import { imageError } from './errors.js';

/** How a layer or archive is compressed, as told by its first bytes (what `docker load` and containerd sniff). */
export type Compression = 'none' | 'gzip' | 'zstd' | 'bzip2' | 'xz';

const GZIP_MAGIC = [0x1f, 0x8b];
/** RFC 8878 section 3.1.1: a zstd frame starts with 0xFD2FB528, little-endian. */
const ZSTD_MAGIC = [0x28, 0xb5, 0x2f, 0xfd];
const BZIP2_MAGIC = [0x42, 0x5a, 0x68];
const XZ_MAGIC = [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00];

function startsWith(bytes: Uint8Array, magic: readonly number[]): boolean {
  return bytes.length >= magic.length && magic.every((b, i) => bytes[i] === b);
}

/** Sniffs the compression from the magic number, as Docker's `archive.DetectCompression` does. */
export function detectCompression(bytes: Uint8Array): Compression {
  if (startsWith(bytes, GZIP_MAGIC)) return 'gzip';
  if (startsWith(bytes, ZSTD_MAGIC)) return 'zstd';
  if (startsWith(bytes, XZ_MAGIC)) return 'xz';
  if (startsWith(bytes, BZIP2_MAGIC)) return 'bzip2';
  return 'none';
}

/**
 * The uncompressed bytes of a (possibly) compressed archive. gzip and zstd are what OCI layers use
 * (image-spec media types `tar+gzip`, `tar+zstd`); bzip2 and xz, which `docker load` also accepts, are refused by name.
 * `what` names the archive in error messages.
 */
export function decompressArchive(bytes: Uint8Array, what: string): Uint8Array {
  const compression = detectCompression(bytes);
  switch (compression) {
    case 'none':
      return bytes;
    case 'gzip':
      try {
        return new Uint8Array(gunzipSync(bytes));
      } catch (err) {
        throw imageError(`${what}: bad gzip data (${errorText(err)})`);
      }
    case 'zstd':
      try {
        return zstdDecompress(bytes);
      } catch (err) {
        throw imageError(`${what}: bad zstd data (${errorText(err)})`);
      }
    case 'bzip2':
    case 'xz':
      throw imageError(`${what}: ${compression}-compressed archives are not supported (use gzip, zstd or none)`);
  }
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
