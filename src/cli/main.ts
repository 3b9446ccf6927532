import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, isAbsolute, resolve as resolvePath } from 'node:path';
import { Command } from 'commander';
import { allModels } from '../../models/index.js';
import type { DriverModel } from '../engine/driver.js';
import { capabilitiesOf } from '../engine/driver.js';
import { parseOptionPairs, resolveOptions } from '../engine/drivers.js';
import { loadImageSource } from '../image/resolve.js';
import { calibrate, formatCalibration } from '../report/calibrate.js';
import { REVIEW_2014 } from '../report/experiment.js';
import { formatBytes, renderTable } from '../report/format.js';
import { TraceError } from '../trace/parse.js';
import { allHeld, runTrace, type RunReport } from './run-trace.js';
import { registerInspect } from './inspect.js';
import { registerExplain } from '../explain/cli.js';
import { registerWorkloadCommands } from './workload-commands.js';
import { registerPredict } from '../predict/cli.js';
import { VERSION } from './version.js';

/** Exit statuses of the spec: 0 every expectation held, 1 some failed, 2 unusable input. */
const EXIT_FAILED = 1;
const EXIT_USAGE = 2;

class UsageError extends Error {}

function pickModels(name: string): DriverModel[] {
  if (name === 'all') return [...allModels];
  const names = name.split(',').map(s => s.trim());
  return names.map(n => {
    const m = allModels.find(x => x.name === n);
    if (m === undefined) throw new UsageError(`unknown driver '${n}' (known: ${allModels.map(x => x.name).join(', ')}, all)`);
    return m;
  });
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

function printRun(report: RunReport, verbose: boolean): void {
  for (const d of report.drivers) {
    const opts = Object.entries(d.options).map(([k, v]) => `${k}=${v}`).join(',');
    console.log(`== ${d.driver} (${opts})`);
    const failed = d.results.filter(r => r.held === false);
    const shown = verbose ? d.results : failed;
    if (shown.length > 0) {
      const rows = [['line', 'op', 'outcome', 'expected', 'held', 'data', 'meta', 'copy-up', 'alloc', 'lookups']];
      for (const r of shown) {
        rows.push([
          String(r.line),
          r.op,
          r.outcome,
          r.expected ?? '',
          r.held === null ? '' : r.held ? 'yes' : 'NO',
          formatBytes(r.cost.dataBytes),
          formatBytes(r.cost.metadataBytes),
          formatBytes(r.cost.copyUpBytes),
          formatBytes(r.cost.allocatedBytes),
          String(r.cost.lookups),
        ]);
      }
      console.log(renderTable(rows));
    }
    const totals = d.results.reduce(
      (t, r) => ({ data: t.data + r.cost.dataBytes, copyUp: t.copyUp + r.cost.copyUpBytes, lookups: t.lookups + r.cost.lookups }),
      { data: 0, copyUp: 0, lookups: 0 },
    );
    console.log(
      `${d.results.length} lines, ${failed.length} failed; written ${formatBytes(totals.data)} (copy-up ${formatBytes(totals.copyUp)}), ` +
        `${totals.lookups} lookups; in use: data ${formatBytes(d.usage.dataBytes)}, metadata ${formatBytes(d.usage.metadataBytes)}, df ${formatBytes(d.usage.dfUsedBytes)}`,
    );
    for (const m of d.marks) {
      console.log(`  mark ${m.label} (line ${m.line}): data ${formatBytes(m.usage.dataBytes)}, metadata ${formatBytes(m.usage.metadataBytes)}, df ${formatBytes(m.usage.dfUsedBytes)}`);
    }
  }
}

/**
 * The CLI's commands; `setStatus` receives the exit status. `parallel`: `predict` sweeps the drivers on worker
 * threads and its action is async (run the program with parseAsync).
 */
function buildProgram(setStatus: (code: number) => void, parallel: boolean): Command {
  const program = new Command();
  program
    .name('layersim')
    .description('Simulates container storage drivers: copy-up, whiteouts, thin pools and extents, with per-op costs')
    .version(VERSION)
    .showHelpAfterError()
    .exitOverride();

  program
    .command('run')
    .description('replay a trace (shared/spec/trace-format.md) under one or more driver models')
    .argument('<trace>', 'a JSONL trace file')
    .option('-d, --driver <name>', 'driver model, a comma list, or all', undefined)
    .option('-o, --driver-opt <key=value>', 'driver option (repeatable)', collect, [])
    .option('-i, --image <source>', 'shorthand for an `image` line (dir, tar, docker-save, OCI, builtin:busybox) and `run` of container c')
    .option('--json', 'print one JSON object (per driver: each line, marks, usage)')
    .option('--seed <n>', 'seed for random fills', v => Number.parseInt(v, 10))
    .option('-v, --verbose', 'list every line, not only failed expectations')
    .action((file: string, o: { driver?: string; driverOpt: string[]; image?: string; json?: boolean; seed?: number; verbose?: boolean }) => {
      let text: string;
      try {
        text = readFileSync(file, 'utf8');
      } catch (e) {
        throw new UsageError(`${file}: ${(e as NodeJS.ErrnoException).code ?? 'cannot read'}: cannot read the trace`);
      }
      const fromTrace = /"op"\s*:\s*"driver"[^}]*"name"\s*:\s*"([a-z0-9]+)"/.exec(text)?.[1];
      const models = pickModels(o.driver ?? fromTrace ?? 'overlay2');
      const report = runTrace({
        text,
        file,
        models,
        options: parseOptionPairs(o.driverOpt),
        ...(o.image !== undefined ? { image: o.image } : {}),
        ...(o.seed !== undefined ? { seed: o.seed } : {}),
        // a relative image path: from the working directory, else next to the trace
        loadImage: from => loadImageSource(from.startsWith('builtin:') || isAbsolute(from) || existsSync(from) ? from : resolvePath(dirname(file), from)),
        writeArchive: (to, bytes) => writeFileSync(to, bytes),
      });
      if (o.json) console.log(JSON.stringify(report));
      else printRun(report, o.verbose ?? false);
      setStatus(allHeld(report) ? 0 : EXIT_FAILED);
    });

  program
    .command('drivers')
    .description('list the driver models, their options, defaults and sources')
    .option('--json', 'machine-readable')
    .action((o: { json?: boolean }) => {
      const list = allModels.map(m => ({
        name: m.name,
        summary: m.summary,
        capabilities: capabilitiesOf(m, resolveOptions(m, {})),
        options: m.options,
      }));
      if (o.json) {
        console.log(JSON.stringify(list, null, 1));
        return;
      }
      for (const m of list) {
        console.log(`${m.name}: ${m.summary}`);
        for (const [k, spec] of Object.entries(m.options)) {
          const values = spec.values ? ` (${spec.values.join('|')})` : '';
          console.log(`  ${k}=${spec.default}${values}  ${spec.description}`);
          console.log(`      source: ${spec.source}`);
        }
      }
    });

  program
    .command('calibrate')
    .description("replay the 2014 review's experiment (10 runs of a 64 KiB dd, 10 commits, 10 runs from the commits) on every driver, next to the review's and Linux 6.18's figures")
    .option('--json', 'machine-readable')
    .action((o: { json?: boolean }) => {
      const report = calibrate(allModels, () => loadImageSource('builtin:busybox'), REVIEW_2014);
      console.log(o.json ? JSON.stringify(report) : formatCalibration(report));
    });

  registerInspect(program, setStatus);
  registerExplain(program, setStatus);
  registerWorkloadCommands(program, message => {
    throw new UsageError(message);
  });
  registerPredict(program, setStatus, parallel);
  return program;
}

