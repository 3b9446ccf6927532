/** A one-line progress bar on stderr for long sweeps (drawn only when stderr is a terminal). */

export interface ProgressStream {
  write(s: string): boolean;
  columns?: number;
}

export class ProgressBar {
  private done = 0;
  private last = 0;
  private drawn = false;

  constructor(
    private readonly total: number,
    private readonly stream: ProgressStream,
    /** Milliseconds between redraws. */
    private readonly every = 80,
  ) {}

  tick(label: string): void {
    this.done++;
    const now = performance.now();
    if (this.done < this.total && now - this.last < this.every) return;
    this.last = now;
    const width = Math.max(10, Math.min(40, (this.stream.columns ?? 80) - 30 - label.length));
    const filled = Math.round((this.done / this.total) * width);
    const pct = Math.floor((this.done / this.total) * 100);
    this.stream.write(`\r[${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${String(pct).padStart(3)}% ${this.done}/${this.total} ${label}`.slice(0, (this.stream.columns ?? 80) - 1) + '\x1b[K');
    this.drawn = true;
  }

  /** Clears the line. */
  finish(): void {
    if (this.drawn) this.stream.write('\r\x1b[K');
    this.drawn = false;
  }
}
