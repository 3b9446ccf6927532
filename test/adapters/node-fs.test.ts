/**
 * The facade against real node:fs: the same calls on a temp directory of the machine and on a container directory
 * give the same results and errors shaped the same (message, code, errno, syscall, path, dest, own keys); plus the
 * fd, encoding, Stats, Dirent, callback and promise APIs, and recording calls as a replayable trace.
 */
import * as realFs from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { allModels } from '../../models/index.js';
import { createFs, stringToFlags, toTraceLines, type SimFs } from '../../src/adapters/node-fs.js';
import { withNodeFs } from '../../src/adapters/with-node-fs.js';
import { resolveOptions } from '../../src/engine/drivers.js';
import { Host } from '../../src/engine/host.js';
import { loadImageSource } from '../../src/image/resolve.js';
import { TraceRunner } from '../../src/trace/execute.js';
import { parseTrace } from '../../src/trace/parse.js';
import type { TraceOp } from '../../src/trace/schema.js';
import { container, listTree } from './support.js';

const scratch = realFs.mkdtempSync(join(tmpdir(), 'layersim-adapters-fs-'));
afterAll(() => realFs.rmSync(scratch, { recursive: true, force: true }));
let round = 0;
const isRoot = process.getuid?.() === 0;

type AnyFs = typeof realFs | SimFs;

/** The same starting tree on both: a file, an empty dir, a non-empty dir, symlinks. */
function seed(fs: AnyFs, t: string): void {
  fs.mkdirSync(t, { recursive: true });
  fs.writeFileSync(`${t}/file`, 'hello');
  fs.mkdirSync(`${t}/dir`);
  fs.mkdirSync(`${t}/full`);
  fs.writeFileSync(`${t}/full/x`, '1');
  fs.symlinkSync('file', `${t}/link`);
  fs.symlinkSync('missing', `${t}/dangling`);
  fs.symlinkSync('loop2', `${t}/loop1`);
  fs.symlinkSync('loop1', `${t}/loop2`);
}

/** What a thrown error looks like, with the test root written as `T`. */
function shape(f: () => unknown, t: string): unknown {
  try {
    const r = f();
    return { ok: r === undefined ? 'undefined' : typeof r };
  } catch (e) {
    const err = e as Error & Record<string, unknown>;
    const norm = (v: unknown): unknown => (typeof v === 'string' ? v.split(t).join('T') : v);
    const out: Record<string, unknown> = { keys: Object.keys(err).filter(k => k !== 'info').sort() };
    for (const k of ['message', 'code', 'errno', 'syscall', 'path', 'dest']) out[k] = norm(err[k]);
    out['isError'] = err instanceof Error;
    return out;
  }
}