/** The exit status of an error out of a command: commander's own (help, usage), 2 for unusable input; else rethrown. */
function errorStatus(e: unknown): number {
  if (e instanceof Error && 'exitCode' in e && typeof (e as { exitCode: unknown }).exitCode === 'number') {
    const code = (e as { exitCode: number }).exitCode;
    return code === 0 ? 0 : EXIT_USAGE;
  }
  if (e instanceof TraceError || e instanceof UsageError) {
    console.error(`layersim: ${e.message}`);
    return EXIT_USAGE;
  }
  if (e instanceof Error && e.message.startsWith('image: ')) {
    console.error(`layersim: ${e.message}`);
    return EXIT_USAGE;
  }
  throw e;
}

/** The CLI in this thread: returns the exit status (0 every expectation held, 1 some failed, 2 unusable input). */
export function main(argv: string[]): number {
  let status = 0;
  try {
    buildProgram(code => (status = code), false).parse(argv, { from: 'user' });
  } catch (e) {
    return errorStatus(e);
  }
  return status;
}

/** The CLI as `layersim` runs it: main's, except that `predict` sweeps the drivers on worker threads (--jobs). */
export async function mainAsync(argv: string[]): Promise<number> {
  let status = 0;
  try {
    await buildProgram(code => (status = code), true).parseAsync(argv, { from: 'user' });
  } catch (e) {
    return errorStatus(e);
  }
  return status;
}

