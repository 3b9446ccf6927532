import type { DriverModel } from './driver.js';

/** Fills in defaults and validates `key=value` options for a model; throws `Error` naming the bad key or value. */
export function resolveOptions(model: DriverModel, given: Readonly<Record<string, string>>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, spec] of Object.entries(model.options)) out[key] = spec.default;
  for (const [key, value] of Object.entries(given)) {
    const spec = model.options[key];
    if (spec === undefined) {
      throw new Error(`unknown option '${key}' for ${model.name} (known: ${Object.keys(model.options).join(', ') || 'none'})`);
    }
    if (spec.values !== undefined && !spec.values.includes(value)) {
      throw new Error(`option ${model.name} ${key}=${value}: must be one of ${spec.values.join(', ')}`);
    }
    out[key] = value;
  }
  model.parse?.(out);
  return out;
}

/** Parses `key=value` strings (repeatable `--driver-opt`). */
export function parseOptionPairs(pairs: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const p of pairs) {
    const eq = p.indexOf('=');
    if (eq <= 0) throw new Error(`driver option '${p}': expected key=value`);
    out[p.slice(0, eq)] = p.slice(eq + 1);
  }
  return out;
}
