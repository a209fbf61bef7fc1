// The capacity search as pure logic: which arrival rate to try next, given what the earlier steps
// showed. Measuring a step (deploy, drive, settle, read the histograms) is injected as `measure`,
// and time as `now`, so the whole search runs in unit tests against a simulated system.
//
// Grow geometrically until the objective fails, bisect between the last pass and the first fail
// down to the resolution, then confirm by holding the found rate; a failing confirmation steps down
// and confirms again. A step whose figures do not describe the system (the generator was the limit,
// host sizes were not enforced, a figure went unmeasured) is INCONCLUSIVE: it is never counted as
// a pass or a fail of the system, and the search says so.
import { evaluateObjective, type Objective, type Percentile, type Verdict } from './objective.ts';

/** What one step measured. Rates are requests per second; null = not measured (never 0). */
export interface Step {
  /** the arrival rate the step was asked to offer */
  plannedRate: number;
  /** the rate the step actually completed requests at */
  achievedRate: number | null;
  /** latency percentiles in ms (p50 and p99 at least, when measured) */
  latencyMs: Partial<Record<Percentile, number | null>>;
  /** failed + dropped over planned requests, 0..1 */
  errorRate: number | null;
  /** requests the generator planned but never sent (in-flight cap, late timers) */
  dropped: number;
  /**
   * the generator, not the system, was the limit (generator.limited: its schedule lag grew while
   * it had free in-flight slots): its figures say nothing of the system, pass or fail
   */
  generatorLimited: boolean;
  /**
   * the generator fell behind its schedule (generator.saturated), e.g. with its in-flight cap full:
   * the figures understate the offered load, so a pass cannot be trusted; a measured violation
   * still fails the step (drops at the cap are the system's failure)
   */
  generatorSaturated: boolean;
  /** every host ran under the size it was given (cgroup quota or container limit) */
  sizesEnforced: boolean;
}

/** Why a step was taken. */
export type StepPhase = 'grow' | 'shrink' | 'bisect' | 'confirm';

/** A step as the search judged it. */
export interface StepRecord {
  /** 1-based, in the order the steps ran */
  index: number;
  phase: StepPhase;
  rate: number;
  step: Step;
  /** the system's verdict: inconclusive when the step's figures cannot judge the system */
  verdict: Verdict;
  reason: string;
  /** ms from the start of the search to the start of this step, and the step's own duration */
  atMs: number;
  durationMs: number;
}

/** Why the search stopped. */
export type StopReason =
  | 'resolved' // bracketed to the resolution (and confirmed, or confirmations ran out)
  | 'generator' // the generator could not drive a higher rate: the system was not the limit
  | 'sizes' // host sizes were not enforced: no step can judge the system
  | 'unmeasured' // figures the objective needs were not measured at the lowest rate tried
  | 'max-rate'
  | 'min-rate'
  | 'max-steps'
  | 'max-time';

/**
 * found: a firm fail above a pass (margin = the gap); at-least: the system passed every firm step,
 * the limit lies higher; unconfirmed: every confirmation failed; none: the objective failed even at
 * the lowest rate tried; inconclusive: no step judged the system at all.
 */
export type Outcome = 'found' | 'at-least' | 'unconfirmed' | 'none' | 'inconclusive';

/** One point of the rate-vs-latency curve. */
export interface CurvePoint {
  rate: number;
  phase: StepPhase;
  achievedRate: number | null;
  p50Ms: number | null;
  p99Ms: number | null;
  errorRate: number | null;
  verdict: Verdict;
}

/** Where latency starts to climb: the firm step farthest below the chord of the rate-p99 curve. */
export interface Knee {
  rate: number;
  p99Ms: number;
}

export interface CapacityResult {
  outcome: Outcome;
  stoppedBy: StopReason;
  /** the highest rate that held the objective (held for the confirmation hold when `confirmed`) */
  sustainableRate: number | null;
  /** the limit lies within [sustainableRate, sustainableRate + marginRate]; null when not bracketed */
  marginRate: number | null;
  /** the lowest rate at which the objective firmly failed */
  firstFailRate: number | null;
  confirmed: boolean;
  /** every step, in order: the curve with its inconclusive points marked */
  steps: StepRecord[];
  curve: CurvePoint[];
  knee: Knee | null;
  /** what the search wants the reader to know: inconclusive steps, budgets hit */
  notes: string[];
  elapsedMs: number;
}

