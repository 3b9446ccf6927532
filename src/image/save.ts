/**
 * `docker save` of an image given as its layer trees: the archive of image/spec v1.2 ("Combined Image JSON +
 * Filesystem Changeset Format") that Docker 1.10 to 24 writes and `docker load`, skopeo (`docker-archive:`),
 * containerd and `loadImageSource` read. Every byte derives from the input, so the same image always saves to the
 * same archive.
 *
 *     <layer id>/VERSION      "1.0"
 *     <layer id>/json         the legacy v1 layer config (id, parent, created): pre-1.10 loaders chain layers by it
 *     <layer id>/layer.tar    the layer's tar (OCI form: `.wh.` whiteouts)
 *     <config digest>.json    the image config: rootfs.diff_ids are the sha256 of each layer.tar
 *     manifest.json           [{"Config", "RepoTags", "Layers"}]
 *     repositories            {"<repo>": {"<tag>": "<top layer id>"}}
 */
import { createHash } from 'node:crypto';
import { FileContent } from '../fs/content.js';
import type { Volume } from '../fs/volume.js';
import { exportVolume, exportVolumeEntries } from './export.js';
import { writeTar } from './tar-write.js';
import type { ArchiveEntry } from './tree.js';

export interface SaveImageSpec {
  /** `repo` or `repo:tag`; the tag defaults to `latest`, as `docker tag` does. */
  readonly name: string;
  /** OCI layer trees, bottom first. */
  readonly layers: readonly Volume[];
  /**
   * The image's creation time, seconds since the epoch. Default: the newest mtime in any layer, whole seconds (0 for
   * an image with no entries), so the archive stays a function of the layers.
   */
  readonly created?: number;
  /** The config's platform; default linux/amd64. */
  readonly architecture?: string;
  readonly os?: string;
}

const encoder = new TextEncoder();

function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** `repo:tag`, splitting at a colon after the last slash only (a registry host may carry a port: `host:5000/repo`). */
export function splitReference(name: string): { repo: string; tag: string } {
  const colon = name.lastIndexOf(':');
  if (colon > name.lastIndexOf('/') && colon > 0) return { repo: name.slice(0, colon), tag: name.slice(colon + 1) };
  return { repo: name, tag: 'latest' };
}

/** RFC 3339 in UTC with no fraction for whole seconds, as Go's `time.Time` marshals to JSON. */
function rfc3339(seconds: number): string {
  return new Date(Math.floor(seconds) * 1000).toISOString().replace('.000Z', 'Z');
}

function newestMtime(layers: readonly Volume[]): number {
  let newest = 0;
  for (const layer of layers) for (const entry of exportVolumeEntries(layer)) newest = Math.max(newest, entry.mtime);
  return Math.floor(newest);
}

/** The image config (image-spec config.md, Docker's `image.Image`): keys in a fixed order for stable digests. */
function imageConfig(spec: SaveImageSpec, created: string, diffIds: readonly string[]): Uint8Array {
  const config = {
    architecture: spec.architecture ?? 'amd64',
    config: {},
    created,
    history: diffIds.map((_, i) => ({ created, created_by: `layersim: layer ${i}` })),
    os: spec.os ?? 'linux',
    rootfs: { type: 'layers', diff_ids: diffIds },
  };
  return encoder.encode(JSON.stringify(config));
}

/**
 * The layer directories' ids: each layer's ChainID (image-spec config.md: ChainID(L0) = DiffID(L0), ChainID(Ln) =
 * sha256(ChainID(Ln-1) + " " + DiffID(Ln))). Docker derives its v1 ids from the chain too, so equal stacks share a
 * directory and no two layers of one image collide.
 */
function chainIds(diffIds: readonly string[]): string[] {
  const out: string[] = [];
  for (const diffId of diffIds) {
    const previous = out.at(-1);
    out.push(previous === undefined ? diffId : `sha256:${sha256Hex(encoder.encode(`${previous} ${diffId}`))}`);
  }
  return out;
}

function hexOf(digest: string): string {
  return digest.slice('sha256:'.length);
}

/**
 * The docker-save archive of an image. Files are 0644 and directories 0755, root-owned, stamped with the creation
 * time, in walk order (each layer directory, then its files; then the config, manifest.json and repositories).
 */
export function saveImage(spec: SaveImageSpec): Uint8Array {
  const layerTars = spec.layers.map(layer => exportVolume(layer));
  const diffIds = layerTars.map(tar => `sha256:${sha256Hex(tar)}`);
  const createdSeconds = Math.floor(spec.created ?? newestMtime(spec.layers));
  const created = rfc3339(createdSeconds);
  const config = imageConfig(spec, created, diffIds);
  const configName = `${sha256Hex(config)}.json`;
  const layerIds = chainIds(diffIds).map(hexOf);
  const { repo, tag } = splitReference(spec.name);

  const manifest = [{ Config: configName, RepoTags: [`${repo}:${tag}`], Layers: layerIds.map(id => `${id}/layer.tar`) }];
  const repositories = { [repo]: { [tag]: layerIds.at(-1) ?? '' } };

  const meta = { uid: 0, gid: 0, mtime: createdSeconds } as const;
  const file = (name: string, bytes: Uint8Array): ArchiveEntry => ({
    ...meta,
    name,
    kind: 'file',
    mode: 0o644,
    content: FileContent.fromBytes(bytes),
  });
  const json = (value: unknown): Uint8Array => encoder.encode(JSON.stringify(value));

  const entries: ArchiveEntry[] = [];
  // a layer shared by two positions of one stack cannot occur (chain ids differ), but the directory is written once
  const written = new Set<string>();
  layerIds.forEach((id, i) => {
    if (written.has(id)) return;
    written.add(id);
    const parent = i > 0 ? layerIds[i - 1] : undefined;
    const legacy = { id, ...(parent !== undefined ? { parent } : {}), created, os: spec.os ?? 'linux' };
    entries.push({ ...meta, name: `${id}/`, kind: 'dir', mode: 0o755 });
    entries.push(file(`${id}/VERSION`, encoder.encode('1.0')));
    entries.push(file(`${id}/json`, json(legacy)));
    entries.push(file(`${id}/layer.tar`, layerTars[i]!));
  });
  entries.push(file(configName, config));
  entries.push(file('manifest.json', json(manifest)));
  entries.push(file('repositories', json(repositories)));
  return writeTar(sortForWalk(entries));
}

/** Entries in `filepath.Walk` order (per directory, names bytewise), as Docker archives its temporary save directory. */
function sortForWalk(entries: readonly ArchiveEntry[]): ArchiveEntry[] {
  const components = (e: ArchiveEntry): Buffer[] => e.name.replace(/\/$/, '').split('/').map(part => Buffer.from(part));
  return [...entries].sort((a, b) => {
    // component by component, so `x/` sorts before `x/json`, and `x/...` before `x.json`
    const pa = components(a);
    const pb = components(b);
    for (let i = 0; i < Math.min(pa.length, pb.length); i++) {
      const c = Buffer.compare(pa[i]!, pb[i]!);
      if (c !== 0) return c;
    }
    return pa.length - pb.length;
  });
}
