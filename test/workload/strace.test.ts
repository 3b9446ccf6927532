import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseTrace } from '../../src/trace/parse.js';
import { toJsonl } from '../../src/workload/jsonl.js';
import { decodeStraceString, importStrace, splitArgs } from '../../src/workload/strace.js';
import { layerFromListing, MODELS, parseFindListing, replay, walk } from './support.js';

const DIR = join(import.meta.dirname, '../fixtures/workload/strace');
const read = (name: string) => readFileSync(join(DIR, name), 'utf8');

/** The fixtures recorded by test/fixtures/workload/strace/record.sh (Debian 12, strace 6.1), each run in /tmp/layersim-strace/NAME. */
const FIXTURES = ['shell', 'shell-yy', 'pkgscript', 'dpkg'] as const;

function load(name: string) {
  const cwd = `/tmp/layersim-strace/${name}`;
  const imported = importStrace(read(`${name}.strace`), { cwd, pathMap: { [cwd]: '/work' }, expectSuccess: true, file: `${name}.strace` });
  return { imported, before: parseFindListing(read(`${name}.before`)), after: parseFindListing(read(`${name}.after`)) };
}

describe('strace importer: real logs replay to the tree the command left', () => {
  describe.each(FIXTURES)('%s', name => {
    const { imported, before, after } = load(name);

    it('imports into ops that parse back from JSONL', () => {
      expect(imported.ops.length).toBeGreaterThan(10);
      const back = parseTrace(toJsonl(imported.ops)).map(l => l.op);
      expect(back).toEqual(imported.ops.map(op => JSON.parse(JSON.stringify(op)) as unknown));
      for (const op of imported.ops) {
        if ('path' in op && typeof op.path === 'string') expect(op.path.startsWith('/work')).toBe(true);
      }
    });

    it.each(MODELS)('on %s: every call has the outcome it had, and /work ends as find listed it', driver => {
      const { sys, results } = replay(driver, [layerFromListing(before, '/work')], imported.ops);
      const failed = results.filter(r => r.held === false).map(r => `${r.line}: ${r.op} ${r.outcome} (expected ${r.expected})`);
      expect(failed).toEqual([]);
      expect(walk(sys, '/work')).toEqual(after);
    });
  });

  it('names what it left out: symlink owners and times (tar x), nothing unknown', () => {
    const { imported } = load('shell');
    expect(imported.warnings).toEqual([
      expect.stringMatching(/^shell\.strace:\d+: utimensat: times of a symlink itself have no trace op; left out \(1 call/),
      expect.stringMatching(/^shell\.strace:\d+: fchownat: changing the owner of a symlink itself has no trace op; left out \(1 call/),
    ]);
    expect(imported.stats.leftOut).toBeGreaterThan(100); // the loader, locales, /etc/passwd...
    expect(imported.stats.processes).toBe(9); // sh, mkdir, cp, mv, ln, rm, tar, mkdir, tar
  });

  it('reads -yy annotations, -s strings and -tt timestamps the same as a plain log', () => {
    const plain = load('shell').imported.ops;
    const annotated = load('shell-yy').imported.ops;
    const shape = (ops: typeof plain) => ops.map(op => JSON.stringify({ ...op, fd: undefined, atime: undefined, mtime: undefined }).replace(/p\d+\.fd\d+\.\d+/g, 'FD'));
    expect(shape(annotated)).toEqual(shape(plain));
  });
});

describe('strace importer: syntax', () => {
  it('joins <unfinished ...> and resumed> halves across pids', () => {
    const log = [
      '101 openat(AT_FDCWD, "/w/a", O_WRONLY|O_CREAT|O_TRUNC, 0644 <unfinished ...>',
      '102 mkdir("/w/d", 0755 <unfinished ...>',
      '101 <... openat resumed>) = 3',
      '102 <... mkdir resumed>) = -1 EEXIST (File exists)',
      '101 write(3, "hello\\n", 6) = 6',
      '101 close(3) = 0',
      '101 +++ exited with 0 +++',
    ].join('\n');
    const { ops } = importStrace(log, { pathMap: { '/w': '/work' } });
    expect(ops).toEqual([
      { op: 'open', path: '/work/a', flags: 0o1101, mode: 0o644, fd: 'p101.fd3.1' },
      { op: 'mkdir', path: '/work/d', mode: 0o755, expect: 'EEXIST' },
      { op: 'write', fd: 'p101.fd3.1', offset: 0, data: 'hello\n' },
      { op: 'close', fd: 'p101.fd3.1' },
    ]);
  });

  it('accepts [pid N] prefixes, -tt times, -y annotations, cut strings and \\x escapes', () => {
    const log = [
      '[pid  7] 12:00:00.000001 openat(AT_FDCWD</w>, "f", O_RDWR|O_CREAT|O_CLOEXEC, 0600) = 5</w/f>',
      '[pid  7] 12:00:00.000002 write(5</w/f>, "\\x00\\x01binary", 8) = 8',
      '[pid  7] 12:00:00.000003 write(5</w/f>, "0123456789"..., 4096) = 4096',
      '[pid  7] 12:00:00.000004 lseek(5</w/f>, 100, SEEK_SET) = 100',
      '[pid  7] 12:00:00.000005 write(5</w/f>, "x", 1) = 1',
      '[pid  7] 12:00:00.000006 ftruncate(5</w/f>, 50) = 0',
      '[pid  7] 12:00:00.000007 unlinkat(AT_FDCWD</w>, "gone", AT_REMOVEDIR) = -1 ENOENT (No such file or directory)',
      '[pid  7] 12:00:00.000008 --- SIGCHLD {si_signo=SIGCHLD} ---',
    ].join('\n');
    const { ops, warnings } = importStrace(log, { cwd: '/w', pathMap: { '/w': '/c' } });
    expect(warnings).toEqual([]);
    expect(ops).toEqual([
      { op: 'open', path: '/c/f', flags: 0o102, mode: 0o600, fd: 'p7.fd5.1' },
      { op: 'write', fd: 'p7.fd5.1', offset: 0, length: 8, fill: 'pattern' },
      { op: 'write', fd: 'p7.fd5.1', offset: 8, length: 4096, fill: 'pattern' },
      { op: 'write', fd: 'p7.fd5.1', offset: 100, data: 'x' },
      { op: 'truncate', path: '/c/f', size: 50 },
      { op: 'rmdir', path: '/c/gone', expect: 'ENOENT' },
    ]);
  });

  it('shares a description between dup2 copies and forked children, closing it with the last', () => {
    const log = [
      '1 openat(AT_FDCWD, "/w/log", O_WRONLY|O_CREAT|O_APPEND, 0666) = 3',
      '1 dup2(3, 1) = 1',
      '1 close(3) = 0',
      '2 write(1, "child\\n", 6) = 6', // a child forked without a clone line inherits fd 1
      '2 +++ exited with 0 +++',
      '1 write(1, "parent\\n", 7) = 7',
      '1 dup2(4, 1) = 1',
    ].join('\n');
    const { ops } = importStrace(log, { pathMap: { '/w': '/w' } });
    expect(ops).toEqual([
      { op: 'open', path: '/w/log', flags: 0o2101, mode: 0o666, fd: 'p1.fd3.1' },
      { op: 'write', fd: 'p1.fd3.1', data: 'child\n' },
      { op: 'write', fd: 'p1.fd3.1', data: 'parent\n' },
      { op: 'close', fd: 'p1.fd3.1' },
    ]);
  });

  it('follows chdir, fchdir and /proc/self/fd paths; renameat2 NOREPLACE; O_PATH as a lookup', () => {
    const log = [
      '1 chdir("/w/sub") = 0',
      '1 openat(AT_FDCWD, "..", O_RDONLY|O_DIRECTORY) = 3',
      '1 openat(3, "x", O_RDONLY|O_PATH|O_NOFOLLOW) = 4',
      '1 chmod("/proc/self/fd/4", 0700) = 0',
      '1 fchdir(3) = 0',
      '1 renameat2(AT_FDCWD, "a", AT_FDCWD, "b", RENAME_NOREPLACE) = -1 EEXIST (File exists)',
      '1 renameat2(AT_FDCWD, "a", AT_FDCWD, "c", RENAME_NOREPLACE) = 0',
      '1 utimensat(AT_FDCWD, "c", [{tv_sec=10, tv_nsec=0}, UTIME_OMIT], 0) = 0',
    ].join('\n');
    const { ops } = importStrace(log, { pathMap: { '/w': '/w' } });
    expect(ops).toEqual([
      { op: 'open', path: '/w', flags: 0o200000, fd: 'p1.fd3.1' },
      { op: 'stat', path: '/w/x', follow: false },
      { op: 'chmod', path: '/w/x', mode: 0o700 },
      { op: 'stat', path: '/w/b', follow: false },
      { op: 'rename', from: '/w/a', to: '/w/c' },
      { op: 'utimes', path: '/w/c', atime: 10 },
    ]);
  });

  it('splits arguments and decodes strings as strace prints them', () => {
    expect(splitArgs('AT_FDCWD, "a, b", {st_mode=S_IFREG|0644, ...}, [1, 2] /* 2 */, 3</x, y>')).toEqual([
      'AT_FDCWD',
      '"a, b"',
      '{st_mode=S_IFREG|0644, ...}',
      '[1, 2] /* 2 */',
      '3</x, y>',
    ]);
    expect(decodeStraceString('"a\\tb\\n\\0\\377"')).toEqual({ bytes: Uint8Array.from([97, 9, 98, 10, 0, 255]), complete: true });
    expect(decodeStraceString('"abc"...')!.complete).toBe(false);
  });

  it('names unsupported calls once, with a count and the first line', () => {
    const log = ['1 mknod("/w/p", S_IFIFO|0644) = 0', '1 mknod("/w/q", S_IFIFO|0644) = 0', '1 frobnicate(1) = 0'].join('\n');
    expect(importStrace(log).warnings).toEqual([
      'strace:1: mknod: device, FIFO and socket nodes have no trace op; left out (2 calls; first at this line)',
      'strace:3: frobnicate: not imported (1 call; first at this line)',
    ]);
  });
});
