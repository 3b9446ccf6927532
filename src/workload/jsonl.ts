import type { TraceOp } from '../trace/schema.js';
import { O_ACCMODE, OPEN_FLAG_BITS } from '../vfs/syscalls.js';

/** Open flags (a number, as `parseTrace` returns them) as the trace's string form: "O_WRONLY|O_CREAT|O_TRUNC". */
export function flagsToString(flags: number): string {
  const parts: string[] = [];
  const access = flags & O_ACCMODE;
  parts.push(access === 0 ? 'O_RDONLY' : access === 1 ? 'O_WRONLY' : access === 2 ? 'O_RDWR' : 'O_ACCMODE');
  if (access === O_ACCMODE) throw new Error('open flags: access mode 3 has no trace form');
  let rest = flags & ~O_ACCMODE;
  for (const [name, bit] of Object.entries(OPEN_FLAG_BITS)) {
    if (bit > O_ACCMODE && (rest & bit) === bit) {
      parts.push(name);
      rest &= ~bit;
    }
  }
  if (rest !== 0) throw new Error(`open flags: bits 0o${rest.toString(8)} have no trace form`);
  return parts.join('|');
}

/** One op as the JSON object of its trace line (flags as strings, modes as octal strings, undefined fields dropped). */
export function toJsonObject(op: TraceOp): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(op)) {
    if (v === undefined) continue;
    if (k === 'flags' && typeof v === 'number') out[k] = flagsToString(v);
    else if (k === 'mode' && typeof v === 'number') out[k] = `0${v.toString(8).padStart(3, '0')}`;
    else out[k] = v;
  }
  return out;
}

/**
 * Serialises ops as a JSONL trace (shared/spec/trace-format.md) that `parseTrace` reads back into the same ops.
 * `header` lines (e.g. a provenance note) are written first as `#` comments.
 */
export function toJsonl(ops: readonly TraceOp[], header: readonly string[] = []): string {
  const lines = header.map(h => `# ${h.replace(/\n/g, ' ')}`);
  for (const op of ops) {
    // `op` first, as in the spec's examples
    const { op: name, ...rest } = toJsonObject(op);
    lines.push(JSON.stringify({ op: name, ...rest }));
  }
  return lines.join('\n') + '\n';
}
