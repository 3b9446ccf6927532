import { describe, expect, it } from 'vitest';
import { O_RDONLY, O_RDWR, O_TRUNC, O_WRONLY } from '../../src/vfs/syscalls.js';
import type { VolumeEntryJSON } from '../../src/fs/volume.js';
import { errnoOf, openClose, pwrite, readText, world } from '../support/world.js';

const BIG = 1 << 20;
const BASE = { '/var/db/big': { bytes: BIG }, '/var/db/small': 'twelve bytes', '/etc/conf': 'x=1', '/etc/sub/inner': 'i' };

function upper(host: ReturnType<typeof world>['host']): Map<string, VolumeEntryJSON> {
  const layer = host.containers.get('c')!.layer;
  return new Map((host.driver.inspectLayer(layer) as VolumeEntryJSON[]).map(e => [e.path, e]));
}

describe('overlay2 copy-up', () => {
  it('copies the whole file on the first write, and only then', () => {
    const { host, sys } = world('overlay2', [BASE]);
    host.meter.reset();
    pwrite(sys, '/var/db/big', 'x', 4096);
    expect(host.meter.copyUpBytes).toBe(BIG);
    expect(upper(host).get('/var/db/big')?.size).toBe(BIG);
    host.meter.reset();
    pwrite(sys, '/var/db/big', 'y', 8192);
    expect(host.meter.copyUpBytes).toBe(0);
  });

  it('copies up on a write-mode open even when nothing is written', () => {
    const { host, sys } = world('overlay2', [BASE]);
    openClose(sys, '/var/db/small', O_WRONLY);
    expect(upper(host).get('/var/db/small')?.size).toBe(12);
  });

  it('does not copy up on a read-only open', () => {
    const { host, sys } = world('overlay2', [BASE]);
    expect(readText(sys, '/var/db/small')).toBe('twelve bytes');
    expect(upper(host).has('/var/db/small')).toBe(false);
  });

  it('copies 0 bytes for O_TRUNC, even on a read-only open', () => {
    const { host, sys } = world('overlay2', [BASE]);
    host.meter.reset();
    openClose(sys, '/var/db/big', O_RDONLY | O_TRUNC);
    expect(host.meter.copyUpBytes).toBe(0);
    expect(sys.stat('/var/db/big').size).toBe(0);
  });

  it('copies the whole file for truncate(2), then truncates', () => {
    const { host, sys } = world('overlay2', [BASE]);
    host.meter.reset();
    sys.truncate('/var/db/big', 10);
    expect(host.meter.copyUpBytes).toBe(BIG);
    expect(sys.stat('/var/db/big').size).toBe(10);
  });

  it('copies parents as metadata only, not their other entries', () => {
    const { host, sys } = world('overlay2', [BASE]);
    pwrite(sys, '/etc/sub/inner', 'j', 0);
    const u = upper(host);
    expect(u.get('/etc')?.type).toBe('dir');
    expect(u.get('/etc/sub')?.type).toBe('dir');
    expect(u.has('/etc/conf')).toBe(false);
  });

  it('copies the whole file for chmod (metacopy=off)', () => {
    const { host, sys } = world('overlay2', [BASE]);
    host.meter.reset();
    sys.chmod('/var/db/big', 0o600);
    expect(host.meter.copyUpBytes).toBe(BIG);
  });

  it('copies metadata only for chmod with metacopy=on, and the data on the first write-open', () => {
    const { host, sys } = world('overlay2', [BASE], { metacopy: 'on' });
    host.meter.reset();
    sys.chmod('/var/db/big', 0o600);
    expect(host.meter.copyUpBytes).toBe(0);
    expect(upper(host).get('/var/db/big')?.xattrs).toHaveProperty(['trusted.overlay.metacopy']);
    expect(sys.stat('/var/db/big').mode).toBe(0o600);
    expect(sys.readFile('/var/db/big').length).toBe(BIG);
    host.meter.reset();
    openClose(sys, '/var/db/big', O_RDWR);
    expect(host.meter.copyUpBytes).toBe(BIG);
    expect(upper(host).get('/var/db/big')?.xattrs?.['trusted.overlay.metacopy']).toBeUndefined();
  });
});

describe('overlay2 whiteouts and opaque directories', () => {
  it('records an unlinked lower file as a 0/0 character device', () => {
    const { host, sys } = world('overlay2', [BASE]);
    sys.unlink('/etc/conf');
    expect(upper(host).get('/etc/conf')).toMatchObject({ type: 'whiteout', rdev: 0, mode: '0000' });
  });

  it('removes an upper-only file without a whiteout', () => {
    const { host, sys } = world('overlay2', [BASE]);
    pwrite(sys, '/etc/conf', 'y', 0);
    sys.close(sys.open('/etc/new', O_WRONLY | 0o100, 0o644));
    sys.unlink('/etc/new');
    expect(upper(host).has('/etc/new')).toBe(false);
  });

  it('leaves one whiteout for rmdir of a lower directory, and makes a directory recreated over it opaque', () => {
    const { host, sys } = world('overlay2', [BASE]);
    sys.unlink('/etc/sub/inner');
    sys.rmdir('/etc/sub');
    expect(upper(host).get('/etc/sub')?.type).toBe('whiteout');
    expect(upper(host).has('/etc/sub/inner')).toBe(false);
    sys.mkdir('/etc/sub');
    expect(upper(host).get('/etc/sub')?.xattrs).toEqual({ 'trusted.overlay.opaque': 'y' });
    expect(sys.readdir('/etc/sub')).toEqual([]);
  });

  it('fails a lower directory rename with EXDEV unless redirect_dir=on, which records a redirect', () => {
    expect(errnoOf(() => world('overlay2', [BASE]).sys.rename('/etc', '/etc2'))).toBe('EXDEV');
    const { host, sys } = world('overlay2', [BASE], { redirect_dir: 'on' });
    sys.rename('/etc', '/etc2');
    expect(upper(host).get('/etc2')?.xattrs?.['trusted.overlay.redirect']).toBe('etc');
    expect(upper(host).get('/etc')?.type).toBe('whiteout');
    expect(readText(sys, '/etc2/sub/inner')).toBe('i');
    host.commit('c', 'snap');
    expect(readText(host.run('d', 'snap', false).sys, '/etc2/sub/inner')).toBe('i');
  });
});

describe('overlay2 lookup cost', () => {
  it('probes one directory per layer for a file in the bottom layer', () => {
    const layers = [{ '/deep/f': 'bottom' }, ...Array.from({ length: 7 }, (_, i) => ({ [`/deep/other${i}`]: 'x' }))];
    const { host, sys } = world('overlay2', layers);
    host.meter.reset();
    sys.stat('/deep/f');
    // "/deep": the upper root + 8 lower roots probed; "f": no upper dir yet, 8 lower dirs probed, found in the last
    expect(host.meter.lookups).toBe(9 + 8);
  });

  it('stops at the upper layer for a file the container wrote', () => {
    const layers = [{ '/deep/f': 'bottom' }, ...Array.from({ length: 7 }, (_, i) => ({ [`/deep/other${i}`]: 'x' }))];
    const { host, sys } = world('overlay2', layers);
    pwrite(sys, '/deep/f', 'T', 0);
    host.meter.reset();
    sys.stat('/deep/f');
    expect(host.meter.lookups).toBe(9 + 1);
  });

  it('refuses more than 128 lower layers', () => {
    const layers = Array.from({ length: 129 }, (_, i) => ({ [`/f${i}`]: 'x' }));
    expect(errnoOf(() => world('overlay2', layers))).toBe('EINVAL');
  });
});
