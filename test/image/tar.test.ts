import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { InoAllocator, LogicalClock } from '../../src/fs/inode.js';
import type { Volume } from '../../src/fs/volume.js';
import { detectCompression } from '../../src/image/compression.js';
import { makedev, parseTar, readRootfsTar } from '../../src/image/tar.js';
import { archive, concat, dir, entry, file, gnuLong, hardlink, header, pax, symlink } from './tar-writer.js';

const text = (v: Volume, path: string): string => Buffer.from(v.at(path)!.content!.read(0, 1 << 20)).toString('utf8');

describe('readRootfsTar: entry types', () => {
  const tar = archive(
    dir('etc', { mode: 0o755, mtime: 1_400_000_000 }),
    file('etc/passwd', 'root:x:0:0::/root:/bin/sh\n', { mode: 0o644, uid: 0, gid: 0, mtime: 1_400_000_001 }),
    file('usr/bin/sudo', 'ELF', { mode: 0o4755, uid: 0, gid: 0 }),
    dir('tmp', { mode: 0o1777 }),
    file('home/u/notes', 'hi', { mode: 0o600, uid: 1000, gid: 1001 }),
    symlink('bin', 'usr/bin', { mode: 0o755 }),
    symlink('etc/abs', '/etc/passwd'),
    hardlink('etc/passwd.hard', 'etc/passwd', { mtime: 1_400_000_001 }),
    entry({ name: 'dev/null', type: '3', mode: 0o666, devmajor: 1, devminor: 3 }),
    entry({ name: 'dev/sda', type: '4', mode: 0o660, gid: 6, devmajor: 8, devminor: 0 }),
    entry({ name: 'dev/big', type: '3', mode: 0o600, devmajor: 300, devminor: 70000 }),
    entry({ name: 'run/fifo', type: '6', mode: 0o644 }),
  );
  const v = readRootfsTar(tar);

  it('reads regular files with their data, mode, owner and mtime', () => {
    const passwd = v.at('etc/passwd')!;
    expect(passwd.kind).toBe('file');
    expect(text(v, 'etc/passwd')).toBe('root:x:0:0::/root:/bin/sh\n');
    expect(passwd.mode).toBe(0o644);
    expect(passwd.mtime).toBe(1_400_000_001);
    expect(v.at('usr/bin/sudo')!.mode).toBe(0o4755);
    const notes = v.at('home/u/notes')!;
    expect([notes.uid, notes.gid, notes.mode]).toEqual([1000, 1001, 0o600]);
  });

  it('reads directories, keeping their mtime although entries were added after them', () => {
    expect(v.at('etc')!.kind).toBe('dir');
    expect(v.at('etc')!.mtime).toBe(1_400_000_000);
    expect(v.at('tmp')!.mode).toBe(0o1777);
  });

  it('creates parents missing from the archive as 0755 root directories', () => {
    for (const path of ['usr', 'usr/bin', 'home', 'home/u', 'dev', 'run']) {
      const d = v.at(path)!;
      expect([d.kind, d.mode, d.uid, d.gid]).toEqual(['dir', 0o755, 0, 0]);
    }
  });

  it('reads symlinks with their target as stored (mode always 0777)', () => {
    expect(v.at('bin')!.kind).toBe('symlink');
    expect(v.at('bin')!.target).toBe('usr/bin');
    expect(v.at('bin')!.mode).toBe(0o777);
    expect(v.at('etc/abs')!.target).toBe('/etc/passwd');
  });

  it('reads hard links as a second name of the same inode', () => {
    expect(v.at('etc/passwd.hard')).toBe(v.at('etc/passwd'));
    expect(v.at('etc/passwd')!.nlink).toBe(2);
  });

  it('reads devices with glibc makedev numbers, and fifos', () => {
    expect(v.at('dev/null')!.kind).toBe('chr');
    expect(v.at('dev/null')!.rdev).toBe(makedev(1, 3));
    expect(makedev(1, 3)).toBe(0x103);
    expect(v.at('dev/sda')!.kind).toBe('blk');
    expect(v.at('dev/sda')!.rdev).toBe(0x800);
    // major 300, minor 70000: minor's high bits go above bit 20 (linux/kdev_t.h new_encode_dev)
    expect(v.at('dev/big')!.rdev).toBe((70000 & 0xff) | (300 << 8) | ((70000 & ~0xff) << 12));
    expect(v.at('run/fifo')!.kind).toBe('fifo');
  });

  it('accounts the tree in the volume', () => {
    // root, etc, passwd, usr, usr/bin, sudo, tmp, home, home/u, notes, bin, abs, dev x4, run, fifo
    expect(v.usage().inodeCount).toBe(18);
  });
});

