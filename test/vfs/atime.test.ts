import { describe, expect, it } from 'vitest';
import { FileContent, PATTERN_SOURCE } from '../../src/fs/content.js';
import { LogicalClock } from '../../src/fs/inode.js';
import { PlainMount } from '../../src/fs/plain-mount.js';
import { Volume } from '../../src/fs/volume.js';
import { BindMounts, BoundFile } from '../../src/vfs/bind-mount.js';
import { O_RDONLY, Syscalls } from '../../src/vfs/syscalls.js';

const OLD = 1_412_121_600; // the image's mtime: 2014-10-01, atime not newer (relatime will update it once)

/** A relatime volume with /bin/busybox and the applet symlink /bin/dd -> busybox, both last accessed long ago. */
function busyboxVolume(): Volume {
  const v = new Volume({ clock: new LogicalClock(), atime: 'relatime' });
  const bin = v.createChild(v.root, 'bin', 'dir', { mode: 0o755, uid: 0, gid: 0 });
  const busybox = v.createChild(bin, 'busybox', 'file', {
    mode: 0o755,
    uid: 0,
    gid: 0,
    content: FileContent.fromSlice({ source: PATTERN_SOURCE, at: 0, length: 8192 }),
  });
  const dd = v.createChild(bin, 'dd', 'symlink', { mode: 0o777, uid: 0, gid: 0, target: 'busybox' });
  for (const inode of [busybox, dd]) {
    inode.atime = OLD;
    inode.mtime = OLD;
    inode.ctime = OLD;
  }
  return v;
}

const atime = (sys: Syscalls<object>, path: string): number => sys.stat(path, false).atime;

describe('atime of symlinks (relatime)', () => {
  it('following a symlink reads it: open through /bin/dd moves the link atime and the binary atime', () => {
    const sys = new Syscalls(new PlainMount(busyboxVolume()) as never);
    const f = sys.open('/bin/dd', O_RDONLY);
    sys.read(f, 4096, 0);
    sys.close(f);
    expect(atime(sys, '/bin/dd')).toBeGreaterThan(OLD);
    expect(atime(sys, '/bin/busybox')).toBeGreaterThan(OLD);
  });

  it('stat(2) through a symlink reads the link; lstat(2) does not', () => {
    const sys = new Syscalls(new PlainMount(busyboxVolume()) as never);
    sys.stat('/bin/dd', false);
    expect(atime(sys, '/bin/dd')).toBe(OLD);
    sys.stat('/bin/dd');
    expect(atime(sys, '/bin/dd')).toBeGreaterThan(OLD);
  });

  it('readlink(2) reads the link', () => {
    const sys = new Syscalls(new PlainMount(busyboxVolume()) as never);
    expect(sys.readlink('/bin/dd')).toBe('busybox');
    expect(atime(sys, '/bin/dd')).toBeGreaterThan(OLD);
  });

  it('a report peeking at the real inode behind a path reads nothing', () => {
    const sys = new Syscalls(new PlainMount(busyboxVolume()) as never);
    expect(sys.realInode('/bin/dd', { peek: true }).size).toBe(8192);
    expect(atime(sys, '/bin/dd')).toBe(OLD);
    sys.realInode('/bin/dd');
    expect(atime(sys, '/bin/dd')).toBeGreaterThan(OLD);
  });

  it('under noatime nothing is written back', () => {
    const v = busyboxVolume();
    v.atime = 'noatime';
    const sys = new Syscalls(new PlainMount(v) as never);
    sys.readFile('/bin/dd');
    expect(atime(sys, '/bin/dd')).toBe(OLD);
    expect(atime(sys, '/bin/busybox')).toBe(OLD);
  });

  it('a root with bind-mounted files still passes reads to the filesystem below (and to the bound host file)', () => {
    const v = busyboxVolume();
    const host = new Volume({ clock: new LogicalClock(), atime: 'relatime' });
    const hosts = host.createChild(host.root, 'hosts', 'file', { mode: 0o644, uid: 0, gid: 0 });
    hosts.atime = OLD;
    hosts.mtime = OLD;
    hosts.ctime = OLD;
    const etc = v.createChild(v.root, 'etc', 'dir', { mode: 0o755, uid: 0, gid: 0 });
    const target = v.createChild(etc, 'hosts', 'file', { mode: 0o644, uid: 0, gid: 0 });
    const mount = new BindMounts(new PlainMount(v));
    mount.bind(target, new BoundFile(hosts, host));
    const sys = new Syscalls(mount as never);
    sys.readFile('/bin/dd');
    sys.readFile('/etc/hosts');
    expect(atime(sys, '/bin/dd')).toBeGreaterThan(OLD);
    expect(atime(sys, '/bin/busybox')).toBeGreaterThan(OLD);
    expect(hosts.atime).toBeGreaterThan(OLD);
  });
});