export interface SearchOptions {
  objective: Objective;
  /** measures one step at `rate`; `phase` tells the caller whether to hold for the confirmation */
  measure: (rate: number, phase: StepPhase) => Promise<Step>;
  /** the first rate tried */
  startRate: number;
  /** the factor between two growing steps (default 2) */
  growth?: number;
  /** bisect until the bracket is at most this fraction of the passing rate (default 0.05) */
  resolution?: number;
  /** lowest and highest rates the search may try (defaults 1 and 1e6) */
  minRate?: number;
  maxRate?: number;
  /** at most this many steps, confirmations included (default 30) */
  maxSteps?: number;
  /** the whole search's time budget in ms */
  maxTimeMs: number;
  /** ms since some origin; injected so tests run on virtual time */
  now: () => number;
  /** what one step is expected to cost in ms, so a step that cannot finish in time is not started */
  stepCostMs?: (phase: StepPhase) => number;
  /** confirmation attempts before giving up (default 3); 0 = do not confirm */
  maxConfirmations?: number;
  /** called after each step, for live progress */
  onStep?: (record: StepRecord) => void;
}

/** Runs the search. Throws only what `measure` throws. */
export async function searchCapacity(options: SearchOptions): Promise<CapacityResult> {
  const growth = options.growth ?? 2;
  const resolution = options.resolution ?? 0.05;
  const minRate = options.minRate ?? 1;
  const maxRate = options.maxRate ?? 1e6;
  const maxSteps = options.maxSteps ?? 30;
  const maxConfirmations = options.maxConfirmations ?? 3;
  if (!(growth > 1)) throw new RangeError(`growth must be > 1, got ${growth}`);
  if (!(resolution > 0 && resolution < 1)) throw new RangeError(`resolution must be in (0, 1), got ${resolution}`);
  if (!(minRate > 0 && minRate <= options.startRate && options.startRate <= maxRate)) {
    throw new RangeError(`need 0 < minRate <= startRate <= maxRate, got ${minRate}, ${options.startRate}, ${maxRate}`);
  }
  if (!(options.maxTimeMs > 0)) throw new RangeError(`maxTimeMs must be > 0, got ${options.maxTimeMs}`);

  const t0 = options.now();
  const steps: StepRecord[] = [];
  const notes: string[] = [];
  let lo: number | null = null; // highest firm pass
  let hi: number | null = null; // lowest firm fail
  let ceiling: number | null = null; // lowest rate whose step was inconclusive (not the system's limit)
  let ceilingReason: 'generator' | 'unmeasured' = 'generator';

  /** Runs one step if the budgets allow; the budget's name when one stops the search. */
  const run = async (rate: number, phase: StepPhase): Promise<StepRecord | 'max-steps' | 'max-time'> => {
    if (steps.length >= maxSteps) return 'max-steps';
    const cost = options.stepCostMs?.(phase) ?? 0;
    if (options.now() - t0 + cost > options.maxTimeMs) return 'max-time';
    const atMs = options.now() - t0;
    const step = await options.measure(rate, phase);
    const judged = judge(options.objective, step);
    const record: StepRecord = { index: steps.length + 1, phase, rate, step, ...judged, atMs, durationMs: options.now() - t0 - atMs };
    steps.push(record);
    options.onStep?.(record);
    if (record.verdict === 'inconclusive') notes.push(`step ${record.index} at ${fmtRate(rate)} req/s is inconclusive: ${record.reason}`);
    return record;
  };

  const finish = (stoppedBy: StopReason, confirmed: boolean, sustainable: number | null, outcomeOverride?: Outcome): CapacityResult => {
    const firmFail = hi !== null && (ceiling === null || hi <= ceiling);
    const outcome: Outcome =
      outcomeOverride ??
      (sustainable !== null ? (firmFail ? 'found' : 'at-least') : hi !== null ? 'none' : 'inconclusive');
    const margin = outcome === 'found' && sustainable !== null && hi !== null ? roundRate(hi - sustainable) : null;
    if (stoppedBy === 'max-time') notes.push(`stopped by the time budget (${Math.round(options.maxTimeMs / 1000)} s)`);
    if (stoppedBy === 'max-steps') notes.push(`stopped after ${maxSteps} steps`);
    if (stoppedBy === 'max-rate') notes.push(`the objective held up to the highest rate allowed (${fmtRate(maxRate)} req/s)`);
    if (stoppedBy === 'generator') notes.push(`the generator could not drive ${fmtRate(ceiling!)} req/s: the system's limit lies above what was measured`);
    if (stoppedBy === 'unmeasured') notes.push(`the objective's figures were not measured at ${fmtRate(ceiling!)} req/s: the search could not go higher`);
    if (sustainable !== null && !confirmed && maxConfirmations > 0) notes.push(`${fmtRate(sustainable)} req/s was not confirmed by a longer hold`);
    return {
      outcome,
      stoppedBy,
      sustainableRate: sustainable,
      marginRate: margin,
      firstFailRate: hi,
      confirmed,
      steps,
      curve: curveOf(steps),
      knee: kneeOf(steps),
      notes,
      elapsedMs: Math.round(options.now() - t0),
    };
  };

  /** Records a step's verdict in the bracket; returns a stop reason when the search cannot go on. */
  const absorb = (r: StepRecord): StopReason | null => {
    if (r.verdict === 'pass') lo = Math.max(lo ?? 0, r.rate);
    else if (r.verdict === 'fail') hi = Math.min(hi ?? Infinity, r.rate);
    else if (!r.step.sizesEnforced) return 'sizes';
    else {
      // Not the system's figures at this rate; rates above it would be no better measured.
      if (ceiling === null || r.rate < ceiling) {
        ceiling = r.rate;
        ceilingReason = r.step.generatorLimited || r.step.generatorSaturated ? 'generator' : 'unmeasured';
      }
    }
    return null;
  };
  const upper = (): number => Math.min(hi ?? Infinity, ceiling ?? Infinity);
  /** Sizes stop being enforced only with the deployment: no later step could judge the system. */
  const stopForSizes = (r: StepRecord): CapacityResult => {
    notes.push(`host sizes were not enforced at step ${r.index}, so no step from there on can judge the system; the search stopped`);
    return finish('sizes', false, lo);
  };

  // 1. Grow from the start rate until the objective fails (or shrink until it first holds).
  let rate = roundRate(options.startRate);
  let phase: StepPhase = 'grow';
  for (;;) {
    const r = await run(rate, phase);
    if (typeof r === 'string') return finish(r, false, lo);
    if (absorb(r) === 'sizes') return stopForSizes(r);
    if (lo !== null && upper() < Infinity) break; // bracketed: bisect
    if (lo !== null) {
      if (rate >= maxRate) return finish('max-rate', false, lo, 'at-least');
      rate = roundRate(Math.min(rate * growth, maxRate));
      phase = 'grow';
      continue;
    }
    // Nothing has held yet: the start rate was too high (or not firmly measured). Shrink.
    if (rate <= minRate) {
      return finish(hi !== null ? 'min-rate' : ceiling !== null ? ceilingReason : 'min-rate', false, null);
    }
    rate = roundRate(Math.max(rate / growth, minRate));
    phase = 'shrink';
  }

  // 2. Bisect between the last pass and the first fail (or the inconclusive ceiling).
  for (;;) {
    const low: number = lo!;
    const top = upper();
    if (top - low <= resolution * low) break;
    const mid = roundRate((low + top) / 2);
    if (mid <= low || mid >= top) break; // the rates' rounding cannot split the bracket further
    const r = await run(mid, 'bisect');
    if (typeof r === 'string') return finish(r, false, lo);
    if (absorb(r) === 'sizes') return stopForSizes(r);
  }

  const limitedByCeiling = hi === null || (ceiling !== null && ceiling < hi);
  if (maxConfirmations === 0) return finish(limitedByCeiling ? ceilingReason : 'resolved', false, lo);

  // 3. Confirm by holding the found rate; a failing confirmation steps down by the resolution.
  let candidate: number = lo!;
  for (let attempt = 1; attempt <= maxConfirmations; attempt++) {
    const r = await run(candidate, 'confirm');
    // A budget that runs out after a failed confirmation leaves no rate known to hold: the next
    // candidate was never measured, so it is not reported as sustainable.
    if (typeof r === 'string') return attempt === 1 ? finish(r, false, candidate) : finish(r, false, null, 'unconfirmed');
    if (r.verdict === 'pass') {
      // a failed confirmation below the ceiling is a firm fail: the system, not the generator, set the limit
      const limited = hi === null || (ceiling !== null && ceiling < hi);
      return finish(limited ? ceilingReason : 'resolved', true, candidate);
    }
    if (r.verdict === 'fail') {
      hi = Math.min(hi ?? Infinity, candidate);
      notes.push(`the confirmation at ${fmtRate(candidate)} req/s failed (${r.reason}); stepping down`);
    } else if (!r.step.sizesEnforced) {
      notes.push('host sizes were not enforced during the confirmation; the search stopped');
      return finish('sizes', false, null, 'unconfirmed');
    } else {
      notes.push(`the confirmation at ${fmtRate(candidate)} req/s was inconclusive; stepping down`);
    }
    lo = null;
    candidate = roundRate(candidate / (1 + resolution));
    if (candidate < minRate) break;
  }
  notes.push(`no rate was confirmed after ${maxConfirmations} attempt(s)`);
  return finish('resolved', false, null, 'unconfirmed');
}

