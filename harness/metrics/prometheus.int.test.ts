// A real Prometheus, started from the recipe with the config generated for phase 2, scraping an
// in-test app (prom-client, the app's metric names) and the `bench` target (the fault gauge).
// Checks that counts read back exactly, across a counter reset, and that the waits really wait.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServer, type Server } from 'node:http';
import { mkdtemp, rm, readFile } from 'node:fs/promises';
import { execFileSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Counter, Histogram, Registry } from 'prom-client';
import { plan, reach, serviceOf } from '../topology/plan.ts';
import { phase2 } from '../../targets/phases/phase-2.ts';
import { prometheus as recipe, prometheusConfigPath } from '../../targets/services/prometheus.ts';
import type { NativeContext } from '../../targets/services/types.ts';
import { BenchError } from '../errors.ts';
import { createFaultGauge, serveRegistries } from './fault-gauge.ts';
import { flush, instant, series, waitForScrape } from './query.ts';
import { collectTiers } from './tiers.ts';
import { spawnLaunch, type Spawned } from './test-spawn.ts';

const slot = 200 + (process.pid % 50);
const runId = `int-${process.pid}`;
const p = plan(phase2.topology({ users: 1000, appServers: 1, replicas: 0, shards: 1, shardStrategy: 'range' }), { runId, slot, proxies: false, prometheus: true });
const app = serviceOf(p, 'app').address;
const promAddr = p.prometheus!.address;
const base = `http://${promAddr.host}:${promAddr.port}`;
const now = () => Date.now() / 1000;

// The in-test app: the app's metric names on a registry of its own.
const registry = new Registry();
const httpRequests = new Counter({ name: 'http_requests_total', help: 'h', labelNames: ['route', 'method', 'status', 'server'] as const, registers: [registry] });
const httpDuration = new Histogram({ name: 'http_request_duration_seconds', help: 'h', labelNames: ['route', 'method', 'server'] as const, buckets: [0.01, 0.1, 1], registers: [registry] });
const cacheRequests = new Counter({ name: 'cache_requests_total', help: 'c', labelNames: ['result'] as const, registers: [registry] });
let status = 200;
const appServer: Server = createServer((req, res) => {
  if (req.url === '/metrics') {
    void registry.metrics().then((t) => res.writeHead(200, { 'content-type': registry.contentType }).end(t));
    return;
  }
  httpRequests.inc({ route: '/work', method: req.method ?? 'GET', status: String(status), server: 'app' });
  httpDuration.observe({ route: '/work', method: req.method ?? 'GET', server: 'app' }, 0.05);
  cacheRequests.inc({ result: req.url === '/work?hit' ? 'hit' : 'miss' });
  res.writeHead(status).end('ok');
});

async function hit(n: number, path = '/work'): Promise<void> {
  for (let i = 0; i < n; i++) {
    const r = await fetch(`http://${app.host}:${app.port}${path}`);
    await r.text();
  }
}

/** `n` requests paced over ~`spreadMs` (a load that lasts, so per-second rates have points);
 *  every `hitEvery`-th one is a cache hit. */
async function paced(n: number, spreadMs: number, hitEvery: number): Promise<void> {
  const t0 = Date.now();
  for (let i = 0; i < n; i++) {
    await hit(1, i % hitEvery === 0 ? '/work?hit' : '/work');
    const due = t0 + ((i + 1) * spreadMs) / n;
    if (due > Date.now()) await new Promise((r) => setTimeout(r, due - Date.now()));
  }
}

const faults = createFaultGauge();
let engine: { close(): Promise<void> } | null = null;
let prom: Spawned | null = null;
let dir = '';

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'bench-prom-int-'));
  await new Promise<void>((resolve, reject) => {
    appServer.once('error', reject);
    appServer.listen(app.port, app.host, () => resolve());
  });
  engine = await serveRegistries(p.engineMetrics, [faults.registry]);
  const ctx: NativeContext = {
    plan: p,
    service: serviceOf(p, 'prometheus'),
    dir,
    repoRoot: process.cwd(),
    bin: (name) => name,
    reach: (to) => reach(p, 'prometheus', to),
    progress: () => {},
    signal: new AbortController().signal,
  };
  await recipe.prepare!(ctx);
  prom = spawnLaunch(recipe.launch(ctx), join(dir, 'prometheus.log'));
  const t0 = Date.now();
  await recipe.ready(ctx).catch((e: unknown) => {
    throw new Error(`${(e as Error).message}\n${prom!.tail()}`);
  });
  console.log(`prometheus ready in ${Date.now() - t0} ms`);
});

