import { describe, expect, it } from 'vitest';
import { InoAllocator, LogicalClock } from '../../src/fs/inode.js';
import { BUSYBOX_APPLETS, BUSYBOX_BINARY_BYTES, BUSYBOX_MTIME, builtinBusybox } from '../../src/image/busybox.js';

const symlinksIn = (v: ReturnType<typeof builtinBusybox>, dir: string): string[] =>
  [...v.at(dir)!.entries!].filter(([, inode]) => inode.kind === 'symlink').map(([name]) => name);

describe('builtinBusybox: the 2014 review image (busybox make install layout)', () => {
  const v = builtinBusybox();

  it('holds a static busybox binary of about 2.5 MB, mode 0755, owned by root', () => {
    const bb = v.at('bin/busybox')!;
    expect(bb.kind).toBe('file');
    expect(bb.content!.size).toBe(BUSYBOX_BINARY_BYTES);
    expect(BUSYBOX_BINARY_BYTES).toBeGreaterThan(2_400_000);
    expect(BUSYBOX_BINARY_BYTES).toBeLessThan(2_700_000);
    expect([bb.mode, bb.uid, bb.gid]).toEqual([0o755, 0, 0]);
    expect([...bb.content!.read(0, 4)]).toEqual([0x7f, 0x45, 0x4c, 0x46]); // ELF
  });

  it('has one relative applet symlink per applet, in the four install directories', () => {
    expect(symlinksIn(v, 'bin')).toHaveLength(76);
    expect(symlinksIn(v, 'sbin')).toHaveLength(51);
    expect(symlinksIn(v, 'usr/bin')).toHaveLength(121);
    expect(symlinksIn(v, 'usr/sbin')).toHaveLength(19);
    expect(v.at('bin/sh')!.target).toBe('busybox');
    expect(v.at('sbin/init')!.target).toBe('../bin/busybox');
    expect(v.at('usr/bin/awk')!.target).toBe('../../bin/busybox');
    expect(v.at('usr/sbin/chroot')!.target).toBe('../../bin/busybox');
    expect(v.at('usr/bin/[')!.kind).toBe('symlink');
    const total = Object.values(BUSYBOX_APPLETS).reduce((n, list) => n + list.length, 0);
    expect(total).toBe(267);
  });

  it('has linuxrc -> bin/busybox at the root', () => {
    expect(v.at('linuxrc')!.kind).toBe('symlink');
    expect(v.at('linuxrc')!.target).toBe('bin/busybox');
  });

  it('holds only what make install writes: no /etc, /tmp, /dev (Docker adds those in the init layer)', () => {
    expect([...v.root.entries!.keys()].sort()).toEqual(['bin', 'linuxrc', 'sbin', 'usr']);
    expect([...v.at('usr')!.entries!.keys()].sort()).toEqual(['bin', 'sbin']);
    expect(v.usage().inodeCount).toBe(1 + 5 + 1 + 268);
  });

  it('stamps every entry with the same fixed mtime', () => {
    for (const [, inode] of v.walk()) expect(inode.mtime).toBe(BUSYBOX_MTIME);
    expect(v.root.mtime).toBe(BUSYBOX_MTIME);
  });

  it('is deterministic: two builds are equal, tree and bytes', () => {
    const a = builtinBusybox({ clock: new LogicalClock(), inos: new InoAllocator() });
    const b = builtinBusybox({ clock: new LogicalClock(), inos: new InoAllocator() });
    expect(a.toJSON()).toEqual(b.toJSON());
    expect(a.usage()).toEqual(b.usage());
    const at = 1_234_567;
    expect(a.at('bin/busybox')!.content!.read(at, 64)).toEqual(b.at('bin/busybox')!.content!.read(at, 64));
  });

  it('takes its inode numbers from the host allocator', () => {
    const inos = new InoAllocator(500);
    const img = builtinBusybox({ inos });
    expect(img.root.ino).toBe(500);
    expect(inos.allocate()).toBe(500 + 275);
  });
});

describe('builtinBusybox({ skeleton: true }): with Docker Hub busybox base directories', () => {
  const v = builtinBusybox({ skeleton: true });

  it('adds the base directories with their modes', () => {
    for (const d of ['dev', 'etc', 'home', 'proc', 'root', 'sys', 'tmp', 'var', 'usr']) expect(v.at(d)!.kind).toBe('dir');
    expect(v.at('tmp')!.mode).toBe(0o1777);
    expect(v.at('root')!.mode).toBe(0o700);
  });

  it('adds /etc/passwd and /etc/group of the real image', () => {
    const passwd = Buffer.from(v.at('etc/passwd')!.content!.read(0, 4096)).toString();
    expect(passwd.split('\n')[0]).toBe('root:x:0:0:root:/root:/bin/sh');
    expect(passwd).toContain('nobody:x:65534:65534:nobody:/home:/bin/false');
    const group = Buffer.from(v.at('etc/group')!.content!.read(0, 4096)).toString();
    expect(group).toContain('wheel:x:10:root');
  });
});
