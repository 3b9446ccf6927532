/**
 * The peer trace: a seeded workload replayed identically on every system (memfs and each driver model).
 *
 * Ported line for line from `shared/peer-bench/lib/trace.mjs` (the script that measured memfs, ZenFS CopyOnWrite and
 * unionfs in research/style-anchors-and-peers.md Part B), so the numbers here are comparable with those. Base: 10 x 10 x
 * 10 leaf directories under /base with 10 files of 4 KiB each (10,000 files). Trace: 70% write 4 KiB at a random byte
 * offset in [0, 4096) of a random live file, 20% create a new 4 KiB file in a random leaf directory, 10% unlink a random
 * live file. `checkPeerTrace` asserts the port still draws the trace the peer script draws.
 */

import { mulberry32 } from '../src/engine/random.js';

export const FILE_SIZE = 4096;
export const WRITE_SIZE = 4096;

/** mulberry32, the peer script's PRNG: the project's own (src/engine/random.ts), the same function line for line. */
export const rng = mulberry32;

export interface BaseLayout {
  /** Every directory, parents first (/base first). */
  readonly dirs: readonly string[];
  readonly leaves: readonly string[];
  /** Base files in creation order: file i holds `payload(4096, 1)` with i written as u32le at offset 0. */
  readonly files: readonly string[];
}

export function baseLayout({ fanout = 10, depth = 3, filesPerDir = 10 } = {}): BaseLayout {
  const dirs = ['/base'];
  let level = ['/base'];
  for (let d = 0; d < depth; d++) {
    const next: string[] = [];
    for (const parent of level) for (let i = 0; i < fanout; i++) next.push(`${parent}/d${i}`);
    dirs.push(...next);
    level = next;
  }
  const leaves = level;
  const files: string[] = [];
  for (const leaf of leaves) for (let i = 0; i < filesPerDir; i++) files.push(`${leaf}/f${i}`);
  return { dirs, leaves, files };
}

export const OP_WRITE = 0;
export const OP_CREATE = 1;
export const OP_UNLINK = 2;
export type OpKind = typeof OP_WRITE | typeof OP_CREATE | typeof OP_UNLINK;
export const OP_NAMES = ['write', 'create', 'unlink'] as const;

export interface Trace {
  readonly kinds: Uint8Array;
  readonly offsets: Int32Array;
  readonly paths: readonly string[];
  readonly liveAtEnd: number;
}

export function makeTrace({ ops = 100_000, seed = 42, layout = baseLayout() } = {}): Trace {
  const rand = rng(seed);
  const live = layout.files.slice();
  const kinds = new Uint8Array(ops);
  const offsets = new Int32Array(ops);
  const paths = new Array<string>(ops);
  let created = 0;
  for (let i = 0; i < ops; i++) {
    const r = rand();
    if (r < 0.7 && live.length) {
      kinds[i] = OP_WRITE;
      paths[i] = live[Math.floor(rand() * live.length)]!;
      offsets[i] = Math.floor(rand() * FILE_SIZE);
    } else if (r < 0.9 || !live.length) {
      kinds[i] = OP_CREATE;
      const leaf = layout.leaves[Math.floor(rand() * layout.leaves.length)]!;
      const p = `${leaf}/n${created++}`;
      paths[i] = p;
      live.push(p);
    } else {
      kinds[i] = OP_UNLINK;
      const j = Math.floor(rand() * live.length);
      paths[i] = live[j]!;
      live[j] = live[live.length - 1]!;
      live.pop();
    }
  }
  return { kinds, offsets, paths, liveAtEnd: live.length };
}

export function payload(size: number, seed = 7): Buffer {
  const rand = rng(seed);
  const b = Buffer.alloc(size);
  for (let i = 0; i < size; i++) b[i] = Math.floor(rand() * 256);
  return b;
}

/** A final view: file count, total bytes, and the sha256 prefix over sorted paths + '\0' + contents. */
export interface FinalView {
  files: number;
  bytes: number;
  sha256: string;
}

/** The documented final view after the default trace (peer-bench README, seed 42, 100,000 ops): every system's. */
export const DOCUMENTED_FINAL_VIEW: FinalView = { files: 20_001, bytes: 127_272_762, sha256: '45cc16436a1178e8' };
/** The documented op mix of the default trace (research Part B2). */
export const DOCUMENTED_OP_COUNTS = { write: 70_057, create: 19_972, unlink: 9_971 } as const;
export const DEFAULT_OPS = 100_000;
export const DEFAULT_SEED = 42;

export function countKinds(trace: Trace): { write: number; create: number; unlink: number } {
  const n = [0, 0, 0];
  for (const k of trace.kinds) n[k]!++;
  return { write: n[OP_WRITE]!, create: n[OP_CREATE]!, unlink: n[OP_UNLINK]! };
}

/**
 * Checks the port against the documented default trace (op mix and live files at the end); throws when it drifts.
 * The final-view digest itself is checked against `DOCUMENTED_FINAL_VIEW` once memfs has replayed the trace.
 */
export function checkPeerTrace(): void {
  const trace = makeTrace({ ops: DEFAULT_OPS, seed: DEFAULT_SEED });
  const counts = countKinds(trace);
  const want = DOCUMENTED_OP_COUNTS;
  if (
    counts.write !== want.write ||
    counts.create !== want.create ||
    counts.unlink !== want.unlink ||
    trace.liveAtEnd !== DOCUMENTED_FINAL_VIEW.files
  ) {
    throw new Error(
      `peer trace port drifted: ${JSON.stringify({ ...counts, live: trace.liveAtEnd })}, documented ` +
        JSON.stringify({ ...want, live: DOCUMENTED_FINAL_VIEW.files }),
    );
  }
}
