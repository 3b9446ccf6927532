import { fail } from '../fs/errno.js';
import type { Inode } from '../fs/inode.js';
import { SpaceCounts, Volume, type BackingFs, type VolumeEntryJSON } from '../fs/volume.js';
import { backingFsUsage, layerChain, type DriverEnv, type StorageDriver, type StorageUsage } from '../engine/driver.js';
import { applyOciLayer, OPAQUE_MARKER, WHITEOUT_PREFIX } from '../layer/apply-oci.js';
import { changesBetween, changesSize, directorySize, layerFromChanges } from '../layer/changes.js';
import { copyInode } from '../layer/copy-tree.js';
import type { BranchFormat } from './branch-format.js';
import { UnionMount, type UnionPolicy } from './union-mount.js';

/** One layer of a union driver: its own directory (overlay2 `diff/`, aufs `diff/<id>`) and its parent. */
interface UnionLayer {
  readonly id: string;
  readonly parent: string | undefined;
  readonly branch: Volume;
  /** Hard-linked lower inodes copied up in this layer (overlayfs index dir / AUFS pseudo-links). */
  readonly aliases: Map<Inode, Inode>;
}

/**
 * The driver's own directory besides the layers' contents (/var/lib/docker/overlay2/<id>/{work,merged},
 * /var/lib/docker/aufs/{mnt,layers}/<id>): what Create, Get and Remove make there.
 */
export interface HomeLayout {
  /** What the driver makes when the daemon starts it (Init). */
  init?(home: Volume): void;
  createLayer(home: Volume, id: string, parents: readonly string[]): void;
  /** The first read-write mount of a layer (overlayfs makes work/work). */
  mounted(home: Volume, id: string): void;
  removeLayer(home: Volume, id: string): void;
}

export interface UnionDriverConfig {
  readonly home?: HomeLayout;
  readonly format: BranchFormat;
  readonly policy: UnionPolicy;
  readonly backing: BackingFs;
  /** Most lower layers one mount may stack (overlay2 maxDepth 128; Docker's MaxImageDepth for aufs). */
  readonly maxLowerLayers: number;
  /**
   * Whether a layer's own directory holds all its changes, so Diff can tar it up (overlay2's "native diff"); false
   * when redirects or metacopy leave data in lower layers (Docker then falls back to the naive diff).
   */
  readonly nativeDiff: boolean;
}

/**
 * A union graph driver: every layer is a directory of its own; a mount stacks the layer's directory over its parents'
 * (nearest first). Nothing is copied when a layer is created; a container pays on first change, by copy-up.
 */
export class UnionDriver implements StorageDriver {
  private readonly layers = new Map<string, UnionLayer>();
  private layersCreated = 0;
  private mountCount = 0;
  /** The live mount of each layer (Get without Put yet). */
  private readonly mounted = new Map<string, UnionMount>();

  /** The driver's home directory on the backing filesystem, holding what is not a layer's own contents. */
  readonly home: Volume;
  /** The backing filesystem's totals over the layer directories and the home: one filesystem, as df sees it. */
  private readonly disk = new SpaceCounts();

  constructor(
    readonly config: UnionDriverConfig,
    readonly env: DriverEnv,
  ) {
    this.home = new Volume({ clock: env.clock, inos: env.inos, meter: env.meter, backing: config.backing, rootMode: 0o700, disk: this.disk });
    config.home?.init?.(this.home);
  }

  private layer(id: string): UnionLayer {
    const l = this.layers.get(id);
    if (l === undefined) throw new Error(`no such layer: ${id}`);
    return l;
  }

  createLayer(id: string, parent: string | undefined): void {
    if (this.layers.has(id)) throw new Error(`layer exists: ${id}`);
    if (parent !== undefined && this.parents(parent).length + 1 > this.config.maxLowerLayers) fail('EINVAL');
    const branch = new Volume({ clock: this.env.clock, inos: this.env.inos, meter: this.env.meter, backing: this.config.backing, disk: this.disk });
    this.layers.set(id, { id, parent, branch, aliases: new Map() });
    this.layersCreated++;
    this.config.home?.createLayer(this.home, id, parent === undefined ? [] : [parent, ...this.parents(parent)]);
  }

  applyDiff(id: string, diff: Volume): void {
    const format = this.config.format;
    applyOciLayer(diff, this.layer(id).branch, {
      whiteout: (volume, dir, name) => format.addWhiteout(volume, dir, name),
      opaque: (volume, dir) => format.setOpaque(volume, dir),
    });
  }

  parents(id: string): string[] {
    return layerChain(id, l => this.layer(l).parent);
  }

  mount(id: string): UnionMount {
    const layer = this.layer(id);
    const lowers = this.parents(id).map(p => this.layer(p).branch.root);
    // overlay2: "max depth exceeded" past 128 lower layers
    if (lowers.length > this.config.maxLowerLayers) fail('EINVAL');
    this.config.format.prepareUpper?.(layer.branch);
    this.config.home?.mounted(this.home, id);
    this.mountCount++;
    const mount = new UnionMount(layer.branch, lowers, this.config.format, this.config.policy, layer.aliases);
    this.mounted.set(id, mount);
    return mount;
  }

