/** Adapters between a simulated container and JavaScript's fs APIs: a node:fs facade, memfs volumes. */
export { createFs, Dirent, NodeFsError, NodeSystemError, Stats, stringToFlags, flagsToString, toTraceLines, type CreateFsOptions, type SimFs } from './node-fs.js';
export { fromVolume, toVolume, type FromVolumeOptions, type ToVolumeOptions } from './to-volume.js';
export { withNodeFs } from './with-node-fs.js';
