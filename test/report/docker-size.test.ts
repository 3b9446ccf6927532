import { describe, expect, it } from 'vitest';
import { ZERO_SOURCE } from '../../src/fs/content.js';
import { resolveOptions } from '../../src/engine/drivers.js';
import { Host } from '../../src/engine/host.js';
import { O_CREAT, O_TRUNC, O_WRONLY, type Syscalls } from '../../src/vfs/syscalls.js';
import {
  containerSize,
  containerSizeRw,
  diffSizeMethod,
  formatSystemDf,
  imageSize,
  layerTarSize,
  reclaimableText,
  systemDf,
} from '../../src/report/docker-size.js';
import { humanSizeSI } from '../../src/report/format.js';
import { model, tree, writeFile } from '../support/world.js';

/** The four ways SizeRw is found: overlay2 and aufs walk their directory, vfs and overlay2 with redirects diff. */
const SETUPS: { driver: string; options: Record<string, string>; method: 'directory' | 'changes' }[] = [
  { driver: 'overlay2', options: {}, method: 'directory' },
  { driver: 'aufs', options: {}, method: 'directory' },
  { driver: 'vfs', options: {}, method: 'changes' },
  { driver: 'overlay2', options: { redirect_dir: 'on' }, method: 'changes' },
];

function host(driver: string, options: Record<string, string> = {}): Host {
  const m = model(driver);
  return new Host(m, resolveOptions(m, options));
}

function fill(sys: Syscalls<object>, path: string, bytes: number): void {
  const f = sys.open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o644);
  sys.write(f, { source: ZERO_SOURCE, at: 0, length: bytes });
  sys.close(f);
}

describe('docker ps -s (SizeRw and virtual size)', () => {
  for (const s of SETUPS) {
    const label = `${s.driver}${Object.keys(s.options).length > 0 ? ` ${JSON.stringify(s.options)}` : ''}`;

    it(`${label}: Docker's worked example, 5 containers of a 7.75MB image, printf hello > /out.txt in 3`, () => {
      const h = host(s.driver, s.options);
      expect(diffSizeMethod(h)).toBe(s.method);
      h.loadImage('img', [tree({ 'bin/app': { bytes: 7_750_000 }, 'etc/': '', 'tmp/': '' })]);
      expect(imageSize(h, 'img')).toBe(7_750_000);
      for (let i = 1; i <= 5; i++) h.run(`c${i}`, 'img');
      for (const name of ['c1', 'c2', 'c3']) writeFile(h.container(name).sys, '/out.txt', 'hello');
      const meter = h.meter.snapshot();
      const rows = [1, 2, 3, 4, 5].map(i => containerSize(h, `c${i}`).text);
      expect(rows).toEqual(['5B (virtual 7.75MB)', '5B (virtual 7.75MB)', '5B (virtual 7.75MB)', '0B (virtual 7.75MB)', '0B (virtual 7.75MB)']);
      expect(containerSize(h, 'c1')).toMatchObject({ sizeRwBytes: 5, virtualSizeBytes: 7_750_005, running: true });
      // the docs' total: SUM(size) + one image size
      const total = [1, 2, 3, 4, 5].reduce((t, i) => t + containerSizeRw(h, `c${i}`), 0) + imageSize(h, 'img');
      expect(humanSizeSI(total)).toBe('7.75MB');
      // reading sizes costs the containers nothing
      expect(h.meter.snapshot()).toEqual(meter);
    });

    it(`${label}: directory.Size/ChangesSize rules: hard links once, whiteouts and dirs 0, symlinks by target length, copy-up whole`, () => {
      const h = host(s.driver, s.options);
      h.loadImage('img', [tree({ 'bin/tool': { bytes: 1000 }, 'etc/gone': 'x'.repeat(40), 'etc/keep': 'k' })]);
      const { sys } = h.run('c', 'img');
      writeFile(sys, '/new', '0123456789');
      sys.link('/new', '/new2');
      sys.symlink('abc', '/sym');
      sys.mkdir('/d');
      sys.unlink('/etc/gone');
      expect(containerSizeRw(h, 'c')).toBe(10 + 3);
      // chmod copies the whole file up (moby#17876): its full size counts
      sys.chmod('/bin/tool', 0o700);
      expect(containerSizeRw(h, 'c')).toBe(10 + 3 + 1000);
    });
  }

  it('a container without an init layer is measured against its image', () => {
    const h = host('overlay2');
    h.loadImage('img', [tree({ a: 'aaaa' })]);
    const c = h.run('c', 'img', false);
    writeFile(c.sys, '/b', 'bb');
    expect(containerSizeRw(h, c)).toBe(2);
  });
});

