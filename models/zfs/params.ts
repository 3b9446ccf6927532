import type { OptionSpec } from '../../src/engine/driver.js';

/**
 * Every constant of the zfs model, with its source.
 *
 * Markers, as in shared/research/driver-semantics.md: [V] read in a cited source (only what /work/shared holds);
 * [R] recalled from the OpenZFS sources and documentation or the ZFS On-Disk Specification (Sun, 2006), NOT verified
 * while writing this model: treat as a tunable, not as a fact. The mechanism (object sets, block pointers, birth
 * times, dead lists) is the documented ZFS design; the figures below are what sizes it.
 */

/** zfs's options (`--driver-opt`). */
export const zfsOptions = {
  recordsize: {
    description: 'the datasets\' recordsize: block size of files larger than one block (512 to 1M, a power of two; K/M suffixes accepted)',
    default: '128K',
    source:
      'driver-semantics.md §7 [V] MD12 zfs-driver.md: "By default, ZFS will allocate space in blocks of 128K"; ' +
      'range 512..1M (above 128K needs the large_blocks feature, OpenZFS 0.6.5+) [R]',
  },
  profile: {
    description:
      'era defaults as a set: modern (OpenZFS 2.x) or docker-1.3 (ZFS on Linux 0.6.3 of 2014: 16 KiB indirect blocks, ' +
      '2 KiB objset, no project accounting, recordsize at most 128K). The mechanism is the same',
    default: 'modern',
    values: ['modern', 'docker-1.3'],
    source: 'driver-semantics.md §7 (Docker\'s zfs driver arrived in 1.7, so docker-1.3 means the ZoL of that era); era figures [R]',
  },
} as const satisfies Record<string, OptionSpec>;

export type ZfsOptions = { -readonly [K in keyof typeof zfsOptions]: string };

export type ZfsProfile = 'modern' | 'docker-1.3';

/** Parses a recordsize such as `128K`, `16k`, `1M` or `131072`; undefined when malformed. */
export function parseSize(text: string): number | undefined {
  const m = /^(\d+)([kKmM]?)$/.exec(text.trim());
  if (m === null) return undefined;
  const unit = m[2]!.toLowerCase();
  return Number(m[1]) * (unit === 'k' ? 1024 : unit === 'm' ? 1024 * 1024 : 1);
}

/** The sizes a model instance runs with: the options resolved against the profile. */
export interface ZfsParams {
  readonly profile: ZfsProfile;
  /** recordsize (zfs_write: max_blksz = z_max_blksz = recordsize). */
  readonly recordBytes: number;
  /** 1 << ashift: the allocation unit. Every block's allocated size is rounded up to it. */
  readonly sectorBytes: number;
  /** Size of an indirect block (1 << indblkshift). */
  readonly indirectBytes: number;
  /** Size of a block pointer (blkptr_t). */
  readonly blkptrBytes: number;
  /** Bytes of one dnode (dnodesize=legacy). */
  readonly dnodeBytes: number;
  /** Size of a block of the meta-dnode (an array of dnodes). */
  readonly dnodeBlockBytes: number;
  /** objset_phys_t (the object set's root block). */
  readonly objsetBytes: number;
  /** Object accounting ZAPs whose dnodes sit in objset_phys: userused, groupused (+ projectused). */
  readonly accountingObjects: number;
  /** Block pointers in the meta-dnode (and in a dnode without bonus). */
  readonly metaDnodeBlkptrs: number;
  /** Block pointers in a ZPL znode's dnode (the SA bonus takes the rest). */
  readonly znodeBlkptrs: number;
  /** Object numbers are 48 bits (DN_MAX_OBJECT_SHIFT); the meta-dnode gets enough levels to address them all. */
  readonly maxObjectShift: number;
  /** Ditto copies: dataset metadata (copies + 1) and pool metadata (the MOS). Data: copies=1. */
  readonly dataCopies: number;
  readonly datasetMetadataCopies: number;
  readonly poolMetadataCopies: number;
  /** Bytes of a dnode that carry something (header, used block pointers, SA bonus) for the compression estimate. */
  readonly dnodeHeaderBytes: number;
  /** SA bytes a znode's attributes take in the bonus buffer (the layout of a regular file). */
  readonly znodeSaBytes: number;
  /** Bonus buffer of a legacy 512-byte dnode (DN_OLD_MAX_BONUSLEN). Past it, SAs go to a spill block. */
  readonly bonusBytes: number;
  /** Compression must save at least 1/8 of a block, or the block is stored uncompressed. */
  readonly compressMinSavingShift: number;
  readonly zap: ZapParams;
  /** Uberblock slot (max(1 KiB, sector)) written in each of the vdev labels at every txg sync. */
  readonly uberblockBytes: number;
  readonly labelsPerVdev: number;
  /** Entry of a bpobj (a dead list): one block pointer. */
  readonly bpobjEntryBytes: number;
  /** bpobj block size. */
  readonly bpobjBlockBytes: number;
}

