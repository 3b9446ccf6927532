import { fail } from '../../src/fs/errno.js';
import { PlainMount } from '../../src/fs/plain-mount.js';
import { SpaceCounts, Volume, type BackingFs } from '../../src/fs/volume.js';
import { backingFsUsage, layerChain, type DriverEnv, type StorageDriver, type StorageUsage } from '../../src/engine/driver.js';
import { applyOciLayer, REMOVE_ON_WHITEOUT } from '../../src/layer/apply-oci.js';
import { changesBetween, changesSize, layerFromChanges, type Change } from '../../src/layer/changes.js';
import { copyTree } from '../../src/layer/copy-tree.js';

interface VfsLayer {
  readonly parent: string | undefined;
  readonly volume: Volume;
}

/**
 * Docker's vfs graphdriver: no copy-on-write. Create(id, parent) is a full copy of the parent's tree
 * (1.3: `cp -aT --reflink=auto`; now copy.DirCopy), so every layer holds everything below it.
 */
export class VfsDriver implements StorageDriver {
  private readonly layers = new Map<string, VfsLayer>();
  /** /var/lib/docker/vfs/dir/<id> are directories of one filesystem: its totals over every layer copy. */
  private readonly disk = new SpaceCounts();

  constructor(
    readonly env: DriverEnv,
    readonly backing: BackingFs,
  ) {}

  private layer(id: string): VfsLayer {
    const l = this.layers.get(id);
    if (l === undefined) throw new Error(`no such layer: ${id}`);
    return l;
  }

  createLayer(id: string, parent: string | undefined): void {
    if (this.layers.has(id)) throw new Error(`layer exists: ${id}`);
    const volume = new Volume({ clock: this.env.clock, inos: this.env.inos, meter: this.env.meter, backing: this.backing, disk: this.disk });
    if (parent !== undefined) copyTree(this.layer(parent).volume, volume);
    this.layers.set(id, { parent, volume });
  }

  applyDiff(id: string, diff: Volume): void {
    applyOciLayer(diff, this.layer(id).volume, REMOVE_ON_WHITEOUT);
  }

  diff(id: string): Volume {
    const mine = new PlainMount(this.layer(id).volume);
    return layerFromChanges(mine, this.changes(mine, id));
  }

  /** NaiveDiffDriver.DiffSize (vfs has no diff of its own): the changes against the parent's copy, then their size. */
  diffSize(id: string): number {
    const mine = new PlainMount(this.layer(id).volume);
    return changesSize(mine, this.changes(mine, id));
  }

  private changes(mine: PlainMount, id: string): Change[] {
    const parent = this.layer(id).parent;
    return changesBetween(mine, new PlainMount(parent === undefined ? new Volume() : this.layer(parent).volume));
  }

  mount(id: string): PlainMount {
    return new PlainMount(this.layer(id).volume);
  }

  removeLayer(id: string): void {
    const layer = this.layer(id);
    for (const l of this.layers.values()) if (l.parent === id) fail('EBUSY');
    layer.volume.leaveDisk();
    this.layers.delete(id);
  }

  parents(id: string): string[] {
    return layerChain(id, l => this.layer(l).parent);
  }

  inspectLayer(id: string): unknown {
    return this.layer(id).volume.toJSON();
  }

  allocatedBytes(): number {
    return this.disk.allocatedBytes(this.backing);
  }

  usage(): StorageUsage {
    // /var/lib/docker/vfs/dir/<id> are directories of one filesystem
    return backingFsUsage(this.disk, this.backing);
  }

  toJSON(): unknown {
    return { layers: [...this.layers].map(([id, l]) => ({ id, parent: l.parent ?? null, usage: l.volume.usage() })) };
  }
}
