import { describe, expect, it } from 'vitest';
import { fileURLToPath } from 'node:url';
import { resolveOptions } from '../../src/engine/drivers.js';
import { Host } from '../../src/engine/host.js';
import { loadImageSource } from '../../src/image/resolve.js';
import { cp, mkdirp, rmtree } from '../../src/trace/execute.js';
import type { Syscalls } from '../../src/vfs/syscalls.js';
import { diveAnalysis } from '../../src/report/dive.js';
import { model, tree, writeFile } from '../support/world.js';

const IMAGES = fileURLToPath(new URL('../../../shared/images', import.meta.url));

/**
 * dive's own expectations for its test image (.data/test-docker-image.tar, built from .data/Dockerfile):
 * dive/image/docker/image_archive_analysis_test.go Test_Analysis and the export snapshot of
 * cmd/dive/cli/internal/command/export (wagoodman/dive).
 */
const DIVE_TEST_DOCKER_IMAGE = {
  efficiency: 0.9844212134184309,
  sizeBytes: 1220598,
  userSizeBytes: 66237,
  wastedBytes: 32025,
  wastedUserPercent: 0.4834911001404049,
  inefficient: [
    ['/root/example/somefile1.txt', 2, 12810],
    ['/root/saved.txt', 2, 12810],
    ['/root/example/somefile3.txt', 2, 6405],
  ],
};

describe('dive efficiency: the rules of dive/filetree/efficiency.go', () => {
  it("dive's TestEfficency trees, with directory entries as real layer tars carry them", () => {
    // dive's fixture adds bare paths, so /etc/nginx is no directory for it and its whiteout costs 0 (score 0.75);
    // a layer tar lists /etc/nginx as a directory, and dive then charges the whiteout the stacked subtree (8000)
    const a = diveAnalysis([
      tree({ 'etc/nginx/nginx.conf': { bytes: 2000 }, 'etc/nginx/public': { bytes: 3000 } }),
      tree({ 'etc/nginx/nginx.conf': { bytes: 5000 }, 'etc/athing': { bytes: 10000 } }),
      tree({ 'etc/.wh.nginx': '' }),
    ]);
    expect(a.efficiency).toBe((2000 + 3000 + 10000 + 8000) / (7000 + 3000 + 10000 + 8000));
    expect(a.inefficiencies).toEqual([{ path: '/etc/nginx/nginx.conf', count: 2, layers: [0, 1], cumulativeBytes: 7000, reclaimableBytes: 7000 }]);
    expect(a.wastedBytes).toBe(7000);
    expect(a.userSizeBytes).toBe(15000);
  });

  it('TestEfficency_ScratchImage: nothing to waste scores 1', () => {
    const a = diveAnalysis([tree({ nothing: '' }), tree({}), tree({})]);
    expect(a).toMatchObject({ efficiency: 1, wastedBytes: 0, inefficiencies: [], userSizeBytes: 0, wastedUserPercent: null });
  });

  it('a file whiteout costs 0; wasted counts every copy, reclaimable only those the image no longer shows', () => {
    const a = diveAnalysis([
      tree({ 'app/big': { bytes: 1000 }, 'app/tmp': { bytes: 300 } }),
      tree({ 'app/big': { bytes: 1000 } }), // chmod: the whole file again
      tree({ 'app/.wh.tmp': '' }),
    ]);
    expect(a.inefficiencies).toEqual([
      { path: '/app/big', count: 2, layers: [0, 1], cumulativeBytes: 2000, reclaimableBytes: 1000 },
      { path: '/app/tmp', count: 2, layers: [0, 2], cumulativeBytes: 300, reclaimableBytes: 300 },
    ]);
    expect(a.wastedBytes).toBe(2300);
    expect(a.reclaimableBytes).toBe(1300);
    expect(a.efficiency).toBe((1000 + 0) / (2000 + 300));
    expect(a.wastedUserPercent).toBe(2300 / 1000);
  });

  it("dive's quirk: a whiteout of a path absent below ends that layer's visit and leaves Σ min one short", () => {
    const a = diveAnalysis([tree({ a: { bytes: 100 } }), tree({ '.wh.zz': '', zz2: { bytes: 50 }, a: { bytes: 100 } })]);
    // /.wh.zz is visited first (sorted), fails, and /zz2 and /a of that layer are never visited
    expect(a.efficiency).toBe((100 - 1) / 100);
    expect(a.inefficiencies).toEqual([]);
  });

  it('dive ignores opaque directories; reclaimable honours them', () => {
    const a = diveAnalysis([
      tree({ 'd/f': { bytes: 100 } }),
      tree({ 'd/f': { bytes: 100 } }),
      tree({ 'd/.wh..wh..opq': '', 'd/g': 'x' }),
    ]);
    expect(a.inefficiencies).toEqual([{ path: '/d/f', count: 2, layers: [0, 1], cumulativeBytes: 200, reclaimableBytes: 200 }]);
  });

  it('hard links: the first name in tar order carries the size, the others are link entries of size 0', () => {
    const a = diveAnalysis([tree({ 'bin/busybox': { bytes: 500 }, 'bin/sh': { link: 'bin/busybox' } }), tree({ 'bin/sh': { bytes: 500 } })]);
    expect(a.layerSizes).toEqual([500, 500]);
    expect(a.inefficiencies).toEqual([{ path: '/bin/sh', count: 2, layers: [0, 1], cumulativeBytes: 500, reclaimableBytes: 0 }]);
  });
});

