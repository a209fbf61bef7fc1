// The verdict of a drill: from the load's per-second series and the fault windows, how fast the
// failure showed, how much it cost, how long until the system was healthy again, and whether the
// steady-state hypothesis held. Pure: no I/O, no clock. Every latency over a window comes from
// the window's per-second HDR histograms merged exactly, never from averaged percentiles.
import { mergeSeconds } from '../harness/load/histogram.ts';
import type { DrillResult, FaultWindow, SeriesPoint } from '../reports/schema.ts';
import type { WriteCheck } from './write-check.ts';

/** What the drill claims stays true while the fault is on. */
export interface Hypothesis {
  /** one sentence: "with one app server dead, < 1% of requests fail and p99 stays < 500 ms" */
  text: string;
  /** failed share of requests allowed during the fault window, 0..1 */
  maxErrorRate: number;
  /** p99 allowed during the fault window (of the window's merged histograms), ms */
  maxP99Ms: number;
  /** when set, the system must be healthy again within this many seconds of the fault start */
  maxRecoverS?: number;
  /**
   * A recovery-time objective: the first this-many seconds after the fault starts may fail (a
   * failover's outage); the error and latency objectives apply to the rest of the window, and the
   * system must have recovered within it.
   */
  outageAllowedS?: number;
  /**
   * The failed share a second may have and count as healthy, for time to detect and to recover;
   * default the smaller of maxErrorRate and 1%. A drill that allows some damage (only static
   * assets may fail) still detects the first failure and sees when the failures stop.
   */
  healthyErrorRate?: number;
  /** acknowledged writes allowed to be lost (0 unless the design is known to lose some) */
  maxLostWrites?: number;
  /** why the hypothesis is expected to fail in this phase (a single point of failure, ...) */
  expectedFailure?: string;
}

/** One health probe: the drill's own poller of the entry's health endpoint. */
export interface ProbeSample {
  /** seconds since the load started */
  tS: number;
  ok: boolean;
}

export interface VerdictInput {
  name: string;
  hypothesis: Hypothesis;
  series: readonly SeriesPoint[];
  /** the drill's fault windows; the impact window runs from the first start to the last end */
  windows: readonly FaultWindow[];
  probes?: readonly ProbeSample[];
  writes?: WriteCheck | null;
  /** faults that failed to apply or revert, and failed verifications: each fails the drill */
  problems?: readonly string[];
  /** figures the drill measured itself (write outage, blast radius, ...) */
  figures?: Record<string, number | string | null>;
  /**
   * the generator itself was the limit (LoadResults.generator.limited): the load it offered was not
   * the one planned, so the drill is INCONCLUSIVE whatever the series says
   */
  generatorLimited?: boolean;
  options?: VerdictOptions;
}

export interface VerdictOptions {
  /** seconds at the start of the load left out of "before" (connections warming up); default 2 */
  warmupS?: number;
  /** healthy seconds in a row that count as recovered; default 3 */
  sustainS?: number;
  /** seconds after the last fault ends still counted as "during" (reconnects, cold caches); default 5 */
  tailS?: number;
}

/** The figures of one period of the series. */
export interface PeriodStats {
  seconds: number;
  requests: number;
  errors: number;
  dropped: number;
  /** (errors + dropped) / (requests + dropped); 0 for an empty period */
  failRate: number;
  /**
   * p99 of the period's requests that got a response, from its seconds' histograms merged, ms;
   * null when none got a response (or the series carries no histograms to merge)
   */
  p99: number | null;
  /** the largest latency of the period, ms (no percentile is above it); null as p99 */
  max: number | null;
  /** the worst second's p99, ms; null when no second had a response */
  worstP99: number | null;
}

const r3 = (x: number) => Math.round(x * 1000) / 1000;

/** A second of the series; point.t is the start of the second it covers, [t, t + 1). */
const overlaps = (p: SeriesPoint, from: number, to: number) => p.t + 1 > from && p.t < to;

/** Aggregates the points of a period. */
export function periodStats(points: readonly SeriesPoint[]): PeriodStats {
  let requests = 0;
  let errors = 0;
  let dropped = 0;
  let worst: number | null = null;
  for (const p of points) {
    requests += p.requests;
    errors += p.errors;
    dropped += p.dropped;
    if (p.p99 !== null && (worst === null || p.p99 > worst)) worst = p.p99;
  }
  const offered = requests + dropped;
  const merged = mergeSeconds(points);
  const p99 = merged?.percentileMs(99) ?? null;
  const max = merged?.maxMs() ?? null;
  return {
    seconds: points.length,
    requests,
    errors,
    dropped,
    failRate: offered === 0 ? 0 : (errors + dropped) / offered,
    p99: p99 === null ? null : r3(p99),
    max: max === null ? null : r3(max),
    worstP99: worst,
  };
}

