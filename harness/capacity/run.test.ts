import { describe, expect, it } from 'vitest';
import type { LoadResults, SeriesPoint } from '../../reports/schema.ts';
import { LatencyHistogram } from '../load/histogram.ts';
import { capacityMarkdown, capacityResults, holdWindow, loadStepOf, stepOf, type CapacityJson } from './run.ts';
import { Results } from '../../reports/schema.ts';
import { capacitySteps } from '../../reports/testing/capacity-fixture.ts';
import { resolveRunConfig } from '../run/config.ts';
import { topologyFor } from '../run/lifecycle.ts';
import { plan } from '../topology/plan.ts';
import { parseObjective } from './objective.ts';

function second(t: number, latenciesMs: number[], errors = 0, dropped = 0): SeriesPoint {
  const h = new LatencyHistogram(2);
  for (const ms of latenciesMs) h.recordMs(ms);
  return { t, requests: latenciesMs.length, errors, dropped, targetRate: 100, p50: null, p95: null, p99: null, hdr: h.count > 0 ? h.encode() : null };
}

/** A 5 s settle (slow: every request 400 ms) then a 10 s hold (2..21 ms), one drain second. */
function load(extra: Partial<LoadResults> = {}): LoadResults {
  const fast = Array.from({ length: 100 }, (_, i) => 2 + (i % 20));
  const series = [
    ...Array.from({ length: 5 }, (_, t) => second(t, Array(100).fill(400), 50)),
    ...Array.from({ length: 10 }, (_, i) => second(5 + i, fast, i === 0 ? 2 : 0, i === 9 ? 1 : 0)),
    second(15, [30]),
  ];
  const latency = { p50: 10, p90: 300, p95: 400, p99: 400, p999: 400, max: 400, mean: 100 };
  return {
    driver: 'embedded',
    workload: 'mixed',
    stages: [{ durationS: 0, targetRate: 100 }, { durationS: 15, targetRate: 100 }],
    durationS: 15,
    totals: { requests: 1501, ok: 1249, errors: 252, dropped: 1, throughputRps: 100, errorRate: 0.17 },
    latencyMs: latency,
    endpoints: {},
    statusCodes: {},
    errorKinds: {},
    series,
    generator: { saturated: false, limited: false, maxLagMs: 2, peakRssMb: 80 },
    ...extra,
  };
}

describe('holdWindow and stepOf', () => {
  it('measures the hold window only, merged exactly from its seconds\' histograms', () => {
    const w = holdWindow(load(), 5, 10);
    // the settle's 500 requests (400 ms, 250 errors) are left out; the drain second is in
    expect(w).toMatchObject({ fromS: 5, durationS: 10, requests: 1001, errors: 2, dropped: 1, unmergeable: false });
    // exact: 1,000 values 2..21 ms plus one 30 ms; the merged p99 is 21 ms (within HDR's 2 digits), max 30
    // rank 501 of 1,001 is 12 ms
    expect(w.latencyMs!.p50).toBeCloseTo(12, 0);
    expect(w.latencyMs!.p99).toBeGreaterThanOrEqual(20.8);
    expect(w.latencyMs!.p99).toBeLessThanOrEqual(21.2);
    expect(w.latencyMs!.max).toBe(30);
    const step = stepOf(100, w, true);
    expect(step).toEqual({
      plannedRate: 100,
      achievedRate: 100.1,
      latencyMs: { p50: w.latencyMs!.p50, p90: w.latencyMs!.p90, p95: w.latencyMs!.p95, p99: w.latencyMs!.p99, p999: w.latencyMs!.p999 },
      // (2 errors + 1 dropped) / (1001 completed + 1 dropped): a 409 is counted like any error,
      // each load signing up with its own salt
      errorRate: 3 / 1002,
      dropped: 1,
      generatorLimited: false,
      generatorSaturated: false,
      sizesEnforced: true,
    });
  });

  it('a window whose seconds carry no histogram has no latency: unmeasured, never a figure', () => {
    const old = load();
    old.series = old.series.map(({ hdr: _hdr, ...p }) => p);
    const w = holdWindow(old, 5, 10);
    expect(w.unmergeable).toBe(true);
    expect(w.latencyMs).toBeNull();
    expect(stepOf(100, w, true).latencyMs).toEqual({});
  });

  it('a step where nothing completed measured nothing: null, never 0', () => {
    const empty = load({ series: [second(0, []), second(1, [], 0, 100)] });
    const step = stepOf(100, holdWindow(empty, 0, 0), true);
    expect(step.latencyMs).toEqual({});
    expect(step.achievedRate).toBeNull();
    expect(step.errorRate).toBe(1); // all dropped: the system answered nothing in time
    expect(stepOf(100, holdWindow(load({ series: [] }), 0, 0), true).errorRate).toBeNull();
  });

  it('carries the generator\'s saturation and limit and the sizes\' enforcement', () => {
    const step = stepOf(100, holdWindow(load({ generator: { saturated: true, maxLagMs: 900, peakRssMb: 80 } }), 5, 10), false);
    expect(step.generatorSaturated).toBe(true);
    expect(step.generatorLimited).toBe(false);
    expect(step.sizesEnforced).toBe(false);
    const limited = stepOf(100, holdWindow(load({ generator: { saturated: true, limited: true, maxLagMs: 900, peakRssMb: 80 } }), 5, 10), true);
    expect(limited.generatorLimited).toBe(true);
  });
});

