// The figures every region drill reports, from the load's per-second series: the traffic-shift
// curve (share of each second's completed requests by the region that served them, and the share
// that failed), shift time (fault -> the survivors serve >= 95% for the rest of the outage), RTO
// (fault -> every later second of the outage healthy: error rate and p99 inside the objective),
// the first success in a surviving region, and the percentiles of replication-lag samples. Pure;
// a figure that never happened is null, never 0.
//
// Why the shares are of completed requests and not of successes only: a dead region answers
// nothing, so the survivors serve 100% of the successes from the first second after the fault
// whatever the clients go through; only with the failures in the denominator does the curve show
// the traffic moving (and the shift time mean more than "something succeeded").
//
// Why the outage's end (`untilS`) bounds shift time and RTO: when the region comes back its
// clients return to it (failback) and the survivors' share falls again; that is not a relapse of
// the recovery, and a recovery that waits for the region to return is no recovery (null).
import { healthySecond, type Hypothesis } from '../../chaos/verdict.ts';
import type { SeriesPoint } from '../../reports/schema.ts';

/** One second of load: successful responses counted by the region that served them (the
 *  serving-region header), and the requests that failed. */
export interface ServedSecond {
  t: number;
  ok: Readonly<Record<string, number>>;
  errors: number;
}

export interface ShiftPoint {
  t: number;
  /** share of that second's completed requests per serving region; empty when none completed */
  share: Record<string, number>;
  /** share of that second's completed requests that failed; 0 when none completed */
  failed: number;
}

/** The outage: the load's seconds from the fault to the region's return (null: it never returned). */
export interface Outage {
  faultAtS: number;
  untilS: number | null;
}

const sum = (xs: Iterable<number>) => {
  let a = 0;
  for (const x of xs) a += x;
  return a;
};

/** The seconds that overlap the outage. */
const during = <P extends { t: number }>(points: readonly P[], o: Outage) => points.filter((p) => p.t + 1 > o.faultAtS && (o.untilS === null || p.t < o.untilS));

/** Several client regions' seconds summed per second (by t). Pure. */
export function mergeServed(regions: readonly (readonly ServedSecond[])[]): ServedSecond[] {
  const byT = new Map<number, { ok: Record<string, number>; errors: number }>();
  for (const seconds of regions) {
    for (const s of seconds) {
      const m = byT.get(s.t) ?? { ok: {}, errors: 0 };
      for (const [r, n] of Object.entries(s.ok)) m.ok[r] = (m.ok[r] ?? 0) + n;
      m.errors += s.errors;
      byT.set(s.t, m);
    }
  }
  return [...byT.entries()].sort((a, b) => a[0] - b[0]).map(([t, m]) => ({ t, ok: m.ok, errors: m.errors }));
}

/** The traffic-shift curve. Pure. */
export function shiftCurve(seconds: readonly ServedSecond[]): ShiftPoint[] {
  return seconds.map((s) => {
    const total = sum(Object.values(s.ok)) + s.errors;
    const share: Record<string, number> = {};
    if (total > 0) for (const [r, n] of Object.entries(s.ok)) share[r] = n / total;
    return { t: s.t, share, failed: total > 0 ? s.errors / total : 0 };
  });
}

const survivorShare = (p: ShiftPoint, survivors: ReadonlySet<string>) => sum(Object.entries(p.share).map(([r, x]) => (survivors.has(r) ? x : 0)));

/**
 * Seconds from the fault to the start of the first second from which on, until the region came
 * back, every second where requests completed has the survivors serving at least `threshold` of
 * them; null when that never held before the outage ended (or the load did). Pure.
 */
export function shiftTimeS(curve: readonly ShiftPoint[], o: Outage, survivors: readonly string[], threshold = 0.95): number | null {
  const alive = new Set(survivors);
  let from: number | null = null;
  for (const p of during(curve, o)) {
    if (Object.keys(p.share).length === 0 && p.failed === 0) continue;
    if (survivorShare(p, alive) >= threshold) from ??= p.t;
    else from = null;
  }
  return from === null ? null : Math.max(0, from - o.faultAtS);
}

/** Seconds from the fault to the start of the first second with a success served by a survivor,
 *  during the outage; null if none. Pure. */
export function firstSurvivorSuccessS(seconds: readonly ServedSecond[], o: Outage, survivors: readonly string[]): number | null {
  const hit = during(seconds, o).find((s) => survivors.some((r) => (s.ok[r] ?? 0) > 0));
  return hit ? Math.max(0, hit.t - o.faultAtS) : null;
}

/**
 * RTO: seconds from the fault to the start of the first second from which on every second of
 * the outage is healthy (chaos/verdict.ts healthySecond: errors and p99 inside the objective,
 * something completed when load was due); null when the outage (or the load) ends unhealthy. Pure.
 */
export function rtoS(series: readonly SeriesPoint[], o: Outage, h: Pick<Hypothesis, 'maxErrorRate' | 'maxP99Ms'>): number | null {
  let from: number | null = null;
  for (const p of during(series, o)) {
    if (healthySecond(p, h)) from ??= p.t;
    else from = null;
  }
  return from === null ? null : Math.max(0, from - o.faultAtS);
}

/** p50, p99 and max of samples (nearest rank, no interpolation: a lag that was measured), with
 *  their count; null figures when there is no sample. Pure. */
export function samplePercentiles(samples: readonly number[]): { p50: number | null; p99: number | null; max: number | null; n: number } {
  if (samples.length === 0) return { p50: null, p99: null, max: null, n: 0 };
  const s = [...samples].sort((a, b) => a - b);
  const rank = (p: number) => s[Math.max(0, Math.ceil((p / 100) * s.length) - 1)]!;
  return { p50: rank(50), p99: rank(99), max: s[s.length - 1]!, n: s.length };
}
