// The client's side of the job ledger (chaos/ledger.ts) as the load engine keeps it: for every
// request of an entry with a `ledger` (loadtests/catalogue.ts) that went on the wire, its number
// in the load (the n of operationId, from which its id follows) and what the client saw. Numbers,
// not id strings: two small numbers a request, cheap to keep and to post across threads, and the
// ids are derived only when the ledger is read. A request never sent (dropped at the in-flight cap,
// cut at the end) was not attempted and is not recorded.
import { LEDGER_KINDS, operationId, type LedgerKind } from '../../loadtests/catalogue.ts';

/** What the client saw of one operation (chaos/ledger.ts ClientOutcome). */
export type ClientOutcome = 'ok' | 'failed' | 'indeterminate';

/** Outcome codes, in the order `outcome` arrays index them. */
export const OUTCOMES: readonly ClientOutcome[] = ['ok', 'failed', 'indeterminate'];

/** One ledger's records: parallel arrays, request numbers ascending once merged. */
export interface LedgerRecords {
  seq: number[];
  /** index into OUTCOMES */
  outcome: number[];
}

/** The ledger history of one load: its id namespace (seed, salt) and the records per ledger. */
export interface LoadLedger {
  seed: number;
  salt: number;
  jobs: LedgerRecords;
  payments: LedgerRecords;
}

/**
 * The outcome of an answered or unanswered request: ok when the entry expects the status (a 2xx);
 * failed on a 4xx (the service refused it and rolled back); indeterminate with no answer (timeout,
 * reset, cut at the end), and on a 5xx too: a gateway's 502/504 may come after the service
 * committed (the engine's write log reads a 5xx the same way), and a refusal counted as failed
 * whose effect shows up later would be reported as unexpected, a false alarm. Pure.
 */
export function ledgerOutcome(answered: boolean, status: number, expected: boolean): number {
  if (!answered) return 2;
  if (expected) return 0;
  return status >= 400 && status < 500 ? 1 : 2;
}

/** Records one thread's ledger requests. */
export class LedgerLog {
  private readonly records: LedgerRecords[] = LEDGER_KINDS.map(() => ({ seq: [], outcome: [] }));
  constructor(
    private readonly seed: number,
    private readonly salt: number,
  ) {}

  /** `kind`: the index of the ledger in LEDGER_KINDS; `outcome`: ledgerOutcome's code. */
  record(kind: number, seq: number, outcome: number): void {
    const r = this.records[kind]!;
    r.seq.push(seq);
    r.outcome.push(outcome);
  }

  /** The records ordered by request number (they are kept in completion order). */
  result(): LoadLedger {
    const [jobs, payments] = this.records.map((r) => byNumber([r])) as [LedgerRecords, LedgerRecords];
    return { seed: this.seed, salt: this.salt, jobs, payments };
  }
}

/**
 * The ledgers of a load's parts (generator threads) as one: every request belongs to exactly one
 * part, so the records are concatenated and ordered by request number (what one thread would have
 * recorded). undefined when no part recorded one; throws when parts disagree on the namespace.
 */
export function mergeLedgers(parts: ReadonlyArray<LoadLedger | undefined>): LoadLedger | undefined {
  const got = parts.filter((p): p is LoadLedger => p !== undefined);
  if (got.length === 0) return undefined;
  const { seed, salt } = got[0]!;
  if (got.some((p) => p.seed !== seed || p.salt !== salt)) throw new Error('generator threads recorded ledgers of different loads (seed or salt differ)');
  const merge = (kind: LedgerKind): LedgerRecords => byNumber(got.map((p) => p[kind]));
  return { seed, salt, jobs: merge('jobs'), payments: merge('payments') };
}

/** Records of several lists as one, ordered by request number. */
function byNumber(lists: readonly LedgerRecords[]): LedgerRecords {
  const pairs: Array<[number, number]> = [];
  for (const r of lists) for (let i = 0; i < r.seq.length; i++) pairs.push([r.seq[i]!, r.outcome[i]!]);
  pairs.sort((a, b) => a[0] - b[0]);
  return { seq: pairs.map((x) => x[0]), outcome: pairs.map((x) => x[1]) };
}

/** One ledger's history as the checker reads it: each operation's id and outcome. */
export function ledgerHistory(l: LoadLedger, kind: LedgerKind): Array<{ id: string; outcome: ClientOutcome }> {
  const r = l[kind];
  return r.seq.map((n, i) => ({ id: operationId(l.seed, l.salt, n), outcome: OUTCOMES[r.outcome[i]!]! }));
}
