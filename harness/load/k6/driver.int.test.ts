// The k6 driver end to end: real k6 against a small HTTP server on loopback that answers the
// reference app's API and counts what it receives. Needs a `k6` binary on PATH (bench never builds
// one: see docs/K6.md); without one every test is skipped and says why. This is the one test CI may
// skip: its skip reason says "no k6 binary" so CI's allow-list can match it, and the driver's parsing
// is tested without k6 on recorded real k6 output (fixtures.test.ts).
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LoadResults } from '../../../reports/schema.ts';
import { ArrivalSchedule } from '../scheduler.ts';
import { exportK6, findK6, runK6, type RunK6Options } from './driver.ts';

const k6 = findK6();
const hasK6 = k6 !== null;
const SKIP_REASON = 'skipped: no k6 binary on PATH; bench does not install k6 (install one: docs/K6.md)';
if (!hasK6) console.log(`driver.int.test.ts: ${SKIP_REASON}`);

interface Seen {
  byRoute: Map<string, number>;
  meWithSession: number;
  meWithoutSession: number;
  createdIds: number[];
  total: number;
}

/** The reference app's API, minimal: sessions as sid cookies, static assets held `staticDelayMs`. */
function apiServer(staticDelayMs: number): { server: Server; seen: Seen } {
  const seen: Seen = { byRoute: new Map(), meWithSession: 0, meWithoutSession: 0, createdIds: [], total: 0 };
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      seen.total++;
      const url = req.url ?? '';
      const route = `${req.method} ${url.replace(/\/\d+$/, '/:id').replace(/^\/static\/.*/, '/static/*')}`;
      seen.byRoute.set(route, (seen.byRoute.get(route) ?? 0) + 1);
      const json = (status: number, value: unknown, headers: Record<string, string> = {}) =>
        res.writeHead(status, { 'content-type': 'application/json', ...headers }).end(JSON.stringify(value));
      if (route === 'GET /api/users/:id') return json(200, { id: Number(url.split('/').pop()) });
      if (route === 'PUT /api/users/:id') return json(200, JSON.parse(body));
      if (route === 'POST /api/users') {
        seen.createdIds.push((JSON.parse(body) as { id: number }).id);
        return json(201, JSON.parse(body));
      }
      if (route === 'POST /api/login') return json(200, {}, { 'set-cookie': `sid=s${(JSON.parse(body) as { id: number }).id}; Path=/; HttpOnly` });
      if (route === 'GET /api/me') {
        const ok = /^sid=s\d+$/.test(req.headers.cookie ?? '');
        if (ok) seen.meWithSession++;
        else seen.meWithoutSession++;
        return json(ok ? 200 : 401, {});
      }
      if (route === 'GET /static/*') return void setTimeout(() => res.writeHead(200).end('x'.repeat(2000)), staticDelayMs);
      json(404, {});
    });
  });
  return { server, seen };
}