describe('readRootfsTar: names and headers', () => {
  it('normalises absolute and ./ names, as Docker strips the leading slash', () => {
    const v = readRootfsTar(archive(dir('./'), file('/abs/f', 'a'), file('./rel/g', 'b'), file('x//y/./z', 'c')));
    expect(text(v, 'abs/f')).toBe('a');
    expect(text(v, 'rel/g')).toBe('b');
    expect(text(v, 'x/y/z')).toBe('c');
  });

  it('cleans .. components that stay inside the root', () => {
    const v = readRootfsTar(archive(file('a/../b', 'ok')));
    expect(text(v, 'b')).toBe('ok');
    expect(v.at('a')).toBeUndefined(); // the name is cleaned lexically first (filepath.Clean), as Docker does
  });

  it('applies a root entry to the root directory', () => {
    const v = readRootfsTar(archive(dir('/', { mode: 0o700, uid: 5, gid: 6, mtime: 1_300_000_000 })));
    expect([v.root.mode, v.root.uid, v.root.gid, v.root.mtime]).toEqual([0o700, 5, 6, 1_300_000_000]);
  });

  it('joins the ustar prefix and name', () => {
    const v = readRootfsTar(archive(entry({ name: 'leaf', prefix: 'deep/er', data: 'p' })));
    expect(text(v, 'deep/er/leaf')).toBe('p');
  });

  it('reads GNU long names and long link names', () => {
    const long = `${'d'.repeat(120)}/${'f'.repeat(130)}`;
    const longTarget = `${'t'.repeat(150)}`;
    const v = readRootfsTar(
      archive(gnuLong(long), file('truncated-name', 'L'), gnuLong(longTarget, 'K'), symlink('s', 'short')),
    );
    expect(text(v, long)).toBe('L');
    expect(v.at('s')!.target).toBe(longTarget);
    expect(v.at('truncated-name')).toBeUndefined();
  });

  it('reads GNU base-256 numeric fields', () => {
    const v = readRootfsTar(archive(entry({ name: 'f', data: 'x', uid: 3_000_000, base256: ['uid', 'size'] })));
    expect(v.at('f')!.uid).toBe(3_000_000);
    expect(text(v, 'f')).toBe('x');
  });

  it('reads GNU-format and v7 headers; a v7 name ending in / is a directory', () => {
    const v = readRootfsTar(archive(file('g', 'gnu', { format: 'gnu' }), entry({ name: 'old/', format: 'v7', mode: 0o750 })));
    expect(text(v, 'g')).toBe('gnu');
    expect(v.at('old')!.kind).toBe('dir');
    expect(v.at('old')!.mode).toBe(0o750);
  });

  it('accepts an archive without the end-of-archive blocks, and an empty archive', () => {
    expect(text(readRootfsTar(file('f', 'no trailer')), 'f')).toBe('no trailer');
    expect(readRootfsTar(new Uint8Array(0)).usage().inodeCount).toBe(1);
    expect(readRootfsTar(new Uint8Array(1024)).usage().inodeCount).toBe(1);
  });

  it('keeps .wh. whiteout files as ordinary empty files', () => {
    const v = readRootfsTar(archive(file('a/.wh.gone', '', { mode: 0 }), file('a/.wh..wh..opq', '')));
    expect(v.at('a/.wh.gone')!.kind).toBe('file');
    expect(v.at('a/.wh.gone')!.content!.size).toBe(0);
    expect(v.at('a/.wh..wh..opq')!.kind).toBe('file');
  });
});