/**
 * A second is healthy when its failed share is within the objective, its p99 too, and it
 * completed something whenever load was due (a hung system completes nothing and errs nothing).
 */
export function healthySecond(p: SeriesPoint, h: Pick<Hypothesis, 'maxErrorRate' | 'maxP99Ms'>): boolean {
  const offered = p.requests + p.dropped;
  if (p.targetRate > 0 && p.requests === 0) return false;
  if (offered > 0 && (p.errors + p.dropped) / offered > h.maxErrorRate) return false;
  return p.requests === 0 || p.p99 === null || p.p99 <= h.maxP99Ms;
}
const pct = (x: number) => `${(x * 100).toFixed(x > 0 && x < 0.001 ? 3 : x < 0.1 ? 2 : 1)}%`;
const ms = (x: number | null) => (x === null ? 'n/a' : `${x.toFixed(x < 10 ? 1 : 0)} ms`);
/** over the objective; an unmeasured p99 (null) is not over anything */
const over = (x: number | null, limit: number) => x !== null && x > limit;

/** Computes the drill's result. */
export function verdict(input: VerdictInput): DrillResult {
  const { hypothesis: h, series } = input;
  const warmupS = input.options?.warmupS ?? 2;
  const sustainS = input.options?.sustainS ?? 3;
  const tailS = input.options?.tailS ?? 5;
  const reasons: string[] = [];
  const failures: string[] = [];
  const figures: Record<string, number | string | null> = {};

  const seriesEnd = series.length ? Math.max(...series.map((p) => p.t + 1)) : 0;
  const windows = input.windows;
  if (windows.length === 0) {
    failures.push('no fault was applied');
  }
  const faultStart = windows.length ? Math.min(...windows.map((w) => w.startS)) : seriesEnd;
  const faultEnd = windows.length ? Math.max(...windows.map((w) => w.endS ?? seriesEnd)) : seriesEnd;
  const evalEnd = Math.min(seriesEnd, faultEnd + tailS);
  figures.faultStartS = r3(faultStart);
  figures.faultEndS = r3(faultEnd);

  const before = periodStats(series.filter((p) => p.t >= warmupS && p.t + 1 <= faultStart));
  const during = periodStats(series.filter((p) => overlaps(p, faultStart, evalEnd)));
  figures.requestsDuringFault = during.requests;
  figures.droppedDuringFault = during.dropped;
  figures.errorRateBefore = before.failRate;
  figures.errorRateDuringFault = during.failRate;
  figures.worstSecondP99Before = before.worstP99 === null ? null : r3(before.worstP99);
  figures.worstSecondP99During = during.worstP99 === null ? null : r3(during.worstP99);
  figures.maxLatencyDuringMs = during.max;

  // Steady state first: a hypothesis about a system that was already failing says nothing.
  if (before.seconds === 0) {
    reasons.push('no steady-state second before the fault (start the fault later with --at)');
  } else if (before.failRate > h.maxErrorRate || over(before.p99, h.maxP99Ms)) {
    failures.push(`steady state not met before the fault: ${pct(before.failRate)} failed, p99 ${ms(before.p99)} (objective < ${pct(h.maxErrorRate)}, < ${ms(h.maxP99Ms)})`);
  }

  // Time to detect: the first unhealthy second at or after the fault start; a probe is finer.
  const healthy = { maxErrorRate: Math.min(h.maxErrorRate, h.healthyErrorRate ?? 0.01), maxP99Ms: h.maxP99Ms };
  const after = series.filter((p) => p.t + 1 > faultStart).sort((a, b) => a.t - b.t);
  const firstBad = after.find((p) => !healthySecond(p, healthy));
  const detectSeries = firstBad ? Math.max(0, firstBad.t - faultStart) : null;
  const firstFailedProbe = (input.probes ?? []).filter((s) => s.tS >= faultStart && !s.ok).sort((a, b) => a.tS - b.tS)[0];
  const detectProbe = firstFailedProbe ? firstFailedProbe.tS - faultStart : null;
  figures.detectFromSeriesS = detectSeries === null ? null : r3(detectSeries);
  figures.detectFromProbeS = detectProbe === null ? null : r3(detectProbe);
  const timeToDetectS = detectProbe !== null && (detectSeries === null || detectProbe <= detectSeries + 1) ? detectProbe : detectSeries;

  // Time to recover: from the fault start to the first of `sustainS` healthy seconds in a row
  // after the impact showed.
  let timeToRecoverS: number | null = null;
  if (firstBad) {
    const from = after.indexOf(firstBad);
    for (let i = from; i + sustainS <= after.length; i++) {
      const run = after.slice(i, i + sustainS);
      const contiguous = run.every((p, k) => k === 0 || p.t === run[k - 1]!.t + 1);
      if (contiguous && run.every((p) => healthySecond(p, healthy))) {
        timeToRecoverS = Math.max(0, run[0]!.t - faultStart);
        break;
      }
    }
  }
  figures.impact = firstBad || detectProbe !== null ? 'observed' : 'none';

  // The hypothesis, check by check; with an allowed outage, on what follows it.
  const allowed = h.outageAllowedS ?? 0;
  const checked = allowed > 0 ? periodStats(series.filter((p) => overlaps(p, faultStart + allowed, evalEnd))) : during;
  const where = allowed > 0 ? `after the allowed outage of ${allowed} s` : 'during the fault';
  if (during.seconds === 0) {
    failures.push('no load was measured during the fault');
  } else if (checked.seconds === 0) {
    failures.push(`no load was measured ${where}: run the load longer`);
  } else {
    const rateLine = `${pct(checked.failRate)} of requests failed ${where} (${checked.errors} errors, ${checked.dropped} dropped of ${checked.requests + checked.dropped})`;
    if (checked.failRate > h.maxErrorRate) failures.push(`${rateLine}: over the objective of ${pct(h.maxErrorRate)}`);
    else reasons.push(`${rateLine}: within ${pct(h.maxErrorRate)}`);
    const latLine = `p99 ${ms(checked.p99)} ${where} vs ${ms(before.p99)} before (worst second ${ms(checked.worstP99)})`;
    if (over(checked.p99, h.maxP99Ms)) failures.push(`${latLine}: over the objective of ${ms(h.maxP99Ms)}`);
    else if (checked.p99 === null) reasons.push(`${latLine}: no request got a response ${where}, so no latency was measured`);
    else reasons.push(`${latLine}: within ${ms(h.maxP99Ms)}`);
    if (allowed > 0) reasons.push(`${during.errors + during.dropped} requests failed in the whole fault window (${pct(during.failRate)})`);
  }
  const maxRecoverS = h.maxRecoverS ?? (allowed > 0 ? allowed : undefined);
  if (firstBad && timeToRecoverS === null) {
    failures.push(`did not recover: no ${sustainS} healthy seconds in a row before the load ended`);
  } else if (timeToRecoverS !== null) {
    const line = `recovered ${timeToRecoverS.toFixed(1)} s after the fault started`;
    if (maxRecoverS !== undefined && timeToRecoverS > maxRecoverS) failures.push(`${line}: slower than ${maxRecoverS} s`);
    else reasons.push(line);
  } else {
    reasons.push('no impact visible in the load (every second healthy)');
  }

  const writes = input.writes ?? null;
  if (writes) {
    const allowed = h.maxLostWrites ?? 0;
    const undecided = writes.undecided ? ` (${writes.undecided} undecided: a later unanswered write may have replaced them)` : '';
    const line = `${writes.lost} of ${writes.acknowledged} acknowledged writes lost${undecided}${writes.indeterminate ? `, ${writes.indeterminate} writes indeterminate (sent, no answer)` : ''}, ${writes.unacknowledgedPresent} present without acknowledgement`;
    if (writes.lost > allowed) failures.push(`${line}: more than ${allowed} allowed`);
    else reasons.push(line);
    figures.writesIndeterminate = writes.indeterminate;
    figures.writesUndecided = writes.undecided;
  }

  for (const p of input.problems ?? []) failures.push(p);
  Object.assign(figures, input.figures ?? {});

  // A verdict only for what was measured: a drill whose generator was the limit, or whose load
  // completed nothing, says nothing about the system.
  const completed = series.reduce((a, p) => a + p.requests, 0);
  const inconclusive = input.generatorLimited
    ? 'INCONCLUSIVE: the load generator was the limit (its schedule lag grew while it had free in-flight slots); the system was not offered the planned load'
    : completed === 0
      ? 'INCONCLUSIVE: no request completed, so nothing about the system was measured'
      : null;

  const pass = failures.length === 0 && inconclusive === null;
  if (h.expectedFailure) {
    figures.expected = 'fail';
    (pass ? reasons : failures).push(pass ? `expected to fail in this phase (${h.expectedFailure}), yet it held` : `expected in this phase: ${h.expectedFailure}`);
  }

  return {
    name: input.name,
    hypothesis: h.text,
    timeToDetectS: timeToDetectS === null ? null : r3(timeToDetectS),
    timeToRecoverS: timeToRecoverS === null ? null : r3(timeToRecoverS),
    errorsDuringFault: during.errors + during.dropped,
    latencyBeforeP99: before.p99,
    latencyDuringP99: during.p99,
    writes: writes
      ? { acknowledged: writes.acknowledged, present: writes.present, lost: writes.lost, unacknowledgedPresent: writes.unacknowledgedPresent, lostIds: writes.lostIds, indeterminate: writes.indeterminate }
      : null,
    figures,
    pass,
    verdict: inconclusive !== null ? 'inconclusive' : pass ? 'pass' : 'fail',
    reasons: [...(inconclusive !== null ? [inconclusive] : []), ...failures, ...reasons],
  };
}
