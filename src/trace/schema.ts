import { z } from 'zod';
import { isErrno } from '../fs/errno.js';
import { OPEN_FLAG_BITS } from '../vfs/syscalls.js';

/**
 * The trace language of shared/spec/trace-format.md (v1) as schemas: one per op. Unknown fields are ignored (the spec
 * lets the project add fields); unknown ops, missing or mistyped fields are errors reported with file:line.
 */

const path = z.string().min(1, 'must be a non-empty path');
const size = z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER);
const offset = z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER);
const id = z.number().int().min(-1).max(0xffffffff);

/** A mode is a number (420) or an octal string ("0644"). */
export const modeSchema = z.union([
  z.number().int().min(0).max(0o7777),
  z.string().regex(/^0?[0-7]{1,4}$/, 'must be an octal string such as "0644"').transform(s => parseInt(s, 8)),
]);

/** dd's size syntax: a number, or digits with a unit suffix (c w b kB K k MB M GB G TB T). */
const DD_UNITS: Record<string, number> = {
  '': 1, c: 1, w: 2, b: 512, kB: 1000, K: 1024, k: 1024, MB: 1e6, M: 2 ** 20, GB: 1e9, G: 2 ** 30, TB: 1e12, T: 2 ** 40,
};
export const ddSizeSchema = z.union([
  z.number().int().positive().max(2 ** 40),
  z
    .string()
    .regex(/^\d+(c|w|b|kB|K|k|MB|M|GB|G|TB|T)?$/, 'must be a size such as 4096 or "64k"')
    .transform(s => {
      const m = /^(\d+)(.*)$/.exec(s)!;
      return Number(m[1]) * DD_UNITS[m[2]!]!;
    })
    .refine(n => n > 0 && n <= 2 ** 40, 'must be between 1 byte and 1 TiB'),
]);

export const flagsSchema = z
  .string()
  .transform((s, ctx) => {
    let flags = 0;
    for (const part of s.split('|').map(p => p.trim()).filter(p => p !== '')) {
      const bit = OPEN_FLAG_BITS[part];
      if (bit === undefined) {
        ctx.addIssue({ code: 'custom', message: `unknown open flag '${part}'` });
        return z.NEVER;
      }
      flags |= bit;
    }
    return flags;
  });

const expectSchema = z
  .string()
  .refine(s => s === 'ok' || isErrno(s) || /^E[A-Z0-9]+$/.test(s), 'must be "ok" or an errno name such as "ENOENT"');

const common = { expect: expectSchema.optional(), in: z.string().min(1).optional() };

/** Data to write: UTF-8 text, or a length and a fill. */
const payload = {
  data: z.string().optional(),
  length: size.max(2 ** 40).optional(),
  fill: z.enum(['zero', 'pattern', 'random']).optional(),
};

function needsPayload(o: { data?: string | undefined; length?: number | undefined }): boolean {
  return o.data !== undefined || o.length !== undefined;
}

const fdOrPath = (o: { fd?: string | undefined; path?: string | undefined }): boolean => (o.fd !== undefined) !== (o.path !== undefined);

export const opSchemas = {
  // lifecycle
  driver: z.object({ ...common, name: z.string().min(1), options: z.record(z.string(), z.union([z.string(), z.number()])).optional() }),
  image: z.object({ ...common, name: z.string().min(1), from: z.string().min(1) }),
  run: z.object({ ...common, container: z.string().min(1), image: z.string().min(1), init: z.boolean().optional() }),
  use: z.object({ ...common, container: z.string().min(1) }),
  stop: z.object({ ...common, container: z.string().min(1) }),
  commit: z.object({ ...common, container: z.string().min(1), image: z.string().min(1) }),
  rm: z.object({ ...common, container: z.string().min(1) }),
  rmi: z.object({ ...common, image: z.string().min(1) }),
  mark: z.object({ ...common, label: z.string().min(1) }),
  // project additions (trace-format.md allows new ops): `docker export` and `docker save` to a file
  export: z.object({ ...common, container: z.string().min(1), to: z.string().min(1) }),
  save: z.object({ ...common, image: z.string().min(1), to: z.string().min(1) }),
  as: z.object({ ...common, uid: id.refine(n => n >= 0), gid: id.refine(n => n >= 0) }),
  // file ops
  open: z.object({ ...common, path, flags: flagsSchema.optional(), mode: modeSchema.optional(), fd: z.string().min(1).optional() }),
  write: z
    .object({ ...common, fd: z.string().min(1).optional(), path: path.optional(), offset: offset.optional(), ...payload })
    .refine(fdOrPath, 'needs exactly one of `fd` or `path`')
    .refine(needsPayload, 'needs `data`, or `length` (with an optional `fill`)'),
  read: z
    .object({ ...common, fd: z.string().min(1).optional(), path: path.optional(), offset: offset.optional(), length: size.optional(), content: z.string().optional() })
    .refine(fdOrPath, 'needs exactly one of `fd` or `path`'),
  close: z.object({ ...common, fd: z.string().min(1) }),
  truncate: z.object({ ...common, path, size: z.number().int().max(Number.MAX_SAFE_INTEGER) }),
  mkdir: z.object({ ...common, path, mode: modeSchema.optional() }),
  rmdir: z.object({ ...common, path }),
  unlink: z.object({ ...common, path }),
  rename: z.object({ ...common, from: path, to: path }),
  link: z.object({ ...common, from: path, to: path }),
  symlink: z.object({ ...common, target: z.string(), path }),
  readlink: z.object({ ...common, path, content: z.string().optional() }),
  chmod: z.object({ ...common, path, mode: modeSchema }),
  chown: z.object({ ...common, path, uid: id, gid: id }),
  utimes: z.object({ ...common, path, atime: z.number().optional(), mtime: z.number().optional() }),
  setxattr: z.object({ ...common, path, name: z.string(), value: z.string().optional() }),
  removexattr: z.object({ ...common, path, name: z.string() }),
  stat: z.object({ ...common, path, follow: z.boolean().optional() }),
  fsync: z.object({ ...common, fd: z.string().min(1).optional(), path: path.optional() }).refine(fdOrPath, 'needs exactly one of `fd` or `path`'),
  check: z.object({
    ...common,
    path,
    type: z.enum(['file', 'dir', 'symlink', 'absent', 'chr', 'blk', 'fifo', 'sock']).optional(),
    content: z.string().optional(),
    size: size.optional(),
    mode: modeSchema.optional(),
    uid: id.optional(),
    gid: id.optional(),
    nlink: z.number().int().nonnegative().optional(),
    target: z.string().optional(),
  }),
  // convenience ops (one trace line each)
  writeFile: z
    .object({ ...common, path, mode: modeSchema.optional(), ...payload })
    .refine(needsPayload, 'needs `data`, or `length` (with an optional `fill`)'),
  mkdirp: z.object({ ...common, path, mode: modeSchema.optional() }),
  rmtree: z.object({ ...common, path }),
  cp: z.object({ ...common, from: path, to: path }),
  dd: z.object({ ...common, path, bs: ddSizeSchema, count: z.number().int().nonnegative().max(2 ** 31), seek: z.number().int().nonnegative().max(2 ** 40).optional(), fill: z.enum(['zero', 'pattern', 'random']).optional() }),
} as const;

export type OpName = keyof typeof opSchemas;
export type TraceOp = { [K in OpName]: z.output<(typeof opSchemas)[K]> & { op: K } }[OpName];
export type OpOf<K extends OpName> = Extract<TraceOp, { op: K }>;

export const OP_NAMES = Object.keys(opSchemas) as OpName[];
