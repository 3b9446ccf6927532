import { describe, expect, it } from 'vitest';
import { allModels } from '../../models/index.js';
import { capabilitiesOf } from '../../src/engine/driver.js';
import { resolveOptions } from '../../src/engine/drivers.js';
import { O_RDONLY, O_RDWR, O_WRONLY } from '../../src/vfs/syscalls.js';
import { errnoOf, openClose, pwrite, readText, world, writeFile } from '../support/world.js';

/**
 * One conformance suite run over every registered model (and overlay2's option variants): what a container sees.
 * Cases where the real drivers differ are skipped or switched by each model's declared capabilities.
 */
const variants = allModels.flatMap(m =>
  m.name === 'overlay2'
    ? [{}, { redirect_dir: 'on' }, { metacopy: 'on' }, { index: 'on' }].map(o => ({ name: m.name, options: o as Record<string, string> }))
    : [{ name: m.name, options: {} as Record<string, string> }],
);

const BASE = {
  '/etc/passwd': 'root:x:0:0::/root:/bin/sh\n',
  '/data/a': 'aaaa',
  '/data/sub/b': 'bbbb',
  '/data/sub/deep/c': 'cccc',
  '/empty/': '',
  '/links/one': 'linked',
  '/links/two': { link: '/links/one' },
  '/sym': { symlink: 'data/a' },
};

