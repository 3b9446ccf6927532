import { describe, expect, it } from 'vitest';
import { FileContent, ZERO_SOURCE } from '../../src/fs/content.js';
import { CostMeter } from '../../src/fs/cost.js';
import { SpaceCounts, Volume } from '../../src/fs/volume.js';

const attrs = { mode: 0o644, uid: 0, gid: 0 };

describe('a layer directory on ext4', () => {
  it('counts inodes, data blocks and directory blocks as ext4 allocates them', () => {
    const v = new Volume();
    const d = v.createChild(v.root, 'd', 'dir', { ...attrs, mode: 0o755 });
    const f = v.createChild(d, 'f', 'file', attrs);
    v.write(f, 0, { source: ZERO_SOURCE, at: 0, length: 5000 });
    const u = v.usage();
    expect(u.inodeCount).toBe(3);
    expect(u.dataBlockCount).toBe(2);
    expect(u.dirBlockCount).toBe(2);
    expect(u.apparentBytes).toBe(5000);
    expect(u.metadataBytes).toBe(3 * 256 + 2 * 4096);
  });

  it('never shrinks a directory, as ext4 does not', () => {
    const v = new Volume();
    for (let i = 0; i < 300; i++) v.createChild(v.root, `a-rather-long-file-name-${i}`, 'file', attrs);
    const grown = v.usage().dirBlockCount;
    for (let i = 0; i < 300; i++) v.removeEntry(v.root, `a-rather-long-file-name-${i}`);
    expect(grown).toBeGreaterThan(1);
    expect(v.usage().dirBlockCount).toBe(grown);
    expect(v.usage().inodeCount).toBe(1);
  });

  it('keeps short symlinks in the inode and gives long ones a block', () => {
    const v = new Volume();
    v.createChild(v.root, 's', 'symlink', { ...attrs, target: 'short' });
    expect(v.usage().dataBlockCount).toBe(0);
    v.createChild(v.root, 'l', 'symlink', { ...attrs, target: 'x'.repeat(100) });
    expect(v.usage().dataBlockCount).toBe(1);
  });

  it('frees an inode with its last link only', () => {
    const v = new Volume();
    const f = v.createChild(v.root, 'a', 'file', { ...attrs, content: FileContent.fromBytes(new Uint8Array(10)) });
    v.addEntry(v.root, 'b', f);
    v.removeEntry(v.root, 'a');
    expect(v.usage().inodeCount).toBe(2);
    expect(f.nlink).toBe(1);
    v.removeEntry(v.root, 'b');
    expect(v.usage().inodeCount).toBe(1);
    expect(v.usage().dataBlockCount).toBe(0);
  });

  it('needs an external xattr block once the inode has no room left', () => {
    const v = new Volume();
    const f = v.createChild(v.root, 'f', 'file', attrs);
    v.setXattr(f, 'user.small', new Uint8Array(8));
    expect(v.usage().xattrBlockCount).toBe(0);
    v.setXattr(f, 'user.large', new Uint8Array(200));
    expect(v.usage().xattrBlockCount).toBe(1);
    v.removeXattr(f, 'user.large');
    expect(v.usage().xattrBlockCount).toBe(0);
  });

  it('charges the data and metadata it writes to the cost meter', () => {
    const meter = new CostMeter();
    const v = new Volume({ meter });
    meter.reset();
    const f = v.createChild(v.root, 'f', 'file', attrs);
    v.write(f, 0, { source: ZERO_SOURCE, at: 0, length: 100 });
    expect(meter.dataBytes).toBe(100);
    expect(meter.metadataBytes).toBeGreaterThan(0);
  });
});

describe('a snapshot of a volume', () => {
  it('holds the same tree with the same inode numbers and changes alone', () => {
    const v = new Volume();
    const d = v.createChild(v.root, 'd', 'dir', { ...attrs, mode: 0o755 });
    const f = v.createChild(d, 'f', 'file', { ...attrs, content: FileContent.fromBytes(new TextEncoder().encode('origin')) });
    v.addEntry(v.root, 'hard', f);
    const s = v.snapshot();
    expect(s.toJSON()).toEqual(v.toJSON());
    expect(s.at('/hard')).toBe(s.at('/d/f'));
    s.write(s.at('/d/f')!, 0, { source: ZERO_SOURCE, at: 0, length: 1 });
    expect(new TextDecoder().decode(v.at('/d/f')!.content!.read(0, 6))).toBe('origin');
    expect(s.usage().inodeCount).toBe(v.usage().inodeCount);
    const g = s.createChild(s.root, 'g', 'file', attrs);
    expect(g.ino).toBe(v.createChild(v.root, 'g', 'file', attrs).ino);
  });
});

describe('layer directories on one backing filesystem', () => {
  it("keep the filesystem's totals equal to the sum of the directories still there, as they change and go", () => {
    const disk = new SpaceCounts();
    const volumes = [0, 1, 2].map(() => new Volume({ disk }));
    volumes.forEach((v, i) => {
      const d = v.createChild(v.root, 'd', 'dir', { ...attrs, mode: 0o755 });
      const f = v.createChild(d, 'f', 'file', attrs);
      v.write(f, 0, { source: ZERO_SOURCE, at: 0, length: 5000 * (i + 1) });
      v.setXattr(f, 'user.big', new Uint8Array(200));
      v.createChild(d, 'l', 'symlink', { ...attrs, target: 'x'.repeat(80) });
      for (let k = 0; k < 200; k++) v.createChild(v.root, `name-${k}-${'y'.repeat(20)}`, 'file', attrs);
      v.truncate(f, 100);
      v.removeEntry(d, 'l');
    });
    const sum = (vs: Volume[]) => vs.map(v => v.usage()).reduce((a, u) => ({ ...a, ...Object.fromEntries(Object.entries(u).map(([k, n]) => [k, ((a as Record<string, number>)[k] ?? 0) + n])) }), {});
    expect(disk.usage(volumes[0]!.backing)).toEqual(sum(volumes));
    volumes[1]!.leaveDisk();
    expect(disk.usage(volumes[0]!.backing)).toEqual(sum([volumes[0]!, volumes[2]!]));
    // a snapshot is a filesystem of its own: it adds nothing to the totals
    volumes[0]!.snapshot();
    expect(disk.usage(volumes[0]!.backing)).toEqual(sum([volumes[0]!, volumes[2]!]));
  });
});
