import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { GENERATOR_NAMES } from '../../src/predict/workload.js';
import { parseTrace } from '../../src/trace/parse.js';
import { capture } from '../support/cli.js';


describe('layersim workload, fio and strace', () => {
  it('writes a generated workload as a trace the run command accepts', () => {
    const { status, out } = capture(['workload', 'dd', '-o', 'path=/data1', '-o', 'bs=65536', '-o', 'count=3']);
    expect(status).toBe(0);
    const ops = parseTrace(out).map(l => l.op.op);
    expect(ops.filter(o => o === 'write')).toHaveLength(3);
  });

  it('runs every generator predict knows, by name or alias, with its defaults', () => {
    for (const name of GENERATOR_NAMES) {
      const { status, out, err } = capture(['workload', name]);
      expect(status, `${name}: ${err}`).toBe(0);
      expect(parseTrace(out).length, name).toBeGreaterThan(0);
    }
  });

  it('exits 2 naming a bad option value or an option the generator does not have', () => {
    expect(capture(['workload', 'dd', '-o', 'bs=lots'])).toMatchObject({ status: 2, err: expect.stringMatching(/workload dd: bs=lots: not a size/) });
    expect(capture(['workload', 'dd', '-o', 'colour=blue'])).toMatchObject({ status: 2, err: expect.stringMatching(/dd has no option 'colour'/) });
  });

  it('exits 2 naming an unknown generator', () => {
    const { status, err } = capture(['workload', 'nope']);
    expect(status).toBe(2);
    expect(err).toMatch(/unknown generator 'nope'/);
  });

  it('turns a fio job file into a trace and names the options it does not simulate', () => {
    const dir = mkdtempSync(join(tmpdir(), 'layersim-fio-'));
    const job = join(dir, 'job.fio');
    writeFileSync(job, '[global]\nbs=4k\nsize=64k\nunknown_knob=1\n\n[writer]\nrw=write\nfilename=/data/out\n');
    const { status, out, err } = capture(['fio', job]);
    expect(status).toBe(0);
    expect(err).toMatch(/unknown_knob/);
    expect(parseTrace(out).filter(l => l.op.op === 'write').length).toBeGreaterThan(0);
  });
});
