import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { allModels } from '../../models/index.js';
import { capture } from '../support/cli.js';

const dir = mkdtempSync(join(tmpdir(), 'layersim-cli-'));
let n = 0;
function trace(lines: string[]): string {
  const file = join(dir, `t${n++}.jsonl`);
  writeFileSync(file, lines.join('\n') + '\n');
  return file;
}


afterEach(() => vi.restoreAllMocks());

const image = [
  '{"op":"image","name":"base","from":"builtin:busybox"}',
  '{"op":"run","container":"c","image":"base"}',
];

describe('layersim run', () => {
  it('exits 0 when every expectation holds, with the spec JSON shape', () => {
    const file = trace([...image, '{"op":"writeFile","path":"/data1","data":"hi","expect":"ok"}', '{"op":"mark","label":"after"}', '{"op":"check","path":"/data1","content":"hi"}']);
    const { status, out } = capture(['run', file, '--driver', 'overlay2', '--json']);
    expect(status).toBe(0);
    const report = JSON.parse(out) as { drivers: { driver: string; options: object; results: { line: number; outcome: string; held: boolean | null; cost: object }[]; marks: { label: string; usage: object }[]; usage: object }[] };
    const d = report.drivers[0]!;
    expect(d.driver).toBe('overlay2');
    expect(d.options).toMatchObject({ redirect_dir: 'off', metacopy: 'off', index: 'off' });
    expect(d.results.map(r => [r.line, r.outcome, r.held])).toEqual([
      [1, 'ok', null],
      [2, 'ok', null],
      [3, 'ok', true],
      [4, 'ok', null],
      [5, 'ok', true],
    ]);
    expect(d.results[2]!.cost).toMatchObject({ dataBytes: 2, copyUpBytes: 0, lookups: expect.any(Number), allocatedBytes: expect.any(Number), metadataBytes: expect.any(Number) });
    expect(d.marks[0]).toMatchObject({ label: 'after', usage: { dataBytes: expect.any(Number), metadataBytes: expect.any(Number), dfUsedBytes: expect.any(Number) } });
  });

  it('exits 1 when an expectation fails, naming the line', () => {
    const file = trace([...image, '{"op":"unlink","path":"/nope","expect":"ok"}']);
    const { status, out } = capture(['run', file, '--driver', 'vfs']);
    expect(status).toBe(1);
    expect(out).toMatch(/ENOENT/);
  });

  it('exits 2 with file:line for a malformed line, before running anything', () => {
    const file = trace([...image, '{"op":"mkdir"}']);
    const { status, err } = capture(['run', file]);
    expect(status).toBe(2);
    expect(err).toContain(`${file}:3: mkdir: \`path\``);
  });

  it('exits 2 for bad JSON, an unknown op, an unknown driver or option', () => {
    expect(capture(['run', trace(['{not json'])]).status).toBe(2);
    expect(capture(['run', trace(['{"op":"explode"}'])]).err).toContain(':1: unknown op');
    expect(capture(['run', trace(image), '--driver', 'zfs9']).err).toContain("unknown driver 'zfs9'");
    expect(capture(['run', trace(image), '--driver', 'overlay2', '--driver-opt', 'redirect_dir=maybe']).status).toBe(2);
  });

  it('takes --image as an image line and a run of container c', () => {
    const file = trace(['{"op":"check","path":"/bin/busybox","type":"file","size":2520000}']);
    const { status, out } = capture(['run', file, '--image', 'builtin:busybox', '--driver', 'all', '--json']);
    expect(status).toBe(0);
    expect((JSON.parse(out) as { drivers: { driver: string }[] }).drivers.map(d => d.driver)).toEqual(allModels.map(m => m.name));
  });

  it('answers EXDEV for a lower directory rename on overlay2 unless redirect_dir=on', () => {
    const file = trace([...image, '{"op":"rename","from":"/bin","to":"/bin2"}']);
    const outcome = (opts: string[]) => (JSON.parse(capture(['run', file, '--driver', 'overlay2', '--json', ...opts]).out) as { drivers: { results: { outcome: string }[] }[] }).drivers[0]!.results[2]!.outcome;
    expect(outcome([])).toBe('EXDEV');
    expect(outcome(['--driver-opt', 'redirect_dir=on'])).toBe('ok');
  });
});

describe('layersim drivers and --help', () => {
  it('lists every model with its options, defaults and sources', () => {
    const { status, out } = capture(['drivers', '--json']);
    expect(status).toBe(0);
    const list = JSON.parse(out) as { name: string; options: Record<string, { default: string; source: string }> }[];
    expect(list.map(m => m.name)).toEqual(allModels.map(m => m.name));
    expect(list.find(m => m.name === 'overlay2')!.options['redirect_dir']!.default).toBe('off');
  });

  it("prints package.json's version and exits 0", () => {
    const { status, out } = capture(['--version']);
    expect(status).toBe(0);
    expect(out.trim()).toBe((JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version);
  });

  it('prints help and exits 0', () => {
    const { status, out } = capture(['--help']);
    expect(status).toBe(0);
    expect(out).toContain('run');
  });
});

describe('layersim run: export and save lines', () => {
  it('writes a docker export and a docker save archive that load back', async () => {
    const { loadImageSource } = await import('../../src/image/resolve.js');
    const out = join(dir, 'out.tar');
    const saved = join(dir, 'saved.tar');
    const file = trace([
      ...image,
      '{"op":"writeFile","path":"/hello","data":"hi"}',
      '{"op":"commit","container":"c","image":"next"}',
      `{"op":"export","container":"c","to":${JSON.stringify(out)}}`,
      `{"op":"save","image":"next","to":${JSON.stringify(saved)}}`,
    ]);
    expect(capture(['run', file, '--driver', 'overlay2']).status).toBe(0);
    const [flat] = loadImageSource(out);
    expect(new TextDecoder().decode(flat!.at('/hello')!.content!.read(0, 10))).toBe('hi');
    expect(flat!.at('/.dockerenv')?.kind).toBe('file');
    const layers = loadImageSource(saved);
    expect(layers).toHaveLength(2);
    expect(layers[1]!.at('/hello')?.kind).toBe('file');
  });
});
