import { FileContent } from '../fs/content.js';
import { CostMeter } from '../fs/cost.js';
import { fail } from '../fs/errno.js';
import { InoAllocator, LogicalClock } from '../fs/inode.js';
import { Volume } from '../fs/volume.js';
import { BindMounts, BoundFile } from '../vfs/bind-mount.js';
import type { Mount } from '../vfs/mount.js';
import { Syscalls } from '../vfs/syscalls.js';
import { capabilitiesOf, type DriverCapabilities, type DriverModel, type StorageDriver, type StorageUsage } from './driver.js';
import { setupInitLayer, type InitProfile } from './init-layer.js';
import { mulberry32 } from './random.js';

/** An image: its layers, bottom first, and each layer's content as a layer tree (OCI form). */
export interface ImageRecord {
  readonly name: string;
  readonly layers: readonly string[];
  /** What each layer holds, as a layer tar would (what `inspect`, `save` and dive read). */
  readonly trees: readonly Volume[];
  /** The image it was committed from, if any. */
  readonly parent: string | undefined;
}

/** A container: its layers (`<id>-init` and `<id>`) and the process view of its root. */
export interface ContainerRecord {
  readonly name: string;
  readonly image: string;
  readonly layer: string;
  readonly initLayer: string | undefined;
  readonly sys: Syscalls<object>;
  /** The files Docker keeps for it outside the storage driver (/var/lib/docker/containers/<id>). */
  readonly hostFiles: Volume | undefined;
  running: boolean;
}

export interface HostOptions {
  readonly seed?: number;
  /** Which init layer `run` builds (the driver option `profile`, else modern). */
  readonly initProfile?: InitProfile;
}

/** Docker's files bind-mounted into every container it runs (daemon/volumes.go: setupMountsForContainer). */
const BIND_MOUNTED = ['/etc/resolv.conf', '/etc/hostname', '/etc/hosts'] as const;