describe('readRootfsTar: pax headers', () => {
  it('takes path, linkpath, uid, gid, mtime, atime and size from pax records', () => {
    const longPath = `${'p'.repeat(200)}/file`;
    const v = readRootfsTar(
      archive(
        pax({ path: longPath, uid: '4000000', gid: '4000001', mtime: '1600000000.25', atime: '1700000000.5' }),
        file('short', 'content'),
        pax({ linkpath: `/${'q'.repeat(300)}` }),
        symlink('link', 'x'),
        pax({ size: '3' }),
        entry({ name: 'sized', data: 'abc', size: 0 }),
      ),
    );
    const f = v.at(longPath)!;
    expect([f.uid, f.gid, f.mtime, f.atime]).toEqual([4_000_000, 4_000_001, 1_600_000_000.25, 1_700_000_000.5]);
    expect(text(v, longPath)).toBe('content');
    expect(v.at('link')!.target).toBe(`/${'q'.repeat(300)}`);
    expect(text(v, 'sized')).toBe('abc');
  });

  it('never sets atime before mtime (Docker pkg/archive)', () => {
    const v = readRootfsTar(archive(pax({ atime: '1000' }), file('f', 'x', { mtime: 2000 })));
    expect(v.at('f')!.atime).toBe(2000);
  });

  it('reads SCHILY.xattr records as raw bytes', () => {
    const cap = Uint8Array.from([0x01, 0x00, 0x00, 0x02, 0x00, 0x30, 0x00, 0x00, 0x0a, 0x3d, 0xff]);
    const v = readRootfsTar(
      archive(pax({ 'SCHILY.xattr.security.capability': cap, 'SCHILY.xattr.user.note': 'hello' }), file('ping', 'x')),
    );
    const xattrs = v.at('ping')!.xattrs!;
    expect([...xattrs.get('security.capability')!]).toEqual([...cap]);
    expect(Buffer.from(xattrs.get('user.note')!).toString()).toBe('hello');
  });

  it('reads LIBARCHIVE.xattr records: percent-encoded name, base64 value', () => {
    const v = readRootfsTar(
      archive(pax({ 'LIBARCHIVE.xattr.user.a%3Db': Buffer.from('value').toString('base64') }), file('f', 'x')),
    );
    expect(Buffer.from(v.at('f')!.xattrs!.get('user.a=b')!).toString()).toBe('value');
  });

  it('applies xattrs to directories and symlinks too', () => {
    const v = readRootfsTar(
      archive(pax({ 'SCHILY.xattr.trusted.overlay.opaque': 'y' }), dir('d'), pax({ 'SCHILY.xattr.user.s': '1' }), symlink('s', 'd')),
    );
    expect(Buffer.from(v.at('d')!.xattrs!.get('trusted.overlay.opaque')!).toString()).toBe('y');
    expect(v.at('s')!.xattrs!.has('user.s')).toBe(true);
  });

  it('applies global records to every later entry unless overridden', () => {
    const v = readRootfsTar(
      archive(pax({ uid: '77', 'SCHILY.xattr.user.g': 'global' }, 'g'), file('a', '1'), pax({ uid: '88' }), file('b', '2')),
    );
    expect(v.at('a')!.uid).toBe(77);
    expect(v.at('b')!.uid).toBe(88);
    expect(v.at('b')!.xattrs!.has('user.g')).toBe(true);
  });

  it('a per-entry record applies to the next entry only', () => {
    const v = readRootfsTar(archive(pax({ uid: '9' }), file('a', '1'), file('b', '2')));
    expect(v.at('a')!.uid).toBe(9);
    expect(v.at('b')!.uid).toBe(0);
  });
});

