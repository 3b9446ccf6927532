import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
export { capture } from '../support/cli.js';

/** The busybox-based kaniko image of ../shared/images (dive's test data). */
export const KANIKO = fileURLToPath(new URL('../../../shared/images/test-kaniko-image.tar', import.meta.url));
export const IMAGE = existsSync(KANIKO) ? KANIKO : 'builtin:busybox';


const VOID = new Set(['area', 'base', 'br', 'col', 'embed', 'hr', 'img', 'input', 'link', 'meta', 'source', 'track', 'wbr']);

export interface Element {
  name: string;
  attrs: Record<string, string>;
  children: Element[];
  text: string;
}

/**
 * A strict parser for the page predict writes: every non-void element closed in order, attributes quoted, no stray
 * `<` or `&`. Throws on the first fault; returns the element tree (a root named `#document`).
 */
export function parseStrictHtml(html: string): Element {
  const root: Element = { name: '#document', attrs: {}, children: [], text: '' };
  const stack: Element[] = [root];
  const re = /<!--[\s\S]*?-->|<!DOCTYPE[^>]*>|<\/([a-zA-Z][\w:-]*)\s*>|<([a-zA-Z][\w:-]*)((?:\s+[\w:-]+(?:="[^"<]*")?)*)\s*(\/?)>|([^<]+)|(<)/g;
  let m: RegExpExecArray | null;
  while ((m = re.exec(html)) !== null) {
    const top = stack.at(-1)!;
    if (m[6] !== undefined) throw new Error(`stray '<' at ${m.index}: ${html.slice(m.index, m.index + 40)}`);
    if (m[5] !== undefined) {
      if (/&(?!(amp|lt|gt|quot|#\d+);)/.test(m[5])) throw new Error(`bare '&' at ${m.index}`);
      top.text += m[5];
      continue;
    }
    if (m[1] !== undefined) {
      if (top.name !== m[1]) throw new Error(`</${m[1]}> closes <${top.name}> at ${m.index}`);
      stack.pop();
      continue;
    }
    if (m[2] !== undefined) {
      const attrs: Record<string, string> = {};
      for (const a of m[3]!.matchAll(/([\w:-]+)(?:="([^"]*)")?/g)) attrs[a[1]!] = a[2] ?? '';
      const el: Element = { name: m[2], attrs, children: [], text: '' };
      top.children.push(el);
      if (m[4] !== '/' && !VOID.has(m[2])) stack.push(el);
    }
  }
  if (stack.length !== 1) throw new Error(`unclosed <${stack.at(-1)!.name}>`);
  return root;
}

export function findAll(el: Element, pred: (e: Element) => boolean, out: Element[] = []): Element[] {
  if (pred(el)) out.push(el);
  for (const c of el.children) findAll(c, pred, out);
  return out;
}

/** Decodes an 8-bit, non-interlaced PNG (greyscale, RGB or RGBA) into rows of pixels. */
export async function decodePng(bytes: Uint8Array): Promise<{ width: number; height: number; channels: number; pixels: Uint8Array }> {
  const { inflateSync } = await import('node:zlib');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let pos = 8;
  let width = 0;
  let height = 0;
  let channels = 0;
  const idat: Uint8Array[] = [];
  while (pos < bytes.length) {
    const len = view.getUint32(pos);
    const type = String.fromCharCode(...bytes.subarray(pos + 4, pos + 8));
    const data = bytes.subarray(pos + 8, pos + 8 + len);
    if (type === 'IHDR') {
      width = view.getUint32(pos + 8);
      height = view.getUint32(pos + 12);
      const depth = data[8]!;
      const color = data[9]!;
      if (depth !== 8 || data[12] !== 0) throw new Error('only 8-bit non-interlaced PNGs');
      channels = ({ 0: 1, 2: 3, 4: 2, 6: 4 } as Record<number, number>)[color] ?? 0;
      if (channels === 0) throw new Error(`PNG colour type ${color}`);
    } else if (type === 'IDAT') idat.push(data);
    pos += 12 + len;
  }
  const raw = inflateSync(Buffer.concat(idat));
  const stride = width * channels;
  const pixels = new Uint8Array(stride * height);
  for (let y = 0; y < height; y++) {
    const filter = raw[y * (stride + 1)]!;
    const line = raw.subarray(y * (stride + 1) + 1, (y + 1) * (stride + 1));
    for (let x = 0; x < stride; x++) {
      const a = x >= channels ? pixels[y * stride + x - channels]! : 0;
      const b = y > 0 ? pixels[(y - 1) * stride + x]! : 0;
      const c = x >= channels && y > 0 ? pixels[(y - 1) * stride + x - channels]! : 0;
      let v = line[x]!;
      if (filter === 1) v += a;
      else if (filter === 2) v += b;
      else if (filter === 3) v += (a + b) >> 1;
      else if (filter === 4) {
        const p = a + b - c;
        const pa = Math.abs(p - a);
        const pb = Math.abs(p - b);
        const pc = Math.abs(p - c);
        v += pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
      }
      pixels[y * stride + x] = v & 0xff;
    }
  }
  return { width, height, channels, pixels };
}
