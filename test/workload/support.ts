import { allModels } from '../../models/index.js';
import { resolveOptions } from '../../src/engine/drivers.js';
import { Host } from '../../src/engine/host.js';
import type { Volume } from '../../src/fs/volume.js';
import { parseTrace } from '../../src/trace/parse.js';
import { TraceRunner, type LineResult } from '../../src/trace/execute.js';
import type { TraceOp } from '../../src/trace/schema.js';
import type { Syscalls } from '../../src/vfs/syscalls.js';
import { toJsonl } from '../../src/workload/jsonl.js';
import { tree, type TreeSpec } from '../support/world.js';

export const MODELS = allModels.map(m => m.name);

/** A `find . -printf '%y %p %s %l\n' | sort` listing as a map from path (without `./`) to "type size-or-target". */
export function parseFindListing(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of text.split('\n')) {
    const m = /^([dfl]) \.(\/\S*)? (\d+) ?(.*)$/.exec(line);
    if (m === null || m[2] === undefined) continue;
    const [, type, path, size, target] = m;
    out.set(path!.slice(1), type === 'f' ? `f ${size}` : type === 'l' ? `l ${target}` : 'd');
  }
  return out;
}

/** An image layer holding a find listing under `root` (files zero-filled at their sizes). */
export function layerFromListing(listing: Map<string, string>, root: string): Volume {
  const spec: TreeSpec = { [`${root.slice(1)}/`]: '' };
  for (const [path, what] of listing) {
    const full = `${root.slice(1)}/${path}`;
    if (what === 'd') spec[`${full}/`] = '';
    else if (what.startsWith('f ')) spec[full] = { bytes: Number(what.slice(2)) };
    else spec[full] = { symlink: what.slice(2) };
  }
  return tree(spec);
}

/** The container's view under `root`, as parseFindListing gives a listing. */
export function walk(sys: Syscalls<object>, root: string): Map<string, string> {
  const out = new Map<string, string>();
  const visit = (dir: string, rel: string) => {
    for (const name of sys.readdir(dir).sort()) {
      if (name === '.' || name === '..') continue;
      const path = `${dir}/${name}`;
      const st = sys.stat(path, false);
      const r = rel === '' ? name : `${rel}/${name}`;
      if (st.kind === 'dir') {
        out.set(r, 'd');
        visit(path, r);
      } else if (st.kind === 'symlink') out.set(r, `l ${sys.readlink(path)}`);
      else out.set(r, `f ${st.size}`);
    }
  };
  visit(root, '');
  return out;
}

/**
 * Replays ops (through their JSONL form, as the CLI would) in container "c" on `driver` over the given image layers.
 * Returns the host, the container's syscalls and each line's result.
 */
export function replay(driver: string, layers: Volume[], ops: readonly TraceOp[]): { host: Host; sys: Syscalls<object>; results: LineResult[] } {
  const m = allModels.find(x => x.name === driver)!;
  const host = new Host(m, resolveOptions(m, {}));
  host.loadImage('img', layers);
  const c = host.run('c', 'img');
  const runner = new TraceRunner(host, '<workload>', () => {
    throw new Error('no images here');
  });
  runner.runLine({ line: 0, op: { op: 'use', container: 'c' } });
  runner.results.length = 0;
  runner.runAll(parseTrace(toJsonl(ops)));
  return { host, sys: c.sys, results: runner.results };
}
