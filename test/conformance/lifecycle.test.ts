import { describe, expect, it } from 'vitest';
import { allModels } from '../../models/index.js';
import { resolveOptions } from '../../src/engine/drivers.js';
import { Host } from '../../src/engine/host.js';
import type { VolumeEntryJSON } from '../../src/fs/volume.js';
import { O_CREAT, O_WRONLY } from '../../src/vfs/syscalls.js';
import { errnoOf, model, pwrite, readText, tree, writeFile } from '../support/world.js';

/** Docker's lifecycle on every model: run (init layer, bind mounts), commit (diff against init), rm, rmi. */
const BASE = { '/bin/tool': 'binary', '/etc/passwd': 'root:x:0:0\n', '/srv/data/a': 'aaa', '/srv/data/sub/b': 'bbb', '/srv/keep': 'k' };

function hostOn(name: string, options: Record<string, string> = {}): Host {
  const m = model(name);
  const host = new Host(m, resolveOptions(m, options));
  host.loadImage('img', [tree(BASE)]);
  return host;
}

/** The entries of an image's top layer, as its layer tar would list them (type and size). */
function topLayer(host: Host, image: string): Record<string, string> {
  const entries = host.image(image).trees.at(-1)!.toJSON().slice(1) as VolumeEntryJSON[];
  return Object.fromEntries(entries.map(e => [e.path, e.type === 'file' ? `file ${e.size}` : e.type]));
}

const variants: { name: string; options: Record<string, string> }[] = allModels.flatMap(m =>
  m.name === 'overlay2' ? [{ name: m.name, options: {} }, { name: m.name, options: { redirect_dir: 'on' } as Record<string, string> }] : [{ name: m.name, options: {} }],
);

