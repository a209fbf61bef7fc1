// The k6 driver on what a real k6 (v2.2.0) wrote, with no k6 binary: the summary handleSummary got,
// k6's own --summary-export (an independent record of the same run), the --out json NDJSON, and the
// whole driver replaying each recorded run (its files, output and exit status) through a stand-in
// binary, for a healthy run, a run whose app server died (errors, a crossed threshold, exit 99) and
// the two execution segments of one run.
import { chmodSync, copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { LoadResults } from '../../../reports/schema.ts';
import { failedThresholds, k6SummaryToLoadResults, parseK6Summary } from './summary.ts';
import { readK6JsonOutput } from './json-output.ts';
import { runK6, K6_THRESHOLDS_FAILED } from './driver.ts';
import { k6Percentile, readSums, RECORDED_IN_REPO, RECORDED_RUNS, RECORDED_SHARED, recordedDir, recordedDurations, recordedStages, sha256, type RecordedRun } from './recorded.ts';

const dir = recordedDir();
const stages = recordedStages(dir);
const tmp = mkdtempSync(join(tmpdir(), 'bench-k6-recorded-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const json = (run: RecordedRun, file: string) => JSON.parse(readFileSync(join(dir, run, file), 'utf8')) as Record<string, unknown>;
const exitOf = (run: RecordedRun) => Number(/k6 exit (\d+)/.exec(readFileSync(join(dir, run, 'exit.txt'), 'utf8'))![1]);
const summaryOf = (run: RecordedRun) => parseK6Summary(json(run, 'summary.json'));
const resultsOf = (run: RecordedRun) => k6SummaryToLoadResults(summaryOf(run), { workload: 'mixed', stages, durationS: 20 });
/** k6's --summary-export: {metrics: {name: {count, rate, passes, fails, p(99), ...}}} */
const exported = (run: RecordedRun) => json(run, 'summary-export.json').metrics as Record<string, Record<string, number>>;

// What each recorded run is, from shared/fixtures/k6/README.md and k6's own terminal output.
const expected: Record<RecordedRun, { exit: number; requests: number; failed: number; dropped: number }> = {
  healthy: { exit: 0, requests: 2845, failed: 0, dropped: 33 },
  'dead-app-server': { exit: 99, requests: 2749, failed: 1740, dropped: 28 },
  'segments/1-of-2': { exit: 0, requests: 1423, failed: 0, dropped: 11 },
  'segments/2-of-2': { exit: 0, requests: 1436, failed: 0, dropped: 11 },
};

describe('the recorded k6 output', () => {
  it('is the in-repo copy, byte for byte as recorded (and as shared/fixtures/k6 holds it, where that is beside the repo)', () => {
    const sums = readSums(join(RECORDED_IN_REPO, 'SHA256SUMS'));
    expect(sums.size).toBeGreaterThanOrEqual(25);
    for (const [path, hex] of sums) expect(sha256(join(RECORDED_IN_REPO, path)), path).toBe(hex);
    if (existsSync(RECORDED_SHARED)) for (const [path, hex] of sums) expect(sha256(join(RECORDED_SHARED, path)), `shared ${path}`).toBe(hex);
  });

  it('a missing fixture folder is an error, not a skip', () => {
    expect(() => recordedDir({ BENCH_K6_FIXTURES: join(tmp, 'nowhere') })).toThrow(/not at .*BENCH_K6_FIXTURES/);
  });

  it('is k6 v2.2.0 with the exported stages', () => {
    expect(readFileSync(join(dir, 'README.md'), 'utf8')).toContain('k6 v2.2.0');
    expect(stages).toEqual([{ durationS: 0, targetRate: 8 }, { durationS: 3, targetRate: 150 }, { durationS: 16, targetRate: 150 }, { durationS: 1, targetRate: 8 }]);
  });
});

describe.each(RECORDED_RUNS)('k6 v2.2.0, %s', (run) => {
  const want = expected[run];

  it('handleSummary got the legacy shape (k6 v2 still hands it by default); counts, errors and dropped iterations', () => {
    const s = summaryOf(run);
    expect(s.format).toBe('legacy');
    expect(exitOf(run)).toBe(want.exit);
    const r = resultsOf(run);
    expect(LoadResults.safeParse(r).success).toBe(true);
    expect(r.totals.requests).toBe(want.requests);
    expect(r.totals.errors).toBe(want.failed);
    expect(r.totals.ok).toBe(want.requests - want.failed);
    expect(r.totals.dropped).toBe(want.dropped);
    expect(r.generator.saturated).toBe(want.dropped > 0);
    // per kind, the requests add up to the total
    expect(Object.values(r.endpoints).reduce((a, e) => a + e.requests, 0)).toBe(want.requests);
  });

  it('agrees with k6\'s own --summary-export of the same run', () => {
    const r = resultsOf(run);
    const x = exported(run);
    expect(r.totals.requests).toBe(x.http_reqs.count);
    // --summary-export counts a rate's non-zero samples as "passes": failed requests for http_req_failed
    expect(r.totals.errors).toBe(x.http_req_failed.passes);
    expect(r.totals.dropped).toBe(x.dropped_iterations?.count ?? 0);
    expect(r.latencyMs.p99).toBeCloseTo(x.http_req_duration['p(99)'], 3);
    expect(r.latencyMs.p50).toBeCloseTo(x.http_req_duration.med, 3);
    expect(r.latencyMs.max).toBeCloseTo(x.http_req_duration.max, 3);
    for (const [kind, e] of Object.entries(r.endpoints)) expect(e.requests, kind).toBe(x[`http_reqs{name:${kind}}`].count);
  });

  it('the summary\'s percentiles are k6\'s percentiles of the NDJSON samples: the two files describe the same requests', () => {
    const samples = recordedDurations(run, dir);
    const r = resultsOf(run);
    expect(samples.length).toBe(want.requests);
    for (const [p, got] of [[50, r.latencyMs.p50], [90, r.latencyMs.p90], [95, r.latencyMs.p95], [99, r.latencyMs.p99], [99.9, r.latencyMs.p999]] as const) {
      expect(got).not.toBeNull();
      expect(k6Percentile(samples, p)).toBeCloseTo(got!, 3);
    }
  });

  it('the NDJSON gives the same totals, status codes and error kinds, and a 20 s series that sums to them', async () => {
    const out = await readK6JsonOutput(join(dir, run, 'points.ndjson.gz'), { stages });
    const r = resultsOf(run);
    expect(out.malformed).toBe(0);
    expect(out.totals).toEqual({ requests: want.requests, errors: want.failed, dropped: want.dropped });
    expect(out.statusCodes).toEqual(r.statusCodes);
    expect(out.errorKinds).toEqual(r.errorKinds);
    expect(out.series.length).toBe(20);
    expect(out.series.reduce((a, p) => a + p.requests, 0)).toBe(want.requests);
    expect(out.series.reduce((a, p) => a + p.errors, 0)).toBe(want.failed);
    expect(out.series.reduce((a, p) => a + p.dropped, 0)).toBe(want.dropped);
    // the HDR histogram keeps 3 significant digits; k6 interpolates between ranks: within 1% at p99
    expect(Math.abs(out.latencyMs.p99! - r.latencyMs.p99!) / r.latencyMs.p99!).toBeLessThan(0.01);
    expect(out.series[10].targetRate).toBe(150);
  });
});

describe('what the recorded runs show', () => {
  it('healthy: every request answered 200 or 201, both thresholds held', () => {
    const r = resultsOf('healthy');
    expect(r.statusCodes).toEqual({ '200': 2732, '201': 113 });
    expect(r.errorKinds).toEqual({});
    expect(failedThresholds(summaryOf('healthy'))).toEqual([]);
    expect(r.latencyMs.p99).toBe(439.553);
  });

  it('dead app server: refused connections (k6 error 1212) and resets as the engine\'s error kinds; the error-rate threshold crossed', () => {
    const r = resultsOf('dead-app-server');
    expect(r.errorKinds).toEqual({ connection_refused: 1737, connection_reset: 3 });
    // k6's terminal said "failed 63.30%"
    expect(r.totals.errorRate).toBeCloseTo(0.633, 3);
    expect(r.statusCodes).toEqual({ '200': 960, '201': 49 });
    expect(failedThresholds(summaryOf('dead-app-server'))).toEqual(['http_req_failed rate<0.01']);
    // a refused connection takes no time: more than half the samples are 0 ms
    expect(r.latencyMs.p50).toBe(0);
  });
});

/**
 * A stand-in `k6` that replays a recorded run: writes its summary where BENCH_SUMMARY_PATH says,
 * its NDJSON where --out json= says, prints its terminal output (less its progress lines) and exits
 * with its exit status.
 */
function replayingK6(run: RecordedRun): string {
  const bin = join(tmp, `k6-${run.replace('/', '-')}`);
  const src = join(dir, run);
  writeFileSync(
    bin,
    [
      '#!/bin/sh',
      'out=""',
      'for a in "$@"; do case "$a" in json=*) out="${a#json=}";; esac; done',
      `cp '${join(src, 'summary.json')}' "$BENCH_SUMMARY_PATH"`,
      `[ -n "$out" ] && cp '${join(src, 'points.ndjson.gz')}' "$out"`,
      // without k6's progress lines: the driver dates the schedule's start from the first one it
      // sees, and a replay prints them today while the samples carry the recording's timestamps
      `grep -v '^running (' '${join(src, 'stdout.txt')}'`,
      `exit ${exitOf(run)}`,
      '',
    ].join('\n'),
  );
  chmodSync(bin, 0o755);
  return bin;
}

describe('runK6 replaying the recorded runs (exit status mapping)', () => {
  const runRecorded = async (run: RecordedRun) => {
    const work = mkdtempSync(join(tmp, 'run-'));
    const script = join(work, 'bench-phase2-mixed.js');
    copyFileSync(join(dir, 'export', 'bench-phase2-mixed.js'), script);
    return runK6({
      script,
      binary: replayingK6(run),
      targets: { api: 'http://127.1.1.1:8080', static: 'http://127.1.1.1:8080' },
      users: 10_000,
      seed: 1,
      salt: 5,
      stages,
      workload: 'mixed',
      objectives: { p99Ms: 500, maxErrorRate: 0.01 },
      prometheusRwUrl: null,
      summaryPath: join(work, 'k6-summary.json'),
      jsonOutPath: join(work, 'k6-points.json.gz'),
    });
  };

  it('healthy: exit 0, thresholds held, the series from the NDJSON', async () => {
    const got = await runRecorded('healthy');
    expect(got.exitCode).toBe(0);
    expect(got.thresholdsFailed).toBe(false);
    expect(got.failedThresholds).toEqual([]);
    expect(got.results.totals.requests).toBe(2845);
    expect(got.results.series.length).toBe(20);
    expect(got.results.series.reduce((a, p) => a + p.requests, 0)).toBe(2845);
    // no progress line: the schedule's start is the first sample's time, from the recording
    expect(new Date(got.startedAtMs).toISOString()).toMatch(/^2026-12-03T17:/);
  });

  it('dead app server: k6\'s exit 99 is thresholdsFailed (bench exit 1), with the results, not an error', async () => {
    const got = await runRecorded('dead-app-server');
    expect(got.exitCode).toBe(K6_THRESHOLDS_FAILED);
    expect(got.thresholdsFailed).toBe(true);
    expect(got.failedThresholds).toEqual(['http_req_failed rate<0.01']);
    expect(got.results.totals.errors).toBe(1740);
    expect(got.results.errorKinds).toEqual({ connection_refused: 1737, connection_reset: 3 });
    expect(got.results.series.reduce((a, p) => a + p.errors, 0)).toBe(1740);
    // the kill came about 8 s in: errors before it are none, after it most requests fail
    expect(got.results.series.slice(0, 7).reduce((a, p) => a + p.errors, 0)).toBe(0);
    expect(got.results.series.slice(10).every((p) => p.errors > p.requests / 2)).toBe(true);
  });
});
