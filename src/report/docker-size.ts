/**
 * Docker's own size reports over a simulated host: `docker ps -s` (SIZE and "virtual"), image sizes and
 * `docker system df [-v]`, with Docker's exact rules (research/ground-truth.md §2.2, §3.3):
 *
 * - a container's SIZE (SizeRw) is the driver's DiffSize against the init layer. A union driver with native diff
 *   walks its own directory for it (moby pkg/directory `Size()`: every non-directory whose st_size is not 0, apparent
 *   size, each inode once; directories and whiteouts count nothing). Other drivers (vfs, overlay2 with redirects or
 *   metacopy) use the NaiveDiffDriver: `archive.ChangesSize` over the changes, the apparent size of the added and
 *   modified non-directories, each inode once;
 * - a layer's size is what ApplyDiff returned when it was written: the sum of the layer tar's header sizes
 *   (pkg/archive `UnpackLayer`: `size += hdr.Size`), i.e. the regular files' sizes, a hard-linked file once, and
 *   nothing for directories, symlinks, devices or whiteouts;
 * - an image's size is the sum of its layers' sizes; the virtual size of a container is SizeRw + its image's size;
 * - `docker system df`: images SIZE is every layer of every image once; an image's SHARED SIZE is the size of its
 *   layers that another image also uses, UNIQUE SIZE the rest; images RECLAIMABLE is SIZE minus the unique size of
 *   the images some container uses; containers RECLAIMABLE is the SizeRw of those not running; percentages are
 *   integer-truncated (Go's `(reclaimable*100)/total`). Source: docker/cli `cli/command/formatter/disk_usage.go`.
 */
import type { ContainerRecord, Host } from '../engine/host.js';
import type { Inode } from '../fs/inode.js';
import type { Volume } from '../fs/volume.js';
import { UnionDriver } from '../union/union-driver.js';
import { humanSizeSI, renderTable } from './format.js';

/** The apparent size of a layer tree's non-directories, each inode once (`archive.ChangesSize` over a diff). */
function changesSizeOfTree(tree: Volume): number {
  const seen = new Set<Inode>();
  let size = 0;
  for (const [, inode] of tree.walk()) {
    if (inode.kind === 'dir' || seen.has(inode)) continue;
    seen.add(inode);
    size += inode.size;
  }
  return size;
}

/**
 * The size Docker records for a layer (ApplyDiff's return value): the sum of the layer tar's header sizes, which is
 * the size of its regular files with each hard-linked inode counted once (the other names are link entries of size
 * 0); directories, symlinks, devices and whiteouts have header size 0. dive's layer size is the same sum.
 */
export function layerTarSize(tree: Volume): number {
  const seen = new Set<Inode>();
  let size = 0;
  for (const [, inode] of tree.walk()) {
    if (inode.kind !== 'file' || seen.has(inode)) continue;
    seen.add(inode);
    size += inode.size;
  }
  return size;
}

/** Whether SizeRw walks the driver's own directory (native diff) or the changes (NaiveDiffDriver). */
export function diffSizeMethod(host: Host): 'directory' | 'changes' {
  const d = host.driver;
  return d instanceof UnionDriver && d.config.nativeDiff ? 'directory' : 'changes';
}

/** Runs `fn` without charging the host's cost meter: a report reads the store, it is not a container's I/O. */
function uncharged<T>(host: Host, fn: () => T): T {
  const saved = host.meter.snapshot();
  try {
    return fn();
  } finally {
    Object.assign(host.meter, saved);
  }
}

/** `docker ps -s` SIZE: the container layer's DiffSize against its init layer (or its image, without one). */
export function containerSizeRw(host: Host, container: ContainerRecord | string): number {
  const c = typeof container === 'string' ? host.container(container) : container;
  const d = host.driver;
  return uncharged(host, () => d.diffSize?.(c.layer) ?? changesSizeOfTree(d.diff(c.layer)));
}

/** Each layer's recorded size by layer id, over every image on the host. */
export function layerSizes(host: Host): Map<string, number> {
  const sizes = new Map<string, number>();
  for (const image of host.images.values()) {
    image.layers.forEach((id, i) => {
      if (!sizes.has(id)) sizes.set(id, layerTarSize(image.trees[i]!));
    });
  }
  return sizes;
}

/** An image's size: the sum of its layers' sizes (`docker images` SIZE). */
export function imageSize(host: Host, name: string): number {
  return host.image(name).trees.reduce((sum, tree) => sum + layerTarSize(tree), 0);
}

export interface ContainerSizeRow {
  name: string;
  image: string;
  running: boolean;
  /** SizeRw: what `docker ps -s` prints first. */
  sizeRwBytes: number;
  /** SizeRootFs: SizeRw plus the image's size (the "virtual" figure). */
  virtualSizeBytes: number;
  /** `docker ps -s` SIZE column, e.g. `5B (virtual 7.75MB)`. */
  text: string;
}

