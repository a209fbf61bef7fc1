// Parsing k6's --out json NDJSON: real lines (fixtures/README.md), then edge cases built by hand.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { LoadResults } from '../../../reports/schema.ts';
import { K6JsonOutputAggregator, mergeJsonOutput, readK6JsonOutput } from './json-output.ts';
import { k6SummaryToLoadResults, parseK6Summary } from './summary.ts';

const fixturePath = (name: string) => new URL(`./fixtures/${name}`, import.meta.url).pathname;
const stages = [{ durationS: 0, targetRate: 10 }, { durationS: 3, targetRate: 10 }];
const tmp = mkdtempSync(join(tmpdir(), 'bench-k6-json-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('readK6JsonOutput on k6 v1.8.1 output of loadtests/mixed.k6.ts', async () => {
  const out = await readK6JsonOutput(fixturePath('k6-v1.8.1-output.ndjson'), { stages });
  // the same run's summary: both views of one run must agree
  const summary = parseK6Summary(JSON.parse(readFileSync(fixturePath('k6-v1.8.1-summary.json'), 'utf8')));
  const fromSummary = k6SummaryToLoadResults(summary, { workload: 'mixed', stages, durationS: 3 });

  it('reads every line and finds no malformed one', () => {
    expect(out.lines).toBe(readFileSync(fixturePath('k6-v1.8.1-output.ndjson'), 'utf8').trim().split('\n').length);
    expect(out.malformed).toBe(0);
    expect(out.lateSamples).toBe(0);
    // t = 0 is the first sample's time (the file's first Point line)
    expect(out.startedAtMs).toBe(Date.parse('2026-11-28T19:15:26.767Z'));
  });

  it('agrees with the summary on requests, errors, dropped iterations, status codes and error kinds', () => {
    expect(out.totals).toEqual({
      requests: fromSummary.totals.requests,
      errors: fromSummary.totals.errors,
      dropped: fromSummary.totals.dropped,
    });
    expect(out.statusCodes).toEqual(fromSummary.statusCodes);
    expect(out.errorKinds).toEqual(fromSummary.errorKinds);
    for (const [name, e] of Object.entries(fromSummary.endpoints)) {
      expect(out.endpoints[name]).toMatchObject({ requests: e.requests, errors: e.errors });
    }
  });

  it('agrees with k6 on latency percentiles within the HDR histogram precision', () => {
    // k6 interpolates between samples, HDR reports a recorded bucket: compare on a sample that has
    // no neighbour to interpolate with (max) exactly, the others within a bucket or a neighbour
    expect(out.latencyMs.max).toBeCloseTo(fromSummary.latencyMs.max!, 0);
    expect(out.latencyMs.p50).toBeCloseTo(fromSummary.latencyMs.p50!, 1);
    expect(out.endpoints.static.latencyMs.p50).toBeGreaterThan(400);
    expect(out.endpoints.static.latencyMs.p50).toBeLessThan(402);
  });

  it('builds a per-second series whose counts add up to the totals', () => {
    expect(out.series.length).toBeGreaterThanOrEqual(3);
    expect(out.series.map((p) => p.t)).toEqual(out.series.map((_, i) => i));
    const sum = (k: 'requests' | 'errors' | 'dropped') => out.series.reduce((a, p) => a + p[k], 0);
    expect(sum('requests')).toBe(out.totals.requests);
    expect(sum('errors')).toBe(out.totals.errors);
    expect(sum('dropped')).toBe(out.totals.dropped);
    expect(out.series[0].targetRate).toBe(10);
    expect(out.series.at(-1)!.targetRate).toBe(0); // the graceful stop, past the schedule
    for (const p of out.series) if (p.requests > 0) expect(p.p99).toBeGreaterThanOrEqual(p.p50!);
    expect(out.peakVus).toBeGreaterThanOrEqual(1);
  });

  it('merges into the summary-based results as a valid results.json load section', () => {
    const merged = mergeJsonOutput(fromSummary, out);
    expect(() => LoadResults.parse(merged)).not.toThrow();
    expect(merged.series).toBe(out.series);
    expect(merged.totals).toEqual(fromSummary.totals);
    expect(merged.latencyMs).toEqual(fromSummary.latencyMs);
  });

  it('reads the gzipped file k6 writes for --out json=<name>.gz the same way', async () => {
    const gz = join(tmp, 'out.ndjson.gz');
    writeFileSync(gz, gzipSync(readFileSync(fixturePath('k6-v1.8.1-output.ndjson'))));
    const again = await readK6JsonOutput(gz, { stages });
    expect(again.totals).toEqual(out.totals);
    expect(again.series).toEqual(out.series);
  });
});

describe('readK6JsonOutput on the k6 docs sample', () => {
  it('takes the other key order, a UTC offset and null tags in its stride', async () => {
    const out = await readK6JsonOutput(fixturePath('docs-output.ndjson'), { stages: [{ durationS: 1, targetRate: 1 }] });
    expect(out.malformed).toBe(0);
    expect(out.peakVus).toBe(5);
    expect(out.latencyMs.max).toBeCloseTo(459.866, 0);
    // the vus sample came 0.39 s after the request's: out of order within the window, still counted
    expect(out.startedAtMs).toBe(Date.parse('2017-05-09T12:34:45.625Z'));
    expect(out.lateSamples).toBe(0);
  });
});

