/** CRC-32C (Castagnoli), as btrfs hashes names for DIR_ITEM and XATTR_ITEM keys: btrfs_name_hash = crc32c(~1, name). */
const TABLE = (() => {
  const t = new Uint32Array(256);
  for (let i = 0; i < 256; i++) {
    let c = i;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0x82f63b78 ^ (c >>> 1) : c >>> 1;
    t[i] = c >>> 0;
  }
  return t;
})();

/** The kernel's crc32c(seed, data): no final inversion (btrfs uses the raw register). */
export function crc32c(seed: number, data: Uint8Array): number {
  let c = seed >>> 0;
  for (const b of data) c = (TABLE[(c ^ b) & 0xff]! ^ (c >>> 8)) >>> 0;
  return c >>> 0;
}

const enc = new TextEncoder();

/** Whether every character of `s` is ASCII (its UTF-8 bytes are its char codes). */
function isAscii(s: string): boolean {
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) > 0x7f) return false;
  return true;
}

/** btrfs_name_hash(name): the key offset of a DIR_ITEM or XATTR_ITEM. */
export function nameHash(name: string): number {
  if (!isAscii(name)) return crc32c(~1 >>> 0, enc.encode(name));
  let c = ~1 >>> 0;
  for (let i = 0; i < name.length; i++) c = (TABLE[(c ^ name.charCodeAt(i)) & 0xff]! ^ (c >>> 8)) >>> 0;
  return c >>> 0;
}

/** The name's length in UTF-8 bytes. */
export function nameBytes(name: string): number {
  return isAscii(name) ? name.length : enc.encode(name).length;
}
