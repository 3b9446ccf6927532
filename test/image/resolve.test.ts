import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { InoAllocator } from '../../src/fs/inode.js';
import type { Volume } from '../../src/fs/volume.js';
import { loadImageSource } from '../../src/image/resolve.js';
import { parseTar } from '../../src/image/tar.js';
import { archive, dir, file, symlink } from './tar-writer.js';

/** shared/ sits beside the repository, for developers and CI alike. */
const IMAGES = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'shared', 'images');
const text = (v: Volume, path: string): string => Buffer.from(v.at(path)!.content!.read(0, 1 << 20)).toString('utf8');

const scratch = mkdtempSync(join(tmpdir(), 'layersim-resolve-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));
let scratchCount = 0;

/** Writes bytes to a fresh file under the scratch directory and returns its path. */
function scratchFile(name: string, bytes: Uint8Array | string): string {
  const path = join(scratch, String(scratchCount++), name);
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, bytes);
  return path;
}

/** Extracts the regular files of a tar into a fresh scratch directory. */
function extract(tar: Uint8Array): string {
  const root = join(scratch, String(scratchCount++));
  for (const m of parseTar(tar)) {
    const path = join(root, m.name);
    if (m.typeflag === '5') mkdirSync(path, { recursive: true });
    else if (m.typeflag === '0') {
      mkdirSync(dirname(path), { recursive: true });
      writeFileSync(path, m.data);
    }
  }
  return root;
}

const sha256 = (bytes: Uint8Array | string): string => createHash('sha256').update(bytes).digest('hex');

/** An OCI image layout as files, with the given layer blobs and media types. */
function ociLayoutFiles(layers: { blob: Uint8Array; mediaType: string }[]): Map<string, Uint8Array | string> {
  const files = new Map<string, Uint8Array | string>();
  const config = JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [] } });
  files.set(`blobs/sha256/${sha256(config)}`, config);
  for (const layer of layers) files.set(`blobs/sha256/${sha256(layer.blob)}`, layer.blob);
  const manifest = JSON.stringify({
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: `sha256:${sha256(config)}`, size: config.length },
    layers: layers.map(l => ({ mediaType: l.mediaType, digest: `sha256:${sha256(l.blob)}`, size: l.blob.length })),
  });
  files.set(`blobs/sha256/${sha256(manifest)}`, manifest);
  files.set(
    'index.json',
    JSON.stringify({
      schemaVersion: 2,
      manifests: [
        {
          mediaType: 'application/vnd.oci.image.manifest.v1+json',
          digest: 'sha256:' + 'a'.repeat(64),
          size: 1,
          annotations: { 'vnd.docker.reference.type': 'attestation-manifest' },
        },
        { mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: `sha256:${sha256(manifest)}`, size: manifest.length },
      ],
    }),
  );
  files.set('oci-layout', '{"imageLayoutVersion":"1.0.0"}');
  return files;
}

function tarOf(files: Map<string, Uint8Array | string>): Uint8Array {
  return archive(...[...files].map(([name, data]) => file(name, data)));
}