describe('K6JsonOutputAggregator', () => {
  const T0 = Date.parse('2026-01-01T00:00:00Z');
  const point = (metric: string, atMs: number, value: number, tags: Record<string, string> = {}) =>
    JSON.stringify({ metric, type: 'Point', data: { time: new Date(T0 + atMs).toISOString(), value, tags } });
  const req = (atMs: number, ms: number, name = 'read', status = '200') => [
    point('http_reqs', atMs, 1, { name, status }),
    point('http_req_duration', atMs, ms, { name, status }),
    point('http_req_failed', atMs, status === '200' ? 0 : 1, { name, status }),
  ];

  it('puts each sample in its second, per second percentiles from that second only', () => {
    // a zero-duration first stage sets the rate the schedule starts from (the traffic model's floor)
    const agg = new K6JsonOutputAggregator({ stages: [{ durationS: 0, targetRate: 2 }, { durationS: 3, targetRate: 2 }] });
    for (const l of [...req(0, 1), ...req(400, 3), ...req(1100, 100), ...req(1900, 200), ...req(2500, 7, 'read', '503')]) agg.push(l);
    const out = agg.finish();
    expect(out.series.map((p) => [p.t, p.requests, p.errors])).toEqual([[0, 2, 0], [1, 2, 0], [2, 1, 1]]);
    expect(out.series[0].p99).toBeCloseTo(3, 1);
    expect(out.series[1].p50).toBeCloseTo(100, 0);
    expect(out.series[1].p99).toBeCloseTo(200, 0);
    expect(out.series.map((p) => p.targetRate)).toEqual([2, 2, 2]);
    expect(out.errorKinds).toEqual({ http_5xx: 1 });
    expect(out.statusCodes).toEqual({ '200': 4, '503': 1 });
  });

  it('gives each second the rate the schedule asked for at its middle, ramps included', () => {
    // without a zero-duration opening stage the ramp starts from 0, as in k6 and the engine
    const agg = new K6JsonOutputAggregator({ stages: [{ durationS: 4, targetRate: 8 }] });
    for (let s = 0; s < 4; s++) agg.push(req(s * 1000 + 10, 1)[0]);
    expect(agg.finish().series.map((p) => p.targetRate)).toEqual([1, 3, 5, 7]);
  });

  it('counts seconds from the given schedule start, not the first sample', () => {
    const agg = new K6JsonOutputAggregator({ stages: [{ durationS: 5, targetRate: 1 }], t0Ms: T0 - 2000 });
    for (const l of req(500, 1)) agg.push(l);
    const out = agg.finish();
    expect(out.startedAtMs).toBe(T0 - 2000);
    expect(out.series.map((p) => p.requests)).toEqual([0, 0, 1]);
  });

  it('counts a sample too late for its closed second, and keeps it in the totals', () => {
    const agg = new K6JsonOutputAggregator({ stages: [{ durationS: 20, targetRate: 1 }], windowS: 2 });
    for (const l of [...req(0, 1), ...req(5000, 1), ...req(500, 50)]) agg.push(l);
    const out = agg.finish();
    expect(out.lateSamples).toBe(1);
    expect(out.totals.requests).toBe(3);
    expect(out.series[0].requests).toBe(2); // the count still lands in its own second
    expect(out.series[0].p99).toBeCloseTo(1, 1); // but not the percentile
    expect(out.latencyMs.max).toBeCloseTo(50, 0); // the run's histogram has it
  });

  it('maps transport errors by k6 error code and a failed session check to no_session', () => {
    const agg = new K6JsonOutputAggregator({ stages: [{ durationS: 1, targetRate: 3 }] });
    agg.push(point('http_reqs', 0, 1, { name: 'read', status: '0', error_code: '1212' }));
    agg.push(point('http_req_failed', 0, 1, { name: 'read', status: '0', error_code: '1212' }));
    agg.push(point('http_reqs', 10, 1, { name: 'read', status: '0', error_code: '1050' }));
    agg.push(point('http_req_failed', 10, 1, { name: 'read', status: '0', error_code: '1050' }));
    agg.push(point('http_reqs', 20, 1, { name: 'login', status: '200' }));
    agg.push(point('http_req_failed', 20, 0, { name: 'login', status: '200' }));
    agg.push(point('checks', 20, 0, { check: 'login sets a session' }));
    agg.push(point('checks', 30, 0, { check: 'some other check' }));
    const out = agg.finish();
    expect(out.errorKinds).toEqual({ connection_refused: 1, timeout: 1, no_session: 1 });
    expect(out.totals).toEqual({ requests: 3, errors: 3, dropped: 0 });
    expect(out.statusCodes).toEqual({ '200': 1 });
    expect(out.endpoints.login.errors).toBe(1);
  });

  it('skips blank lines and metric declarations, and counts lines that are not samples', () => {
    const agg = new K6JsonOutputAggregator({ stages: [{ durationS: 1, targetRate: 1 }] });
    agg.push('');
    agg.push('{"type":"Metric","data":{"name":"http_reqs","type":"counter"},"metric":"http_reqs"}');
    agg.push('not json at all');
    agg.push('{"metric":"http_reqs","type":"Point","data":{"time":"yesterday","value":1}}');
    agg.push('{"metric":"http_reqs","type":"Point","data":{"time":"2026-01-01T00:00:00Z","value":1,"tags":{"name":"read"}');
    agg.push(point('http_req_waiting', 0, 3));
    const out = agg.finish();
    expect(out.lines).toBe(6);
    expect(out.malformed).toBe(3);
    expect(out.totals.requests).toBe(0);
    expect(out.series).toEqual([]);
  });
});
