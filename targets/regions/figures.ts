// The figures every region drill reports, from the load's per-second series: the traffic-shift
// curve (share of each second's completed requests by the region that served them, and the share
// that failed), shift time (fault -> the survivors serve >= 95% for the rest of the outage), RTO
// (fault -> the rest of the outage healthy: error rate and p99 inside the objective),
// the first success in a surviving region, and the percentiles of replication-lag samples. Pure;
// a figure that never happened is null, never 0.
//
// Why the shares are of completed requests and not of successes only: a dead region answers
// nothing, so the survivors serve 100% of the successes from the first second after the fault
// whatever the clients go through; only with the failures in the denominator does the curve show
// the traffic moving (and the shift time mean more than "something succeeded").
//
// Why "the rest of the outage" is judged as one window that starts with a good second, not second
// by second: at a drill's 30 req/s one stray error is 3% of its second, so "every later second
// under 1%" moved RTO to the last stray error (37 s where the system served well from 13 s); the
// window is what the hypothesis judges ("then fewer than 1% fail, p99 under ..."), and the first
// second must be good itself so a long healthy tail cannot dilute an outage into RTO 0.
//
// Why the outage's end (`untilS`) bounds shift time and RTO: when the region comes back its
// clients return to it (failback) and the survivors' share falls again; that is not a relapse of
// the recovery, and a recovery that waits for the region to return is no recovery (null).
import { healthySecond, type Hypothesis } from '../../chaos/verdict.ts';
import { mergeSeconds } from '../../harness/load/histogram.ts';
import type { SeriesPoint } from '../../reports/schema.ts';
import type { RegionResults } from '../../harness/run/results.ts';

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

/**
 * Seconds from the fault to the start of the first second of the outage where the survivors
 * served at least `threshold` of the completed requests, and did over the rest of the outage
 * taken as one window; null when that never held before the outage ended (or the load did). Pure.
 */
export function shiftTimeS(seconds: readonly ServedSecond[], o: Outage, survivors: readonly string[], threshold = 0.95): number | null {
  const alive = new Set(survivors);
  const inside = during(seconds, o);
  const served = (s: ServedSecond) => sum(Object.entries(s.ok).map(([r, n]) => (alive.has(r) ? n : 0)));
  const total = (s: ServedSecond) => sum(Object.values(s.ok)) + s.errors;
  // suffix sums: what the survivors served and what completed from each second to the end
  let restServed = 0;
  let restTotal = 0;
  let from: number | null = null;
  for (let i = inside.length - 1; i >= 0; i--) {
    const s = inside[i]!;
    restServed += served(s);
    restTotal += total(s);
    if (total(s) > 0 && served(s) >= threshold * total(s) && restServed >= threshold * restTotal) from = s.t;
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
 * RTO: seconds from the fault to the start of the first second of the outage that is healthy
 * (chaos/verdict.ts healthySecond: errors and p99 inside the objective, something completed when
 * load was due) and from which the rest of the outage, as one window, is too: failed (errors and
 * dropped) under maxErrorRate of what was offered, and its p99 merged from the seconds'
 * histograms (every second's p99 where they carry none) inside maxP99Ms, no second without
 * completions while load was due; null when no such second came before the outage ended. Pure.
 */
export function rtoS(series: readonly SeriesPoint[], o: Outage, h: Pick<Hypothesis, 'maxErrorRate' | 'maxP99Ms'>): number | null {
  const inside = during(series, o);
  let from: number | null = null;
  for (let i = inside.length - 1; i >= 0; i--) {
    if (!healthySecond(inside[i]!, h)) continue;
    const rest = inside.slice(i);
    const offered = sum(rest.map((p) => p.requests + p.dropped));
    const failed = sum(rest.map((p) => p.errors + p.dropped));
    if (offered > 0 && failed / offered > h.maxErrorRate) continue;
    if (rest.some((p) => p.targetRate > 0 && p.requests === 0)) continue;
    const merged = mergeSeconds(rest);
    const p99 = merged === null ? Math.max(...rest.map((p) => p.p99 ?? 0)) : merged.count > 0 ? merged.percentileMs(99) : null;
    if (p99 !== null && p99 > h.maxP99Ms) continue;
    from = inside[i]!.t;
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

/** Whether the load's second `t` lies wholly inside the outage (the fault's own second holds
 *  answers given before it). Pure. */
export const wholeSecondInside = (t: number, o: Outage): boolean => t >= o.faultAtS && (o.untilS === null || t + 1 <= o.untilS);

/**
 * Per client region: its successes' p50 and p99 before the fault (the seconds wholly before it)
 * and during it (the seconds wholly inside; the fault's own second holds answers given before
 * it), each from the seconds' histograms merged, never from per-second percentiles. Keys
 * `p50BeforeMs.<r>`, `p99BeforeMs.<r>`, `p50DuringMs.<r>`, `p99DuringMs.<r>`; null when no success
 * was measured there. Pure.
 */
export function clientRegionPercentiles(regions: RegionResults, o: Outage): Record<string, number | null> {
  const figures: Record<string, number | null> = {};
  const r3 = (x: number | null) => (x === null ? null : Math.round(x * 1000) / 1000);
  for (const [name, x] of Object.entries(regions)) {
    if (!x.seconds) continue;
    const merged = (keep: (t: number) => boolean) => mergeSeconds(x.seconds!.filter((s) => keep(s.t)).map((s) => ({ requests: sum(Object.values(s.ok)), hdr: s.hdr })));
    const before = merged((t) => t + 1 <= o.faultAtS);
    const during = merged((t) => wholeSecondInside(t, o));
    const at = (hist: typeof before, p: number) => (hist === null || hist.count === 0 ? null : r3(hist.percentileMs(p)));
    figures[`p50BeforeMs.${name}`] = at(before, 50);
    figures[`p99BeforeMs.${name}`] = at(before, 99);
    figures[`p50DuringMs.${name}`] = at(during, 50);
    figures[`p99DuringMs.${name}`] = at(during, 99);
  }
  return figures;
}
