/** A small SVG chart kit for the HTML report: line charts and stacked bars, with axes, units and legends. */

export function escapeXml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

const DRIVER_COLORS: Readonly<Record<string, string>> = {
  vfs: '#1f77b4',
  aufs: '#ff7f0e',
  overlay2: '#2ca02c',
  devicemapper: '#d62728',
  btrfs: '#9467bd',
  zfs: '#8c564b',
};
const PALETTE = ['#e377c2', '#17becf', '#bcbd22', '#7f7f7f', '#393b79', '#637939'];

export function colorOf(name: string, index: number): string {
  return DRIVER_COLORS[name] ?? PALETTE[index % PALETTE.length]!;
}

export type AxisKind = 'bytes' | 'count' | 'seconds';

export interface Axis {
  ticks: number[];
  max: number;
  label: (v: number) => string;
}

/** A "nice" step (1, 2, 2.5 or 5 times a power of ten) giving about `count` intervals over `span`. */
function niceStep(span: number, count: number): number {
  const raw = span / count;
  const p = 10 ** Math.floor(Math.log10(raw));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= raw) return m * p;
  return 10 * p;
}

const BYTE_UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];

function trim(v: number): string {
  return String(Number(v.toPrecision(6)));
}

/** Ticks from min (<= 0 allowed) to max; byte axes in the binary unit the largest value needs. */
export function axis(minValue: number, maxValue: number, kind: AxisKind, count = 5): Axis {
  const lo = Math.min(0, minValue);
  let hi = Math.max(maxValue, lo + 1);
  let unit = 1;
  let unitName = '';
  if (kind === 'bytes') {
    let i = 0;
    while (i < BYTE_UNITS.length - 1 && Math.max(Math.abs(hi), Math.abs(lo)) >= 1024 ** (i + 1)) i++;
    unit = 1024 ** i;
    unitName = BYTE_UNITS[i]!;
  }
  if (kind === 'count' && hi < count) hi = count;
  const step = Math.max(kind === 'count' ? 1 : 0, niceStep((hi - lo) / unit, count)) * unit;
  const first = Math.floor(lo / step) * step;
  const ticks: number[] = [];
  for (let v = first; v < hi + step * 0.999; v += step) ticks.push(v);
  if (ticks.length < 2) ticks.push(first + step);
  const label = (v: number) => (kind === 'bytes' ? `${trim(v / unit)} ${unitName}` : kind === 'seconds' ? `${trim(v)} s` : trim(v));
  return { ticks, max: ticks.at(-1)!, label };
}

export interface LineSeries {
  name: string;
  points: readonly (readonly [number, number])[];
}

export interface LineChartOptions {
  id: string;
  title: string;
  xLabel: string;
  yLabel: string;
  xKind: AxisKind;
  yKind: AxisKind;
  series: readonly LineSeries[];
  width?: number;
  height?: number;
}

const M = { left: 78, right: 16, top: 56, bottom: 48 };

function legend(names: readonly string[], x0: number, y: number, width: number): string {
  const items: string[] = [];
  let x = x0;
  let row = 0;
  for (const [i, name] of names.entries()) {
    const w = 22 + name.length * 7.2 + 14;
    if (x + w > x0 + width && x > x0) {
      x = x0;
      row++;
    }
    const yy = y + row * 16;
    items.push(
      `<g class="legend-item" data-series="${escapeXml(name)}"><rect x="${x.toFixed(1)}" y="${yy - 9}" width="16" height="10" fill="${colorOf(name, i)}"/>` +
        `<text x="${(x + 21).toFixed(1)}" y="${yy}" font-size="12">${escapeXml(name)}</text></g>`,
    );
    x += w;
  }
  return `<g class="legend">${items.join('')}</g>`;
}

function frame(id: string, title: string, width: number, height: number, body: string): string {
  return (
    `<svg id="${escapeXml(id)}" class="chart" xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" role="img" aria-label="${escapeXml(title)}" font-family="system-ui, sans-serif">` +
    `<rect width="${width}" height="${height}" fill="#fff"/>` +
    `<text x="${width / 2}" y="18" text-anchor="middle" font-size="15" font-weight="600">${escapeXml(title)}</text>` +
    body +
    `</svg>`
  );
}

function axes(x: Axis | null, y: Axis, w: number, h: number, xLabel: string, yLabel: string, sx: (v: number) => number, sy: (v: number) => number): string {
  const parts: string[] = [];
  for (const t of y.ticks) {
    const yy = sy(t).toFixed(1);
    parts.push(`<line x1="${M.left}" x2="${w - M.right}" y1="${yy}" y2="${yy}" stroke="#e4e4e4"/>`);
    parts.push(`<text x="${M.left - 6}" y="${yy}" text-anchor="end" dominant-baseline="middle" font-size="11" fill="#333">${escapeXml(y.label(t))}</text>`);
  }
  if (x !== null) {
    for (const t of x.ticks) {
      const xx = sx(t).toFixed(1);
      parts.push(`<line x1="${xx}" x2="${xx}" y1="${h - M.bottom}" y2="${h - M.bottom + 4}" stroke="#333"/>`);
      parts.push(`<text x="${xx}" y="${h - M.bottom + 16}" text-anchor="middle" font-size="11" fill="#333">${escapeXml(x.label(t))}</text>`);
    }
    parts.push(`<text x="${(M.left + w - M.right) / 2}" y="${h - 8}" text-anchor="middle" font-size="12">${escapeXml(xLabel)}</text>`);
  }
  parts.push(`<line class="axis" x1="${M.left}" x2="${M.left}" y1="${M.top}" y2="${h - M.bottom}" stroke="#333"/>`);
  parts.push(`<line class="axis" x1="${M.left}" x2="${w - M.right}" y1="${h - M.bottom}" y2="${h - M.bottom}" stroke="#333"/>`);
  parts.push(`<text transform="translate(14 ${(M.top + h - M.bottom) / 2}) rotate(-90)" text-anchor="middle" font-size="12">${escapeXml(yLabel)}</text>`);
  return parts.join('');
}

