import type { DriverModel } from '../engine/driver.js';
import type { Volume } from '../fs/volume.js';
import { CALIBRATION_CASES, type CalibrationCase, type StepTarget } from './calibration-targets.js';
import { REVIEW_2014, runExperiment, type ExperimentResult, type ExperimentSpec } from './experiment.js';
import { formatBytes, renderTable } from './format.js';
import { stepSeconds } from './time-model.js';

/** One simulated figure next to its measured target. */
export interface Comparison {
  step: string;
  metric: string;
  simulatedBytes: number;
  targetBytes: number;
  /** Simulated minus target, as a fraction of the target. */
  difference: number;
  held: boolean;
  firstSimulatedBytes?: number;
  firstTargetBytes?: number;
}

export interface TimeComparison {
  step: string;
  simulatedSeconds: number;
  targetSeconds: number;
  difference: number;
  held: boolean;
}

export interface CaseResult {
  /** Modelled seconds per step (TIME_MODEL_2014) next to the review's timings, within 25%. */
  times: TimeComparison[];
  label: string;
  driver: string;
  options: Record<string, string>;
  source: string;
  comparisons: Comparison[];
  experiment: ExperimentResult;
}

export interface CalibrationReport {
  experiment: ExperimentSpec;
  /** Every registered model with its defaults. */
  drivers: ExperimentResult[];
  /** The configurations with published or measured figures, for the models that are registered. */
  cases: CaseResult[];
}

function holds(target: StepTarget, simulated: number): boolean {
  const off = Math.abs(simulated - target.bytes);
  return 'bytes' in target.tolerance ? off <= target.tolerance.bytes : off <= target.tolerance.fraction * target.bytes;
}

function compare(c: CalibrationCase, result: ExperimentResult): Comparison[] {
  return c.targets.map(t => {
    const step = result.steps.find(s => s.step === t.step)!;
    const simulated = step.perContainer[t.metric] ?? Number.NaN;
    const cmp: Comparison = {
      step: t.step,
      metric: t.metric,
      simulatedBytes: simulated,
      targetBytes: t.bytes,
      difference: t.bytes === 0 ? 0 : (simulated - t.bytes) / t.bytes,
      held: holds(t, simulated),
    };
    if (t.firstBytes !== undefined) {
      cmp.firstSimulatedBytes = step.first[t.metric] ?? Number.NaN;
      cmp.firstTargetBytes = t.firstBytes;
      // the first container's figure must hold too, by the same tolerance
      cmp.held &&= holds({ ...t, bytes: t.firstBytes }, cmp.firstSimulatedBytes);
    }
    return cmp;
  });
}

/** Replays the review's experiment on every model, and on every configuration with figures to compare with. */
export function calibrate(models: readonly DriverModel[], image: () => Volume[], spec: ExperimentSpec = REVIEW_2014): CalibrationReport {
  const drivers = models.map(m => runExperiment(m, {}, image(), spec));
  const cases: CaseResult[] = [];
  for (const c of CALIBRATION_CASES) {
    const model = models.find(m => m.name === c.driver);
    if (model === undefined) continue;
    const given = Object.fromEntries(Object.entries(c.options).filter(([k]) => k in model.options));
    const experiment = runExperiment(model, given, image(), spec);
    const times = Object.entries(c.seconds ?? {}).map(([step, target]) => {
      const simulated = stepSeconds(c.driver, experiment.steps.find(s => s.step === step)!);
      const difference = (simulated - target) / target;
      return { step, simulatedSeconds: simulated, targetSeconds: target, difference, held: Math.abs(difference) <= 0.25 };
    });
    cases.push({ label: c.label, driver: c.driver, options: experiment.options, source: c.source, comparisons: compare(c, experiment), times, experiment });
  }
  return { experiment: spec, drivers, cases };
}

const pct = (f: number) => `${f >= 0 ? '+' : ''}${(f * 100).toFixed(1)}%`;

/** The report as tables: growth per step on every driver, then the comparisons with the measured figures. */
export function formatCalibration(r: CalibrationReport): string {
  const lines: string[] = [];
  lines.push(
    `The 2014 review's experiment on builtin:busybox: ${r.experiment.containers} x run (dd ${formatBytes(r.experiment.writeBytes)}), ` +
      `${r.experiment.containers} x commit, ${r.experiment.containers} x run from the commits. Growth per container [first].\n`,
  );
  const rows = [['driver', 'step', 'data', 'metadata', 'df', 'page cache']];
  for (const d of r.drivers) {
    d.steps.forEach((s, i) => {
      rows.push([
        i === 0 ? d.driver : '',
        s.step,
        `${formatBytes(s.perContainer.dataBytes)} [${formatBytes(s.first.dataBytes)}]`,
        `${formatBytes(s.perContainer.metadataBytes)} [${formatBytes(s.first.metadataBytes)}]`,
        `${formatBytes(s.perContainer.dfUsedBytes)} [${formatBytes(s.first.dfUsedBytes)}]`,
        i === 0 ? `${formatBytes(d.pageCacheBytes)} (${d.pageCacheFiles} cached)` : '',
      ]);
    });
  }
  lines.push(renderTable(rows));
  if (r.cases.length > 0) {
    lines.push('\nAgainst the measured figures (per container; a figure holds within one pool/metadata block, 25% or 15%):\n');
    const cmp = [['configuration', 'step', 'metric', 'simulated', 'measured', 'difference', 'first: simulated / measured', 'holds']];
    for (const c of r.cases) {
      c.comparisons.forEach((x, i) => {
        cmp.push([
          i === 0 ? c.label : '',
          x.step,
          x.metric,
          formatBytes(x.simulatedBytes),
          formatBytes(x.targetBytes),
          pct(x.difference),
          x.firstTargetBytes === undefined ? '' : `${formatBytes(x.firstSimulatedBytes!)} / ${formatBytes(x.firstTargetBytes)}`,
          x.held ? 'yes' : 'NO',
        ]);
      });
    }
    lines.push(renderTable(cmp));
    const timed = r.cases.filter(c => c.times.length > 0);
    if (timed.length > 0) {
      lines.push('\nTime per step from the stated cost model (src/report/time-model.ts) against the review (within 25%):\n');
      const t = [['configuration', 'step', 'modelled', 'review', 'difference', 'holds']];
      for (const c of timed) {
        c.times.forEach((x, i) => {
          t.push([i === 0 ? c.label : '', x.step, `${x.simulatedSeconds.toFixed(2)} s`, `${x.targetSeconds.toFixed(2)} s`, pct(x.difference), x.held ? 'yes' : 'NO']);
        });
      }
      lines.push(renderTable(t));
    }
  }
  return lines.join('\n');
}
