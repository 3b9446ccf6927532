/**
 * `image` op's `from`: finds what kind of image source a string names and returns the image's layer trees, bottom
 * layer first. Sources: `builtin:NAME`, a host directory, an OCI image layout (directory or tar, image-spec
 * image-layout.md), a `docker save` tar (with manifest.json, Docker >= 1.10, or the older per-layer `<id>/json` form),
 * a JSON manifest inside an extracted one of those, or a root filesystem tar (`docker export`).
 */
import { createHash } from 'node:crypto';
import { readFileSync, statSync, type Stats } from 'node:fs';
import { dirname, join } from 'node:path';
import { z } from 'zod';
import type { Volume } from '../fs/volume.js';
import { builtinBusybox } from './busybox.js';
import { decompressArchive } from './compression.js';
import { readDirectory } from './directory.js';
import { imageError, quoteName } from './errors.js';
import { memberToEntry, parseTar, readRootfsTar, type TarMember } from './tar.js';
import { buildVolume, normaliseEntryName, type ImageLoadOptions } from './tree.js';

const BUILTINS: Readonly<Record<string, (opts: ImageLoadOptions) => Volume>> = {
  busybox: opts => builtinBusybox(opts),
};

/** Files of an image archive or layout directory, by path relative to its root. */
interface ImageFiles {
  /** The file's bytes, or undefined when there is no such regular file. */
  read(path: string): Uint8Array | undefined;
}

/** symlinks followed inside an archive before giving up, as the kernel's MAXSYMLINKS */
const MAX_LINK_HOPS = 40;

/**
 * The regular files of an outer archive. `docker save` (1.10 and later) stores a layer shared by two images once and
 * links the other `layer.tar` to it with a relative symlink, so symlinks and hard links are followed, within the
 * archive only.
 */
function archiveFiles(members: readonly TarMember[]): ImageFiles {
  const byPath = new Map<string, TarMember>();
  for (const member of members) {
    const path = tryNormalise(member.name);
    if (path !== undefined) byPath.set(path, member);
  }
  return {
    read(path: string): Uint8Array | undefined {
      let current = tryNormalise(path);
      for (let hop = 0; current !== undefined && hop <= MAX_LINK_HOPS; hop++) {
        const member = byPath.get(current);
        if (member === undefined) return undefined;
        switch (member.typeflag) {
          case '0':
          case '\0':
          case '7':
            return member.data;
          case '1':
            current = tryNormalise(member.linkname);
            break;
          case '2':
            current = tryNormalise(
              member.linkname.startsWith('/') ? member.linkname : `${dirnameOf(current)}/${member.linkname}`,
            );
            break;
          default:
            return undefined;
        }
      }
      return undefined;
    },
  };
}

function dirnameOf(path: string): string {
  const slash = path.lastIndexOf('/');
  return slash < 0 ? '' : path.slice(0, slash);
}

function tryNormalise(name: string): string | undefined {
  try {
    return normaliseEntryName(name);
  } catch {
    return undefined;
  }
}

/** The files of a layout directory on the host; paths that would leave it read as absent. */
function directoryFiles(root: string): ImageFiles {
  return {
    read(path: string): Uint8Array | undefined {
      const rel = tryNormalise(path);
      if (rel === undefined || rel === '') return undefined;
      try {
        return new Uint8Array(readFileSync(join(root, rel)));
      } catch {
        return undefined;
      }
    },
  };
}

/** Parses a JSON document against a schema, or throws `image: <what> is not ...`. */
function parseJson<T>(bytes: Uint8Array, schema: z.ZodType<T>, what: string): T {
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(bytes).toString('utf8'));
  } catch {
    throw imageError(`${what} is not valid JSON`);
  }
  const parsed = schema.safeParse(value);
  if (!parsed.success) throw imageError(`${what} is malformed: ${z.prettifyError(parsed.error).replace(/\n/g, '; ')}`);
  return parsed.data;
}

function requireFile(files: ImageFiles, path: string, what: string): Uint8Array {
  const bytes = files.read(path);
  if (bytes === undefined) throw imageError(`${what} ${quoteName(path)} is missing`);
  return bytes;
}

/** Runs `load`, prefixing any `image:` error with where it happened. */
function inContext<T>(where: string, load: () => T): T {
  try {
    return load();
  } catch (err) {
    if (err instanceof Error && err.message.startsWith('image: ')) {
      throw new Error(`image: ${where}: ${err.message.slice('image: '.length)}`, { cause: err });
    }
    throw err;
  }
}

