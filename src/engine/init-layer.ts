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

/** SetupInitLayer as the daemon runs it (as root, umask 022): unlink each path component, then create what is missing. */
export function setupInitLayer(sys: Syscalls<object>, profile: InitProfile): void {
  for (const [path, kind] of initLayerEntries(profile)) {
    let prev = '';
    for (const part of path.split('/').slice(1)) {
      prev += `/${part}`;
      // syscall.Unlink of each component: it removes an existing non-directory (and fails harmlessly on the rest)
      const st = sys.lstatOrAbsent(prev);
      if (st !== undefined && st.kind !== 'dir') sys.unlink(prev);
    }
    if (sys.lstatOrAbsent(path) !== undefined && statOrAbsent(sys, path)) continue;
    mkdirAll(sys, path.slice(0, path.lastIndexOf('/')) || '/');
    if (kind === 'dir') mkdirAll(sys, path);
    else if (kind === 'file') sys.close(sys.open(path, O_WRONLY | O_CREAT, 0o755));
    else sys.symlink(kind.symlink, path);
  }
}

/** os.Stat (follows symlinks): whether the path resolves. */
function statOrAbsent(sys: Syscalls<object>, path: string): boolean {
  try {
    sys.stat(path);
    return true;
  } catch (e) {
    if (e instanceof FsError) return false;
    throw e;
  }
}

/** os.MkdirAll(path, 0755): each missing component made, existing ones left alone. */
function mkdirAll(sys: Syscalls<object>, path: string): void {
  let prev = '';
  for (const part of path.split('/').filter(p => p !== '')) {
    prev += `/${part}`;
    if (sys.lstatOrAbsent(prev) === undefined) sys.mkdir(prev, 0o755);
  }
}
