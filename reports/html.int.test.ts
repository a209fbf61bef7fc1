// Opens a rendered report.html in Debian's Chromium from file:// and checks what a person sees:
// no console errors, no network, every chart drawn (pixels, not just elements), the fault
// windows shaded and labelled, the topology boxes, and hostile text left inert.
// Set BENCH_KEEP_ARTIFACTS=1 to keep the temp dir with the screenshot (its path is printed).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { writeReports } from './index.ts';
import { buildResults } from './testing/fixture.ts';
import { capacityResults, ladderJson, scaleJson } from './testing/capacity-fixture.ts';
import { renderScaleHtml } from './capacity-scale-html.ts';
import { renderLadderHtml } from './capacity-html.ts';
import { writeFile } from 'node:fs/promises';

// The callbacks given to page.evaluate run in the browser. The project compiles without the DOM
// lib (adding it would change timer types for every file), so the few browser globals they use
// are declared here, for this module only.
/* eslint-disable @typescript-eslint/no-explicit-any */
declare const document: any;
declare const window: any;
declare const getComputedStyle: (el: unknown) => { borderColor: string };
declare const DOMParser: new () => { parseFromString(text: string, type: string): any };

const CHROMIUM = '/usr/bin/chromium';
const ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];
const haveChromium = existsSync(CHROMIUM);
const title = haveChromium
  ? 'report.html in Chromium'
  : `report.html in Chromium — SKIPPED: ${CHROMIUM} not found (apt-get install chromium to run it)`;

interface PageLog {
  errors: string[];
  failed: string[];
  requests: string[];
}

/** Opens a page that records console errors, page errors, failed and all requests. */
async function open(ctx: BrowserContext, url: string): Promise<{ page: Page; log: PageLog }> {
  const log: PageLog = { errors: [], failed: [], requests: [] };
  const page = await ctx.newPage();
  page.on('console', (m) => {
    if (m.type() === 'error') log.errors.push(m.text());
  });
  page.on('pageerror', (e) => log.errors.push(`pageerror: ${e.message}`));
  page.on('requestfailed', (r) => log.failed.push(`${r.url()} ${r.failure()?.errorText ?? ''}`));
  page.on('request', (r) => log.requests.push(r.url()));
  await page.goto(url);
  await page.waitForSelector('html[data-charts-drawn]', { timeout: 10_000 });
  return { page, log };
}

