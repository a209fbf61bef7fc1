// The client side of phase 6's ledger: submits uploads and payments with ids it chose, and
// records what it saw for each (ok / failed / indeterminate), which is the history the ledger
// (chaos/ledger.ts) checks against the databases.
import { randomUUID } from 'node:crypto';
import type { Endpoint } from '../../harness/topology/plan.ts';
import type { ClientOutcome, LedgerOp } from '../../chaos/ledger.ts';

/** A 2xx is ok; a 4xx or 5xx answer is a definite refusal (the service rolled back); no answer is indeterminate. */
export function outcomeOf(status: number | null): ClientOutcome {
  if (status === null) return 'indeterminate';
  return status >= 200 && status < 300 ? 'ok' : 'failed';
}

async function post(at: Endpoint, path: string, body: unknown, timeoutMs: number): Promise<number | null> {
  try {
    const res = await fetch(`http://${at.host}:${at.port}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(timeoutMs),
    });
    await res.arrayBuffer();
    return res.status;
  } catch {
    // a timeout, a reset, a refused connection: the client cannot know whether it was applied
    return null;
  }
}

/** Records the history of one kind of submission. */
export class History {
  readonly ops: LedgerOp[] = [];
  record(id: string, status: number | null): LedgerOp {
    const op = { id, outcome: outcomeOf(status) };
    this.ops.push(op);
    return op;
  }
  count(outcome: ClientOutcome): number {
    return this.ops.filter((o) => o.outcome === outcome).length;
  }
}

/** POST /api/videos with a fresh id; 202 expected. */
export async function submitUpload(at: Endpoint, h: History, upload: { sizeKb: number; poison?: boolean }, timeoutMs = 5_000): Promise<LedgerOp> {
  const id = randomUUID();
  return h.record(id, await post(at, '/api/videos', { id, ...upload }, timeoutMs));
}

/** POST /api/payments with a fresh id; 201 expected. */
export async function submitPayment(at: Endpoint, h: History, payment: { userId: number; amountCents: number }, timeoutMs = 5_000): Promise<LedgerOp> {
  const id = randomUUID();
  return h.record(id, await post(at, '/api/payments', { id, ...payment }, timeoutMs));
}