/** Calls whose outcome must be identical; each gets the fs and the test root. */
const CASES: Record<string, (fs: AnyFs, t: string) => unknown> = {
  'readFile missing': (fs, t) => fs.readFileSync(`${t}/missing`),
  'readFile dir': (fs, t) => fs.readFileSync(`${t}/dir`),
  'readFile through a file': (fs, t) => fs.readFileSync(`${t}/file/x`),
  'readFile symlink loop': (fs, t) => fs.readFileSync(`${t}/loop1`),
  'readFile trailing slash on a file': (fs, t) => fs.readFileSync(`${t}/file/`),
  'writeFile dir': (fs, t) => fs.writeFileSync(`${t}/dir`, 'x'),
  'writeFile wx existing': (fs, t) => fs.writeFileSync(`${t}/file`, 'x', { flag: 'wx' }),
  'writeFile in missing dir': (fs, t) => fs.writeFileSync(`${t}/nodir/f`, 'x'),
  'open dir for writing': (fs, t) => fs.openSync(`${t}/dir`, 'r+'),
  'open O_DIRECTORY on a file': (fs, t) => fs.openSync(`${t}/file`, realFs.constants.O_RDONLY | realFs.constants.O_DIRECTORY),
  'mkdir existing file': (fs, t) => fs.mkdirSync(`${t}/file`),
  'mkdir existing dir': (fs, t) => fs.mkdirSync(`${t}/dir`),
  'mkdir under a file': (fs, t) => fs.mkdirSync(`${t}/file/x`),
  'mkdir missing parent': (fs, t) => fs.mkdirSync(`${t}/a/b`),
  'mkdir -p under a file': (fs, t) => fs.mkdirSync(`${t}/file/x/y`, { recursive: true }),
  'mkdir -p existing file': (fs, t) => fs.mkdirSync(`${t}/file`, { recursive: true }),
  'mkdir -p existing dir': (fs, t) => fs.mkdirSync(`${t}/dir`, { recursive: true }),
  'rmdir non-empty': (fs, t) => fs.rmdirSync(`${t}/full`),
  'rmdir file': (fs, t) => fs.rmdirSync(`${t}/file`),
  'rmdir missing': (fs, t) => fs.rmdirSync(`${t}/missing`),
  'unlink dir': (fs, t) => fs.unlinkSync(`${t}/dir`),
  'unlink missing': (fs, t) => fs.unlinkSync(`${t}/missing`),
  'readdir file': (fs, t) => fs.readdirSync(`${t}/file`),
  'readdir missing': (fs, t) => fs.readdirSync(`${t}/missing`),
  'rename missing': (fs, t) => fs.renameSync(`${t}/missing`, `${t}/y`),
  'rename dir over non-empty dir': (fs, t) => fs.renameSync(`${t}/dir`, `${t}/full`),
  'rename dir over file': (fs, t) => fs.renameSync(`${t}/dir`, `${t}/file`),
  'rename file over dir': (fs, t) => fs.renameSync(`${t}/file`, `${t}/dir`),
  'rename dir into itself': (fs, t) => fs.renameSync(`${t}/full`, `${t}/full/sub`),
  'link missing': (fs, t) => fs.linkSync(`${t}/missing`, `${t}/y`),
  'link dir': (fs, t) => fs.linkSync(`${t}/dir`, `${t}/y`),
  'link over existing': (fs, t) => fs.linkSync(`${t}/file`, `${t}/link`),
  'symlink over existing': (fs, t) => fs.symlinkSync('file', `${t}/file`),
  'readlink of a file': (fs, t) => fs.readlinkSync(`${t}/file`),
  'readlink missing': (fs, t) => fs.readlinkSync(`${t}/missing`),
  'stat through a file': (fs, t) => fs.statSync(`${t}/file/x`),
  'stat dangling': (fs, t) => fs.statSync(`${t}/dangling`),
  'stat missing, throwIfNoEntry false': (fs, t) => fs.statSync(`${t}/missing`, { throwIfNoEntry: false }),
  'lstat missing': (fs, t) => fs.lstatSync(`${t}/missing`),
  'rm missing': (fs, t) => fs.rmSync(`${t}/missing`),
  'rm missing, force': (fs, t) => fs.rmSync(`${t}/missing`, { force: true }),
  'rm dir without recursive': (fs, t) => fs.rmSync(`${t}/dir`),
  'realpath missing component': (fs, t) => fs.realpathSync(`${t}/missing/x`),
  'realpath through a file': (fs, t) => fs.realpathSync(`${t}/file/x/y`),
  'realpath of a symlink loop': (fs, t) => fs.realpathSync(`${t}/loop1`),
  'realpath of a dangling link': (fs, t) => fs.realpathSync(`${t}/dangling`),
  'realpath of a link': (fs, t) => fs.realpathSync(`${t}/link`).toString().replace(t, 'T'),
  'access R_OK of a file': (fs, t) => fs.accessSync(`${t}/file`, realFs.constants.R_OK),
  'close without a callback': (fs, t) => fs.close(fs.openSync(`${t}/file`, 'r')),
  'truncate dir': (fs, t) => fs.truncateSync(`${t}/dir`),
  'truncate missing': (fs, t) => fs.truncateSync(`${t}/missing`),
  'copyFile missing': (fs, t) => fs.copyFileSync(`${t}/missing`, `${t}/z`),
  'copyFile excl existing': (fs, t) => fs.copyFileSync(`${t}/file`, `${t}/full/x`, realFs.constants.COPYFILE_EXCL),
  'access missing': (fs, t) => fs.accessSync(`${t}/missing`),
  'chmod missing': (fs, t) => fs.chmodSync(`${t}/missing`, 0o644),
  'chown missing': (fs, t) => fs.chownSync(`${t}/missing`, 0, 0),
  'utimes missing': (fs, t) => fs.utimesSync(`${t}/missing`, 1, 1),
  'close a bad fd': fs => fs.closeSync(987654),
  'fstat a bad fd': fs => fs.fstatSync(987654),
  'read a write-only fd': (fs, t) => {
    const fd = fs.openSync(`${t}/file`, 'a');
    try {
      return fs.readSync(fd, Buffer.alloc(4));
    } finally {
      fs.closeSync(fd);
    }
  },
  'write a read-only fd': (fs, t) => {
    const fd = fs.openSync(`${t}/file`, 'r');
    try {
      return fs.writeSync(fd, 'x');
    } finally {
      fs.closeSync(fd);
    }
  },
  'bad string flag': (fs, t) => fs.openSync(`${t}/file`, 'rw'),
};

