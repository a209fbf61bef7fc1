import { describe, expect, it } from 'vitest';
import type { LoadResults } from '../../reports/schema.ts';
import { capacityMarkdown, stepOf, type CapacityJson } from './run.ts';

function load(over: Partial<LoadResults['totals']> = {}, extra: Partial<LoadResults> = {}): LoadResults {
  const totals = { requests: 1000, ok: 990, errors: 10, dropped: 0, throughputRps: 100, errorRate: 0.01, ...over };
  const latency = { p50: 3, p90: 9, p95: 12, p99: 40, p999: 90, max: 120, mean: 5 };
  return {
    driver: 'embedded',
    workload: 'mixed',
    stages: [{ durationS: 0, targetRate: 100 }, { durationS: 10, targetRate: 100 }],
    durationS: 10,
    totals,
    latencyMs: latency,
    endpoints: { create: { requests: 40, errors: 6, latencyMs: latency }, read: { requests: 960, errors: 4, latencyMs: latency } },
    statusCodes: { '200': 990, '409': 6, '500': 4 },
    errorKinds: {},
    series: [],
    generator: { saturated: false, maxLagMs: 2, peakRssMb: 80 },
    ...extra,
  };
}

describe('stepOf', () => {
  it('takes the measured figures, counting drops and 409s as errors', () => {
    const step = stepOf(100, load({ dropped: 10 }), true);
    expect(step).toEqual({
      plannedRate: 100,
      achievedRate: 100,
      latencyMs: { p50: 3, p90: 9, p95: 12, p99: 40, p999: 90 },
      // (10 errors, the six 409s among them + 10 dropped) / (1000 completed + 10 dropped): each
      // load signs up with its own salt, so a 409 is the system's answer, not the search's doing
      errorRate: 20 / 1010,
      dropped: 10,
      generatorLimited: false,
      generatorSaturated: false,
      sizesEnforced: true,
    });
  });

  it('a step where nothing completed measured nothing: null, never 0', () => {
    const empty = { p50: 0, p90: 0, p95: 0, p99: 0, p999: 0, max: 0, mean: 0 };
    const step = stepOf(100, load({ requests: 0, ok: 0, errors: 0, dropped: 0 }, { latencyMs: empty, durationS: 0, statusCodes: {}, endpoints: {} }), true);
    expect(step.latencyMs).toEqual({});
    expect(step.errorRate).toBeNull();
    expect(step.achievedRate).toBeNull();
  });

  it('carries the generator\'s saturation and limit and the sizes\' enforcement', () => {
    const step = stepOf(100, load({}, { generator: { saturated: true, maxLagMs: 900, peakRssMb: 80 } }), false);
    expect(step.generatorSaturated).toBe(true);
    expect(step.generatorLimited).toBe(false);
    expect(step.sizesEnforced).toBe(false);
    const limited = stepOf(100, load({}, { generator: { saturated: true, limited: true, maxLagMs: 900, peakRssMb: 80 } }), true);
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
      steps: [
        { index: 1, phase: 'grow', rate: 800, verdict: 'inconclusive', reason: 'the generator was the limit', atS: 0, durationS: 27, achievedRate: 610, latencyMs: { p50: 3, p99: 900 }, errorRate: null, requests: 1, errors: 0, dropped: 0, generatorLimited: true, generatorSaturated: true, sizesEnforced: true },
      ],
      ...over,
    },
    timings: {},
  });

  it('states the answer with its margin, and marks inconclusive steps with their reason', () => {
    const md = capacityMarkdown(json({}));
    expect(md).toContain('**700 req/s** sustained (+25 req/s margin: the limit lies below 725 req/s), confirmed by a 60 s hold');
    expect(md).toContain('| 1 | grow | 800 | 610 | 3.0 | 900.0 | n/a | INCONCLUSIVE (the generator was the limit) |');
  });

  it('never states a rate it did not find', () => {
    expect(capacityMarkdown(json({ outcome: 'none', sustainableRate: null, marginRate: null }))).toContain('**none**');
    expect(capacityMarkdown(json({ outcome: 'inconclusive', stoppedBy: 'sizes', sustainableRate: null }))).toContain('**inconclusive**: no step could judge the system (sizes)');
    expect(capacityMarkdown(json({ outcome: 'at-least', stoppedBy: 'generator', confirmed: false }))).toContain('**at least 700 req/s**: the search stopped (generator)');
  });
});