async function listen(server: Server): Promise<string> {
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

describe(hasK6 ? 'k6 driver, end to end with real k6' : `k6 driver, end to end (${SKIP_REASON})`, () => {
  const tmp = mkdtempSync(join(tmpdir(), 'bench-k6-int-'));
  const fast = apiServer(0);
  const slow = apiServer(300);
  let fastUrl = '';
  let slowUrl = '';
  beforeAll(async () => {
    if (!hasK6) return;
    fastUrl = await listen(fast.server);
    slowUrl = await listen(slow.server);
  });
  afterAll(async () => {
    await Promise.all([fast.server, slow.server].map((s) => new Promise((r) => (s.listening ? s.close(r) : r(undefined)))));
    rmSync(tmp, { recursive: true, force: true });
  });

  const base = (api: string, name: string): RunK6Options => ({
    script: new URL('../../../loadtests/mixed.k6.ts', import.meta.url).pathname,
    targets: { api, static: api },
    users: 5000,
    seed: 11,
    stages: [{ durationS: 0, targetRate: 20 }, { durationS: 3, targetRate: 40 }],
    workload: 'mixed',
    objectives: { p99Ms: 250, maxErrorRate: 0.01 },
    prometheusRwUrl: null,
    summaryPath: join(tmp, name, 'summary.json'),
    jsonOutPath: join(tmp, name, 'k6.ndjson.gz'),
    timeoutMs: 2000,
  });

  it.skipIf(!hasK6)('sends the scheduled mix and reports what the server saw', async () => {
    const opts = base(fastUrl, 'fast');
    const before = Date.now();
    const r = await runK6(opts);
    // the schedule's start, from k6's progress lines: after the spawn, within k6's start-up time
    expect(r.startedAtMs).toBeGreaterThan(before);
    expect(r.startedAtMs).toBeLessThan(before + 3000);
    expect(r.exitCode).toBe(0);
    expect(r.thresholdsFailed).toBe(false);
    expect(() => LoadResults.parse(r.results)).not.toThrow();
    const res = r.results;
    // 90 iterations are due on this schedule; a login is two requests
    const due = new ArrivalSchedule(opts.stages, 20).totalRequests;
    const logins = res.endpoints.login?.requests ?? 0;
    expect(res.totals.requests - logins / 2).toBeGreaterThanOrEqual(due - 2);
    expect(res.totals.requests - logins / 2).toBeLessThanOrEqual(due + 1);
    expect(res.totals.requests).toBe(fast.seen.total);
    expect(res.totals.errors).toBe(0);
    expect(res.totals.dropped).toBe(0);
    expect(res.endpoints.read.requests).toBe(fast.seen.byRoute.get('GET /api/users/:id'));
    expect(res.endpoints.read.requests).toBeGreaterThan(res.totals.requests * 0.5);
    expect(fast.seen.meWithSession).toBe(logins / 2);
    expect(fast.seen.meWithoutSession).toBe(0);
    for (const id of fast.seen.createdIds) expect(id).toBeGreaterThan(5000);
    expect(res.statusCodes['200'] + (res.statusCodes['201'] ?? 0)).toBe(res.totals.requests);
    expect(res.series.length).toBeGreaterThanOrEqual(3);
    expect(res.series.reduce((a, p) => a + p.requests, 0)).toBe(res.totals.requests);
    // second 0 holds the ~23 iterations due in it (20/s ramping to 40/s over 3 s): aligned on the start
    expect(res.series[0].requests).toBeGreaterThanOrEqual(18);
    expect(res.series[0].requests).toBeLessThanOrEqual(32);
    expect(res.series[0].targetRate).toBeCloseTo(23.33, 1);
    expect(res.latencyMs.p99).toBeLessThan(250);
    expect(res.generator.peakRssMb).toBeGreaterThan(10);
  }, 30_000);

  it.skipIf(!hasK6)('maps crossed thresholds to thresholdsFailed (k6 exit 99)', async () => {
    const opts = { ...base(slowUrl, 'slow'), workload: 'static', script: new URL('../../../loadtests/static.k6.ts', import.meta.url).pathname };
    const r = await runK6({ ...opts, stages: [{ durationS: 0, targetRate: 10 }, { durationS: 2, targetRate: 10 }] });
    expect(r.exitCode).toBe(99);
    expect(r.thresholdsFailed).toBe(true);
    expect(r.failedThresholds).toEqual(['http_req_duration p(99)<250']);
    expect(r.results.latencyMs.p50).toBeGreaterThan(290);
    expect(Object.keys(r.results.endpoints)).toEqual(['static']);
  }, 30_000);

  it.skipIf(!hasK6)('stops on abort and still returns what k6 measured', async () => {
    const ac = new AbortController();
    const opts = { ...base(fastUrl, 'abort'), stages: [{ durationS: 0, targetRate: 20 }, { durationS: 30, targetRate: 20 }] };
    const started = Date.now();
    const r = await runK6({ ...opts, signal: ac.signal, onLine: (l) => (l.startsWith('running (01') ? ac.abort() : undefined) });
    expect(Date.now() - started).toBeLessThan(15_000);
    expect(r.exitCode).toBe(105);
    expect(r.results.totals.requests).toBeGreaterThan(10);
    expect(r.results.durationS).toBeLessThan(10);
  }, 30_000);

  it.skipIf(!hasK6)('exports a script that plain k6 runs from its .env file', async () => {
    const before = fast.seen.total;
    // the live run's paths stay out: an exported script writes summary.json where k6 runs
    const { summaryPath: _s, jsonOutPath: _j, script: _x, ...settings } = base(fastUrl, 'export');
    const out = await exportK6({ ...settings, phase: 1, outDir: join(tmp, 'export'), stages: [{ durationS: 0, targetRate: 10 }, { durationS: 1, targetRate: 10 }] });
    const { stdout } = await promisify(execFile)('bash', ['-c', `${out.command.replace(' k6 run', ` ${k6} run --address= --no-usage-report -q`)}`], {
      cwd: join(tmp, 'export'),
      timeout: 20_000,
    });
    expect(stdout).toContain('bench k6 · workload mixed');
    expect(stdout).toContain('summary written to summary.json');
    expect(fast.seen.total - before).toBeGreaterThanOrEqual(9);
  }, 30_000);
});
