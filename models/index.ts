import type { DriverModel } from '../src/engine/driver.js';
import { aufs } from './aufs/index.js';
import { btrfs } from './btrfs/index.js';
import { devicemapper } from './devicemapper/index.js';
import { overlay2 } from './overlay2/index.js';
import { vfs } from './vfs/index.js';
import { zfs } from './zfs/index.js';

/** Every registered driver model; a new driver is one folder and one line here. */
export const allModels: readonly DriverModel[] = [vfs, aufs, overlay2, devicemapper, btrfs, zfs] as unknown as readonly DriverModel[];