describe('capacityMarkdown', () => {
  const json = (over: Partial<CapacityJson['capacity']>): CapacityJson => ({
    kind: 'bench-capacity',
    version: 1,
    runId: 'p2-x',
    startedAt: '',
    finishedAt: '',
    phase: 2,
    title: 'Separate database',
    config: { users: 1000, workload: 'mixed', seed: 1, driver: 'embedded', runtime: 'native', objective: 'p99<250ms,errors<1%', settleS: 5, holdS: 20, confirmS: 60, maxTimeS: 900, startRate: 100, maxRate: 15000, growth: 2, resolution: 0.05, maxSteps: 30 },
    hosts: [{ name: 'app-host', cpus: 0.2, memoryMb: 512 }],
    warmup: null,
    capacity: {
      outcome: 'found',
      stoppedBy: 'resolved',
      sustainableRate: 700,
      marginRate: 25,
      firstFailRate: 725,
      confirmed: true,
      knee: null,
      notes: [],
      elapsedMs: 100_000,
      saturatedFirst: { host: 'app-host', throttledShare: 0.85, atRate: 725 },
      steps: [
        { index: 1, phase: 'grow', rate: 800, verdict: 'inconclusive', reason: 'the generator was the limit', atS: 0, durationS: 27, achievedRate: 610, latencyMs: { p50: 3, p99: 900 }, errorRate: null, requests: 1, errors: 0, dropped: 0, generatorLimited: true, generatorSaturated: true, sizesEnforced: true, throttling: { 'app-host': { throttledShare: 0.85 }, 'db-host': { throttledShare: null } } },
      ],
      ...over,
    },
    timings: {},
  });

  it('states the answer with its margin, and marks inconclusive steps with their reason', () => {
    const md = capacityMarkdown(json({}));
    expect(md).toContain('**700 req/s** sustained (+25 req/s margin: the limit lies below 725 req/s), confirmed by a 60 s hold');
    expect(md).toContain('| 1 | grow | 800 | 610 | 3.0 | 900.0 | n/a | INCONCLUSIVE (the generator was the limit) | app-host 85% |');
    expect(md).toContain('Saturated first: **app-host**, throttled at its CPU quota in 85% of its periods at 725 req/s');
  });

  it('never states a rate it did not find', () => {
    expect(capacityMarkdown(json({ outcome: 'none', sustainableRate: null, marginRate: null }))).toContain('**none**');
    expect(capacityMarkdown(json({ outcome: 'inconclusive', stoppedBy: 'sizes', sustainableRate: null }))).toContain('**inconclusive**: no step could judge the system (sizes)');
    expect(capacityMarkdown(json({ outcome: 'at-least', stoppedBy: 'generator', confirmed: false }))).toContain('**at least 700 req/s**: the search stopped (generator)');
  });
});

describe('results.json of a capacity search', () => {
  it('its load is the sustainable rate\'s drive, the confirmation first; never an inconclusive or failed step', () => {
    const steps = capacitySteps();
    expect(loadStepOf(steps, 375)).toBe(9);
    expect(loadStepOf(steps, 450)).toBe(7);
    expect(loadStepOf(steps, 600)).toBeNull();
    expect(loadStepOf(steps, null)).toBeNull();
  });

  const config = resolveRunConfig({ phase: '2', users: '10000' });
  const deployed = { plan: plan(topologyFor(config), { runId: 'p2-x', slot: 9, proxies: true, prometheus: false }) };
  const objective = parseObjective('p99<250ms,errors<1%');
  const json = (over: Partial<CapacityJson['capacity']>): CapacityJson => ({
    kind: 'bench-capacity',
    version: 1,
    runId: 'p2-x',
    startedAt: '2026-12-03T21:40:00.000Z',
    finishedAt: '2026-12-03T21:45:00.000Z',
    phase: 2,
    title: 'Separate database',
    config: { users: 10000, workload: 'mixed', seed: 1, driver: 'embedded', runtime: 'native', objective: objective.text, settleS: 2, holdS: 4, confirmS: 8, maxTimeS: 900, startRate: 100, maxRate: 15000, growth: 2, resolution: 0.2, maxSteps: 30 },
    hosts: [],
    warmup: null,
    capacity: { outcome: 'found', stoppedBy: 'resolved', sustainableRate: 375, marginRate: 75, firstFailRate: 450, confirmed: true, knee: null, notes: [], elapsedMs: 1000, steps: capacitySteps(), saturatedFirst: { host: null, reason: 'no step failed' }, ...over },
    timings: { search: 1 },
  });

  it('is valid results.json: PASS with the objective judged on the load step, the capacity section beside it', () => {
    const r = Results.parse(capacityResults(json({}), deployed, config, { 'app-host': true }, { index: 9, load: load() }, objective, 15000));
    expect(r.verdict).toBe('pass');
    expect(r.capacity!.loadStep).toBe(9);
    expect(r.capacity!.settings.objective).toBe('p99<250ms,errors<1%');
    expect(r.config.rate).toBe(375);
    expect(r.objectives.map((o) => [o.name, o.actual, o.pass])).toEqual([['p99', 56.8, true], ['errors', 0, true]]);
    expect(r.topology.hosts.find((h) => h.name === 'app-host')!.sizeEnforced).toBe(true);
  });

  it('FAIL when no rate held, INCONCLUSIVE when no step judged the system: an empty load, nothing shown as measured', () => {
    const none = Results.parse(capacityResults(json({ outcome: 'none', sustainableRate: null, marginRate: null }), deployed, config, {}, null, objective, 15000));
    expect(none.verdict).toBe('fail');
    expect(none.load.latencyMs.p99).toBeNull();
    expect(none.objectives).toEqual([]);
    const inc = Results.parse(capacityResults(json({ outcome: 'inconclusive', stoppedBy: 'generator', sustainableRate: null }), deployed, config, {}, null, objective, 15000));
    expect(inc.verdict).toBe('inconclusive');
    expect(inc.verdictReason).toContain('stopped by generator');
  });
});