export interface ZapParams {
  /** Microzap: header (mzap_phys_t without its chunks) and one chunk per entry (mzap_ent_phys_t). */
  readonly microHeaderBytes: number;
  readonly microEntryBytes: number;
  /** Names of MZAP_NAME_LEN (50) bytes or more, with the NUL, need a fatzap. */
  readonly microNameMax: number;
  /** A microzap grows by this much when full (SPA_MINBLOCKSIZE) ... */
  readonly microGrowBytes: number;
  /** ... up to this size (MZAP_MAX_BLKSZ / zap_micro_max_size), then it becomes a fatzap. */
  readonly microMaxBytes: number;
  /** Fatzap block size (1 << fzap_default_block_shift). */
  readonly fatBlockBytes: number;
  /** zap_leaf_phys header, hash entry size, chunk size, bytes of name/value per array chunk. */
  readonly leafHeaderBytes: number;
  readonly leafHashEntryBytes: number;
  readonly leafChunkBytes: number;
  readonly leafArrayBytes: number;
  /** Pointer-table entries embedded in block 0 (half the block, 8 bytes each); more move to their own blocks. */
  readonly ptrtblEntryBytes: number;
}

/** [R] OpenZFS zap_impl.h / zap_leaf.h: MZAP_ENT_LEN 64, MZAP_NAME_LEN 50, ZAP_LEAF_CHUNKSIZE 24, ZAP_LEAF_ARRAY_BYTES 21. */
const ZAP: ZapParams = {
  microHeaderBytes: 64,
  microEntryBytes: 64,
  microNameMax: 50,
  microGrowBytes: 512,
  microMaxBytes: 128 * 1024,
  fatBlockBytes: 16 * 1024,
  leafHeaderBytes: 48,
  leafHashEntryBytes: 2,
  leafChunkBytes: 24,
  leafArrayBytes: 21,
  ptrtblEntryBytes: 8,
};

/**
 * The model's parameters for a profile and recordsize.
 *
 * What the profiles change ([R], recalled): the default indirect block size was 16 KiB (indblkshift 14, 128 block
 * pointers per indirect block) until OpenZFS raised it to 128 KiB (indblkshift 17, 1024 block pointers; illumos 2016,
 * ZoL 0.7); objset_phys_t grew from 2 KiB to 4 KiB with project quotas (ZoL 0.8), adding the projectused object;
 * recordsize above 128K needs large_blocks (ZoL 0.6.5). ashift is 12 in both (ZoL 0.6 auto-detected it, and disks
 * reporting 512-byte sectors got 9; Docker's documentation examples use whole modern disks: 12).
 * Unchanged: dnodesize=legacy (512 B), 16 KiB dnode blocks, compression=off (the property's default: Docker's
 * driver sets none), redundant_metadata=all (metadata one ditto copy above the data's copies=1, MOS three copies).
 */
