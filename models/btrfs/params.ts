import { createHash } from 'node:crypto';
import type { OptionSpec } from '../../src/engine/driver.js';

/**
 * Every constant of the btrfs model, each with its source. Keys: BP = kdave/btrfs-progs Documentation, K = the Linux
 * kernel's fs/btrfs (ctree.h / uapi btrfs_tree.h structure sizes, transaction.c, extent-tree.c, inode.c), DS =
 * shared/research/driver-semantics.md, M13 = moby v1.3.0. [U] marks a value that is not confirmed.
 */

/** On-disk structure sizes (packed C structs of include/uapi/linux/btrfs_tree.h). */
export const ON_DISK = {
  /** struct btrfs_header: csum 32 + fsid 16 + bytenr 8 + flags 8 + chunk_tree_uuid 16 + generation 8 + owner 8 + nritems 4 + level 1. */
  headerBytes: 101,
  /** struct btrfs_item: key 17 + offset 4 + size 4. */
  itemHeaderBytes: 25,
  /** struct btrfs_key_ptr: key 17 + blockptr 8 + generation 8. */
  keyPtrBytes: 33,
  /** struct btrfs_inode_item. */
  inodeItemBytes: 160,
  /** struct btrfs_inode_ref (index 8 + name_len 2), followed by the name. */
  inodeRefBytes: 10,
  /** struct btrfs_dir_item (location key 17 + transid 8 + data_len 2 + name_len 2 + type 1), then name and data. */
  dirItemBytes: 30,
  /** struct btrfs_file_extent_item, regular or prealloc: the whole struct. */
  fileExtentBytes: 53,
  /** Inline extent: the struct up to disk_bytenr (generation 8, ram_bytes 8, compression 1, encryption 1, other 2, type 1), then the data. */
  inlineExtentHeaderBytes: 21,
  /** struct btrfs_extent_item: refs 8 + generation 8 + flags 8. */
  extentItemBytes: 24,
  /** struct btrfs_tree_block_info (key 17 + level 1): only in non-skinny EXTENT_ITEMs of tree blocks. */
  treeBlockInfoBytes: 18,
  /** Inline backrefs: type byte + offset (TREE_BLOCK_REF root, SHARED_BLOCK_REF parent). */
  inlineTreeRefBytes: 9,
  /** Inline EXTENT_DATA_REF: type byte + struct btrfs_extent_data_ref (root 8, objectid 8, offset 8, count 4). */
  inlineDataRefBytes: 29,
  /** Inline SHARED_DATA_REF: type byte + parent 8 + struct btrfs_shared_data_ref (count 4). */
  inlineSharedDataRefBytes: 13,
  /** Keyed backref items when the extent item is full: TREE_BLOCK_REF/SHARED_BLOCK_REF carry no data. */
  keyedTreeRefBytes: 0,
  keyedDataRefBytes: 28,
  keyedSharedDataRefBytes: 4,
  /** struct btrfs_root_item (with the 3.x extension: uuids, otime, ctime...). */
  rootItemBytes: 439,
  /** struct btrfs_root_ref (dirid 8, sequence 8, name_len 2), then the name. */
  rootRefBytes: 18,
  /** UUID tree item payload: one u64 subvolume id. */
  uuidItemBytes: 8,
  /** struct btrfs_block_group_item. */
  blockGroupItemBytes: 24,
  /** struct btrfs_free_space_info (extent_count 4, flags 4). */
  freeSpaceInfoBytes: 8,
  /** struct btrfs_chunk without stripes (48) and per stripe (struct btrfs_stripe, 32). */
  chunkItemBytes: 48,
  stripeBytes: 32,
  /** struct btrfs_dev_extent. */
  devExtentBytes: 48,
  /** crc32c: 4 bytes per data sector in the checksum tree (BP ch-checksumming.rst). */
  csumBytes: 4,
} as const;

/** Item key types (uapi btrfs_tree.h). */
export const KEY = {
  INODE_ITEM: 1,
  INODE_REF: 12,
  XATTR_ITEM: 24,
  DIR_ITEM: 84,
  DIR_INDEX: 96,
  EXTENT_DATA: 108,
  EXTENT_CSUM: 128,
  ROOT_ITEM: 132,
  ROOT_BACKREF: 144,
  ROOT_REF: 156,
  EXTENT_ITEM: 168,
  METADATA_ITEM: 169,
  TREE_BLOCK_REF: 176,
  EXTENT_DATA_REF: 178,
  SHARED_BLOCK_REF: 182,
  SHARED_DATA_REF: 184,
  BLOCK_GROUP_ITEM: 192,
  FREE_SPACE_INFO: 198,
  FREE_SPACE_EXTENT: 199,
  DEV_EXTENT: 204,
  CHUNK_ITEM: 228,
  UUID_KEY_SUBVOL: 251,
} as const;

