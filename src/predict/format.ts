/** `layersim predict` as text tables (default) and CSV (one row per driver x container). */
import { formatBytes, renderTable } from '../report/format.js';
import type { CostRow, DriverPrediction, PredictReport, SeriesPoint } from './simulate.js';

function scheduleText(r: PredictReport): string {
  return r.schedule.kind === 'all' ? 'all from the image' : `a commit every ${r.schedule.every} containers, later ones run from it`;
}

/** Container counts shown in the growth table: 1, 2, 5, 10, 20, 50 ... up to N, and N. */
export function checkpoints(n: number): number[] {
  const out: number[] = [];
  for (let base = 1; base <= n; base *= 10) for (const m of [1, 2, 5]) if (base * m <= n) out.push(base * m);
  if (out.at(-1) !== n) out.push(n);
  return out;
}

function costLines(d: DriverPrediction, rows: CostRow[], by: string, top: number): string[][] {
  return rows.slice(0, top).map(r => [d.driver, by, r.key, String(r.count), formatBytes(r.dataBytes), formatBytes(r.metadataBytes), formatBytes(r.copyUpBytes), formatBytes(r.allocatedBytes)]);
}

/** The summary row of a driver: the final figures, as the ranking table prints them. */
export function summaryRow(r: PredictReport, d: DriverPrediction): string[] {
  const rank = r.ranking.find(x => x.driver === d.driver)!.rank;
  const f = d.final;
  return [
    String(rank),
    d.driver,
    formatBytes(f.dfUsedBytes),
    formatBytes(d.growth.dfUsedBytes),
    formatBytes(f.dataBytes),
    formatBytes(f.metadataBytes),
    formatBytes(f.sizeRwBytes),
    formatBytes(f.pageCacheBytes),
    formatBytes(f.copyUpBytes),
    formatBytes(f.writtenBytes),
    f.dockerInfo ? `${formatBytes(f.dockerInfo.dataSpaceUsedBytes)} / ${formatBytes(f.dockerInfo.metadataSpaceUsedBytes)}` : '-',
  ];
}

export const SUMMARY_HEADER = ['rank', 'driver', 'df used', 'df growth', 'data', 'metadata', 'docker ps -s', 'page cache', 'copy-up', 'written', 'docker info data/meta'];

export function formatPrediction(r: PredictReport, top = 4): string {
  const out: string[] = [];
  out.push(
    `${r.containers} containers of ${r.image.source} (${r.image.layers} layers, ${formatBytes(r.image.sizeBytes)}), each running ${r.workload.kind} ${r.workload.source} (${r.workload.lines} lines)` +
      `${r.exec !== null ? ` after executing ${r.exec}` : ''}; ${scheduleText(r)}; ${r.intervalSeconds} s apart, read after ${r.settleSeconds} s idle`,
    '',
    'Drivers ranked by final df:',
    renderTable([SUMMARY_HEADER, ...[...r.drivers].sort((a, b) => r.ranking.findIndex(x => x.driver === a.driver) - r.ranking.findIndex(x => x.driver === b.driver)).map(d => summaryRow(r, d))]),
  );
  const rows: string[][] = [['containers', ...r.drivers.map(d => d.driver)]];
  const at = (d: DriverPrediction, n: number): SeriesPoint | undefined => d.series[n - 1];
  for (const n of checkpoints(r.containers)) {
    rows.push([String(n), ...r.drivers.map(d => {
      const p = at(d, n);
      return p === undefined ? '-' : formatBytes(p.dfUsedBytes - d.baseline.dfUsedBytes);
    })]);
  }
  out.push('', 'df growth since the image load, after N containers:', renderTable(rows));
  const cost: string[][] = [['driver', 'by', 'key', 'count', 'data', 'metadata', 'copy-up', 'allocated']];
  for (const d of r.drivers) cost.push(...costLines(d, d.costs.byOp, 'op', top), ...costLines(d, d.costs.byPrefix, 'path', top));
  out.push('', `Where the cost goes (top ${top} op kinds and path prefixes by allocated bytes, all containers):`, renderTable(cost));
  const notes: string[] = [];
  for (const d of r.drivers) {
    if (d.stopped) notes.push(`${d.driver}: stopped at container ${d.stopped.container}: ${d.stopped.step} failed with ${d.stopped.reason}`);
    if (d.failedOps.count > 0) {
      const f = d.failedOps.first[0]!;
      notes.push(`${d.driver}: ${d.failedOps.count} workload op(s) failed (first: container ${f.container}, line ${f.line} ${f.op}: ${f.outcome})`);
    }
  }
  if (notes.length > 0) out.push('', ...notes);
  return out.join('\n');
}

export const CSV_COLUMNS = [
  'driver', 'container', 'image', 'timeSeconds', 'dataBytes', 'metadataBytes', 'dfUsedBytes', 'allocatedBytes', 'apparentBytes',
  'sizeRwBytes', 'pageCacheBytes', 'copyUpBytes', 'writtenBytes', 'dockerInfoDataSpaceUsedBytes', 'dockerInfoMetadataSpaceUsedBytes',
] as const;

function csvCell(v: string | number | undefined): string {
  if (v === undefined) return '';
  const s = String(v);
  return /[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** One row per driver x container index (1..N), every figure in bytes. */
export function formatCsv(r: PredictReport): string {
  const lines = [CSV_COLUMNS.join(',')];
  for (const d of r.drivers) {
    for (const p of d.series) {
      lines.push(
        [d.driver, p.container, p.image, p.timeSeconds, p.dataBytes, p.metadataBytes, p.dfUsedBytes, p.allocatedBytes, p.apparentBytes, p.sizeRwBytes, p.pageCacheBytes, p.copyUpBytes, p.writtenBytes, p.dockerInfo?.dataSpaceUsedBytes, p.dockerInfo?.metadataSpaceUsedBytes]
          .map(csvCell)
          .join(','),
      );
    }
  }
  return lines.join('\n') + '\n';
}
