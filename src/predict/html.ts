/** `--html FILE`: one self-contained page (inline CSS and SVG, no scripts, no external assets). */
import { formatBytes } from '../report/format.js';
import { checkpoints, summaryRow, SUMMARY_HEADER } from './format.js';
import type { DriverPrediction, Figures, PredictReport } from './simulate.js';
import { escapeXml, lineChart, stackedBars } from './svg.js';

/** The charts of the page, by id (tests look for each). */
export const CHART_IDS = ['chart-df', 'chart-data', 'chart-metadata', 'chart-sizerw', 'chart-pagecache', 'chart-time', 'chart-where'] as const;

const SEGMENTS = ['data', 'metadata', 'page cache', 'copy-up (written)'];
const SEGMENT_COLORS = ['#4e79a7', '#f28e2b', '#59a14f', '#e15759'];

function growthChart(r: PredictReport, id: string, title: string, figure: keyof Figures, fromBaseline: boolean): string {
  return lineChart({
    id,
    title,
    xLabel: 'containers run',
    yLabel: fromBaseline ? 'growth since the image load' : 'total',
    xKind: 'count',
    yKind: 'bytes',
    series: r.drivers.map(d => ({
      name: d.driver,
      points: [[0, 0] as const, ...d.series.map(p => [p.container, p[figure] - (fromBaseline ? d.baseline[figure] : 0)] as const)],
    })),
  });
}

function table(rows: readonly (readonly string[])[], cls = ''): string {
  const [head, ...body] = rows;
  const tr = (cells: readonly string[], tag: string) => `<tr>${cells.map(c => `<${tag}>${escapeXml(c)}</${tag}>`).join('')}</tr>`;
  return `<table class="${cls}"><thead>${tr(head ?? [], 'th')}</thead><tbody>${body.map(r => tr(r, 'td')).join('')}</tbody></table>`;
}

function costTable(d: DriverPrediction, top: number): string {
  const rows: string[][] = [['by', 'key', 'count', 'data', 'metadata', 'copy-up', 'allocated']];
  for (const [by, list] of [['op', d.costs.byOp], ['path', d.costs.byPrefix]] as const) {
    for (const c of list.slice(0, top)) rows.push([by, c.key, String(c.count), formatBytes(c.dataBytes), formatBytes(c.metadataBytes), formatBytes(c.copyUpBytes), formatBytes(c.allocatedBytes)]);
  }
  return `<section class="cost"><h3>${escapeXml(d.driver)}</h3>${table(rows)}</section>`;
}

export function renderHtml(r: PredictReport, top = 5): string {
  const ranked = [...r.drivers].sort((a, b) => r.ranking.findIndex(x => x.driver === a.driver) - r.ranking.findIndex(x => x.driver === b.driver));
  const growthRows: string[][] = [['containers', ...r.drivers.map(d => d.driver)]];
  for (const n of checkpoints(r.containers)) {
    growthRows.push([String(n), ...r.drivers.map(d => {
      const p = d.series[n - 1];
      return p === undefined ? '-' : formatBytes(p.dfUsedBytes - d.baseline.dfUsedBytes);
    })]);
  }
  const charts = [
    growthChart(r, 'chart-df', 'df used: growth over containers', 'dfUsedBytes', true),
    growthChart(r, 'chart-data', 'data: growth over containers', 'dataBytes', true),
    growthChart(r, 'chart-metadata', 'metadata: growth over containers', 'metadataBytes', true),
    growthChart(r, 'chart-sizerw', 'docker ps -s: total SizeRw', 'sizeRwBytes', false),
    growthChart(r, 'chart-pagecache', 'page cache held by the containers', 'pageCacheBytes', false),
    lineChart({
      id: 'chart-time',
      title: 'df used over time (per workload line group)',
      xLabel: 'simulated time',
      yLabel: 'growth since the image load',
      xKind: 'seconds',
      yKind: 'bytes',
      series: r.drivers.map(d => ({ name: d.driver, points: [[0, 0] as const, ...d.timeline.map(t => [t.timeSeconds, t.dfUsedBytes - d.baseline.dfUsedBytes] as const)] })),
    }),
    stackedBars({
      id: 'chart-where',
      title: 'Where the bytes went (final, growth since the image load)',
      yLabel: 'bytes',
      segments: SEGMENTS,
      segmentColors: SEGMENT_COLORS,
      bars: r.drivers.map(d => ({ name: d.driver, values: [d.growth.dataBytes, d.growth.metadataBytes, d.growth.pageCacheBytes, d.growth.copyUpBytes] })),
    }),
  ];
  const notes: string[] = [...r.workload.warnings];
  for (const d of r.drivers) {
    if (d.stopped) notes.push(`${d.driver}: stopped at container ${d.stopped.container}: ${d.stopped.step} failed with ${d.stopped.reason}`);
    if (d.failedOps.count > 0) notes.push(`${d.driver}: ${d.failedOps.count} workload op(s) failed`);
  }
  const schedule = r.schedule.kind === 'all' ? 'every container from the image' : `a commit every ${r.schedule.every} containers`;
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>layersim predict: ${escapeXml(r.image.source)}</title>
<style>
body { font-family: system-ui, sans-serif; margin: 16px 24px; color: #222; background: #fafafa; }
h1 { font-size: 20px; margin: 0 0 4px; }
h2 { font-size: 16px; margin: 20px 0 8px; }
h3 { font-size: 14px; margin: 8px 0 4px; }
p.meta { margin: 0 0 8px; color: #555; font-size: 13px; }
.charts { display: grid; grid-template-columns: repeat(2, 600px); gap: 16px; }
svg.chart { background: #fff; border: 1px solid #ddd; }
table { border-collapse: collapse; font-size: 12px; background: #fff; }
th, td { border: 1px solid #ddd; padding: 3px 8px; text-align: right; }
th:first-child, td:first-child, th:nth-child(2), td:nth-child(2) { text-align: left; }
.costs { display: grid; grid-template-columns: repeat(2, 600px); gap: 12px; }
ul.notes { font-size: 13px; color: #8a4b00; }
</style>
</head>
<body>
<h1>layersim predict</h1>
<p class="meta">${r.containers} containers of <code>${escapeXml(r.image.source)}</code> (${r.image.layers} layers, ${escapeXml(formatBytes(r.image.sizeBytes))}),
each running ${escapeXml(r.workload.kind)} <code>${escapeXml(r.workload.source)}</code> (${r.workload.lines} lines)${r.exec !== null ? ` after executing <code>${escapeXml(r.exec)}</code>` : ''};
${escapeXml(schedule)}; ${r.intervalSeconds} s apart; final figures after ${r.settleSeconds} s idle.</p>
<h2>Drivers ranked by final df</h2>
${table([SUMMARY_HEADER, ...ranked.map(d => summaryRow(r, d))], 'ranking')}
<h2>Charts</h2>
<div class="charts">
${charts.join('\n')}
</div>
<h2>df growth after N containers</h2>
${table(growthRows, 'growth')}
<h2>Which operations dominate the cost</h2>
<div class="costs">
${r.drivers.map(d => costTable(d, top)).join('\n')}
</div>
${notes.length > 0 ? `<h2>Notes</h2><ul class="notes">${notes.map(n => `<li>${escapeXml(n)}</li>`).join('')}</ul>` : ''}
</body>
</html>
`;
}
