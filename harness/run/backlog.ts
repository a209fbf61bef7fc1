// The backlog's figures from a series of queue samples: peak, drain time after a burst, slope of
// the depth over the load's last seconds. Pure: the sampler (queue-sampler.ts) gathers the samples,
// this turns them into results.json's `queue` section, and the unit tests feed it made-up series.
import type { Burst } from '../load/traffic-model.ts';
import type { QueueSample, QueueSection } from './results.ts';

/** The slope is fitted over the load's last this-many seconds (issue #12: "the last 30 s"). */
export const SLOPE_WINDOW_S = 30;

/** The pre-burst level is the largest depth of this many seconds before the burst. */
export const PRE_BURST_WINDOW_S = 5;

/**
 * A fitted rise smaller than this (messages over the whole window) is not called growing: with
 * prefetch, the depth of a queue that keeps up jitters by a few messages from second to second.
 */
export const GROWTH_FLOOR_MESSAGES = 5;

/** ... nor a rise under this share of the window's mean depth (a deep queue jitters more). */
export const GROWTH_SHARE = 0.1;

/** Least-squares slope of y over t; null with fewer than 3 points or all at one t. */
export function leastSquaresSlope(points: readonly (readonly [number, number])[]): number | null {
  const n = points.length;
  if (n < 3) return null;
  let st = 0;
  let sy = 0;
  for (const [t, y] of points) {
    st += t;
    sy += y;
  }
  const mt = st / n;
  const my = sy / n;
  let num = 0;
  let den = 0;
  for (const [t, y] of points) {
    num += (t - mt) * (y - my);
    den += (t - mt) * (t - mt);
  }
  return den > 0 ? num / den : null;
}

export interface SlopeFigures {
  windowS: number;
  perS: number | null;
  growing: boolean | null;
  samples: number;
}

/** The depth's slope over [durationS - windowS, durationS] and whether the backlog is growing. */
export function backlogSlope(series: readonly QueueSample[], durationS: number, windowS = SLOPE_WINDOW_S): SlopeFigures {
  const from = Math.max(0, durationS - windowS);
  const points = series.filter((s) => s.depth !== null && s.t >= from && s.t <= durationS).map((s) => [s.t, s.depth!] as const);
  const perS = leastSquaresSlope(points);
  if (perS === null) return { windowS, perS: null, growing: null, samples: points.length };
  const span = points.at(-1)![0] - points[0]![0];
  const mean = points.reduce((a, [, y]) => a + y, 0) / points.length;
  const rise = perS * span;
  return { windowS, perS, growing: rise > Math.max(GROWTH_FLOOR_MESSAGES, GROWTH_SHARE * mean), samples: points.length };
}

export interface DrainFigures {
  preBurstDepth: number | null;
  drainS: number | null;
  drainNote: string | null;
}

/**
 * Seconds from the burst's end until the depth is back to its pre-burst level (the largest depth of
 * the PRE_BURST_WINDOW_S before the burst; 0 for a burst from t=0) or to 0: the first sample at or
 * after the burst's end at or under that level. null, with why, when there was no burst or the
 * depth never came back within what was sampled.
 */
export function drainAfterBurst(series: readonly QueueSample[], burst: Burst | null): DrainFigures {
  if (burst === null) return { preBurstDepth: null, drainS: null, drainNote: 'no --burst in this run' };
  const end = burst.startS + burst.lengthS;
  const before = series.filter((s) => s.depth !== null && s.t >= burst.startS - PRE_BURST_WINDOW_S && s.t < burst.startS);
  if (burst.startS > 0 && before.length === 0) {
    return { preBurstDepth: null, drainS: null, drainNote: `no depth sampled in the ${PRE_BURST_WINDOW_S} s before the burst` };
  }
  const level = before.reduce((m, s) => Math.max(m, s.depth!), 0);
  const after = series.filter((s) => s.depth !== null && s.t >= end);
  const back = after.find((s) => s.depth! <= level);
  if (back) return { preBurstDepth: level, drainS: round1(back.t - end), drainNote: null };
  const last = after.at(-1);
  const note = last
    ? `never back to the pre-burst depth ${level} within the ${round1(last.t - end)} s sampled after the burst (depth ${last.depth} at the end)`
    : 'no depth sampled after the burst';
  return { preBurstDepth: level, drainS: null, drainNote: note };
}

export interface BacklogInput {
  queue: string;
  source: string;
  series: QueueSample[];
  /** the measured load's duration (s): samples past it are the drain after the load */
  durationS: number;
  burst: Burst | null;
  afterLoad: QueueSection['afterLoad'];
}

/** results.json's `queue` section from the samples. */
export function backlogSection(input: BacklogInput): QueueSection {
  let peak: QueueSample | null = null;
  for (const s of input.series) if (s.depth !== null && (peak === null || s.depth > peak.depth!)) peak = s;
  return {
    queue: input.queue,
    source: input.source,
    series: input.series,
    peakDepth: peak?.depth ?? null,
    peakAtS: peak?.t ?? null,
    burst: input.burst,
    ...drainAfterBurst(input.series, input.burst),
    slope: backlogSlope(input.series, input.durationS),
    afterLoad: input.afterLoad,
  };
}

/** A per-second rate from two readings of a counter; null across a reset (a broker restart) or no time. */
export function counterRate(prev: { t: number; value: number } | null, cur: { t: number; value: number } | null): number | null {
  if (prev === null || cur === null || !(cur.t > prev.t) || cur.value < prev.value) return null;
  return round1((cur.value - prev.value) / (cur.t - prev.t));
}

function round1(x: number): number {
  return Math.round(x * 10) / 10;
}
