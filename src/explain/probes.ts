/**
 * The generic probes: what `explain` reads of a mechanism the core itself runs (the union upper directory through its
 * branch format, a plain copy per layer) or of any other driver (its cost record), and the probe a model declares for
 * its own structures (`DriverModel.explain`).
 */
import type { Host } from '../engine/host.js';
import type { VolumeEntryJSON } from '../fs/volume.js';
import type { BranchListing } from '../union/branch-format.js';
import { UnionDriver } from '../union/union-driver.js';
import { errnoFact, layerCount, lifecycleFacts, spaceFact, type LineContext, type Probe, type Snapshot } from './contract.js';
import { listPaths, plural, size, type Fact } from './facts.js';

// ---- shared helpers -------------------------------------------------------------------------------------------------

type Listing = Map<string, VolumeEntryJSON>;

function listingOf(entries: readonly VolumeEntryJSON[]): Listing {
  return new Map(entries.map(e => [e.path, e]));
}

/** The merged view of the layers below a container layer (bottom first), path -> entry. */
export function lowerView(host: Host, layer: string, markers: BranchListing): Listing {
  const view: Listing = new Map();
  const removeBelow = (path: string, self: boolean) => {
    for (const p of [...view.keys()]) if ((self && p === path) || p.startsWith(path === '/' ? '/' : `${path}/`)) view.delete(p);
  };
  for (const id of [...host.driver.parents(layer)].reverse()) {
    const entries = host.driver.inspectLayer(id) as VolumeEntryJSON[];
    for (const e of entries) {
      const r = markers.roleOf(e);
      if (r.role === 'whiteout') removeBelow(r.of, true);
      else if (r.role === 'opaque' || (r.role === 'entry' && e.type === 'dir' && markers.isOpaqueDir(e))) removeBelow(r.role === 'opaque' ? r.of : e.path, false);
    }
    for (const e of entries) if (markers.roleOf(e).role === 'entry' && e.path !== '/') view.set(e.path, e);
  }
  return view;
}

/** Directories of the upper dir that kept their inode under a new path (a rename inside the upper dir). */
function movedDirs(a: Listing, b: Listing): [string, string][] {
  const byIno = new Map<number, string>();
  for (const e of b.values()) if (e.type === 'dir') byIno.set(e.ino, e.path);
  const out: [string, string][] = [];
  for (const e of a.values()) {
    if (e.type !== 'dir' || e.path === '/') continue;
    const now = byIno.get(e.ino);
    if (now !== undefined && now !== e.path && !b.has(e.path) && !out.some(([f]) => e.path.startsWith(`${f}/`))) out.push([e.path, now]);
  }
  return out;
}

/** The listing with every path under a moved directory renamed to where it went. */
function renamePaths(a: Listing, moves: readonly [string, string][]): Listing {
  const out: Listing = new Map();
  for (const [path, e] of a) {
    const m = moves.find(([f]) => path === f || path.startsWith(`${f}/`));
    const p = m === undefined ? path : m[1] + path.slice(m[0].length);
    out.set(p, { ...e, path: p });
  }
  return out;
}

/** A layer whose inspectLayer() is a directory listing (union upper dirs, vfs layer copies), as a snapshot. */
function listingSnapshot(host: Host, layer: string | undefined): Snapshot {
  const usage = { layers: layerCount(host) };
  if (layer === undefined) return { usage, layer, state: undefined };
  return { usage, layer, state: listingOf(host.driver.inspectLayer(layer) as VolumeEntryJSON[]) };
}

// ---- union: the upper directory ---------------------------------------------------------------------------------------

class UnionProbe implements Probe {
  readonly mechanism = 'union';
  private readonly lowers = new Map<string, Listing>();

  constructor(
    readonly host: Host,
    readonly markers: BranchListing,
  ) {}

  lower(layer: string): Listing {
    let v = this.lowers.get(layer);
    if (v === undefined) {
      v = lowerView(this.host, layer, this.markers);
      this.lowers.set(layer, v);
    }
    return v;
  }

  snapshot(layer: string | undefined): Snapshot {
    return listingSnapshot(this.host, layer);
  }

