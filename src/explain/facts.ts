/**
 * What one trace line did under one driver, as facts read off the mechanism: the op's cost record and the difference
 * between the driver's structures before and after the line (the union upper directory, the thin pool's counters and
 * the device's filesystem writes, the btrfs trees and extents, the zfs records). Every fact carries its data and a
 * short phrase; `explain` joins the phrases into one narrative per line and driver.
 */
import { formatBytes } from '../report/format.js';

/** One thing the mechanism did; `text` is its phrase in the narrative. */
export type Fact = { readonly text: string } & (
  | { readonly kind: 'errno'; readonly errno: string }
  | { readonly kind: 'copy-up'; readonly path: string; readonly bytes: number; readonly copiedBytes: number; readonly from?: string; readonly metadataOnly: boolean }
  | { readonly kind: 'parent-copy-up'; readonly paths: readonly string[] }
  | { readonly kind: 'write'; readonly bytes: number }
  | { readonly kind: 'create'; readonly paths: readonly string[] }
  | { readonly kind: 'remove'; readonly paths: readonly string[] }
  /** `form`: how the branch format makes a whiteout ('char-device 0/0', '.wh. hard link'). */
  | { readonly kind: 'whiteout'; readonly paths: readonly string[]; readonly form: string }
  | { readonly kind: 'opaque'; readonly paths: readonly string[] }
  | { readonly kind: 'redirect'; readonly path: string; readonly to: string }
  | { readonly kind: 'metacopy'; readonly paths: readonly string[] }
  | { readonly kind: 'pseudo-link'; readonly paths: readonly string[] }
  | { readonly kind: 'attr'; readonly path: string; readonly change: string }
  | {
      readonly kind: 'pool';
      readonly blockBytes: number;
      readonly provisioned: number;
      readonly unshared: number;
      readonly freed: number;
      readonly metadataBlocks: number;
    }
  | { readonly kind: 'fs-blocks'; readonly fs: string; readonly blocks: Readonly<Record<string, number>> }
  | {
      readonly kind: 'extents';
      readonly added: readonly ExtentRef[];
      readonly bookends: readonly ExtentRef[];
      readonly dropped: readonly ExtentRef[];
      readonly inline: readonly ExtentRef[];
    }
  | {
      readonly kind: 'tree-cow';
      readonly cowed: number;
      readonly allocated: number;
      readonly freed: number;
      readonly splits: number;
      readonly nodeBytes: number;
      readonly copies: number;
    }
  | { readonly kind: 'records'; readonly recordBytes: number; readonly rewritten: number; readonly written: number; readonly metadataBytes: number }
  | { readonly kind: 'layers'; readonly changes: Readonly<Record<string, number>> }
  | { readonly kind: 'space'; readonly allocatedBytes: number; readonly dataBytes: number; readonly metadataBytes: number }
  | { readonly kind: 'none'; readonly lookups: number }
);

/** A file extent as btrfs records it: which file range maps to which disk extent (and how much of it). */
export interface ExtentRef {
  readonly path: string;
  readonly offset: number;
  /** Bytes of the file the item covers (inline: the inline data length). */
  readonly bytes: number;
  readonly bytenr?: number;
  /** The whole disk extent's size (a bookend references only part of it). */
  readonly diskBytes?: number;
}

export const size = formatBytes;

/** `a, b, c and 4 more` */
export function listPaths(paths: readonly string[], max = 3): string {
  if (paths.length <= max) return paths.join(', ');
  return `${paths.slice(0, max).join(', ')} and ${paths.length - max} more`;
}

export function plural(n: number, word: string, many = `${word}s`): string {
  return `${n} ${n === 1 ? word : many}`;
}