/** image.go: container creation fails if depth + 2 >= MaxImageDepth (127). */
const MAX_IMAGE_DEPTH = 127;

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
  private containerSeq = 0;
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
  loadImage(name: string, trees: readonly Volume[]): void {
    if (this.images.has(name)) fail('EEXIST');
    if (trees.length > this.capabilities.maxLowerLayers || trees.length >= MAX_IMAGE_DEPTH) fail('EINVAL');
    const ids: string[] = [];
    for (const tree of trees) {
      const id = this.newLayerId(`${name}-layer${ids.length}`);
      this.driver.createLayer(id, ids.at(-1));
      this.driver.applyDiff(id, tree);
      ids.push(id);
    }
    this.images.set(name, { name, layers: ids, trees: [...trees], parent: undefined });
  }

  image(name: string): ImageRecord {
    return this.images.get(name) ?? fail('ENOENT');
  }

  container(name: string): ContainerRecord {
    return this.containers.get(name) ?? fail('ENOENT');
  }

  /**
   * docker run: `<id>-init` with Docker's init files on the image, then `<id>` on it, and the container's hosts,
   * hostname and resolv.conf bind-mounted from outside the driver. `init: false` creates the container layer alone
   * (containerd), with no bind mounts.
   */
  run(name: string, imageName: string, init = true): ContainerRecord {
    if (this.containers.has(name)) fail('EEXIST');
    const image = this.image(imageName);
    if (image.layers.length + (init ? 2 : 1) >= MAX_IMAGE_DEPTH || image.layers.length + (init ? 1 : 0) > this.capabilities.maxLowerLayers) {
      fail('EINVAL');
    }
    let parent = image.layers.at(-1);
    let initLayer: string | undefined;
    if (init) {
      initLayer = this.newLayerId(`${name}-init`);
      this.driver.createLayer(initLayer, parent);
      setupInitLayer(new Syscalls(this.driver.mount(initLayer)), this.initProfile);
      // Docker 1.3 createRootfs(): `defer driver.Put(initID)`, so the init layer is still mounted while the container
      // layer is created from it; current moby (layer_store.go initMount) Puts it first
      if (this.initProfile !== 'docker-1.3') this.driver.release?.(initLayer);
      parent = initLayer;
    }
    const layer = this.newLayerId(name);
    this.driver.createLayer(layer, parent);
    if (initLayer !== undefined && this.initProfile === 'docker-1.3') this.driver.release?.(initLayer);
    const mount = this.driver.mount(layer);
    const hostFiles = init ? this.containerFiles(name) : undefined;
    const record: ContainerRecord = {
      name,
      image: imageName,
      layer,
      initLayer,
      sys: new Syscalls(hostFiles === undefined ? mount : this.bindHostFiles(mount, hostFiles)),
      hostFiles,
      running: true,
    };
    this.containers.set(name, record);
    return record;
  }

  /** /var/lib/docker/containers/<id>: hosts, hostname and resolv.conf as the daemon writes them (on the host fs). */
  private containerFiles(name: string): Volume {
    const files = new Volume({ clock: this.clock, inos: this.inos, meter: new CostMeter() });
    const n = ++this.containerSeq;
    const text = (s: string) => FileContent.fromBytes(new TextEncoder().encode(s));
    const attrs = { mode: 0o644, uid: 0, gid: 0 };
    files.createChild(files.root, 'hosts', 'file', { ...attrs, content: text(`172.17.0.${n + 1}\t${name}\n127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n`) });
    files.createChild(files.root, 'hostname', 'file', { ...attrs, content: text(`${name}\n`) });
    files.createChild(files.root, 'resolv.conf', 'file', { ...attrs, content: text('nameserver 8.8.8.8\nnameserver 8.8.4.4\n') });
    return files;
  }

  private bindHostFiles(mount: Mount<object>, files: Volume): Mount<object> {
    const binds = new BindMounts(mount);
    for (const path of BIND_MOUNTED) {
      let node: object | undefined = mount.root;
      for (const name of path.split('/').filter(p => p !== '')) node = node === undefined ? undefined : mount.lookup(node, name);
      const file = files.root.entries!.get(path.slice(path.lastIndexOf('/') + 1))!;
      if (node !== undefined && mount.inode(node).kind === 'file') binds.bind(node, new BoundFile(file, files));
    }
    return binds as Mount<object>;
  }

  /** docker stop: the process ends; the layer is unmounted (its data stays). */
  stop(name: string): void {
    const c = this.container(name);
    if (c.running) this.driver.release?.(c.layer);
    c.running = false;
  }

  /**
   * docker commit: the container's changes against its init layer (graphdriver Diff), written again as a new layer
   * on top of the container's image (Create + ApplyDiff). The container goes on on its own layer.
   */
  commit(name: string, imageName: string): ImageRecord {
    const c = this.container(name);
    if (this.images.has(imageName)) fail('EEXIST');
    const image = this.image(c.image);
    if (image.layers.length + 1 >= MAX_IMAGE_DEPTH || image.layers.length + 1 > this.capabilities.maxLowerLayers) fail('EINVAL');
    // the layer is written back first, as an unmount would (auplink flush), so it holds all its names
    this.driver.sync?.(c.layer);
    const tree = this.driver.diff(c.layer);
    const id = this.newLayerId(`${imageName}-layer${image.layers.length}`);
    this.driver.createLayer(id, image.layers.at(-1));
    this.driver.applyDiff(id, tree);
    const record: ImageRecord = { name: imageName, layers: [...image.layers, id], trees: [...image.trees, tree], parent: c.image };
    this.images.set(imageName, record);
    return record;
  }

  /** docker rm: the container layer and its init layer go. */
  rm(name: string): void {
    const c = this.container(name);
    if (c.running) this.driver.release?.(c.layer);
    this.driver.removeLayer(c.layer);
    if (c.initLayer !== undefined) this.driver.removeLayer(c.initLayer);
    this.containers.delete(name);
  }

  /**
   * docker rmi: refused (EBUSY) while a container runs from the image or another image is built on it; removes the
   * layers no other image shares.
   */
  rmi(name: string): void {
    const image = this.image(name);
    for (const c of this.containers.values()) if (c.image === name) fail('EBUSY');
    for (const other of this.images.values()) if (other.parent === name) fail('EBUSY');
    this.images.delete(name);
    const shared = new Set<string>();
    for (const other of this.images.values()) for (const l of other.layers) shared.add(l);
    for (const id of [...image.layers].reverse()) {
      if (shared.has(id)) break;
      this.driver.removeLayer(id);
    }
  }

  /** Space in use on the driver's store; `settle: false` reads it without syncing anything first. */
  usage(settle = true): StorageUsage {
    return this.driver.usage(settle);
  }

  /** What `usage(false).allocatedBytes` reads, as cheaply as the driver can answer it (per-op accounting). */
  allocatedBytes(): number {
    return this.driver.allocatedBytes?.() ?? this.driver.usage(false).allocatedBytes;
  }

  /** Time passes with nothing happening on the host (background writeback and commits may run). */
  idle(seconds: number): void {
    this.clock.advance(seconds);
    this.driver.idle?.(seconds);
  }
}
