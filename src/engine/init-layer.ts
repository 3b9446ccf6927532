import { FsError } from '../fs/errno.js';
import { O_CREAT, O_WRONLY, type Syscalls } from '../vfs/syscalls.js';

/** Which Docker's init layer to build: 1.3 (with /.dockerinit, removed in v1.11) or a current daemon. */
export type InitProfile = 'docker-1.3' | 'modern';

/**
 * Docker's init layer (graph.SetupInitLayer in 1.3, daemon/initlayer/setup_unix.go now), sorted for determinism
 * (Go iterates the map in random order; the result does not depend on it).
 */
export function initLayerEntries(profile: InitProfile): [string, 'dir' | 'file' | { symlink: string }][] {
  const entries: [string, 'dir' | 'file' | { symlink: string }][] = [
    ['/dev/pts', 'dir'],
    ['/dev/shm', 'dir'],
    ['/proc', 'dir'],
    ['/sys', 'dir'],
    ['/.dockerenv', 'file'],
    ['/etc/resolv.conf', 'file'],
    ['/etc/hosts', 'file'],
    ['/etc/hostname', 'file'],
    ['/dev/console', 'file'],
    ['/etc/mtab', { symlink: '/proc/mounts' }],
  ];
  if (profile === 'docker-1.3') entries.push(['/.dockerinit', 'file']);
  return entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}

function ignoreErrno(fn: () => void): void {
  try {
    fn();
  } catch (e) {
    if (!(e instanceof FsError)) throw e;
  }
}

/** SetupInitLayer as the daemon runs it (as root, umask 022): unlink each path component, then create what is missing. */
export function setupInitLayer(sys: Syscalls<object>, profile: InitProfile): void {
  for (const [path, kind] of initLayerEntries(profile)) {
    let prev = '';
    for (const part of path.split('/').slice(1)) {
      prev += `/${part}`;
      ignoreErrno(() => sys.unlink(prev));
    }
    try {
      sys.stat(path);
      continue;
    } catch (e) {
      if (!(e instanceof FsError) || e.code !== 'ENOENT') continue;
    }
    mkdirAll(sys, path.slice(0, path.lastIndexOf('/')) || '/');
    if (kind === 'dir') mkdirAll(sys, path);
    else if (kind === 'file') sys.close(sys.open(path, O_WRONLY | O_CREAT, 0o755));
    else sys.symlink(kind.symlink, path);
  }
}

function mkdirAll(sys: Syscalls<object>, path: string): void {
  let prev = '';
  for (const part of path.split('/').filter(p => p !== '')) {
    prev += `/${part}`;
    ignoreErrno(() => sys.mkdir(prev, 0o755));
  }
}
