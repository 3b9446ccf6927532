import type { FileContent } from './content.js';

/** What an inode is: S_IFREG, S_IFDIR, S_IFLNK, S_IFCHR, S_IFBLK, S_IFIFO, S_IFSOCK. */
export type FileKind = 'file' | 'dir' | 'symlink' | 'chr' | 'blk' | 'fifo' | 'sock';

export const S_IFMT_BITS: Record<FileKind, number> = {
  file: 0o100000,
  dir: 0o040000,
  symlink: 0o120000,
  chr: 0o020000,
  blk: 0o060000,
  fifo: 0o010000,
  sock: 0o140000,
};

/** A source of time, injected so that the same trace always stamps the same times (seconds since the epoch). */
export interface Clock {
  now(): number;
}

/** A logical clock: starts at a fixed instant and advances one millisecond per reading. */
export class LogicalClock implements Clock {
  constructor(private t = 1_700_000_000) {}
  now(): number {
    this.t = Math.round((this.t + 0.001) * 1000) / 1000;
    return this.t;
  }
  /** Time passing with nothing happening (between the steps of an experiment). */
  advance(seconds: number): void {
    this.t = Math.round((this.t + seconds) * 1000) / 1000;
  }
}

/** Hands out inode numbers; one per simulated host so numbers are unique across layers and deterministic. */
export class InoAllocator {
  constructor(private next = 2) {}
  allocate(): number {
    return this.next++;
  }
  /** An allocator that continues from the same number (a snapshot's filesystem allocates as its origin would). */
  clone(): InoAllocator {
    return new InoAllocator(this.next);
  }
}

/** An inode (struct inode): type, ownership, permission bits, times, link count, xattrs and, per type, its payload. */
export class Inode {
  nlink = 1;
  xattrs: Map<string, Uint8Array> | undefined = undefined;
  /** Regular files: the extent map. */
  content: FileContent | undefined = undefined;
  /** Directories: name -> inode (the dentries). */
  entries: Map<string, Inode> | undefined = undefined;
  /** Symlinks: the target string. */
  target: string | undefined = undefined;
  /** Device number for chr/blk (0/0 for an overlay whiteout). */
  rdev = 0;
  /** Directories on a block fs: blocks the directory file has grown to (ext4 directories never shrink). */
  dirBlocks = 0;
  /** Directories: bytes of directory records in use (ext4 rec_len sum). */
  dirRecordBytes = 0;

  constructor(
    readonly ino: number,
    readonly kind: FileKind,
    public mode: number,
    public uid: number,
    public gid: number,
    public atime: number,
    public mtime: number,
    public ctime: number,
  ) {}

  get size(): number {
    switch (this.kind) {
      case 'file':
        return this.content!.size;
      case 'symlink':
        return Buffer.byteLength(this.target!);
      case 'dir':
        return Math.max(1, this.dirBlocks) * 4096;
      default:
        return 0;
    }
  }

  /** st_mode: type bits and permission bits. */
  get statMode(): number {
    return S_IFMT_BITS[this.kind] | this.mode;
  }

  isWhiteoutDevice(): boolean {
    return this.kind === 'chr' && this.rdev === 0;
  }
}
