// The job ledger of a run (issue #12, "What every phase-6 run records"): after the measured load of
// a topology whose services accept work asynchronously (an uploads API with its jobs database, a
// payment service whose payments a notification service consumes), a bounded drain, then the
// client's history (the engine's LoadLedger: ids it chose, what it saw) checked against those
// databases (chaos/ledger.ts) into results.json's `ledger`. Which databases: the services' own
// `db`, found by their kind and role, never by a phase number.
import pg from 'pg';
import { checkLedger, ledgerSection, type LedgerResult } from '../../chaos/ledger.ts';
import { jobBacklogIn, paymentBacklogIn, readAcceptToCompleteIn, readJobObservationsIn, readNotificationObservationsIn, readPublishLatencyIn, type IdRange } from '../../chaos/ledger-read.ts';
import { operationIdRange } from '../../loadtests/catalogue.ts';
import { PG_CREDENTIALS } from '../../targets/app/config.ts';
import type { Progress } from '../runtime/types.ts';
import type { DeployPlan, PlannedService } from '../topology/plan.ts';
import { ledgerHistory, type LoadLedger } from '../load/ledger-log.ts';
import type { LedgerSection } from './results.ts';

/** How long the drain after the load waits for jobs to settle and payments to be notified. */
export const LEDGER_DRAIN_TIMEOUT_MS = 60_000;

/** The note of a run whose topology keeps a ledger but whose driver cannot record its history. */
export const K6_LEDGER_NOTE = 'job ledger: not recorded (null): k6 sends the same client-chosen ids, but does not hand bench the outcome of each request, so there is no client history to check';

/** The databases a ledger reads (their own addresses, never a proxy a drill may cut). */
export interface LedgerStores {
  /** the uploads API's jobs database (jobs, outbox, effects) */
  jobs: PlannedService | null;
  /** the payment service's database and the notification service's: both, or no payments check */
  payments: { payments: PlannedService; notifications: PlannedService } | null;
  /** the workers claim to be idempotent (then a duplicate fails the jobs ledger) */
  idempotent: boolean;
}

/**
 * What a run does about its ledger once the load is over: nothing (the topology takes no async
 * work: the section stays absent), a null section with a note (no client history: k6, or a
 * workload without ledger requests; never zeros), or read the history. Pure.
 */
export function ledgerStep(stores: LedgerStores | null, outcome: { driver: 'embedded' | 'k6'; ledger?: LoadLedger }, workload: string): { step: 'absent' } | { step: 'null'; note: string } | { step: 'read'; stores: LedgerStores; history: LoadLedger } {
  if (!stores) return { step: 'absent' };
  if (outcome.ledger) return { step: 'read', stores, history: outcome.ledger };
  return { step: 'null', note: outcome.driver === 'k6' ? K6_LEDGER_NOTE : `job ledger: not recorded (null): the ${workload} workload sends no request that carries a client-chosen id` };
}

type MsRole = 'payment' | 'notification' | 'uploads' | 'worker';

function withRole(plan: DeployPlan, role: MsRole): PlannedService[] {
  return plan.services.filter((s) => s.config.kind === 'microservice' && s.config.microservice.role === role);
}

/** The database (its `db` service) of the first service of `role`, or null. */
function dbOf(plan: DeployPlan, role: MsRole): PlannedService | null {
  const s = withRole(plan, role)[0];
  if (!s || s.config.kind !== 'microservice') return null;
  const name = s.config.microservice.db;
  return plan.services.find((x) => x.name === name) ?? null;
}

/** Where a plan keeps what its ledger checks, or null when it takes no asynchronous work. */
export function ledgerStores(plan: DeployPlan): LedgerStores | null {
  const jobs = dbOf(plan, 'uploads');
  const payments = dbOf(plan, 'payment');
  const notifications = dbOf(plan, 'notification');
  if (!jobs && !(payments && notifications)) return null;
  const idempotent = withRole(plan, 'worker').every((s) => s.config.kind !== 'microservice' || s.config.microservice.worker?.idempotent !== false);
  return { jobs, payments: payments && notifications ? { payments, notifications } : null, idempotent };
}

function poolOf(s: PlannedService): pg.Pool {
  const pool = new pg.Pool({ host: s.address.host, port: s.address.port, ...PG_CREDENTIALS, max: 1, connectionTimeoutMillis: 5_000 });
  // a database that dies meanwhile fails the query that uses it, not the process
  pool.on('error', () => {});
  return pool;
}

export interface ReadLedgerOptions {
  progress: Progress;
  signal?: AbortSignal;
  /** default LEDGER_DRAIN_TIMEOUT_MS */
  timeoutMs?: number;
  pollMs?: number;
  /** how often the drain prints where it is (default 5 s) */
  progressEveryMs?: number;
}

