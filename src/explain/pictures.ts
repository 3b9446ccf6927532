/**
 * A container layer as a small picture: the union upper directory as a tree (whiteouts, opaque dirs, redirects,
 * copy-ups marked), a plain copy's totals, or the picture the model draws of its own structures (`DriverModel.explain`:
 * a thin device's mapping table, a btrfs subvolume's extents, a zfs dataset's records). Each picture is data
 * (`--json`) and text.
 */
import type { DriverModel } from '../engine/driver.js';
import type { Host } from '../engine/host.js';
import type { VolumeEntryJSON } from '../fs/volume.js';
import { UnionDriver } from '../union/union-driver.js';
import type { ModelPicture } from './contract.js';
import { plural, size } from './facts.js';
import { lowerView } from './probes.js';

/** One upper-directory entry with what it means to the union. */
export interface UpperNode {
  readonly path: string;
  readonly type: string;
  readonly size?: number;
  /** `whiteout`, `opaque`, `redirect -> X`, `metacopy`, `copy-up`, `from lower` (a parent copied up), `new`. */
  readonly marks: readonly string[];
}

export type LayerPicture =
  | { readonly kind: 'upper'; readonly form: string; readonly entries: readonly UpperNode[] }
  | { readonly kind: 'copy'; readonly entries: number; readonly apparentBytes: number }
  | { readonly kind: 'other'; readonly inspect: unknown }
  | ModelPicture;

export interface ContainerPicture {
  readonly container: string;
  readonly layer: string;
  readonly picture: LayerPicture;
}

/** The model's own picture if it declares one, else the generic picture of the mechanism the core runs for it. */
export function pictureOf(host: Host, layer: string): LayerPicture {
  const own = host.model.explain;
  if (own !== undefined) return own.picture(host, layer);
  if (host.driver instanceof UnionDriver) return upperPicture(host, host.driver, layer);
  if (host.capabilities.kind === 'copy') {
    const entries = host.driver.inspectLayer(layer) as VolumeEntryJSON[];
    return { kind: 'copy', entries: entries.length, apparentBytes: entries.reduce((n, e) => n + (e.size ?? 0), 0) };
  }
  return { kind: 'other', inspect: host.driver.inspectLayer(layer) };
}

function upperPicture(host: Host, driver: UnionDriver, layer: string): LayerPicture {
  const markers = driver.config.format.listing;
  const form = markers.form;
  const lower = lowerView(host, layer, markers);
  const entries: UpperNode[] = [];
  for (const e of host.driver.inspectLayer(layer) as VolumeEntryJSON[]) {
    if (e.path === '/') continue;
    const r = markers.roleOf(e);
    const marks: string[] = [];
    if (r.role === 'internal') marks.push('aufs internal');
    else if (r.role === 'pseudo-link') marks.push('pseudo-link');
    else if (r.role === 'whiteout') marks.push(markers.whiteoutMark(r.of));
    else if (r.role === 'opaque') marks.push('makes its dir opaque');
    else {
      const redirect = markers.redirectOf(e);
      if (markers.isOpaqueDir(e)) marks.push('opaque');
      if (redirect !== undefined) marks.push(`redirect -> ${redirect}`);
      if (markers.isMetacopy(e)) marks.push('metacopy');
      const low = lower.get(e.path);
      if (low !== undefined && low.type === e.type) marks.push(e.type === 'dir' ? (marks.includes('opaque') ? 'replaces lower dir' : 'from lower (merged)') : 'copied up');
      else if (markers.hasOrigin(e) && e.type !== 'dir') marks.push('copied up (moved)');
      else marks.push('new');
    }
    entries.push({ path: e.path, type: e.type, ...(e.type === 'file' ? { size: e.size ?? 0 } : {}), marks });
  }
  return { kind: 'upper', form, entries };
}

// ---- text ------------------------------------------------------------------------------------------------------------------

/** Lines a picture lists before it summarises the rest. */
export const MAX_LINES = 40;

/** The upper directory as a tree, `tree(1)` style. */
function upperText(p: Extract<LayerPicture, { kind: 'upper' }>): string[] {
  const shown = p.entries.filter(e => !e.marks.includes('aufs internal'));
  const hidden = p.entries.length - shown.length;
  const out = [`upper dir (${p.form === 'overlay' ? 'overlayfs' : 'aufs'} form), ${plural(shown.length, 'entry', 'entries')}${hidden > 0 ? ` + ${hidden} aufs internal` : ''}:`, '/'];
  const children = new Map<string, UpperNode[]>();
  for (const e of shown) {
    const parent = e.path.slice(0, e.path.lastIndexOf('/')) || '/';
    children.set(parent, [...(children.get(parent) ?? []), e]);
  }
  let lines = 0;
  const walk = (dir: string, prefix: string) => {
    const kids = children.get(dir) ?? [];
    kids.forEach((e, i) => {
      if (lines++ >= MAX_LINES) return;
      const last = i === kids.length - 1;
      const name = e.path.slice(e.path.lastIndexOf('/') + 1) + (e.type === 'dir' ? '/' : '');
      const sz = e.size !== undefined ? `  ${size(e.size)}` : '';
      out.push(`${prefix}${last ? '└── ' : '├── '}${name}${sz}  [${e.marks.join(', ')}]`);
      if (e.type === 'dir') walk(e.path, `${prefix}${last ? '    ' : '│   '}`);
    });
  };
  walk('/', '');
  if (lines > MAX_LINES) out.push(`... ${lines - MAX_LINES} more entries`);
  return out;
}

/** The picture as text lines; a model's own picture is drawn by `model`, the one that drew it. */
export function pictureText(p: LayerPicture, model: DriverModel | undefined): string[] {
  switch (p.kind) {
    case 'upper':
      return upperText(p);
    case 'copy':
      return [`a full copy of its parent: ${plural(p.entries, 'entry', 'entries')}, ${size(p.apparentBytes)} of file data`];
    case 'other':
      return [JSON.stringify(p.inspect).slice(0, 200)];
    default:
      return model?.explain?.pictureText(p) ?? [JSON.stringify(p).slice(0, 200)];
  }
}