/** `docker ps -s` SIZE for one container. */
export function containerSize(host: Host, container: ContainerRecord | string): ContainerSizeRow {
  const c = typeof container === 'string' ? host.container(container) : container;
  const sizeRw = containerSizeRw(host, c);
  const virtual = sizeRw + imageSize(host, c.image);
  return {
    name: c.name,
    image: c.image,
    running: c.running,
    sizeRwBytes: sizeRw,
    virtualSizeBytes: virtual,
    text: `${humanSizeSI(sizeRw)} (virtual ${humanSizeSI(virtual)})`,
  };
}

export interface DfImageRow {
  name: string;
  /** Containers created from the image (any state). */
  containers: number;
  sizeBytes: number;
  /** Size of its layers that at least one other image also uses. */
  sharedSizeBytes: number;
  uniqueSizeBytes: number;
}

export interface DfSummary {
  total: number;
  active: number;
  sizeBytes: number;
  reclaimableBytes: number;
  /** Go's integer `(reclaimable*100)/size`; null when size is 0 (Docker prints no percentage then). */
  reclaimablePercent: number | null;
}

export interface SystemDf {
  images: DfSummary;
  containers: DfSummary;
  imageRows: DfImageRow[];
  containerRows: ContainerSizeRow[];
}

function percent(part: number, whole: number): number | null {
  return whole > 0 ? Math.trunc((part * 100) / whole) : null;
}

/** `docker system df` and its `-v` rows. */
export function systemDf(host: Host): SystemDf {
  const sizes = layerSizes(host);
  const refs = new Map<string, number>();
  for (const image of host.images.values()) for (const id of new Set(image.layers)) refs.set(id, (refs.get(id) ?? 0) + 1);
  const containers = [...host.containers.values()];
  const imageRows: DfImageRow[] = [...host.images.values()].map(image => {
    let size = 0;
    let shared = 0;
    for (const id of image.layers) {
      const s = sizes.get(id)!;
      size += s;
      if (refs.get(id)! > 1) shared += s;
    }
    return {
      name: image.name,
      containers: containers.filter(c => c.image === image.name).length,
      sizeBytes: size,
      sharedSizeBytes: shared,
      uniqueSizeBytes: size - shared,
    };
  });
  const layersSize = [...sizes.values()].reduce((a, b) => a + b, 0);
  const used = imageRows.filter(r => r.containers > 0).reduce((sum, r) => sum + r.uniqueSizeBytes, 0);
  const containerRows = containers.map(c => containerSize(host, c));
  const rwTotal = containerRows.reduce((sum, r) => sum + r.sizeRwBytes, 0);
  const rwReclaimable = containerRows.filter(r => !r.running).reduce((sum, r) => sum + r.sizeRwBytes, 0);
  return {
    images: {
      total: imageRows.length,
      active: imageRows.filter(r => r.containers > 0).length,
      sizeBytes: layersSize,
      reclaimableBytes: layersSize - used,
      reclaimablePercent: percent(layersSize - used, layersSize),
    },
    containers: {
      total: containerRows.length,
      active: containerRows.filter(r => r.running).length,
      sizeBytes: rwTotal,
      reclaimableBytes: rwReclaimable,
      reclaimablePercent: percent(rwReclaimable, rwTotal),
    },
    imageRows,
    containerRows,
  };
}

/** Docker's RECLAIMABLE cell: `11.63MB (70%)`, or the size alone when the total is 0. */
export function reclaimableText(s: DfSummary): string {
  return s.reclaimablePercent === null ? humanSizeSI(s.reclaimableBytes) : `${humanSizeSI(s.reclaimableBytes)} (${s.reclaimablePercent}%)`;
}

/** `docker system df` as text; with `verbose`, the `-v` image and container tables. */
export function formatSystemDf(df: SystemDf, verbose = false): string {
  const out = [
    renderTable([
      ['TYPE', 'TOTAL', 'ACTIVE', 'SIZE', 'RECLAIMABLE'],
      ['Images', String(df.images.total), String(df.images.active), humanSizeSI(df.images.sizeBytes), reclaimableText(df.images)],
      ['Containers', String(df.containers.total), String(df.containers.active), humanSizeSI(df.containers.sizeBytes), reclaimableText(df.containers)],
    ]),
  ];
  if (verbose) {
    out.push(
      '',
      'Images space usage:',
      '',
      renderTable([
        ['IMAGE', 'SIZE', 'SHARED SIZE', 'UNIQUE SIZE', 'CONTAINERS'],
        ...df.imageRows.map(r => [r.name, humanSizeSI(r.sizeBytes), humanSizeSI(r.sharedSizeBytes), humanSizeSI(r.uniqueSizeBytes), String(r.containers)]),
      ]),
      '',
      'Containers space usage:',
      '',
      renderTable([
        ['CONTAINER', 'IMAGE', 'SIZE', 'STATUS'],
        ...df.containerRows.map(r => [r.name, r.image, humanSizeSI(r.sizeRwBytes), r.running ? 'running' : 'exited']),
      ]),
    );
  }
  return out.join('\n');
}
