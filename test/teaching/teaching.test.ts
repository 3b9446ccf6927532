import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseTrace } from '../../src/trace/parse.js';
import {
  BASE_TREE,
  ChmodCommand,
  checkAgainstReference,
  fsCommands,
  fsOpArb,
  modelNamed,
  modelRunSetup,
  modelVariants,
  ReferenceFs,
  RenameCommand,
  setUp,
  simulate,
  toTraceOps,
  traceArb,
  applyOp,
  variant,
  WriteCommand,
} from '../../src/teaching/index.js';

describe('teaching API', () => {
  it.each(['vfs', 'aufs', 'overlay2', 'btrfs'])('checkAgainstReference: %s agrees with the memfs reference', name => {
    fc.assert(fc.property(fsCommands({ maxCommands: 8 }), cmds => checkAgainstReference(modelNamed(name), {}, cmds)), { numRuns: 15, seed: 5 });
  });

  it('checkAgainstReference takes the model options (redirect_dir=on renames a lower dir)', () => {
    expect(() => checkAgainstReference(modelNamed('overlay2'), { redirect_dir: 'on' }, [new RenameCommand({ kind: 'rename', from: '/a', to: '/b/x' })])).not.toThrow();
    expect(() => checkAgainstReference(modelNamed('overlay2'), { redirect_dir: 'maybe' }, [])).toThrow(/redirect_dir=maybe/);
  });

  it('a command that disagrees fails with its replayable call', () => {
    // overlay2 refuses to rename a lower directory; a reference told POSIX rules expects it to work
    const v = variant('overlay2');
    const cmd = new RenameCommand({ kind: 'rename', from: '/a', to: '/b/x' });
    expect(() => fc.modelRun(() => modelRunSetup(setUp(v), new ReferenceFs(BASE_TREE)), [cmd])).toThrow('sys.rename("/a", "/b/x"): model gave EXDEV, reference ok');
  });

  it('commands print as calls that replay them', () => {
    expect(new WriteCommand({ kind: 'write', path: '/a/b', offset: 2, data: Uint8Array.from([0x78, 0x79]), mode: 0o644 }).toString()).toBe('write(sys, "/a/b", 2, "xy", 0o644)');
    expect(new ChmodCommand({ kind: 'chmod', path: '/c', mode: 0o600 }).toString()).toBe('sys.chmod("/c", 0o600)');
  });

  it('traceArb generates lines the trace format accepts', () => {
    fc.assert(
      fc.property(traceArb({ maxLength: 6 }), ops => {
        const text = ops.map(o => JSON.stringify(o)).join('\n');
        expect(parseTrace(text, 'gen.jsonl').length).toBe(ops.length);
      }),
      { numRuns: 100 },
    );
  });

  it('toTraceOps has the effect of the FsOp: same outcome through simulate as through applyOp', () => {
    const v = variant('vfs');
    fc.assert(
      fc.property(fsOpArb(), op => {
        const direct = applyOp(setUp(v).container.sys, op);
        const results = simulate(v, { ops: toTraceOps(op), init: false }).results;
        const failed = results.find(r => r.outcome !== 'ok');
        expect(failed?.outcome ?? 'ok').toBe(direct);
      }),
      { numRuns: 60 },
    );
  });

  it('simulate: costs as `layersim run` reports them', () => {
    const sim = simulate(variant('overlay2'), { base: [{ path: '/big', type: 'file', mode: 0o644, content: { bytes: 1 << 20 } }] });
    const [w] = sim.run([{ op: 'write', path: '/big', offset: 0, data: 'x' }]);
    expect(w!.outcome).toBe('ok');
    expect(w!.cost.copyUpBytes).toBe(1 << 20);
    expect(sim.results).toHaveLength(1);
  });

  it('modelVariants lists every model and the overlay2 options', () => {
    const labels = modelVariants().map(v => v.label);
    expect(labels).toEqual(expect.arrayContaining(['vfs', 'aufs', 'overlay2', 'devicemapper', 'btrfs', 'overlay2 redirect_dir=on', 'overlay2 metacopy=on', 'overlay2 index=on']));
  });
});
