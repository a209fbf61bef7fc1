// The pure parts of the k6 scripts (loadtests/lib): settings, options, the request plan, the text
// summary. vitest skips loadtests/, so they are tested from here; what needs k6 itself
// (requests.ts, script.ts) runs in driver.int.test.ts.
import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { workloads } from '../../../loadtests/workloads.ts';
import { parseStages, readConfig } from '../../../loadtests/lib/config.ts';
import { buildOptions, k6Duration, startRateOf, SYSTEM_TAGS, toK6Stages } from '../../../loadtests/lib/options.ts';
import { iterationPlanner, REQUEST_KINDS, type PlannedRequest } from '../../../loadtests/lib/plan.ts';
import { hash32, iterationRandom } from '../../../loadtests/lib/random.ts';
import { summaryOutputs, textSummary, type SummaryData } from '../../../loadtests/lib/summary.ts';

const repo = new URL('../../../', import.meta.url);
const env = (extra: Record<string, string> = {}) => ({ BENCH_API_URL: 'http://127.3.1.1:8000/', ...extra });

describe('readConfig', () => {
  it('needs only the API URL; everything else has a default', () => {
    const c = readConfig(env(), 'mixed');
    expect(c).toMatchObject({
      apiUrl: 'http://127.3.1.1:8000',
      staticUrl: 'http://127.3.1.1:8000',
      users: 1000,
      seed: 1,
      stages: [{ durationS: 10, targetRate: 10 }],
      workload: 'mixed',
      p99Ms: 250,
      maxErrorRate: 0.01,
      timeoutMs: 10_000,
      summaryPath: 'summary.json',
    });
    expect(c.maxVUs).toBeGreaterThanOrEqual(c.preAllocatedVUs);
  });

  it('sizes the VU pool from the peak rate: 50 ms of it to start with, 1 s of it at most (10..1000)', () => {
    const at = (rate: number) => readConfig(env({ BENCH_STAGES: JSON.stringify([{ durationS: 5, targetRate: rate }]) }), 'mixed');
    expect([at(100).preAllocatedVUs, at(100).maxVUs]).toEqual([10, 100]);
    expect([at(4000).preAllocatedVUs, at(4000).maxVUs]).toEqual([200, 1000]);
    expect([at(2).preAllocatedVUs, at(2).maxVUs]).toEqual([10, 10]);
  });

  it('lists every problem at once', () => {
    const bad = { BENCH_USERS: 'many', BENCH_SEED: '-1', BENCH_STAGES: '[{"durationS":-1}]', BENCH_MAX_ERROR_RATE: '2', BENCH_STATIC_URL: 'ftp://x' };
    const message = (() => {
      try {
        readConfig(bad, 'mixed');
        return '';
      } catch (e) {
        return (e as Error).message;
      }
    })();
    for (const name of ['BENCH_API_URL is not set', 'BENCH_USERS=many', 'BENCH_SEED=-1', 'BENCH_STAGES [0].durationS', 'BENCH_MAX_ERROR_RATE=2', 'BENCH_STATIC_URL=ftp://x']) {
      expect(message).toContain(name);
    }
  });

  it('refuses a BENCH_WORKLOAD that is not the script’s own', () => {
    expect(() => readConfig(env({ BENCH_WORKLOAD: 'static' }), 'mixed')).toThrow(/use static\.k6\.ts/);
    expect(readConfig(env({ BENCH_WORKLOAD: 'static' }), 'static').workload).toBe('static');
  });

  it('refuses a VU cap below the pool it starts with', () => {
    expect(() => readConfig(env({ BENCH_PREALLOCATED_VUS: '50', BENCH_MAX_VUS: '10' }), 'mixed')).toThrow(/BENCH_MAX_VUS=10 is below/);
  });
});

describe('parseStages', () => {
  it('accepts the traffic model’s zero-duration opening stage', () => {
    expect(parseStages('[{"durationS":0,"targetRate":5},{"durationS":30,"targetRate":100}]')).toEqual([
      { durationS: 0, targetRate: 5 },
      { durationS: 30, targetRate: 100 },
    ]);
  });
  it.each([
    ['not json', /not JSON/],
    ['[]', /non-empty/],
    ['{"durationS":1}', /non-empty/],
    ['[{"durationS":0,"targetRate":5}]', /lasts 0 s/],
    ['[{"durationS":5,"targetRate":0}]', /no traffic/],
    ['[{"durationS":5,"targetRate":"10"}]', /targetRate/],
  ])('refuses %s', (raw, why) => {
    expect(parseStages(raw)).toMatch(why);
  });
});

