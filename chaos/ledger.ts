// The job ledger: Jepsen's total-queue checker for the work phase 6 accepts. The client records
// every submission with its own id and what it saw (ok: a 2xx; failed: a definite refusal;
// indeterminate: no answer, a timeout, a reset); after a bounded drain the databases say which
// ids had their side effect applied (and how often) and which were dead-lettered. Pure.
//
//   lost          accepted (ok), neither done nor dead-lettered
//   duplicated    side effect applied more than once
//   unexpected    done, but never sent by the client, or refused to it (failed)
//   recovered     indeterminate at the client, done in the end
//   deadLettered  given up on by the delivery limit (accounted for, not lost)
//
// PASS needs lost = 0 and unexpected = 0, and duplicated = 0 when the consumers claim to be
// idempotent. The same check runs for payments, where "done" is a notification.

import { LatencyHistogram } from '../harness/load/histogram.ts';
import type { LedgerSection } from '../harness/run/results.ts';

export type ClientOutcome = 'ok' | 'failed' | 'indeterminate';

export interface LedgerOp {
  /** the id the client chose for the operation (a UUID) */
  id: string;
  outcome: ClientOutcome;
}

/** What the databases say after the drain. */
export interface LedgerObservations {
  /** side effects applied, by id (absent: never) */
  effects: ReadonlyMap<string, number>;
  /** ids dead-lettered (never done) */
  deadLettered: ReadonlySet<string>;
}

export interface LedgerCounts {
  attempted: number;
  accepted: number;
  failed: number;
  indeterminate: number;
  /** accepted or recovered ids whose effect was applied at least once */
  done: number;
  lost: number;
  duplicated: number;
  unexpected: number;
  recovered: number;
  deadLettered: number;
}

export interface LedgerResult extends LedgerCounts {
  verdict: 'PASS' | 'FAIL';
  /** one line per failed condition */
  reasons: string[];
  /** up to 20 ids of each kind, for the report */
  examples: { lost: string[]; duplicated: string[]; unexpected: string[] };
}

export interface LedgerCheckOptions {
  /** true when the consumers are idempotent: then a duplicate fails the check */
  idempotent: boolean;
  /** what "done" means, for the reasons' wording ("job", "payment") */
  noun?: string;
}

const EXAMPLES = 20;

/** Checks a history against what the databases hold. Pure. */
export function checkLedger(ops: readonly LedgerOp[], obs: LedgerObservations, o: LedgerCheckOptions): LedgerResult {
  const noun = o.noun ?? 'job';
  const c: LedgerCounts = { attempted: 0, accepted: 0, failed: 0, indeterminate: 0, done: 0, lost: 0, duplicated: 0, unexpected: 0, recovered: 0, deadLettered: 0 };
  const ex = { lost: [] as string[], duplicated: [] as string[], unexpected: [] as string[] };
  const note = (list: string[], id: string) => {
    if (list.length < EXAMPLES) list.push(id);
  };
  const seen = new Map<string, ClientOutcome>();
  for (const op of ops) {
    // a retried submission with the same id: the best outcome the client saw stands
    const prev = seen.get(op.id);
    if (prev === 'ok' || (prev === 'indeterminate' && op.outcome === 'failed')) continue;
    seen.set(op.id, op.outcome);
  }
  for (const [id, outcome] of seen) {
    c.attempted += 1;
    const applied = obs.effects.get(id) ?? 0;
    const dead = obs.deadLettered.has(id);
    if (applied > 1) {
      c.duplicated += 1;
      note(ex.duplicated, id);
    }
    if (outcome === 'ok') {
      c.accepted += 1;
      if (applied > 0) c.done += 1;
      else if (dead) c.deadLettered += 1;
      else {
        c.lost += 1;
        note(ex.lost, id);
      }
    } else if (outcome === 'indeterminate') {
      c.indeterminate += 1;
      if (applied > 0) {
        c.recovered += 1;
        c.done += 1;
      } else if (dead) c.deadLettered += 1;
    } else {
      c.failed += 1;
      // the client was told no: an effect means the system did what it refused
      if (applied > 0 || dead) {
        c.unexpected += 1;
        note(ex.unexpected, id);
      }
    }
  }
  for (const [id, applied] of obs.effects) {
    if (seen.has(id) || applied === 0) continue;
    c.unexpected += 1;
    note(ex.unexpected, id);
    if (applied > 1) {
      c.duplicated += 1;
      note(ex.duplicated, id);
    }
  }
  const reasons: string[] = [];
  if (c.lost > 0) reasons.push(`${c.lost} accepted ${noun}(s) lost (never done nor dead-lettered)`);
  if (c.unexpected > 0) reasons.push(`${c.unexpected} unexpected ${noun}(s) (done but never accepted)`);
  if (o.idempotent && c.duplicated > 0) reasons.push(`${c.duplicated} ${noun}(s) applied more than once with idempotent consumers`);
  return { ...c, verdict: reasons.length === 0 ? 'PASS' : 'FAIL', reasons, examples: ex };
}

/** One line for a summary: the counts and the verdict. Pure. */
export function formatLedger(name: string, r: LedgerResult): string {
  return `${name} ledger ${r.verdict}: accepted ${r.accepted}, done ${r.done}, lost ${r.lost}, duplicated ${r.duplicated}, unexpected ${r.unexpected}, recovered ${r.recovered}, dead-lettered ${r.deadLettered}, indeterminate ${r.indeterminate}, failed ${r.failed}`;
}

/** A result's counts as results.json carries them (no examples: the ids go to the report's notes). */
function countsOf(r: LedgerResult): NonNullable<LedgerSection['jobs']> {
  const { accepted, done, lost, duplicated, unexpected, recovered, deadLettered, indeterminate, failed, verdict, reasons } = r;
  return { accepted, done, lost, duplicated, unexpected, recovered, deadLettered, indeterminate, failed, verdict, reasons };
}

/**
 * results.json's ledger section: both checks, the accept->complete times recorded into one HDR
 * histogram (percentiles read from it, never averaged) and the drain. Pure.
 */
export function ledgerSection(
  jobs: LedgerResult | null,
  payments: LedgerResult | null,
  acceptToCompleteMs: readonly number[],
  drain: LedgerSection['drain'],
  publishMs: readonly number[] | null = null,
): LedgerSection {
  const summary = (values: readonly number[]) => {
    const h = new LatencyHistogram();
    for (const v of values) h.recordMs(v);
    return { p50: h.percentileMs(50), p99: h.percentileMs(99), max: h.percentileMs(100), count: values.length };
  };
  return {
    jobs: jobs && countsOf(jobs),
    payments: payments && countsOf(payments),
    acceptToCompleteMs: summary(acceptToCompleteMs),
    ...(publishMs !== null ? { publishMs: summary(publishMs) } : {}),
    drain,
  };
}
