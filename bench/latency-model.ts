/**
 * The simulated-latency cost model of the write-pattern benchmarks (bench/patterns.ts): one place, every parameter
 * with its value and where it comes from. It is applied to the counters a pattern run collects (the host's cost meter
 * and the syscalls the pattern made), never to wall-clock time, so it is deterministic.
 *
 * What "latency" means here: the time the storage stack needs to do the pattern's work and get it to stable storage
 * (the CPU cost of the syscalls, the device time for every byte the driver wrote, including writeback that happens
 * after the syscalls return, and the flushes the driver itself issues). It is a service time on one idle device at
 * queue depth 1, not a throughput under concurrency; it is meant to rank drivers on a pattern, not to predict seconds.
 *
 * The reference device is a SATA SSD (Samsung 850 EVO class): SATA is what the 2014-era measurements the project
 * calibrates against ran on, and its datasheet gives both a sequential and a QD1 random 4 KiB write figure.
 */

/** A parameter: its value, its unit, and where the value comes from (a measurement, a datasheet, or an assumption). */
export interface LatencyParam {
  readonly value: number;
  readonly unit: string;
  readonly source: string;
}

export const LATENCY_MODEL = {
  device: 'SATA SSD, Samsung 850 EVO class, one device at queue depth 1, volatile write cache',
  seqWriteBytesPerSec: {
    value: 520e6,
    unit: 'B/s',
    source:
      'Samsung 850 EVO specification: "Sequential Write: Max. 520 MB/s" (the SATA 6 Gb/s class ceiling); charged to ' +
      'bytes written front to back: copy-up and layer copies (1 MiB chunks, copy_up.c OVL_COPY_UP_CHUNK_SIZE), ' +
      'sequential and append writes after writeback merged them',
  },
  random4kWriteUs: {
    value: 25,
    unit: 'µs per 4 KiB block',
    source:
      'Samsung 850 EVO specification: "4KB Random Write (QD1): Max. 40,000 IOPS" = 25 µs per block; charged per 4 KiB ' +
      'block of data written at scattered offsets (the random-overwrite pattern) and per 4 KiB block of metadata',
  },
  flushUs: {
    value: 5_636,
    unit: 'µs per fsync',
    source:
      'pg_test_fsync "fsync" of one 8 kB write on a consumer SSD with a volatile write cache (Samsung 990 PRO, xfs): ' +
      '177 ops/s = 5,636 µs/op (tanelpoder.com/posts/using-pg-test-fsync-for-testing-low-latency-writes, 2025); ' +
      'a full fsync (journal commit + FLUSH CACHE), as overlayfs copy-up issues vfs_fsync(new_file, datasync=0). ' +
      'Mizusawa et al., IEEE SMARTCOMP 2018: copy-up writes are "severely low" because of this synchronisation, and ' +
      'dropping it made them up to 680x faster (research/ground-truth.md)',
  },
  syscallUs: {
    value: 1.5,
    unit: 'µs per syscall',
    source:
      'assumption: a cached open/close, write into the page cache, chmod or unlink on Linux x86-64 costs about ' +
      '1-2 µs of CPU (lmbench lat_syscall "open/close" order of magnitude); not measured here',
  },
  lookupUs: {
    value: 0.05,
    unit: 'µs per directory probe',
    source:
      'assumption: one dcache hash lookup (d_lookup) is tens of ns; charged per probe the model counts ' +
      '(CostMeter.lookups: one per branch a union lookup visits)',
  },
  blockBytes: {
    value: 4096,
    unit: 'B',
    source: 'the page and ext4 block size: the unit random writes and metadata blocks are charged in',
  },
} as const satisfies Record<string, LatencyParam | string>;

/**
 * Which drivers fsync each file they copy up (the flush is charged per data copy-up: an op that copied file data).
 * A metadata-only copy-up (metacopy=on) and an O_TRUNC copy-up copy no data, and ovl_copy_up_file returns before its
 * fsync when there is nothing to copy (len == 0), so they are not charged.
 */
