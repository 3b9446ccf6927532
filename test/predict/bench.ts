/**
 * `npx tsx test/predict/bench.ts [IMAGE] [WORKLOAD] [N]`: times `layersim predict` on every driver (default: the
 * kaniko busybox image of ../shared/images, `dd:bs=64k,count=1`, 100 containers). Prints the wall time of the whole
 * prediction (image load included), the process's CPU time (user+system: less disturbed by other load on the machine
 * than wall time) and each driver's wall time, for the first (cold) run and the best of 3 more.
 *
 * tsx turns every imported binding into a getter call, which shows in hot model code (btrfs's ON_DISK constants); for
 * native ESM figures compile first: a tsconfig extending ./tsconfig.json with noEmit false, an outDir, and include
 * src, models and this file, then `node OUTDIR/test/predict/bench.js IMAGE` (node_modules linked into OUTDIR).
 */
import { fileURLToPath } from 'node:url';
import { allModels } from '../../models/index.js';
import { loadImageSource } from '../../src/image/resolve.js';
import { predict } from '../../src/predict/simulate.js';
import { loadWorkload } from '../../src/predict/workload.js';

const here = fileURLToPath(new URL('.', import.meta.url));
const image = process.argv[2] ?? `${here}../../../shared/images/test-kaniko-image.tar`;
const spec = process.argv[3] ?? 'dd:bs=64k,count=1';
const n = Number(process.argv[4] ?? 100);
const runs: { total: number; cpu: number; load: number; drivers: Record<string, number> }[] = [];
for (let r = 0; r < 4; r++) {
  const t0 = performance.now();
  const c0 = process.cpuUsage();
  const trees = loadImageSource(image);
  const load = performance.now() - t0;
  const report = predict({ image: { source: image, trees }, workload: loadWorkload(spec), models: allModels, options: {}, containers: n, schedule: { kind: 'all' }, exec: '/bin/sh' });
  const c = process.cpuUsage(c0);
  runs.push({ total: performance.now() - t0, cpu: (c.user + c.system) / 1000, load, drivers: Object.fromEntries(report.drivers.map(d => [d.driver, d.elapsedMs])) });
}
const fmt = (x: (typeof runs)[number]) =>
  `${x.total.toFixed(0)} ms wall, ${x.cpu.toFixed(0)} ms CPU (image load ${x.load.toFixed(0)} ms; ${Object.entries(x.drivers).map(([k, v]) => `${k} ${v.toFixed(0)}`).join(', ')})`;
const best = runs.slice(1).reduce((a, b) => (b.total < a.total ? b : a));
const { loadavg } = await import('node:os');
console.log(`predict: ${n} containers x ${allModels.length} drivers, ${spec} on ${image} (load average ${loadavg()[0]!.toFixed(2)})`);
console.log(`  cold: ${fmt(runs[0]!)}`);
console.log(`  warm (best of ${runs.length - 1}): ${fmt(best)}`);
