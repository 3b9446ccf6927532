import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { ImageInspection } from '../../src/report/inspect.js';
import type { SystemDf } from '../../src/report/docker-size.js';
import { capture } from '../support/cli.js';

const IMAGES = fileURLToPath(new URL('../../../shared/images', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'layersim-inspect-'));


afterEach(() => vi.restoreAllMocks());

function inspectJson(argv: string[]): ImageInspection {
  const { status, out, err } = capture(['inspect', ...argv, '--json']);
  expect(err).toBe('');
  expect(status).toBe(0);
  return JSON.parse(out) as ImageInspection;
}

describe('layersim inspect: the real images in shared/images', () => {
  it('test-kaniko-image.tar: 14 layers, their entries (whiteouts named as such) and dive figures', () => {
    const r = inspectJson([`${IMAGES}/test-kaniko-image.tar`]);
    expect(r.layers).toHaveLength(14);
    expect(r.layers.map(l => l.sizeBytes)).toEqual([1231733, 9249, 0, 9249, 9249, 9249, 9249, 9249, 9249, 0, 2187, 9249, 9249, 9249]);
    const base = r.layers[0]!;
    expect(base.entries).toHaveLength(421);
    expect(base.entries.filter(e => e.type === 'file' && e.hardLink === undefined).map(e => [e.path, e.size])).toEqual([
      ['/bin/[', 1145088],
      ['/bin/getconf', 85736],
      ['/etc/group', 306],
      ['/etc/localtime', 127],
      ['/etc/passwd', 340],
      ['/etc/shadow', 136],
    ]);
    expect(base.entries.filter(e => e.hardLink === '/bin/[')).toHaveLength(398);
    expect(base.entries.find(e => e.path === '/tmp')).toEqual({ path: '/tmp', type: 'dir', size: 0, mode: '1777', uid: 0, gid: 0 });
    // RUN mv /root/example/somefile3.txt /root/saved.txt
    expect(r.layers[7]!.entries).toEqual([
      { path: '/root', type: 'dir', size: 0, mode: '0700', uid: 0, gid: 0 },
      { path: '/root/example', type: 'dir', size: 0, mode: '0755', uid: 0, gid: 0 },
      { path: '/root/example/somefile3.txt', type: 'whiteout', size: 0, mode: '0000', uid: 0, gid: 0, whiteout: true },
      { path: '/root/saved.txt', type: 'file', size: 9249, mode: '0644', uid: 0, gid: 0 },
    ]);
    // RUN rm -rf /root/example
    expect(r.layers[9]!.entries).toEqual([
      { path: '/root', type: 'dir', size: 0, mode: '0700', uid: 0, gid: 0 },
      { path: '/root/example', type: 'whiteout', size: 0, mode: '0000', uid: 0, gid: 0, whiteout: true },
    ]);
    // RUN chmod +x /root/saved.txt: the whole file again
    expect(r.layers[13]!.entries).toEqual([
      { path: '/root', type: 'dir', size: 0, mode: '0700', uid: 0, gid: 0 },
      { path: '/root/saved.txt', type: 'file', size: 9249, mode: '0755', uid: 0, gid: 0 },
    ]);
    expect(r).toMatchObject({
      image: `${IMAGES}/test-kaniko-image.tar`,
      sizeBytes: 1326410,
      userSizeBytes: 94677,
      wastedBytes: 46245,
      wastedUserPercent: 46245 / 94677,
      reclaimableBytes: 36996,
      efficiency: (1326410 + 18498 - 27747) / (1326410 + 18498),
    });
    expect(r.inefficiencies.map(i => [i.path, i.count, i.cumulativeBytes])).toEqual([
      ['/root/example/somefile1.txt', 2, 18498],
      ['/root/saved.txt', 2, 18498],
      ['/root/example/somefile3.txt', 2, 9249],
    ]);
  });

  it('the OCI layouts (uncompressed, gzip, zstd) and the plain layer tar: one layer, README.md, nothing wasted', () => {
    for (const name of ['test-oci-uncompressed-image.tar', 'test-oci-gzip-image.tar', 'test-oci-zstd-image.tar', 'test-gzip-image.tar']) {
      const r = inspectJson([`${IMAGES}/${name}`]);
      expect(r.layers).toEqual([
        { index: 0, id: 'layer0', sizeBytes: 11189, entries: [{ path: '/README.md', type: 'file', size: 11189, mode: '0644', uid: 0, gid: 0 }] },
      ]);
      expect(r).toMatchObject({ sizeBytes: 11189, efficiency: 1, wastedBytes: 0, userSizeBytes: 0, wastedUserPercent: null, reclaimableBytes: 0, inefficiencies: [] });
    }
  });

  it('prints a table without --json, every entry with -v', () => {
    const { status, out } = capture(['inspect', `${IMAGES}/test-kaniko-image.tar`]);
    expect(status).toBe(0);
    expect(out).toMatch(/14 layers, 1\.326MB \(1326410 bytes\)/);
    expect(out).toMatch(/^efficiency:\s+97\.94 %$/m);
    expect(out).toMatch(/^\/root\/saved\.txt\s+2\s+18\.1 KiB\s+9\.03 KiB\s+7,13$/m);
    const verbose = capture(['inspect', `${IMAGES}/test-kaniko-image.tar`, '-v']).out;
    expect(verbose).toMatch(/^ {2}whiteout 0000 +0:0 +0 {2}\/root\/example$/m);
    expect(verbose).toMatch(/ \/bin\/sh link to \/bin\/\[$/m);
  });

  it('exits 2 on an unusable source, naming it', () => {
    const { status, err } = capture(['inspect', '/no/such/image.tar']);
    expect(status).toBe(2);
    expect(err).toMatch(/^layersim: image: cannot open '\/no\/such\/image\.tar'/);
  });
});

/** dive's .data/Dockerfile as a trace: one container, commit and rm per instruction (classic `docker build --rm`). */
function diveDockerfileTrace(): string {
  const root = join(dir, 'base');
  mkdirSync(join(root, 'bin'), { recursive: true });
  mkdirSync(join(root, 'root'), { recursive: true });
  mkdirSync(join(root, 'tmp'), { recursive: true });
  // test-docker-image.tar's base layer holds 1220598 - 66237 bytes of files
  writeFileSync(join(root, 'bin/busybox'), Buffer.alloc(1220598 - 66237));
  const steps: object[][] = [
    [{ op: 'writeFile', path: '/somefile.txt', length: 6405, fill: 'pattern' }],
    [{ op: 'mkdirp', path: '/root/example/really/nested' }],
    [{ op: 'cp', from: '/somefile.txt', to: '/root/example/somefile1.txt' }],
    [{ op: 'chmod', path: '/root/example/somefile1.txt', mode: '0444' }],
    [{ op: 'cp', from: '/somefile.txt', to: '/root/example/somefile2.txt' }],
    [{ op: 'cp', from: '/somefile.txt', to: '/root/example/somefile3.txt' }],
    [{ op: 'rename', from: '/root/example/somefile3.txt', to: '/root/saved.txt' }],
    [{ op: 'cp', from: '/root/saved.txt', to: '/root/.saved.txt' }],
    [{ op: 'rmtree', path: '/root/example' }],
    [
      { op: 'mkdirp', path: '/root/.data' },
      { op: 'writeFile', path: '/root/.data/tag.sh', length: 917 },
      { op: 'writeFile', path: '/root/.data/test-coverage.sh', length: 1270 },
    ],
    [{ op: 'cp', from: '/root/saved.txt', to: '/tmp/saved.again1.txt' }],
    [{ op: 'cp', from: '/root/saved.txt', to: '/root/.data/saved.again2.txt' }],
    [{ op: 'chmod', path: '/root/saved.txt', mode: '0755' }],
  ];
  const lines: object[] = [{ op: 'image', name: 'base', from: root }];
  let image = 'base';
  steps.forEach((ops, i) => {
    const name = i === steps.length - 1 ? 'app' : `step${i + 1}`;
    const c = `c${i + 1}`;
    lines.push({ op: 'run', container: c, image }, ...ops, { op: 'commit', container: c, image: name }, { op: 'rm', container: c });
    image = name;
  });
  lines.push({ op: 'run', container: 'web', image: 'app' }, { op: 'writeFile', path: '/var.log', data: 'hello' });
  const file = join(dir, 'dive-dockerfile.jsonl');
  writeFileSync(file, lines.map(l => JSON.stringify(l)).join('\n') + '\n');
  return file;
}

const TRACE = diveDockerfileTrace();

describe('layersim inspect TRACE.jsonl', () => {
  const trace = TRACE;

  for (const driver of ['overlay2', 'aufs', 'vfs']) {
    it(`--driver ${driver}: the last image the trace builds, with dive's own figures for test-docker-image.tar`, () => {
      const r = inspectJson([trace, '--driver', driver]);
      expect(r.image).toBe('app');
      expect(r.layers).toHaveLength(14);
      expect(r.layers[0]!.id).toMatch(/base-layer0$/);
      // dive/image/docker/image_archive_analysis_test.go Test_Analysis, "docker-image"
      expect(r).toMatchObject({ efficiency: 0.9844212134184309, sizeBytes: 1220598, userSizeBytes: 66237, wastedBytes: 32025, wastedUserPercent: 0.4834911001404049 });
      expect(r.layers[9]!.entries.map(e => [e.path, e.type])).toEqual([
        ['/root', 'dir'],
        ['/root/example', 'whiteout'],
      ]);
    });
  }

  it('--image picks another image', () => {
    const r = inspectJson([trace, '--image', 'step2']);
    expect(r.layers).toHaveLength(3);
    expect(r.layers[2]!.entries.map(e => e.path)).toEqual(['/root', '/root/example', '/root/example/really', '/root/example/really/nested']);
  });

  it('exits 2 for an unknown image or driver', () => {
    expect(capture(['inspect', trace, '--image', 'nope'])).toMatchObject({ status: 2, err: expect.stringMatching(/no image 'nope'/) });
    expect(capture(['inspect', trace, '--driver', 'ext3'])).toMatchObject({ status: 2, err: expect.stringMatching(/unknown driver 'ext3'/) });
  });
});

describe('layersim df TRACE.jsonl', () => {
  it('docker system df after the trace, -v rows, and --json', () => {
    const trace = TRACE;
    const { status, out } = capture(['df', trace, '-v']);
    expect(status).toBe(0);
    // every layer but app's last is shared with a later image: only 6405 bytes are in use by the one container
    expect(out).toMatch(/^Images\s+14\s+1\s+1\.221MB\s+1\.214MB \(99%\)$/m);
    expect(out).toMatch(/^app\s+1\.221MB\s+1\.214MB\s+6\.405kB\s+1$/m);
    expect(out).toMatch(/^Containers\s+1\s+1\s+5B\s+0B \(0%\)$/m);
    expect(out).toMatch(/^web\s+app\s+5B\s+running$/m);
    const df = JSON.parse(capture(['df', trace, '--json', '--driver', 'vfs']).out) as SystemDf;
    expect(df.images.sizeBytes).toBe(1220598);
    expect(df.containerRows).toEqual([{ name: 'web', image: 'app', running: true, sizeRwBytes: 5, virtualSizeBytes: 1220603, text: '5B (virtual 1.221MB)' }]);
  });
});
