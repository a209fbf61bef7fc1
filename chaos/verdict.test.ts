import { describe, expect, it } from 'vitest';
import type { SeriesPoint } from '../reports/schema.ts';
import { LatencyHistogram } from '../harness/load/histogram.ts';
import { healthySecond, periodStats, verdict, type Hypothesis } from './verdict.ts';

const H: Hypothesis = { text: 'h', maxErrorRate: 0.01, maxP99Ms: 500 };

/** A second's histogram as the engine encodes it: `n` values, all at p50 except the top 2% at p99. */
function hdrOf(n: number, p50: number, p99: number): string | null {
  if (n === 0) return null;
  const h = new LatencyHistogram(2);
  const top = Math.ceil(n * 0.02);
  for (let i = 0; i < n; i++) h.recordMs(i < n - top ? p50 : p99);
  return h.encode();
}

/** A series of `n` seconds at 100 req/s, p99 20 ms, with overrides per second; each second carries its histogram. */
function series(n: number, over: Record<number, Partial<SeriesPoint>> = {}): SeriesPoint[] {
  return Array.from({ length: n }, (_, t) => {
    const p: SeriesPoint = { t, requests: 100, errors: 0, dropped: 0, targetRate: 100, p50: 5, p95: 10, p99: 20, ...over[t] };
    return { ...p, hdr: hdrOf(p.requests, p.p50 ?? 0, p.p99 ?? 0) };
  });
}

/** A second holding exactly these latencies (ms). */
function second(t: number, values: number[], extra: Partial<SeriesPoint> = {}): SeriesPoint {
  const h = new LatencyHistogram(2);
  for (const v of values) h.recordMs(v);
  return { t, requests: values.length, errors: 0, dropped: 0, targetRate: 100, p50: h.percentileMs(50), p95: h.percentileMs(95), p99: h.percentileMs(99), max: h.maxMs(), hdr: values.length ? h.encode() : null, ...extra };
}

const outage = (from: number, to: number, p: Partial<SeriesPoint>) => Object.fromEntries(Array.from({ length: to - from }, (_, i) => [from + i, p]));

describe('periodStats', () => {
  it('merges the seconds\' histograms for p99 (never averages percentiles) and counts dropped as failed', () => {
    const s = periodStats([second(0, Array(90).fill(10), { dropped: 10 }), second(1, Array(10).fill(110), { errors: 5 })]);
    expect(s.failRate).toBeCloseTo(15 / 110);
    // 10 of the 100 responses took 110 ms: the window's p99 is 110 ms. A request-weighted mean of
    // the seconds' p99s would say 20 ms.
    expect(s.p99).toBeCloseTo(110, 0);
    expect(s.p99).not.toBeCloseTo((90 * 10 + 10 * 110) / 100, 0);
    expect(s.max).toBeCloseTo(110, 0);
    expect(s.worstP99).toBeCloseTo(110, 0);
  });

  it('no percentile above the max, and null (not 0) when nothing got a response', () => {
    const s = periodStats([second(0, [1, 2, 3, 1000])]);
    expect(s.p99!).toBeLessThanOrEqual(s.max!);
    expect(s.max).toBe(1000);
    const none = periodStats([{ t: 0, requests: 50, errors: 50, dropped: 0, targetRate: 50, p50: null, p95: null, p99: null, max: null, hdr: null }]);
    expect(none.p99).toBeNull();
    expect(none.max).toBeNull();
    expect(none.worstP99).toBeNull();
    expect(periodStats([]).p99).toBeNull();
  });

  it('refuses to average when a second has no histogram to merge (older results): null', () => {
    expect(periodStats([{ t: 0, requests: 10, errors: 0, dropped: 0, targetRate: 10, p50: 1, p95: 1, p99: 1 }]).p99).toBeNull();
  });
  it('a second with load due and nothing completed is not healthy (a hang errs nothing)', () => {
    expect(healthySecond({ t: 0, requests: 0, errors: 0, dropped: 0, targetRate: 100, p50: 0, p95: 0, p99: 0 }, H)).toBe(false);
    expect(healthySecond({ t: 0, requests: 0, errors: 0, dropped: 0, targetRate: 0, p50: 0, p95: 0, p99: 0 }, H)).toBe(true);
  });
});

