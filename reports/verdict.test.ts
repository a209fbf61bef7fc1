import { describe, expect, it } from 'vitest';
import { failRateOf, inconclusiveReason, objectivesFor, runVerdict, staleShareOf, withAchievedScale } from './verdict.ts';
import { buildResults } from './testing/fixture.ts';
import type { LoadResults } from './schema.ts';

function load(over: Partial<LoadResults['totals']> = {}, gen: Partial<LoadResults['generator']> = {}): LoadResults {
  const l = buildResults({ fault: null }).load;
  l.totals = { ...l.totals, ...over };
  l.generator = { ...l.generator, ...gen };
  return l;
}

describe('failRateOf', () => {
  it('counts dropped requests as not served: (errors + dropped) / (requests + dropped)', () => {
    expect(failRateOf({ requests: 900, ok: 890, errors: 10, dropped: 100, throughputRps: 1, errorRate: 10 / 900 })).toBeCloseTo(110 / 1000, 12);
  });
  it('prefers the engine\'s own figure, and is null (not 0) when nothing was offered', () => {
    expect(failRateOf({ requests: 10, ok: 10, errors: 0, dropped: 0, throughputRps: 1, errorRate: 0, failRate: 0.5 })).toBe(0.5);
    expect(failRateOf({ requests: 0, ok: 0, errors: 0, dropped: 0, throughputRps: 0, errorRate: 0 })).toBeNull();
  });
});

describe('objectivesFor', () => {
  it('judges the failed share with drops, and 0 allowed is passable (<=)', () => {
    const clean = objectivesFor({ p99Ms: 500, maxErrorRate: 0 }, load({ errors: 0, dropped: 0, failRate: 0 }));
    expect(clean.find((o) => o.name === 'error-rate')).toMatchObject({ actual: 0, pass: true });
    // a 0.2% error rate among completed requests, 5% failed once the drops count: fails a 1% objective
    const dropped = objectivesFor({ p99Ms: 500, maxErrorRate: 0.01 }, load({ requests: 950, errors: 2, dropped: 50, errorRate: 2 / 950, failRate: 52 / 1000 }));
    expect(dropped.find((o) => o.name === 'error-rate')).toMatchObject({ actual: 0.052, pass: false });
    expect(dropped.find((o) => o.name === 'error-rate')!.description).toBe('failed share (errors + dropped) <= 1.00%');
  });
  it('an unmeasured p99 (no response at all) is not a pass', () => {
    const l = load();
    l.latencyMs = { p50: null, p90: null, p95: null, p99: null, p999: null, max: null, mean: null };
    expect(objectivesFor({ p99Ms: 500, maxErrorRate: 1 }, l).find((o) => o.name === 'p99-latency')).toMatchObject({ actual: null, pass: false });
  });
});

describe('runVerdict', () => {
  const pass = objectivesFor({ p99Ms: 500, maxErrorRate: 0.01 }, load({ errors: 0, dropped: 0, failRate: 0 }));

  it('PASS when every objective and drill passes', () => {
    expect(runVerdict({ load: load({ errors: 0, dropped: 0, failRate: 0 }), objectives: pass, drills: [] })).toEqual({ verdict: 'pass', reason: '' });
  });
  it('INCONCLUSIVE, never PASS, when no request completed: even with every objective passing', () => {
    const v = runVerdict({ load: load({ requests: 0, ok: 0, errors: 0, dropped: 0 }), objectives: pass.map((o) => ({ ...o, pass: true })), drills: [] });
    expect(v.verdict).toBe('inconclusive');
    expect(v.reason).toBe('no request completed: nothing about the system was measured');
    expect(inconclusiveReason(load({ requests: 0, dropped: 7 }))).toMatch(/^no request completed \(7 dropped\)/);
  });
  it('INCONCLUSIVE when the generator was the limit, whatever the objectives say', () => {
    const v = runVerdict({ load: load({}, { saturated: true, limited: true, maxLagMs: 2500 }), objectives: pass, drills: [] });
    expect(v.verdict).toBe('inconclusive');
    expect(v.reason).toMatch(/^the load generator was the limit: its schedule lag grew \(up to 2\.50 s\) while it had free in-flight slots/);
    expect(v.reason).not.toContain('\n');
  });
  it('a generator behind only because the in-flight cap was full is the system\'s failure, not inconclusive', () => {
    const v = runVerdict({ load: load({}, { saturated: true, limited: false }), objectives: pass, drills: [] });
    expect(v.verdict).toBe('pass');
  });
  it('FAIL names what failed on one line; an inconclusive drill makes the run inconclusive', () => {
    const failing = pass.map((o) => (o.name === 'error-rate' ? { ...o, actual: 0.05, pass: false } : o));
    expect(runVerdict({ load: load(), objectives: failing, drills: [] })).toEqual({ verdict: 'fail', reason: 'failed share (errors + dropped) <= 1.00%: 5%' });
    const drill = { ...buildResults().drills[0]!, pass: false, verdict: 'inconclusive' as const, reasons: ['INCONCLUSIVE: no request completed'] };
    expect(runVerdict({ load: load(), objectives: pass, drills: [drill] })).toEqual({ verdict: 'inconclusive', reason: 'drill app-server-kill: INCONCLUSIVE: no request completed' });
    expect(runVerdict({ load: load(), objectives: pass, drills: [], thresholdsFailed: true }).verdict).toBe('fail');
  });
});

