import { execFileSync } from 'node:child_process';
import { lstatSync, mkdirSync, mkdtempSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { FileContent, ZERO_SOURCE, bytesSource } from '../../src/fs/content.js';
import { makedev, parseTar, type TarMember } from '../../src/image/tar.js';
import { contentChunks, paxTimeText, splitDev, tarChunks, writeTar } from '../../src/image/tar-write.js';
import type { ArchiveEntry } from '../../src/image/tree.js';

const scratch = mkdtempSync(join(tmpdir(), 'layersim-tar-write-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));
let scratchCount = 0;

const bytes = (s: string): Uint8Array => new TextEncoder().encode(s);
const text = (b: Uint8Array): string => Buffer.from(b).toString('utf8');
const meta = { mode: 0o644, uid: 0, gid: 0, mtime: 1_500_000_000 } as const;
const file = (name: string, data: string, extra: Partial<ArchiveEntry> = {}): ArchiveEntry => ({
  ...meta,
  name,
  kind: 'file',
  content: FileContent.fromBytes(bytes(data)),
  ...extra,
});

function member(members: readonly TarMember[], name: string): TarMember {
  const m = members.find(x => x.name === name);
  if (m === undefined) throw new Error(`no member ${name}`);
  return m;
}

/** Runs the machine's GNU tar; output as text. */
function gnuTar(...args: string[]): string {
  return execFileSync('tar', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

function scratchDir(): string {
  const dir = join(scratch, String(scratchCount++));
  mkdirSync(dir, { recursive: true });
  return dir;
}

const LONG_NAME = `deep/${'d'.repeat(60)}/${'n'.repeat(120)}.txt`;
const LONG_TARGET = `/${'t'.repeat(150)}`;

const sample: ArchiveEntry[] = [
  { ...meta, name: 'etc/', kind: 'dir', mode: 0o755 },
  file('etc/passwd', 'root:x:0:0::/root:/bin/sh\n', { mtime: 1_400_000_001 }),
  file('etc/shadow', 'secret', { mode: 0o640, gid: 42 }),
  { ...meta, name: 'etc/passwd-', kind: 'hardlink', target: 'etc/passwd' },
  { ...meta, name: 'bin', kind: 'symlink', mode: 0o777, target: 'usr/bin' },
  { ...meta, name: 'dev/', kind: 'dir', mode: 0o755 },
  { ...meta, name: 'dev/null', kind: 'chr', mode: 0o666, rdev: makedev(1, 3) },
  { ...meta, name: 'dev/big', kind: 'blk', mode: 0o600, rdev: makedev(300, 70000) },
  { ...meta, name: 'run/', kind: 'dir', mode: 0o755 },
  { ...meta, name: 'run/fifo', kind: 'fifo', mode: 0o620 },
  { ...meta, name: 'deep/', kind: 'dir', mode: 0o755 },
  { ...meta, name: `deep/${'d'.repeat(60)}/`, kind: 'dir', mode: 0o700 },
  file(LONG_NAME, 'long'),
  { ...meta, name: 'far', kind: 'symlink', mode: 0o777, target: LONG_TARGET },
  file('big-ids', 'x', { uid: 3_000_000, gid: 2_097_152 }),
  file('fraction', 'f', { mtime: 1_700_000_000.123 }),
  file('sticky', '', { mode: 0o7755 }),
  file('xattrs', 'x', { xattrs: new Map([['user.note', bytes('hello')], ['security.capability', Uint8Array.of(1, 0, 0, 2, 0xff, 0, 0xa, 0)]]) }),
  file('caf\u00e9', 'utf8 name'),
];

describe('writeTar: headers', () => {
  const tar = writeTar(sample);

  it('writes whole blocks ending in two zero blocks, with valid ustar headers', () => {
    expect(tar.length % 512).toBe(0);
    expect(tar.subarray(tar.length - 1024).every(b => b === 0)).toBe(true);
    const first = tar.subarray(0, 512);
    expect(text(first.subarray(257, 263))).toBe('ustar\0');
    expect(text(first.subarray(263, 265))).toBe('00');
    expect(text(first.subarray(0, 4))).toBe('etc/');
    // uname and gname are empty
    expect(first.subarray(265, 329).every(b => b === 0)).toBe(true);
  });

  it('is deterministic', () => {
    expect(Buffer.compare(writeTar(sample), tar)).toBe(0);
  });

  it('round-trips every field through parseTar', () => {
    const members = parseTar(tar);
    expect(members.map(m => m.name)).toEqual(sample.map(e => e.name));
    expect(text(member(members, 'etc/passwd').data)).toBe('root:x:0:0::/root:/bin/sh\n');
    expect(member(members, 'etc/passwd').mtime).toBe(1_400_000_001);
    expect([member(members, 'etc/shadow').mode, member(members, 'etc/shadow').gid]).toEqual([0o640, 42]);
    expect(member(members, 'etc/passwd-')).toMatchObject({ typeflag: '1', linkname: 'etc/passwd', size: 0 });
    expect(member(members, 'bin')).toMatchObject({ typeflag: '2', linkname: 'usr/bin' });
    expect(member(members, 'dev/null')).toMatchObject({ typeflag: '3', devmajor: 1, devminor: 3, mode: 0o666 });
    expect(member(members, 'dev/big')).toMatchObject({ typeflag: '4', devmajor: 300, devminor: 70000 });
    expect(member(members, 'run/fifo')).toMatchObject({ typeflag: '6', mode: 0o620 });
    expect(member(members, `deep/${'d'.repeat(60)}/`)).toMatchObject({ typeflag: '5', mode: 0o700 });
    expect(text(member(members, LONG_NAME).data)).toBe('long');
    expect(member(members, 'far').linkname).toBe(LONG_TARGET);
    expect(member(members, 'big-ids')).toMatchObject({ uid: 3_000_000, gid: 2_097_152 });
    expect(member(members, 'fraction').mtime).toBe(1_700_000_000.123);
    expect(member(members, 'sticky').mode).toBe(0o7755);
    expect(text(member(members, 'caf\u00e9').data)).toBe('utf8 name');
    const xattrs = member(members, 'xattrs').xattrs;
    expect(text(xattrs.get('user.note')!)).toBe('hello');
    expect([...xattrs.get('security.capability')!]).toEqual([1, 0, 0, 2, 0xff, 0, 0xa, 0]);
  });

  it('uses pax records only when ustar cannot hold a field', () => {
    const paxHeaders = parseTarRaw(tar).filter(h => h.typeflag === 'x');
    // long name, long target, big ids, fraction, xattrs, non-ASCII name
    expect(paxHeaders).toHaveLength(6);
    const records = paxHeaders.map(h => h.body).join('');
    expect(records).toContain(`path=${LONG_NAME}\n`);
    expect(records).toContain(`linkpath=${LONG_TARGET}\n`);
    expect(records).toContain(' uid=3000000\n');
    expect(records).toContain(' gid=2097152\n');
    expect(records).toContain(' mtime=1700000000.123\n');
    expect(records).toContain(' SCHILY.xattr.user.note=hello\n');
    expect(records).toContain(' path=caf\u00e9\n');
  });

  it('refuses sockets, which tar cannot archive', () => {
    expect(() => writeTar([{ ...meta, name: 's', kind: 'sock' }])).toThrow(/socket/);
  });
});

/** Each header's typeflag and, for pax headers, the records as text (a minimal independent reader). */
function parseTarRaw(tar: Uint8Array): { typeflag: string; body: string }[] {
  const out: { typeflag: string; body: string }[] = [];
  for (let at = 0; at + 512 <= tar.length; ) {
    const block = tar.subarray(at, at + 512);
    if (block.every(b => b === 0)) break;
    const typeflag = String.fromCharCode(block[156]!);
    const size = parseInt(text(block.subarray(124, 135)), 8);
    const dataSize = '123456'.includes(typeflag) ? 0 : size;
    out.push({ typeflag, body: typeflag === 'x' ? text(tar.subarray(at + 512, at + 512 + size)) : '' });
    at += 512 + Math.ceil(dataSize / 512) * 512;
  }
  return out;
}

describe('writeTar: file data', () => {
  it('writes holes as zeros and extents as their bytes', () => {
    const content = new FileContent();
    content.write(5000, { source: bytesSource(bytes('middle')), at: 0, length: 6 });
    content.truncate(9000);
    const [m] = parseTar(writeTar([{ ...meta, name: 'sparse', kind: 'file', content }]));
    expect(m!.size).toBe(9000);
    expect(Buffer.from(m!.data).equals(Buffer.from(content.read(0, 9000)))).toBe(true);
  });

  it('streams large files in bounded chunks, holes as views of one zero buffer', () => {
    const content = new FileContent();
    content.write(3 << 20, { source: ZERO_SOURCE, at: 0, length: 1 << 20 });
    content.truncate(5 << 20);
    const chunks = [...contentChunks(content)];
    expect(chunks.every(c => c.length <= 1 << 20)).toBe(true);
    expect(chunks.reduce((n, c) => n + c.length, 0)).toBe(5 << 20);
  });

  it('writes a size of 8 GiB or more as a pax record, leaving the ustar field 0', () => {
    const content = new FileContent();
    content.truncate(2 ** 33 + 1);
    const chunks = tarChunks([{ ...meta, name: 'huge', kind: 'file', content }]);
    // only the headers are taken from the generator: the data is never produced
    const [paxHeader, paxBody] = [chunks.next().value!, chunks.next().value!];
    chunks.next(); // padding
    const ustar = chunks.next().value!;
    expect(String.fromCharCode(paxHeader[156]!)).toBe('x');
    expect(text(paxBody)).toBe(`19 size=${2 ** 33 + 1}\n`);
    expect(text(ustar.subarray(124, 136))).toBe('00000000000\0');
  });
});

describe('helpers', () => {
  it('splitDev inverts makedev over the kernel dev_t range (12-bit major, 20-bit minor)', () => {
    for (const [major, minor] of [[0, 0], [1, 3], [8, 17], [300, 70000], [4095, 1048575]] as const) {
      expect(splitDev(makedev(major, minor))).toEqual({ major, minor });
    }
  });

  it('paxTimeText prints decimal seconds that parse back exactly', () => {
    for (const t of [0, 1_700_000_000, 1_700_000_000.001, 0.5, 1e-7, -1.25, 1_234_567_890.123456]) {
      const s = paxTimeText(t);
      expect(s).toMatch(/^-?[0-9]+(\.[0-9]+)?$/);
      expect(parseFloat(s)).toBeCloseTo(t, 9);
    }
    expect(paxTimeText(1_700_000_000.001)).toBe('1700000000.001');
  });
});

describe('writeTar: GNU tar reads it', () => {
  const tarPath = join(scratchDir(), 'sample.tar');
  writeFileSync(tarPath, writeTar(sample));

  it('lists every member with its type, mode, owner and name', () => {
    const listing = gnuTar('--numeric-owner', '-tvf', tarPath).trim().split('\n');
    expect(listing).toHaveLength(sample.length);
    const line = (name: string): string => listing.find(l => l.endsWith(` ${name}`) || l.includes(` ${name} `))!;
    expect(line('etc/shadow')).toMatch(/^-rw-r----- 0\/42 /);
    expect(line('etc/passwd-')).toMatch(/^hrw-r--r-- .* etc\/passwd- link to etc\/passwd$/);
    expect(line('bin')).toMatch(/^lrwxrwxrwx .* bin -> usr\/bin$/);
    expect(line('dev/null')).toMatch(/^crw-rw-rw- 0\/0 +1,3 /);
    expect(line('dev/big')).toMatch(/^brw------- 0\/0 +300,70000 /);
    expect(line('run/fifo')).toMatch(/^prw--w---- /);
    expect(line('big-ids')).toMatch(/^-rw-r--r-- 3000000\/2097152 /);
    expect(line('sticky')).toMatch(/^-rwsr-sr-t /);
    expect(listing.some(l => l.endsWith(` ${LONG_NAME}`))).toBe(true);
    expect(listing.some(l => l.endsWith(` far -> ${LONG_TARGET}`))).toBe(true);
  });

  it('extracts contents, links and xattrs; GNU tar re-archives the same tree', () => {
    const out = scratchDir();
    const noDevices = sample.filter(e => e.kind !== 'chr' && e.kind !== 'blk');
    const path = join(scratchDir(), 'nodev.tar');
    writeFileSync(path, writeTar(noDevices));
    gnuTar('-xpf', path, '-C', out, '--numeric-owner', '--xattrs', '--xattrs-include=*');
    expect(readFileSync(join(out, 'etc/passwd'), 'utf8')).toBe('root:x:0:0::/root:/bin/sh\n');
    expect(lstatSync(join(out, 'etc/passwd-')).ino).toBe(lstatSync(join(out, 'etc/passwd')).ino);
    expect(readlinkSync(join(out, 'far'))).toBe(LONG_TARGET);
    expect(readFileSync(join(out, LONG_NAME), 'utf8')).toBe('long');
    expect(lstatSync(join(out, 'fraction')).mtimeMs).toBeCloseTo(1_700_000_000_123, 0);
    if (process.getuid?.() === 0) {
      expect(lstatSync(join(out, 'big-ids'))).toMatchObject({ uid: 3_000_000, gid: 2_097_152 });
      expect(lstatSync(join(out, 'sticky')).mode & 0o7777).toBe(0o7755);
    }
    // the xattrs are on disk if GNU tar's own archive of the tree carries them
    const again = join(scratchDir(), 'again.tar');
    gnuTar('--xattrs', '--xattrs-include=*', '--format=posix', '-cf', again, '-C', out, 'xattrs');
    const xattrs = member(parseTar(new Uint8Array(readFileSync(again))), 'xattrs').xattrs;
    expect(text(xattrs.get('user.note')!)).toBe('hello');
  });
});