describe('layer and image sizes (ApplyDiff: Σ tar header sizes)', () => {
  it('counts regular files, a hard-linked inode once, and no symlinks, directories or whiteouts', () => {
    const t = tree({ 'bin/busybox': { bytes: 100 }, 'bin/sh': { link: 'bin/busybox' }, 'bin/ls': { symlink: 'busybox' }, 'etc/.wh.old': '', 'etc/x': 'xyz' });
    expect(layerTarSize(t)).toBe(103);
  });
});

describe('docker system df', () => {
  /**
   * The example of docs.docker.com/reference/cli/docker/system/df/ (research/ground-truth.md §2.2), rebuilt with
   * layer sizes chosen to print its figures. Docker shares layers by content, the simulator only through commits, so
   * two build stages are named images here (6 images where the docs count 5); every printed size is the docs'.
   */
  function docsExample(): Host {
    const h = host('overlay2');
    h.loadImage('alpine:3.3', [tree({ 'lib/a': { bytes: 4_797_000 } })]);
    const step = (from: string, to: string, path: string, bytes: number): void => {
      const c = h.run(`build-${to}`, from);
      fill(c.sys, path, bytes);
      h.commit(c.name, to);
      h.rm(c.name);
    };
    step('alpine:3.3', 'stage1', '/x', 4_194_000);
    step('stage1', 'my-jq', '/jq', 632_100);
    step('stage1', 'stage2', '/curl', 2_008_995);
    step('stage2', 'my-curl', '/hello', 5);
    h.loadImage('alpine:latest', [tree({ 'lib/b': { bytes: 4_799_000 } })]);
    fill(h.run('c1', 'alpine:latest').sys, '/log', 100);
    fill(h.run('c2', 'my-curl').sys, '/log', 112);
    h.stop('c1');
    h.stop('c2');
    return h;
  }

  it("reproduces the docs' example: 16.43MB of images, 11.63MB (70%) reclaimable; 212B (100%) of containers", () => {
    const df = systemDf(docsExample());
    expect(df.images).toMatchObject({ total: 6, active: 2, sizeBytes: 16_431_100 });
    expect(humanSizeSI(df.images.sizeBytes)).toBe('16.43MB');
    expect(reclaimableText(df.images)).toBe('11.63MB (70%)');
    expect(df.containers).toMatchObject({ total: 2, active: 0, sizeBytes: 212, reclaimableBytes: 212 });
    expect(reclaimableText(df.containers)).toBe('212B (100%)');
    const row = (name: string) => {
      const r = df.imageRows.find(x => x.name === name)!;
      return [humanSizeSI(r.sizeBytes), humanSizeSI(r.sharedSizeBytes), humanSizeSI(r.uniqueSizeBytes)];
    };
    expect(row('my-curl')).toEqual(['11MB', '11MB', '5B']);
    expect(row('my-jq')).toEqual(['9.623MB', '8.991MB', '632.1kB']);
    expect(row('alpine:latest')).toEqual(['4.799MB', '0B', '4.799MB']);
    expect(row('alpine:3.3')).toEqual(['4.797MB', '4.797MB', '0B']);
    for (const r of df.imageRows) expect(r.sharedSizeBytes + r.uniqueSizeBytes).toBe(r.sizeBytes);
  });

  it('prints the summary and the -v tables', () => {
    const text = formatSystemDf(systemDf(docsExample()), true);
    expect(text).toMatch(/^TYPE\s+TOTAL\s+ACTIVE\s+SIZE\s+RECLAIMABLE$/m);
    expect(text).toMatch(/^Images\s+6\s+2\s+16\.43MB\s+11\.63MB \(70%\)$/m);
    expect(text).toMatch(/^Containers\s+2\s+0\s+212B\s+212B \(100%\)$/m);
    expect(text).toMatch(/^my-jq\s+9\.623MB\s+8\.991MB\s+632\.1kB\s+0$/m);
    expect(text).toMatch(/^c2\s+my-curl\s+112B\s+exited$/m);
  });

  it('running containers are not reclaimable; an empty host has no percentages', () => {
    const h = host('vfs');
    expect(reclaimableText(systemDf(h).images)).toBe('0B');
    h.loadImage('img', [tree({ a: { bytes: 1000 } })]);
    fill(h.run('c', 'img').sys, '/f', 300);
    const df = systemDf(h);
    expect(df.containers).toMatchObject({ total: 1, active: 1, sizeBytes: 300, reclaimableBytes: 0, reclaimablePercent: 0 });
    expect(df.images).toMatchObject({ total: 1, active: 1, sizeBytes: 1000, reclaimableBytes: 0 });
  });
});
