import type { DriverModel, StorageUsage } from '../engine/driver.js';
import { resolveOptions } from '../engine/drivers.js';
import { Host } from '../engine/host.js';
import { containerSize, imageSize } from '../report/docker-size.js';
import type { Volume } from '../fs/volume.js';
import { parseTrace, TraceError, type TraceLine } from '../trace/parse.js';
import { TraceRunner, type LineResult, type MarkRecord } from '../trace/execute.js';

/** One driver's run of a trace: the `--json` shape of shared/spec/trace-format.md. */
export interface DriverRun {
  driver: string;
  options: Record<string, string>;
  results: LineResult[];
  marks: { label: string; line: number; usage: StorageUsage }[];
  usage: StorageUsage;
  /** Each container's own layer, as its directory or structures would be inspected (upper dir, etc.). */
  containers: { name: string; image: string; layer: string; running: boolean; sizeRwBytes: number; virtualSizeBytes: number; layerContents: unknown }[];
  /** The driver's `docker info` lines at the end (devicemapper: Data/Metadata Space Used and Total). */
  dockerInfo: Record<string, string>;
  /** The images at the end: their layers and `docker images` size. */
  images: { name: string; layers: string[]; sizeBytes: number }[];
}

export interface RunReport {
  drivers: DriverRun[];
}

export interface RunRequest {
  readonly text: string;
  readonly file: string;
  readonly models: readonly DriverModel[];
  /** Options from the command line, applied to every model that declares the key. */
  readonly options: Readonly<Record<string, string>>;
  /** `--image`: shorthand for an `image` line named "base" and a `run` of container "c". */
  readonly image?: string;
  readonly seed?: number;
  readonly loadImage: (from: string) => Volume[];
  /** Writes the archives `export` and `save` lines produce. */
  readonly writeArchive?: (to: string, bytes: Uint8Array) => void;
  /** Let the store settle after each line (as `sync`), so line costs include writeback and commits. */
  readonly settleEachLine?: boolean;
}

/** Options for one model: the trace's `driver` lines for it, then the command line's (keys it knows). */
export function optionsFor(model: DriverModel, lines: readonly TraceLine[], cli: Readonly<Record<string, string>>, many: boolean): Record<string, string> {
  const given: Record<string, string> = {};
  for (const { op } of lines) {
    if (op.op === 'driver' && op.name === model.name) for (const [k, v] of Object.entries(op.options ?? {})) given[k] = String(v);
  }
  for (const [k, v] of Object.entries(cli)) if (!many || k in model.options) given[k] = v;
  return resolveOptions(model, given);
}

/** A fresh host for one model of a run or explain request; bad options are the trace's error (line 0). */
export function hostFor(model: DriverModel, lines: readonly TraceLine[], req: Pick<RunRequest, 'file' | 'options' | 'models' | 'seed'>): Host {
  let options: Record<string, string>;
  try {
    options = optionsFor(model, lines, req.options, req.models.length > 1);
  } catch (e) {
    throw new TraceError(req.file, 0, (e as Error).message);
  }
  return new Host(model, options, req.seed !== undefined ? { seed: req.seed } : {});
}

/** `--image`: an `image` line named "base" and a `run` of container "c", before the trace's own lines. */
export function imagePrelude(image: string | undefined): TraceLine[] {
  if (image === undefined) return [];
  return [
    { line: 0, op: { op: 'image', name: 'base', from: image } },
    { line: 0, op: { op: 'run', container: 'c', image: 'base' } },
  ];
}

/** Parses the whole trace first (a malformed line changes nothing), then replays it once per model. */
export function runTrace(req: RunRequest): RunReport {
  const lines = parseTrace(req.text, req.file);
  const prelude = imagePrelude(req.image);
  let seenImage = false;
  for (const { line, op } of lines) {
    if (op.op === 'image') seenImage = true;
    if (op.op === 'driver' && seenImage) throw new TraceError(req.file, line, 'driver: must come before the first `image`');
  }
  const drivers: DriverRun[] = [];
  for (const model of req.models) {
    const host = hostFor(model, lines, req);
    const runner = new TraceRunner(host, req.file, req.loadImage, req.writeArchive, req.settleEachLine ?? false);
    for (const l of prelude) {
      const r = runner.runLine(l);
      if (r.outcome !== 'ok') throw new TraceError(req.file, 0, `--image ${req.image}: ${r.op} failed with ${r.outcome}`);
    }
    runner.results.length = 0;
    runner.runAll(lines);
    drivers.push({
      driver: model.name,
      options: host.options,
      results: runner.results,
      marks: runner.marks.map((m: MarkRecord) => ({ label: m.label, line: m.line, usage: m.usage })),
      usage: host.usage(),
      containers: [...host.containers.values()].map(c => {
        const size = containerSize(host, c);
        return {
          name: c.name,
          image: c.image,
          layer: c.layer,
          running: c.running,
          sizeRwBytes: size.sizeRwBytes,
          virtualSizeBytes: size.virtualSizeBytes,
          layerContents: host.driver.inspectLayer(c.layer),
        };
      }),
      dockerInfo: host.driver.status?.() ?? {},
      images: [...host.images.values()].map(i => ({ name: i.name, layers: [...i.layers], sizeBytes: imageSize(host, i.name) })),
    });
  }
  return { drivers };
}

/** Whether every expectation and assertion held (exit status 0), else 1. */
export function allHeld(report: RunReport): boolean {
  return report.drivers.every(d => d.results.every(r => r.held !== false));
}
