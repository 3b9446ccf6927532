/**
 * Runs synchronous code that imports `node:fs` itself (node-tar's `x({ sync: true })`, a build script) against a
 * facade: for the length of one synchronous call, the functions of Node's `fs` module are those of the facade.
 */
import nodeFs from 'node:fs';
import { syncBuiltinESMExports } from 'node:module';
import type { SimFs } from './node-fs.js';

/**
 * Calls `fn` with Node's `fs` functions (the CommonJS object, and the ESM named exports, kept in step by
 * `syncBuiltinESMExports`) replaced by the facade's, and puts the real ones back when it returns or throws. `fn` must be
 * synchronous: nothing else runs while `node:fs` is swapped, so other code in the process never sees the container.
 * A promise returned by `fn` is an error (its work would run after the real fs is back).
 */
export function withNodeFs<T>(fs: SimFs, fn: () => T): T {
  const target = nodeFs as unknown as Record<string, unknown>;
  const saved = new Map<string, unknown>();
  for (const [name, value] of Object.entries(fs)) {
    if (typeof value !== 'function' || !(name in target) || typeof target[name] !== 'function') continue;
    if (name === 'Stats' || name === 'Dirent') continue;
    saved.set(name, target[name]);
    target[name] = value;
  }
  syncBuiltinESMExports();
  try {
    const result = fn();
    if (result !== null && typeof result === 'object' && typeof (result as { then?: unknown }).then === 'function') {
      throw new Error('withNodeFs: the function returned a promise; only synchronous code can run against the facade');
    }
    return result;
  } finally {
    for (const [name, value] of saved) target[name] = value;
    syncBuiltinESMExports();
  }
}
