import type { StepName } from './experiment.js';

/** A measured figure to compare a simulated step with: what was measured, where, and how close counts as agreement. */
export interface StepTarget {
  readonly step: StepName;
  /** A usage figure: dataBytes, metadataBytes, dfUsedBytes, or a model's own (devicemapper takenDataBytes). */
  readonly metric: string;
  /** Mean growth per container (or per commit) over the step. */
  readonly bytes: number;
  /** Growth of the first container of the step, where the source reports it separately. */
  readonly firstBytes?: number;
  /** Agreement: within this many bytes (the review's block-quantised figures), or within this fraction. */
  readonly tolerance: { readonly bytes: number } | { readonly fraction: number };
}

/** One driver configuration and the figures measured for it. */
export interface CalibrationCase {
  readonly label: string;
  readonly driver: string;
  readonly options: Readonly<Record<string, string>>;
  readonly source: string;
  readonly targets: readonly StepTarget[];
  /** Seconds per container (or commit) the source measured, within 25%. */
  readonly seconds?: Readonly<Partial<Record<StepName, number>>>;
}

const KiB = 1024;
const POOL_BLOCK = 64 * KiB;
const META_BLOCK = 4 * KiB;
const withinBlock = (bytes: number) => ({ bytes });
const within = (fraction: number) => ({ fraction });

/**
 * The review's figures (calibration/blog-2014.md: `docker info` Data/Metadata Space Used and `df`, decomposed into
 * 64 KiB pool blocks and 4 KiB metadata blocks) and the same experiment on Linux 6.18
 * (calibration/kernel-6.18-blog-experiment.md: thin 64K chunks, btrfs fi df / df, overlay df on ext4).
 */