  facts(before: Snapshot, after: Snapshot, ctx: LineContext): Fact[] {
    if (!ctx.fileOp || before.layer === undefined || before.layer !== after.layer) return lifecycleFacts(before, after, ctx);
    const out: Fact[] = [];
    if (ctx.outcome !== 'ok') {
      out.push(errnoFact(ctx, this.whyErrno(ctx, before)));
      return out;
    }
    const b = after.state as Listing;
    const moves = movedDirs(before.state as Listing, b);
    const a = moves.length === 0 ? (before.state as Listing) : renamePaths(before.state as Listing, moves);
    const lower = this.lower(before.layer);
    const whiteouts: string[] = [];
    const opaque: string[] = [];
    const parents: string[] = [];
    const created: string[] = [];
    const metacopy: string[] = [];
    const plinks: string[] = [];
    const copies: { path: string; lowerPath: string | undefined }[] = [];
    const removed: string[] = [];
    const attrs: Fact[] = [];
    let redirect: Fact | undefined;

    for (const [path, e] of b) {
      const old = a.get(path);
      const r = this.markers.roleOf(e);
      if (r.role === 'internal') continue;
      if (r.role === 'pseudo-link') {
        if (old === undefined) plinks.push(path);
        continue;
      }
      if (r.role === 'whiteout') {
        if (old === undefined || this.markers.roleOf(old).role !== 'whiteout') whiteouts.push(r.of);
        continue;
      }
      if (r.role === 'opaque') {
        if (old === undefined) opaque.push(r.of);
        continue;
      }
      if (e.type === 'dir' && this.markers.isOpaqueDir(e) && !(old && this.markers.isOpaqueDir(old))) opaque.push(path);
      const redir = this.markers.redirectOf(e);
      if (redir !== undefined && redir !== (old && this.markers.redirectOf(old))) redirect = { kind: 'redirect', path, to: redir, text: `redirect xattr on ${path} -> ${redir}` };
      if (this.markers.isMetacopy(e) && !(old && this.markers.isMetacopy(old))) metacopy.push(path);
      if (old === undefined || (old.type === 'whiteout' && e.type !== 'whiteout')) {
        const low = lower.get(path);
        if (e.type === 'dir') {
          if (low?.type === 'dir' && !this.markers.isOpaqueDir(e)) parents.push(path);
          else created.push(path);
        } else if (low !== undefined && low.type === e.type && old === undefined) copies.push({ path, lowerPath: path });
        else copies.push({ path, lowerPath: undefined });
        continue;
      }
      if (old.mode !== e.mode) attrs.push({ kind: 'attr', path, change: `mode ${old.mode}->${e.mode}`, text: `chmod ${old.mode}->${e.mode} in the upper dir` });
      if (old.uid !== e.uid || old.gid !== e.gid) attrs.push({ kind: 'attr', path, change: `owner ${old.uid}:${old.gid}->${e.uid}:${e.gid}`, text: `chown in the upper dir` });
    }
    for (const path of a.keys()) {
      const e = a.get(path)!;
      if (!b.has(path) && this.markers.roleOf(e).role === 'entry') removed.push(path);
    }

    // a new name that is not in the lower layers but whose content came up: a copy-up moved by rename (its old name
    // got a whiteout)
    let copyBudget = ctx.cost.copyUpBytes;
    for (const c of copies) {
      const e = b.get(c.path)!;
      let lowerPath = c.lowerPath;
      if (lowerPath === undefined) {
        lowerPath = whiteouts.find(w => {
          const l = lower.get(w);
          return l !== undefined && l.type === e.type && l.size === e.size;
        });
      }
      if (lowerPath === undefined) {
        created.push(c.path);
        continue;
      }
      const low = lower.get(lowerPath)!;
      const bytes = low.size ?? 0;
      const meta = metacopy.includes(c.path);
      const copied = Math.min(copyBudget, meta ? 0 : bytes);
      copyBudget -= copied;
      const sparse = !meta && e.type === 'file' && copied < bytes ? `, ${size(copied)} copied: holes stay sparse` : '';
      const moved = lowerPath !== c.path ? ` then rename to ${c.path}` : '';
      out.push({
        kind: 'copy-up',
        path: c.path,
        bytes,
        copiedBytes: copied,
        ...(lowerPath !== c.path ? { from: lowerPath } : {}),
        metadataOnly: meta,
        text: meta
          ? `metadata-only copy-up of ${lowerPath} (metacopy: the ${size(bytes)} of data stay below)${moved}`
          : e.type === 'file'
            ? `copy-up of ${lowerPath} (${size(bytes)}${sparse})${moved}`
            : `copy-up of ${e.type} ${lowerPath}${moved}`,
      });
    }
    for (const [from, to] of moves) out.unshift({ kind: 'attr', path: to, change: `moved from ${from}`, text: `upper dir ${from} renamed to ${to} (with its whiteouts)` });
    if (parents.length > 0) out.unshift({ kind: 'parent-copy-up', paths: parents, text: `parent dirs copied up as metadata: ${listPaths(parents)}` });
    const written = ctx.cost.dataBytes - ctx.cost.copyUpBytes;
    if (written > 0) out.push({ kind: 'write', bytes: written, text: `${out.some(f => f.kind === 'copy-up') ? 'then ' : ''}write ${size(written)}` });
    if (created.length > 0) out.push({ kind: 'create', paths: created, text: `new in the upper dir: ${listPaths(created)}` });
    out.push(...attrs);
    if (removed.length > 0) out.push({ kind: 'remove', paths: removed, text: `${plural(removed.length, 'upper entry', 'upper entries')} removed (${listPaths(removed)})` });
    if (whiteouts.length > 0) {
      const form = this.markers.whiteoutForm;
      out.push({ kind: 'whiteout', paths: whiteouts, form, text: `${plural(whiteouts.length, 'whiteout')} (${form}) hiding ${listPaths(whiteouts)}` });
    }
    if (opaque.length > 0) out.push({ kind: 'opaque', paths: opaque, text: `opaque dir ${listPaths(opaque)} (${this.markers.opaqueMarker})` });
    if (redirect !== undefined) out.push(redirect);
    if (plinks.length > 0) out.push({ kind: 'pseudo-link', paths: plinks, text: `pseudo-link ${listPaths(plinks)} keeps the hard link together` });
    if (out.length === 0) out.push({ kind: 'none', lookups: ctx.cost.lookups, text: `upper dir unchanged (${plural(ctx.cost.lookups, 'lookup probe')})` });
    return out;
  }

