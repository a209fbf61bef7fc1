// The jobs backlog over time and what a drill reads from it (backlog-drain, slow-consumer). Pure.
// The series is rebuilt after the drain from the jobs' own timestamps (accepted_at, done_at, set
// by PostgreSQL on this machine's clock): a job is in the backlog from its 202 until its side
// effect. Nothing is sampled during the drill, so no second is missed and no poller competes with
// the workers for the jobs database; a dead-lettered job (no done time) is left out of the series
// (the ledger accounts for it).
import type { JobTimes } from './ledger-read.ts';

export interface BacklogPoint {
  /** wall clock, ms */
  tMs: number;
  /** jobs accepted and not yet done at tMs */
  backlog: number;
}

/** Seconds before the fault over which the usual backlog is taken (its maximum: jobs in flight come and go). */
export const PRE_FAULT_S = 5;

/** The backlog every `stepMs` from `fromMs` to `toMs` (both included). Dead-lettered jobs are left out. */
export function backlogSeries(jobs: readonly JobTimes[], fromMs: number, toMs: number, stepMs = 100): BacklogPoint[] {
  const counted = jobs.filter((j) => j.doneMs !== null || !j.deadLettered);
  const accepted = counted.map((j) => j.acceptedMs).sort((a, b) => a - b);
  const done = counted.flatMap((j) => (j.doneMs === null ? [] : [j.doneMs])).sort((a, b) => a - b);
  const out: BacklogPoint[] = [];
  let a = 0;
  let d = 0;
  for (let t = fromMs; t <= toMs; t += stepMs) {
    while (a < accepted.length && accepted[a]! <= t) a++;
    while (d < done.length && done[d]! <= t) d++;
    out.push({ tMs: t, backlog: a - d });
  }
  return out;
}

/** Least-squares slope of the backlog, jobs per second; null with fewer than 2 points. */
export function backlogSlope(points: readonly BacklogPoint[]): number | null {
  if (points.length < 2) return null;
  const n = points.length;
  const mt = points.reduce((s, p) => s + p.tMs, 0) / n;
  const mb = points.reduce((s, p) => s + p.backlog, 0) / n;
  let num = 0;
  let den = 0;
  for (const p of points) {
    num += (p.tMs - mt) * (p.backlog - mb);
    den += (p.tMs - mt) ** 2;
  }
  return den === 0 ? null : (num / den) * 1000;
}

export interface BacklogFigures {
  /** the usual backlog: its maximum over the PRE_FAULT_S seconds before the fault */
  preFaultBacklog: number;
  /** the backlog when the fault ended (the workers started again, the latency removed) */
  backlogAtFaultEnd: number;
  peakBacklog: number;
  /** least-squares slope of the backlog during the fault, jobs/s; null when the window is shorter than two points */
  slopeDuringFault: number | null;
  /** fault start -> the backlog first above its usual level; null when it never rose */
  backlogDetectS: number | null;
  /** fault end -> the backlog back to its usual level; null when it never came back in the data */
  drainS: number | null;
  /** jobs done from the fault's end until drained (those the fault held mid-job finish at once) */
  doneInDrain: number | null;
  /** doneInDrain per second of drainS; null when drainS is null or 0 */
  drainRatePerS: number | null;
  /** fault start -> the backlog back to its usual level (the asynchronous path's recovery) */
  backlogRecoverS: number | null;
}

const r1 = (x: number) => Math.round(x * 10) / 10;
const r3 = (x: number) => Math.round(x * 1000) / 1000;

/**
 * The backlog figures around one fault, from the jobs' times: how high the backlog was before,
 * how it grew during the fault (slope), and how long it took after the fault's end to come back
 * to its usual level (drain time) and at what rate the jobs were done meanwhile. `untilMs`: the
 * end of the data (after the drain), past which nothing is judged.
 */
export function backlogFigures(jobs: readonly JobTimes[], w: { startMs: number; endMs: number; untilMs: number; loadStartMs: number }, stepMs = 100): BacklogFigures {
  const from = Math.max(w.loadStartMs, w.startMs - PRE_FAULT_S * 1000);
  const series = backlogSeries(jobs, from, w.untilMs, stepMs);
  const before = series.filter((p) => p.tMs < w.startMs);
  const during = series.filter((p) => p.tMs >= w.startMs && p.tMs <= w.endMs);
  const after = series.filter((p) => p.tMs >= w.endMs);
  const level = before.length > 0 ? Math.max(...before.map((p) => p.backlog)) : 0;
  const rose = series.find((p) => p.tMs >= w.startMs && p.backlog > level);
  const drained = after.find((p) => p.backlog <= level);
  const drainS = drained ? (drained.tMs - w.endMs) / 1000 : null;
  const doneInDrain = drained ? jobs.filter((j) => j.doneMs !== null && j.doneMs > w.endMs && j.doneMs <= drained.tMs).length : null;
  const slope = backlogSlope(during);
  return {
    preFaultBacklog: level,
    backlogAtFaultEnd: after[0]?.backlog ?? during[during.length - 1]?.backlog ?? 0,
    peakBacklog: Math.max(level, ...series.filter((p) => p.tMs >= w.startMs).map((p) => p.backlog)),
    slopeDuringFault: slope === null ? null : r3(slope),
    backlogDetectS: rose ? r3((rose.tMs - w.startMs) / 1000) : null,
    drainS: drainS === null ? null : r1(drainS),
    doneInDrain,
    drainRatePerS: drainS !== null && drainS > 0 && doneInDrain !== null ? r1(doneInDrain / drainS) : null,
    backlogRecoverS: drained ? r1((drained.tMs - w.startMs) / 1000) : null,
  };
}