  /** A read-only view of a layer (Get of a committed layer): nothing is prepared or written in its directory. */
  view(id: string): UnionMount {
    const layer = this.layer(id);
    const lowers = this.parents(id).map(p => this.layer(p).branch.root);
    return new UnionMount(layer.branch, lowers, this.config.format, this.config.policy, layer.aliases);
  }

  diff(id: string): Volume {
    const layer = this.layer(id);
    if (this.config.nativeDiff) return this.exportBranch(layer.branch);
    const parent = layer.parent === undefined ? undefined : this.view(layer.parent);
    const mine = this.view(id);
    return parent === undefined ? this.exportBranch(layer.branch) : layerFromChanges(mine, changesBetween(mine, parent));
  }

  /**
   * DiffSize: with native diff the size of the layer's own directory (pkg/directory Size); else, as `diff` falls back
   * to the NaiveDiffDriver, the size of the changes against the parent's view.
   */
  diffSize(id: string): number {
    const layer = this.layer(id);
    if (this.config.nativeDiff || layer.parent === undefined) return directorySize(layer.branch);
    const mine = this.view(id);
    return changesSize(mine, changesBetween(mine, this.view(layer.parent)));
  }

  /** The layer's directory in OCI form: whiteouts as `.wh.<name>`, opaque directories with `.wh..wh..opq`. */
  private exportBranch(branch: Volume): Volume {
    const format = this.config.format;
    const out = new Volume();
    const linked = new Map<Inode, Inode>();
    const walk = (from: Inode, to: Inode): void => {
      if (from !== branch.root && format.isOpaque(from)) {
        out.createChild(to, OPAQUE_MARKER, 'file', { mode: from.mode & 0o777, uid: from.uid, gid: from.gid });
      }
      for (const name of format.whiteouts(from)) {
        // go-archive's overlay converter: a 0/0 device becomes an empty regular file, mode 0600
        out.createChild(to, WHITEOUT_PREFIX + name, 'file', { mode: 0o600, uid: 0, gid: 0 });
      }
      for (const name of format.visibleNames(from).sort()) {
        const child = from.entries!.get(name)!;
        const seen = linked.get(child);
        if (seen !== undefined) {
          out.addEntry(to, name, seen);
          continue;
        }
        const made = copyInode(out, child);
        if (child.kind !== 'dir' && child.nlink > 1) linked.set(child, made);
        for (const k of [...(made.xattrs?.keys() ?? [])]) if (format.isPrivateXattr(k)) out.removeXattr(made, k);
        out.addEntry(to, name, made, true);
        if (child.kind === 'dir') walk(child, made);
        made.mtime = child.mtime;
      }
    };
    walk(branch.root, out.root);
    return out;
  }

  sync(id: string): void {
    this.mounted.get(id)?.flushAliases();
  }

  release(id: string): void {
    this.sync(id);
    this.mounted.delete(id);
  }

  removeLayer(id: string): void {
    const layer = this.layer(id);
    for (const l of this.layers.values()) if (l.parent === id) fail('EBUSY');
    layer.branch.leaveDisk();
    this.layers.delete(id);
    this.mounted.delete(id);
    this.config.home?.removeLayer(this.home, id);
  }

  /** The layer's directory as `ls -la` and `getfattr` would list it, for `--json` and tests. */
  inspectLayer(id: string): VolumeEntryJSON[] {
    return this.layer(id).branch.toJSON();
  }

  /** `docker info` lines of overlay2 (Backing Filesystem, Supports d_type, Native Overlay Diff) and aufs (Dirs). */
  status(): Record<string, string> {
    const out: Record<string, string> = { 'Backing Filesystem': this.config.backing.name === 'ext4' ? 'extfs' : this.config.backing.name };
    if (this.config.format.name === 'overlayfs') {
      out['Supports d_type'] = 'true';
      out['Native Overlay Diff'] = String(this.config.nativeDiff);
    } else {
      out['Dirs'] = String(this.layers.size);
    }
    return out;
  }

  branch(id: string): Volume {
    return this.layer(id).branch;
  }

  allocatedBytes(): number {
    return this.disk.allocatedBytes(this.config.backing);
  }

  usage(): StorageUsage {
    const u = backingFsUsage(this.disk, this.config.backing);
    u['homeBytes'] = this.home.usage().blockBytes;
    u['layersCreated'] = this.layersCreated;
    u['mounts'] = this.mountCount;
    return u;
  }

  toJSON(): unknown {
    return {
      format: this.config.format.name,
      layers: [...this.layers.values()].map(l => ({ id: l.id, parent: l.parent ?? null, usage: l.branch.usage() })),
    };
  }
}
