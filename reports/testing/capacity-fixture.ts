// Deterministic capacity data for tests: the search of the ladder measured on 3 December 2026 for
// phase 2 (grow 100..800, bisect to 450, a failed confirmation, 375 confirmed) with one
// inconclusive step added, a capacity section for results.json, a two-rung ladder.json and a
// scale.json with its USL fit.
// Every call returns a fresh object, so a test may mutate what it gets.
import type { CapacitySection, CapacityStep, LadderJson, Rung, ScaleJson } from '../capacity-schema.ts';
import { uslThroughput } from '../../harness/capacity/usl.ts';
import { uslOf } from '../../harness/capacity/scale-run.ts';
import { buildResults } from './fixture.ts';
import type { Results } from '../schema.ts';

type Row = [CapacityStep['phase'], number, CapacityStep['verdict'], number | null, number | null, number | null, number];

/** phase, rate, verdict, p50, p99, error rate, app-host's throttled share */
const ROWS: Row[] = [
  ['grow', 100, 'pass', 2.3, 15.0, 0, 0.03],
  ['grow', 200, 'pass', 2.2, 8.4, 0, 0.1],
  ['grow', 400, 'pass', 2.1, 39.4, 0, 0.82],
  ['grow', 800, 'fail', 806.9, 4915.2, 0.384, 1],
  ['bisect', 600, 'inconclusive', 585.7, 4980.7, 0.4164, 0.99],
  ['bisect', 500, 'fail', 897.0, 4882.4, 0.1718, 1],
  ['bisect', 450, 'pass', 4.2, 56.1, 0, 1],
  ['confirm', 450, 'fail', 15.6, 335.9, 0, 1],
  ['confirm', 375, 'pass', 3.8, 56.8, 0, 0.99],
];

export function capacitySteps(): CapacityStep[] {
  return ROWS.map(([phase, rate, verdict, p50, p99, errorRate, share], i) => ({
    index: i + 1,
    phase,
    rate,
    verdict,
    reason: verdict === 'inconclusive' ? 'the generator was the limit' : verdict === 'pass' ? 'held p99<250ms,errors<1%' : 'failed p99 (objective <250ms)',
    atS: i * 10,
    durationS: phase === 'confirm' ? 12 : 8,
    achievedRate: rate * 1.06,
    latencyMs: { p50, p99 },
    errorRate,
    requests: rate * 4,
    errors: Math.round((errorRate ?? 0) * rate * 4),
    dropped: 0,
    generatorLimited: verdict === 'inconclusive',
    generatorSaturated: verdict === 'inconclusive',
    sizesEnforced: true,
    throttling: { control: { throttledShare: 0 }, 'app-host': { throttledShare: share }, 'db-host': { throttledShare: 0 } },
  }));
}

export function capacitySection(): CapacitySection {
  return {
    kind: 'search',
    outcome: 'found',
    stoppedBy: 'resolved',
    sustainableRate: 375,
    marginRate: 75,
    firstFailRate: 450,
    confirmed: true,
    knee: { rate: 450, p99Ms: 56.1 },
    notes: ['step 5 (600 req/s) was inconclusive: the generator was the limit'],
    elapsedMs: 81_000,
    steps: capacitySteps(),
    saturatedFirst: { host: 'app-host', throttledShare: 1, atRate: 450 },
    settings: { objective: 'p99<250ms,errors<1%', settleS: 2, holdS: 4, confirmS: 8, maxTimeS: 900, startRate: 100, maxRate: 15000, growth: 2, resolution: 0.2, maxSteps: 30 },
    loadStep: 9,
  };
}

/** A run's results with a capacity section (the load is the fixture's: only its shape matters here). */
export function capacityResults(): Results {
  const r = buildResults({ fault: null });
  return { ...r, faults: [], drills: [], capacity: capacitySection() };
}

function rung(phase: number, rate: number | null, over: Partial<Rung> = {}): Rung {
  return {
    phase,
    title: phase === 2 ? 'Separate database' : 'Load balancer and stateless fleet',
    runId: `p${phase}-20261203-213237-abcd`,
    dir: `/tmp/ladder/phase-${phase}`,
    outcome: rate === null ? 'none' : 'found',
    stoppedBy: 'resolved',
    sustainableRate: rate,
    marginRate: rate === null ? null : 50,
    confirmed: rate !== null,
    lowerBound: false,
    factor: null,
    cores: phase === 2 ? 0.7 : 2.6,
    ratePerCore: rate === null ? null : Math.round((rate / (phase === 2 ? 0.7 : 2.6)) * 10) / 10,
    p99AtCommonMs: 39.4,
    sizesEnforced: true,
    searchS: 80,
    totalS: 100,
    steps: capacitySteps(),
    saturatedFirst: { host: 'app-host', throttledShare: 1, atRate: 450 },
    knee: { rate: 450, p99Ms: 56.1 },
    ...over,
  };
}

/** ladder.json of phases 2 and 3 with the given sustainable rates (factor filled in). */
export function ladderJson(rate2: number | null = 375, rate3: number | null = 700): LadderJson {
  return {
    kind: 'bench-ladder',
    version: 1,
    startedAt: '2026-12-03T21:32:33.000Z',
    finishedAt: '2026-12-03T21:35:26.000Z',
    phases: [2, 3],
    workload: 'mixed',
    users: 10000,
    objective: 'p99<250ms,errors<1%',
    quick: true,
    commonRate: 400,
    rungs: [rung(2, rate2), rung(3, rate3, { factor: rate2 !== null && rate3 !== null ? Math.round((rate3 / rate2) * 100) / 100 : null })],
    notes: [],
  };
}

/** scale.json of app-servers 1..4 (rates from λ=300, σ=0.1, κ=0.02, the fit made by scale-run), or of db-cpu (no fit). */
export function scaleJson(dimension: 'app-servers' | 'db-cpu' = 'app-servers'): ScaleJson {
  const values = dimension === 'app-servers' ? [1, 2, 3, 4] : [0.25, 0.5, 1];
  const truth = { lambda: 300, sigma: 0.1, kappa: 0.02 };
  const points = values.map((v, i) => ({
    value: v,
    runId: `p3-20261203-22000${i}-abcd`,
    outcome: 'found' as const,
    sustainableRate: Math.round(uslThroughput(truth, dimension === 'app-servers' ? v : 1 + i)),
    marginRate: 25,
    confirmed: true,
    lowerBound: i === values.length - 1,
    p99AtSustainableMs: 80 + i,
    steps: 8,
    elapsedS: 60,
    dir: `/tmp/scale/${dimension}-${v}`,
  }));
  const { usl, skipped } = uslOf(dimension, points);
  return { kind: 'bench-capacity-scale', version: 1, phase: dimension === 'app-servers' ? 3 : 2, dimension, values, objective: 'p99<250ms,errors<1%', points, usl, uslSkipped: skipped, notes: [] };
}