describe('k6 stages and options', () => {
  it('maps integer rates to per-second targets, the zero-duration opening stage to the start rate', () => {
    expect(toK6Stages([{ durationS: 0, targetRate: 5 }, { durationS: 30, targetRate: 100 }, { durationS: 2.5, targetRate: 5 }])).toEqual({
      timeUnit: '1s',
      startRate: 5,
      stages: [
        { duration: '0s', target: 5 },
        { duration: '30s', target: 100 },
        { duration: '2500ms', target: 5 },
      ],
    });
    expect(startRateOf([{ durationS: 10, targetRate: 50 }])).toBe(0);
  });

  it('keeps fractional rates exact with a longer time unit', () => {
    expect(toK6Stages([{ durationS: 10, targetRate: 2.5 }])).toMatchObject({ timeUnit: '10s', stages: [{ target: 25 }] });
    expect(toK6Stages([{ durationS: 10, targetRate: 1 / 60 }])).toMatchObject({ timeUnit: '60s', stages: [{ target: 1 }] });
    expect(toK6Stages([{ durationS: 10, targetRate: 0.0001 }])).toMatchObject({ timeUnit: '1000s', stages: [{ target: 0 }] });
    expect(k6Duration(90)).toBe('90s');
    expect(k6Duration(0.25)).toBe('250ms');
  });

  it('builds one ramping-arrival-rate scenario with the objectives as thresholds', () => {
    const c = readConfig(env({ BENCH_STAGES: '[{"durationS":0,"targetRate":5},{"durationS":20,"targetRate":80}]', BENCH_P99_MS: '120', BENCH_MAX_ERROR_RATE: '0.005', BENCH_TIMEOUT_MS: '2500' }), 'read-heavy');
    const o = buildOptions(c, ['read', 'update', 'static']);
    expect(o.scenarios?.load).toMatchObject({
      executor: 'ramping-arrival-rate',
      timeUnit: '1s',
      startRate: 5,
      stages: [{ duration: '0s', target: 5 }, { duration: '20s', target: 80 }],
      preAllocatedVUs: c.preAllocatedVUs,
      maxVUs: c.maxVUs,
      gracefulStop: '4s',
    });
    expect(o.thresholds?.http_req_duration).toEqual(['p(99)<120']);
    expect(o.thresholds?.http_req_failed).toEqual(['rate<0.005']);
    for (const kind of ['read', 'update', 'static']) {
      expect(o.thresholds?.[`http_req_duration{name:${kind}}`]).toEqual(['max>=0']);
      expect(o.thresholds?.[`http_reqs{name:${kind}}`]).toEqual(['count>=0']);
    }
    expect(o.thresholds?.['http_req_duration{name:create}']).toBeUndefined();
    expect(o.thresholds?.['http_reqs{status:503}']).toEqual(['count>=0']);
    expect(o.summaryTrendStats).toContain('p(99.9)');
    expect(o.discardResponseBodies).toBe(true);
  });

  it('never tags samples with the URL (a Prometheus series per user id)', () => {
    expect(SYSTEM_TAGS).not.toContain('url');
    expect(SYSTEM_TAGS).toEqual(expect.arrayContaining(['name', 'status', 'error_code', 'expected_response', 'check']));
  });
});

describe('iterationPlanner', () => {
  const plans = (workload: string, users: number, seed: number, n: number, from = 0): PlannedRequest[] => {
    const p = iterationPlanner(workloads[workload], users, seed);
    return Array.from({ length: n }, (_, i) => p.plan(from + i));
  };

  it('plans the same request for the same (seed, iteration), whatever was planned before', () => {
    const a = plans('mixed', 10_000, 7, 500);
    const b = plans('mixed', 10_000, 7, 500);
    expect(b).toEqual(a);
    // a VU that only ever sees iterations 250.. still plans what the others would have
    expect(plans('mixed', 10_000, 7, 250, 250)).toEqual(a.slice(250));
    expect(plans('mixed', 10_000, 8, 500)).not.toEqual(a);
  });

  it('follows the workload mix', () => {
    const n = 40_000;
    const counts: Record<string, number> = {};
    for (const r of plans('mixed', 1_000_000, 3, n)) counts[r.kind] = (counts[r.kind] ?? 0) + 1;
    const mix = workloads.mixed.mix;
    const total = REQUEST_KINDS.reduce((a, k) => a + mix[k], 0);
    for (const k of REQUEST_KINDS) {
      const expected = (mix[k] / total) * n;
      // 5 standard deviations of a binomial count: fails on a wrong mix, not on chance
      expect(Math.abs((counts[k] ?? 0) - expected)).toBeLessThan(5 * Math.sqrt(expected) + 1);
    }
  });

  it('sends only the kinds a workload weighs', () => {
    expect(iterationPlanner(workloads['read-heavy'], 100, 1).kinds).toEqual(['read', 'update', 'static']);
    expect(iterationPlanner(workloads.static, 100, 1).kinds).toEqual(['static']);
    expect(new Set(plans('static', 100, 1, 300).map((r) => r.kind))).toEqual(new Set(['static']));
  });

  it('draws user ids by Zipf over the seeded range: user 1 the hottest, none out of range', () => {
    const ids = new Map<number, number>();
    for (const r of plans('read-heavy', 5000, 11, 20_000)) {
      if (r.kind === 'read' || r.kind === 'update') {
        expect(r.id).toBeGreaterThanOrEqual(1);
        expect(r.id).toBeLessThanOrEqual(5000);
        ids.set(r.id!, (ids.get(r.id!) ?? 0) + 1);
      }
    }
    const top = [...ids].sort((a, b) => b[1] - a[1]).slice(0, 3).map(([id]) => id);
    expect(top[0]).toBe(1);
    expect(ids.get(1)! / ids.get(10)!).toBeGreaterThan(5); // s = 1.1: 10^1.1 ~ 12.6
  });

  it('creates new users past the seeded range, each id once', () => {
    const creates = plans('write-heavy', 2000, 5, 3000).filter((r) => r.kind === 'create') as Array<PlannedRequest & { id: number; email: string }>;
    expect(creates.length).toBeGreaterThan(700);
    expect(new Set(creates.map((c) => c.id)).size).toBe(creates.length);
    for (const c of creates) {
      expect(c.id).toBeGreaterThan(2000);
      expect(c.email).toBe(`user${c.id}@bench.test`);
    }
  });

  it('fetches every static asset', () => {
    const assets = new Set(plans('static', 10, 2, 500).map((r) => (r.kind === 'static' ? r.asset : '')));
    expect(assets).toEqual(new Set(['app.js', 'app.css', 'logo.png', 'hero.jpg', 'favicon.ico']));
  });
});

