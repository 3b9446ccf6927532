import { describe, expect, it } from 'vitest';
import type { VolumeEntryJSON } from '../../src/fs/volume.js';
import { errnoOf, pwrite, readText, world } from '../support/world.js';

const BASE = { '/z/zeros': { bytes: 64 * 1024 }, '/etc/conf': 'x=1', '/d/a': 'a', '/l/one': 'linked', '/l/two': { link: '/l/one' } };

function branch(host: ReturnType<typeof world>['host']): Map<string, VolumeEntryJSON> {
  return new Map((host.driver.inspectLayer(host.containers.get('c')!.layer) as VolumeEntryJSON[]).map(e => [e.path, e]));
}

describe('aufs branch format', () => {
  it('prepares a writable branch with the whiteout base, pseudo-link and orphan dirs', () => {
    const { host } = world('aufs', [BASE]);
    const b = branch(host);
    expect(b.get('/.wh..wh.aufs')?.type).toBe('file');
    expect(b.get('/.wh..wh.plnk')?.type).toBe('dir');
    expect(b.get('/.wh..wh.orph')?.type).toBe('dir');
  });

  it('whites out with .wh.<name> hard-linked to the whiteout base', () => {
    const { host, sys } = world('aufs', [BASE]);
    sys.unlink('/etc/conf');
    sys.unlink('/d/a');
    const b = branch(host);
    expect(b.get('/etc/.wh.conf')?.ino).toBe(b.get('/.wh..wh.aufs')?.ino);
    expect(b.get('/.wh..wh.aufs')?.nlink).toBe(3);
    expect(sys.readdir('/etc')).toEqual([]);
  });

  it('marks a directory recreated over a whiteout opaque with .wh..wh..opq', () => {
    const { host, sys } = world('aufs', [BASE]);
    sys.unlink('/d/a');
    sys.rmdir('/d');
    sys.mkdir('/d');
    expect(branch(host).has('/d/.wh..wh..opq')).toBe(true);
    expect(sys.readdir('/d')).toEqual([]);
  });

  it('reserves .wh. names', () => {
    const { sys } = world('aufs', [BASE]);
    expect(errnoOf(() => sys.mkdir('/.wh.x'))).toBe('EPERM');
  });
});

describe('aufs copy-up', () => {
  it('keeps all-zero blocks sparse', () => {
    const { host, sys } = world('aufs', [BASE]);
    pwrite(sys, '/z/zeros', 'x', 0);
    expect(sys.stat('/z/zeros').size).toBe(64 * 1024);
    // 1 block holds the written byte; the 15 other zero blocks stay holes
    const layer = host.containers.get('c')!.layer;
    const usage = (host.driver as unknown as { branch(id: string): { usage(): { dataBlockCount: number } } }).branch(layer).usage();
    expect(usage.dataBlockCount).toBe(1);
  });

  it('keeps hard links together with a pseudo-link', () => {
    const { host, sys } = world('aufs', [BASE]);
    pwrite(sys, '/l/one', 'L', 0);
    expect(readText(sys, '/l/two')).toBe('Linked');
    const plinks = [...branch(host).keys()].filter(p => p.startsWith('/.wh..wh.plnk/'));
    expect(plinks).toHaveLength(1);
  });

  it('probes two names per branch (whiteout test, then the lookup)', () => {
    const { host, sys } = world('aufs', [{ '/f': 'x' }, { '/g': 'y' }]);
    host.meter.reset();
    sys.stat('/f');
    // upper and layer 2 each: .wh.f test + lookup (2); layer 1: found
    expect(host.meter.lookups).toBe(2 + 2 + 2);
  });
});
