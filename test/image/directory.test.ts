import { execFileSync } from 'node:child_process';
import { chmodSync, chownSync, linkSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readDirectory } from '../../src/image/directory.js';

const isRoot = process.getuid?.() === 0;

function hasMkfifo(): boolean {
  try {
    execFileSync('mkfifo', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

describe('readDirectory', () => {
  const host = mkdtempSync(join(tmpdir(), 'layersim-dir-'));
  afterAll(() => rmSync(host, { recursive: true, force: true }));

  mkdirSync(join(host, 'etc'));
  writeFileSync(join(host, 'etc/hosts'), '127.0.0.1 localhost\n');
  chmodSync(join(host, 'etc/hosts'), 0o640);
  utimesSync(join(host, 'etc/hosts'), 1_500_000_000, 1_400_000_000);
  mkdirSync(join(host, 'tmp'));
  chmodSync(join(host, 'tmp'), 0o1777);
  writeFileSync(join(host, 'bin-busybox'), 'binary');
  linkSync(join(host, 'bin-busybox'), join(host, 'etc/sh-hardlink'));
  symlinkSync('/etc/hosts', join(host, 'hosts-link'));
  symlinkSync('missing', join(host, 'dangling'));
  mkdirSync(join(host, 'deep/er/still'), { recursive: true });
  writeFileSync(join(host, 'deep/er/still/leaf'), '');
  if (isRoot) chownSync(join(host, 'etc/hosts'), 1234, 5678);
  if (hasMkfifo()) execFileSync('mkfifo', [join(host, 'pipe')]);

  const v = readDirectory(host);

  it('reads files with their bytes, mode and mtime', () => {
    const hosts = v.at('etc/hosts')!;
    expect(Buffer.from(hosts.content!.read(0, 100)).toString()).toBe('127.0.0.1 localhost\n');
    expect(hosts.mode).toBe(0o640);
    expect(hosts.mtime).toBe(1_400_000_000);
    expect(hosts.atime).toBe(1_500_000_000);
    expect(v.at('tmp')!.mode).toBe(0o1777);
  });

  it.skipIf(!isRoot)('reads owners', () => {
    expect([v.at('etc/hosts')!.uid, v.at('etc/hosts')!.gid]).toEqual([1234, 5678]);
  });

  it('reads symlinks without following them, dangling ones too', () => {
    expect(v.at('hosts-link')!.kind).toBe('symlink');
    expect(v.at('hosts-link')!.target).toBe('/etc/hosts');
    expect(v.at('dangling')!.target).toBe('missing');
  });

  it('reads hard links as one inode', () => {
    expect(v.at('etc/sh-hardlink')).toBe(v.at('bin-busybox'));
    expect(v.at('bin-busybox')!.nlink).toBe(2);
  });

  it('reads nested directories', () => {
    expect(v.at('deep/er/still/leaf')!.kind).toBe('file');
  });

  it.skipIf(!hasMkfifo())('reads fifos', () => {
    expect(v.at('pipe')!.kind).toBe('fifo');
  });

  it.skipIf(!isRoot)('reads device nodes with their rdev', () => {
    const devHost = mkdtempSync(join(tmpdir(), 'layersim-dev-'));
    try {
      execFileSync('mknod', [join(devHost, 'null'), 'c', '1', '3']);
      const d = readDirectory(devHost);
      expect(d.at('null')!.kind).toBe('chr');
      expect(d.at('null')!.rdev).toBe(0x103);
    } finally {
      rmSync(devHost, { recursive: true, force: true });
    }
  });

  it('is deterministic', () => {
    expect(readDirectory(host).toJSON()).toEqual(readDirectory(host).toJSON());
  });

  it('refuses a missing path or a file, naming it', () => {
    expect(() => readDirectory(join(host, 'nope'))).toThrow(/^image: cannot read '.*nope': ENOENT/);
    expect(() => readDirectory(join(host, 'bin-busybox'))).toThrow(/^image: '.*bin-busybox' is not a directory$/);
  });
});
