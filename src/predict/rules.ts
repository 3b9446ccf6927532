/**
 * `--fail-if DRIVER.METRIC OP SIZE` gates for CI, as dive's `.dive-ci` rules: each rule is checked against every
 * selected driver's final figures; a rule that does not hold fails the run (exit 1) and is named.
 */
import { parseSize, SIZE_UNITS } from './units.js';

export type RuleOp = '>' | '>=' | '<' | '<=';

export interface FailRule {
  /** As given on the command line. */
  readonly text: string;
  /** A driver name, or `*` for any driver. */
  readonly driver: string;
  readonly metric: string;
  readonly op: RuleOp;
  readonly value: number;
}

/** A rule that cannot be used (exit status 2). */
export class RuleError extends Error {}

export interface RuleOutcome {
  rule: string;
  /** True when no driver met the failure condition. */
  passed: boolean;
  /** The drivers whose figure met it, with the figure. */
  failures: { driver: string; metric: string; value: number }[];
}

/**
 * Parses one rule. `metrics` are the metric names a driver's figures carry, `drivers` the known driver names; an
 * unknown metric or driver, a missing operator or a size without a known unit is a RuleError.
 */
export function parseRule(text: string, metrics: readonly string[], drivers: readonly string[]): FailRule {
  const m = /^\s*([A-Za-z0-9_*-]+)\.([A-Za-z0-9_.]+)\s*(>=|<=|>|<)\s*(.+?)\s*$/.exec(text);
  if (m === null) {
    throw new RuleError(`--fail-if '${text}': expected DRIVER.METRIC OP SIZE, e.g. overlay2.dataBytes>2GiB (OP one of > >= < <=, DRIVER a driver or *)`);
  }
  const [, driver, metric, op, sizeText] = m as unknown as [string, string, string, RuleOp, string];
  if (driver !== '*' && !drivers.includes(driver)) {
    throw new RuleError(`--fail-if '${text}': unknown driver '${driver}' (known: ${drivers.join(', ')}, or *)`);
  }
  if (!metrics.includes(metric)) throw new RuleError(`--fail-if '${text}': unknown metric '${metric}' (known: ${metrics.join(', ')})`);
  const value = parseSize(sizeText);
  if (value === undefined) throw new RuleError(`--fail-if '${text}': '${sizeText}' is not a size (a number with ${SIZE_UNITS})`);
  return { text, driver, metric, op, value };
}

function compare(a: number, op: RuleOp, b: number): boolean {
  switch (op) {
    case '>':
      return a > b;
    case '>=':
      return a >= b;
    case '<':
      return a < b;
    case '<=':
      return a <= b;
  }
}

/** Checks each rule against each driver's figures (`*` matches every driver present). */
export function checkRules(rules: readonly FailRule[], figures: ReadonlyMap<string, Readonly<Record<string, number>>>): RuleOutcome[] {
  return rules.map(rule => {
    const failures: RuleOutcome['failures'] = [];
    for (const [driver, f] of figures) {
      if (rule.driver !== '*' && rule.driver !== driver) continue;
      const v = f[rule.metric];
      if (v !== undefined && compare(v, rule.op, rule.value)) failures.push({ driver, metric: rule.metric, value: v });
    }
    return { rule: rule.text, passed: failures.length === 0, failures };
  });
}
