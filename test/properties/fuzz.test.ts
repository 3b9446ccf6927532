/**
 * Fuzzing: nonsense paths and symlink loops give errno outcomes (`FsError`), never another exception; random JSONL
 * lines give parsed ops or a `TraceError`, never another exception, and running what parses does the same.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Host } from '../../src/engine/host.js';
import { parseTrace, TraceError } from '../../src/trace/parse.js';
import { TraceRunner } from '../../src/trace/execute.js';
import { OP_NAMES, opSchemas } from '../../src/trace/schema.js';
import { applyToContainer, nastyOpArb, opArbs, type RealSystem } from '../support/arbitraries.js';
import { BASE_TREE, buildLayer, modelVariants, setUp } from '../support/fixtures.js';
import { viewOfSys } from '../support/ops.js';

describe.each(modelVariants)('$label: fuzz', variant => {
  it('ops over nonsense paths only ever fail with FsError', () => {
    const stepArb = fc.oneof({ arbitrary: nastyOpArb, weight: 12 }, { arbitrary: opArbs().commit, weight: 1 });
    fc.assert(
      fc.property(fc.array(stepArb, { minLength: 1, maxLength: 20 }), ops => {
        const real: RealSystem = { setup: setUp(variant, BASE_TREE), commits: 0 };
        for (const op of ops) applyToContainer(real, op); // an exception other than FsError fails the property
        viewOfSys(real.setup.container.sys); // and the tree is still readable as a whole
      }),
      { numRuns: 100 },
    );
  });
});

/** JSON values trace fields are given: plausible, wrong-typed and out-of-range ones. */
const fieldValueArb: fc.Arbitrary<unknown> = fc.oneof(
  fc.constantFrom('/a', '/a/b', '/c', '/x/y', '', '.', '..', '/', '//', 'a/', '0644', '0999', 'O_WRONLY|O_CREAT', 'O_BOGUS', 'zero', 'pattern', 'random', 'ok', 'ENOENT', 'base', 'c', '64k', '1T'),
  fc.constantFrom(0, 1, -1, 7, 0o644, 0o7777, 0o10000, 4096, 2 ** 40, 2 ** 53, 1.5, Number.MAX_SAFE_INTEGER, true, false, null),
  fc.array(fc.integer(), { maxLength: 2 }),
  fc.dictionary(fc.constantFrom('k', 'redirect_dir', 'index'), fc.constantFrom('on', 'off', 1)),
);

const fieldNames = ['path', 'from', 'to', 'target', 'data', 'length', 'fill', 'offset', 'size', 'mode', 'flags', 'fd', 'name', 'image', 'container', 'init', 'uid', 'gid', 'expect', 'in', 'bs', 'count', 'seek', 'content', 'type', 'options', 'label', 'value', 'follow', 'atime', 'mtime', 'nlink'];

/** An object that looks like a trace op: a known (or unknown) op name and random fields. */
const opObjectArb = fc
  .tuple(fc.constantFrom(...OP_NAMES, 'bogus', ''), fc.dictionary(fc.constantFrom(...fieldNames), fieldValueArb, { maxKeys: 6 }))
  .map(([op, fields]) => ({ op, ...fields }));

/** A trace line: such an object, any JSON, any string, a comment or a blank. */
const lineArb: fc.Arbitrary<string> = fc.oneof(
  { arbitrary: opObjectArb.map(o => JSON.stringify(o)), weight: 6 },
  { arbitrary: fc.json(), weight: 1 },
  { arbitrary: fc.string(), weight: 1 },
  { arbitrary: fc.constantFrom('', '# comment', '{', '[]', 'null', '{"op":1}', '{"op":"__proto__"}', '{"op":"constructor"}'), weight: 1 },
);

/** The fields an op's schema declares (zod object shape), so generated ops are mostly well-formed. */
function fieldsOf(op: string): string[] {
  const schema = (opSchemas as Record<string, { shape?: Record<string, unknown> }>)[op];
  return Object.keys(schema?.shape ?? {}).filter(k => k !== 'in' && k !== 'expect');
}

/** Values for the fields of runnable ops: small, mostly valid, with some wrong types and bad paths. */
const runValueArb: fc.Arbitrary<unknown> = fc.oneof(
  { arbitrary: fc.constantFrom('/a', '/a/b', '/c', '/b/n', '/s', '/d/b', '/x/y', '/a/', '/c/', '/..', 'fd1', 'fd2', 'base', 'c'), weight: 6 },
  { arbitrary: fc.constantFrom(0, 1, 5, 0o644, 0o755, '0600', 'O_WRONLY|O_CREAT', 'O_RDONLY', 'O_RDWR|O_TRUNC', 'zero', 'pattern', 'hello', 4096, true, false), weight: 4 },
  { arbitrary: fc.constantFrom(-1, null, 2 ** 40, 'user.x', 'trusted.overlay.origin', ''), weight: 1 },
);

/** A schema-shaped op object (every declared field drawn independently; refinements may still reject it). */
const runnableOpArb = fc
  .constantFrom(...OP_NAMES.filter(op => op !== 'dd' && op !== 'driver' && op !== 'image'))
  .chain(op => {
    const fields = fieldsOf(op);
    return fc
      .record(Object.fromEntries(fields.map(f => [f, runValueArb])), { requiredKeys: [] })
      .map(rec => ({ op, ...rec }));
  });

describe('trace parser fuzz', () => {
  it('random JSONL gives ops or a TraceError, never another exception', () => {
    fc.assert(
      fc.property(fc.array(lineArb, { maxLength: 8 }), lines => {
        try {
          const parsed = parseTrace(lines.join('\n'), 'fuzz.jsonl');
          for (const l of parsed) expect(OP_NAMES).toContain(l.op.op);
        } catch (e) {
          if (!(e instanceof TraceError)) throw e;
        }
      }),
      { numRuns: 300 },
    );
  });

  it.each(modelVariants)('$label: running what parses gives errno outcomes or a TraceError only', variant => {
    let ran = 0;
    fc.assert(
      fc.property(fc.array(runnableOpArb, { minLength: 1, maxLength: 12 }), ops => {
        const host = new Host(variant.model, variant.options, { seed: 1 });
        // `dd` with a huge count loops per block, and `image` would load real sources: neither is generated
        const runner = new TraceRunner(host, 'fuzz.jsonl', () => [buildLayer(BASE_TREE)]);
        const prelude = parseTrace('{"op":"image","name":"base","from":"builtin:test"}\n{"op":"run","container":"c","image":"base","init":false}');
        runner.runAll(prelude);
        for (const o of ops) {
          let lines;
          try {
            lines = parseTrace(JSON.stringify(o), 'fuzz.jsonl');
          } catch (e) {
            if (e instanceof TraceError) continue;
            throw e;
          }
          for (const line of lines) {
            try {
              runner.runLine(line);
              ran++;
            } catch (e) {
              if (!(e instanceof TraceError)) throw e;
            }
          }
        }
      }),
      { numRuns: 100 },
    );
    expect(ran, 'generated ops that parsed and ran').toBeGreaterThan(100);
  });
});