describe.skipIf(!haveChromium)(title, () => {
  let dir: string;
  let ctx: BrowserContext;
  const results = buildResults();

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'bench-html-int-'));
    // A fresh profile per run: nothing cached or remembered from another session.
    ctx = await chromium.launchPersistentContext(join(dir, 'profile'), {
      executablePath: CHROMIUM,
      headless: true,
      args: ARGS,
      viewport: { width: 1280, height: 900 },
      timeout: 30_000,
    });
  });

  afterAll(async () => {
    await ctx?.close();
    if (process.env.BENCH_KEEP_ARTIFACTS) console.log(`kept ${dir}`);
    else if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('opens from file:// with no console errors and no network', async () => {
    const paths = await writeReports(join(dir, 'run'), results);
    const url = pathToFileURL(paths.html).href;
    const { page, log } = await open(ctx, url);
    expect(log.errors).toEqual([]);
    expect(log.failed).toEqual([]);
    expect(log.requests).toEqual([url]);
    expect(await page.textContent('#verdict')).toBe('FAIL');
    await page.close();
  });

  it('draws every chart on a non-blank canvas, with its series and the shaded fault window', async () => {
    const paths = await writeReports(join(dir, 'run'), results);
    const { page } = await open(ctx, pathToFileURL(paths.html).href);
    const charts = await page.evaluate(() =>
      [...document.querySelectorAll('.chart')].map((el: any) => {
        const canvas = el.querySelector('canvas');
        if (!canvas) return { id: el.id, width: 0, height: 0, painted: 0, shaded: 0, series: 0 };
        const data = canvas.getContext('2d')!.getImageData(0, 0, canvas.width, canvas.height).data;
        // The first series' colour, from the legend swatch uPlot draws.
        const swatch = el.querySelector('.u-series:nth-child(2) .u-marker');
        const m = /rgba?\((\d+), (\d+), (\d+)/.exec(swatch ? getComputedStyle(swatch).borderColor : '') ?? ['', '0', '0', '0'];
        const [sr, sg, sb] = [Number(m[1]), Number(m[2]), Number(m[3])];
        let painted = 0;
        let shaded = 0;
        let series = 0;
        for (let i = 0; i < data.length; i += 4) {
          const [r, g, b, a] = [data[i]!, data[i + 1]!, data[i + 2]!, data[i + 3]!];
          if (a === 0) continue;
          painted++;
          // The fault shade is rgba(214, 39, 40, 0.13) drawn over a transparent canvas.
          if (a < 60 && r > 150 && g < 90 && b < 90) shaded++;
          if (a > 180 && Math.abs(r - sr) + Math.abs(g - sg) + Math.abs(b - sb) < 40) series++;
        }
        return { id: el.id, width: canvas.width, height: canvas.height, painted, shaded, series };
      }),
    );
    expect(charts.map((c) => c.id)).toEqual([
      'chart-throughput',
      'chart-latency',
      'chart-errors',
      'chart-prom-0',
      'chart-prom-1',
      'chart-prom-2',
      'chart-prom-3',
    ]);
    for (const c of charts) {
      expect(c.width, c.id).toBeGreaterThan(300);
      expect(c.height, c.id).toBeGreaterThan(100);
      expect(c.painted, `${c.id} painted pixels`).toBeGreaterThan(1000);
      // Ten seconds of sixty, the full plot height: thousands of shaded pixels on every chart.
      expect(c.shaded, `${c.id} fault shade`).toBeGreaterThan(2000);
      expect(c.series, `${c.id} first series`).toBeGreaterThan(50);
    }
    expect(await page.getAttribute('html', 'data-charts-drawn')).toBe('7');
    await page.close();
  });

  it('labels the fault window, draws the topology boxes, and saves a readable screenshot', async () => {
    const paths = await writeReports(join(dir, 'run'), results);
    const { page } = await open(ctx, pathToFileURL(paths.html).href);
    const labels = await page.locator('.fault-label').allTextContents();
    expect(labels.length).toBe(7);
    expect(new Set(labels)).toEqual(new Set(['kill app-2: 20–30 s']));
    const hosts = await page.evaluate(() =>
      [...document.querySelectorAll('svg#topology g.host')].map((g: any) => {
        const box = g.querySelector('rect')!.getBoundingClientRect();
        return { name: g.dataset.host as string, w: box.width as number, h: box.height as number };
      }),
    );
    expect(hosts.map((h) => h.name)).toEqual(expect.arrayContaining(results.topology.hosts.map((h) => h.name)));
    expect(hosts).toHaveLength(results.topology.hosts.length);
    for (const h of hosts) {
      expect(h.w).toBeGreaterThan(100);
      expect(h.h).toBeGreaterThan(30);
    }
    const shot = join(dir, 'report.png');
    await page.screenshot({ path: shot, fullPage: true });
    expect((await stat(shot)).size).toBeGreaterThan(100_000);
    await page.close();
  });

  it('leaves hostile text inert and junit.xml parses as XML', async () => {
    const r = buildResults();
    const attack = `<img src=x onerror="window.__pwned=1"><script>window.__pwned=1</script></script>`;
    r.runId = `r-${attack}`;
    r.notes.push(attack);
    r.faults[0]!.name = attack;
    r.topology.hosts[0]!.name = attack;
    const paths = await writeReports(join(dir, 'hostile'), r);
    const url = pathToFileURL(paths.html).href;
    const { page, log } = await open(ctx, url);
    expect(await page.evaluate(() => window.__pwned)).toBeUndefined();
    expect(log.requests).toEqual([url]);
    expect(log.errors).toEqual([]);
    expect(await page.locator('li', { hasText: 'window.__pwned=1' }).count()).toBe(1);
    const xml = await readFile(paths.junit, 'utf8');
    const parsed = await page.evaluate((text) => {
      const doc = new DOMParser().parseFromString(text, 'application/xml');
      const err = doc.querySelector('parsererror');
      return { error: err?.textContent ?? null, cases: doc.querySelectorAll('testcase').length, failures: doc.querySelectorAll('failure').length };
    }, xml);
    expect(parsed).toEqual({ error: null, cases: 4, failures: 2 });
    await page.close();
  });

  it('draws a capacity search\'s curve: the steps, the knee and the sustainable rate visible, no errors, a screenshot', async () => {
    const paths = await writeReports(join(dir, 'capacity'), capacityResults());
    const url = pathToFileURL(paths.html).href;
    const { page, log } = await open(ctx, url);
    expect(log.errors).toEqual([]);
    expect(log.requests).toEqual([url]);
    const seen = await page.evaluate(() => {
      const box = (sel: string) => [...document.querySelectorAll(sel)].map((el: any) => el.getBoundingClientRect()).map((r: any) => ({ w: r.width as number, h: r.height as number, x: r.x as number }));
      return { svg: box('svg#capacity-curve'), steps: box('svg#capacity-curve g.step'), knee: box('svg#capacity-curve .knee'), sustainable: box('svg#capacity-curve .sustainable'), margin: box('svg#capacity-curve .margin') };
    });
    expect(seen.svg[0]!.w).toBeGreaterThan(600);
    expect(seen.svg[0]!.h).toBeGreaterThan(250);
    expect(seen.steps).toHaveLength(9);
    for (const s of seen.steps) expect(s.w).toBeGreaterThan(6);
    expect(seen.knee[0]!.w).toBeGreaterThan(15);
    expect(seen.sustainable[0]!.h).toBeGreaterThan(200);
    expect(seen.margin[0]!.w).toBeGreaterThan(20);
    const shot = join(dir, 'capacity.png');
    await page.locator('#capacity').screenshot({ path: shot });
    expect((await stat(shot)).size).toBeGreaterThan(30_000);
    await page.close();
  });

  it('draws a ladder\'s bars in proportion to the rates, from file:// with no errors and no network', async () => {
    const file = join(dir, 'ladder.html');
    await writeFile(file, renderLadderHtml(ladderJson(375, 750)));
    const url = pathToFileURL(file).href;
    const page = await ctx.newPage();
    const errors: string[] = [];
    const requests: string[] = [];
    page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
    page.on('pageerror', (e) => errors.push(e.message));
    page.on('request', (r) => requests.push(r.url()));
    await page.goto(url);
    expect(errors).toEqual([]);
    expect(requests).toEqual([url]);
    const bars = await page.evaluate(() => [...document.querySelectorAll('svg#ladder-bars rect.ladder-bar')].map((el: any) => el.getBoundingClientRect().height as number));
    expect(bars).toHaveLength(2);
    // 750 over 375: the second bar twice the first (a CSS rule once squashed every bar to 9 px)
    expect(bars[1]! / bars[0]!).toBeCloseTo(2, 1);
    expect(bars[0]!).toBeGreaterThan(50);
    expect(await page.locator('svg.capacity-curve').count()).toBe(2);
    const shot = join(dir, 'ladder.png');
    await page.screenshot({ path: shot, fullPage: true });
    expect((await stat(shot)).size).toBeGreaterThan(50_000);
    await page.close();
  });

  it('draws a scale\'s rates over the fitted USL curve, from file:// with no errors and no network', async () => {
    const file = join(dir, 'scale.html');
    await writeFile(file, renderScaleHtml(scaleJson()));
    const url = pathToFileURL(file).href;
    const page = await ctx.newPage();
    const errors: string[] = [];
    const requests: string[] = [];
    page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
    page.on('pageerror', (e) => errors.push(e.message));
    page.on('request', (r) => requests.push(r.url()));
    await page.goto(url);
    expect(errors).toEqual([]);
    expect(requests).toEqual([url]);
    const seen = await page.evaluate(() => ({
      fit: (document.querySelector('svg#scale-curve .usl-fit') as any).getBoundingClientRect().width as number,
      points: [...document.querySelectorAll('svg#scale-curve g.point circle')].map((c: any) => c.getBoundingClientRect().y as number),
    }));
    expect(seen.fit).toBeGreaterThan(400);
    // four counts, rates rising: each point higher on the page than the one before
    expect(seen.points).toHaveLength(4);
    for (let i = 1; i < 4; i++) expect(seen.points[i]!).toBeLessThan(seen.points[i - 1]!);
    await page.screenshot({ path: join(dir, 'scale.png'), fullPage: true });
    await page.close();
  });
});