export const COPY_UP_FSYNC: Readonly<Record<string, { readonly fsync: boolean; readonly source: string }>> = {
  overlay2: { fsync: true, source: 'fs/overlayfs/copy_up.c ovl_copy_up_file: vfs_fsync(new_file, 0) unless volatile (Linux 5.10+) — research/driver-semantics.md copy-up row' },
  aufs: { fsync: false, source: 'aufs cpup.c au_copy_file/au_do_copy_file: a read/write loop with no vfs_fsync (inferred from the source; not measured)' },
  vfs: { fsync: false, source: 'no copy-up: layers are copied whole at creation (cp -a), with no fsync per file' },
  devicemapper: { fsync: false, source: 'dm-thin breaks sharing inside the kernel (a block copy by kcopyd before the write completes): no flush is issued' },
  btrfs: { fsync: false, source: 'reflink CoW: new extents written at writeback, no flush per shared extent' },
  zfs: { fsync: false, source: 'copy on write of records within the txg: no flush per shared record' },
};

/** What one pattern run on one driver counted: the inputs of the model. */
export interface PatternCounters {
  /** Syscalls the pattern made (open, write, close, chmod...). */
  readonly syscalls: number;
  /** Directory probes the model counted (CostMeter.lookups). */
  readonly lookups: number;
  /** File data bytes written to the store (CostMeter.dataBytes), copy-up included. */
  readonly dataBytes: number;
  /** Metadata bytes written (CostMeter.metadataBytes). */
  readonly metadataBytes: number;
  /** Bytes of file data copied from a lower layer or a shared block/extent (CostMeter.copyUpBytes). */
  readonly copyUpBytes: number;
  /** Operations during which file data was copied up (each is one copy-up of one file on a union driver). */
  readonly copyUpOps: number;
  /** How the application's own data reaches the device: merged front to back, or scattered 4 KiB blocks. */
  readonly access: 'sequential' | 'random';
}

/** The simulated latency, split by what it is spent on (µs). */
export interface LatencyBreakdown {
  cpuUs: number;
  copyUpUs: number;
  dataUs: number;
  metadataUs: number;
  flushUs: number;
  totalUs: number;
}

/**
 * The model: CPU = syscalls x syscallUs + lookups x lookupUs; copy-up data at sequential bandwidth; the rest of the
 * data at sequential bandwidth or, for scattered writes, per 4 KiB block at the random-write cost; metadata per 4 KiB
 * block at the random-write cost (in-place checkpoint of journalled blocks); one flush per fsync'd copy-up.
 */
export function simulatedLatency(driver: string, c: PatternCounters): LatencyBreakdown {
  const m = LATENCY_MODEL;
  const block = m.blockBytes.value;
  const seqUs = (bytes: number): number => (bytes / m.seqWriteBytesPerSec.value) * 1e6;
  const randUs = (bytes: number): number => Math.ceil(bytes / block) * m.random4kWriteUs.value;
  const ownData = Math.max(0, c.dataBytes - c.copyUpBytes);
  const cpuUs = c.syscalls * m.syscallUs.value + c.lookups * m.lookupUs.value;
  const copyUpUs = seqUs(c.copyUpBytes);
  const dataUs = c.access === 'random' ? randUs(ownData) : seqUs(ownData);
  const metadataUs = randUs(c.metadataBytes);
  const flushUs = (COPY_UP_FSYNC[driver]?.fsync === true ? c.copyUpOps : 0) * m.flushUs.value;
  return { cpuUs, copyUpUs, dataUs, metadataUs, flushUs, totalUs: cpuUs + copyUpUs + dataUs + metadataUs + flushUs };
}

/** The model's parameters as lines of text (for the report). */
export function describeLatencyModel(): string[] {
  const lines = [`device: ${LATENCY_MODEL.device}`];
  for (const [name, p] of Object.entries(LATENCY_MODEL)) {
    if (typeof p === 'string') continue;
    lines.push(`${name} = ${p.value} ${p.unit}: ${p.source}`);
  }
  for (const [driver, f] of Object.entries(COPY_UP_FSYNC)) lines.push(`copy-up fsync on ${driver}: ${f.fsync ? 'yes' : 'no'} (${f.source})`);
  return lines;
}