export const CALIBRATION_CASES: readonly CalibrationCase[] = [
  {
    label: 'devicemapper loop-lvm ext4 (review 2014)',
    driver: 'devicemapper',
    options: { profile: 'docker-1.3', mode: 'loop-lvm', fs: 'ext4' },
    source: 'blog-2014.md: +1 MB/+41 KB run, +0.5 MB/+20 KB commit, +1 MB/+41 KB run from snapshot',
    targets: [
      { step: 'run', metric: 'dataBytes', bytes: 16 * POOL_BLOCK, tolerance: withinBlock(POOL_BLOCK) },
      { step: 'run', metric: 'metadataBytes', bytes: 10 * META_BLOCK, tolerance: withinBlock(META_BLOCK) },
      { step: 'commit', metric: 'dataBytes', bytes: 8 * POOL_BLOCK, tolerance: withinBlock(POOL_BLOCK) },
      { step: 'commit', metric: 'metadataBytes', bytes: 5 * META_BLOCK, tolerance: withinBlock(META_BLOCK) },
      { step: 'run from commit', metric: 'dataBytes', bytes: 16 * POOL_BLOCK, tolerance: withinBlock(POOL_BLOCK) },
      { step: 'run from commit', metric: 'metadataBytes', bytes: 10 * META_BLOCK, tolerance: withinBlock(META_BLOCK) },
    ],
    seconds: { run: 1.7, commit: 1.6, 'run from commit': 1.3 },
  },
  {
    label: 'devicemapper direct-lvm xfs (review 2014)',
    driver: 'devicemapper',
    options: { profile: 'docker-1.3', mode: 'direct-lvm', fs: 'xfs' },
    source: 'blog-2014.md: +5.5 MB/+8.2 KB run, +2.7 MB/+4 KB commit',
    targets: [
      { step: 'run', metric: 'dataBytes', bytes: 84 * POOL_BLOCK, tolerance: withinBlock(POOL_BLOCK) },
      { step: 'run', metric: 'metadataBytes', bytes: 2 * META_BLOCK, tolerance: withinBlock(META_BLOCK) },
      { step: 'commit', metric: 'dataBytes', bytes: 41 * POOL_BLOCK, tolerance: withinBlock(POOL_BLOCK) },
      { step: 'commit', metric: 'metadataBytes', bytes: 1 * META_BLOCK, tolerance: withinBlock(META_BLOCK) },
    ],
    seconds: { run: 1.7, commit: 1.6, 'run from commit': 1.6 },
  },
  {
    label: 'btrfs (review 2014, df)',
    driver: 'btrfs',
    options: { profile: 'docker-1.3' },
    source: 'blog-2014.md: +256 KB run, +128 KB commit (first +672 KB), ~+256 KB run from snapshot (first +700 KB)',
    targets: [
      { step: 'run', metric: 'dfUsedBytes', bytes: 256 * KiB, tolerance: within(0.25) },
      { step: 'commit', metric: 'dfUsedBytes', bytes: 128 * KiB, firstBytes: 672 * KiB, tolerance: within(0.25) },
      { step: 'run from commit', metric: 'dfUsedBytes', bytes: 256 * KiB, firstBytes: 700 * KiB, tolerance: within(0.25) },
    ],
    seconds: { run: 0.92, commit: 0.17, 'run from commit': 0.45 },
  },
  {
    label: 'devicemapper ext4 (Linux 6.18)',
    driver: 'devicemapper',
    options: { profile: 'modern', fs: 'ext4' },
    source:
      'kernel-6.18-blog-experiment.md: dm ext4 mkfs=docker13 mount=discard commit=docker13, thin chunks 64K (chunks each device took: provisioned or copied to break sharing)',
    targets: [
      { step: 'run', metric: 'takenDataBytes', bytes: 1152 * KiB, tolerance: within(0.15) },
      { step: 'commit', metric: 'takenDataBytes', bytes: 1024 * KiB, tolerance: within(0.15) },
      { step: 'run from commit', metric: 'takenDataBytes', bytes: 960 * KiB, tolerance: within(0.15) },
    ],
  },
  {
    label: 'devicemapper xfs (Linux 6.18)',
    driver: 'devicemapper',
    options: { profile: 'modern', fs: 'xfs' },
    source:
      'kernel-6.18-blog-experiment.md: dm xfs mkfs=docker13 mount=discard,nouuid commit=docker13, thin chunks 64K (chunks each device took)',
    targets: [
      { step: 'run', metric: 'takenDataBytes', bytes: 4992 * KiB, tolerance: within(0.15) },
      { step: 'commit', metric: 'takenDataBytes', bytes: 7040 * KiB, tolerance: within(0.15) },
      { step: 'run from commit', metric: 'takenDataBytes', bytes: 4729.6 * KiB, tolerance: within(0.15) },
    ],
  },
  {
    label: 'btrfs DUP (Linux 6.18)',
    driver: 'btrfs',
    options: { profile: 'modern' },
    source: 'kernel-6.18-blog-experiment.md: btrfs default (DUP) commit=docker13 seq=docker13 (repeats 1-2)',
    targets: [
      { step: 'run', metric: 'dfUsedBytes', bytes: 320 * KiB, tolerance: within(0.15) },
      { step: 'run', metric: 'dataBytes', bytes: 64 * KiB, tolerance: within(0.15) },
      { step: 'run', metric: 'metadataBytes', bytes: 128 * KiB, tolerance: within(0.15) },
      { step: 'commit', metric: 'dfUsedBytes', bytes: 198.4 * KiB, tolerance: within(0.15) },
      { step: 'commit', metric: 'dataBytes', bytes: 64 * KiB, tolerance: within(0.15) },
      { step: 'commit', metric: 'metadataBytes', bytes: 67.2 * KiB, tolerance: within(0.15) },
      { step: 'run from commit', metric: 'dfUsedBytes', bytes: 265.6 * KiB, tolerance: within(0.15) },
      { step: 'run from commit', metric: 'metadataBytes', bytes: 132.8 * KiB, tolerance: within(0.15) },
    ],
  },
  {
    label: 'overlay2 on ext4 (Linux 6.18)',
    driver: 'overlay2',
    options: { profile: 'modern' },
    source: 'kernel-6.18-blog-experiment.md: overlay on ext4 commit=diffdir_copy seq=docker13, df used',
    targets: [
      { step: 'run', metric: 'dfUsedBytes', bytes: 128 * KiB, tolerance: within(0.15) },
      { step: 'commit', metric: 'dfUsedBytes', bytes: 80 * KiB, tolerance: within(0.15) },
      { step: 'run from commit', metric: 'dfUsedBytes', bytes: 64 * KiB, tolerance: within(0.15) },
    ],
  },
];
