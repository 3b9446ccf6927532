/**
 * What `explain` asks of a mechanism, and what a model implements to be explained by its own structures: a probe (what
 * to read before and after a trace line, and the facts drawn from the difference) and a picture of a container layer.
 * A model that declares none is explained by the generic probes (union upper dir, plain copy, cost record only). A
 * probe only reads (inspect output, the pool's and trees' own counters, the host's layer records): it never goes
 * through the container's syscalls, and never calls `usage()` (which settles the store: writeback and a commit, a state
 * change of its own), so explaining a trace leaves every cost exactly as `run` reports it.
 */
import type { SnapshotDriver } from '../block/snapshot-driver.js';
import type { Host } from '../engine/host.js';
import type { OpCost } from '../trace/execute.js';
import { plural, size, type Fact } from './facts.js';

/** Which mechanism a driver instance runs, as the probes tell them apart: 'union', 'copy', 'other', or a model's own. */
export type Mechanism = string;

/** Figures read off a store without changing it. */
export type Counters = Readonly<Record<string, number>>;

/** The driver's state around one line: the store's counters, and the target container layer's structures. */
export interface Snapshot {
  readonly usage: Counters;
  readonly layer: string | undefined;
  readonly state: unknown;
}

export interface LineContext {
  readonly op: string;
  readonly outcome: string;
  readonly cost: OpCost;
  /** Whether the line is a file op inside a container (not an image or container lifecycle step). */
  readonly fileOp: boolean;
}

export interface Probe {
  readonly mechanism: Mechanism;
  snapshot(layer: string | undefined): Snapshot;
  facts(before: Snapshot, after: Snapshot, ctx: LineContext): Fact[];
}

/**
 * The pictures models draw of their own layers, by kind. Each model that draws one adds it here from its own folder
 * (`declare module` merging), so the core names no model's picture and `LayerPicture` stays a union narrowed by kind.
 */
// eslint-disable-next-line @typescript-eslint/no-empty-object-type -- filled in by the models' declaration merging
export interface ModelPictures {}

export type ModelPicture = ModelPictures[keyof ModelPictures];

/** A model's own explanation: its probe, and its container layer drawn as data and as text. */
export interface ModelExplain {
  probe(host: Host): Probe;
  picture(host: Host, layer: string): ModelPicture;
  /** The picture as text lines; only ever given a picture this model drew. */
  pictureText(picture: ModelPicture): string[];
}

// ---- shared helpers -------------------------------------------------------------------------------------------------

/** The store under a snapshotting driver (devicemapper, btrfs, zfs): the model that created it knows its type. */
export function storeOf<S>(host: Host): S {
  return (host.driver as SnapshotDriver<unknown>).store as S;
}

/** How many layers the host holds (image layers, init and container layers): read from its records. */
export function layerCount(host: Host): number {
  const ids = new Set<string>();
  for (const i of host.images.values()) for (const l of i.layers) ids.add(l);
  for (const c of host.containers.values()) {
    ids.add(c.layer);
    if (c.initLayer !== undefined) ids.add(c.initLayer);
  }
  return ids.size;
}

export function usageDelta(a: Counters, b: Counters, key: string): number {
  return (b[key] ?? 0) - (a[key] ?? 0);
}

/** Usage counters a lifecycle line changes, each with the word that counts it: the host's layers, and a model's own. */
export type LifecycleCounters = readonly (readonly [key: string, word: string])[];

export const LAYER_COUNTERS: LifecycleCounters = [['layers', 'layer']];

/** Lifecycle lines (image, run, commit, rm...): what they changed in the store, from the usage counters. */
export function lifecycleFacts(before: Snapshot, after: Snapshot, ctx: LineContext, counters: LifecycleCounters = LAYER_COUNTERS): Fact[] {
  const changes: Record<string, number> = {};
  for (const [key] of counters) {
    const d = usageDelta(before.usage, after.usage, key);
    if (d !== 0) changes[key] = d;
  }
  const out: Fact[] = [];
  const parts = counters.filter(([k]) => changes[k] !== undefined).map(([k, word]) => `${changes[k]! > 0 ? '+' : ''}${plural(changes[k]!, word)}`);
  if (parts.length > 0) out.push({ kind: 'layers', changes, text: parts.join(', ') });
  out.push(spaceFact(ctx.cost));
  return out;
}

export function spaceFact(cost: OpCost): Fact {
  const wrote = cost.dataBytes + cost.metadataBytes > 0 ? `wrote ${size(cost.dataBytes)} data + ${size(cost.metadataBytes)} metadata, ` : '';
  const sign = cost.allocatedBytes > 0 ? '+' : '';
  return {
    kind: 'space',
    allocatedBytes: cost.allocatedBytes,
    dataBytes: cost.dataBytes,
    metadataBytes: cost.metadataBytes,
    text: `${wrote}in use ${sign}${size(cost.allocatedBytes)}`,
  };
}

export function errnoFact(ctx: LineContext, why: string | undefined): Fact {
  return { kind: 'errno', errno: ctx.outcome, text: why === undefined ? ctx.outcome : `${ctx.outcome} (${why})` };
}
