/** Workloads: generators of trace ops, fio job files and strace logs as traces, and the JSONL writer. */
export * from './generators.js';
export { fioToTrace, parseFioJobFile, parseFioSize, type FioJobFile, type FioJobSummary, type FioSection, type FioTrace, type FioTraceOptions } from './fio.js';
export { importStrace, type StraceImport, type StraceImportOptions } from './strace.js';
export { flagsToString, toJsonl, toJsonObject } from './jsonl.js';
