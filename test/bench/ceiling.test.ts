import { describe, expect, it } from 'vitest';
import { BARE_BYTES, BARE_EXTENTS, BARE_NAMES } from '../../bench/ceiling.js';
import { replayOnce } from '../../bench/replay.js';

// What the ceilings replay, not how fast: a short peer trace on each, against memfs's final view.
describe('the peer-trace ceilings', () => {
  const ops = 3_000;

  it.each([BARE_BYTES, BARE_EXTENTS])("%s ends with memfs's final view, byte for byte", async system => {
    const [memfs, bare] = await Promise.all([replayOnce('memfs', ops, 42), replayOnce(system, ops, 42)]);
    expect(bare.final).toEqual(memfs.final);
  });

  it('bare-names ends with the same files and sizes, and says it has no contents to compare', async () => {
    const [memfs, bare] = await Promise.all([replayOnce('memfs', ops, 42), replayOnce(BARE_NAMES, ops, 42)]);
    expect({ files: bare.final.files, bytes: bare.final.bytes }).toEqual({ files: memfs.final.files, bytes: memfs.final.bytes });
    expect(bare.final.sha256).toBe('no contents');
  });
});