export function zfsParams(profile: ZfsProfile, recordBytes: number): ZfsParams {
  const modern = profile === 'modern';
  const sectorBytes = 1 << 12; // ashift=12 [R: OpenZFS docs, "ashift=12" for 4K-sector disks; brief]
  return {
    profile,
    recordBytes,
    sectorBytes,
    indirectBytes: modern ? 128 * 1024 : 16 * 1024, // [R] DN_MAX_INDBLKSHIFT 17 (modern) / 14 (ZoL 0.6)
    blkptrBytes: 128, // [R] On-Disk Spec §2.4: blkptr_t is 128 bytes
    dnodeBytes: 512, // [R] On-Disk Spec §3.1: dnode_phys_t 512 bytes (DNODE_SHIFT 9)
    dnodeBlockBytes: 16 * 1024, // [R] DNODE_BLOCK_SHIFT 14: 32 dnodes per meta-dnode block
    objsetBytes: modern ? 4096 : 2048, // [R] OBJSET_PHYS_SIZE_V3 4096 / OBJSET_PHYS_SIZE_V2 2048
    accountingObjects: modern ? 3 : 2, // [R] DMU_USERUSED_OBJECT, DMU_GROUPUSED_OBJECT (+ DMU_PROJECTUSED_OBJECT)
    metaDnodeBlkptrs: 3, // [R] On-Disk Spec §3.1: dn_nblkptr 3 for a dnode without bonus
    znodeBlkptrs: 1, // [R] ZPL dnodes use a 320-byte bonus (DN_OLD_MAX_BONUSLEN): (448 - 320) / 128 = 1 blkptr
    maxObjectShift: 48, // [R] DN_MAX_OBJECT_SHIFT 48
    dataCopies: 1, // [R] the copies property defaults to 1
    datasetMetadataCopies: 2, // [R] dmu_write_policy: metadata gets copies + 1 (redundant_metadata=all)
    poolMetadataCopies: 3, // [R] MOS blocks are written with SPA_DVAS_PER_BP (3) copies
    dnodeHeaderBytes: 64, // [R] dnode_phys_t header before the block pointers
    znodeSaBytes: 168, // [R] estimate: ZPL SA layout of a file (times 4x16, mode, size, gen, uid, gid, parent, links, flags, SA header)
    bonusBytes: 320, // [R] DN_OLD_MAX_BONUSLEN
    compressMinSavingShift: 3, // [R] zio_compress_data: the result must be at most s_len - s_len/8
    zap: ZAP,
    uberblockBytes: Math.max(1024, sectorBytes), // [R] UBERBLOCK_SHIFT: max(10, ashift)
    labelsPerVdev: 4, // [R] On-Disk Spec §1.2: four vdev labels (two at the front, two at the end)
    bpobjEntryBytes: 128, // a block pointer
    bpobjBlockBytes: 128 * 1024, // [R] BPOBJ block size SPA_OLD_MAXBLOCKSIZE
  };
}

/** Smallest and largest recordsize (SPA_MINBLOCKSIZE; SPA_MAXBLOCKSIZE with large_blocks, else 128K). [R] */
export const RECORDSIZE_MIN = 512;
export const RECORDSIZE_MAX: Record<ZfsProfile, number> = { modern: 1024 * 1024, 'docker-1.3': 128 * 1024 };

/**
 * Transaction groups [R, OpenZFS txg.c / zfs_vfsops.c]: changes accumulate in the open txg and are written when it
 * syncs: every admin command (create, snapshot, clone, destroy, set) is a sync task that syncs its txg, and unmount
 * waits for the txg to sync (zfsvfs_teardown: txg_wait_synced). The 5-second zfs_txg_timeout and the dirty-data
 * threshold are not modelled: the simulator has no wall time, and instead `usage()` reads the pool as
 * `zpool sync; zpool list` would (the pending txg is synced first), so a trace's marks see what the op wrote.
 */
export const TXG_MODEL = 'sync at each admin command, unmount, and before reading usage' as const;