/** Tree objectids (uapi btrfs_tree.h). */
export const TREE = {
  ROOT: 1,
  EXTENT: 2,
  CHUNK: 3,
  DEV: 4,
  FS: 5,
  CSUM: 7,
  UUID: 9,
  FREE_SPACE: 10,
  /** BTRFS_FIRST_FREE_OBJECTID: the first subvolume id and every subvolume's root directory inode. */
  FIRST_FREE: 256,
  /** BTRFS_EXTENT_CSUM_OBJECTID (-10 as u64); sorts last in the csum tree, the only objectid there. */
  EXTENT_CSUM: -10,
} as const;

/** Sizes that are not on-disk structures. */
export const CONSTANTS = {
  /** BTRFS_MAX_EXTENT_SIZE: one data extent covers at most 128 MiB (K ctree.h). */
  maxExtentBytes: 128 * 1024 * 1024,
  /** The first directory index handed out (K inode.c: BTRFS_DIR_START_INDEX = 2; 0 and 1 are . and ..). */
  dirStartIndex: 2,
  /** Docker's layer ids: 64 hex characters; init layers add "-init" (M13 daemon/daemon.go). Subvolume names in btrfs/subvolumes. */
  layerIdBytes: 64,
  /** The path Docker keeps its subvolumes under (M13 daemon/graphdriver/btrfs/btrfs.go: home/subvolumes/<id>). */
  subvolumesPath: ['var', 'lib', 'docker', 'btrfs', 'subvolumes'],
  /** BTRFS_MAX_LEVEL, and the global reserve's 10-item insert estimate (K block-rsv.c btrfs_calc_insert_metadata_size). */
  maxLevel: 8,
  globalReserveMinItems: 10,
  /** vm.dirty_expire_centisecs = 3000: the flusher writes back data dirty for 30 s (Documentation/admin-guide/sysctl/vm.rst). */
  dirtyExpireSeconds: 30,
  /** The transaction kthread commits every 30 s (mount option commit=30, BTRFS_DEFAULT_COMMIT_INTERVAL). */
  commitIntervalSeconds: 30,
  globalReserveMaxBytes: 512 * 1024 * 1024,
  /** Data chunks 1 GiB, metadata 256 MiB on filesystems under 50 GiB, each at most 10% of the device (K volumes.c). */
  dataChunkBytes: 1024 * 1024 * 1024,
  metadataChunkBytes: 256 * 1024 * 1024,
  systemChunkBytes: 32 * 1024 * 1024,
  chunkMaxFraction: 0.1,
  /**
   * mkfs's first chunks on a 2 GiB device, as kernel-6.18-blog-experiment.md recorded (progs 6.2): metadata DUP
   * 102.38 MiB (5% of the device), system DUP 8 MiB; data 204.75 MiB (10%). [U] for progs 3.17.
   */
  mkfsMetadataFraction: 0.05,
  mkfsSystemBytes: 8 * 1024 * 1024,
  mkfsDataFraction: 0.1,
} as const;

/** Era defaults, as sets (issue 4 "Profiles"). */
export interface BtrfsProfile {
  readonly nodesize: number;
  readonly sectorsize: number;
  readonly metadata: 'dup' | 'single';
  /** Inline extents: files up to this size live in the leaf (effective limit: under one sector). */
  readonly maxInline: number;
  /** skinny-metadata: METADATA_ITEM keyed by level, no btrfs_tree_block_info (progs 3.18+). */
  readonly skinnyMetadata: boolean;
  /** no-holes: no explicit hole file extent items (progs 5.15+ default). */
  readonly noHoles: boolean;
  /** free-space-tree (space_cache=v2): free extents as items in their own tree (progs 5.15+ default). */
  readonly freeSpaceTree: boolean;
  /**
   * How the figures are read. `sync`: `sync; btrfs filesystem sync; df` after each step, as the 6.18 replay did (all
   * dirty data written back, the transaction committed). `df`: `df -k` right after the command, as the review ran it:
   * what the last transaction commit made durable; file data still dirty in the page cache (delalloc, written back by
   * the flusher only after dirty_expire_centisecs = 30 s) is not allocated yet.
   */
  readonly measure: 'sync' | 'df';
  /**
   * The Docker daemon's own files (container config, image json, tag store) written into /var/lib/docker on this
   * filesystem as Docker 1.3 did (driver-semantics.md §0.6). The review ran a real daemon; the 6.18 replay replayed
   * the layer operations only (kernel-6.18-blog-experiment.md "What is replayed").
   */
  readonly daemonFiles: boolean;
  readonly deviceBytes: number;
  readonly source: string;
}