describe('readRootfsTar: hard links', () => {
  it('links any number of names to one inode, in any directory', () => {
    const v = readRootfsTar(
      archive(file('bin/busybox', 'bb', { mode: 0o755 }), hardlink('bin/sh', 'bin/busybox'), hardlink('/usr/bin/env', '/bin/busybox')),
    );
    const inode = v.at('bin/busybox')!;
    expect(v.at('bin/sh')).toBe(inode);
    expect(v.at('usr/bin/env')).toBe(inode);
    expect(inode.nlink).toBe(3);
    expect(v.usage().apparentBytes).toBe(2);
  });

  it('may link to a symlink (link(2) does not follow)', () => {
    const v = readRootfsTar(archive(symlink('s', 'target'), hardlink('s2', 's')));
    expect(v.at('s2')).toBe(v.at('s'));
  });

  it("applies the link header's owner and mode to the inode, as Docker does", () => {
    const v = readRootfsTar(archive(file('f', 'x', { mode: 0o644 }), hardlink('g', 'f', { mode: 0o600, uid: 7 })));
    expect([v.at('f')!.mode, v.at('f')!.uid]).toEqual([0o600, 7]);
  });
});

describe('readRootfsTar: duplicate entries', () => {
  it('a later file replaces an earlier one', () => {
    const v = readRootfsTar(archive(file('f', 'old', { uid: 1 }), file('f', 'new', { uid: 2 })));
    expect(text(v, 'f')).toBe('new');
    expect(v.at('f')!.uid).toBe(2);
    expect(v.usage().inodeCount).toBe(2);
  });

  it('a directory over a directory merges: children stay, attributes are the later ones', () => {
    const v = readRootfsTar(
      archive(dir('d', { mode: 0o755 }), file('d/child', 'c'), dir('d', { mode: 0o700, uid: 3, mtime: 1_234_567_890 })),
    );
    expect(text(v, 'd/child')).toBe('c');
    expect([v.at('d')!.mode, v.at('d')!.uid, v.at('d')!.mtime]).toEqual([0o700, 3, 1_234_567_890]);
  });

  it('a file over a directory removes the directory and everything below it', () => {
    const v = readRootfsTar(archive(dir('d'), file('d/a', 'a'), file('d/sub/b', 'b'), file('d', 'now a file')));
    expect(v.at('d')!.kind).toBe('file');
    expect(text(v, 'd')).toBe('now a file');
    expect(v.usage().inodeCount).toBe(2);
    expect(v.usage().apparentBytes).toBe('now a file'.length);
  });

  it('a directory over a file or symlink replaces it', () => {
    const v = readRootfsTar(archive(file('a', 'x'), symlink('b', '/etc'), dir('a'), dir('b'), file('b/inside', 'ok')));
    expect(v.at('a')!.kind).toBe('dir');
    expect(v.at('b')!.kind).toBe('dir');
    expect(text(v, 'b/inside')).toBe('ok');
  });

  it('replacing one name of a hard-linked inode leaves the other', () => {
    const v = readRootfsTar(archive(file('a', 'shared'), hardlink('b', 'a'), file('a', 'fresh')));
    expect(text(v, 'b')).toBe('shared');
    expect(v.at('b')!.nlink).toBe(1);
  });
});

describe('readRootfsTar: compression', () => {
  const tar = archive(file('hello', 'world'));

  it('detects and decompresses gzip', () => {
    const gz = gzipSync(tar);
    expect(detectCompression(gz)).toBe('gzip');
    expect(text(readRootfsTar(gz), 'hello')).toBe('world');
  });

  it('detects and decompresses zstd (a real OCI layer blob)', () => {
    const oci = parseTar(new Uint8Array(readFileSync(fileURLToPath(new URL('../../../shared/images/test-oci-zstd-image.tar', import.meta.url)))));
    const blob = oci.find(m => m.name.endsWith('0308a5d81b28debb7e24a609dcdfca5fdb64c908bda38b0e4774a7d017a67297'))!.data;
    expect(detectCompression(blob)).toBe('zstd');
    const v = readRootfsTar(blob);
    expect(v.at('README.md')!.content!.size).toBe(11189);
  });
});

