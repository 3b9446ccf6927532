/**
 * The HTML report in a real browser: Debian's chromium, driven by playwright-core, renders the page at 1280x800; the
 * PNG screenshot must not be blank and every chart must be laid out with a size. Skipped, with the reason, when
 * /usr/bin/chromium is not installed (`apt-get install -y chromium`).
 */
import { copyFileSync, existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { allModels } from '../../models/index.js';
import { CHART_IDS } from '../../src/predict/html.js';
import { capture, decodePng, IMAGE } from './support.js';

const CHROMIUM = process.env['LAYERSIM_CHROMIUM'] ?? '/usr/bin/chromium';
const available = existsSync(CHROMIUM);
const reason = `${CHROMIUM} is not installed (Debian, as root: apt-get update && apt-get install -y chromium)`;
if (!available) console.warn(`predict screenshot test skipped: ${reason}`);

describe.skipIf(!available)(`predict --html in headless Chromium${available ? '' : ` (skipped: ${reason})`}`, () => {
  it('renders a non-blank page whose charts are visible, with a series per driver', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'layersim-shot-'));
    const html = join(dir, 'report.html');
    const r = capture(['predict', '--image', IMAGE, '--workload', 'dd:bs=64k,count=1', '--containers', '20', '--html', html]);
    expect(r.status).toBe(0);
    const { chromium } = await import('playwright-core');
    // a fresh, empty profile (playwright passes it as --user-data-dir)
    const browser = await chromium.launchPersistentContext(mkdtempSync(join(tmpdir(), 'layersim-chromium-')), {
      executablePath: CHROMIUM,
      headless: true,
      viewport: { width: 1280, height: 800 },
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
    try {
      const page = browser.pages()[0] ?? (await browser.newPage());
      await page.goto(pathToFileURL(html).href);
      const png = join(dir, 'report.png');
      await page.screenshot({ path: png });
      if (process.env['LAYERSIM_SCREENSHOT'] !== undefined) copyFileSync(png, process.env['LAYERSIM_SCREENSHOT']);
      await page.screenshot({ path: join(dir, 'full.png'), fullPage: true });
      if (process.env['LAYERSIM_SCREENSHOT'] !== undefined) copyFileSync(join(dir, 'full.png'), process.env['LAYERSIM_SCREENSHOT'].replace(/\.png$/, '-full.png'));

      const img = await decodePng(readFileSync(png));
      expect([img.width, img.height]).toEqual([1280, 800]);
      const colours = new Set<number>();
      let nonWhite = 0;
      for (let i = 0; i < img.pixels.length; i += img.channels) {
        const [r0, g0, b0] = [img.pixels[i]!, img.pixels[i + 1]!, img.pixels[i + 2]!];
        colours.add((r0 << 16) | (g0 << 8) | b0);
        if (r0 < 200 || g0 < 200 || b0 < 200) nonWhite++;
      }
      expect(colours.size).toBeGreaterThan(50);
      expect(nonWhite / (img.width * img.height)).toBeGreaterThan(0.01);

      for (const id of CHART_IDS) {
        const box = await page.locator(`#${id}`).boundingBox();
        expect(box, id).not.toBeNull();
        expect(box!.width, id).toBeGreaterThan(300);
        expect(box!.height, id).toBeGreaterThan(200);
        expect(await page.locator(`#${id}`).isVisible(), id).toBe(true);
      }
      // the first two charts sit side by side within the 1280 px viewport
      const [a, b] = [await page.locator('#chart-df').boundingBox(), await page.locator('#chart-data').boundingBox()];
      expect(a!.x + a!.width).toBeLessThanOrEqual(b!.x);
      expect(b!.x + b!.width).toBeLessThanOrEqual(1280);
      for (const d of allModels) {
        const path = page.locator(`#chart-df g.series[data-series="${d.name}"] path`);
        const box = await path.boundingBox();
        expect(box, d.name).not.toBeNull();
        expect(box!.width, d.name).toBeGreaterThan(100);
        const bar = await page.locator(`#chart-where g.bar[data-series="${d.name}"]`).boundingBox();
        expect(bar!.height, d.name).toBeGreaterThan(0);
      }
    } finally {
      await browser.close();
    }
  }, 60_000);
});
