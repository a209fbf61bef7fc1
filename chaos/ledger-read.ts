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
