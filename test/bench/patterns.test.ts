import { describe, expect, it } from 'vitest';
import { COPY_UP_FSYNC, LATENCY_MODEL, simulatedLatency, type PatternCounters } from '../../bench/latency-model.js';
import { driverConfigs, patternSpecs, runPatterns, SMALL_SIZES, type PatternResult } from '../../bench/patterns.js';
import { allModels } from '../../models/index.js';

// The accounting and the latency model, not timing: the patterns at a small size, on every registered model.
const results = runPatterns({ sizes: SMALL_SIZES });
const cell = (pattern: string, driver: string): PatternResult => {
  const r = results.find(x => x.pattern === pattern && x.driver === driver);
  if (r === undefined) throw new Error(`no result for ${pattern} on ${driver}`);
  return r;
};

const none: PatternCounters = { syscalls: 0, lookups: 0, dataBytes: 0, metadataBytes: 0, copyUpBytes: 0, copyUpOps: 0, access: 'sequential' };

describe('latency model', () => {
  it('states a source for every parameter and a copy-up fsync rule for every registered model', () => {
    for (const [name, p] of Object.entries(LATENCY_MODEL)) {
      if (typeof p === 'string') continue;
      expect(p.value, name).toBeGreaterThan(0);
      expect(p.source.length, name).toBeGreaterThan(20);
    }
    for (const m of allModels) expect(COPY_UP_FSYNC[m.name], m.name).toBeDefined();
  });

  it('costs nothing for nothing, and its parts add up to the total', () => {
    expect(simulatedLatency('overlay2', none).totalUs).toBe(0);
    const l = simulatedLatency('overlay2', { ...none, syscalls: 10, lookups: 40, dataBytes: 3 << 20, metadataBytes: 8192, copyUpBytes: 1 << 20, copyUpOps: 1 });
    expect(l.totalUs).toBeCloseTo(l.cpuUs + l.copyUpUs + l.dataUs + l.metadataUs + l.flushUs, 6);
    expect(l.flushUs).toBe(LATENCY_MODEL.flushUs.value);
    expect(l.metadataUs).toBe(2 * LATENCY_MODEL.random4kWriteUs.value);
  });

  it('charges the copy-up flush only on drivers that fsync a copy-up, and scattered writes per block', () => {
    const c: PatternCounters = { ...none, dataBytes: 1 << 20, copyUpBytes: 1 << 20, copyUpOps: 1 };
    expect(simulatedLatency('overlay2', c).flushUs).toBeGreaterThan(0);
    expect(simulatedLatency('aufs', c).flushUs).toBe(0);
    expect(simulatedLatency('vfs', c).flushUs).toBe(0);
    const seq = simulatedLatency('vfs', { ...none, dataBytes: 1 << 20 });
    const rnd = simulatedLatency('vfs', { ...none, dataBytes: 1 << 20, access: 'random' });
    expect(rnd.dataUs).toBe(256 * LATENCY_MODEL.random4kWriteUs.value);
    expect(rnd.dataUs).toBeGreaterThan(seq.dataUs);
  });
});

