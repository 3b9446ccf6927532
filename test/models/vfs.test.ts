import { describe, expect, it } from 'vitest';
import { resolveOptions } from '../../src/engine/drivers.js';
import { Host } from '../../src/engine/host.js';
import { model, pwrite, tree } from '../support/world.js';

describe('vfs layers', () => {
  it('copies the whole parent tree for every new layer', () => {
    const m = model('vfs');
    const host = new Host(m, resolveOptions(m, {}));
    host.loadImage('img', [tree({ '/big': { bytes: 1 << 20 }, '/small': 'abc' })]);
    const before = host.usage().apparentBytes;
    host.meter.reset();
    host.run('c', 'img', false);
    expect(host.meter.dataBytes).toBe((1 << 20) + 3);
    expect(host.usage().apparentBytes).toBe(2 * before);
  });

  it('writes in place with no copy-up', () => {
    const m = model('vfs');
    const host = new Host(m, resolveOptions(m, {}));
    host.loadImage('img', [tree({ '/big': { bytes: 1 << 20 } })]);
    const { sys } = host.run('c', 'img', false);
    host.meter.reset();
    pwrite(sys, '/big', 'x', 0);
    expect(host.meter.copyUpBytes).toBe(0);
    expect(host.meter.dataBytes).toBe(1);
  });
});
