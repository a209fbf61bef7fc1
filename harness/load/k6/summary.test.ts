// Parsing k6's summary: the shapes are real ones (fixtures/README.md says where each comes from).
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { LoadResults } from '../../../reports/schema.ts';
import { BenchError } from '../../errors.ts';
import {
  failedThresholds,
  k6SummaryToLoadResults,
  metricValues,
  parseK6Summary,
  splitMetricKey,
  trendToLatency,
} from './summary.ts';

const fixture = (name: string): unknown => JSON.parse(readFileSync(new URL(`./fixtures/${name}`, import.meta.url), 'utf8'));
const stages = [{ durationS: 0, targetRate: 10 }, { durationS: 3, targetRate: 10 }];

describe('parseK6Summary on the k6 docs example (legacy shape)', () => {
  const s = parseK6Summary(fixture('docs-summary.json'));

  it('reads metrics, submetrics, thresholds, checks and the run duration', () => {
    expect(s.format).toBe('legacy');
    expect(s.testRunDurationMs).toBeCloseTo(30898.965069, 6);
    expect(metricValues(s, 'http_reqs')).toEqual({ count: 40, rate: 19.768856959496336 });
    expect(metricValues(s, 'http_req_duration', { staticAsset: 'yes' })?.min).toBe(135.092841);
    expect(s.metrics['http_req_duration{staticAsset:yes}'].tags).toEqual({ staticAsset: 'yes' });
    expect(s.checks).toEqual([{ name: 'check name', passes: 10, fails: 0 }]);
    expect(failedThresholds(s).sort()).toEqual(['http_req_duration p(95)<500', 'http_req_duration{staticAsset:yes} p(99)<250']);
  });

  it('never lets a missing percentile make the tail look better: it borrows the next one up', () => {
    // the docs example has only avg, max and p(99.99): every percentile falls back to max
    const l = trendToLatency(metricValues(s, 'http_req_duration'));
    expect(l).toEqual({ p50: 846.199, p90: 846.199, p95: 846.199, p99: 846.199, p999: 846.199, max: 846.199, mean: 268.311 });
  });
});

describe('parseK6Summary on k6 v1.8.1 running loadtests/mixed.k6.ts', () => {
  const s = parseK6Summary(fixture('k6-v1.8.1-summary.json'));
  const results = k6SummaryToLoadResults(s, { workload: 'mixed', stages, durationS: 3 });

  it('is a valid results.json load section with driver k6', () => {
    expect(() => LoadResults.parse(results)).not.toThrow();
    expect(results.driver).toBe('k6');
    expect(results.workload).toBe('mixed');
    expect(results.stages).toEqual(stages);
  });

  it('counts requests, errors (HTTP failures plus logins without a session) and dropped iterations', () => {
    const httpFailed = s.metrics.http_req_failed.values;
    expect(httpFailed.nonZero).toBe(6); // rate 0.2142857 of 28
    expect(results.totals).toEqual({
      requests: 28,
      ok: 21,
      errors: 7, // 6 failed requests + 1 login that answered without a session
      dropped: 2,
      throughputRps: 9.33,
      errorRate: 0.25,
    });
    expect(results.generator.saturated).toBe(true); // dropped iterations: the schedule was not kept
  });

  it('takes latency percentiles, p(99.9) included, from http_req_duration', () => {
    const v = s.metrics.http_req_duration.values;
    expect(results.latencyMs.p50).toBeCloseTo(v.med, 3);
    expect(results.latencyMs.p99).toBeCloseTo(v['p(99)'], 3);
    expect(results.latencyMs.p999).toBeCloseTo(v['p(99.9)'], 3);
    expect(results.latencyMs.max).toBeCloseTo(v.max, 3);
    expect(results.latencyMs.p99).toBeGreaterThan(results.latencyMs.p50!);
  });

  it('gives each request kind the run drew its own endpoint, from the name-tag submetrics', () => {
    expect(Object.keys(results.endpoints).sort()).toEqual(['login', 'read', 'static']);
    expect(results.endpoints.read.requests).toBe(20);
    expect(results.endpoints.read.errors).toBe(6);
    expect(results.endpoints.static).toMatchObject({ requests: 7, errors: 0 });
    expect(results.endpoints.static.latencyMs.p50).toBeGreaterThan(400); // the test server held static for 400 ms
    expect(results.endpoints.login).toMatchObject({ requests: 1, errors: 1 });
    const sum = Object.values(results.endpoints).reduce((a, e) => a + e.requests, 0);
    expect(sum).toBe(results.totals.requests);
  });

  it('reports status codes of answered requests and sorts errors into the engine error kinds', () => {
    // status 0 (the timed-out request) is no status code: it is the timeout error
    expect(results.statusCodes).toEqual({ '200': 22, '404': 2, '500': 3 });
    expect(results.errorKinds).toEqual({ http_4xx: 2, http_5xx: 3, timeout: 1, no_session: 1 });
    const kinds = Object.values(results.errorKinds).reduce((a, b) => a + b, 0);
    expect(kinds).toBe(results.totals.errors);
  });

  it('has no per-second series (only the JSON output has one) and lists no failed helper thresholds', () => {
    expect(results.series).toEqual([]);
    expect(failedThresholds(s).sort()).toEqual(['http_req_duration p(99)<250', 'http_req_failed rate<0.01']);
  });
});

