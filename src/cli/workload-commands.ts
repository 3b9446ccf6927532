import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { Command } from 'commander';
import type { TraceOp } from '../trace/schema.js';
import { describeGenerators, generate, generatorSummary, WorkloadError } from '../predict/workload.js';
import * as workloads from '../workload/index.js';

/** JSONL always ends with a newline, even when a workload has no ops. */
function emit(jsonl: string): void {
  process.stdout.write(jsonl.endsWith('\n') ? jsonl : `${jsonl}\n`);
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

/** `layersim workload`, `layersim fio` and `layersim strace`: workloads written as traces (JSONL on stdout). */
export function registerWorkloadCommands(program: Command, fail: (message: string) => void): void {
  program
    .command('workload')
    .description('write a generated workload as a trace (JSONL)')
    .argument('<generator>', 'generator name (see below)')
    .option('-o, --opt <key=value>', 'generator option (repeatable); sizes take dd/fio suffixes (64k, 1m)', collect, [])
    .addHelpText('after', `\nGenerators (the same as predict --workload NAME:key=value,...):\n${describeGenerators()}`)
    .action((name: string, o: { opt: string[] }) => {
      let ops: TraceOp[];
      try {
        ops = generate(name, o.opt, `workload ${name}`);
      } catch (e) {
        if (e instanceof WorkloadError) return fail(e.message);
        throw e;
      }
      const about = generatorSummary(name);
      emit(workloads.toJsonl(ops, [`layersim workload ${name} ${o.opt.join(' ')}`.trimEnd() + (about !== undefined ? `: ${about}` : '')]));
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
