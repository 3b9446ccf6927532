/**
 * Errno names and the one error type the simulator throws (Linux errno(3) semantics).
 *
 * Internally a mechanism throws `FsError` with just a code; the syscall layer adds the syscall name and path at the
 * edge, so a message reads as Node's do: `ENOENT: no such file or directory, open '/a/b'`.
 */
export const ERRNO_MESSAGES = {
  EPERM: 'operation not permitted',
  ENOENT: 'no such file or directory',
  EIO: 'i/o error',
  EBADF: 'bad file descriptor',
  EAGAIN: 'resource temporarily unavailable',
  EACCES: 'permission denied',
  EBUSY: 'resource busy or locked',
  EEXIST: 'file already exists',
  EXDEV: 'cross-device link not permitted',
  ENODEV: 'no such device',
  ENOTDIR: 'not a directory',
  EISDIR: 'illegal operation on a directory',
  EINVAL: 'invalid argument',
  EMFILE: 'too many open files',
  EFBIG: 'file too large',
  ENOSPC: 'no space left on device',
  EROFS: 'read-only file system',
  EMLINK: 'too many links',
  ENAMETOOLONG: 'name too long',
  ENOTEMPTY: 'directory not empty',
  ELOOP: 'too many symbolic links encountered',
  ENODATA: 'no data available',
  ERANGE: 'result out of range',
  ENOTSUP: 'operation not supported',
  ENOMEM: 'cannot allocate memory',
  E2BIG: 'argument list too long',
} as const;

export type Errno = keyof typeof ERRNO_MESSAGES;

export const ERRNO_NAMES = Object.keys(ERRNO_MESSAGES) as Errno[];

export function isErrno(s: string): s is Errno {
  return Object.hasOwn(ERRNO_MESSAGES, s);
}

/** A failed system call, as the kernel would answer it: errno code, the call, and the path(s). */
export class FsError extends Error {
  constructor(
    readonly code: Errno,
    readonly syscall?: string,
    readonly path?: string,
    readonly dest?: string,
  ) {
    super(formatMessage(code, syscall, path, dest));
    this.name = 'FsError';
  }

  /** The same error with the call and path filled in, unless they are already known. */
  withContext(syscall: string, path?: string, dest?: string): FsError {
    if (this.syscall !== undefined) return this;
    return new FsError(this.code, syscall, path, dest);
  }
}

function formatMessage(code: Errno, syscall?: string, path?: string, dest?: string): string {
  let msg = `${code}: ${ERRNO_MESSAGES[code]}`;
  if (syscall !== undefined) msg += `, ${syscall}`;
  if (path !== undefined) msg += ` '${path}'`;
  if (dest !== undefined) msg += ` -> '${dest}'`;
  return msg;
}

/**
 * Throws an errno from inside a mechanism; the syscall layer adds the context. The error a user sees is built there,
 * at the edge (with its stack); this inner one is only a carrier, so it skips the stack capture — callers that probe
 * for absence (lstat of an init-layer path, a trace's `exists`) throw and catch it often.
 */
export function fail(code: Errno): never {
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 0;
  const carrier = new FsError(code);
  Error.stackTraceLimit = limit;
  throw carrier;
}