/** The system's verdict on a step: the objective's, unless the step cannot judge the system. */
function judge(objective: Objective, step: Step): { verdict: Verdict; reason: string } {
  if (!step.sizesEnforced) return { verdict: 'inconclusive', reason: 'host sizes were not enforced' };
  if (step.generatorLimited) return { verdict: 'inconclusive', reason: 'the generator was the limit' };
  const e = evaluateObjective(objective, { latencyMs: step.latencyMs, errorRate: step.errorRate });
  // Behind its schedule, the generator offered less than the rate: a pass would overstate the
  // system. A violation measured anyway is the system's (it did not answer in time).
  if (step.generatorSaturated && e.verdict === 'pass') return { verdict: 'inconclusive', reason: 'the generator fell behind its schedule: a pass would overstate the system' };
  return { verdict: e.verdict, reason: e.reason };
}

function curveOf(steps: StepRecord[]): CurvePoint[] {
  return [...steps]
    .sort((a, b) => a.rate - b.rate || a.index - b.index)
    .map((r) => ({
      rate: r.rate,
      phase: r.phase,
      achievedRate: r.step.achievedRate,
      p50Ms: r.step.latencyMs.p50 ?? null,
      p99Ms: r.step.latencyMs.p99 ?? null,
      errorRate: r.step.errorRate,
      verdict: r.verdict,
    }));
}

