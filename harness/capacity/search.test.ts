import { describe, expect, it } from 'vitest';
import { seededRandom, type Random } from '../load/random.ts';
import { parseObjective } from './objective.ts';
import { kneeOf, searchCapacity, type SearchOptions, type Step, type StepPhase, type StepRecord } from './search.ts';

const objective = parseObjective('p99<250ms,errors<1%');

/** A virtual clock the simulated measurements advance. */
function virtualClock() {
  let t = 0;
  return { now: () => t, advance: (ms: number) => (t += ms) };
}

interface Sim {
  /** the rate above which the system fails the objective (known, for the assertions) */
  capacity: number;
  /** the highest rate the generator can drive; above it, the step is saturated */
  generatorLimit?: number;
  /** in a confirmation hold the system sustains only this much (a slow leak, a filling queue) */
  confirmCapacity?: number;
  /** ms one step (and one confirmation) takes */
  stepMs?: number;
  confirmMs?: number;
  sizesEnforced?: boolean;
  /** above this rate the step reports no latency (say, no response came back) */
  unmeasuredAbove?: number;
}

/**
 * A system with a hard capacity and noisy latency: below capacity p99 stays under 110 ms whatever
 * the noise; past it a queue builds (p99 in seconds) and the overflow is dropped. A saturated
 * generator makes the step look just as bad: exactly the case that must not count as a fail.
 */
function hardSystem(sim: Sim, rng: Random, clock: ReturnType<typeof virtualClock>) {
  const calls: Array<{ rate: number; phase: StepPhase }> = [];
  const measure = async (rate: number, phase: StepPhase): Promise<Step> => {
    calls.push({ rate, phase });
    clock.advance(phase === 'confirm' ? (sim.confirmMs ?? 60_000) : (sim.stepMs ?? 20_000));
    const noise = 1 + (rng.next() - 0.5) * 0.2; // +-10%
    const capacity = phase === 'confirm' ? (sim.confirmCapacity ?? sim.capacity) : sim.capacity;
    const driven = Math.min(rate, sim.generatorLimit ?? Infinity);
    const saturated = rate > (sim.generatorLimit ?? Infinity);
    const over = driven > capacity;
    const served = Math.min(driven, capacity);
    const p99 = over ? 2000 * noise : (20 + 80 * (driven / capacity) ** 4) * noise;
    const unmeasured = rate > (sim.unmeasuredAbove ?? Infinity);
    return {
      plannedRate: rate,
      achievedRate: served,
      latencyMs: { p50: unmeasured ? null : p99 / 4, p99: unmeasured ? null : p99 },
      errorRate: (rate - served) / rate,
      dropped: Math.round((rate - served) * 20),
      generatorLimited: saturated,
      generatorSaturated: saturated,
      sizesEnforced: sim.sizesEnforced ?? true,
    };
  };
  return { measure, calls };
}

function options(sim: Sim, seed: number, extra: Partial<SearchOptions> = {}) {
  const clock = virtualClock();
  const system = hardSystem(sim, seededRandom(seed), clock);
  const opts: SearchOptions = {
    objective,
    measure: system.measure,
    startRate: 100,
    resolution: 0.05,
    maxTimeMs: 3_600_000,
    now: clock.now,
    stepCostMs: (phase) => (phase === 'confirm' ? (sim.confirmMs ?? 60_000) : (sim.stepMs ?? 20_000)),
    ...extra,
  };
  return { opts, clock, calls: system.calls };
}

const saturatedRates = (steps: StepRecord[]) => steps.filter((s) => s.step.generatorLimited).map((s) => s.rate);