describe('verdict', () => {
  it('a fault nobody notices: pass, no detection, no recovery needed', () => {
    const r = verdict({ name: 'd', hypothesis: H, series: series(40), windows: [{ name: 'kill', target: 'app-2', startS: 10, endS: 30 }] });
    expect(r.pass).toBe(true);
    expect(r.timeToDetectS).toBeNull();
    expect(r.timeToRecoverS).toBeNull();
    expect(r.errorsDuringFault).toBe(0);
    expect(r.figures.impact).toBe('none');
  });

  it('a total outage: detect at the fault, recover after the restart, fail with reasons', () => {
    // fault at 10.4 s, everything fails from second 10 to second 19 (restart ready at 20.2)
    const s = series(40, outage(10, 20, { requests: 100, errors: 100, p99: 1 }));
    const r = verdict({ name: 'dead-server', hypothesis: H, series: s, windows: [{ name: 'kill', target: 'app', startS: 10.4, endS: 20.2 }] });
    expect(r.pass).toBe(false);
    expect(r.timeToDetectS).toBe(0);
    expect(r.timeToRecoverS).toBeCloseTo(20 - 10.4, 3);
    // during = [10.4, 25.2): seconds 10..25 (16 s), 10 of them failed entirely
    expect(r.errorsDuringFault).toBe(1000);
    expect(r.reasons[0]).toMatch(/^62\.5% of requests failed during the fault .*over the objective of 1\.00%/);
  });

  it('latency only: detection by p99, recovery when p99 is back, fail on latency', () => {
    const s = series(40, outage(15, 25, { p99: 900 }));
    const r = verdict({ name: 'slow', hypothesis: H, series: s, windows: [{ name: 'latency', target: 'x', startS: 15, endS: 25 }] });
    expect(r.timeToDetectS).toBe(0);
    expect(r.timeToRecoverS).toBe(10);
    expect(r.latencyBeforeP99).toBeCloseTo(20, 0);
    // during = [15, 30): 10 slow seconds (2% at 900 ms) and 5 normal ones, merged: 20 of 1,500
    // responses at 900 ms, so the window's p99 is 900 ms (an average of p99s said 606 ms)
    expect(r.latencyDuringP99).toBeCloseTo(900, -1);
    expect(r.pass).toBe(false);
    expect(r.reasons.some((x) => /p99 .* over the objective of 500 ms/.test(x))).toBe(true);
  });

  it('recovery needs sustained healthy seconds: a blip does not count', () => {
    const s = series(40, { ...outage(10, 14, { errors: 50 }), 15: { errors: 50 }, 17: { errors: 50 } });
    const r = verdict({ name: 'x', hypothesis: H, series: s, windows: [{ name: 'kill', target: 'x', startS: 10, endS: 12 }] });
    expect(r.timeToRecoverS).toBe(8); // seconds 18, 19, 20 are the first three healthy in a row
  });

  it('never recovered: fails and says so', () => {
    const s = series(30, outage(10, 30, { errors: 100 }));
    const r = verdict({ name: 'x', hypothesis: H, series: s, windows: [{ name: 'kill', target: 'x', startS: 10, endS: null }] });
    expect(r.timeToRecoverS).toBeNull();
    expect(r.reasons).toContain('did not recover: no 3 healthy seconds in a row before the load ended');
  });

  it('a health probe gives a finer time to detect', () => {
    const s = series(40, outage(12, 14, { errors: 100 }));
    const r = verdict({
      name: 'x',
      hypothesis: H,
      series: s,
      windows: [{ name: 'kill', target: 'x', startS: 10.2, endS: 11 }],
      probes: [
        { tS: 10.0, ok: true },
        { tS: 10.45, ok: true },
        { tS: 10.95, ok: false },
      ],
    });
    expect(r.figures.detectFromSeriesS).toBeCloseTo(1.8, 3);
    expect(r.figures.detectFromProbeS).toBeCloseTo(0.75, 3);
    expect(r.timeToDetectS).toBeCloseTo(0.75, 3);
  });

  it('steady state not met before the fault fails the drill', () => {
    const s = series(30, outage(0, 10, { errors: 20 }));
    const r = verdict({ name: 'x', hypothesis: H, series: s, windows: [{ name: 'kill', target: 'x', startS: 10, endS: 12 }] });
    expect(r.pass).toBe(false);
    expect(r.reasons[0]).toMatch(/steady state not met before the fault/);
  });

  it('lost writes, fault problems and an expected failure appear in the reasons', () => {
    const r = verdict({
      name: 'x',
      hypothesis: { ...H, expectedFailure: 'single point of failure' },
      series: series(30),
      windows: [{ name: 'kill', target: 'x', startS: 10, endS: 12 }],
      writes: { acknowledged: 10, present: 8, lost: 2, unacknowledgedPresent: 1, lostIds: [3, 4], indeterminate: 0, undecided: 0, undecidedIds: [], writes: 12, oldestLostAckS: 3 },
      problems: ['kill on x failed to revert: stuck'],
    });
    expect(r.pass).toBe(false);
    expect(r.writes).toEqual({ acknowledged: 10, present: 8, lost: 2, unacknowledgedPresent: 1, lostIds: [3, 4], indeterminate: 0 });
    expect(r.reasons).toContain('2 of 10 acknowledged writes lost, 1 present without acknowledgement: more than 0 allowed');
    expect(r.reasons).toContain('kill on x failed to revert: stuck');
    expect(r.reasons).toContain('expected in this phase: single point of failure');
    expect(r.figures.expected).toBe('fail');
  });

  it('no fault window at all is a failure', () => {
    const r = verdict({ name: 'x', hypothesis: H, series: series(10), windows: [] });
    expect(r.pass).toBe(false);
    expect(r.reasons).toContain('no fault was applied');
  });
});