describe('errors and results match node:fs', () => {
  it.each(Object.keys(CASES))('%s', name => {
    const real = join(scratch, `r${++round}`);
    seed(realFs, real);
    const { c } = container(allModels[0]!);
    const sim = createFs(c.sys);
    seed(sim, '/t');
    const want = shape(() => CASES[name]!(realFs, real), real);
    const got = shape(() => CASES[name]!(sim, '/t'), '/t');
    expect(got).toEqual(want);
    // and the trees after the call agree
    expect(listTree(sim as never, '/t')).toEqual(normalizeOwners(listTree(realFs, real)));
  });
});

/** Files the real test made are owned by whoever runs the tests; the container's by root. */
function normalizeOwners<T extends Record<string, { uid: number; gid: number }>>(tree: T): T {
  if (!isRoot) for (const e of Object.values(tree)) Object.assign(e, { uid: 0, gid: 0 });
  return tree;
}

describe('the facade', () => {
  let fs: SimFs;
  let host: Host;
  beforeEach(() => {
    const made = container(allModels.find(m => m.name === 'overlay2')!);
    host = made.host;
    fs = createFs(made.c.sys, { now: () => host.clock.now() });
  });

  it('maps string flags as Node does', () => {
    const k = realFs.constants;
    expect(stringToFlags('r')).toBe(k.O_RDONLY);
    expect(stringToFlags('r+')).toBe(k.O_RDWR);
    expect(stringToFlags('w')).toBe(k.O_TRUNC | k.O_CREAT | k.O_WRONLY);
    expect(stringToFlags('wx')).toBe(k.O_TRUNC | k.O_CREAT | k.O_WRONLY | k.O_EXCL);
    expect(stringToFlags('a+')).toBe(k.O_APPEND | k.O_CREAT | k.O_RDWR);
    expect(stringToFlags('as')).toBe(k.O_APPEND | k.O_CREAT | k.O_WRONLY | k.O_SYNC);
    expect(() => stringToFlags('rw')).toThrow(TypeError);
  });

  it('reads and writes through numeric fds with positions, appends and encodings', () => {
    const fd = fs.openSync('/f', 'w+', 0o640);
    expect(fd).toBe(3);
    expect(fs.writeSync(fd, 'héllo')).toBe(6);
    expect(fs.writeSync(fd, Buffer.from('XY'), 0, 2, 1)).toBe(2);
    const buf = Buffer.alloc(10);
    expect(fs.readSync(fd, buf, 0, 10, 0)).toBe(6);
    // 'héllo' is 6 bytes (é is two); 'XY' overwrote bytes 1 and 2
    expect(buf.subarray(0, 6).toString()).toBe('hXYllo');
    expect(fs.readSync(fd, buf, { offset: 0, length: 4, position: null })).toBe(0);
    fs.ftruncateSync(fd, 2);
    expect(fs.fstatSync(fd).size).toBe(2);
    expect(fs.fstatSync(fd).mode).toBe(0o100640);
    fs.fsyncSync(fd);
    fs.closeSync(fd);
    expect(() => fs.closeSync(fd)).toThrow(/EBADF: bad file descriptor, close/);
    fs.appendFileSync('/f', Buffer.from('!!'));
    expect(fs.readFileSync('/f', 'latin1')).toBe('hX!!');
    fs.writeFileSync('/f', 'aGVsbG8=', 'base64');
    expect(fs.readFileSync('/f', { encoding: 'utf8' })).toBe('hello');
    expect(fs.readFileSync('/f', 'hex')).toBe('68656c6c6f');
    const fd2 = fs.openSync('/f', 'a');
    fs.writeSync(fd2, ' world', 0);
    fs.closeSync(fd2);
    expect(fs.readFileSync('/f', 'utf8')).toBe('hello world');
    expect(fs.openFds()).toEqual([]);
  });

  it('answers Stats and Dirents as Node shapes them', () => {
    fs.mkdirSync('/d/sub', { recursive: true });
    fs.writeFileSync('/d/f', 'abc', { mode: 0o600 });
    fs.symlinkSync('f', '/d/l');
    fs.linkSync('/d/f', '/d/h');
    const st = fs.statSync('/d/f')!;
    expect(st.isFile() && !st.isDirectory() && !st.isSymbolicLink()).toBe(true);
    expect(st.mode).toBe(0o100600);
    expect(st.size).toBe(3);
    expect(st.nlink).toBe(2);
    expect(st.mtime).toBeInstanceOf(Date);
    expect(st.mtime.getTime()).toBe(st.mtimeMs);
    expect(fs.statSync('/d/h')!.ino).toBe(st.ino);
    expect(fs.lstatSync('/d/l')!.isSymbolicLink()).toBe(true);
    expect(fs.lstatSync('/d/l')!.mode & 0o170000).toBe(0o120000);
    expect(fs.statSync('/d')!.isDirectory()).toBe(true);
    expect(fs.statSync('/dev/null', { throwIfNoEntry: false })?.isCharacterDevice() ?? true).toBe(true);
    const ents = fs.readdirSync('/d', { withFileTypes: true }) as InstanceType<typeof fs.Dirent>[];
    expect(ents.map(e => [e.name, e.isFile(), e.isDirectory(), e.isSymbolicLink(), e.parentPath]).sort()).toEqual([
      ['f', true, false, false, '/d'],
      ['h', true, false, false, '/d'],
      ['l', false, false, true, '/d'],
      ['sub', false, true, false, '/d'],
    ]);
    expect((fs.readdirSync('/d', { recursive: true }) as string[]).sort()).toEqual(['f', 'h', 'l', 'sub']);
    expect(fs.readdirSync('/d', 'buffer')[0]).toBeInstanceOf(Buffer);
    expect(fs.realpathSync('/d/l')).toBe('/d/f');
    expect(fs.realpathSync('/d/sub/../l')).toBe('/d/f');
    expect(fs.readlinkSync('/d/l', 'buffer')).toEqual(Buffer.from('f'));
  });

  it('mkdir -p returns the first directory made; rm -r removes a tree; copyFile keeps the mode', () => {
    expect(fs.mkdirSync('/m/a/b', { recursive: true })).toBe('/m');
    expect(fs.mkdirSync('/m/a/b', { recursive: true })).toBeUndefined();
    expect(fs.mkdirSync('/m/a/c', { recursive: true })).toBe('/m/a/c');
    fs.writeFileSync('/m/a/b/f', 'x', { mode: 0o751 });
    fs.chmodSync('/m/a/b/f', 0o751);
    fs.copyFileSync('/m/a/b/f', '/m/copy');
    expect(fs.statSync('/m/copy')!.mode & 0o777).toBe(0o751);
    expect(fs.readFileSync('/m/copy', 'utf8')).toBe('x');
    fs.rmSync('/m/a', { recursive: true });
    expect(fs.readdirSync('/m')).toEqual(['copy']);
    fs.rmSync('/m', { recursive: true, force: true });
    expect(fs.existsSync('/m')).toBe(false);
    expect(fs.mkdtempSync('/tmp-')).toMatch(/^\/tmp-[A-Za-z0-9]{6}$/);
  });

  it('follows the container: relative paths from cwd, permissions for the current credentials', () => {
    const rel = createFs(fs.sys, { cwd: '/etc' });
    expect(rel.readFileSync('hostname', 'utf8')).toBe(fs.readFileSync('/etc/hostname', 'utf8'));
    fs.writeFileSync('/secret', 'x', { mode: 0o600 });
    fs.sys.creds = { uid: 1000, gid: 1000, groups: [1000] };
    try {
      expect(() => fs.readFileSync('/secret')).toThrow(/EACCES: permission denied, open '\/secret'/);
      expect(() => fs.accessSync('/secret', realFs.constants.R_OK)).toThrow(/EACCES: permission denied, access/);
      expect(() => fs.accessSync('/secret')).not.toThrow();
      expect(() => fs.chownSync('/secret', 1000, 1000)).toThrow(/EPERM/);
    } finally {
      fs.sys.creds = { uid: 0, gid: 0, groups: [0] };
    }
  });

  it('has a callback API that calls back later, and fs.promises', async () => {
    let called = false;
    const done = new Promise<void>((resolve, reject) =>
      fs.writeFile('/cb', 'data', err => {
        called = true;
        if (err) return reject(err);
        fs.readFile('/cb', 'utf8', (err2, text) => (err2 ? reject(err2) : text === 'data' ? resolve() : reject(new Error(String(text)))));
      }),
    );
    expect(called).toBe(false);
    await done;
    const err = await new Promise<Error | null>(resolve => fs.stat('/missing', e => resolve(e)));
    expect(err).toMatchObject({ code: 'ENOENT', syscall: 'stat', path: '/missing', errno: -2 });
    expect(await new Promise(resolve => fs.exists('/cb', resolve))).toBe(true);
    const p = fs.promises;
    await p.mkdir('/pr/a', { recursive: true });
    await p.writeFile('/pr/a/f', 'promised');
    expect(await p.readFile('/pr/a/f', 'utf8')).toBe('promised');
    expect((await p.lstat('/pr/a/f'))!.size).toBe(8);
    await expect(p.readFile('/pr/nope')).rejects.toMatchObject({ code: 'ENOENT', syscall: 'open' });
    const h = await p.open('/pr/a/f', 'r+');
    const { bytesRead, buffer } = await h.read(Buffer.alloc(3), 0, 3, 0);
    expect(bytesRead).toBe(3);
    expect(Buffer.from(buffer.buffer, buffer.byteOffset, 3).toString()).toBe('pro');
    await h.write('P', 0, undefined, 0);
    await h.close();
    expect(await p.readFile('/pr/a/f', 'utf8')).toBe('Promised');
    await p.rm('/pr', { recursive: true });
    expect(fs.existsSync('/pr')).toBe(false);
    expect(Object.getOwnPropertyDescriptor(fs, 'promises')?.enumerable).toBe(true);
  });

  it('has read and write streams', async () => {
    const ws = fs.createWriteStream('/s/out', { flags: 'w' });
    await expect(new Promise((resolve, reject) => ws.on('error', reject).on('open', resolve))).rejects.toMatchObject({ code: 'ENOENT', syscall: 'open', path: '/s/out' });
    fs.mkdirSync('/s');
    const body = Buffer.from('0123456789'.repeat(10_000));
    await pipeline(Readable.from([body.subarray(0, 50_000), body.subarray(50_000)]), fs.createWriteStream('/s/out'));
    expect(fs.readFileSync('/s/out').equals(body)).toBe(true);
    await pipeline(fs.createReadStream('/s/out', { highWaterMark: 4096 }), fs.createWriteStream('/s/copy', { mode: 0o600 }));
    expect(fs.readFileSync('/s/copy').equals(body)).toBe(true);
    expect(fs.statSync('/s/copy').mode & 0o777).toBe(0o600);
    const parts: string[] = [];
    for await (const chunk of fs.createReadStream('/s/out', { start: 5, end: 14, encoding: 'utf8' })) parts.push(chunk as string);
    expect(parts.join('')).toBe('5678901234');
    const rs = fs.createReadStream('/s/missing');
    await expect(new Promise((resolve, reject) => rs.on('error', reject).on('open', resolve))).rejects.toMatchObject({ code: 'ENOENT', errno: -2 });
    expect(fs.openFds()).toEqual([]);
  });

  it('lends its functions to node:fs for one synchronous call only', () => {
    const seen = withNodeFs(fs, () => {
      realFs.writeFileSync('/inside', 'from node:fs');
      return realFs.readdirSync('/').includes('inside');
    });
    expect(seen).toBe(true);
    expect(realFs.existsSync('/inside')).toBe(false);
    expect(fs.readFileSync('/inside', 'utf8')).toBe('from node:fs');
    expect(() => withNodeFs(fs, () => Promise.resolve(1))).toThrow(/synchronous/);
    expect(() =>
      withNodeFs(fs, () => {
        throw new Error('boom');
      }),
    ).toThrow('boom');
    expect(realFs.existsSync(scratch)).toBe(true);
  });
});

