import { describe, expect, it } from 'vitest';
import type { SeriesPoint } from '../reports/schema.ts';
import { healthySecond, periodStats, verdict, type Hypothesis } from './verdict.ts';

const H: Hypothesis = { text: 'h', maxErrorRate: 0.01, maxP99Ms: 500 };

/** A series of `n` seconds at 100 req/s, p99 20 ms, with overrides per second. */
function series(n: number, over: Record<number, Partial<SeriesPoint>> = {}): SeriesPoint[] {
  return Array.from({ length: n }, (_, t) => ({ t, requests: 100, errors: 0, dropped: 0, targetRate: 100, p50: 5, p95: 10, p99: 20, ...over[t] }));
}

const outage = (from: number, to: number, p: Partial<SeriesPoint>) => Object.fromEntries(Array.from({ length: to - from }, (_, i) => [from + i, p]));

describe('periodStats', () => {
  it('weights p99 by requests and counts dropped as failed', () => {
    const s = periodStats([
      { t: 0, requests: 90, errors: 0, dropped: 10, targetRate: 100, p50: 1, p95: 1, p99: 10 },
      { t: 1, requests: 10, errors: 5, dropped: 0, targetRate: 100, p50: 1, p95: 1, p99: 110 },
    ]);
    expect(s.failRate).toBeCloseTo(15 / 110);
    expect(s.p99).toBeCloseTo((90 * 10 + 10 * 110) / 100);
    expect(s.worstP99).toBe(110);
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
    expect(r.latencyBeforeP99).toBe(20);
    expect(r.latencyDuringP99).toBeCloseTo((10 * 900 + 5 * 20) / 15, 3);
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
      writes: { acknowledged: 10, present: 8, lost: 2, unacknowledgedPresent: 1, lostIds: [3, 4], indeterminate: 0, undecided: 0, undecidedIds: [], writes: 12 },
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