/** dive's .data/Dockerfile, one commit per instruction, as `docker build` (classic builder) runs it. */
function buildDiveTestImage(driver: string, options: Record<string, string>, readmeBytes: number, baseBytes: number): Host {
  const m = model(driver);
  const h = new Host(m, resolveOptions(m, options));
  h.loadImage('base', [tree({ 'bin/busybox': { bytes: baseBytes }, 'root/': '', 'tmp/': '' })]);
  let image = 'base';
  let n = 0;
  const step = (body: (sys: Syscalls<object>) => void): void => {
    const c = h.run(`step${++n}`, image);
    body(c.sys);
    h.commit(c.name, `img${n}`);
    h.rm(c.name);
    image = `img${n}`;
  };
  step(sys => writeFile(sys, '/somefile.txt', 'r'.repeat(readmeBytes))); // ADD README.md /somefile.txt
  step(sys => mkdirp(sys, '/root/example/really/nested', 0o755));
  step(sys => cp(sys, '/somefile.txt', '/root/example/somefile1.txt'));
  step(sys => sys.chmod('/root/example/somefile1.txt', 0o444));
  step(sys => cp(sys, '/somefile.txt', '/root/example/somefile2.txt'));
  step(sys => cp(sys, '/somefile.txt', '/root/example/somefile3.txt'));
  step(sys => sys.rename('/root/example/somefile3.txt', '/root/saved.txt'));
  step(sys => cp(sys, '/root/saved.txt', '/root/.saved.txt'));
  step(sys => rmtree(sys, '/root/example'));
  step(sys => {
    // ADD .data/ /root/.data/ (2187 bytes then)
    mkdirp(sys, '/root/.data', 0o755);
    writeFile(sys, '/root/.data/tag.sh', 't'.repeat(917));
    writeFile(sys, '/root/.data/test-coverage.sh', 'c'.repeat(1270));
  });
  step(sys => cp(sys, '/root/saved.txt', '/tmp/saved.again1.txt'));
  step(sys => cp(sys, '/root/saved.txt', '/root/.data/saved.again2.txt'));
  step(sys => sys.chmod('/root/saved.txt', 0o755));
  return h;
}

describe("dive's numbers for its own test image", () => {
  const setups = [
    ['overlay2', {}],
    ['aufs', {}],
    ['vfs', {}],
    ['overlay2', { redirect_dir: 'on', metacopy: 'on' }],
  ] as const;
  for (const [driver, options] of setups) {
    it(`${driver} ${JSON.stringify(options)}: its Dockerfile built by commits gives dive's Test_Analysis figures exactly`, () => {
      // layer 0 of test-docker-image.tar holds 1220598 - 66237 bytes; its README.md was 6405 bytes
      const h = buildDiveTestImage(driver, options, 6405, 1220598 - 66237);
      const image = h.image('img13');
      expect(image.trees).toHaveLength(14);
      const a = diveAnalysis(image.trees);
      const d = DIVE_TEST_DOCKER_IMAGE;
      expect(a).toMatchObject({ efficiency: d.efficiency, sizeBytes: d.sizeBytes, userSizeBytes: d.userSizeBytes, wastedBytes: d.wastedBytes, wastedUserPercent: d.wastedUserPercent });
      expect(a.inefficiencies.map(i => [i.path, i.count, i.cumulativeBytes])).toEqual(d.inefficient);
      // ours: somefile1 and somefile3 are gone from the image, one copy of /root/saved.txt stays
      expect(a.reclaimableBytes).toBe(12810 + 6405 + 6405);
    });
  }
});

describe('dive on test-kaniko-image.tar (the same Dockerfile built by kaniko, a 9249-byte README)', () => {
  it('layer sizes, efficiency, wasted and reclaimable bytes', () => {
    const a = diveAnalysis(loadImageSource(`${IMAGES}/test-kaniko-image.tar`));
    expect(a.layerSizes).toEqual([1231733, 9249, 0, 9249, 9249, 9249, 9249, 9249, 9249, 0, 2187, 9249, 9249, 9249]);
    expect(a.sizeBytes).toBe(1326410);
    expect(a.userSizeBytes).toBe(10 * 9249 + 2187);
    // the docker image's waste scaled by the README: 5 copies of it
    expect(a.wastedBytes).toBe(5 * 9249);
    expect(a.wastedUserPercent).toBe(46245 / 94677);
    // Σ cumulative = all file bytes + the 2 files under /root/example charged to its whiteout; 3 sizes of slack
    expect(a.efficiency).toBe((1326410 + 2 * 9249 - 3 * 9249) / (1326410 + 2 * 9249));
    expect(a.inefficiencies.map(i => [i.path, i.count, i.cumulativeBytes, i.reclaimableBytes])).toEqual([
      ['/root/example/somefile1.txt', 2, 18498, 18498],
      ['/root/saved.txt', 2, 18498, 9249],
      ['/root/example/somefile3.txt', 2, 9249, 9249],
    ]);
    expect(a.reclaimableBytes).toBe(4 * 9249);
  });
});
