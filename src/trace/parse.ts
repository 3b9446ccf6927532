import { opSchemas, type OpName, type TraceOp } from './schema.js';

/** A trace line that cannot be used: the file, the 1-based line and why. Exit status 2 at the CLI. */
export class TraceError extends Error {
  constructor(
    readonly file: string,
    readonly line: number,
    readonly reason: string,
  ) {
    super(`${file}:${line}: ${reason}`);
    this.name = 'TraceError';
  }
}

export interface TraceLine {
  /** 1-based, counting comments and blank lines. */
  readonly line: number;
  readonly op: TraceOp;
}

/** Parses a whole JSONL trace before anything runs, so a malformed line changes nothing. */
export function parseTrace(text: string, file = '<trace>'): TraceLine[] {
  const out: TraceLine[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i]!.trim();
    if (raw === '' || raw.startsWith('#')) continue;
    out.push({ line: i + 1, op: parseOp(raw, file, i + 1) });
  }
  return out;
}

function parseOp(raw: string, file: string, line: number): TraceOp {
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch (e) {
    throw new TraceError(file, line, `bad JSON: ${(e as Error).message}`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new TraceError(file, line, 'not a JSON object');
  }
  const name = (value as { op?: unknown }).op;
  if (typeof name !== 'string') throw new TraceError(file, line, 'missing `op`');
  if (!Object.hasOwn(opSchemas, name)) throw new TraceError(file, line, `unknown op '${name}'`);
  const result = opSchemas[name as OpName].safeParse(value);
  if (!result.success) {
    const issue = result.error.issues[0]!;
    const where = issue.path.length > 0 ? `\`${issue.path.join('.')}\`: ` : '';
    throw new TraceError(file, line, `${name}: ${where}${issue.message}`);
  }
  return { ...(result.data as object), op: name } as TraceOp;
}