describe('searchCapacity on a simulated system with a known capacity', () => {
  it.each([
    [1_234, 1],
    [3_000, 2],
    [777, 3],
    [10_500, 4],
    [150, 5],
  ])('finds a capacity of %d req/s within the resolution (seed %d)', async (capacity, seed) => {
    const { opts } = options({ capacity }, seed);
    const result = await searchCapacity(opts);
    expect(result.outcome).toBe('found');
    expect(result.stoppedBy).toBe('resolved');
    expect(result.confirmed).toBe(true);
    const found = result.sustainableRate!;
    expect(found).toBeLessThanOrEqual(capacity);
    expect(capacity - found).toBeLessThanOrEqual(0.05 * found + 1); // + 1: rates are whole req/s
    // the stated margin brackets the true capacity
    expect(found + result.marginRate!).toBeGreaterThan(capacity);
    expect(result.marginRate!).toBeLessThanOrEqual(0.05 * found + 1);
    expect(result.firstFailRate).toBeGreaterThan(capacity);
    // the phases come in order: grow, then bisect, then one confirmation
    const phases = result.steps.map((s) => s.phase);
    expect(phases[0]).toBe('grow');
    expect(phases.at(-1)).toBe('confirm');
    expect(phases.filter((p) => p === 'confirm')).toHaveLength(1);
    expect(result.curve.map((p) => p.rate)).toEqual([...result.curve.map((p) => p.rate)].sort((a, b) => a - b));
  });

  it('finds where a smoothly queueing system crosses the objective, through latency noise', async () => {
    // p99 = 10 ms / (1 - rate/C), times +-5% noise: the objective p99<250ms holds up to
    // C(1 - 10/250) = 0.96 C, give or take the noise (0.958 C to 0.962 C).
    const C = 4_000;
    const clock = virtualClock();
    const rng = seededRandom(31);
    const measure = async (rate: number): Promise<Step> => {
      clock.advance(20_000);
      const u = Math.min(rate / C, 0.999);
      const p99 = (10 / (1 - u)) * (1 + (rng.next() - 0.5) * 0.1);
      return { plannedRate: rate, achievedRate: rate, latencyMs: { p50: p99 / 5, p99 }, errorRate: 0, dropped: 0, generatorLimited: false, generatorSaturated: false, sizesEnforced: true };
    };
    const result = await searchCapacity({ objective, measure, startRate: 250, resolution: 0.02, maxTimeMs: 3_600_000, now: clock.now });
    expect(result.outcome).toBe('found');
    const found = result.sustainableRate!;
    expect(found).toBeLessThanOrEqual(0.962 * C);
    expect(found).toBeGreaterThanOrEqual((0.958 * C) / 1.02 - 1);
    // the knee is a measured point of the curve (it may lie past the objective: it describes the
    // curve's shape, not the objective)
    expect(result.steps.map((s) => s.rate)).toContain(result.knee!.rate);
  });

  it('reports every step as the curve, each with p50, p99 and errors', async () => {
    const { opts } = options({ capacity: 2_000 }, 7);
    const result = await searchCapacity(opts);
    expect(result.curve).toHaveLength(result.steps.length);
    for (const point of result.curve) {
      expect(point.p50Ms).not.toBeNull();
      expect(point.p99Ms).not.toBeNull();
      expect(point.errorRate).not.toBeNull();
    }
    expect(result.steps.map((s) => s.index)).toEqual(result.steps.map((_, i) => i + 1));
  });

  it('shrinks when the start rate is already past the capacity', async () => {
    const { opts } = options({ capacity: 900 }, 8, { startRate: 20_000 });
    const result = await searchCapacity(opts);
    expect(result.steps[1]!.phase).toBe('shrink');
    expect(result.outcome).toBe('found');
    expect(result.sustainableRate!).toBeLessThanOrEqual(900);
    expect(900 - result.sustainableRate!).toBeLessThanOrEqual(0.05 * result.sustainableRate! + 1);
  });

  it('gives the same steps for the same seed', async () => {
    const a = await searchCapacity(options({ capacity: 1_500 }, 42).opts);
    const b = await searchCapacity(options({ capacity: 1_500 }, 42).opts);
    expect(a.steps.map((s) => [s.rate, s.step.latencyMs.p99])).toEqual(b.steps.map((s) => [s.rate, s.step.latencyMs.p99]));
  });

  it('a failing confirmation steps down and confirms again', async () => {
    const { opts, calls } = options({ capacity: 2_000, confirmCapacity: 1_850 }, 9, { maxConfirmations: 5 });
    const result = await searchCapacity(opts);
    const confirms = calls.filter((c) => c.phase === 'confirm');
    expect(confirms.length).toBeGreaterThan(1);
    expect(confirms.map((c) => c.rate)).toEqual([...confirms.map((c) => c.rate)].sort((a, b) => b - a));
    expect(result.confirmed).toBe(true);
    expect(result.outcome).toBe('found');
    expect(result.sustainableRate!).toBeLessThanOrEqual(1_850);
    expect(result.sustainableRate!).toBe(confirms.at(-1)!.rate);
    // the margin now runs to the confirmation that failed
    expect(result.sustainableRate! + result.marginRate!).toBe(confirms.at(-2)!.rate);
    expect(result.notes.some((n) => /confirmation at .* failed/.test(n))).toBe(true);
  });

  it('reports no sustainable rate when every confirmation fails', async () => {
    const { opts } = options({ capacity: 2_000, confirmCapacity: 1_000 }, 10, { maxConfirmations: 2 });
    const result = await searchCapacity(opts);
    expect(result.outcome).toBe('unconfirmed');
    expect(result.sustainableRate).toBeNull();
    expect(result.confirmed).toBe(false);
    expect(result.steps.filter((s) => s.phase === 'confirm')).toHaveLength(2);
  });

  it('reports "none" when the objective fails even at the lowest rate', async () => {
    const { opts } = options({ capacity: 3 }, 11, { startRate: 40, minRate: 5 });
    const result = await searchCapacity(opts);
    expect(result.outcome).toBe('none');
    expect(result.stoppedBy).toBe('min-rate');
    expect(result.sustainableRate).toBeNull();
    expect(result.steps.map((s) => s.rate)).toEqual([40, 20, 10, 5]);
  });
});