describe.each(allModels.map(m => [m.name, m] as const))('recorded calls replay as a trace on %s', (_name, model) => {
  it('gives the same tree and the same outcomes', () => {
    const { host, c } = container(model);
    const record: TraceOp[] = [];
    const fs = createFs(c.sys, { record, now: () => host.clock.now() });
    fs.mkdirSync('/w/a/b', { recursive: true });
    fs.writeFileSync('/w/a/b/f', 'text\n');
    fs.appendFileSync('/w/a/b/f', 'more\n');
    fs.writeFileSync('/w/zeros', Buffer.alloc(10_000));
    fs.symlinkSync('a/b/f', '/w/l');
    fs.linkSync('/w/a/b/f', '/w/h');
    fs.renameSync('/w/a/b', '/w/a/c');
    fs.chmodSync('/w/h', 0o600);
    fs.utimesSync('/w/h', 1000, 2000);
    fs.truncateSync('/w/zeros', 5000);
    expect(() => fs.unlinkSync('/w/nothing')).toThrow(/ENOENT/);
    fs.rmSync('/w/l');
    fs.readFileSync('/w/h');
    fs.copyFileSync('/w/h', '/w/copy');
    // replay the JSON Lines on a new host of the same model
    const text = '{"op":"image","name":"img","from":"builtin:busybox"}\n{"op":"run","container":"c","image":"img"}\n' + toTraceLines(record);
    const replay = new Host(model, resolveOptions(model, {}));
    const runner = new TraceRunner(replay, '<recorded>', from => loadImageSource(from));
    runner.runAll(parseTrace(text));
    expect(runner.results.filter(r => r.held === false)).toEqual([]);
    expect(runner.results.find(r => r.op === 'unlink')?.outcome).toBe('ENOENT');
    const again = createFs(replay.container('c').sys);
    expect(listTree(again as never, '/w', { mtime: true })).toEqual(listTree(fs as never, '/w', { mtime: true }));
  });
});