describe('readRootfsTar: the unionmount fixture (written by Python tarfile, PAX format)', () => {
  const v = readRootfsTar(new Uint8Array(readFileSync(new URL('../kernel/unionmount-lower.tar', import.meta.url))));

  it('reads owners, contents, symlinks and hard links as make-fixture.py describes them', () => {
    const foo = v.at('a/foo100')!;
    expect([foo.uid, foo.gid, foo.mode]).toEqual([1, 1, 0o644]);
    expect(text(v, 'a/foo100')).toBe(':xxx:yyy:zzz');
    expect(v.at('a/direct_sym100')!.target).toBe('../a/foo100');
    expect(v.at('a/pointless100')!.target).toBe('no_foo100');
    expect(v.at('tmp')!.mode).toBe(0o1777);
    expect(v.at('bin/hardlink-a')).toBe(v.at('bin/hardlink-b'));
    expect(v.at('bin/hardlink-a')!.nlink).toBe(2);
    expect(v.at('a/foo100')!.mtime).toBe(1_400_000_000);
  });
});

/** Runs a hostile archive through the reader: it must throw `image: ...` and take nothing from the host. */
function expectRefused(bytes: Uint8Array, message: RegExp): void {
  const inos = new InoAllocator(1000);
  const clock = new LogicalClock(5000);
  let result: Volume | undefined;
  expect(() => {
    result = readRootfsTar(bytes, { inos, clock });
  }).toThrow(message);
  expect(result).toBeUndefined();
  expect(inos.allocate()).toBe(1000); // no inode number was taken
  expect(clock.now()).toBe(5000.001); // no clock tick was taken
}