describe('searchCapacity never reports a saturated step as the system', () => {
  it('stops below the generator limit and says the system was not the limit', async () => {
    // the system could take 5,000 req/s; the generator tops out at 1,300
    const { opts } = options({ capacity: 5_000, generatorLimit: 1_300 }, 12);
    const result = await searchCapacity(opts);
    expect(result.outcome).toBe('at-least');
    expect(result.stoppedBy).toBe('generator');
    expect(result.firstFailRate).toBeNull(); // the saturated steps looked terrible, yet failed nothing
    expect(result.marginRate).toBeNull();
    const saturated = saturatedRates(result.steps);
    expect(saturated.length).toBeGreaterThan(0);
    for (const s of result.steps.filter((s) => s.step.generatorLimited)) {
      expect(s.verdict).toBe('inconclusive');
      expect(s.reason).toBe('the generator was the limit');
    }
    expect(saturated).not.toContain(result.sustainableRate);
    expect(result.sustainableRate!).toBeLessThanOrEqual(1_300);
    // it continued on firm ground: bisected up to the generator's limit
    expect(1_300 - result.sustainableRate!).toBeLessThanOrEqual(0.05 * result.sustainableRate! + 1);
    expect(result.notes.join('\n')).toMatch(/generator could not drive .* req\/s: the system's limit lies above/);
  });

  it('still finds a capacity that lies below the generator limit', async () => {
    const { opts } = options({ capacity: 1_000, generatorLimit: 1_100 }, 13);
    const result = await searchCapacity(opts);
    expect(result.outcome).toBe('found');
    expect(result.stoppedBy).toBe('resolved');
    expect(result.sustainableRate!).toBeLessThanOrEqual(1_000);
    expect(saturatedRates(result.steps)).not.toContain(result.sustainableRate);
  });

  it('a confirmation that fails below the generator limit makes the system the limit', async () => {
    const { opts } = options({ capacity: 5_000, generatorLimit: 1_300, confirmCapacity: 1_200 }, 23);
    const result = await searchCapacity(opts);
    expect(result.outcome).toBe('found');
    expect(result.stoppedBy).toBe('resolved');
    expect(result.confirmed).toBe(true);
    expect(result.sustainableRate!).toBeLessThanOrEqual(1_200);
    expect(result.firstFailRate!).toBeGreaterThan(1_200);
    expect(result.firstFailRate!).toBeLessThanOrEqual(1_300);
  });

  it('a generator saturated at the start rate shrinks to firm ground', async () => {
    const { opts } = options({ capacity: 5_000, generatorLimit: 700 }, 14, { startRate: 1_000 });
    const result = await searchCapacity(opts);
    expect(result.steps[0]!.verdict).toBe('inconclusive');
    expect(result.outcome).toBe('at-least');
    expect(result.sustainableRate!).toBeLessThanOrEqual(700);
  });

  it('stops at the first step when host sizes are not enforced', async () => {
    const { opts } = options({ capacity: 1_000, sizesEnforced: false }, 15);
    const result = await searchCapacity(opts);
    expect(result.steps).toHaveLength(1);
    expect(result.outcome).toBe('inconclusive');
    expect(result.stoppedBy).toBe('sizes');
    expect(result.sustainableRate).toBeNull();
    expect(result.steps[0]!.verdict).toBe('inconclusive');
    expect(result.notes.join('\n')).toMatch(/host sizes were not enforced/);
  });

  it('an unmeasured p99 is a ceiling, not a pass', async () => {
    const { opts } = options({ capacity: 5_000, unmeasuredAbove: 900 }, 16);
    const result = await searchCapacity(opts);
    expect(result.outcome).toBe('at-least');
    expect(result.stoppedBy).toBe('unmeasured');
    expect(result.sustainableRate!).toBeLessThanOrEqual(900);
    for (const s of result.steps.filter((s) => s.rate > 900)) expect(s.verdict).toBe('inconclusive');
  });
});

describe('searchCapacity budgets', () => {
  it('respects the time budget: never starts a step it cannot finish', async () => {
    const { opts, clock } = options({ capacity: 50_000 }, 17, { maxTimeMs: 130_000 });
    const result = await searchCapacity(opts);
    expect(result.stoppedBy).toBe('max-time');
    expect(clock.now()).toBeLessThanOrEqual(130_000);
    expect(result.elapsedMs).toBeLessThanOrEqual(130_000);
    expect(result.steps).toHaveLength(6); // 6 steps of 20 s fit in 130 s, a 7th would not
    expect(result.outcome).toBe('at-least');
    expect(result.notes.join('\n')).toMatch(/time budget/);
  });

  it('without a step cost estimate it stops at the first step that starts past the budget', async () => {
    const { opts, clock } = options({ capacity: 50_000 }, 18, { maxTimeMs: 50_000, stepCostMs: undefined });
    const result = await searchCapacity(opts);
    expect(result.stoppedBy).toBe('max-time');
    expect(result.steps).toHaveLength(3); // started at 0, 20 and 40 s
    expect(clock.now()).toBe(60_000);
  });

  it('respects the step budget', async () => {
    const { opts } = options({ capacity: 1_234 }, 19, { maxSteps: 5 });
    const result = await searchCapacity(opts);
    expect(result.steps).toHaveLength(5);
    expect(result.stoppedBy).toBe('max-steps');
    expect(result.confirmed).toBe(false);
    // bracketed but not narrowed: the margin says how wide the bracket still is
    expect(result.outcome).toBe('found');
    expect(result.sustainableRate! + result.marginRate!).toBe(result.firstFailRate);
  });

  it('stops at the highest rate allowed', async () => {
    const { opts } = options({ capacity: 50_000 }, 20, { maxRate: 1_000 });
    const result = await searchCapacity(opts);
    expect(result.stoppedBy).toBe('max-rate');
    expect(result.outcome).toBe('at-least');
    expect(result.sustainableRate).toBe(1_000);
  });

  it('calls onStep for every step, live', async () => {
    const seen: number[] = [];
    const { opts } = options({ capacity: 800 }, 21, { onStep: (r) => seen.push(r.index) });
    const result = await searchCapacity(opts);
    expect(seen).toEqual(result.steps.map((s) => s.index));
  });

  it('rejects a nonsensical configuration', async () => {
    const { opts } = options({ capacity: 800 }, 22);
    await expect(searchCapacity({ ...opts, growth: 1 })).rejects.toThrow(/growth/);
    await expect(searchCapacity({ ...opts, resolution: 0 })).rejects.toThrow(/resolution/);
    await expect(searchCapacity({ ...opts, startRate: 2e6 })).rejects.toThrow(/startRate/);
  });
});

describe('searchCapacity on a generator behind its schedule with its in-flight cap full', () => {
  // generator.saturated without generator.limited: the system did not answer in time, so the
  // in-flight cap filled and the schedule fell behind. A violation is the system's; a pass is not.
  function behind(capacity: number, behindAbove: number) {
    const clock = virtualClock();
    const measure = async (rate: number, phase: StepPhase): Promise<Step> => {
      clock.advance(phase === 'confirm' ? 60_000 : 20_000);
      const over = rate > capacity;
      return {
        plannedRate: rate,
        achievedRate: Math.min(rate, capacity),
        latencyMs: { p50: over ? 500 : 5, p99: over ? 3_000 : 50 },
        errorRate: over ? (rate - capacity) / rate : 0,
        dropped: 0,
        generatorLimited: false,
        generatorSaturated: rate > behindAbove,
        sizesEnforced: true,
      };
    };
    return { objective, measure, startRate: 100, resolution: 0.05, maxTimeMs: 3_600_000, now: clock.now, stepCostMs: () => 20_000 } satisfies SearchOptions;
  }

  it('a measured violation behind schedule is a firm fail of the system', async () => {
    const result = await searchCapacity(behind(1_000, 1_000));
    expect(result.outcome).toBe('found');
    expect(result.stoppedBy).toBe('resolved');
    expect(result.firstFailRate!).toBeGreaterThan(1_000);
    for (const s of result.steps.filter((s) => s.step.generatorSaturated)) expect(s.verdict).toBe('fail');
  });

  it('a pass behind schedule is inconclusive, never the sustainable rate', async () => {
    const result = await searchCapacity(behind(5_000, 1_500));
    const behindSteps = result.steps.filter((s) => s.step.generatorSaturated && s.rate <= 5_000);
    expect(behindSteps.length).toBeGreaterThan(0);
    for (const s of behindSteps) expect(s.verdict).toBe('inconclusive');
    expect(result.sustainableRate!).toBeLessThanOrEqual(1_500);
    expect(result.stoppedBy).toBe('generator');
  });
});

describe('kneeOf', () => {
  const rec = (rate: number, p99: number | null, extra: Partial<StepRecord> = {}): StepRecord => ({
    index: 0,
    phase: 'grow',
    rate,
    verdict: 'pass',
    reason: '',
    atMs: 0,
    durationMs: 0,
    step: { plannedRate: rate, achievedRate: rate, latencyMs: { p50: p99, p99 }, errorRate: 0, dropped: 0, generatorLimited: false, generatorSaturated: false, sizesEnforced: true },
    ...extra,
  });

  it('finds where latency starts to climb', () => {
    const knee = kneeOf([rec(100, 10), rec(200, 11), rec(400, 12), rec(800, 14), rec(1_000, 60), rec(1_200, 900)]);
    expect(knee).toEqual({ rate: 1_000, p99Ms: 60 });
  });

  it('has no knee on a straight or falling line, or with fewer than three points', () => {
    expect(kneeOf([rec(100, 10), rec(200, 20), rec(300, 30)])).toBeNull();
    expect(kneeOf([rec(100, 30), rec(200, 20), rec(300, 10)])).toBeNull();
    expect(kneeOf([rec(100, 10), rec(200, 900)])).toBeNull();
  });

  it('ignores inconclusive steps and confirmations', () => {
    const steps = [
      rec(100, 10),
      rec(200, 11),
      rec(300, 5_000, { verdict: 'inconclusive' }),
      rec(250, 1, { phase: 'confirm' }),
      rec(400, 12),
      rec(800, 900),
    ];
    expect(kneeOf(steps)).toEqual({ rate: 400, p99Ms: 12 });
  });
});