describe('per-iteration randomness', () => {
  it('hash32 is stable, and neighbouring inputs land far apart', () => {
    expect(hash32(1, 2)).toBe(hash32(1, 2));
    expect(hash32(1, 2)).not.toBe(hash32(2, 1));
    expect(hash32(0, 2 ** 32)).not.toBe(hash32(0, 0)); // the high half of a large iteration count matters
    const buckets = new Array(16).fill(0);
    for (let i = 0; i < 16_000; i++) buckets[hash32(9, i) >>> 28]++;
    for (const b of buckets) expect(Math.abs(b - 1000)).toBeLessThan(160);
  });

  it('iterationRandom gives each iteration its own reproducible stream', () => {
    const a = iterationRandom(1, 10);
    const b = iterationRandom(1, 10);
    const xs = [a.next(), a.next(), a.next()];
    expect([b.next(), b.next(), b.next()]).toEqual(xs);
    expect(iterationRandom(1, 11).next()).not.toBe(xs[0]);
  });

  it('shares the engine’s generator, which must stay free of imports for k6 to load it', () => {
    const src = readFileSync(new URL('harness/load/random.ts', repo), 'utf8');
    expect(src).not.toMatch(/^\s*import\s/m);
    expect(src).not.toMatch(/\brequire\(|process\.|Buffer\b/);
  });
});

describe('the scripts', () => {
  it('exist for every workload and each runs its own', () => {
    for (const name of Object.keys(workloads)) {
      const path = new URL(`loadtests/${name}.k6.ts`, repo);
      expect(existsSync(path), `loadtests/${name}.k6.ts`).toBe(true);
      const src = readFileSync(path, 'utf8');
      expect(src).toContain(`benchScript('${name}')`);
      expect(src).toMatch(/export default script\.iteration/);
      expect(src).toMatch(/export const handleSummary = script\.handleSummary/);
      expect(src).toMatch(/export const options = script\.options/);
    }
  });
});

describe('handleSummary', () => {
  const data = JSON.parse(readFileSync(new URL('./fixtures/k6-v1.8.1-summary.json', import.meta.url), 'utf8')) as SummaryData;

  it('writes the whole summary to BENCH_SUMMARY_PATH and a text summary to stdout', () => {
    const out = summaryOutputs(data, { summaryPath: '/runs/r1/k6-summary.json', workload: 'mixed' });
    expect(Object.keys(out).sort()).toEqual(['/runs/r1/k6-summary.json', 'stdout']);
    expect(JSON.parse(out['/runs/r1/k6-summary.json'])).toEqual(data);
  });

  it('prints totals, latency, each kind drawn and the verdict of the real thresholds only', () => {
    const text = textSummary(data, { summaryPath: 's.json', workload: 'mixed' });
    expect(text).toContain('bench k6 · workload mixed');
    expect(text).toMatch(/requests {2}28 \(8\.5\/s\), failed 21\.43%, dropped iterations 2/);
    expect(text).toMatch(/latency {3}p50 [\d.]+ ms {2}p90 .* p99\.9 [\d.]+ ms {2}max 1002 ms/);
    expect(text).toMatch(/\n {2}read {6}20 req, failed 30\.00%/);
    expect(text).not.toMatch(/\n {2}create/); // in the mix, never drawn in 3 s
    expect(text).toContain('✗ http_req_duration p(99)<250');
    expect(text).toContain('✗ http_req_failed rate<0.01');
    expect(text).not.toContain('max>=0');
    expect(text).not.toContain('count>=0');
  });

  it('reads k6’s machine-readable shape too', () => {
    const mr = JSON.parse(readFileSync(new URL('./fixtures/k6-v1.8.1-summary-machine-readable.json', import.meta.url), 'utf8')) as SummaryData;
    const text = textSummary(mr, { summaryPath: 's.json', workload: 'mixed' });
    expect(text).toMatch(/requests {2}10 \([\d.]+\/s\)/);
    expect(text).toMatch(/latency {3}p50 [\d.]+ ms {2}p90 [\d.]+ ms {2}p95/);
  });
});
