// Reads the ledger's observations back from the databases of phase 6, after a bounded drain:
// the jobs database (effects per job, dead-lettered jobs, accept->complete times) and the
// notifications database (notifications per payment). jobsAfterDrain: the ledger of the jobs one
// load accepted (a drill's), read from the jobs database its plan names.
import pg from 'pg';
import { BenchError } from '../harness/errors.ts';
import type { Progress } from '../harness/runtime/types.ts';
import type { DeployPlan, PlannedService } from '../harness/topology/plan.ts';
import { PG_CREDENTIALS } from '../targets/app/config.ts';
import { checkLedger, formatLedger, type LedgerObservations, type LedgerResult } from './ledger.ts';

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

/** How long a verification waits for the jobs backlog to drain after the load. */
export const JOBS_DRAIN_TIMEOUT_MS = 90_000;

/** The database the uploads API keeps its jobs in (the `db` of its microservice config). */
export function jobsDatabase(plan: DeployPlan): PlannedService | null {
  const uploads = plan.services.find((s) => s.config.kind === 'microservice' && s.config.microservice.role === 'uploads');
  if (!uploads || uploads.config.kind !== 'microservice') return null;
  const name = uploads.config.microservice.db;
  return plan.services.find((s) => s.name === name) ?? null;
}

/** When a job was accepted (the 202) and done (its side effect; null: not done). */
export interface JobTimes {
  acceptedMs: number;
  doneMs: number | null;
  deadLettered: boolean;
}

/** What the jobs database says once the backlog has drained (or the drain timed out). */
export interface JobsAfterDrain {
  ledger: LedgerResult;
  /** effects per job id and the dead-lettered ids, as read after the drain */
  observations: LedgerObservations;
  drain: { pending: number; unsent: number; seconds: number };
  /** deliveries beyond the first, as the jobs' attempt counters recorded them */
  redeliveries: number;
  /** accepted jobs that carried poison: true */
  poisonJobs: number;
  /** poison jobs that ended dead-lettered, and non-poison ones that did */
  poisonDeadLettered: number;
  cleanDeadLettered: number;
  /** the load's jobs, accept and done times (wall clock, ms): the backlog over time (chaos/backlog.ts) */
  times: JobTimes[];
  problems: string[];
}

/**
 * Waits (bounded) for the jobs backlog to drain, then checks the job ledger of the jobs accepted
 * since the load started against the jobs database: its own jobs, not the table's (a deployment
 * drilled before holds earlier loads' jobs). Every row of `jobs` is a job an uploads API answered
 * 202 for (written in the transaction that answers), so the history is the rows accepted since the
 * load's start (a history by time: the run's own ledger, harness/run/job-ledger.ts, checks the ids
 * the client chose).
 */