describe('write-pattern accounting', () => {
  it('runs every pattern on every model once, and overlay2 metacopy=on on the metadata pattern only', () => {
    const patterns = patternSpecs(SMALL_SIZES).map(p => p.name);
    for (const p of patterns) for (const m of allModels) expect(results.filter(r => r.pattern === p && r.driver === m.name)).toHaveLength(1);
    expect(results.filter(r => r.driver === 'overlay2 metacopy=on').map(r => r.pattern)).toEqual(['metadata-only']);
    expect(results).toHaveLength(patterns.length * allModels.length + 1);
    expect(driverConfigs().find(c => c.label === 'overlay2 metacopy=on')?.options).toEqual({ metacopy: 'on' });
  });

  it('derives bytes written, amplification and latency from the same counters', () => {
    for (const r of results) {
      const at = `${r.pattern} on ${r.driver}`;
      expect(r.bytesWritten, at).toBe(r.dataBytes + r.metadataBytes);
      const per = r.amplificationUnit === 'B/op' ? r.ops : r.appBytes;
      expect(r.amplification, at).toBeCloseTo(r.bytesWritten / per, 9);
      const again = simulatedLatency(r.model, {
        syscalls: r.syscalls,
        lookups: r.lookups,
        dataBytes: r.dataBytes,
        metadataBytes: r.metadataBytes,
        copyUpBytes: r.copyUpBytes,
        copyUpOps: r.copyUpOps,
        access: r.pattern === 'random-overwrite' ? 'random' : 'sequential',
      });
      expect(r.latency, at).toEqual(again);
    }
  });

  it('counts what the application wrote', () => {
    const z = SMALL_SIZES;
    for (const m of allModels) {
      expect(cell('sequential-write', m.name).appBytes).toBe(z.seqBytes);
      expect(cell('random-overwrite', m.name).appBytes).toBe(z.randomWrites * 4096);
      expect(cell('append', m.name).appBytes).toBe(z.logLines * z.logLineBytes);
      expect(cell('many-small-files', m.name).appBytes).toBe(z.smallFiles * z.smallFileBytes);
      expect(cell('whole-file-rewrite', m.name).appBytes).toBe(z.rewriteFiles * z.rewriteFileBytes);
      expect(cell('metadata-only', m.name)).toMatchObject({ appBytes: 0, ops: 3 * z.metaFiles, amplificationUnit: 'B/op' });
    }
  });

  it('every driver writes at least the data the application wrote to new files', () => {
    for (const m of allModels) {
      for (const p of ['sequential-write', 'many-small-files', 'whole-file-rewrite'] as const) {
        const r = cell(p, m.name);
        expect(r.dataBytes, `${p} on ${m.name}`).toBeGreaterThanOrEqual(r.appBytes);
        expect(r.amplification, `${p} on ${m.name}`).toBeGreaterThanOrEqual(1);
      }
    }
  });

  it('overlay2: O_TRUNC rewrite copies nothing up and is not flushed; a partial write copies the whole file up once', () => {
    const rewrite = cell('whole-file-rewrite', 'overlay2');
    expect(rewrite.amplification).toBeGreaterThanOrEqual(1);
    expect(rewrite.copyUpBytes).toBe(0);
    expect(rewrite.latency.flushUs).toBe(0);
    const random = cell('random-overwrite', 'overlay2');
    expect(random.copyUpBytes).toBe(SMALL_SIZES.bigFileBytes);
    expect(random.copyUpOps).toBe(1);
    expect(random.latency.flushUs).toBe(LATENCY_MODEL.flushUs.value);
    expect(random.amplification).toBeGreaterThan(SMALL_SIZES.bigFileBytes / (SMALL_SIZES.randomWrites * 4096));
  });

  it('overlay2 metadata-only: a full copy-up (and fsync) per file by default, no data at all with metacopy=on', () => {
    const z = SMALL_SIZES;
    const plain = cell('metadata-only', 'overlay2');
    expect(plain.copyUpBytes).toBe(z.metaFiles * z.metaFileBytes);
    expect(plain.copyUpOps).toBe(z.metaFiles);
    expect(plain.latency.flushUs).toBe(z.metaFiles * LATENCY_MODEL.flushUs.value);
    const meta = cell('metadata-only', 'overlay2 metacopy=on');
    expect(meta.copyUpBytes).toBe(0);
    expect(meta.dataBytes).toBe(0);
    expect(meta.copyUpOps).toBe(0);
    expect(meta.latency.flushUs).toBe(0);
    expect(meta.bytesWritten).toBeGreaterThan(0);
    expect(meta.amplification).toBeLessThan(plain.amplification);
    expect(meta.latency.totalUs).toBeLessThan(plain.latency.totalUs);
  });

  it('vfs never copies up (its layers are whole copies)', () => {
    for (const r of results.filter(x => x.driver === 'vfs')) expect(r.copyUpBytes, r.pattern).toBe(0);
  });
});
