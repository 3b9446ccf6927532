import { CostMeter } from '../fs/cost.js';
import { fail } from '../fs/errno.js';
import { InoAllocator, LogicalClock } from '../fs/inode.js';
import type { Volume } from '../fs/volume.js';
import { Syscalls } from '../vfs/syscalls.js';
import { capabilitiesOf, type DriverCapabilities, type DriverModel, type StorageDriver, type StorageUsage } from './driver.js';
import { setupInitLayer, type InitProfile } from './init-layer.js';
import { mulberry32 } from './random.js';

/** An image: its layers, bottom first (the top one is what containers are created on). */
export interface ImageRecord {
  readonly name: string;
  readonly layers: readonly string[];
}

/** A container: its layers (`<id>-init` and `<id>`) and the process view of its root. */
export interface ContainerRecord {
  readonly name: string;
  readonly image: string;
  layer: string;
  readonly initLayer: string | undefined;
  sys: Syscalls<object>;
  running: boolean;
}

export interface HostOptions {
  readonly seed?: number;
  /** Which init layer `run` builds (the driver option `profile`, else modern). */
  readonly initProfile?: InitProfile;
}

/**
 * One simulated Docker host on one storage driver: images, containers and their mounted views. Every change goes
 * through the driver's graphdriver calls, so the lifecycle is Docker's whatever the model, and the model decides
 * what each step costs.
 */
export class Host {
  readonly meter = new CostMeter();
  readonly clock = new LogicalClock();
  readonly inos = new InoAllocator();
  readonly random: () => number;
  readonly driver: StorageDriver;
  readonly capabilities: DriverCapabilities;
  readonly images = new Map<string, ImageRecord>();
  readonly containers = new Map<string, ContainerRecord>();
  private layerSeq = 0;
  private readonly initProfile: InitProfile;

  constructor(
    readonly model: DriverModel,
    readonly options: Record<string, string>,
    opts: HostOptions = {},
  ) {
    this.random = mulberry32(opts.seed ?? 1);
    this.initProfile = opts.initProfile ?? (options['profile'] === 'docker-1.3' ? 'docker-1.3' : 'modern');
    this.driver = model.create(options, { clock: this.clock, inos: this.inos, meter: this.meter, random: this.random });
    this.capabilities = capabilitiesOf(model, options);
  }

  private newLayerId(label: string): string {
    return `${String(++this.layerSeq).padStart(4, '0')}-${label}`;
  }

  /** docker load: each layer tree (OCI form) applied as a new layer on the previous one. */
  loadImage(name: string, layers: readonly Volume[]): void {
    if (this.images.has(name)) fail('EEXIST');
    if (layers.length > this.capabilities.maxLowerLayers) fail('EINVAL');
    const ids: string[] = [];
    for (const tree of layers) {
      const id = this.newLayerId(`${name}-layer${ids.length}`);
      this.driver.createLayer(id, ids.at(-1));
      this.driver.applyDiff(id, tree);
      ids.push(id);
    }
    this.images.set(name, { name, layers: ids });
  }

  image(name: string): ImageRecord {
    return this.images.get(name) ?? fail('ENOENT');
  }

  container(name: string): ContainerRecord {
    return this.containers.get(name) ?? fail('ENOENT');
  }

  /** docker run: `<id>-init` with Docker's init files on the image, then `<id>` on it (`init: false`: the layer alone). */
  run(name: string, imageName: string, init = true): ContainerRecord {
    if (this.containers.has(name)) fail('EEXIST');
    const image = this.image(imageName);
    const top = image.layers.at(-1);
    // image.go: container creation fails if depth + 2 >= MaxImageDepth (127)
    if (image.layers.length + (init ? 2 : 1) > this.capabilities.maxLowerLayers + 1) fail('EINVAL');
    let parent = top;
    let initLayer: string | undefined;
    if (init) {
      initLayer = this.newLayerId(`${name}-init`);
      this.driver.createLayer(initLayer, parent);
      setupInitLayer(new Syscalls(this.driver.mount(initLayer)), this.initProfile);
      parent = initLayer;
    }
    const layer = this.newLayerId(name);
    this.driver.createLayer(layer, parent);
    const record: ContainerRecord = {
      name,
      image: imageName,
      layer,
      initLayer,
      sys: new Syscalls(this.driver.mount(layer)),
      running: true,
    };
    this.containers.set(name, record);
    return record;
  }

  stop(name: string): void {
    const c = this.container(name);
    if (c.running) this.driver.release?.(c.layer);
    c.running = false;
  }

  /**
   * Freezes the container's layer as the top of a new image and continues the container on a fresh layer above it
   * (the unionmount-testsuite's layer rotation; the view is unchanged).
   */
  commit(name: string, imageName: string): void {
    const c = this.container(name);
    if (this.images.has(imageName)) fail('EEXIST');
    const frozen = c.layer;
    if (c.running) this.driver.release?.(frozen);
    const chain = [...this.driver.parents(frozen)].reverse();
    this.images.set(imageName, { name: imageName, layers: [...chain, frozen] });
    const layer = this.newLayerId(`${name}-after-${imageName}`);
    this.driver.createLayer(layer, frozen);
    c.layer = layer;
    const creds = c.sys.creds;
    c.sys = new Syscalls(this.driver.mount(layer));
    c.sys.creds = creds;
  }

  /** docker rm: the container's layers go. */
  rm(name: string): void {
    const c = this.container(name);
    this.driver.removeLayer(c.layer);
    if (c.initLayer !== undefined && !this.layerInUse(c.initLayer)) this.driver.removeLayer(c.initLayer);
    this.containers.delete(name);
  }

  private layerInUse(id: string): boolean {
    for (const img of this.images.values()) if (img.layers.includes(id)) return true;
    return false;
  }

  /** docker rmi: refused (EBUSY) while a container or another image is built on it. */
  rmi(name: string): void {
    const image = this.image(name);
    for (const c of this.containers.values()) if (c.image === name) fail('EBUSY');
    const shared = new Set<string>();
    for (const other of this.images.values()) if (other !== image) for (const l of other.layers) shared.add(l);
    this.images.delete(name);
    for (const id of [...image.layers].reverse()) {
      if (shared.has(id)) break;
      try {
        this.driver.removeLayer(id);
      } catch {
        break;
      }
    }
  }

  usage(): StorageUsage {
    return this.driver.usage();
  }
}
