// The verdict of a run: PASS, FAIL or INCONCLUSIVE, only for what was measured. A run whose
// generator was the limit, or that completed nothing, says nothing about the system: it is
// INCONCLUSIVE (exit 1, with its reason on one line), never PASS. Pure: no I/O.
import type { DrillResult, LedgerSection, LoadResults, Objective, TrafficModel, Verdict } from './schema.ts';
import { fmtMs, fmtPct } from './format.ts';
import { ArrivalSchedule } from '../harness/load/scheduler.ts';

/** The thresholds `bench run` judges a load by (--p99, --max-error-rate). */
export interface ObjectiveThresholds {
  p99Ms: number;
  /** the failed share allowed, 0..1; 0 is passable (<=) */
  maxErrorRate: number;
}

/**
 * The failed share of the offered load: errors and requests dropped at the in-flight cap (the
 * system did not answer in time to free a slot) over everything due. null when nothing was due.
 */
export function failRateOf(totals: LoadResults['totals']): number | null {
  if (totals.failRate !== undefined) return totals.failRate;
  const offered = totals.requests + totals.dropped;
  return offered > 0 ? (totals.errors + totals.dropped) / offered : null;
}

/** The run's objectives: p99 below the threshold, failed share (drops included) at most the allowed one. */
export function objectivesFor(t: ObjectiveThresholds, load: LoadResults): Objective[] {
  const p99 = load.latencyMs.p99;
  const failRate = failRateOf(load.totals);
  return [
    {
      name: 'p99-latency',
      description: `p99 < ${t.p99Ms} ms`,
      threshold: t.p99Ms,
      actual: p99,
      // unmeasured (no response at all) is not a pass
      pass: p99 !== null && p99 < t.p99Ms,
    },
    {
      name: 'error-rate',
      description: `failed share (errors + dropped) <= ${(t.maxErrorRate * 100).toFixed(2)}%`,
      threshold: t.maxErrorRate,
      actual: failRate,
      pass: failRate !== null && failRate <= t.maxErrorRate,
    },
  ];
}

export interface RunVerdictInput {
  load: LoadResults;
  objectives: readonly Objective[];
  drills: readonly DrillResult[];
  /** k6 exited 99 */
  thresholdsFailed?: boolean;
  /** the job ledger (asynchronous topologies); null/absent: the run took no async work */
  ledger?: LedgerSection | null;
}

export interface RunVerdict {
  verdict: Verdict;
  /** one line; empty for a pass */
  reason: string;
}

/**
 * The share of sent requests lost to stale keep-alive connections above which a run is
 * INCONCLUSIVE: past 1%, the generator's own connection handling (an idle limit above a keep-alive
 * timeout on the path) shaped the figures enough that they no longer describe the system.
 */
export const STALE_KEEPALIVE_MAX_SHARE = 0.01;

/** stale_keepalive ÷ sent (completed + stale); null when the driver does not count them or nothing was sent. */
export function staleShareOf(totals: LoadResults['totals']): number | null {
  const stale = totals.staleKeepalive;
  if (stale === undefined || stale === null) return null;
  const sent = totals.requests + stale;
  return sent > 0 ? stale / sent : null;
}

/** The reason a load cannot judge the system, or null when it can. */
export function inconclusiveReason(load: LoadResults): string | null {
  if (load.totals.requests === 0) {
    return load.totals.dropped > 0
      ? `no request completed (${load.totals.dropped} dropped): nothing about the system was measured`
      : 'no request completed: nothing about the system was measured';
  }
  const stale = staleShareOf(load.totals);
  if (stale !== null && stale > STALE_KEEPALIVE_MAX_SHARE) {
    return `${load.totals.staleKeepalive} requests (${fmtPct(stale)} of sent, above ${fmtPct(STALE_KEEPALIVE_MAX_SHARE)}) went out on connections the server had already closed (stale_keepalive): the generator's connections, not the system, failed them`;
  }
  if (load.generator.limited) {
    return `the load generator was the limit: its schedule lag grew (up to ${fmtMs(load.generator.maxLagMs)}) while it had free in-flight slots, so its own CPU, not the system, held the load back`;
  }
  return null;
}

/**
 * The ledger's part of the verdict on one line, or null when it passes (or was not read): lost = 0
 * and unexpected = 0, and duplicated = 0 with idempotent consumers (checkLedger's own rule, whose
 * reasons are carried in the section).
 */
export function ledgerFailure(ledger: LedgerSection | null): string | null {
  if (ledger === null) return null;
  const parts: string[] = [];
  for (const [name, c] of [['jobs', ledger.jobs], ['payments', ledger.payments]] as const) {
    if (c !== null && c.verdict === 'FAIL') parts.push(`${name} ledger: ${c.reasons.join(', ')}`);
  }
  return parts.length > 0 ? parts.join('; ') : null;
}

/** PASS, FAIL or INCONCLUSIVE, with the reason on one line. */
export function runVerdict(input: RunVerdictInput): RunVerdict {
  const why = inconclusiveReason(input.load);
  if (why !== null) return { verdict: 'inconclusive', reason: why };
  const drill = input.drills.find((d) => d.verdict === 'inconclusive');
  if (drill) return { verdict: 'inconclusive', reason: `drill ${drill.name}: ${drill.reasons[0] ?? 'inconclusive'}` };
  const failed: string[] = [];
  for (const o of input.objectives) {
    if (!o.pass) failed.push(`${o.description}: ${o.actual === null ? 'not measured' : o.name === 'error-rate' ? fmtPct(o.actual) : fmtMs(o.actual)}`);
  }
  for (const d of input.drills) if (!d.pass) failed.push(`drill ${d.name} failed`);
  if (input.thresholdsFailed) failed.push("k6's thresholds failed");
  const ledger = ledgerFailure(input.ledger ?? null);
  if (ledger !== null) failed.push(ledger);
  return failed.length > 0 ? { verdict: 'fail', reason: failed.join('; ') } : { verdict: 'pass', reason: '' };
}

/**
 * The model with the achieved scale factor: the requests completed over the requests the model
 * would have sent in the same time (the schedule's own due count ÷ the planned factor), so a ramp
 * counts alike on both sides and an achieved factor equal to the planned one means the whole
 * planned load was completed.
 */
export function withAchievedScale(model: TrafficModel, load: LoadResults): TrafficModel {
  let achieved: number | null = null;
  if (model.scaleFactor > 0 && load.totals.requests > 0 && load.stages.length > 0) {
    const schedule = new ArrivalSchedule(load.stages);
    const due = schedule.countAt(Math.min(load.durationS, schedule.durationS));
    if (due > 0) achieved = (load.totals.requests / (due / model.scaleFactor));
  }
  return { ...model, achievedScaleFactor: achieved === null ? null : Math.round(achieved * 1e6) / 1e6 };
}
