/**
 * `npx tsx test/predict/bench-jobs.ts [IMAGE] [WORKLOAD] [N] [ROUNDS]`: cold wall time of the compiled CLI's
 * `predict` (npm run build first) with `--jobs 1` (every sweep in the main thread) and with the default jobs (the
 * sweeps spread over the main thread and worker threads), alternated round by round so both see the same load on a
 * shared machine; checks the two print the same report (elapsedMs aside). Default: the kaniko busybox image of
 * ../shared/images, `dd:bs=64k,count=1`, 100 containers, 3 rounds.
 */
import { spawnSync } from 'node:child_process';
import { loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../../', import.meta.url));
const image = process.argv[2] || `${root}../shared/images/test-kaniko-image.tar`;
const workload = process.argv[3] || 'dd:bs=64k,count=1';
const n = process.argv[4] || '100';
const rounds = Number(process.argv[5] || 3);
const modes: Record<string, string[]> = { 'jobs 1': ['--jobs', '1'], 'default jobs': [] };
const times: Record<string, number[]> = {};
const outputs = new Map<string, string>();
for (let r = 0; r < rounds; r++) {
  for (const [mode, extra] of Object.entries(modes)) {
    const t0 = performance.now();
    const p = spawnSync(process.execPath, [`${root}dist/cli/bin.js`, 'predict', '--image', image, '--workload', workload, '--containers', n, '--json', ...extra], { encoding: 'utf8', maxBuffer: 1 << 30 });
    const wall = performance.now() - t0;
    if (p.status !== 0) throw new Error(`${mode}: exit ${p.status}: ${p.stderr}`);
    (times[mode] ??= []).push(wall);
    outputs.set(mode, p.stdout.replace(/"elapsedMs":[\d.]+/g, '"elapsedMs":0'));
    console.log(`round ${r + 1} ${mode}: ${(wall / 1000).toFixed(2)} s (load average ${loadavg()[0]!.toFixed(2)})`);
  }
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
for (const [mode, xs] of Object.entries(times)) console.log(`${mode}: median ${(median(xs) / 1000).toFixed(2)} s of ${xs.map(x => (x / 1000).toFixed(2)).join(', ')}`);
console.log(new Set(outputs.values()).size === 1 ? 'same report' : 'REPORTS DIFFER');
