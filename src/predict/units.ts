/** Sizes on the command line (`--fail-if`, generator specs): SI (B, KB, MB, GB, TB) and binary (KiB, MiB, GiB, TiB). */

const SI: Readonly<Record<string, number>> = { b: 1, kb: 1e3, mb: 1e6, gb: 1e9, tb: 1e12, pb: 1e15 };
const BINARY: Readonly<Record<string, number>> = { kib: 2 ** 10, mib: 2 ** 20, gib: 2 ** 30, tib: 2 ** 40, pib: 2 ** 50 };

/**
 * A size with a unit: `2GiB`, `500MB`, `1.5 GB`, `4096` (bytes), `12kB` (Docker's spelling). SI units are powers of
 * 1000 and binary ones powers of 1024, whatever the case of the letters. Undefined when it is not a size.
 */
export function parseSize(text: string): number | undefined {
  const m = /^\s*(\d+(?:\.\d+)?|\.\d+)\s*([a-z]*)\s*$/i.exec(text);
  if (m === null) return undefined;
  const unit = m[2]!.toLowerCase();
  const mult = unit === '' ? 1 : (SI[unit] ?? BINARY[unit]);
  if (mult === undefined) return undefined;
  const v = Number(m[1]) * mult;
  return Number.isFinite(v) ? Math.round(v) : undefined;
}

/** The units `parseSize` takes, for error messages. */
export const SIZE_UNITS = 'B, KB, MB, GB, TB (SI) or KiB, MiB, GiB, TiB';
