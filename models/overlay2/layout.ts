import type { Volume } from '../../src/fs/volume.js';
import { removeTree } from '../../src/layer/copy-tree.js';
import type { HomeLayout } from '../../src/union/union-driver.js';

const root = { uid: 0, gid: 0 };

/**
 * /var/lib/docker/overlay2/<id>: `diff/` (the layer's contents), `work/` (overlayfs's workdir, where the kernel makes
 * `work/work` on the first read-write mount) and `merged/` (the mountpoint). Docker's `link` and `lower` files and the
 * `l/` short-name symlinks are left out, as in the Linux 6.18 measurement this layout is calibrated against
 * (kernel-6.18-blog-experiment.md "overlay2-style layer dirs (<id>/diff, work, merged)").
 */
export const overlay2Home: HomeLayout = {
  createLayer(home: Volume, id: string) {
    const dir = home.createChild(home.root, id, 'dir', { mode: 0o710, ...root });
    home.createChild(dir, 'work', 'dir', { mode: 0o700, ...root });
    home.createChild(dir, 'merged', 'dir', { mode: 0o700, ...root });
  },
  mounted(home: Volume, id: string) {
    // ovl_workdir_create(): the kernel's own "work" dir inside workdir
    const work = home.root.entries!.get(id)?.entries!.get('work');
    if (work !== undefined && !work.entries!.has('work')) home.createChild(work, 'work', 'dir', { mode: 0o000, ...root });
  },
  removeLayer(home: Volume, id: string) {
    removeTree(home, home.root, id);
  },
};
