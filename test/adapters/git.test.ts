/**
 * isomorphic-git, unmodified, against the node:fs facade (its `fs.promises` path): init, add, commit, branch and
 * checkout of a small repository made in the test, on every model. The host's meter shows what git's writes cost; a
 * second container run from a commit of the first checks out over the image's layers, where union drivers copy up.
 */
import git from 'isomorphic-git';
import { describe, expect, it } from 'vitest';
import { allModels } from '../../models/index.js';
import { createFs, type SimFs } from '../../src/adapters/node-fs.js';
import type { TraceOp } from '../../src/trace/schema.js';
import { container } from './support.js';

const author = { name: 'Layer Sim', email: 'sim@example.invalid', timestamp: 1_700_000_000, timezoneOffset: 0 };
const dir = '/repo';

async function commitAll(fs: SimFs, message: string): Promise<string> {
  for (const f of await git.statusMatrix({ fs, dir })) {
    const [path, , work] = f;
    if (work === 0) await git.remove({ fs, dir, filepath: path });
    else await git.add({ fs, dir, filepath: path });
  }
  return git.commit({ fs, dir, message, author });
}

describe.each(allModels.map(m => [m.name, m] as const))('isomorphic-git on %s', (_name, model) => {
  it('init, add, commit, branch, checkout', async () => {
    const { host, c } = container(model);
    const record: TraceOp[] = [];
    const fs = createFs(c.sys, { record, now: () => host.clock.now() });

    host.meter.reset();
    await git.init({ fs, dir, defaultBranch: 'main' });
    expect(fs.readFileSync(`${dir}/.git/HEAD`, 'utf8')).toBe('ref: refs/heads/main\n');
    const afterInit = host.meter.snapshot();
    expect(afterInit.metadataBytes).toBeGreaterThan(0);

    fs.mkdirSync(`${dir}/src`, { recursive: true });
    fs.writeFileSync(`${dir}/README.md`, '# demo\n');
    fs.writeFileSync(`${dir}/src/main.js`, 'console.log("v1")\n');
    fs.writeFileSync(`${dir}/src/big.txt`, 'x'.repeat(100_000));
    fs.symlinkSync('src/main.js', `${dir}/main-link`);
    host.meter.reset();
    const first = await commitAll(fs, 'first');
    const commitCost = host.meter.snapshot();
    // the objects are zlib-compressed: fewer bytes than the 100 kB file, but written, with an index and a ref
    expect(commitCost.dataBytes).toBeGreaterThan(0);
    expect(fs.readFileSync(`${dir}/.git/refs/heads/main`, 'utf8').trim()).toBe(first);
    expect(fs.existsSync(`${dir}/.git/index`)).toBe(true);

    await git.branch({ fs, dir, ref: 'feature', checkout: true });
    fs.writeFileSync(`${dir}/src/main.js`, 'console.log("v2")\n');
    fs.writeFileSync(`${dir}/NEW`, 'only on feature\n');
    fs.unlinkSync(`${dir}/src/big.txt`);
    const second = await commitAll(fs, 'second');
    expect(second).not.toBe(first);

    host.meter.reset();
    await git.checkout({ fs, dir, ref: 'main' });
    expect(host.meter.dataBytes).toBeGreaterThanOrEqual(100_000);
    expect(fs.readFileSync(`${dir}/src/main.js`, 'utf8')).toBe('console.log("v1")\n');
    expect(fs.existsSync(`${dir}/NEW`)).toBe(false);
    expect(fs.statSync(`${dir}/src/big.txt`)!.size).toBe(100_000);
    expect(fs.readlinkSync(`${dir}/main-link`)).toBe('src/main.js');
    expect(await git.currentBranch({ fs, dir })).toBe('main');
    const log = await git.log({ fs, dir, ref: 'feature' });
    expect(log.map(e => e.commit.message.trim())).toEqual(['second', 'first']);
    expect((await git.statusMatrix({ fs, dir })).every(([, h, w, s]) => h === 1 && w === 1 && s === 1)).toBe(true);

    // everything git did went through system calls the trace language can replay
    const ops = new Set(record.map(o => o.op));
    for (const k of ['mkdir', 'open', 'write', 'read', 'close', 'stat', 'unlink', 'symlink', 'readlink']) expect(ops, k).toContain(k);
    expect(fs.openFds()).toEqual([]);

    // a container from a commit of this one: the repository is in the image's layers now
    host.commit('c', 'with-repo');
    const c2 = host.run('c2', 'with-repo');
    const fs2 = createFs(c2.sys, { now: () => host.clock.now() });
    // an append to a lower file: union drivers copy the whole 100 kB file up first; vfs copied the layer at run
    // (block drivers un-share blocks of their own size: the model decides)
    host.meter.reset();
    fs2.appendFileSync(`${dir}/src/big.txt`, 'y');
    const kind = host.capabilities.kind;
    if (kind === 'union') expect(host.meter.copyUpBytes).toBe(100_000);
    if (kind === 'copy') expect(host.meter.copyUpBytes).toBe(0);
    fs2.truncateSync(`${dir}/src/big.txt`, 100_000);
    // git checkout rewrites whole files (open O_TRUNC) or unlinks them: nothing to copy up, only new data and entries
    // (block drivers: what a rewrite frees and shares is the model's, so only the outcome is checked there)
    host.meter.reset();
    await git.checkout({ fs: fs2, dir, ref: 'feature' });
    expect(fs2.readFileSync(`${dir}/src/main.js`, 'utf8')).toBe('console.log("v2")\n');
    expect(fs2.existsSync(`${dir}/src/big.txt`)).toBe(false);
    if (kind !== 'block') {
      expect(host.meter.dataBytes).toBeGreaterThan(0);
      expect(host.meter.metadataBytes).toBeGreaterThan(0);
      expect(host.meter.copyUpBytes).toBe(0);
    }
    // the first container is untouched
    expect(fs.readFileSync(`${dir}/src/main.js`, 'utf8')).toBe('console.log("v1")\n');
  });
});