// ---------------------------------------------------------------------------------------------------------------
// docker save

/** manifest.json of `docker save` (Docker 1.10+, image/spec/v1.2 "Combined Image JSON + Filesystem Changeset Format"). */
const DockerSaveManifest = z
  .array(z.object({ Config: z.string().optional(), RepoTags: z.array(z.string()).nullish(), Layers: z.array(z.string()) }))
  .min(1);

/**
 * The layers of a docker-save archive, bottom first. An archive of several images yields the first image's layers,
 * as `docker load` would tag it first.
 */
function dockerSaveLayers(files: ImageFiles, manifestBytes: Uint8Array, opts: ImageLoadOptions): Volume[] {
  const [image] = parseJson(manifestBytes, DockerSaveManifest, 'manifest.json');
  return image!.Layers.map(layer => {
    const bytes = requireFile(files, layer, 'layer');
    return inContext(`layer ${quoteName(layer)}`, () => readRootfsTar(bytes, opts));
  });
}

const LegacyLayerJson = z.object({ id: z.string().optional(), parent: z.string().optional() });
const LegacyRepositories = z.record(z.string(), z.record(z.string(), z.string()));
const LEGACY_LAYER_TAR = /^([0-9a-f]{64})\/layer\.tar$/;

/**
 * The layers of a pre-1.10 `docker save` archive (the format of the 2014 review): one `<id>/` directory per layer with
 * `json` (naming its `parent`) and `layer.tar`, and `repositories` naming the top layer. Without `repositories` the top
 * is the one layer no other names as parent.
 */
function legacyDockerSaveLayers(files: ImageFiles, layerIds: readonly string[], opts: ImageLoadOptions): Volume[] {
  const parentOf = new Map<string, string | undefined>();
  for (const id of layerIds) {
    const json = parseJson(requireFile(files, `${id}/json`, 'layer config'), LegacyLayerJson, `${id}/json`);
    parentOf.set(id, json.parent || undefined);
  }
  let top: string | undefined;
  const repositories = files.read('repositories');
  if (repositories !== undefined) {
    const repos = parseJson(repositories, LegacyRepositories, 'repositories');
    top = Object.values(repos).flatMap(tags => Object.values(tags))[0];
  }
  if (top === undefined) {
    const parents = new Set(parentOf.values());
    const leaves = layerIds.filter(id => !parents.has(id));
    if (leaves.length !== 1) throw imageError(`docker-save archive has ${leaves.length} top layers and no repositories file`);
    top = leaves[0]!;
  }
  const chain: string[] = [];
  for (let id: string | undefined = top; id !== undefined; id = parentOf.get(id)) {
    if (!parentOf.has(id)) throw imageError(`docker-save archive lacks layer ${quoteName(id)}`);
    if (chain.includes(id)) throw imageError(`docker-save layer ${quoteName(id)} is its own ancestor`);
    chain.push(id);
  }
  return chain
    .reverse()
    .map(id => {
      const bytes = requireFile(files, `${id}/layer.tar`, 'layer');
      return inContext(`layer ${quoteName(id)}`, () => readRootfsTar(bytes, opts));
    });
}

// ---------------------------------------------------------------------------------------------------------------
// OCI image layout

const Descriptor = z.object({
  mediaType: z.string(),
  digest: z.string(),
  size: z.number().int().nonnegative().optional(),
  platform: z.object({ os: z.string().optional(), architecture: z.string().optional() }).optional(),
  annotations: z.record(z.string(), z.string()).optional(),
});
type Descriptor = z.infer<typeof Descriptor>;

const ImageIndex = z.object({ schemaVersion: z.number().optional(), manifests: z.array(Descriptor) });
const ImageManifest = z.object({ schemaVersion: z.number().optional(), layers: z.array(Descriptor) });

const INDEX_MEDIA_TYPES = [
  'application/vnd.oci.image.index.v1+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
];
const MANIFEST_MEDIA_TYPES = [
  'application/vnd.oci.image.manifest.v1+json',
  'application/vnd.docker.distribution.manifest.v2+json',
];

/**
 * Layer media types (image-spec layer.md and Docker's manifest v2 schema 2): plain, gzip and zstd tars, distributable
 * or not. The blob is decompressed by its magic number, as containerd's `compression.DecompressStream` does, so only
 * the media type's family is checked here.
 */
