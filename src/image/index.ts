/** Image import: the trees an `image` op loads, each layer a fresh Volume (see shared/spec/trace-format.md, "Images"). */
export { BUSYBOX_APPLETS, BUSYBOX_BINARY_BYTES, builtinBusybox, type BusyboxOptions } from './busybox.js';
export { decompressArchive, detectCompression, type Compression } from './compression.js';
export { readDirectory } from './directory.js';
export { loadImageSource } from './resolve.js';
export { makedev, parseTar, readRootfsTar, type TarMember } from './tar.js';
export { buildVolume, normaliseEntryName, type ArchiveEntry, type EntryKind, type ImageLoadOptions } from './tree.js';
export {
  exportTree,
  exportTreeChunks,
  exportTreeEntries,
  exportVolume,
  exportVolumeEntries,
  type ExportOptions,
} from './export.js';
export { saveImage, splitReference, type SaveImageSpec } from './save.js';
export { contentChunks, entryChunks, paxTimeText, splitDev, tarChunks, writeTar } from './tar-write.js';
