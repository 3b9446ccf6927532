/**
 * `layersim explain`: a trace replayed on each driver, every line narrated per driver from what the mechanism did
 * (the line's cost record and the difference of the driver's structures before and after it), and each container
 * layer drawn at the end.
 */
import type { DriverModel } from '../engine/driver.js';
import { formatBytes } from '../report/format.js';
import { TraceRunner, type OpCost } from '../trace/execute.js';
import { parseTrace, TraceError } from '../trace/parse.js';
import { hostFor, imagePrelude, type RunRequest } from '../cli/run-trace.js';
import type { TraceOp } from '../trace/schema.js';
import type { Fact } from './facts.js';
import type { Mechanism } from './contract.js';
import { pictureOf, pictureText, type ContainerPicture } from './pictures.js';
import { probeFor } from './probes.js';

/** What explain replays: the same request as `layersim run` (trace, models, options, --image). */
export type ExplainRequest = RunRequest;

/** One driver's account of one line. */
export interface ExplainCell {
  readonly driver: string;
  readonly outcome: string;
  readonly held: boolean | null;
  readonly cost: OpCost;
  readonly facts: readonly Fact[];
  /** The facts' phrases joined: the narrative. */
  readonly summary: string;
}

export interface ExplainLine {
  readonly line: number;
  readonly op: string;
  /** The op as a short command (`write /var/lib/db @4096 +4096`). */
  readonly label: string;
  readonly cells: readonly ExplainCell[];
}

export interface ExplainDriver {
  readonly driver: string;
  readonly mechanism: Mechanism;
  readonly options: Readonly<Record<string, string>>;
  readonly containers: readonly ContainerPicture[];
}

export interface ExplainReport {
  readonly drivers: readonly ExplainDriver[];
  readonly lines: readonly ExplainLine[];
}

const LIFECYCLE = new Set(['driver', 'image', 'run', 'use', 'stop', 'commit', 'rm', 'rmi', 'mark', 'as', 'export', 'save']);

/** The `driver` lines of the trace for this model, then the command line's options it declares. */

/** The op as a short command line. */
export function labelOf(op: TraceOp): string {
  const o = op as Record<string, unknown>;
  const bits: string[] = [op.op];
  for (const k of ['container', 'image', 'name', 'path', 'from', 'to', 'target', 'label']) if (typeof o[k] === 'string') bits.push(k === 'to' ? `-> ${o[k]}` : String(o[k]));
  if (typeof o['mode'] === 'number') bits.push(`0${o['mode'].toString(8)}`);
  if (typeof o['offset'] === 'number') bits.push(`@${o['offset']}`);
  if (typeof o['length'] === 'number') bits.push(`+${formatBytes(o['length'])}`);
  if (typeof o['data'] === 'string') bits.push(`+${formatBytes(new TextEncoder().encode(o['data']).length)}`);
  if (typeof o['bs'] === 'number' && typeof o['count'] === 'number') bits.push(`bs=${formatBytes(o['bs'])} count=${o['count']}`);
  if (typeof o['size'] === 'number') bits.push(`size=${o['size']}`);
  if (typeof o['expect'] === 'string') bits.push(`(expect ${o['expect']})`);
  return bits.join(' ');
}

/** Which container a line acts in: its `in`, else the current one. */
function targetOf(op: TraceOp, current: string | undefined): string | undefined {
  const o = op as { in?: string };
  return o.in ?? current;
}

/** Replays the trace on every model and narrates each line per driver; throws `TraceError` for unusable input. */
export function explainTrace(req: ExplainRequest): ExplainReport {
  const lines = parseTrace(req.text, req.file);
  const prelude = imagePrelude(req.image);
  const drivers: ExplainDriver[] = [];
  const byLine: ExplainCell[][] = lines.map(() => []);
  for (const model of req.models) {
    const host = hostFor(model, lines, req);
    // block stores write data back later (btrfs delayed allocation, jbd2 commits): explain narrates each line as it
    // lands on disk, so the store settles after each line (as `sync` would) and the line's cost includes it
    const runner = new TraceRunner(host, req.file, req.loadImage, req.writeArchive, true);
    for (const l of prelude) {
      const r = runner.runLine(l);
      if (r.outcome !== 'ok') throw new TraceError(req.file, 0, `--image ${req.image}: ${r.op} failed with ${r.outcome}`);
    }
    const probe = probeFor(host);
    let current: string | undefined = prelude.length > 0 ? 'c' : undefined;
    lines.forEach((l, i) => {
      const target = targetOf(l.op, current);
      const fileOp = !LIFECYCLE.has(l.op.op);
      const layerBefore = fileOp && target !== undefined ? host.containers.get(target)?.layer : undefined;
      const before = probe.snapshot(layerBefore);
      const r = runner.runLine(l);
      if (l.op.op === 'run' && r.outcome === 'ok') current = l.op.container;
      if (l.op.op === 'use' && r.outcome === 'ok') current = l.op.container;
      if (l.op.op === 'rm' && r.outcome === 'ok' && current === l.op.container) current = undefined;
      const layerAfter = fileOp && target !== undefined ? host.containers.get(target)?.layer : undefined;
      const after = probe.snapshot(layerAfter);
      const facts = probe.facts(before, after, { op: l.op.op, outcome: r.outcome, cost: r.cost, fileOp });
      if (r.held === false && r.outcome === 'ok') facts.unshift({ kind: 'errno', errno: 'assertion', text: `expected ${r.expected ?? 'a different state'}, got ok` });
      byLine[i]!.push({ driver: model.name, outcome: r.outcome, held: r.held, cost: r.cost, facts, summary: facts.map(f => f.text).join('; ') });
    });
    drivers.push({
      driver: model.name,
      mechanism: probe.mechanism,
      options: host.options,
      containers: [...host.containers.values()].map(c => ({ container: c.name, layer: c.layer, picture: pictureOf(host, c.layer) })),
    });
  }
  return {
    drivers,
    lines: lines.map((l, i) => ({ line: l.line, op: l.op.op, label: labelOf(l.op), cells: byLine[i]! })),
  };
}

/**
 * The report as text: per line, one row per driver, then each container layer's picture per driver, drawn by the
 * driver's model among `models` when the model drew it.
 */
export function formatExplain(report: ExplainReport, models: readonly DriverModel[], opts: { width?: number } = {}): string {
  const width = opts.width ?? 120;
  const nameWidth = Math.max(...report.drivers.map(d => d.driver.length), 6) + 2;
  const out: string[] = [];
  for (const l of report.lines) {
    out.push(`line ${l.line}: ${l.label}`);
    for (const c of l.cells) out.push(...wrap(`  ${c.driver.padEnd(nameWidth)}`, c.summary, width));
  }
  for (const d of report.drivers) {
    for (const c of d.containers) {
      out.push('');
      out.push(`== ${d.driver}: container ${c.container} (layer ${c.layer})`);
      out.push(...pictureText(c.picture, models.find(m => m.name === d.driver)).map(s => `  ${s}`));
    }
  }
  return out.join('\n');
}

/** A narrative cell wrapped at `width`, continuation lines indented under the first. */
function wrap(head: string, text: string, width: number): string[] {
  const room = Math.max(30, width - head.length);
  const lines: string[] = [];
  let cur = '';
  for (const word of text.split(' ')) {
    if (cur !== '' && cur.length + 1 + word.length > room) {
      lines.push(cur);
      cur = word;
    } else cur = cur === '' ? word : `${cur} ${word}`;
  }
  lines.push(cur);
  return lines.map((s, i) => (i === 0 ? head : ' '.repeat(head.length)) + s);
}