  /** Why the union refused: EXDEV on a directory that exists below (it would need a redirect, or is not empty). */
  private whyErrno(ctx: LineContext, before: Snapshot): string | undefined {
    if (ctx.outcome !== 'EXDEV') return undefined;
    void before;
    return this.markers.exdevWhy;
  }
}

// ---- vfs: a full copy per layer -----------------------------------------------------------------------------------------

class CopyProbe implements Probe {
  readonly mechanism = 'copy';
  constructor(readonly host: Host) {}

  snapshot(layer: string | undefined): Snapshot {
    return listingSnapshot(this.host, layer);
  }

  facts(before: Snapshot, after: Snapshot, ctx: LineContext): Fact[] {
    if (!ctx.fileOp || before.layer === undefined || before.layer !== after.layer) return lifecycleFacts(before, after, ctx);
    if (ctx.outcome !== 'ok') return [errnoFact(ctx, undefined)];
    const a = before.state as Listing;
    const b = after.state as Listing;
    const out: Fact[] = [];
    const created = [...b.keys()].filter(p => !a.has(p));
    const removed = [...a.keys()].filter(p => !b.has(p));
    if (ctx.cost.dataBytes > 0) out.push({ kind: 'write', bytes: ctx.cost.dataBytes, text: `write ${size(ctx.cost.dataBytes)} in place (the layer is its own full copy: nothing to copy up)` });
    if (created.length > 0) out.push({ kind: 'create', paths: created, text: `new: ${listPaths(created)}` });
    if (removed.length > 0) out.push({ kind: 'remove', paths: removed, text: `removed for real: ${listPaths(removed)} (no whiteout needed)` });
    for (const [path, e] of b) {
      const o = a.get(path);
      if (o !== undefined && o.mode !== e.mode) out.push({ kind: 'attr', path, change: `mode ${o.mode}->${e.mode}`, text: `chmod ${o.mode}->${e.mode} in place` });
    }
    if (out.length === 0) out.push({ kind: 'none', lookups: ctx.cost.lookups, text: `nothing written (${plural(ctx.cost.lookups, 'lookup')})` });
    return out;
  }
}

// ---- any other driver: its cost record only ----------------------------------------------------------------------------------

class CostProbe implements Probe {
  readonly mechanism = 'other';
  constructor(readonly host: Host) {}
  snapshot(layer: string | undefined): Snapshot {
    return { usage: { layers: layerCount(this.host) }, layer, state: undefined };
  }
  facts(_before: Snapshot, _after: Snapshot, ctx: LineContext): Fact[] {
    return ctx.outcome !== 'ok' ? [errnoFact(ctx, undefined)] : [spaceFact(ctx.cost)];
  }
}

/** The model's own probe if it declares one, else the generic probe of the mechanism the core runs for it. */
export function probeFor(host: Host): Probe {
  const own = host.model.explain;
  if (own !== undefined) return own.probe(host);
  if (host.driver instanceof UnionDriver) return new UnionProbe(host, host.driver.config.format.listing);
  if (host.capabilities.kind === 'copy') return new CopyProbe(host);
  return new CostProbe(host);
}
