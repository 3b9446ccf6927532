import { execFileSync } from 'node:child_process';
import { lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { allModels } from '../../models/index.js';
import { bytesSource, FileContent, randomSource, ZERO_SOURCE } from '../../src/fs/content.js';
import type { FileKind, Inode } from '../../src/fs/inode.js';
import { Volume, type VolumeEntryJSON } from '../../src/fs/volume.js';
import { resolveOptions } from '../../src/engine/drivers.js';
import { Host } from '../../src/engine/host.js';
import { exportTree, exportTreeEntries, exportVolume } from '../../src/image/export.js';
import { kindOf } from '../../src/image/directory.js';
import { loadImageSource } from '../../src/image/resolve.js';
import { makedev, parseTar, readRootfsTar } from '../../src/image/tar.js';
import { writeTar } from '../../src/image/tar-write.js';
import { O_CREAT, O_TRUNC, O_WRONLY, type Stat, type Syscalls } from '../../src/vfs/syscalls.js';

const scratch = mkdtempSync(join(tmpdir(), 'layersim-export-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));
let scratchCount = 0;

const bytes = (s: string): Uint8Array => new TextEncoder().encode(s);
const isRoot = process.getuid?.() === 0;
const LONG_DIR = 'd'.repeat(60);
const LONG_FILE = `${'n'.repeat(120)}.txt`;
const LONG_COMPONENT = 'c'.repeat(200);
const LONG_TARGET = `/${'t'.repeat(150)}`;

// ---------------------------------------------------------------------------------------------------------------
// a Volume with every entry type

const own = { mode: 0o644, uid: 0, gid: 0 } as const;

function mkdir(v: Volume, parent: Inode, name: string, mode = 0o755): Inode {
  return v.createChild(parent, name, 'dir', { mode, uid: 0, gid: 0 });
}

function everyEntryType(): Volume {
  const v = new Volume();
  const etc = mkdir(v, v.root, 'etc');
  const passwd = v.createChild(etc, 'passwd', 'file', { ...own, content: FileContent.fromBytes(bytes('root:x:0:0::/root:/bin/sh\n')) });
  v.addEntry(etc, 'passwd-', passwd);
  v.createChild(etc, '.wh.x', 'file', { ...own, mode: 0 });
  const opt = mkdir(v, v.root, 'opt', 0o700);
  v.createChild(opt, '.wh..wh..opq', 'file', { ...own, mode: 0 });

  const data = mkdir(v, v.root, 'data');
  const holes = new FileContent();
  holes.write(0, { source: bytesSource(bytes('head')), at: 0, length: 4 });
  holes.write(1 << 16, { source: randomSource(7), at: 0, length: 10_000 });
  holes.truncate(200_000);
  const sparse = v.createChild(data, 'sparse', 'file', { mode: 0o600, uid: 1000, gid: 1000, content: holes });
  v.setXattr(sparse, 'user.note', bytes('a note'));
  v.setXattr(sparse, 'security.capability', Uint8Array.of(1, 0, 0, 2, 0x20, 0, 0, 0, 0, 0, 0, 0));
  v.addEntry(v.root, 'sparse-hard', sparse);
  v.createChild(data, 'zeros', 'file', { ...own, content: FileContent.fromSlice({ source: ZERO_SOURCE, at: 0, length: 1 << 20 }) });
  v.createChild(data, 'empty', 'file', { ...own, mode: 0o4755 });
  v.createChild(data, 'big-ids', 'file', { mode: 0o640, uid: 3_000_000, gid: 2_500_000, content: FileContent.fromBytes(bytes('ids')) });
  v.setXattr(data, 'trusted.dir', bytes('y'));

  v.createChild(v.root, 'bin', 'symlink', { mode: 0o777, uid: 0, gid: 0, target: 'usr/bin' });
  v.createChild(v.root, 'far', 'symlink', { mode: 0o777, uid: 0, gid: 0, target: LONG_TARGET });
  const dev = mkdir(v, v.root, 'dev');
  v.createChild(dev, 'null', 'chr', { mode: 0o666, uid: 0, gid: 0, rdev: makedev(1, 3) });
  v.createChild(dev, 'sda', 'blk', { mode: 0o660, uid: 0, gid: 6, rdev: makedev(8, 0) });
  v.createChild(dev, 'fifo', 'fifo', { mode: 0o620, uid: 0, gid: 5 });
  v.createChild(dev, 'log', 'sock', { mode: 0o666, uid: 0, gid: 0 });

  const deep = mkdir(v, v.root, 'deep');
  const longDir = mkdir(v, deep, LONG_DIR, 0o750);
  v.createChild(longDir, LONG_FILE, 'file', { ...own, content: FileContent.fromBytes(bytes('long')) });
  v.createChild(deep, LONG_COMPONENT, 'file', { ...own, content: FileContent.fromBytes(bytes('longer')) });
  mkdir(v, v.root, 'tmp', 0o1777);
  return v;
}

/** The tree as toJSON shows it, with inode numbers replaced by the first path of each inode (the link grouping). */
function shape(v: Volume): Omit<VolumeEntryJSON, 'ino'>[] {
  const firstPath = new Map<number, string>();
  return v.toJSON().map(({ ino, ...rest }) => {
    if (!firstPath.has(ino)) firstPath.set(ino, rest.path);
    return { ...rest, linkGroup: firstPath.get(ino) };
  });
}

function withoutSockets(v: Volume): Volume {
  const dev = v.at('dev')!;
  if (dev.entries!.has('log')) v.removeEntry(dev, 'log');
  return v;
}

describe('exportVolume: round trip through readRootfsTar', () => {
  const source = everyEntryType();
  const tar = exportVolume(source);
  const back = readRootfsTar(tar);

  it('gives back the same tree: types, modes, owners, sizes, targets, devices, xattrs, link counts and grouping', () => {
    expect(shape(back)).toEqual(shape(withoutSockets(everyEntryType())));
  });

  it('gives back the same bytes and mtimes', () => {
    for (const [path, inode] of source.walk()) {
      if (inode.kind === 'sock') continue;
      const copy = back.at(path)!;
      expect(copy.mtime, path).toBe(inode.mtime);
      if (inode.kind === 'file') {
        expect(Buffer.from(copy.content!.read(0, copy.content!.size)).equals(Buffer.from(inode.content!.read(0, inode.content!.size))), path).toBe(true);
      }
    }
  });

  it('writes names as Docker does: no ./ prefix, directories with a trailing slash, parents first, names sorted bytewise', () => {
    const names = parseTar(tar).map(m => m.name);
    expect(names.slice(0, 4)).toEqual(['bin', 'data/', 'data/big-ids', 'data/empty']);
    expect(names).toContain('etc/.wh.x');
    expect(names).toContain('opt/.wh..wh..opq');
    expect(names.some(n => n.startsWith('./') || n.startsWith('/'))).toBe(false);
    expect(names).not.toContain('dev/log');
    expect(names.indexOf('deep/')).toBeLessThan(names.indexOf(`deep/${LONG_COMPONENT}`));
  });

  it('writes each inode once, its other names as hard links to the first', () => {
    const members = parseTar(tar);
    const links = members.filter(m => m.typeflag === '1').map(m => [m.name, m.linkname]);
    expect(links).toEqual([
      ['etc/passwd-', 'etc/passwd'],
      ['sparse-hard', 'data/sparse'],
    ]);
  });

  it('is deterministic', () => {
    expect(Buffer.compare(exportVolume(everyEntryType()), tar)).toBe(0);
  });

  it('truncates mtimes to seconds on request, as Docker does', () => {
    const v = new Volume();
    v.createChild(v.root, 'f', 'file', own);
    v.at('f')!.mtime = 1_700_000_000.75;
    expect(parseTar(exportVolume(v, { mtime: 'seconds' }))[0]!.mtime).toBe(1_700_000_000);
    expect(parseTar(exportVolume(v))[0]!.mtime).toBe(1_700_000_000.75);
  });
});

// ---------------------------------------------------------------------------------------------------------------
// docker export of a container, extracted by GNU tar

/** An image layer with a hard-linked file, so a container can break the link (overlayfs copy-up without index). */
function hardLinkLayer(): Volume {
  const v = new Volume();
  const hl = mkdir(v, v.root, 'hl');
  const a = v.createChild(hl, 'a', 'file', { ...own, content: FileContent.fromBytes(bytes('linked')) });
  v.addEntry(hl, 'b', a);
  v.addEntry(hl, 'c', a);
  const keep = v.createChild(hl, 'keep', 'file', { ...own, content: FileContent.fromBytes(bytes('kept')) });
  v.addEntry(v.root, 'keep-too', keep);
  return v;
}

function writeFile(sys: Syscalls<object>, path: string, data: Uint8Array, offset = 0, mode = 0o644): void {
  const file = sys.open(path, O_WRONLY | O_CREAT | (offset === 0 ? O_TRUNC : 0), mode);
  sys.write(file, { source: { kind: 'bytes', bytes: data }, at: 0, length: data.length }, offset);
  sys.close(file);
}

/** A container's changes of every kind: new and modified files, holes, links, devices, removals, renames, owners. */
function changeThings(sys: Syscalls<object>): void {
  writeFile(sys, '/data1', bytes('hello, world\n'));
  writeFile(sys, '/holey', bytes('tail'), 1 << 16);
  sys.chown('/data1', 3_000_000, 3_000_001);
  sys.setxattr('/data1', 'user.note', bytes('hi'));
  sys.link('/data1', '/data1-hard');
  sys.mkdir('/newdir', 0o750);
  sys.chown('/newdir', 1000, 1000);
  sys.link('/data1', '/newdir/data1-hard2');
  writeFile(sys, '/bin/busybox', bytes('XX'), 100);
  sys.chmod('/bin/busybox', 0o4755);
  sys.link('/bin/busybox', '/bin/bb-hard');
  sys.unlink('/bin/ls');
  sys.rename('/bin/cat', '/bin/cat2');
  for (const name of sys.readdir('/usr/sbin')) sys.unlink(`/usr/sbin/${name}`);
  sys.rmdir('/usr/sbin');
  sys.mkdir('/usr/sbin');
  writeFile(sys, '/usr/sbin/only', bytes('only'));
  sys.symlink(LONG_TARGET, '/longlink');
  sys.mkdir('/deep');
  sys.mkdir(`/deep/${LONG_DIR}`);
  writeFile(sys, `/deep/${LONG_DIR}/${LONG_FILE}`, bytes('long'));
  sys.chmod('/hl/a', 0o600);
  sys.unlink('/hl/c');
  sys.mkdir('/run');
  sys.mknod('/run/fifo', 'fifo', 0o644);
  if (isRoot) {
    sys.mknod('/run/null', 'chr', 0o666, makedev(1, 3));
    sys.mknod('/run/sda', 'blk', 0o600, makedev(8, 1));
  }
}

/** What the comparison looks at, for one path, from either side. */
interface Seen {
  kind: FileKind;
  mode: number;
  uid: number;
  gid: number;
  size?: number;
  rdev?: number;
  target?: string;
  mtimeMs?: number;
}


/** Hard-link groups of two or more names, each sorted, the groups sorted. */
function linkGroups(byKey: Map<number, string[]>): string[][] {
  return [...byKey.values()]
    .filter(g => g.length > 1)
    .map(g => g.sort())
    .sort((a, b) => a[0]!.localeCompare(b[0]!));
}

function seenOnDisk(root: string): { seen: Map<string, Seen>; groups: string[][] } {
  const seen = new Map<string, Seen>();
  const byIno = new Map<number, string[]>();
  const walk = (rel: string): void => {
    for (const name of readdirSync(join(root, rel))) {
      const path = `${rel}/${name}`;
      const st = lstatSync(join(root, path));
      const kind = kindOf(st);
      seen.set(path, {
        kind,
        mode: kind === 'symlink' ? 0o777 : st.mode & 0o7777,
        uid: st.uid,
        gid: st.gid,
        size: kind === 'file' || kind === 'symlink' ? st.size : undefined,
        rdev: kind === 'chr' || kind === 'blk' ? st.rdev : undefined,
        target: kind === 'symlink' ? readlinkSync(join(root, path)) : undefined,
        mtimeMs: kind === 'symlink' || kind === 'dir' ? undefined : st.mtimeMs,
      });
      if (kind !== 'dir' && st.nlink > 1) byIno.set(st.ino, [...(byIno.get(st.ino) ?? []), path]);
      if (kind === 'dir') walk(path);
    }
  };
  walk('');
  return { seen, groups: linkGroups(byIno) };
}

function seenInView(sys: Syscalls<object>): { seen: Map<string, Seen>; groups: string[][] } {
  const seen = new Map<string, Seen>();
  const byIno = new Map<number, string[]>();
  const walk = (rel: string): void => {
    for (const name of sys.readdir(rel === '' ? '/' : rel)) {
      const path = `${rel}/${name}`;
      const st: Stat = sys.stat(path, false);
      if (st.kind === 'sock') continue;
      seen.set(path, {
        kind: st.kind,
        mode: st.kind === 'symlink' ? 0o777 : st.mode & 0o7777,
        uid: st.uid,
        gid: st.gid,
        size: st.kind === 'file' || st.kind === 'symlink' ? st.size : undefined,
        rdev: st.kind === 'chr' || st.kind === 'blk' ? st.rdev : undefined,
        target: st.kind === 'symlink' ? sys.readlink(path) : undefined,
        mtimeMs: st.kind === 'symlink' || st.kind === 'dir' ? undefined : st.mtime * 1000,
      });
      if (st.kind !== 'dir' && st.nlink > 1) byIno.set(st.ino, [...(byIno.get(st.ino) ?? []), path]);
      if (st.kind === 'dir') walk(path);
    }
  };
  walk('');
  return { seen, groups: linkGroups(byIno) };
}

describe.each(allModels.map(m => [m.name, m] as const))('exportTree on %s: GNU tar extracts the container view', (_name, model) => {
  const host = new Host(model, resolveOptions(model, {}));
  host.loadImage('img', [...loadImageSource('builtin:busybox'), hardLinkLayer()]);
  const c = host.run('c', 'img');
  changeThings(c.sys);
  const tar = exportTree(c.sys.mount);
  const tarPath = join(scratch, `${String(scratchCount++)}.tar`);
  writeFileSync(tarPath, tar);
  const out = join(scratch, String(scratchCount++));
  mkdirSync(out);
  execFileSync('tar', ['-xpf', tarPath, '-C', out, '--numeric-owner'], { stdio: ['ignore', 'pipe', 'pipe'] });
  const disk = seenOnDisk(out);
  const view = seenInView(c.sys);

  it('extracts exactly the paths of the view', () => {
    expect([...disk.seen.keys()].sort()).toEqual([...view.seen.keys()].sort());
    expect(disk.seen.has('/bin/ls')).toBe(false);
    expect(disk.seen.has('/bin/cat2')).toBe(true);
    expect([...disk.seen.keys()].filter(p => p.startsWith('/usr/sbin/'))).toEqual(['/usr/sbin/only']);
  });

  it('with the same type, mode, owner, size, device number, symlink target and mtime', () => {
    for (const [path, want] of view.seen) {
      const got = disk.seen.get(path)!;
      const { mtimeMs, ...rest } = want;
      const { mtimeMs: gotMtimeMs, ...gotRest } = got;
      if (!isRoot) {
        // an unprivileged tar cannot give files away, nor keep set-id bits on them
        rest.uid = gotRest.uid;
        rest.gid = gotRest.gid;
        rest.mode &= 0o1777;
        gotRest.mode &= 0o1777;
      }
      expect(gotRest, path).toEqual(rest);
      if (mtimeMs !== undefined) expect(Math.abs(gotMtimeMs! - mtimeMs), path).toBeLessThan(1);
    }
  });

  it('with the same bytes in every regular file', () => {
    for (const [path, want] of view.seen) {
      if (want.kind !== 'file') continue;
      expect(readFileSync(join(out, path)).equals(Buffer.from(c.sys.readFile(path))), path).toBe(true);
    }
  });

  it('with the same hard-link grouping', () => {
    expect(disk.groups).toEqual(view.groups);
    const groups = disk.groups.map(g => g.join(' '));
    expect(groups).toContain('/data1 /data1-hard /newdir/data1-hard2');
    expect(groups).toContain('/bin/bb-hard /bin/busybox');
    expect(groups).toContain('/hl/keep /keep-too');
  });

  it("shows none of the driver's own structures: no whiteouts, no overlay xattrs, no pseudo-link directories", () => {
    const members = parseTar(tar);
    expect(members.some(m => m.name.split('/').some(part => part.startsWith('.wh.')))).toBe(false);
    expect(members.some(m => [...m.xattrs.keys()].some(k => k.startsWith('trusted.overlay.')))).toBe(false);
    const data1 = members.find(m => m.name === 'data1')!;
    expect(Buffer.from(data1.xattrs.get('user.note')!).toString()).toBe('hi');
    expect(data1).toMatchObject({ uid: 3_000_000, gid: 3_000_001 });
  });

  it('reads back as the same tree', () => {
    const back = readRootfsTar(tar);
    const entries = [...exportTreeEntries(c.sys.mount)];
    expect(back.toJSON().length - 1).toBe(entries.length);
    expect(Buffer.compare(writeTar(entries), tar)).toBe(0);
  });
});