export const PROFILES: Readonly<Record<'modern' | 'docker-1.3', BtrfsProfile>> = {
  modern: {
    nodesize: 16384,
    sectorsize: 4096,
    metadata: 'dup',
    maxInline: 2048,
    skinnyMetadata: true,
    noHoles: true,
    freeSpaceTree: true,
    measure: 'sync',
    daemonFiles: false,
    deviceBytes: 2 * 1024 * 1024 * 1024,
    source:
      'BP mkfs.btrfs.rst: nodesize 16 KiB, DUP metadata on one device since 5.15, skinny-metadata, no-holes and free-space-tree default since 5.15; ch-mount-options.rst max_inline 2048 since 4.6; the 6.18 replay used a 2 GiB image and synced before each df',
  },
  'docker-1.3': {
    nodesize: 16384,
    sectorsize: 4096,
    metadata: 'dup',
    // pre-4.6 default max_inline was 8192 [U], capped by the sector (inline data must stay under one page)
    maxInline: 8192,
    skinnyMetadata: false,
    noHoles: false,
    freeSpaceTree: false,
    measure: 'df',
    daemonFiles: true,
    deviceBytes: 2 * 1024 * 1024 * 1024,
    source:
      'BP mkfs.btrfs.rst: btrfs-progs 3.17 (nodesize 16 KiB since 3.12, skinny-metadata only from 3.18, no-holes/free-space-tree not default), DUP metadata on a rotational single device; kernel 3.17 max_inline 8192 [U]; the review ran df -k right after each command (blog-2014.md)',
  },
};

export const btrfsOptions = {
  profile: {
    description: 'era defaults as a set: modern (kernel 6.x, btrfs-progs 6.x) or docker-1.3 (Fedora 20, kernel 3.17, btrfs-progs 3.17)',
    default: 'modern',
    values: ['modern', 'docker-1.3'],
    source: 'issue 4 "Profiles"; driver-semantics.md §5',
  },
  nodesize: {
    description: 'metadata tree block size in bytes (mkfs -n); empty = the profile default (16384; 4096 before btrfs-progs 3.12)',
    default: '',
    values: ['', '4096', '8192', '16384', '32768', '65536'],
    source: 'BP mkfs.btrfs.rst l.108-120',
  },
  metadata: {
    description: 'metadata block group profile (mkfs -m): dup writes every tree block twice; empty = the profile default (dup)',
    default: '',
    values: ['', 'dup', 'single'],
    source: 'BP mkfs.btrfs.rst l.54-77',
  },
  max_inline: {
    description: 'largest file stored inline in its tree leaf (mount -o max_inline); empty = the profile default',
    default: '',
    source: 'BP ch-mount-options.rst l.271-285 (2048 since 4.6; 8192 before [U]); limited to under one sector',
  },
  noatime: {
    description: 'mount -o noatime: reads never write atime back (default relatime)',
    default: 'off',
    values: ['on', 'off'],
    source: 'Linux default relatime; kernel-6.18-blog-experiment.md default_noatime variant',
  },
  measure: {
    description: 'how usage is read: sync (sync, then df: the 6.18 replay) or df (df -k right after the command: the review); empty = the profile default',
    default: '',
    values: ['', 'sync', 'df'],
    source: 'kernel-6.18-blog-experiment.md "After each step: sync, btrfs filesystem sync, then df"; blog-2014.md "df -k after each step"',
  },
  daemon_files: {
    description: "the Docker daemon's files in /var/lib/docker on the same btrfs (containers/<id>/config.json..., graph/<id>/json, repositories-btrfs); empty = the profile default (on for docker-1.3, a real daemon; off for modern, the 6.18 replay)",
    default: '',
    values: ['', 'on', 'off'],
    source: 'driver-semantics.md §0.6; M13 daemon/container.go toDisk, graph/graph.go Register, image/image.go StoreImage',
  },
} as const satisfies Record<string, OptionSpec>;

export type BtrfsOptions = { -readonly [K in keyof typeof btrfsOptions]: string };

/** The resolved configuration of one filesystem. */
export interface BtrfsConfig extends BtrfsProfile {
  readonly atime: 'relatime' | 'noatime';
}

export function resolveConfig(o: Partial<BtrfsOptions>): BtrfsConfig {
  const base = PROFILES[o.profile === 'docker-1.3' ? 'docker-1.3' : 'modern'];
  const nodesize = o.nodesize ? Number(o.nodesize) : base.nodesize;
  const maxInline = o.max_inline ? Number(o.max_inline) : base.maxInline;
  return {
    ...base,
    nodesize,
    metadata: o.metadata === 'single' || o.metadata === 'dup' ? o.metadata : base.metadata,
    maxInline,
    measure: o.measure === 'sync' || o.measure === 'df' ? o.measure : base.measure,
    atime: o.noatime === 'on' ? 'noatime' : 'relatime',
    daemonFiles: o.daemon_files === 'on' ? true : o.daemon_files === 'off' ? false : base.daemonFiles,
  };
}

