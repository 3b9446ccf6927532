import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { Command } from 'commander';
import type { TraceOp } from '../trace/schema.js';
import * as workloads from '../workload/index.js';

/** The generators a user can name on the command line, with what they imitate. */
const GENERATORS: Record<string, { about: string; make: (o: Record<string, unknown>) => TraceOp[] }> = {
  dd: { about: 'dd if=/dev/zero of=PATH bs=BS count=N [seek=S]', make: o => workloads.dd(o as unknown as Parameters<typeof workloads.dd>[0]) },
  'sequential-write': { about: 'one new file written front to back', make: o => workloads.sequentialWrite(o as never) },
  'random-overwrite': { about: 'random in-place writes into a large file', make: o => workloads.randomOverwrite(o as never) },
  append: { about: 'appends to a file', make: o => workloads.appendOnly(o as never) },
  'log-append': { about: 'log lines appended, fsync every N', make: o => workloads.logAppend(o as never) },
  'many-small-files': { about: 'many small files in a directory tree', make: o => workloads.manySmallFiles(o as never) },
  'rewrite-whole-file': { about: 'files rewritten whole (temp + rename, or O_TRUNC)', make: o => workloads.rewriteWholeFile(o as never) },
  'metadata-storm': { about: 'chmod / chown / touch of many files', make: o => workloads.metadataStorm(o as never) },
  'database-pages': { about: 'random page writes into large files (filebench oltp)', make: o => workloads.databasePages(o as never) },
  'sparse-files': { about: "xfstests overlay/066's sparse files", make: o => workloads.sparseFiles(o as never) },
  'package-install': { about: 'dpkg/rpm package install: small files and whole database rewrites', make: o => workloads.packageInstall(o as never) },
};

/** JSONL always ends with a newline, even when a workload has no ops. */
function emit(jsonl: string): void {
  process.stdout.write(jsonl.endsWith('\n') ? jsonl : `${jsonl}\n`);
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

/** `key=value` options; numbers and booleans as such, sizes with dd's suffixes left to the generator. */
function options(pairs: readonly string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const p of pairs) {
    const eq = p.indexOf('=');
    if (eq <= 0) throw new Error(`option '${p}': expected key=value`);
    const v = p.slice(eq + 1);
    out[p.slice(0, eq)] = /^-?\d+(\.\d+)?$/.test(v) ? Number(v) : v === 'true' ? true : v === 'false' ? false : v;
  }
  return out;
}

/** `layersim workload`, `layersim fio` and `layersim strace`: workloads written as traces (JSONL on stdout). */
export function registerWorkloadCommands(program: Command, fail: (message: string) => void): void {
  program
    .command('workload')
    .description('write a generated workload as a trace (JSONL): ' + Object.keys(GENERATORS).join(', '))
    .argument('<generator>', 'generator name')
    .option('-o, --opt <key=value>', 'generator option (repeatable)', collect, [])
    .action((name: string, o: { opt: string[] }) => {
      const g = GENERATORS[name];
      if (g === undefined) return fail(`unknown generator '${name}' (known: ${Object.keys(GENERATORS).join(', ')})`);
      let ops: TraceOp[];
      try {
        ops = g.make(options(o.opt));
      } catch (e) {
        return fail(`workload ${name}: ${(e as Error).message}`);
      }
      emit(workloads.toJsonl(ops, [`layersim workload ${name} ${o.opt.join(' ')}: ${g.about}`]));
    });

  program
    .command('fio')
    .description('turn a fio job file into a trace (JSONL); options fio has but the simulation does not use are named on stderr')
    .argument('<jobfile>', 'a fio job file')
    .option('--scale <f>', 'scale sizes by this factor (e.g. 0.001)', Number)
    .option('--max-ios <n>', 'at most this many I/Os per job', v => Number.parseInt(v, 10))
    .option('--coalesce', 'merge sequential I/Os into larger writes')
    .option('--reads', 'keep reads as read lines')
    .action((file: string, o: { scale?: number; maxIos?: number; coalesce?: boolean; reads?: boolean }) => {
      let text: string;
      try {
        text = readFileSync(file, 'utf8');
      } catch {
        return fail(`${file}: cannot read the job file`);
      }
      const result = workloads.fioToTrace(text, {
        file,
        include: name => readFileSync(join(dirname(file), name), 'utf8'),
        ...(o.scale !== undefined ? { scale: o.scale } : {}),
        ...(o.maxIos !== undefined ? { maxIosPerJob: o.maxIos } : {}),
        ...(o.coalesce ? { coalesce: true } : {}),
        ...(o.reads ? { reads: true } : {}),
      });
      for (const w of result.warnings) console.error(`layersim fio: warning: ${w}`);
      for (const n of result.notes) console.error(`layersim fio: note: ${n}`);
      emit(workloads.toJsonl(result.ops, [`layersim fio ${file}`]));
    });

  program
    .command('strace')
    .description('turn an `strace -f -e trace=file,write,desc` log into a trace (JSONL)')
    .argument('<log>', 'the strace log')
    .option('--cwd <dir>', 'the working directory the traced command started in')
    .option('--map <host=container>', 'map a host path prefix into the container (repeatable)', collect, [])
    .action((file: string, o: { cwd?: string; map: string[] }) => {
      let text: string;
      try {
        text = readFileSync(file, 'utf8');
      } catch {
        return fail(`${file}: cannot read the log`);
      }
      const pathMap = Object.fromEntries(o.map.map(m => m.split('=') as [string, string]));
      const result = workloads.importStrace(text, { file, pathMap, ...(o.cwd !== undefined ? { cwd: o.cwd } : {}) });
      for (const w of result.warnings) console.error(`layersim strace: warning: ${w}`);
      emit(workloads.toJsonl(result.ops, [`layersim strace ${file}`]));
    });
}