describe('loadImageSource: the real images in shared/images', () => {
  it('test-kaniko-image.tar (docker save, gzip layers): 14 layers, busybox base', () => {
    const layers = loadImageSource(`${IMAGES}/test-kaniko-image.tar`);
    expect(layers).toHaveLength(14);
    const base = layers[0]!;
    expect(base.at('bin/busybox')).toBe(base.at('bin/['));
    expect(base.at('bin/busybox')!.nlink).toBe(399);
    expect(base.at('tmp')!.mode).toBe(0o1777);
    expect(text(base, 'etc/passwd').split('\n')[0]).toBe('root:x:0:0:root:/root:/bin/sh');
    // a later layer deletes /root/example with an AUFS-style whiteout, kept as a plain empty file
    const withWhiteout = layers.find(l => l.at('root/.wh.example') !== undefined)!;
    expect(withWhiteout.at('root/.wh.example')!.kind).toBe('file');
    expect(layers.every(l => l.root.kind === 'dir')).toBe(true);
  });

  it('test-oci-uncompressed-image.tar, -gzip-, -zstd- (OCI layout tars): one layer holding README.md', () => {
    const readme = parseTar(new Uint8Array(readFileSync(`${IMAGES}/test-gzip-image.tar`)))[0]!.data;
    for (const name of ['uncompressed', 'gzip', 'zstd']) {
      const layers = loadImageSource(`${IMAGES}/test-oci-${name}-image.tar`);
      expect(layers).toHaveLength(1);
      expect(Buffer.from(layers[0]!.at('README.md')!.content!.read(0, 1 << 20)).equals(Buffer.from(readme))).toBe(true);
    }
  });

  it('test-gzip-image.tar (a plain layer tar): one layer', () => {
    const layers = loadImageSource(`${IMAGES}/test-gzip-image.tar`);
    expect(layers).toHaveLength(1);
    expect(layers[0]!.at('README.md')!.content!.size).toBe(11189);
  });

  it('an extracted OCI layout directory', () => {
    const root = extract(new Uint8Array(readFileSync(`${IMAGES}/test-oci-zstd-image.tar`)));
    const layers = loadImageSource(root);
    expect(layers).toHaveLength(1);
    expect(layers[0]!.at('README.md')!.content!.size).toBe(11189);
  });

  it('a JSON manifest: manifest.json of an extracted docker save, index.json of a layout', () => {
    const saved = extract(new Uint8Array(readFileSync(`${IMAGES}/test-kaniko-image.tar`)));
    expect(loadImageSource(join(saved, 'manifest.json'))).toHaveLength(14);
    const layout = extract(new Uint8Array(readFileSync(`${IMAGES}/test-oci-gzip-image.tar`)));
    expect(loadImageSource(join(layout, 'index.json'))).toHaveLength(1);
    const manifestBlob = join(layout, 'blobs/sha256/7d255e9e3d216a9a92a5c1ce0563a5ddd92f28a34a9df025d3cf8dfa5ea08366');
    expect(loadImageSource(manifestBlob)[0]!.at('README.md')!.content!.size).toBe(11189);
  });

  it('shares the host inode allocator across layers', () => {
    const inos = new InoAllocator(10);
    const layers = loadImageSource(`${IMAGES}/test-kaniko-image.tar`, { inos });
    const roots = layers.map(l => l.root.ino);
    expect(new Set(roots).size).toBe(14);
    expect(roots[0]).toBe(10);
  });
});

