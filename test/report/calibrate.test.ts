import { describe, expect, it } from 'vitest';
import { allModels } from '../../models/index.js';
import { loadImageSource } from '../../src/image/resolve.js';
import { calibrate } from '../../src/report/calibrate.js';
import { CALIBRATION_CASES } from '../../src/report/calibration-targets.js';
import { REVIEW_2014, runExperiment } from '../../src/report/experiment.js';
import { stepSeconds } from '../../src/report/time-model.js';

const busybox = () => loadImageSource('builtin:busybox');
const model = (name: string) => allModels.find(m => m.name === name)!;
const KiB = 1024;

describe('the review experiment', () => {
  it('moves with the workload as the mechanism says: a 1 MiB dd adds 960 KiB of data per run on a union driver', () => {
    const small = runExperiment(model('overlay2'), {}, busybox(), REVIEW_2014);
    const big = runExperiment(model('overlay2'), {}, busybox(), { ...REVIEW_2014, writeBytes: 1024 * KiB });
    const run = (r: typeof small) => r.steps.find(s => s.step === 'run')!.perContainer.dataBytes;
    expect(run(big) - run(small)).toBe(960 * KiB);
  });

  it('caches the image binary once on union drivers and once per container on block drivers', () => {
    const union = runExperiment(model('overlay2'), {}, busybox(), { ...REVIEW_2014, containers: 4 });
    const block = runExperiment(model('btrfs'), {}, busybox(), { ...REVIEW_2014, containers: 4 });
    expect(union.pageCacheFiles).toBe(1);
    expect(block.pageCacheFiles).toBe(8);
    expect(block.pageCacheBytes).toBe(8 * union.pageCacheBytes);
  });

  it('counts the layers and mounts each step performs (Docker 1.3: run = 2 layers, commit = 1)', () => {
    const r = runExperiment(model('devicemapper'), { profile: 'docker-1.3' }, busybox(), { ...REVIEW_2014, containers: 2 });
    const step = (name: string) => r.steps.find(s => s.step === name)!;
    expect(step('run').perContainer['layersCreated']).toBe(2);
    expect(step('commit').perContainer['layersCreated']).toBe(1);
    expect(step('commit').perContainer['mounts']).toBeGreaterThan(step('run').perContainer['mounts']!);
    const commit = step('commit');
    const moreMounts = { ...commit, perContainer: { ...commit.perContainer, mounts: commit.perContainer['mounts']! + 1 } };
    expect(stepSeconds('devicemapper', moreMounts) - stepSeconds('devicemapper', commit)).toBeCloseTo(0.25, 5);
  });
});

describe('layersim calibrate', () => {
  const report = calibrate(allModels, busybox, REVIEW_2014);

  it('reports every registered model and every configuration with figures', () => {
    expect(report.drivers.map(d => d.driver)).toEqual(allModels.map(m => m.name));
    expect(report.cases.map(c => c.label)).toEqual(CALIBRATION_CASES.map(c => c.label));
  });

  it('reproduces the Linux 6.18 overlay figures on ext4 exactly, from the layer directories', () => {
    const overlay = report.cases.find(c => c.label.startsWith('overlay2'))!;
    expect(overlay.comparisons.every(c => c.held)).toBe(true);
  });

  it('reproduces the review figures for loop-lvm commit within one block, and the btrfs Linux 6.18 growth within 15%', () => {
    const loop = report.cases.find(c => c.label.startsWith('devicemapper loop-lvm'))!;
    expect(loop.comparisons.filter(c => c.step === 'commit').every(c => c.held)).toBe(true);
    const btrfs = report.cases.find(c => c.label.startsWith('btrfs DUP'))!;
    expect(btrfs.comparisons.every(c => c.held)).toBe(true);
  });
});
