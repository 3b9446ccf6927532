/**
 * A real tar extraction (node-tar's `x({ file, cwd, sync: true })`, its own code, unmodified) run inside a container
 * on every model, through the node:fs facade: the tree it leaves must be the one it leaves on the real filesystem,
 * and the archive's entries must all be there. A second extraction by hand with tar-stream (the callback API of the
 * facade) must agree.
 */
import { randomBytes } from 'node:crypto';
import * as realFs from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tar from 'tar';
import { extract as tarStreamExtract } from 'tar-stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { allModels } from '../../models/index.js';
import { createFs, toTraceLines, type SimFs } from '../../src/adapters/node-fs.js';
import { withNodeFs } from '../../src/adapters/with-node-fs.js';
import type { TraceOp } from '../../src/trace/schema.js';
import { container, listTree } from './support.js';

const scratch = realFs.mkdtempSync(join(tmpdir(), 'layersim-adapters-tar-'));
afterAll(() => realFs.rmSync(scratch, { recursive: true, force: true }));

const src = join(scratch, 'src');
const archive = join(scratch, 'a.tar');
const reference = join(scratch, 'ref');
let archiveBytes: Buffer;
let entries: { path: string; type: string; size: number }[];

/** A source tree with every kind of entry a package tarball has. */
function makeSource(): void {
  const w = (p: string, data: string | Buffer, mode = 0o644): void => {
    realFs.mkdirSync(join(src, p, '..'), { recursive: true });
    realFs.writeFileSync(join(src, p), data);
    realFs.chmodSync(join(src, p), mode);
  };
  w('pkg/package.json', JSON.stringify({ name: 'demo', version: '1.0.0' }, null, 2));
  w('pkg/README.md', '# demo\n'.repeat(50));
  w('pkg/bin/cli.js', '#!/usr/bin/env node\nconsole.log("hi")\n', 0o755);
  w('pkg/lib/data.bin', randomBytes(200_000));
  w('pkg/lib/empty', '');
  w('pkg/lib/secret', 'shh', 0o600);
  w(`pkg/${'deep/'.repeat(25)}leaf.txt`, 'a path longer than 100 bytes (PAX)');
  w('pkg/lib/ünïcødé name.txt', 'utf-8 names');
  realFs.mkdirSync(join(src, 'pkg/empty-dir'));
  realFs.symlinkSync('bin/cli.js', join(src, 'pkg/cli-link'));
  realFs.symlinkSync('../missing', join(src, 'pkg/lib/dangling'));
  realFs.linkSync(join(src, 'pkg/README.md'), join(src, 'pkg/README.hard'));
  realFs.chmodSync(join(src, 'pkg/empty-dir'), 0o750);
}

beforeAll(() => {
  makeSource();
  tar.c({ file: archive, cwd: src, sync: true, portable: false }, ['pkg']);
  archiveBytes = realFs.readFileSync(archive);
  entries = [];
  tar.t({ file: archive, sync: true, onReadEntry: e => void entries.push({ path: e.path, type: e.type, size: e.size }) });
  realFs.mkdirSync(reference);
  tar.x({ file: archive, cwd: reference, sync: true });
});

function putArchive(fs: SimFs): void {
  fs.mkdirSync('/srv/out', { recursive: true });
  fs.writeFileSync('/srv/a.tar', archiveBytes);
}

describe.each(allModels.map(m => [m.name, m] as const))('node-tar extraction on %s', (_name, model) => {
  it('leaves the tree node-tar leaves on the real filesystem, and every archive entry', () => {
    const { host, c } = container(model);
    const record: TraceOp[] = [];
    const fs = createFs(c.sys, { record, now: () => host.clock.now() });
    putArchive(fs);
    host.meter.reset();
    const start = record.length;
    withNodeFs(fs, () => tar.x({ file: '/srv/a.tar', cwd: '/srv/out', sync: true }));

    // node:fs is the real one again
    expect(realFs.existsSync(archive)).toBe(true);
    expect(realFs.existsSync('/srv/out/pkg/package.json')).toBe(false);

    const want = listTree(realFs, reference, { mtime: true });
    const got = listTree(fs as never, '/srv/out', { mtime: true });
    expect(got).toEqual(want);
    for (const e of entries) {
      const rel = e.path.replace(/\/$/, '');
      expect(got[rel], rel).toBeDefined();
      const type = { File: 'file', OldFile: 'file', Directory: 'dir', SymbolicLink: 'symlink', Link: 'file' }[e.type];
      expect(got[rel]!.type, rel).toBe(type);
      if (e.type === 'File') expect(got[rel]!.size, rel).toBe(e.size);
    }

    // what it cost: at least the file data, and the calls it made, as a trace
    const fileBytes = entries.filter(e => e.type === 'File').reduce((n, e) => n + e.size, 0);
    expect(host.meter.dataBytes).toBeGreaterThanOrEqual(fileBytes);
    expect(host.meter.metadataBytes).toBeGreaterThan(0);
    const ops = record.slice(start);
    const kinds = new Set(ops.map(o => o.op));
    for (const k of ['open', 'read', 'write', 'close', 'mkdir', 'symlink', 'link', 'utimes', 'stat']) expect(kinds, k).toContain(k);
    expect(toTraceLines(ops).split('\n').length).toBe(ops.length + 1);
    expect(fs.openFds()).toEqual([]);
  });

  it('extracts with tar-stream through the callback API to the same tree', async () => {
    const { c } = container(model);
    const fs = createFs(c.sys);
    fs.mkdirSync('/x', { recursive: true });
    const cb = <T,>(f: (done: (err: Error | null, v?: T) => void) => void): Promise<T | undefined> =>
      new Promise((resolve, reject) => f((err, v) => (err ? reject(err) : resolve(v))));
    const ex = tarStreamExtract();
    const pending: { mode: number; mtime: Date; path: string }[] = [];
    ex.on('entry', (header, stream, next) => {
      const path = `/x/${header.name.replace(/\/$/, '')}`;
      const chunks: Buffer[] = [];
      stream.on('data', (d: unknown) => chunks.push(d as Buffer));
      stream.on('end', () => {
        const run = async (): Promise<void> => {
          const mode = header.mode ?? 0o644;
          switch (header.type) {
            case 'directory':
              await cb(done => fs.mkdir(path, { recursive: true, mode }, done));
              pending.push({ path, mode, mtime: header.mtime ?? new Date() });
              return;
            case 'symlink':
              await cb(done => fs.symlink(header.linkname!, path, done));
              return;
            case 'link':
              await cb(done => fs.link(`/x/${header.linkname!}`, path, done));
              return;
            default: {
              const fd = await cb<number>(done => fs.open(path, 'w', mode, done));
              await cb(done => fs.write(fd!, Buffer.concat(chunks), 0, Buffer.concat(chunks).length, null, done));
              await cb(done => fs.fchmod(fd!, mode, done));
              await cb(done => fs.close(fd!, done));
              await cb(done => fs.utimes(path, header.mtime!, header.mtime!, done));
            }
          }
        };
        run().then(() => next(), next);
      });
    });
    await new Promise<void>((resolve, reject) => {
      ex.on('finish', resolve);
      ex.on('error', reject);
      ex.end(archiveBytes);
    });
    for (const d of pending.reverse()) {
      await fs.promises.chmod(d.path, d.mode);
      await fs.promises.utimes(d.path, d.mtime, d.mtime);
    }
    expect(listTree(fs as never, '/x', { mtime: true })).toEqual(listTree(realFs, reference, { mtime: true }));
  });
});
