// Reads the ledger's observations back from the databases of phase 6, after a bounded drain:
// the jobs database (effects per job, dead-lettered jobs, accept->complete times) and the
// notifications database (notifications per payment).
import type pg from 'pg';
import type { LedgerObservations } from './ledger.ts';

/** Effects per job and the dead-lettered jobs. */
export async function readJobObservations(db: pg.Pool | pg.Client): Promise<LedgerObservations> {
  const effects = await db.query<{ job_id: string; n: string }>('SELECT job_id::text, count(*) AS n FROM job_effects GROUP BY job_id');
  const dead = await db.query<{ id: string }>("SELECT id::text FROM jobs WHERE status = 'dead-lettered'");
  return { effects: new Map(effects.rows.map((r) => [r.job_id, Number(r.n)])), deadLettered: new Set(dead.rows.map((r) => r.id)) };
}

/** Notifications per payment (no dead-lettering on this path). */
export async function readNotificationObservations(db: pg.Pool | pg.Client): Promise<LedgerObservations> {
  const n = await db.query<{ payment_id: string; n: string }>('SELECT payment_id::text, count(*) AS n FROM notifications GROUP BY payment_id');
  return { effects: new Map(n.rows.map((r) => [r.payment_id, Number(r.n)])), deadLettered: new Set() };
}

/** Milliseconds from the 202 (accepted_at) to the side effect (done_at) of every done job. */
export async function readAcceptToComplete(db: pg.Pool | pg.Client): Promise<number[]> {
  const r = await db.query<{ ms: number }>("SELECT extract(epoch FROM done_at - accepted_at) * 1000 AS ms FROM jobs WHERE status = 'done' AND done_at IS NOT NULL");
  return r.rows.map((x) => Number(x.ms));
}

/** Jobs not yet settled (queued or running) and outbox rows not yet sent. */
export async function jobBacklog(db: pg.Pool | pg.Client): Promise<{ pending: number; unsent: number }> {
  const r = await db.query<{ pending: string; unsent: string }>(
    "SELECT (SELECT count(*) FROM jobs WHERE status IN ('queued', 'running')) AS pending, (SELECT count(*) FROM job_outbox WHERE sent_at IS NULL) AS unsent",
  );
  return { pending: Number(r.rows[0]!.pending), unsent: Number(r.rows[0]!.unsent) };
}

/**
 * Waits until no job is queued or running and the outbox is empty, or until `timeoutMs`: the
 * bounded drain before the ledger is read. Returns the backlog left (0/0 when it drained) and
 * how long it took.
 */
export async function drainJobs(db: pg.Pool | pg.Client, timeoutMs: number, pollMs = 200): Promise<{ pending: number; unsent: number; seconds: number }> {
  const t0 = performance.now();
  for (;;) {
    const b = await jobBacklog(db);
    const seconds = (performance.now() - t0) / 1000;
    if ((b.pending === 0 && b.unsent === 0) || seconds * 1000 >= timeoutMs) return { ...b, seconds };
    await new Promise((r) => setTimeout(r, pollMs));
  }
}

// ---- one load's operations: ids in [range.lo, range.hi] (loadtests/catalogue.ts operationIdRange) ----
// A run reads only the ids its own load chose: the warm-up's (another salt), a drill's own
// uploads and an earlier run's on a kept deployment are someone else's history, not unexpected.

/** The ids of one load, inclusive bounds (uuid order is the hex text's order). */
export interface IdRange {
  lo: string;
  hi: string;
}

/** Effects per job and the dead-lettered jobs, of the jobs whose ids are in `range`. */
export async function readJobObservationsIn(db: pg.Pool | pg.Client, range: IdRange): Promise<LedgerObservations> {
  const effects = await db.query<{ job_id: string; n: string }>('SELECT job_id::text, count(*) AS n FROM job_effects WHERE job_id BETWEEN $1 AND $2 GROUP BY job_id', [range.lo, range.hi]);
  const dead = await db.query<{ id: string }>("SELECT id::text FROM jobs WHERE status = 'dead-lettered' AND id BETWEEN $1 AND $2", [range.lo, range.hi]);
  return { effects: new Map(effects.rows.map((r) => [r.job_id, Number(r.n)])), deadLettered: new Set(dead.rows.map((r) => r.id)) };
}

/** Notifications per payment, of the payments whose ids are in `range`. */
export async function readNotificationObservationsIn(db: pg.Pool | pg.Client, range: IdRange): Promise<LedgerObservations> {
  const n = await db.query<{ payment_id: string; n: string }>('SELECT payment_id::text, count(*) AS n FROM notifications WHERE payment_id BETWEEN $1 AND $2 GROUP BY payment_id', [range.lo, range.hi]);
  return { effects: new Map(n.rows.map((r) => [r.payment_id, Number(r.n)])), deadLettered: new Set() };
}

/** Accept->complete (ms, accepted_at to done_at) of the done jobs in `range`, by job id. */
export async function readAcceptToCompleteIn(db: pg.Pool | pg.Client, range: IdRange): Promise<Map<string, number>> {
  const r = await db.query<{ id: string; ms: number }>(
    "SELECT id::text, extract(epoch FROM done_at - accepted_at) * 1000 AS ms FROM jobs WHERE status = 'done' AND done_at IS NOT NULL AND id BETWEEN $1 AND $2",
    [range.lo, range.hi],
  );
  return new Map(r.rows.map((x) => [x.id, Number(x.ms)]));
}

/** Jobs in `range` not yet settled (queued or running), and their outbox rows not yet sent. */
export async function jobBacklogIn(db: pg.Pool | pg.Client, range: IdRange): Promise<{ pending: number; unsent: number }> {
  const r = await db.query<{ pending: string; unsent: string }>(
    "SELECT (SELECT count(*) FROM jobs WHERE status IN ('queued', 'running') AND id BETWEEN $1 AND $2) AS pending, (SELECT count(*) FROM job_outbox WHERE sent_at IS NULL AND job_id BETWEEN $1 AND $2) AS unsent",
    [range.lo, range.hi],
  );
  return { pending: Number(r.rows[0]!.pending), unsent: Number(r.rows[0]!.unsent) };
}

/**
 * Payments in `range` not yet notified (the payment database's rows less the notification
 * database's distinct payments: two databases, no join) and their outbox rows not yet sent.
 */
export async function paymentBacklogIn(payments: pg.Pool | pg.Client, notifications: pg.Pool | pg.Client, range: IdRange): Promise<{ pending: number; unsent: number }> {
  const p = await payments.query<{ n: string; unsent: string }>(
    'SELECT (SELECT count(*) FROM payments WHERE id BETWEEN $1 AND $2) AS n, (SELECT count(*) FROM payment_outbox WHERE sent_at IS NULL AND payment_id BETWEEN $1 AND $2) AS unsent',
    [range.lo, range.hi],
  );
  const n = await notifications.query<{ n: string }>('SELECT count(DISTINCT payment_id) AS n FROM notifications WHERE payment_id BETWEEN $1 AND $2', [range.lo, range.hi]);
  return { pending: Math.max(0, Number(p.rows[0]!.n) - Number(n.rows[0]!.n)), unsent: Number(p.rows[0]!.unsent) };
}
