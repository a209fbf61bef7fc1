// The figures every region drill reports, from the load's per-second series: the traffic-shift
// curve (share of successful responses by serving region, per second), shift time (fault -> the
// survivors serve >= 95% for good), RTO (fault -> every later second healthy: error rate and p99
// inside the objective), the first success in a surviving region, and DNS convergence from a
// client resolver's answer changes (harness/load/geo-dns.ts). Pure; a figure that never happened
// is null, never 0.
import { healthySecond, type Hypothesis } from '../../chaos/verdict.ts';
import type { AnswerChange } from '../../harness/load/geo-dns.ts';
import type { SeriesPoint } from '../../reports/schema.ts';

/** One second of load: successful responses counted by the region that served them (the
 *  serving-region header). */
export interface ServedSecond {
  t: number;
  ok: Readonly<Record<string, number>>;
}

export interface ShiftPoint {
  t: number;
  /** share of that second's successes per serving region; empty when nothing succeeded */
  share: Record<string, number>;
}

/** The traffic-shift curve. Pure. */
export function shiftCurve(seconds: readonly ServedSecond[]): ShiftPoint[] {
  return seconds.map((s) => {
    const total = Object.values(s.ok).reduce((a, b) => a + b, 0);
    const share: Record<string, number> = {};
    if (total > 0) for (const [r, n] of Object.entries(s.ok)) share[r] = n / total;
    return { t: s.t, share };
  });
}

const survivorShare = (p: ShiftPoint, survivors: ReadonlySet<string>) =>
  Object.entries(p.share).reduce((a, [r, x]) => a + (survivors.has(r) ? x : 0), 0);

/**
 * Seconds from the fault to the start of the first second from which on every second with
 * successes has the survivors serving at least `threshold` of them; null when the run ended
 * before that held, or nothing succeeded after the fault. Pure.
 */
export function shiftTimeS(curve: readonly ShiftPoint[], faultAtS: number, survivors: readonly string[], threshold = 0.95): number | null {
  const alive = new Set(survivors);
  const after = curve.filter((p) => p.t + 1 > faultAtS && Object.keys(p.share).length > 0);
  let from: number | null = null;
  for (const p of after) {
    if (survivorShare(p, alive) >= threshold) from ??= p.t;
    else from = null;
  }
  return from === null ? null : Math.max(0, from - faultAtS);
}

/** Seconds from the fault to the first second with a success served by a survivor; null if none. */
export function firstSurvivorSuccessS(seconds: readonly ServedSecond[], faultAtS: number, survivors: readonly string[]): number | null {
  const hit = seconds.find((s) => s.t + 1 > faultAtS && survivors.some((r) => (s.ok[r] ?? 0) > 0));
  return hit ? Math.max(0, hit.t - faultAtS) : null;
}

/**
 * RTO: seconds from the fault to the start of the first second from which on every second of
 * the series is healthy (chaos/verdict.ts healthySecond: errors and p99 inside the objective,
 * something completed when load was due); null when the series ends unhealthy. Pure.
 */
export function rtoS(series: readonly SeriesPoint[], faultAtS: number, h: Pick<Hypothesis, 'maxErrorRate' | 'maxP99Ms'>): number | null {
  const after = series.filter((p) => p.t + 1 > faultAtS);
  if (after.length === 0) return null;
  let from: number | null = null;
  for (const p of after) {
    if (healthySecond(p, h)) from ??= p.t;
    else from = null;
  }
  return from === null ? null : Math.max(0, from - faultAtS);
}

/** ms from the fault (on the resolver's clock) to the first answer among `survivorAddresses`
 *  that is still the answer at the end; null when the client never converged. Pure. */
export function dnsConvergenceMs(changes: readonly AnswerChange[], faultAt: number, survivorAddresses: readonly string[]): number | null {
  const last = changes[changes.length - 1];
  if (!last || last.address === null || !survivorAddresses.includes(last.address)) return null;
  let i = changes.length - 1;
  while (i > 0 && changes[i - 1]!.address !== null && survivorAddresses.includes(changes[i - 1]!.address!)) i--;
  const at = changes[i]!.at;
  return at < faultAt ? 0 : at - faultAt;
}
