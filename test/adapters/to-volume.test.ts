/**
 * toVolume: a memfs Volume of a container's merged view (whiteouts hidden, copied-up files as changed), on every
 * model; its `toJSON()` lists exactly the container's files with their bytes, and fromVolume writes it back.
 */
import { randomBytes } from 'node:crypto';
import type { Volume } from 'memfs';
import { describe, expect, it } from 'vitest';
import { allModels } from '../../models/index.js';
import { createFs, type SimFs } from '../../src/adapters/node-fs.js';
import { fromVolume, toVolume } from '../../src/adapters/to-volume.js';
import type { TraceOp } from '../../src/trace/schema.js';
import { container, hash, listTree } from './support.js';

type Vol = InstanceType<typeof Volume>;

/** What memfs's toJSON (as buffers) should hold for the container: every file's bytes, empty directories as null. */
function expectedJson(fs: SimFs, root = '/'): Record<string, string | null> {
  const out: Record<string, string | null> = {};
  const walk = (dir: string): void => {
    const names = fs.readdirSync(dir) as string[];
    if (names.length === 0 && dir !== root) out[dir] = null;
    for (const n of names) {
      const p = dir === '/' ? `/${n}` : `${dir}/${n}`;
      const st = fs.lstatSync(p)!;
      if (st.isDirectory()) walk(p);
      else if (st.isFile()) out[p] = hash(fs.readFileSync(p) as Buffer);
    }
  };
  walk(root);
  return out;
}

function change(fs: SimFs): void {
  // changes over the image's layers: a rewrite, a chmod (metadata copy-up), deletions (whiteouts), a renamed file
  fs.writeFileSync('/etc/hostname', 'sim\n');
  fs.chmodSync('/bin/busybox', 0o700);
  fs.unlinkSync('/bin/ls');
  fs.rmSync('/usr/sbin', { recursive: true });
  fs.mkdirSync('/data/empty', { recursive: true, mode: 0o750 });
  fs.writeFileSync('/data/bin', randomBytes(5000));
  fs.writeFileSync('/data/text', 'text', { mode: 0o604 });
  fs.linkSync('/data/text', '/data/text-hard');
  fs.symlinkSync('../etc/hostname', '/data/link');
  fs.renameSync('/data/bin', '/data/bin2');
  // memfs checks permissions with no exception for root: keep what it must read readable by others
  fs.chownSync('/data/text', 1000, 100);
  fs.writeFileSync('/data/private', 'root only', { mode: 0o600 });
  fs.chownSync('/data/private', 1000, 100);
  fs.utimesSync('/data/text', 1_600_000_000, 1_600_000_000);
}

describe.each(allModels.map(m => [m.name, m] as const))('toVolume on %s', (_name, model) => {
  it('holds the merged view: toJSON equals the container files, and links, modes, owners, times', () => {
    const { host, c } = container(model);
    const fs = createFs(c.sys, { now: () => host.clock.now() });
    change(fs);
    const skipped: string[] = [];
    const vol: Vol = toVolume(c.sys, { skipped });
    // (bytes compared by hash: a deep equality over the 2.5 MB busybox binary is slow)
    const json = Object.fromEntries(Object.entries(vol.toJSON(undefined, undefined, false, true)).map(([k, v]) => [k, v === null ? null : hash(v as unknown as Buffer)]));
    expect(json).toEqual(expectedJson(fs));
    // every entry but the device nodes, with type, mode, owner, mtime, symlink target and hard links (memfs would
    // refuse root a 0600 file of uid 1000's: both sides open it up first)
    expect(vol.statSync('/data/private')).toMatchObject({ mode: 0o100600, uid: 1000, gid: 100 });
    const { atime, mtime } = vol.statSync('/data/private');
    vol.chmodSync('/data/private', 0o644);
    vol.utimesSync('/data/private', atime, mtime); // memfs's chmod changes mtime too
    fs.chmodSync('/data/private', 0o644);
    const want = listTree(fs as never, '/', { mtime: true });
    for (const p of skipped) delete want[p.slice(1)];
    expect(listTree(vol as never, '/', { mtime: true })).toEqual(want);
    expect(vol.existsSync('/bin/ls')).toBe(false);
    expect(vol.existsSync('/usr/sbin')).toBe(false);
    expect(vol.readlinkSync('/data/link')).toBe('../etc/hostname');
    expect(vol.statSync('/data/text').ino).toBe(vol.statSync('/data/text-hard').ino);
    for (const p of skipped) expect(['chr', 'blk', 'fifo', 'sock']).toContain(c.sys.stat(p, false).kind);
  });

  it('reads as root without changing atimes, and copies a subtree', () => {
    const { c } = container(model);
    const fs = createFs(c.sys);
    change(fs);
    const atime = fs.statSync('/data/text')!.atimeMs;
    fs.chmodSync('/data', 0o700);
    c.sys.creds = { uid: 1000, gid: 1000, groups: [1000] };
    expect(() => fs.readdirSync('/data')).toThrow(/EACCES/);
    const vol = toVolume(c.sys, { root: '/data' });
    expect(c.sys.creds.uid).toBe(1000);
    c.sys.creds = { uid: 0, gid: 0, groups: [0] };
    expect(vol.readFileSync('/text', 'utf8')).toBe('text');
    expect(vol.statSync('/').mode & 0o777).toBe(0o700);
    expect(fs.statSync('/data/text')!.atimeMs).toBe(atime);
    // memfs checks permissions with no exception for root: a file of another user's with mode 0600 stays unreadable
    expect(() => vol.readFileSync('/private')).toThrow(/EACCES/);
    vol.chmodSync('/private', 0o644);
    expect(Object.keys(vol.toJSON()).sort()).toEqual(['/bin2', '/empty', '/private', '/text', '/text-hard']);
  });

  it('fromVolume writes a memfs tree into a container, through its system calls', () => {
    const { host, c } = container(model);
    const fs = createFs(c.sys);
    change(fs);
    const vol = toVolume(c.sys, { root: '/data' });
    const { host: host2, c: c2 } = container(model);
    const record: TraceOp[] = [];
    host2.meter.reset();
    fromVolume(vol, c2.sys, { to: '/copy', record });
    expect(host2.meter.dataBytes).toBeGreaterThanOrEqual(5000 + 4);
    expect(record.some(o => o.op === 'link')).toBe(true);
    const fs2 = createFs(c2.sys);
    expect(listTree(fs2 as never, '/copy', { mtime: true })).toEqual(listTree(fs as never, '/data', { mtime: true }));
    void host;
  });
});