describe('readRootfsTar: hostile and corrupt input is refused and builds nothing', () => {
  it('refuses .. escaping the root', () => {
    expectRefused(archive(file('../evil', 'x')), /^image: entry '\.\.\/evil' escapes the image root$/);
    expectRefused(archive(file('ok', ''), file('a/b/../../../evil', 'x')), /^image: entry 'a\/b\/\.\.\/\.\.\/\.\.\/evil' escapes the image root$/);
    expectRefused(archive(pax({ path: '/../../etc/shadow' }), file('x', 'x')), /^image: entry '\/\.\.\/\.\.\/etc\/shadow' escapes/);
  });

  it('refuses writing through a symlink made earlier in the archive', () => {
    expectRefused(
      archive(symlink('etc', '/host/etc'), file('etc/passwd', 'owned')),
      /^image: entry 'etc\/passwd' goes through the symlink 'etc'$/,
    );
    expectRefused(
      archive(dir('a'), symlink('a/link', '../..'), dir('a/link/deeper')),
      /^image: entry 'a\/link\/deeper' goes through the symlink 'a\/link'$/,
    );
  });

  it('refuses a path through a regular file', () => {
    expectRefused(archive(file('f', 'x'), file('f/g', 'y')), /^image: entry 'f\/g' goes through 'f', which is not a directory$/);
  });

  it('refuses hard links to a missing, later, outside or directory target', () => {
    expectRefused(archive(hardlink('h', 'nowhere')), /^image: entry 'h' is a hard link to 'nowhere', which is not an earlier entry of the archive$/);
    expectRefused(archive(hardlink('h', 'later'), file('later', 'x')), /^image: entry 'h' is a hard link to 'later', which is not an earlier entry/);
    expectRefused(archive(hardlink('h', '../../etc/passwd')), /^image: entry 'h' is a hard link to '\.\.\/\.\.\/etc\/passwd', outside the image root$/);
    expectRefused(archive(dir('d'), hardlink('h', 'd')), /^image: entry 'h' is a hard link to the directory 'd'$/);
    expectRefused(archive(symlink('s', '/etc'), hardlink('h', 's/passwd')), /^image: entry 'h' is a hard link to 's\/passwd', which is not an earlier entry/);
    expectRefused(archive(file('f', 'x'), hardlink('f', 'f')), /^image: entry 'f' is a hard link to 'f', which it replaces$/);
  });

  it('refuses absurd sizes', () => {
    expectRefused(archive(entry({ name: 'huge', data: 'x', size: 2 ** 41, base256: ['size'] })), /^image: tar entry 'huge' has an absurd size \(2199023255552 bytes\)$/);
    expectRefused(archive(pax({ size: String(2 ** 45) }), file('huge', 'x')), /^image: tar entry 'huge' has an absurd size/);
    expectRefused(
      archive(entry({ name: 'big', data: 'x', size: 1_000_000 })),
      /^image: tar entry 'big' claims 1000000 bytes but the archive has \d+ left: truncated archive$/,
    );
  });

  it('refuses truncated archives', () => {
    const whole = archive(file('a', 'x'.repeat(2000)));
    expectRefused(whole.subarray(0, 1200), /^image: tar entry 'a' claims 2000 bytes but the archive has 688 left: truncated archive$/);
    const two = concat(file('a', 'x'), file('b', 'y'));
    expectRefused(two.subarray(0, 1024 + 100), /^image: tar archive is truncated inside the header at offset 1024$/);
    expectRefused(concat(pax({ path: 'p' })), /^image: tar archive is truncated: an extension header at the end has no member$/);
    expectRefused(new Uint8Array(100), /^image: not a tar archive \(100 bytes, shorter than one header block\)$/);
  });

  it('refuses a bad header checksum', () => {
    expectRefused(
      archive(file('ok', 'x'), entry({ name: 'corrupt', data: 'y', checksumDelta: 1 })),
      /^image: tar header at offset 1024 \(entry 'corrupt'\) has a bad checksum; not a tar archive or corrupt$/,
    );
    expectRefused(new Uint8Array(Buffer.from('x'.repeat(2048))), /^image: tar header at offset 0 .* has a bad checksum/);
  });

  it('refuses bad numeric fields and malformed pax records', () => {
    const bad = header({ name: 'm', data: '' });
    bad.set(Buffer.from('9999999'), 100); // mode field, not octal
    bad.fill(0x20, 148, 156);
    const sum = bad.reduce((n, b) => n + b, 0);
    bad.set(Buffer.from(`${sum.toString(8).padStart(6, '0')}\0 `), 148);
    expectRefused(archive(bad), /^image: tar header at offset 0: bad mode field '9999999'$/);
    const junk = entry({ name: 'PaxHeaders/x', type: 'x', data: '10 path\n' });
    expectRefused(archive(junk, file('f', 'x')), /^image: tar pax header at offset 0 is malformed$/);
    expectRefused(archive(pax({ uid: 'abc' }), file('f', 'x')), /^image: tar entry 'f': bad pax uid 'abc'$/);
  });

  it('refuses bad gzip and bad zstd data', () => {
    const gz = gzipSync(archive(file('a', 'x'.repeat(5000))));
    expectRefused(gz.subarray(0, 30), /^image: tar archive: bad gzip data \(/);
    expectRefused(Uint8Array.from([0x1f, 0x8b, 0x08, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9]), /^image: tar archive: bad gzip data/);
    expectRefused(Uint8Array.from([0x28, 0xb5, 0x2f, 0xfd, 0xff, 0xff, 0xff, 0xff, 1, 2, 3]), /^image: tar archive: bad zstd data/);
    expectRefused(Uint8Array.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00, 1]), /^image: tar archive: xz-compressed archives are not supported/);
  });

  it('refuses unsupported entry types', () => {
    expectRefused(archive(entry({ name: 'sp', type: 'S', data: '' })), /^image: tar entry 'sp' is a GNU sparse file, which is not supported$/);
    expectRefused(archive(entry({ name: 'q', type: 'Q' })), /^image: tar entry 'q' is of unknown type "Q", which is not supported$/);
    expectRefused(archive(pax({ 'GNU.sparse.major': '1' }), file('s', 'x')), /^image: tar entry 's' is a GNU sparse file/);
  });

  it('refuses a non-directory in place of the root, and empty symlinks', () => {
    expectRefused(archive(file('.', 'x')), /^image: entry '\.' would replace the image root$/);
    expectRefused(archive(symlink('/', '/etc')), /^image: entry '\/' would replace the image root$/);
    expectRefused(archive(symlink('s', '')), /^image: entry 's' is a symlink with an empty target$/);
  });

  it('names hostile entries safely (control characters escaped)', () => {
    expectRefused(archive(file('../\n\u001b[31mfake', 'x')), /^image: entry '\.\.\/\\n\\u001b\[31mfake' escapes the image root$/);
  });
});
