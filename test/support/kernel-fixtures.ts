import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { allModels } from '../../models/index.js';
import { runTrace, type DriverRun } from '../../src/cli/run-trace.js';
import { loadImageSource } from '../../src/image/resolve.js';
import type { VolumeEntryJSON } from '../../src/fs/volume.js';

/** test/kernel: traces and what Linux 6.18 answered for each, per mount mode (see test/kernel/README.md). */
export const KERNEL_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', 'kernel');
export const FIXTURE_TAR = join(KERNEL_DIR, 'unionmount-lower.tar');

export type KernelMode = 'overlay' | 'overlay-redirect' | 'overlay-metacopy' | 'plain';

export interface KernelResult {
  line: number;
  op: string;
  outcome: string;
  held: boolean | null;
}

export interface UpperEntry {
  path: string;
  type: string;
  size?: number;
  target?: string;
  xattrs?: Record<string, string>;
}

export interface KernelRecord {
  results: KernelResult[];
  upper: UpperEntry[] | null;
}

export function traceNames(): string[] {
  return readdirSync(join(KERNEL_DIR, 'traces'))
    .filter(f => f.endsWith('.jsonl'))
    .map(f => f.slice(0, -'.jsonl'.length))
    .sort();
}

export function traceText(name: string): string {
  return readFileSync(join(KERNEL_DIR, 'traces', `${name}.jsonl`), 'utf8');
}

/** The modes a trace is meant for (its second line: "# meant for modes: a, b"). */
export function intendedModes(text: string): KernelMode[] {
  const m = /^# meant for modes: ([^(\n]*)/m.exec(text);
  return (m?.[1] ?? 'overlay, overlay-redirect, overlay-metacopy, plain').split(',').map(s => s.trim()) as KernelMode[];
}

export function kernelRecord(mode: KernelMode, name: string): KernelRecord {
  return JSON.parse(readFileSync(join(KERNEL_DIR, 'expected', mode, `${name}.json`), 'utf8')) as KernelRecord;
}

/** The driver and options that present what each kernel mode presents. */
export const MODE_DRIVERS: Record<KernelMode, { driver: string; options: Record<string, string> }> = {
  overlay: { driver: 'overlay2', options: { redirect_dir: 'off' } },
  'overlay-redirect': { driver: 'overlay2', options: { redirect_dir: 'on' } },
  'overlay-metacopy': { driver: 'overlay2', options: { redirect_dir: 'on', metacopy: 'on' } },
  plain: { driver: 'vfs', options: {} },
};

let fixtureLayers: ReturnType<typeof loadImageSource> | undefined;

/** Replays a kernel trace on a model over the fixture image, as `layersim run --image unionmount-lower.tar` would. */
export function replayOnModel(name: string, driver: string, options: Record<string, string>): DriverRun {
  fixtureLayers ??= loadImageSource(FIXTURE_TAR);
  const model = allModels.find(m => m.name === driver)!;
  const layers = fixtureLayers;
  const report = runTrace({
    text: traceText(name),
    file: `${name}.jsonl`,
    models: [model],
    options,
    image: FIXTURE_TAR,
    loadImage: () => layers,
  });
  return report.drivers[0]!;
}

/** The container's upper directory in kernel-replay's listing form (path order of os.walk, trusted.overlay.* xattrs). */
export function upperListing(entries: readonly VolumeEntryJSON[]): UpperEntry[] {
  const byDir = new Map<string, VolumeEntryJSON[]>();
  let root: VolumeEntryJSON | undefined;
  for (const e of entries) {
    if (e.path === '/') {
      root = e;
      continue;
    }
    const parent = e.path.slice(0, e.path.lastIndexOf('/')) || '/';
    (byDir.get(parent) ?? byDir.set(parent, []).get(parent)!).push(e);
  }
  const out: UpperEntry[] = [];
  const describe = (e: VolumeEntryJSON): UpperEntry => {
    const u: UpperEntry = { path: e.path, type: e.type };
    if (e.type === 'file') u.size = e.size!;
    if (e.type === 'symlink') u.target = e.target!;
    const x = overlayXattrs(e.xattrs);
    if (x !== undefined) u.xattrs = x;
    return u;
  };
  const walk = (dir: string): void => {
    const children = (byDir.get(dir) ?? []).slice().sort((a, b) => (a.path < b.path ? -1 : 1));
    for (const c of children) out.push(describe(c));
    for (const c of children) if (c.type === 'dir') walk(c.path);
  };
  walk('/');
  const rootX = overlayXattrs(root?.xattrs);
  if (rootX !== undefined) out.unshift({ path: '/', type: 'dir', xattrs: rootX });
  return out;
}

const VOLATILE = new Set(['trusted.overlay.origin', 'trusted.overlay.uuid']);

function overlayXattrs(x: Record<string, string> | undefined): Record<string, string> | undefined {
  if (x === undefined) return undefined;
  const out: Record<string, string> = {};
  for (const k of Object.keys(x).sort()) {
    if (!k.startsWith('trusted.overlay.')) continue;
    out[k] = VOLATILE.has(k) ? '<present>' : x[k]!;
  }
  return Object.keys(out).length > 0 ? out : undefined;
}
