import type { ModelExplain } from '../explain/contract.js';
import type { CostMeter } from '../fs/cost.js';
import type { Clock, InoAllocator } from '../fs/inode.js';
import type { BackingFs, SpaceCounts, Volume } from '../fs/volume.js';
import type { Mount } from '../vfs/mount.js';

/** What a driver model is given by the host: shared clock, inode numbers, cost meter and seeded randomness. */
export interface DriverEnv {
  readonly clock: Clock;
  readonly inos: InoAllocator;
  readonly meter: CostMeter;
  /** Uniform in [0, 1), seeded: the same trace always draws the same numbers. */
  readonly random: () => number;
}

/** One option a model accepts (`--driver-opt key=value`), with its default and where the default comes from. */
export interface OptionSpec {
  readonly description: string;
  readonly default: string;
  /** Allowed values; absent when free-form (then `parse` validates). */
  readonly values?: readonly string[];
  readonly source: string;
}

/** The layers below `id`, nearest first, from each layer's parent (a driver's `parents`). */
export function layerChain(id: string, parentOf: (id: string) => string | undefined): string[] {
  const out: string[] = [];
  for (let p = parentOf(id); p !== undefined; p = parentOf(p)) out.push(p);
  return out;
}

/** Space in use on the driver's store, as the spec's `usage` object reports it (bytes). */
export interface StorageUsage {
  /** Data space in use (union drivers: the layers' allocated data blocks). */
  dataBytes: number;
  /** Metadata space in use (union drivers: inodes, directory and xattr blocks). */
  metadataBytes: number;
  /** What `df` on the filesystem holding the store would show in use. */
  dfUsedBytes: number;
  /** dataBytes + metadataBytes. */
  allocatedBytes: number;
  /** Sum of file sizes (apparent) across the store. */
  apparentBytes: number;
  [detail: string]: number;
}

/**
 * The reading of a driver whose layers are directories of one backing filesystem (vfs, aufs, overlay2): its totals
 * over every layer directory, and `df` of that filesystem seeing the blocks they take.
 */
export function backingFsUsage(disk: SpaceCounts, backing: BackingFs): StorageUsage {
  const v = disk.usage(backing);
  return {
    dataBytes: v.dataBytes,
    metadataBytes: v.metadataBytes,
    dfUsedBytes: v.blockBytes,
    allocatedBytes: v.allocatedBytes,
    apparentBytes: v.apparentBytes,
    inodeCount: v.inodeCount,
  };
}

/** What a model declares it does, so the conformance suite can skip what does not apply. */
export interface DriverCapabilities {
  /** Union drivers copy whole files up; block drivers share blocks below a plain filesystem. */
  readonly kind: 'union' | 'copy' | 'block';
  /** Whether the container sees whiteouts/EXDEV-style union semantics anywhere. */
  readonly whiteouts: boolean;
  /** rename(2) of a directory that exists in a lower layer. */
  readonly dirRename: 'posix' | 'EXDEV' | 'EXDEV-unless-empty';
  /** Whether copy-up keeps hard links together. */
  readonly hardLinksSurviveCopyUp: boolean;
  /** Maximum layers below a container (Docker: 128 lower layers for overlay2). */
  readonly maxLowerLayers: number;
}

/**
 * A storage driver instance: Docker's graphdriver contract (Create, ApplyDiff, Get, Remove) over the model's own
 * mechanism. The host builds images and containers only through these calls, so the Docker lifecycle is the same for
 * every model and the model decides what each step costs.
 */
export interface StorageDriver {
  /** graphdriver Create(id, parent): an empty layer on top of `parent` (or a base layer). */
  createLayer(id: string, parent: string | undefined): void;
  /** ApplyDiff(id, tar): writes a layer tree in OCI form (`.wh.` whiteouts, `.wh..wh..opq`) into layer `id`. */
  applyDiff(id: string, diff: Volume): void;
  /** Get(id): the layer mounted read-write, as the container sees it. */
  mount(id: string): Mount<object>;
  /**
   * Diff(id, parent): the layer's changes against its parent as a layer tree in OCI form (`.wh.` whiteouts), what
   * `docker commit` and `docker save` tar up. Union drivers export their own directory ("native diff") when it holds
   * everything; otherwise the changes are found by walking both views (Docker's NaiveDiffDriver).
   */
  diff(id: string): Volume;
  /**
   * DiffSize(id, parent): the size of the layer's changes (`docker ps -s` SIZE) without exporting them, for the drivers
   * that find changes by walking both views (NaiveDiffDriver: Changes, then archive.ChangesSize). Optional: without it
   * the size is read from `diff`.
   */
  diffSize?(id: string): number;
  /** Time passes with nothing else happening: background writeback and periodic commits run (btrfs, jbd2). */
  idle?(seconds: number): void;
  /** Writes a mounted layer's in-memory state back into it (AUFS pseudo-links: `auplink flush`). */
  sync?(id: string): void;
  /** Put(id): the layer is unmounted (a container stops, or is frozen by a commit). */
  release?(id: string): void;
  /** Remove(id). */
  removeLayer(id: string): void;
  /** Layers below `id`, nearest first (the lowerdir chain). */
  parents(id: string): string[];
  /**
   * Space in use. `settle` (the default) first lets pending work reach the disk, as `sync; df` would (journal and
   * transaction commits, writeback); `false` reads what is allocated now, with no side effect (per-op accounting).
   */
  usage(settle?: boolean): StorageUsage;
  /**
   * `usage(false).allocatedBytes` alone, without building the whole reading: per-op accounting reads it twice per
   * trace line, and a reading sums every layer. Optional; the host falls back to `usage(false)`.
   */
  allocatedBytes?(): number;
  /** The driver's lines of `docker info` (Status()): devicemapper's Data/Metadata Space Used and Total, etc. */
  status?(): Record<string, string>;
  /** The layer's own structures (upper directory, whiteouts, mapping table...), for `--json` and tests. */
  inspectLayer(id: string): unknown;
  toJSON(): unknown;
}

/** A driver model: declared as a typed object checked with `satisfies DriverModel<...>`. */
export interface DriverModel<O extends Record<string, string> = Record<string, string>> {
  readonly name: string;
  readonly summary: string;
  readonly options: { readonly [K in keyof O]: OptionSpec };
  readonly capabilities: DriverCapabilities | ((options: O) => DriverCapabilities);
  /** Validates raw `key=value` options (after defaults are filled in); throws `Error` with a clear message. */
  parse?(options: O): void;
  create(options: O, env: DriverEnv): StorageDriver;
  /**
   * How `explain` reads this model's own structures (a thin pool, btrfs trees, zfs records). Absent: the mechanism the
   * core runs for it is read generically (a union driver through its branch format, a plain copy, the cost record).
   */
  readonly explain?: ModelExplain;
}

export function capabilitiesOf(model: DriverModel, options: Record<string, string>): DriverCapabilities {
  return typeof model.capabilities === 'function' ? model.capabilities(options) : model.capabilities;
}