/**
 * The bootstrap objects a new ZPL filesystem holds before its root directory (zfs_create_fs), in object-number order,
 * with the ZAP entries each holds. [R] object names from zdb listings of a fresh dataset; exact numbering unverified.
 * The root directory takes the next object number.
 */
export const ZPL_BOOTSTRAP: readonly { readonly name: string; readonly entries: readonly string[]; readonly fat?: boolean }[] = [
  { name: 'ZFS master node', entries: ['VERSION', 'SA_ATTRS', 'DELETE_QUEUE', 'ROOT', 'SHARES'] },
  { name: 'SA master node', entries: ['LAYOUTS', 'REGISTRY'] },
  {
    name: 'SA attr registration',
    entries: [
      'ZPL_ATIME', 'ZPL_MTIME', 'ZPL_CTIME', 'ZPL_CRTIME', 'ZPL_GEN', 'ZPL_MODE', 'ZPL_SIZE', 'ZPL_PARENT',
      'ZPL_LINKS', 'ZPL_XATTR', 'ZPL_RDEV', 'ZPL_FLAGS', 'ZPL_UID', 'ZPL_GID', 'ZPL_PAD', 'ZPL_ZNODE_ACL',
      'ZPL_DACL_COUNT', 'ZPL_SYMLINK', 'ZPL_SCANSTAMP', 'ZPL_DACL_ACES', 'ZPL_DXATTR', 'ZPL_PROJID',
    ],
  },
  // layouts are arrays of attribute numbers, not single uint64 values: a fatzap from the start
  { name: 'SA attr layouts', entries: ['2', '3'], fat: true },
  { name: 'ZFS delete queue', entries: [] },
  { name: 'ZFS shares directory', entries: [] },
];

/**
 * MOS objects of one dataset (dsl_dir_create_sync, dsl_dataset_create_sync) [R]: the dsl_dir (bonus), its child-dir
 * map and properties ZAPs, the dsl_dataset (bonus), its snapshot-name ZAP and its dead list (a ZAP of bpobjs, one
 * bpobj to start). A snapshot adds a dsl_dataset and a new dead list for the head. Docker names datasets by the
 * 64-hex layer id (a fatzap name in the parent's child map) and snapshots by a nanosecond timestamp.
 */
export const DOCKER_DATASET_NAME_BYTES = 64;
export const DOCKER_SNAPSHOT_NAME_BYTES = 19;

/**
 * The pool's MOS before Docker creates anything (zpool create + `zfs create pool/docker`) [R, approximate]: object
 * directory, config (a packed nvlist), feature ZAPs, pool properties, history, the free bpobj, the root, $MOS, $FREE,
 * $ORIGIN dsl_dirs and datasets, and the docker parent dataset. Only its size enters (a constant under every figure).
 */
export const POOL_BASELINE_MOS: readonly { readonly name: string; readonly entries: number; readonly bytes?: number }[] = [
  { name: 'object directory', entries: 12 },
  { name: 'packed nvlist (config)', entries: 0, bytes: 16 * 1024 },
  { name: 'features_for_read', entries: 8 },
  { name: 'features_for_write', entries: 24 },
  { name: 'feature_descriptions', entries: 32 },
  { name: 'pool props', entries: 2 },
  { name: 'history', entries: 0, bytes: 4096 },
  { name: 'free bpobj', entries: 0 },
  { name: 'root dsl_dir', entries: 0 },
  { name: 'root child map', entries: 4 },
  { name: 'root props', entries: 0 },
  { name: '$MOS dsl_dir', entries: 0 },
  { name: '$FREE dsl_dir', entries: 0 },
  { name: '$ORIGIN dsl_dir', entries: 0 },
  { name: '$ORIGIN dataset', entries: 0 },
  { name: '$ORIGIN snapshot', entries: 0 },
  { name: 'root dataset', entries: 0 },
  { name: 'docker dsl_dir', entries: 0 },
  { name: 'docker dataset', entries: 0 },
  { name: 'docker props', entries: 1 },
];
