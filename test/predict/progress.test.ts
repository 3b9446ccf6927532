import { describe, expect, it } from 'vitest';
import { ProgressBar } from '../../src/predict/progress.js';
import { capture } from './support.js';

describe('progress bar', () => {
  it('draws on the stream it is given, ends at 100% and clears its line', () => {
    const out: string[] = [];
    const bar = new ProgressBar(4, { write: s => (out.push(s), true), columns: 80 }, 0);
    for (let i = 1; i <= 4; i++) bar.tick(`overlay2 #${i}`);
    bar.finish();
    expect(out.at(-2)).toContain('100% 4/4 overlay2 #4');
    expect(out.at(-2)).toMatch(/^\r\[#{10,}\] 100%/);
    expect(out.at(-1)).toBe('\r\x1b[K');
  });

  it('is not drawn when stderr is not a terminal (the tests run without one)', () => {
    const r = capture(['predict', '--image', 'builtin:busybox', '--workload', 'dd', '--containers', '3', '--drivers', 'overlay2']);
    expect(r.status).toBe(0);
    expect(r.err).not.toContain('%');
  });
});