describe('withAchievedScale', () => {
  it('records completed over modelled beside the planned factor, ramps counted alike on both sides', () => {
    const r = buildResults({ fault: null });
    const m = { ...r.trafficModel, peakRps: 1000, scaleFactor: 0.4, targetRps: 400 };
    // a 10 s ramp to 400 req/s then 50 s at it: 2,000 + 20,000 = 22,000 due, the model's 55,000
    const l = load();
    l.stages = [{ durationS: 10, targetRate: 400 }, { durationS: 50, targetRate: 400 }];
    l.durationS = 60;
    l.totals.requests = 22_000;
    expect(withAchievedScale(m, l).achievedScaleFactor).toBeCloseTo(0.4, 6);
    l.totals.requests = 11_000;
    expect(withAchievedScale(m, l).achievedScaleFactor).toBeCloseTo(0.2, 6);
    // an interrupted load is judged on the time it ran: 20 s = 2,000 + 4,000 due
    l.durationS = 20;
    l.totals.requests = 6_000;
    expect(withAchievedScale(m, l).achievedScaleFactor).toBeCloseTo(0.4, 6);
    expect(withAchievedScale(m, load({ requests: 0, throughputRps: 0 })).achievedScaleFactor).toBeNull();
  });
});

describe('stale keep-alive connections', () => {
  const pass = objectivesFor({ p99Ms: 500, maxErrorRate: 0.01 }, load({ errors: 0, dropped: 0, failRate: 0 }));
  it('are the generator\'s, not the system\'s: above 1% of sent the run is INCONCLUSIVE with that reason', () => {
    // 11 of 1,000 sent (989 completed + 11 stale): 1.1%
    const v = runVerdict({ load: load({ requests: 989, ok: 989, errors: 0, dropped: 0, errorRate: 0, failRate: 0, staleKeepalive: 11 }), objectives: pass, drills: [] });
    expect(v.verdict).toBe('inconclusive');
    expect(v.reason).toMatch(/^11 requests \(1\.1% of sent, above 1%\) went out on connections the server had already closed \(stale_keepalive\)/);
    expect(v.reason).not.toContain('\n');
  });
  it('at or below 1% of sent they neither fail nor void a run, and unmeasured (k6: null) is no reason', () => {
    expect(inconclusiveReason(load({ requests: 990, ok: 990, errors: 0, dropped: 0, errorRate: 0, failRate: 0, staleKeepalive: 10 }))).toBeNull();
    expect(runVerdict({ load: load({ errors: 0, dropped: 0, failRate: 0, staleKeepalive: 10 }), objectives: pass, drills: [] }).verdict).toBe('pass');
    expect(inconclusiveReason(load({ staleKeepalive: null }))).toBeNull();
    expect(staleShareOf({ requests: 0, ok: 0, errors: 0, dropped: 0, throughputRps: 0, errorRate: 0, staleKeepalive: 0 })).toBeNull();
    expect(staleShareOf({ requests: 99, ok: 99, errors: 0, dropped: 0, throughputRps: 0, errorRate: 0, staleKeepalive: 1 })).toBeCloseTo(0.01, 12);
  });
});