/**
 * The knee by Kneedle (Satopää et al., 2011): normalise rate and p99 of the firm search steps to
 * [0, 1] and take the point farthest below the chord from the lowest to the highest rate. Needs
 * three points and a curve that bends upwards; otherwise there is no knee to report.
 */
export function kneeOf(steps: readonly StepRecord[]): Knee | null {
  const byRate = new Map<number, number>();
  for (const r of steps) {
    const p99 = r.step.latencyMs.p99;
    if (r.verdict === 'inconclusive' || r.phase === 'confirm' || p99 === null || p99 === undefined) continue;
    byRate.set(r.rate, p99); // a later step at the same rate replaces an earlier one
  }
  const points = [...byRate].sort((a, b) => a[0] - b[0]);
  if (points.length < 3) return null;
  const [x0, y0] = points[0]!;
  const [x1, y1] = points[points.length - 1]!;
  if (x1 === x0 || y1 <= y0) return null;
  let best: Knee | null = null;
  let bestGap = 1e-9;
  for (const [x, y] of points.slice(1, -1)) {
    const gap = (x - x0) / (x1 - x0) - (y - y0) / (y1 - y0);
    if (gap > bestGap) {
      bestGap = gap;
      best = { rate: x, p99Ms: y };
    }
  }
  return best;
}

/** Whole requests per second above 100 (the generator cannot honour finer), 3 digits below. */
export function roundRate(rate: number): number {
  return rate >= 100 ? Math.round(rate) : Number(rate.toPrecision(3));
}

function fmtRate(rate: number): string {
  return rate >= 1000 ? rate.toLocaleString('en-US', { maximumFractionDigits: 0 }) : String(rate);
}