afterAll(async () => {
  await prom?.stop();
  await engine?.close();
  await new Promise<void>((r) => appServer.close(() => r()));
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('the run Prometheus (real)', () => {
  it('loads a config promtool accepts', async () => {
    const out = execFileSync('promtool', ['check', 'config', prometheusConfigPath(dir)]).toString();
    expect(out).toContain('SUCCESS');
    expect(await readFile(prometheusConfigPath(dir), 'utf8')).toContain(`run: "${runId}"`);
  });

  it('waits until the app is scraped, and names a target that is down', async () => {
    // Prometheus 2.42 applies a new scrape config on a 5 s tick: the first scrape can take that long.
    const t0 = Date.now();
    expect(await waitForScrape(base, 'app', { timeoutMs: 10_000, labels: { run: runId } })).toBe(1);
    console.log(`first app scrape ${Date.now() - t0} ms after ready`);
    // No exporter runs in this test: the postgres job must fail, naming the database.
    const err = (await waitForScrape(base, 'postgres', { timeoutMs: 1_500 }).catch((e: unknown) => e)) as BenchError;
    expect(err).toBeInstanceOf(BenchError);
    expect(err.message).toMatch(/pg-primary .*connection refused/);
  });

  it('reads the app counter exactly over the window, across a restart', async () => {
    faults.set('kill', 'app', true);
    await hit(5); // before the window: must not count
    await flush(base, now(), { timeoutMs: 5_000 });
    const startS = now();
    await paced(120, 2_500, 6); // 20 hits, 100 misses
    await flush(base, now(), { timeoutMs: 5_000 });
    registry.resetMetrics(); // the app restarts: its counters start again from nothing
    status = 503;
    await hit(7); // a status first seen inside the window
    status = 200;
    await hit(10, '/work?hit');
    const endS = now();
    const t0 = Date.now();
    await flush(base, endS, { timeoutMs: 5_000 });
    console.log(`flush waited ${Date.now() - t0} ms`);

    const total = await instant(base, `sum(http_requests_total{run="${runId}"})`);
    expect(total[0]!.value[1]).toBe(17); // what the restarted process holds
    const r = await collectTiers(base, p, { startS, endS });
    expect(r.notes).toEqual([]);
    expect(r.appRequests).toBe(137);
    expect(r.tiers.app).toMatchObject({ requestsTotal: 137, 'requests.app': 137, errors5xx: 7, latencyP50Ms: expect.closeTo(55, 0) });
    expect(r.tiers.cache).toEqual({ hits: 30, misses: 107, errors: 0, hitRatio: 30 / 137 });
    expect(r.tiers.db).toBeUndefined(); // no database metrics: absent, not zeros
    expect(r.tiers.lb).toBeUndefined();
    const rps = r.prometheus['app.rps.app'];
    expect(rps?.length).toBeGreaterThanOrEqual(2);
    expect(Math.max(...rps!.map(([, v]) => v))).toBeGreaterThan(0);
    expect(Math.max(...(r.prometheus['cache.hitRatio'] ?? []).map(([, v]) => v))).toBeGreaterThan(0.05);

    // the 503 series was first scraped after the end, by the flush
    const labelSets = await series(base, [`http_requests_total{run="${runId}"}`], startS, endS + 2);
    expect(labelSets.map((l) => l.status).sort()).toEqual(['200', '503']);
  });

  it('carries bench_fault_active from the bench target', async () => {
    const read = async () => (await instant(base, `bench_fault_active{fault="kill",target="app",run="${runId}"}`))[0]?.value[1];
    await flush(base, now(), { timeoutMs: 5_000, jobs: ['bench'] });
    expect(await read()).toBe(1);
    faults.set('kill', 'app', false);
    await flush(base, now(), { timeoutMs: 5_000, jobs: ['bench'] });
    expect(await read()).toBe(0);
  });

  it('flush gives up with a clear error when no scrape can come', async () => {
    const err = (await flush(base, now() + 3600, { timeoutMs: 300 }).catch((e: unknown) => e)) as BenchError;
    expect(err).toBeInstanceOf(BenchError);
    expect(err.message).toMatch(/no scrape after the load's end/);
  });
});