const LAYER_MEDIA_TYPE =
  /^application\/vnd\.(oci\.image\.layer\.(nondistributable\.)?v1\.tar(\+gzip|\+zstd)?|docker\.image\.rootfs\.(foreign\.)?diff\.tar(\.gzip)?)$/;

/** Digest algorithms of image-spec descriptor.md with their encoded lengths; the encoded part names the blob file. */
const DIGEST_HEX_LENGTH: Readonly<Record<string, number>> = { sha256: 64, sha512: 128 };

/** A blob by its descriptor, checked against its digest and size (image-spec: a blob must match its digest). */
function readBlob(files: ImageFiles, descriptor: Descriptor): Uint8Array {
  const [algorithm = '', encoded = ''] = descriptor.digest.split(':', 2);
  const hexLength = DIGEST_HEX_LENGTH[algorithm];
  if (hexLength === undefined || !new RegExp(`^[0-9a-f]{${hexLength}}$`).test(encoded)) {
    // the digest becomes a path: anything but hex of the right length could climb out of blobs/
    throw imageError(`unsupported or malformed digest ${quoteName(descriptor.digest)}`);
  }
  const blob = requireFile(files, `blobs/${algorithm}/${encoded}`, 'blob');
  if (descriptor.size !== undefined && blob.length !== descriptor.size) {
    throw imageError(`blob ${descriptor.digest} is ${blob.length} bytes, its descriptor says ${descriptor.size}`);
  }
  const actual = createHash(algorithm).update(blob).digest('hex');
  if (actual !== encoded) throw imageError(`blob ${descriptor.digest} does not match its digest (it is ${algorithm}:${actual})`);
  return blob;
}

/** buildkit stores provenance attestations as extra manifests of platform unknown/unknown: they are not images. */
function isImageCandidate(descriptor: Descriptor): boolean {
  return (
    descriptor.annotations?.['vnd.docker.reference.type'] !== 'attestation-manifest' &&
    descriptor.platform?.os !== 'unknown'
  );
}

/** Nested indexes deeper than this are refused (a hostile layout could make them cyclic). */
const MAX_INDEX_DEPTH = 8;

/**
 * The image manifest an index leads to: its first image manifest, descending into nested indexes. A multi-platform
 * layout thus yields its first platform's image, as the simulator has no platform of its own.
 */
function findImageManifest(files: ImageFiles, index: z.infer<typeof ImageIndex>, depth: number): Descriptor {
  if (depth > MAX_INDEX_DEPTH) throw imageError(`image indexes nest deeper than ${MAX_INDEX_DEPTH}`);
  for (const descriptor of index.manifests.filter(isImageCandidate)) {
    if (MANIFEST_MEDIA_TYPES.includes(descriptor.mediaType)) return descriptor;
    if (INDEX_MEDIA_TYPES.includes(descriptor.mediaType)) {
      const nested = parseJson(readBlob(files, descriptor), ImageIndex, `index ${descriptor.digest}`);
      return findImageManifest(files, nested, depth + 1);
    }
  }
  throw imageError('the image index lists no image manifest');
}

function manifestLayers(files: ImageFiles, manifest: z.infer<typeof ImageManifest>, opts: ImageLoadOptions): Volume[] {
  return manifest.layers.map(layer =>
    inContext(`layer ${layer.digest}`, () => {
      if (!LAYER_MEDIA_TYPE.test(layer.mediaType)) throw imageError(`unsupported layer media type '${layer.mediaType}'`);
      return readRootfsTar(readBlob(files, layer), opts);
    }),
  );
}

/** The layers of an OCI image layout: index.json, then the image manifest, then its layer blobs in order. */
function ociLayers(files: ImageFiles, indexBytes: Uint8Array, opts: ImageLoadOptions): Volume[] {
  const index = parseJson(indexBytes, ImageIndex, 'index.json');
  const descriptor = findImageManifest(files, index, 0);
  const manifest = parseJson(readBlob(files, descriptor), ImageManifest, `manifest ${descriptor.digest}`);
  return manifestLayers(files, manifest, opts);
}

// ---------------------------------------------------------------------------------------------------------------
// dispatch

const OCI_LAYOUT_FILE = 'oci-layout';
const ImageLayoutMarker = z.object({ imageLayoutVersion: z.string() });

