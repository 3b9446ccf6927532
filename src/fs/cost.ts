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
    this.dataBytes = 0;
    this.metadataBytes = 0;
    this.copyUpBytes = 0;
    this.lookups = 0;
  }

  snapshot(): { dataBytes: number; metadataBytes: number; copyUpBytes: number; lookups: number } {
    return {
      dataBytes: this.dataBytes,
      metadataBytes: this.metadataBytes,
      copyUpBytes: this.copyUpBytes,
      lookups: this.lookups,
    };
  }
}