/** The backlog of this load's operations: unsettled jobs + unnotified payments, unsent outbox rows. */
async function backlog(pools: Pools, range: IdRange): Promise<{ jobs: number; payments: number; unsent: number }> {
  const j = pools.jobs ? await jobBacklogIn(pools.jobs, range) : { pending: 0, unsent: 0 };
  const p = pools.payments && pools.notifications ? await paymentBacklogIn(pools.payments, pools.notifications, range) : { pending: 0, unsent: 0 };
  return { jobs: j.pending, payments: p.pending, unsent: j.unsent + p.unsent };
}

interface Pools {
  jobs: pg.Pool | null;
  payments: pg.Pool | null;
  notifications: pg.Pool | null;
}

/**
 * Drains (bounded, printed as progress), then checks both ledgers of `ledger` against the
 * databases and builds results.json's section. A drain that does not finish leaves the counts as
 * they are (an operation still in flight counts as lost: honest, since nobody knows it will land)
 * and says so in the failing ledger's reasons.
 */
export async function readRunLedger(stores: LedgerStores, ledger: LoadLedger, o: ReadLedgerOptions): Promise<LedgerSection> {
  const timeoutMs = o.timeoutMs ?? LEDGER_DRAIN_TIMEOUT_MS;
  const pollMs = o.pollMs ?? 500;
  const every = o.progressEveryMs ?? 5_000;
  const range = operationIdRange(ledger.seed, ledger.salt);
  const pools: Pools = {
    jobs: stores.jobs && poolOf(stores.jobs),
    payments: stores.payments && poolOf(stores.payments.payments),
    notifications: stores.payments && poolOf(stores.payments.notifications),
  };
  try {
    const t0 = performance.now();
    let shownAt = -Infinity;
    let left = await backlog(pools, range);
    for (;;) {
      const ms = performance.now() - t0;
      const drained = left.jobs === 0 && left.payments === 0 && left.unsent === 0;
      if (drained || ms >= timeoutMs || o.signal?.aborted) break;
      if (ms - shownAt >= every) {
        o.progress(`ledger drain: ${left.jobs} job(s) not settled, ${left.payments} payment(s) not notified, ${left.unsent} outbox row(s) unsent (${(ms / 1000).toFixed(0)} s of at most ${timeoutMs / 1000} s)`);
        shownAt = ms;
      }
      await new Promise((r) => setTimeout(r, pollMs));
      left = await backlog(pools, range);
    }
    const seconds = (performance.now() - t0) / 1000;
    const pending = left.jobs + left.payments;
    const drain = { seconds: Math.round(seconds * 10) / 10, timeoutS: timeoutMs / 1000, pending, unsent: left.unsent };
    const unfinished =
      pending > 0 || left.unsent > 0
        ? `the drain gave up after ${drain.seconds} s with ${left.jobs} job(s) not settled, ${left.payments} payment(s) not notified and ${left.unsent} outbox row(s) unsent: lost counts what had not landed by then`
        : null;
    o.progress(unfinished ? `ledger drain: ${unfinished}` : `ledger drain: settled in ${drain.seconds} s`);
    let jobs: LedgerResult | null = null;
    let a2c: number[] = [];
    if (pools.jobs) {
      const history = ledgerHistory(ledger, 'jobs');
      jobs = withDrainReason(checkLedger(history, await readJobObservationsIn(pools.jobs, range), { idempotent: stores.idempotent }), unfinished);
      // accept->complete of the jobs the client saw accepted, not of every job the database holds
      const times = await readAcceptToCompleteIn(pools.jobs, range);
      a2c = history.filter((h) => h.outcome === 'ok' && times.has(h.id)).map((h) => times.get(h.id)!);
    }
    let payments: LedgerResult | null = null;
    if (pools.notifications) {
      // consumers of payment.completed are idempotent by payment id (notification.ts)
      payments = withDrainReason(checkLedger(ledgerHistory(ledger, 'payments'), await readNotificationObservationsIn(pools.notifications, range), { idempotent: true, noun: 'payment' }), unfinished);
    }
    // publish latency of what this load's requests put in the outboxes (jobs' and payments')
    const publish = [
      ...(pools.jobs ? await readPublishLatencyIn(pools.jobs, 'job_outbox', range) : []),
      ...(pools.payments ? await readPublishLatencyIn(pools.payments, 'payment_outbox', range) : []),
    ];
    return ledgerSection(jobs, payments, a2c, drain, publish);
  } finally {
    await Promise.all(Object.values(pools).map((p: pg.Pool | null) => p?.end().catch(() => {})));
  }
}

/** A failing result whose drain did not finish says so (the verdict's reason carries it). Pure. */
export function withDrainReason(r: LedgerResult, unfinished: string | null): LedgerResult {
  return unfinished !== null && r.lost > 0 ? { ...r, reasons: [...r.reasons, unfinished] } : r;
}