describe('loadImageSource: sources', () => {
  it('builtin:busybox', () => {
    const layers = loadImageSource('builtin:busybox');
    expect(layers).toHaveLength(1);
    expect(layers[0]!.at('bin/busybox')!.kind).toBe('file');
  });

  it('refuses an unknown builtin, listing the known ones', () => {
    expect(() => loadImageSource('builtin:alpine')).toThrow(/^image: unknown builtin 'alpine' \(known: busybox\)$/);
    expect(() => loadImageSource('builtin:toString')).toThrow(/^image: unknown builtin 'toString'/);
  });

  it('refuses a missing path, naming it', () => {
    expect(() => loadImageSource('/no/such/image.tar')).toThrow(/^image: cannot open '\/no\/such\/image\.tar': no such file or directory$/);
  });

  it('a host directory', () => {
    const root = extract(archive(dir('etc'), file('etc/os-release', 'ID=test\n')));
    const layers = loadImageSource(root);
    expect(layers).toHaveLength(1);
    expect(text(layers[0]!, 'etc/os-release')).toBe('ID=test\n');
  });

  it('a rootfs tar, plain or gzip-compressed (docker export | gzip)', () => {
    const tar = archive(dir('bin'), file('bin/true', ''), symlink('sbin', 'bin'));
    expect(loadImageSource(scratchFile('rootfs.tar', tar))[0]!.at('sbin')!.target).toBe('bin');
    expect(loadImageSource(scratchFile('rootfs.tar.gz', gzipSync(tar)))[0]!.at('bin/true')!.kind).toBe('file');
  });

  it('a rootfs tar holding an unrelated /manifest.json object is still a rootfs', () => {
    const layers = loadImageSource(scratchFile('app.tar', archive(file('manifest.json', '{"name":"web app"}'))));
    expect(text(layers[0]!, 'manifest.json')).toBe('{"name":"web app"}');
  });

  it('a docker save tar whose layer.tar is a symlink to a shared layer (Docker >= 1.10)', () => {
    const l1 = archive(file('a', '1'));
    const l2 = archive(file('b', '2'));
    const tar = archive(
      file('manifest.json', JSON.stringify([{ Config: 'c.json', RepoTags: ['x:latest'], Layers: ['L1/layer.tar', 'L2/layer.tar', 'L3/layer.tar'] }])),
      file('L1/layer.tar', l1),
      file('L2/layer.tar', l2),
      symlink('L3/layer.tar', '../L1/layer.tar'),
    );
    const layers = loadImageSource(scratchFile('saved.tar', tar));
    expect(layers.map(l => [...l.root.entries!.keys()].join())).toEqual(['a', 'b', 'a']);
  });

  it('a pre-1.10 docker save tar (<id>/json, <id>/layer.tar, repositories), as in the 2014 review', () => {
    const base = 'b'.repeat(64);
    const top = 'c'.repeat(64);
    const tar = archive(
      file('repositories', JSON.stringify({ my_running_busybox: { latest: top } })),
      file(`${top}/json`, JSON.stringify({ id: top, parent: base })),
      file(`${top}/layer.tar`, archive(file('data1', 'x'.repeat(100)))),
      file(`${top}/VERSION`, '1.0'),
      file(`${base}/json`, JSON.stringify({ id: base })),
      file(`${base}/layer.tar`, archive(file('bin/busybox', 'bb'))),
      file(`${base}/VERSION`, '1.0'),
    );
    const layers = loadImageSource(scratchFile('legacy.tar', tar));
    expect(layers).toHaveLength(2);
    expect(layers[0]!.at('bin/busybox')).toBeDefined();
    expect(layers[1]!.at('data1')).toBeDefined();
  });

  it('an OCI layout with a gzip and an uncompressed layer, skipping attestation manifests', () => {
    const files = ociLayoutFiles([
      { blob: gzipSync(archive(file('lower', 'L'))), mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip' },
      { blob: archive(file('upper', 'U')), mediaType: 'application/vnd.oci.image.layer.v1.tar' },
    ]);
    const layers = loadImageSource(scratchFile('oci.tar', tarOf(files)));
    expect(layers.map(l => [...l.root.entries!.keys()].join())).toEqual(['lower', 'upper']);
  });
});

describe('loadImageSource: hostile and corrupt images', () => {
  it('refuses a digest that is not hex (it names a blob path)', () => {
    const files = ociLayoutFiles([{ blob: archive(file('f', 'x')), mediaType: 'application/vnd.oci.image.layer.v1.tar' }]);
    files.set('index.json', JSON.stringify({ manifests: [{ mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: 'sha256:../../../etc/passwd' }] }));
    const path = scratchFile('evil.tar', tarOf(files));
    expect(() => loadImageSource(path)).toThrow(/^image: '.*evil\.tar': unsupported or malformed digest 'sha256:\.\.\/\.\.\/\.\.\/etc\/passwd'$/);
  });

  it('refuses a blob that does not match its digest', () => {
    const blob = archive(file('f', 'x'));
    const files = ociLayoutFiles([{ blob, mediaType: 'application/vnd.oci.image.layer.v1.tar' }]);
    const tampered = archive(file('f', 'y'));
    files.set(`blobs/sha256/${sha256(blob)}`, tampered);
    expect(() => loadImageSource(scratchFile('tampered.tar', tarOf(files)))).toThrow(
      /^image: '.*tampered\.tar': layer sha256:[0-9a-f]{64}: blob sha256:[0-9a-f]{64} does not match its digest/,
    );
  });

  it('refuses an unknown layer media type', () => {
    const files = ociLayoutFiles([{ blob: archive(file('f', 'x')), mediaType: 'application/vnd.oci.image.layer.v1.tar+encrypted' }]);
    expect(() => loadImageSource(scratchFile('enc.tar', tarOf(files)))).toThrow(/unsupported layer media type 'application\/vnd\.oci\.image\.layer\.v1\.tar\+encrypted'$/);
  });

  it('names the layer of a docker save tar whose layer is hostile', () => {
    const tar = archive(
      file('manifest.json', JSON.stringify([{ Layers: ['bad/layer.tar'] }])),
      file('bad/layer.tar', archive(symlink('etc', '/etc'), file('etc/passwd', 'x'))),
    );
    expect(() => loadImageSource(scratchFile('bad.tar', tar))).toThrow(
      /^image: '.*bad\.tar': layer 'bad\/layer\.tar': entry 'etc\/passwd' goes through the symlink 'etc'$/,
    );
  });

  it('refuses a docker save manifest naming a missing layer', () => {
    const tar = archive(file('manifest.json', JSON.stringify([{ Layers: ['gone/layer.tar'] }])));
    expect(() => loadImageSource(scratchFile('missing.tar', tar))).toThrow(/^image: '.*missing\.tar': layer 'gone\/layer\.tar' is missing$/);
  });

  it('refuses a file that is neither a tar nor a manifest', () => {
    const path = scratchFile('notes.txt', 'just some text, long enough? no.');
    expect(() => loadImageSource(path)).toThrow(/^image: '.*notes\.txt': not a tar archive/);
    const json = scratchFile('other.json', '{"hello":"world"}');
    expect(() => loadImageSource(json)).toThrow(/^image: '.*other\.json': the JSON manifest is neither/);
  });
});