describe('verdict with an allowed outage (a recovery-time objective)', () => {
  const RTO: Hypothesis = { ...H, outageAllowedS: 5 };
  it('an outage shorter than the allowance passes; the figures still count its errors', () => {
    const s = series(40, outage(10, 12, { errors: 100 }));
    const r = verdict({ name: 'failover', hypothesis: RTO, series: s, windows: [{ name: 'kill', target: 'p', startS: 10, endS: null }] });
    expect(r.pass).toBe(true);
    expect(r.timeToRecoverS).toBe(2);
    expect(r.errorsDuringFault).toBe(200);
    expect(r.reasons[0]).toMatch(/^0\.00% of requests failed after the allowed outage of 5 s/);
    expect(r.reasons).toContain('200 requests failed in the whole fault window (6.67%)');
  });
  it('an outage longer than the allowance fails on recovery time', () => {
    const s = series(40, outage(10, 17, { errors: 100 }));
    const r = verdict({ name: 'failover', hypothesis: RTO, series: s, windows: [{ name: 'kill', target: 'p', startS: 10, endS: null }] });
    expect(r.pass).toBe(false);
    expect(r.reasons).toContain('recovered 7.0 s after the fault started: slower than 5 s');
  });
});

describe('verdict of a drill that allows some damage', () => {
  it('detects the first failures and sees them stop, though the objective allows them', () => {
    const allowing: Hypothesis = { text: 'only static fails', maxErrorRate: 0.15, maxP99Ms: 500 };
    const s = series(40, outage(10, 16, { errors: 12 }));
    const r = verdict({ name: 'cdn-outage', hypothesis: allowing, series: s, windows: [{ name: 'kill', target: 'cdn', startS: 10, endS: 15.5 }] });
    expect(r.pass).toBe(true);
    expect(r.timeToDetectS).toBe(0);
    expect(r.timeToRecoverS).toBe(6);
    expect(r.figures.impact).toBe('observed');
  });
});

describe('verdict: only for what was measured', () => {
  const windows = [{ name: 'kill', target: 'x', startS: 10, endS: 20 }];
  it('a drill whose generator was the limit is INCONCLUSIVE, not a pass, whatever the series says', () => {
    const r = verdict({ name: 'd', hypothesis: H, series: series(40), windows, generatorLimited: true });
    expect(r.pass).toBe(false);
    expect(r.verdict).toBe('inconclusive');
    expect(r.reasons[0]).toMatch(/^INCONCLUSIVE: the load generator was the limit/);
  });
  it('a drill whose load completed nothing is INCONCLUSIVE', () => {
    const r = verdict({ name: 'd', hypothesis: H, series: series(40, outage(0, 40, { requests: 0, targetRate: 0 })), windows });
    expect(r.verdict).toBe('inconclusive');
    expect(r.reasons[0]).toBe('INCONCLUSIVE: no request completed, so nothing about the system was measured');
    expect(r.latencyDuringP99).toBeNull();
  });
  it('a window where every request failed without a response reports p99 null (n/a), never 0 ms', () => {
    const s = series(40, outage(10, 20, { errors: 100, p50: null, p95: null, p99: null }));
    for (const p of s) if (p.t >= 10 && p.t < 20) p.hdr = null;
    const r = verdict({ name: 'd', hypothesis: H, series: s, windows: [{ name: 'kill', target: 'x', startS: 10, endS: 20 }], options: { tailS: 0 } });
    expect(r.verdict).toBe('fail');
    expect(r.latencyDuringP99).toBeNull();
    expect(r.reasons.some((x) => /^p99 n\/a during the fault/.test(x))).toBe(true);
  });
  it('a normal pass says so in its verdict', () => {
    expect(verdict({ name: 'd', hypothesis: H, series: series(40), windows }).verdict).toBe('pass');
  });
});
