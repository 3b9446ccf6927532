/**
 * `layersim inspect SOURCE` (an image's layers and dive's efficiency) and `layersim df TRACE` (`docker system df`
 * after a trace). SOURCE is an image source (what `image` lines take) or a `.jsonl` trace, replayed on one driver.
 */
import { readFileSync } from 'node:fs';
import { dirname, isAbsolute, resolve as resolvePath } from 'node:path';
import type { Command } from 'commander';
import { allModels } from '../../models/index.js';
import { parseOptionPairs, resolveOptions } from '../engine/drivers.js';
import { Host } from '../engine/host.js';
import { loadImageSource } from '../image/resolve.js';
import { formatSystemDf, systemDf } from '../report/docker-size.js';
import { formatInspection, inspectImage, type ImageInspection } from '../report/inspect.js';
import { parseTrace, TraceError } from '../trace/parse.js';
import { TraceRunner } from '../trace/execute.js';

/** Exit status for unusable input (the spec's 2). */
const EXIT_USAGE = 2;

class InspectError extends Error {}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

export interface ReplayOptions {
  /** Driver model name; else the trace's `driver` line, else overlay2. */
  driver?: string;
  driverOpt?: readonly string[];
  seed?: number;
}

/** Replays a trace file on one driver model and returns the host as the trace leaves it. */
export function replayTrace(file: string, o: ReplayOptions = {}): Host {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new InspectError(`${file}: ${(e as NodeJS.ErrnoException).code ?? 'cannot read'}: cannot read the trace`);
  }
  const lines = parseTrace(text, file);
  const fromTrace = lines.find(l => l.op.op === 'driver')?.op;
  const name = o.driver ?? (fromTrace?.op === 'driver' ? fromTrace.name : undefined) ?? 'overlay2';
  const model = allModels.find(m => m.name === name);
  if (model === undefined) throw new InspectError(`unknown driver '${name}' (known: ${allModels.map(m => m.name).join(', ')})`);
  let options: Record<string, string>;
  try {
    const given: Record<string, string> = {};
    for (const { op } of lines) {
      if (op.op === 'driver' && op.name === model.name) for (const [k, v] of Object.entries(op.options ?? {})) given[k] = String(v);
    }
    options = resolveOptions(model, { ...given, ...parseOptionPairs(o.driverOpt ?? []) });
  } catch (e) {
    throw new InspectError((e as Error).message);
  }
  const host = new Host(model, options, o.seed !== undefined ? { seed: o.seed } : {});
  // image paths in a trace are relative to the trace file, as for `run`; `export`/`save` lines write nothing here
  const load = (from: string) => loadImageSource(isAbsolute(from) || from.startsWith('builtin:') ? from : resolvePath(dirname(file), from));
  new TraceRunner(host, file, load).runAll(lines);
  return host;
}

/** The inspection of SOURCE: an image source, or the image `image` (default: the last created) after a trace. */
export function inspectSource(source: string, o: ReplayOptions & { image?: string } = {}): ImageInspection {
  if (!source.endsWith('.jsonl')) return inspectImage(o.image ?? source, loadImageSource(source));
  const host = replayTrace(source, o);
  const name = o.image ?? [...host.images.keys()].at(-1);
  if (name === undefined) throw new InspectError(`${source}: the trace creates no image`);
  const image = host.images.get(name);
  if (image === undefined) throw new InspectError(`${source}: no image '${name}' (images: ${[...host.images.keys()].join(', ')})`);
  return inspectImage(name, image.trees, image.layers);
}

/** Runs a command body; unusable input is printed as `layersim: ...` and gives exit status 2. */
function guarded(setStatus: (code: number) => void, body: () => void): void {
  try {
    body();
    setStatus(0);
  } catch (e) {
    if (e instanceof InspectError || e instanceof TraceError || (e instanceof Error && e.message.startsWith('image: '))) {
      console.error(`layersim: ${e.message}`);
      setStatus(EXIT_USAGE);
      return;
    }
    throw e;
  }
}

/** Adds `inspect` and `df` to the CLI; `setStatus` receives the exit status. */
export function registerInspect(program: Command, setStatus: (code: number) => void): void {
  program
    .command('inspect')
    .description("an image's layers (entries, whiteouts, sizes) and dive's efficiency, wasted and reclaimable bytes")
    .argument('<source>', 'an image source (dir, tar, docker-save, OCI, builtin:busybox) or a .jsonl trace')
    .option('--image <name>', 'after a trace: the image to inspect (default: the last one created)')
    .option('-d, --driver <name>', 'after a trace: the driver model to replay it on (default: its driver line, else overlay2)')
    .option('-o, --driver-opt <key=value>', 'driver option (repeatable)', collect, [])
    .option('--json', 'print one JSON object')
    .option('-v, --verbose', 'list every entry of every layer')
    .action((source: string, o: { image?: string; driver?: string; driverOpt: string[]; json?: boolean; verbose?: boolean }) =>
      guarded(setStatus, () => {
        const r = inspectSource(source, {
          driverOpt: o.driverOpt,
          ...(o.driver !== undefined ? { driver: o.driver } : {}),
          ...(o.image !== undefined ? { image: o.image } : {}),
        });
        console.log(o.json ? JSON.stringify(r) : formatInspection(r, o.verbose ?? false));
      }),
    );

  program
    .command('df')
    .description('`docker system df` (-v: per image and per container) on the host a trace leaves')
    .argument('<trace>', 'a JSONL trace file')
    .option('-d, --driver <name>', 'driver model (default: the trace\'s driver line, else overlay2)')
    .option('-o, --driver-opt <key=value>', 'driver option (repeatable)', collect, [])
    .option('--json', 'print one JSON object')
    .option('-v, --verbose', 'per-image and per-container rows')
    .action((file: string, o: { driver?: string; driverOpt: string[]; json?: boolean; verbose?: boolean }) =>
      guarded(setStatus, () => {
        const host = replayTrace(file, { driverOpt: o.driverOpt, ...(o.driver !== undefined ? { driver: o.driver } : {}) });
        const df = systemDf(host);
        console.log(o.json ? JSON.stringify(df) : formatSystemDf(df, o.verbose ?? false));
      }),
    );
}