/** What kind of image an archive or directory holds, by the files at its root. */
function layersOfImageFiles(files: ImageFiles, opts: ImageLoadOptions): Volume[] | undefined {
  const manifest = files.read('manifest.json');
  // docker save's manifest.json is a JSON array; a root filesystem may hold an unrelated /manifest.json (an object)
  if (manifest !== undefined && isJsonArray(manifest)) return dockerSaveLayers(files, manifest, opts);
  const layout = files.read(OCI_LAYOUT_FILE);
  const index = files.read('index.json');
  if (layout !== undefined && index !== undefined) {
    parseJson(layout, ImageLayoutMarker, OCI_LAYOUT_FILE);
    return ociLayers(files, index, opts);
  }
  return undefined;
}

function loadArchive(bytes: Uint8Array, opts: ImageLoadOptions): Volume[] {
  const archive = decompressArchive(bytes, 'archive');
  const members = parseTar(archive);
  const files = archiveFiles(members);
  const layers = layersOfImageFiles(files, opts);
  if (layers !== undefined) return layers;
  const legacyIds = members.flatMap(m => LEGACY_LAYER_TAR.exec(tryNormalise(m.name) ?? '')?.[1] ?? []);
  if (legacyIds.length > 0 && files.read(`${legacyIds[0]}/json`) !== undefined) {
    return legacyDockerSaveLayers(files, legacyIds, opts);
  }
  // a root filesystem: the members already parsed are the tree
  return [buildVolume(members.map(memberToEntry), opts)];
}

/**
 * A JSON manifest given directly: manifest.json of an extracted `docker save`, index.json of an OCI layout, or an
 * image manifest at the root of a layout or among its blobs (blobs/<alg>/<hex>), the layout being found around it.
 */
function loadJsonManifest(path: string, bytes: Uint8Array, opts: ImageLoadOptions): Volume[] {
  const doc = parseJson(bytes, z.unknown(), 'the JSON manifest');
  const dir = dirname(path);
  if (Array.isArray(doc)) return dockerSaveLayers(directoryFiles(dir), bytes, opts);
  if (typeof doc === 'object' && doc !== null && 'manifests' in doc) return ociLayers(directoryFiles(dir), bytes, opts);
  if (typeof doc === 'object' && doc !== null && 'layers' in doc) {
    const manifest = parseJson(bytes, ImageManifest, 'the image manifest');
    const layoutRoot = /[\\/]blobs[\\/][^\\/]+$/.test(dir) ? dirname(dirname(dir)) : dir;
    return manifestLayers(directoryFiles(layoutRoot), manifest, opts);
  }
  throw imageError(
    'the JSON manifest is neither a docker-save manifest.json (an array), an OCI index (manifests) nor an image manifest (layers)',
  );
}

function isJsonArray(bytes: Uint8Array): boolean {
  try {
    return Array.isArray(JSON.parse(Buffer.from(bytes).toString('utf8')));
  } catch {
    return false;
  }
}

function looksLikeJson(bytes: Uint8Array): boolean {
  for (const b of bytes) {
    if (b === 0x20 || b === 0x0a || b === 0x0d || b === 0x09) continue;
    return b === 0x7b || b === 0x5b; // '{' or '['
  }
  return false;
}

function statOrThrow(path: string): Stats {
  try {
    return statSync(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'error';
    throw imageError(`cannot open ${quoteName(path)}: ${code === 'ENOENT' ? 'no such file or directory' : code}`);
  }
}

/**
 * The layer trees of the image `from` names, bottom layer first. Every error is an `Error` whose message starts with
 * `image: ` and names the source (and the layer or entry at fault); nothing is returned on failure.
 */
export function loadImageSource(from: string, opts: ImageLoadOptions = {}): Volume[] {
  if (from.startsWith('builtin:')) {
    const name = from.slice('builtin:'.length);
    const builtin = Object.hasOwn(BUILTINS, name) ? BUILTINS[name] : undefined;
    if (builtin === undefined) {
      throw imageError(`unknown builtin '${name}' (known: ${Object.keys(BUILTINS).join(', ')})`);
    }
    return [builtin(opts)];
  }
  const st = statOrThrow(from);
  return inContext(quoteName(from), () => {
    if (st.isDirectory()) {
      const files = directoryFiles(from);
      if (files.read(OCI_LAYOUT_FILE) !== undefined && files.read('index.json') !== undefined) {
        return layersOfImageFiles(files, opts)!;
      }
      return [readDirectory(from, opts)];
    }
    const bytes = new Uint8Array(readFileSync(from));
    if (looksLikeJson(bytes)) return loadJsonManifest(from, bytes, opts);
    return loadArchive(bytes, opts);
  });
}
