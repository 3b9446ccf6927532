import { describe, expect, it } from 'vitest';
import {
  intendedModes,
  kernelRecord,
  MODE_DRIVERS,
  replayOnModel,
  traceNames,
  traceText,
  upperListing,
  type KernelMode,
} from '../support/kernel-fixtures.js';
import type { VolumeEntryJSON } from '../../src/fs/volume.js';

/**
 * Every trace of test/kernel (the unionmount-testsuite, its trailing-slash variant, and extra cases) replayed on the
 * model that presents each kernel mode, compared syscall by syscall with what Linux 6.18 answered — and, for the
 * overlay modes, the upper directory compared entry by entry (whiteouts, opaque/redirect/origin/impure xattrs).
 */
const MODES: KernelMode[] = ['overlay', 'overlay-redirect', 'overlay-metacopy', 'plain'];

function outcomes(results: readonly { line: number; outcome: string }[]): string[] {
  return results.map(r => `${r.line}: ${r.outcome}`);
}

describe.each(MODES)('kernel mode %s', mode => {
  const { driver, options } = MODE_DRIVERS[mode];
  const names = traceNames().filter(n => intendedModes(traceText(n)).includes(mode));

  it.each(names)(`${driver} gives the kernel's outcome for every line of %s`, name => {
    const kernel = kernelRecord(mode, name);
    const run = replayOnModel(name, driver, options);
    expect(outcomes(run.results)).toEqual(outcomes(kernel.results));
    expect(run.results.filter(r => r.held === false).map(r => r.line)).toEqual([]);
    if (kernel.upper !== null) {
      const upper = upperListing(run.containers.find(c => c.name === 'c')!.layerContents as VolumeEntryJSON[]);
      expect(upper).toEqual(kernel.upper);
    }
  });
});

describe('aufs against the kernel', () => {
  // AUFS renames a lower directory only when it is empty (Docker's AUFS docs); everything else is plain POSIX as the
  // container sees it, hard links included (pseudo-links keep them through copy-up).
  const populatedDirRenames = new Set(['rename-dir', 'rename-move-dir', 'rename-pop-dir']);
  const names = traceNames().filter(n => intendedModes(traceText(n)).includes('plain'));

  it.each(names.filter(n => !populatedDirRenames.has(n.replace(/\.ts$/, ''))))('gives the plain kernel outcome for every line of %s', name => {
    const kernel = kernelRecord('plain', name);
    const run = replayOnModel(name, 'aufs', {});
    expect(outcomes(run.results)).toEqual(outcomes(kernel.results));
  });

  it.each(names.filter(n => populatedDirRenames.has(n.replace(/\.ts$/, ''))))('first departs from plain POSIX in %s with EXDEV on a populated lower dir rename', name => {
    const kernel = kernelRecord('plain', name);
    const run = replayOnModel(name, 'aufs', {});
    const i = run.results.findIndex((r, k) => r.outcome !== kernel.results[k]!.outcome);
    expect(i).toBeGreaterThanOrEqual(0);
    expect(run.results[i]).toMatchObject({ op: 'rename', outcome: 'EXDEV' });
  });
});