describe.each(variants)('$name $options', ({ name, options }) => {
  const caps = capabilitiesOf(
    allModels.find(m => m.name === name)!,
    resolveOptions(allModels.find(m => m.name === name)!, options),
  );
  const make = () => world(name, [BASE], options);

  it('reads what it writes, keeping the bytes around a partial write', () => {
    const { sys } = make();
    pwrite(sys, '/data/a', 'XY', 1);
    expect(readText(sys, '/data/a')).toBe('aXYa');
    writeFile(sys, '/new', 'fresh');
    expect(readText(sys, '/new')).toBe('fresh');
  });

  it('never changes the image layers', () => {
    const { host, sys } = make();
    const imageLayer = host.images.get('img')!.layers[0]!;
    const before = JSON.stringify(host.driver.inspectLayer(imageLayer));
    pwrite(sys, '/data/a', 'X', 0);
    sys.unlink('/data/sub/b');
    sys.chmod('/etc/passwd', 0o600);
    sys.rename('/links/one', '/moved');
    writeFile(sys, '/data/sub/new', 'n');
    expect(JSON.stringify(host.driver.inspectLayer(imageLayer))).toBe(before);
  });

  it('keeps two containers of one image apart', () => {
    const { host, sys } = make();
    const other = host.run('d', 'img', false).sys;
    writeFile(sys, '/data/a', 'mine');
    sys.unlink('/data/sub/b');
    expect(readText(other, '/data/a')).toBe('aaaa');
    expect(readText(other, '/data/sub/b')).toBe('bbbb');
  });

  it('hides an unlinked lower file and lets it be created again', () => {
    const { sys } = make();
    sys.unlink('/data/a');
    expect(errnoOf(() => sys.stat('/data/a'))).toBe('ENOENT');
    expect(sys.readdir('/data').sort()).toEqual(['sub']);
    writeFile(sys, '/data/a', 'again');
    expect(readText(sys, '/data/a')).toBe('again');
  });

  it('removes a whole lower tree bottom-up, every descendant included', () => {
    const { sys } = make();
    for (const p of ['/data/sub/deep/c', '/data/sub/b', '/data/a']) sys.unlink(p);
    sys.rmdir('/data/sub/deep');
    sys.rmdir('/data/sub');
    sys.rmdir('/data');
    for (const p of ['/data', '/data/sub', '/data/sub/deep/c']) expect(errnoOf(() => sys.stat(p))).toBe('ENOENT');
    sys.mkdir('/data');
    expect(sys.readdir('/data')).toEqual([]);
  });

  it('answers ENOTEMPTY for a populated lower directory', () => {
    const { sys } = make();
    expect(errnoOf(() => sys.rmdir('/data'))).toBe('ENOTEMPTY');
  });

  it('shows a moved-then-deleted lower file nowhere (xfstests overlay/006)', () => {
    const { sys } = make();
    sys.mkdir('/newdir');
    sys.rename('/data/a', '/newdir/a');
    sys.unlink('/newdir/a');
    expect(sys.readdir('/newdir')).toEqual([]);
    expect(errnoOf(() => sys.stat('/data/a'))).toBe('ENOENT');
  });

  it('re-reads through the merged view after a copy-up by another fd', () => {
    const { sys } = make();
    const reader = sys.open('/data/a', O_RDONLY);
    pwrite(sys, '/data/a', 'Z', 0);
    expect(new TextDecoder().decode(sys.read(reader, undefined, 0))).toBe('Zaaa');
    sys.close(reader);
  });

  it.runIf(caps.dirRename === 'posix')('renames a lower directory with its contents', () => {
    const { sys } = make();
    sys.rename('/data', '/renamed');
    expect(readText(sys, '/renamed/sub/deep/c')).toBe('cccc');
    expect(errnoOf(() => sys.stat('/data'))).toBe('ENOENT');
  });

  it.runIf(caps.dirRename === 'EXDEV')('refuses to rename a lower directory with EXDEV, changing nothing', () => {
    const { sys } = make();
    expect(errnoOf(() => sys.rename('/data', '/renamed'))).toBe('EXDEV');
    expect(errnoOf(() => sys.rename('/empty', '/renamed'))).toBe('EXDEV');
    expect(readText(sys, '/data/a')).toBe('aaaa');
  });

  it.runIf(caps.dirRename === 'EXDEV-unless-empty')('renames an empty lower directory but not a populated one', () => {
    const { sys } = make();
    expect(errnoOf(() => sys.rename('/data', '/renamed'))).toBe('EXDEV');
    sys.rename('/empty', '/renamed');
    expect(sys.readdir('/renamed')).toEqual([]);
    expect(errnoOf(() => sys.stat('/empty'))).toBe('ENOENT');
  });

  it('renames a directory created in the container', () => {
    const { sys } = make();
    sys.mkdir('/mine');
    writeFile(sys, '/mine/f', 'x');
    sys.rename('/mine', '/yours');
    expect(readText(sys, '/yours/f')).toBe('x');
  });

  it(caps.hardLinksSurviveCopyUp ? 'keeps lower hard links together through copy-up' : 'breaks a lower hard link on copy-up (index=off)', () => {
    const { sys } = make();
    pwrite(sys, '/links/one', 'L', 0);
    expect(readText(sys, '/links/one')).toBe('Linked');
    expect(readText(sys, '/links/two')).toBe(caps.hardLinksSurviveCopyUp ? 'Linked' : 'linked');
  });

  it('follows symlinks into lower files and writes through them', () => {
    const { sys } = make();
    pwrite(sys, '/sym', 'S', 0);
    expect(readText(sys, '/data/a')).toBe('Saaa');
    expect(sys.readlink('/sym')).toBe('data/a');
  });

  it('checks permissions before any copy-up (impermissible)', () => {
    const { host, sys } = make();
    const before = JSON.stringify(host.driver.inspectLayer(host.containers.get('c')!.layer));
    sys.creds = { uid: 1, gid: 1, groups: [1] };
    expect(errnoOf(() => openClose(sys, '/etc/passwd', O_WRONLY))).toBe('EACCES');
    expect(errnoOf(() => sys.truncate('/etc/passwd', 0))).toBe('EACCES');
    expect(errnoOf(() => sys.chmod('/etc/passwd', 0o777))).toBe('EPERM');
    expect(JSON.stringify(host.driver.inspectLayer(host.containers.get('c')!.layer))).toBe(before);
  });

  it('leaves the view and the layer unchanged when an op fails', () => {
    const { host, sys } = make();
    const layer = () => JSON.stringify(host.driver.inspectLayer(host.containers.get('c')!.layer));
    const before = layer();
    expect(errnoOf(() => sys.rename('/data/a', '/data/sub/deep/c/x'))).toBe('ENOTDIR');
    expect(errnoOf(() => sys.rmdir('/data/sub'))).toBe('ENOTEMPTY');
    expect(errnoOf(() => sys.mkdir('/data/a'))).toBe('EEXIST');
    expect(errnoOf(() => sys.link('/data', '/d2'))).toBe('EPERM');
    expect(layer()).toBe(before);
  });

  it('sees the same view in a container run from a commit', () => {
    const { host, sys } = make();
    writeFile(sys, '/data/a', 'one');
    sys.unlink('/data/sub/b');
    host.commit('c', 'snap');
    const after = host.run('d', 'snap', false).sys;
    expect(readText(after, '/data/a')).toBe('one');
    expect(errnoOf(() => after.stat('/data/sub/b'))).toBe('ENOENT');
    pwrite(after, '/data/a', 'T', 0);
    expect(readText(after, '/data/a')).toBe('Tne');
  });

  it('opens for read-write and reports sizes through stat', () => {
    const { sys } = make();
    const f = sys.open('/data/sub/b', O_RDWR);
    sys.write(f, { source: { kind: 'zero' }, at: 0, length: 10 }, 100);
    sys.close(f);
    expect(sys.stat('/data/sub/b').size).toBe(110);
  });
});