describe.each(variants)('docker lifecycle on $name $options', ({ name, options }) => {
  it('run gives the container Docker init files, in an init layer under its own', () => {
    const host = hostOn(name, options);
    const c = host.run('c', 'img');
    expect(c.initLayer).toBeDefined();
    expect(host.driver.parents(c.layer)[0]).toBe(c.initLayer);
    for (const p of ['/.dockerenv', '/etc/hosts', '/etc/hostname', '/etc/resolv.conf', '/dev/console']) expect(c.sys.stat(p).kind).toBe('file');
    for (const p of ['/dev/pts', '/dev/shm', '/proc', '/sys']) expect(c.sys.stat(p).kind).toBe('dir');
    expect(c.sys.readlink('/etc/mtab')).toBe('/proc/mounts');
    expect(errnoOf(() => c.sys.stat('/.dockerinit'))).toBe('ENOENT');
  });

  it('answers the allocated figure alone exactly as a full reading does, at every step', () => {
    const host = hostOn(name, options);
    const same = () => expect(host.allocatedBytes()).toBe(host.usage(false).allocatedBytes);
    same();
    const c = host.run('c', 'img');
    same();
    writeFile(c.sys, '/srv/new', 'x'.repeat(70_000));
    pwrite(c.sys, '/srv/data/a', 'zz', 8192);
    c.sys.unlink('/srv/keep');
    same();
    host.stop('c');
    host.commit('c', 'img2');
    same();
    host.run('d', 'img2');
    same();
  });

  it('keeps /.dockerinit in the docker-1.3 init layer', () => {
    const host = hostOn(name, { ...options, profile: 'docker-1.3' });
    expect(host.run('c', 'img').sys.stat('/.dockerinit').kind).toBe('file');
  });

  it('bind-mounts hosts, hostname and resolv.conf: writes to them never reach the layer', () => {
    const host = hostOn(name, options);
    const c = host.run('c', 'img');
    const before = JSON.stringify(host.driver.inspectLayer(c.layer));
    expect(readText(c.sys, '/etc/hostname')).toBe('c\n');
    writeFile(c.sys, '/etc/hosts', '10.0.0.1 db\n');
    expect(readText(c.sys, '/etc/hosts')).toBe('10.0.0.1 db\n');
    expect(JSON.stringify(host.driver.inspectLayer(c.layer))).toBe(before);
    expect(errnoOf(() => c.sys.unlink('/etc/hosts'))).toBe('EBUSY');
    expect(errnoOf(() => c.sys.rename('/etc/passwd', '/etc/resolv.conf'))).toBe('EBUSY');
  });

  it('commits only what the container changed, not the init files', () => {
    const host = hostOn(name, options);
    const c = host.run('c', 'img');
    writeFile(c.sys, '/srv/new', 'fresh');
    host.commit('c', 'next');
    expect(topLayer(host, 'next')).toEqual({ '/srv': 'dir', '/srv/new': 'file 5' });
  });

  it('commits a chmod of a lower file as the whole file', () => {
    const host = hostOn(name, options);
    const c = host.run('c', 'img');
    c.sys.chmod('/bin/tool', 0o700);
    host.commit('c', 'next');
    expect(topLayer(host, 'next')).toEqual({ '/bin': 'dir', '/bin/tool': 'file 6' });
  });

  it('commits mv as a copy plus a whiteout', () => {
    const host = hostOn(name, options);
    const c = host.run('c', 'img');
    c.sys.rename('/srv/keep', '/srv/kept');
    host.commit('c', 'next');
    expect(topLayer(host, 'next')).toEqual({ '/srv': 'dir', '/srv/.wh.keep': 'file 0', '/srv/kept': 'file 1' });
  });

  it('commits rm -rf of a directory as one whiteout', () => {
    const host = hostOn(name, options);
    const c = host.run('c', 'img');
    for (const p of ['/srv/data/sub/b', '/srv/data/a']) c.sys.unlink(p);
    c.sys.rmdir('/srv/data/sub');
    c.sys.rmdir('/srv/data');
    host.commit('c', 'next');
    expect(topLayer(host, 'next')).toEqual({ '/srv': 'dir', '/srv/.wh.data': 'file 0' });
  });

  it('runs containers from a commit that see what the committing container saw', () => {
    const host = hostOn(name, options);
    const c = host.run('c', 'img');
    pwrite(c.sys, '/srv/data/a', 'A', 0);
    c.sys.unlink('/srv/keep');
    host.commit('c', 'next');
    const d = host.run('d', 'next');
    expect(readText(d.sys, '/srv/data/a')).toBe('Aaa');
    expect(errnoOf(() => d.sys.stat('/srv/keep'))).toBe('ENOENT');
    expect(readText(d.sys, '/etc/hostname')).toBe('d\n');
  });

  /**
   * Union and copy drivers return to an empty home; block stores keep what their mechanism keeps (a loop-lvm pool
   * without discard never shrinks: the devicemapper and btrfs specs check that), so for them the data in use must not
   * fall below a fresh store's.
   */
  const expectBackToEmpty = (host: Host) => {
    const fresh = new Host(model(name), resolveOptions(model(name), options)).usage();
    if (host.capabilities.kind === 'block') expect(host.usage().dataBytes).toBeGreaterThanOrEqual(fresh.dataBytes);
    else {
      // the space figures, not the event counters (layers created, mounts) which only grow
      const space = (u: typeof fresh) => [u.dataBytes, u.metadataBytes, u.dfUsedBytes, u.allocatedBytes, u.apparentBytes, u.inodeCount];
      expect(space(host.usage())).toEqual(space(fresh));
    }
  };

  it('removes both container layers on rm, and refuses rmi of an image in use', () => {
    const host = hostOn(name, options);
    const c = host.run('c', 'img');
    expect(errnoOf(() => host.rmi('img'))).toBe('EBUSY');
    host.rm('c');
    expect(() => host.driver.inspectLayer(c.layer)).toThrow(/no such layer/);
    host.rmi('img');
    expect(host.images.size).toBe(0);
    expectBackToEmpty(host);
  });

  it('refuses rmi of an image another image was committed from', () => {
    const host = hostOn(name, options);
    host.run('c', 'img');
    host.commit('c', 'next');
    host.rm('c');
    expect(errnoOf(() => host.rmi('img'))).toBe('EBUSY');
    host.rmi('next');
    host.rmi('img');
    expectBackToEmpty(host);
  });

  it('refuses a container on an image deeper than MaxImageDepth (127)', () => {
    const m = model(name);
    const host = new Host(m, resolveOptions(m, options));
    host.loadImage('deep', Array.from({ length: 125 }, (_, i) => tree({ [`/f${i}`]: 'x' })));
    expect(errnoOf(() => host.run('c', 'deep'))).toBe('EINVAL');
    expect(host.run('c', 'deep', false).sys.stat('/f124').kind).toBe('file');
  });
});

describe('hard links across a commit (Docker tars the changed paths only)', () => {
  it.each(['vfs', 'aufs', 'overlay2'])('%s: a new name for an unchanged file arrives in the image as the diff has it', name => {
    const host = hostOn(name);
    const c = host.run('c', 'img', false);
    c.sys.link('/srv/keep', '/srv/also');
    host.commit('c', 'next');
    const layer = host.image('next').trees.at(-1)!;
    // union drivers copy /srv/keep up for link(2), so both names are in the layer; vfs's naive diff sees /srv/keep
    // unchanged (link(2) changes only its ctime) and tars /srv/also alone
    const names = Object.keys(topLayer(host, 'next')).filter(p => p.startsWith('/srv/'));
    expect(names).toEqual(name === 'vfs' ? ['/srv/also'] : ['/srv/also', '/srv/keep']);
    if (name !== 'vfs') expect(layer.at('/srv/also')).toBe(layer.at('/srv/keep'));
  });

  it('writes to a bind-mounted file do not land in a commit', () => {
    const host = hostOn('overlay2');
    const c = host.run('c', 'img');
    c.sys.close(c.sys.open('/etc/resolv.conf', O_WRONLY | O_CREAT));
    writeFile(c.sys, '/etc/resolv.conf', 'nameserver 1.1.1.1\n');
    host.commit('c', 'next');
    expect(topLayer(host, 'next')).toEqual({});
  });
});