export async function jobsAfterDrain(ctx: { plan: DeployPlan; load: { startedAtMs: number }; progress: Progress }, drill: string): Promise<JobsAfterDrain> {
  const db = jobsDatabase(ctx.plan);
  if (!db) throw new BenchError('internal', `${drill} reads the jobs ledger of a deployment without a jobs database: applies() checks it first`);
  const idempotent = !ctx.plan.services.some((s) => s.config.kind === 'microservice' && s.config.microservice.role === 'worker' && s.config.microservice.worker?.idempotent === false);
  const pool = new pg.Pool({ host: db.address.host, port: db.address.port, ...PG_CREDENTIALS, max: 1, connectionTimeoutMillis: 5_000 });
  pool.on('error', () => {});
  try {
    ctx.progress(`${drill}: waiting up to ${JOBS_DRAIN_TIMEOUT_MS / 1000} s for the jobs backlog to drain`);
    const drain = await drainJobs(pool, JOBS_DRAIN_TIMEOUT_MS);
    const since = new Date(ctx.load.startedAtMs);
    const mine = await pool.query<{ id: string; accepted_ms: number; done_ms: number | null; dead: boolean }>(
      "SELECT id::text, extract(epoch FROM accepted_at) * 1000 AS accepted_ms, extract(epoch FROM done_at) * 1000 AS done_ms, status = 'dead-lettered' AS dead FROM jobs WHERE accepted_at >= $1",
      [since],
    );
    const ids = new Set(mine.rows.map((r) => r.id));
    const all = await readJobObservations(pool);
    // effects of jobs with no row at all stay in (unexpected); those of earlier loads' jobs do not
    const earlier = await pool.query<{ id: string }>('SELECT id::text FROM jobs WHERE accepted_at < $1', [since]);
    const old = new Set(earlier.rows.map((r) => r.id));
    const observations: LedgerObservations = {
      effects: new Map([...all.effects].filter(([id]) => !old.has(id))),
      deadLettered: new Set([...all.deadLettered].filter((id) => ids.has(id))),
    };
    const ledger = checkLedger([...ids].map((id) => ({ id, outcome: 'ok' as const })), observations, { idempotent });
    const { rows } = await pool.query<{ redeliveries: string; poison: string; poison_dead: string; clean_dead: string }>(
      `SELECT coalesce(sum(greatest(attempts - 1, 0)), 0) AS redeliveries,
              count(*) FILTER (WHERE poison) AS poison,
              count(*) FILTER (WHERE poison AND status = 'dead-lettered') AS poison_dead,
              count(*) FILTER (WHERE NOT poison AND status = 'dead-lettered') AS clean_dead
         FROM jobs WHERE accepted_at >= $1`,
      [since],
    );
    const r = rows[0]!;
    const problems = ledger.reasons.map((x) => `${x} (${formatLedger('jobs', ledger)})`);
    if (drain.pending > 0 || drain.unsent > 0) problems.push(`${drain.pending} accepted job(s) neither done nor dead-lettered and ${drain.unsent} outbox row(s) unsent ${JOBS_DRAIN_TIMEOUT_MS / 1000} s after the load`);
    return {
      ledger,
      observations,
      drain,
      redeliveries: Number(r.redeliveries),
      poisonJobs: Number(r.poison),
      poisonDeadLettered: Number(r.poison_dead),
      cleanDeadLettered: Number(r.clean_dead),
      times: mine.rows.map((x) => ({ acceptedMs: Number(x.accepted_ms), doneMs: x.done_ms === null ? null : Number(x.done_ms), deadLettered: x.dead })),
      problems,
    };
  } finally {
    await pool.end().catch(() => {});
  }
}

/** What a drill's notes say about where its jobs ledger comes from. */
export const LEDGER_NOTE = 'the drill\'s jobs ledger reads the jobs database: one row per upload accepted since its load began (a job whose 202 was lost on the way counts as accepted; unexpected counts effects of jobs that have no row); results.json\'s ledger checks the ids the client chose';

/** The ledger's counts as drill figures. */
export function ledgerFigures(j: JobsAfterDrain): Record<string, number> {
  return {
    acceptedJobs: j.ledger.accepted,
    doneJobs: j.ledger.done,
    lostJobs: j.ledger.lost,
    duplicatedJobs: j.ledger.duplicated,
    unexpectedJobs: j.ledger.unexpected,
    deadLetteredJobs: j.ledger.deadLettered,
    pendingAfterDrain: j.drain.pending,
    unsentAfterDrain: j.drain.unsent,
    drainSeconds: Number(j.drain.seconds.toFixed(1)),
  };
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

/**
 * Publish latency of one outbox (`job_outbox` keyed by job_id, `payment_outbox` by payment_id):
 * ms from the row's write (the accepting transaction) to `sent_at`, which the relay sets once the
 * broker confirmed (publisher confirms / acks=all), for the rows in `range` that were sent.
 */
export async function readPublishLatencyIn(db: pg.Pool | pg.Client, outbox: 'job_outbox' | 'payment_outbox', range: IdRange): Promise<number[]> {
  const key = outbox === 'job_outbox' ? 'job_id' : 'payment_id';
  const r = await db.query<{ ms: number }>(`SELECT extract(epoch FROM sent_at - created_at) * 1000 AS ms FROM ${outbox} WHERE sent_at IS NOT NULL AND ${key} BETWEEN $1 AND $2`, [range.lo, range.hi]);
  return r.rows.map((x) => Number(x.ms));
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
