/**
 * `layersim explain TRACE [--drivers all|a,b] [--image SRC] [--driver-opt k=v]... [--json]`: the trace replayed on
 * each driver, each line narrated per driver side by side, then each container layer as a small picture.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, isAbsolute, resolve as resolvePath } from 'node:path';
import type { Command } from 'commander';
import { allModels } from '../../models/index.js';
import type { DriverModel } from '../engine/driver.js';
import { parseOptionPairs } from '../engine/drivers.js';
import { loadImageSource } from '../image/resolve.js';
import { TraceError } from '../trace/parse.js';
import { explainTrace, formatExplain } from './explain.js';

/** Exit status for unusable input (the spec's 2). */
const EXIT_USAGE = 2;

class ExplainError extends Error {}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

/** `all`, or a comma list of registered model names. */
export function pickDrivers(spec: string, models: readonly DriverModel[] = allModels): DriverModel[] {
  if (spec === 'all') return [...models];
  return spec.split(',').map(s => {
    const m = models.find(x => x.name === s.trim());
    if (m === undefined) throw new ExplainError(`unknown driver '${s.trim()}' (known: ${models.map(x => x.name).join(', ')}, all)`);
    return m;
  });
}

/** Adds `explain` to the CLI; `setStatus` receives the exit status (0, or 2 for unusable input). */
export function registerExplain(program: Command, setStatus: (code: number) => void): void {
  program
    .command('explain')
    .description('replay a trace on each driver and narrate, line by line and side by side, what each mechanism did; then draw each container layer')
    .argument('<trace>', 'a JSONL trace file')
    .option('--drivers <list>', 'driver models: all, or a comma list', 'all')
    .option('-o, --driver-opt <key=value>', 'driver option (repeatable; applied to the models that declare it)', collect, [])
    .option('-i, --image <source>', 'shorthand for an `image` line (dir, tar, docker-save, OCI, builtin:busybox) and `run` of container c')
    .option('--seed <n>', 'seed for random fills', v => Number.parseInt(v, 10))
    .option('--width <n>', 'text width of the narrative', v => Number.parseInt(v, 10))
    .option('--json', 'print one JSON object: per line and driver the facts and narrative, per driver each container layer')
    .action((file: string, o: { drivers: string; driverOpt: string[]; image?: string; seed?: number; width?: number; json?: boolean }) => {
      try {
        let text: string;
        try {
          text = readFileSync(file, 'utf8');
        } catch (e) {
          throw new ExplainError(`${file}: ${(e as NodeJS.ErrnoException).code ?? 'cannot read'}: cannot read the trace`);
        }
        let options: Record<string, string>;
        try {
          options = parseOptionPairs(o.driverOpt);
        } catch (e) {
          throw new ExplainError((e as Error).message);
        }
        const models = pickDrivers(o.drivers);
        const report = explainTrace({
          text,
          file,
          models,
          options,
          ...(o.image !== undefined ? { image: o.image } : {}),
          ...(o.seed !== undefined ? { seed: o.seed } : {}),
          loadImage: from => loadImageSource(from.startsWith('builtin:') || isAbsolute(from) || existsSync(from) ? from : resolvePath(dirname(file), from)),
          writeArchive: (to, bytes) => writeFileSync(to, bytes),
        });
        console.log(o.json ? JSON.stringify(report) : formatExplain(report, models, o.width !== undefined ? { width: o.width } : {}));
        setStatus(0);
      } catch (e) {
        if (e instanceof ExplainError || e instanceof TraceError || (e instanceof Error && e.message.startsWith('image: '))) {
          console.error(`layersim: ${e.message}`);
          setStatus(EXIT_USAGE);
          return;
        }
        throw e;
      }
    });
}