export function validateOptions(o: BtrfsOptions): void {
  if (o.max_inline !== '' && !/^\d+$/.test(o.max_inline)) throw new Error(`option btrfs max_inline=${o.max_inline}: expected a byte count`);
  const c = resolveConfig(o);
  if (c.nodesize < c.sectorsize) throw new Error(`option btrfs nodesize=${c.nodesize}: must be at least the sector size (${c.sectorsize})`);
}

/** runconfig.Config as Docker 1.3 marshals it (M13 runconfig/config.go; field set [U] to a field or two). */
function runConfig(image: string, cmd: readonly string[], hostname: string): Record<string, unknown> {
  return {
    Hostname: hostname,
    Domainname: '',
    User: '',
    Memory: 0,
    MemorySwap: 0,
    CpuShares: 0,
    Cpuset: '',
    AttachStdin: false,
    AttachStdout: true,
    AttachStderr: true,
    PortSpecs: null,
    ExposedPorts: null,
    Tty: false,
    OpenStdin: false,
    StdinOnce: false,
    Env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'],
    Cmd: cmd,
    Image: image,
    Volumes: null,
    WorkingDir: '',
    Entrypoint: null,
    NetworkDisabled: false,
    OnBuild: null,
  };
}

const DATE = '2014-12-01T10:00:00.000000000Z';

/**
 * The contents of the files the Docker 1.3 daemon writes under /var/lib/docker (M13 daemon/container.go toDisk and
 * WriteHostConfig: json.Marshal of Container and HostConfig; image/image.go StoreImage: json.Marshal of Image and the
 * layer size in decimal; daemon/networkdriver and container.go: hosts, hostname, resolv.conf copied from the host).
 * Their sizes decide whether the data is inline (all are, under one sector) and how many leaf bytes they take.
 */
export const DOCKER13_FILES = {
  containerConfig(id: string, n: number, home: string): string {
    return JSON.stringify({
      ID: id,
      Created: DATE,
      Path: 'dd',
      Args: ['if=/dev/zero', 'of=/data1', 'bs=64k', 'count=1'],
      Config: runConfig('busybox', ['dd', 'if=/dev/zero', 'of=/data1', 'bs=64k', 'count=1'], id.slice(0, 12)),
      State: { Running: true, Paused: false, Restarting: false, Pid: 1000 + n, ExitCode: 0, StartedAt: DATE, FinishedAt: '0001-01-01T00:00:00Z' },
      Image: createHash('sha256').update('busybox').digest('hex'),
      NetworkSettings: { IPAddress: `172.17.0.${n + 1}`, IPPrefixLen: 16, MacAddress: '02:42:ac:11:00:02', Gateway: '172.17.42.1', Bridge: 'docker0', PortMapping: null, Ports: {} },
      ResolvConfPath: `${home}/containers/${id}/resolv.conf`,
      HostnamePath: `${home}/containers/${id}/hostname`,
      HostsPath: `${home}/containers/${id}/hosts`,
      Name: `/b${n}`,
      Driver: 'btrfs',
      ExecDriver: 'native-0.2',
      MountLabel: '',
      ProcessLabel: '',
      AppArmorProfile: '',
      RestartCount: 0,
      Volumes: {},
      VolumesRW: {},
    });
  },
  hostConfig: JSON.stringify({
    Binds: null,
    ContainerIDFile: '',
    LxcConf: [],
    Privileged: false,
    PortBindings: {},
    Links: null,
    PublishAllPorts: false,
    Dns: null,
    DnsSearch: null,
    ExtraHosts: null,
    VolumesFrom: null,
    Devices: [],
    NetworkMode: 'bridge',
    CapAdd: null,
    CapDrop: null,
    RestartPolicy: { Name: '', MaximumRetryCount: 0 },
    SecurityOpt: null,
  }),
  resolvConf: '# Generated by NetworkManager\nnameserver 192.168.1.1\n',
  hosts(id: string, n: number): string {
    return `172.17.0.${n + 1}\t${id.slice(0, 12)}\n127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\nfe00::0\tip6-localnet\nff00::0\tip6-mcastprefix\nff02::1\tip6-allnodes\nff02::2\tip6-allrouters\n`;
  },
  imageJson(id: string, parent: string | undefined): string {
    return JSON.stringify({
      id,
      ...(parent === undefined ? {} : { parent }),
      created: DATE,
      container: createHash('sha256').update(`${id}/container`).digest('hex'),
      container_config: runConfig('busybox', ['dd', 'if=/dev/zero', 'of=/data1', 'bs=64k', 'count=1'], id.slice(0, 12)),
      docker_version: '1.3.2',
      config: runConfig('', [], ''),
      architecture: 'amd64',
      os: 'linux',
      Size: 0,
    });
  },
} as const;