/** A line chart: one path per series (points drawn as dots when there are few), axes with units, a legend. */
export function lineChart(o: LineChartOptions): string {
  const w = o.width ?? 600;
  const h = o.height ?? 340;
  const xs = o.series.flatMap(s => s.points.map(p => p[0]));
  const ys = o.series.flatMap(s => s.points.map(p => p[1]));
  const x = axis(Math.min(0, ...xs), Math.max(1, ...xs), o.xKind);
  const y = axis(Math.min(0, ...ys), Math.max(1, ...ys), o.yKind);
  const x0 = x.ticks[0]!;
  const y0 = y.ticks[0]!;
  const sx = (v: number) => M.left + ((v - x0) / (x.max - x0)) * (w - M.left - M.right);
  const sy = (v: number) => h - M.bottom - ((v - y0) / (y.max - y0)) * (h - M.top - M.bottom);
  const lines = o.series.map((s, i) => {
    const color = colorOf(s.name, i);
    const d = s.points.map((p, k) => `${k === 0 ? 'M' : 'L'}${sx(p[0]).toFixed(1)},${sy(p[1]).toFixed(1)}`).join('');
    const dots = s.points.length <= 40 ? s.points.map(p => `<circle cx="${sx(p[0]).toFixed(1)}" cy="${sy(p[1]).toFixed(1)}" r="2.5" fill="${color}"/>`).join('') : '';
    return `<g class="series" data-series="${escapeXml(s.name)}"><path d="${d}" fill="none" stroke="${color}" stroke-width="2"/>${dots}</g>`;
  });
  const body = legend(o.series.map(s => s.name), M.left, 40, w - M.left - M.right) + axes(x, y, w, h, o.xLabel, o.yLabel, sx, sy) + lines.join('');
  return frame(o.id, o.title, w, h, body);
}

export interface StackedBarsOptions {
  id: string;
  title: string;
  yLabel: string;
  /** Segment names, bottom first. */
  segments: readonly string[];
  segmentColors: readonly string[];
  bars: readonly { name: string; values: readonly number[] }[];
  width?: number;
  height?: number;
}

/** Vertical stacked bars (one per driver), bytes on the y axis, a legend of the segments. */
export function stackedBars(o: StackedBarsOptions): string {
  const w = o.width ?? 600;
  const h = o.height ?? 340;
  const totals = o.bars.map(b => b.values.reduce((s, v) => s + Math.max(0, v), 0));
  const y = axis(0, Math.max(1, ...totals), 'bytes');
  const sy = (v: number) => h - M.bottom - (v / y.max) * (h - M.top - M.bottom);
  const plotW = w - M.left - M.right;
  const slot = plotW / Math.max(1, o.bars.length);
  const barW = Math.min(64, slot * 0.6);
  const parts: string[] = [];
  o.bars.forEach((b, i) => {
    const cx = M.left + slot * (i + 0.5);
    let acc = 0;
    const rects = b.values.map((v, k) => {
      const val = Math.max(0, v);
      const top = sy(acc + val);
      const r = `<rect class="segment" data-segment="${escapeXml(o.segments[k]!)}" x="${(cx - barW / 2).toFixed(1)}" y="${top.toFixed(1)}" width="${barW.toFixed(1)}" height="${(sy(acc) - top).toFixed(1)}" fill="${o.segmentColors[k]}"><title>${escapeXml(`${b.name} ${o.segments[k]}: ${y.label(val)}`)}</title></rect>`;
      acc += val;
      return r;
    });
    parts.push(`<g class="bar" data-series="${escapeXml(b.name)}">${rects.join('')}</g>`);
    parts.push(`<text x="${cx.toFixed(1)}" y="${h - M.bottom + 16}" text-anchor="middle" font-size="12">${escapeXml(b.name)}</text>`);
  });
  const legendItems = o.segments
    .map((s, k) => {
      const x = M.left + k * (plotW / o.segments.length);
      return `<g class="legend-item" data-series="${escapeXml(s)}"><rect x="${x.toFixed(1)}" y="31" width="16" height="10" fill="${o.segmentColors[k]}"/><text x="${(x + 21).toFixed(1)}" y="40" font-size="12">${escapeXml(s)}</text></g>`;
    })
    .join('');
  const body = `<g class="legend">${legendItems}</g>` + axes(null, y, w, h, '', o.yLabel, v => v, sy) + parts.join('');
  return frame(o.id, o.title, w, h, body);
}
