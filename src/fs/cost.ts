/**
 * What one operation cost the storage below a container, accumulated by the mechanisms as they act.
 * `allocatedBytes` is not accumulated here: the engine derives it from the usage before and after the op.
 */
export class CostMeter {
  /** File data bytes written to the backing store (including copy-up and layer copies). */
  dataBytes = 0;
  /** Metadata bytes written: inodes, directory blocks, xattr blocks, tree nodes. */
  metadataBytes = 0;
  /** Bytes of file data copied from a lower layer into a writable one. */
  copyUpBytes = 0;
  /** Directory or tree probes performed to resolve names. */
  lookups = 0;

  reset(): void {
    resetMeter(this);
  }

  snapshot(): MeterReading {
    return readMeter(this);
  }
}

/** A meter's four figures at one moment. */
export interface MeterReading {
  dataBytes: number;
  metadataBytes: number;
  copyUpBytes: number;
  lookups: number;
}

/** Zeroes a meter (also one whose figures are accessors forwarding to another meter: models' per-store meters). */
export function resetMeter(m: MeterReading): void {
  m.dataBytes = 0;
  m.metadataBytes = 0;
  m.copyUpBytes = 0;
  m.lookups = 0;
}

/** A meter's figures as a plain object. */
export function readMeter(m: MeterReading): MeterReading {
  return { dataBytes: m.dataBytes, metadataBytes: m.metadataBytes, copyUpBytes: m.copyUpBytes, lookups: m.lookups };
}