describe('parseK6Summary on the machine-readable shape', () => {
  it("reads k6 v1.8.1's own output: p90/p95 keys, {matches, total} rates, counters without rate", () => {
    const s = parseK6Summary(fixture('k6-v1.8.1-summary-machine-readable.json'));
    expect(s.format).toBe('machine-readable');
    expect(s.testRunDurationMs).toBeGreaterThan(2000);
    const d = metricValues(s, 'http_req_duration')!;
    expect(d['p(95)']).toBeGreaterThan(0);
    expect(d['p(99)']).toBeUndefined();
    const failed = metricValues(s, 'http_req_failed')!;
    expect(failed.nonZero).toBe(failed.matches);
    const r = k6SummaryToLoadResults(s, { workload: 'mixed', stages, durationS: 2 });
    expect(() => LoadResults.parse(r)).not.toThrow();
    expect(r.totals.requests).toBe(metricValues(s, 'http_reqs')!.count);
    expect(r.totals.errors).toBe(failed.matches);
    // no p(99) in this shape: p99 must not fall below what is known (the max)
    expect(r.latencyMs.p99).toBe(r.latencyMs.max);
    expect(r.latencyMs.p95).toBeLessThanOrEqual(r.latencyMs.p99!);
  });

  it("reads grafana/k6-summary's schema example, where rates come as {rate, passes, fails}", () => {
    const s = parseK6Summary(fixture('k6-summary-schema-example.json'));
    expect(s.testRunDurationMs).toBe(60_000);
    expect(metricValues(s, 'http_req_failed')!.nonZero).toBe(30); // 2% of 1500, whatever "passes" means there
    expect(s.checks).toEqual([
      { name: 'status is 200', passes: 1470, fails: 30 },
      { name: 'response time < 500ms', passes: 1380, fails: 120 },
    ]);
    const r = k6SummaryToLoadResults(s, { workload: 'mixed', stages: [{ durationS: 60, targetRate: 25 }], durationS: 60 });
    expect(r.totals).toMatchObject({ requests: 1500, errors: 30, ok: 1470, throughputRps: 25 });
    expect(r.latencyMs.p99).toBe(445.12);
  });
});

describe('parseK6Summary refuses what it does not know', () => {
  it.each([null, 42, {}, { metrics: { x: { type: 'histogram', values: {} } } }, { results: { metrics: 'no' } }])('%j', (doc) => {
    expect(() => parseK6Summary(doc)).toThrow(BenchError);
  });
});

describe('splitMetricKey', () => {
  it('splits submetric selectors with several tags and values holding colons', () => {
    expect(splitMetricKey('http_reqs')).toEqual({ metric: 'http_reqs', tags: {} });
    expect(splitMetricKey('http_req_duration{name:read,status:200}')).toEqual({
      metric: 'http_req_duration',
      tags: { name: 'read', status: '200' },
    });
    expect(splitMetricKey('x{url:http://a:1/b}')).toEqual({ metric: 'x', tags: { url: 'http://a:1/b' } });
  });
});
