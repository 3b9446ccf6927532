import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { allModels } from '../../models/index.js';
import { resolveOptions } from '../../src/engine/drivers.js';
import { Host } from '../../src/engine/host.js';
import { FileContent } from '../../src/fs/content.js';
import { Volume, type VolumeEntryJSON } from '../../src/fs/volume.js';
import { exportTree, exportVolume } from '../../src/image/export.js';
import { loadImageSource } from '../../src/image/resolve.js';
import { saveImage, splitReference } from '../../src/image/save.js';
import { parseTar, readRootfsTar, type TarMember } from '../../src/image/tar.js';
import { O_CREAT, O_WRONLY } from '../../src/vfs/syscalls.js';

const scratch = mkdtempSync(join(tmpdir(), 'layersim-save-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));
let scratchCount = 0;

function scratchFile(bytes: Uint8Array): string {
  const path = join(scratch, `${String(scratchCount++)}.tar`);
  writeFileSync(path, bytes);
  return path;
}

const bytes = (s: string): Uint8Array => new TextEncoder().encode(s);
const sha256 = (b: Uint8Array): string => `sha256:${createHash('sha256').update(b).digest('hex')}`;

/** toJSON with inode numbers replaced by the first path of each inode (the link grouping survives, numbers do not). */
function shape(v: Volume): Omit<VolumeEntryJSON, 'ino'>[] {
  const firstPath = new Map<number, string>();
  return v.toJSON().map(({ ino, ...rest }) => {
    if (!firstPath.has(ino)) firstPath.set(ino, rest.path);
    return { ...rest, linkGroup: firstPath.get(ino) };
  });
}

/** A second layer in OCI form: a new file, a hard link, a whiteout and an opaque directory. */
function upperLayer(): Volume {
  const v = new Volume();
  const bin = v.createChild(v.root, 'bin', 'dir', { mode: 0o755, uid: 0, gid: 0 });
  v.createChild(bin, '.wh.ls', 'file', { mode: 0, uid: 0, gid: 0 });
  const tool = v.createChild(bin, 'tool', 'file', { mode: 0o755, uid: 0, gid: 0, content: FileContent.fromBytes(bytes('#!/bin/sh\n')) });
  v.addEntry(bin, 'tool2', tool);
  const sbin = v.createChild(v.root, 'sbin', 'dir', { mode: 0o755, uid: 0, gid: 0 });
  v.createChild(sbin, '.wh..wh..opq', 'file', { mode: 0, uid: 0, gid: 0 });
  v.createChild(sbin, 'init', 'symlink', { mode: 0o777, uid: 0, gid: 0, target: '/bin/tool' });
  return v;
}

function member(members: readonly TarMember[], name: string): TarMember {
  const m = members.find(x => x.name === name);
  if (m === undefined) throw new Error(`no member ${name}`);
  return m;
}

const json = (m: TarMember): unknown => JSON.parse(Buffer.from(m.data).toString('utf8'));

interface SavedManifest {
  Config: string;
  RepoTags: string[];
  Layers: string[];
}

interface SavedConfig {
  architecture: string;
  os: string;
  created: string;
  rootfs: { type: string; diff_ids: string[] };
  history: { created: string }[];
}

describe('saveImage', () => {
  const layers = [...loadImageSource('builtin:busybox'), upperLayer()];
  const archive = saveImage({ name: 'layersim/test', layers });
  const members = parseTar(archive);
  const manifest = json(member(members, 'manifest.json')) as SavedManifest[];
  const config = json(member(members, manifest[0]!.Config)) as SavedConfig;

  it('loads back through loadImageSource as the same layers', () => {
    const back = loadImageSource(scratchFile(archive));
    expect(back).toHaveLength(2);
    back.forEach((layer, i) => expect(shape(layer)).toEqual(shape(layers[i]!)));
  });

  it('writes manifest.json, the config and repositories as docker save does', () => {
    expect(manifest).toHaveLength(1);
    expect(manifest[0]!.RepoTags).toEqual(['layersim/test:latest']);
    expect(manifest[0]!.Config).toMatch(/^[0-9a-f]{64}\.json$/);
    expect(manifest[0]!.Layers.every(l => /^[0-9a-f]{64}\/layer\.tar$/.test(l))).toBe(true);
    expect(config).toMatchObject({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers' } });
    expect(config.history).toHaveLength(2);
    const top = manifest[0]!.Layers[1]!.split('/')[0]!;
    expect(json(member(members, 'repositories'))).toEqual({ 'layersim/test': { latest: top } });
    // the legacy per-layer files chain the layers for pre-1.10 loaders
    const legacyTop = json(member(members, `${top}/json`)) as { id: string; parent?: string };
    expect(legacyTop).toMatchObject({ id: top, parent: manifest[0]!.Layers[0]!.split('/')[0] });
    expect(Buffer.from(member(members, `${top}/VERSION`).data).toString()).toBe('1.0');
  });

  it('names the config by its digest and lists each layer tar by its diff_id', () => {
    expect(sha256(member(members, manifest[0]!.Config).data)).toBe(`sha256:${manifest[0]!.Config.replace('.json', '')}`);
    const tars = manifest[0]!.Layers.map(l => member(members, l).data);
    expect(config.rootfs.diff_ids).toEqual(tars.map(sha256));
    expect(config.rootfs.diff_ids).toEqual(layers.map(l => sha256(exportVolume(l))));
  });

  it('is deterministic, its creation time taken from the layers unless given', () => {
    expect(Buffer.compare(saveImage({ name: 'layersim/test', layers }), archive)).toBe(0);
    const newest = Math.max(...layers.flatMap(l => [...l.walk()].map(([, inode]) => Math.floor(inode.mtime))));
    expect(config.created).toBe(new Date(newest * 1000).toISOString().replace('.000Z', 'Z'));
    expect(config.history.every(h => h.created === config.created)).toBe(true);
    const dated = parseTar(saveImage({ name: 'x:v1', layers, created: 1_000_000_000 }));
    const datedManifest = json(member(dated, 'manifest.json')) as SavedManifest[];
    expect(datedManifest[0]!.RepoTags).toEqual(['x:v1']);
    expect((json(member(dated, datedManifest[0]!.Config)) as SavedConfig).created).toBe('2001-09-09T01:46:40Z');
  });

  it('is an archive GNU tar extracts, each layer.tar matching its diff_id', () => {
    const out = join(scratch, String(scratchCount++));
    mkdirSync(out);
    execFileSync('tar', ['-xf', scratchFile(archive), '-C', out], { stdio: ['ignore', 'pipe', 'pipe'] });
    const onDisk = manifest[0]!.Layers.map(l => sha256(readFileSync(join(out, l))));
    expect(onDisk).toEqual(config.rootfs.diff_ids);
    const listing = execFileSync('tar', ['-tf', join(out, manifest[0]!.Layers[1]!)], { encoding: 'utf8' });
    expect(listing.trim().split('\n')).toEqual(['bin/', 'bin/.wh.ls', 'bin/tool', 'bin/tool2', 'sbin/', 'sbin/.wh..wh..opq', 'sbin/init']);
  });

  it('splits a reference at the tag colon only', () => {
    expect(splitReference('busybox')).toEqual({ repo: 'busybox', tag: 'latest' });
    expect(splitReference('busybox:1.36')).toEqual({ repo: 'busybox', tag: '1.36' });
    expect(splitReference('localhost:5000/busybox')).toEqual({ repo: 'localhost:5000/busybox', tag: 'latest' });
  });
});

describe.each(allModels.map(m => [m.name, m] as const))('docker commit + save + load on %s', (_name, model) => {
  it("a container's diff saved and loaded on a fresh host shows the same view", () => {
    const host = new Host(model, resolveOptions(model, {}));
    const base = loadImageSource('builtin:busybox');
    host.loadImage('img', base);
    const c = host.run('c', 'img');
    const f = c.sys.open('/new', O_WRONLY | O_CREAT, 0o600);
    c.sys.write(f, { source: { kind: 'bytes', bytes: bytes('new') }, at: 0, length: 3 }, 0);
    c.sys.close(f);
    c.sys.link('/new', '/new-hard');
    c.sys.unlink('/bin/ls');
    c.sys.chmod('/bin/busybox', 0o700);
    for (const name of c.sys.readdir('/usr/sbin')) c.sys.unlink(`/usr/sbin/${name}`);
    c.sys.rmdir('/usr/sbin');
    c.sys.mkdir('/usr/sbin');
    host.stop('c');
    const saved = saveImage({ name: 'committed', layers: [...base, host.driver.diff(c.layer)] });

    const fresh = new Host(model, resolveOptions(model, {}));
    fresh.loadImage('committed', loadImageSource(scratchFile(saved)));
    const again = fresh.run('c', 'committed');
    const view = (tar: Uint8Array): unknown => shape(readRootfsTar(tar));
    // both containers have an init layer of their own on the image, so the whole views compare equal
    expect(view(exportTree(again.sys.mount))).toEqual(view(exportTree(c.sys.mount)));
    expect(again.sys.lstatOrAbsent('/bin/ls')).toBeUndefined();
    expect(again.sys.readdir('/usr/sbin')).toEqual([]);
  });
});
