import { FileContent } from '../../src/fs/content.js';
import type { Volume } from '../../src/fs/volume.js';
import { removeTree } from '../../src/layer/copy-tree.js';
import type { HomeLayout } from '../../src/union/union-driver.js';

const root = { uid: 0, gid: 0 };
/** Docker's layer ids are 64 hex characters; `layers/<id>` lists one ancestor per line. */
const LAYER_ID_LINE_BYTES = 65;

function dir(home: Volume, name: string) {
  return home.root.entries!.get(name) ?? home.createChild(home.root, name, 'dir', { mode: 0o755, ...root });
}

/**
 * /var/lib/docker/aufs/{diff,mnt,layers}/<id> (moby v1.3.0 daemon/graphdriver/aufs/aufs.go Create): `diff/<id>` is the
 * branch itself, `mnt/<id>` its mountpoint, `layers/<id>` a text file listing every ancestor id, nearest first.
 */
export const aufsHome: HomeLayout = {
  init(home: Volume) {
    // aufs.Init(): MkdirAll of diff, mnt and layers under the driver's home
    for (const name of ['diff', 'mnt', 'layers']) dir(home, name);
  },
  createLayer(home: Volume, id: string, parents: readonly string[]) {
    home.createChild(dir(home, 'mnt'), id, 'dir', { mode: 0o755, ...root });
    const content = FileContent.fromSlice({ source: { kind: 'zero' }, at: 0, length: 0 });
    if (parents.length > 0) {
      const text = new TextEncoder().encode(parents.map(p => p.padEnd(LAYER_ID_LINE_BYTES - 1, '0').slice(0, LAYER_ID_LINE_BYTES - 1)).join('\n') + '\n');
      content.write(0, { source: { kind: 'bytes', bytes: text }, at: 0, length: text.length });
    }
    home.createChild(dir(home, 'layers'), id, 'file', { mode: 0o644, ...root, content });
  },
  mounted() {},
  removeLayer(home: Volume, id: string) {
    removeTree(home, dir(home, 'mnt'), id);
    removeTree(home, dir(home, 'layers'), id);
  },
};
