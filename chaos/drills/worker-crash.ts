// worker-crash: SIGKILL one worker under the microservices load, just after a backlog of heavy
// uploads (so that it dies holding jobs), and start it again. The jobs it
// held unacked go back to the queue (manual acks after the side effect), the other workers and
// then the restarted one finish them: the synchronous path does not notice, and the job ledger,
// read from the jobs database after a bounded drain, shows nothing lost and (idempotent workers)
// nothing applied twice. The ledger checker's negative control (a worker that acks before its side
// effect, SIGKILLed, shows lost > 0) is in targets/microservices/microservices.int.test.ts.
import pg from 'pg';
import { BenchError } from '../../harness/errors.ts';
import type { DeployPlan, PlannedService } from '../../harness/topology/plan.ts';
import { PG_CREDENTIALS } from '../../targets/app/config.ts';
import { History, submitUpload } from '../../targets/microservices/client.ts';
import { makeFault } from '../faults/index.ts';
import type { Fault } from '../faults/types.ts';
import { checkLedger, formatLedger, type LedgerObservations, type LedgerResult } from '../ledger.ts';
import { drainJobs, readJobObservations } from '../ledger-read.ts';
import { jobsDatabase } from './broker-outage.ts';
import { APPLIES, applied, doesNotApply, type Drill, type VerifyContext } from './types.ts';

/** How long a verification waits for the jobs backlog to drain after the load. */
export const JOBS_DRAIN_TIMEOUT_MS = 90_000;

/** The deployment's workers (microservices of role worker), in plan order. */
export function workerServices(plan: DeployPlan): PlannedService[] {
  return plan.services.filter((s) => s.config.kind === 'microservice' && s.config.microservice.role === 'worker');
}

/** Whether the workers skip a job whose side effect is already there (the default; false shows duplicates). */
function idempotentWorkers(plan: DeployPlan): boolean {
  return workerServices(plan).every((s) => s.config.kind !== 'microservice' || (s.config.microservice as { idempotent?: boolean }).idempotent !== false);
}

/** A drill that checks jobs needs workers and the jobs database they and the uploads API share. */
export function hasWorkersAndJobs(plan: DeployPlan, what: string): ReturnType<Drill['applies']> {
  if (workerServices(plan).length === 0) return doesNotApply(`it ${what}, and phase ${plan.topology.phase} has no workers`);
  return jobsDatabase(plan) ? APPLIES : doesNotApply(`it checks the jobs an uploads API accepted, and phase ${plan.topology.phase} has none`);
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
  problems: string[];
}

/**
 * Waits (bounded) for the jobs backlog to drain, then checks the job ledger of the jobs accepted
 * since the load started against the jobs database. Every row of `jobs` is a job an uploads API
 * answered 202 for (it is written in the transaction that answers), so the history is the table:
 * the engine does not choose job ids.
 */
export async function jobsAfterDrain(ctx: VerifyContext, drill: string): Promise<JobsAfterDrain> {
  const db = applied(jobsDatabase(ctx.plan), drill, 'a jobs database');
  const pool = new pg.Pool({ host: db.address.host, port: db.address.port, ...PG_CREDENTIALS, max: 1, connectionTimeoutMillis: 5_000 });
  pool.on('error', () => {});
  try {
    ctx.progress(`${drill}: waiting up to ${JOBS_DRAIN_TIMEOUT_MS / 1000} s for the jobs backlog to drain`);
    const drain = await drainJobs(pool, JOBS_DRAIN_TIMEOUT_MS);
    // this drill's jobs: accepted since its load started (the database may hold earlier runs'
    // jobs, settled: the drain above waited for every job, theirs included)
    const since = new Date(ctx.load.startedAtMs);
    const ids = await pool.query<{ id: string }>('SELECT id::text FROM jobs WHERE accepted_at >= $1', [since]);
    const mine = new Set(ids.rows.map((r) => r.id));
    const all = await readJobObservations(pool);
    // effects of jobs with no row at all stay in (unexpected); those of earlier runs' jobs do not
    const earlier = await pool.query<{ id: string }>('SELECT id::text FROM jobs WHERE accepted_at < $1', [since]);
    const old = new Set(earlier.rows.map((r) => r.id));
    const observations: LedgerObservations = {
      effects: new Map([...all.effects].filter(([id]) => !old.has(id))),
      deadLettered: new Set([...all.deadLettered].filter((id) => mine.has(id))),
    };
    const ledger = checkLedger(
      ids.rows.map((r) => ({ id: r.id, outcome: 'ok' as const })),
      observations,
      { idempotent: idempotentWorkers(ctx.plan) },
    );
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
      problems,
    };
  } finally {
    await pool.end().catch(() => {});
  }
}

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

/** The service the load enters through (the gateway), for the requests a drill sends itself. */
export function entryService(plan: DeployPlan, drill: string): PlannedService {
  return applied(plan.services.find((s) => s.name === plan.topology.entry), drill, 'an entry service');
}

/**
 * Heavy uploads sent at once just before the kill: under the workload's own uploads the workers
 * are mostly idle, and a SIGKILL of an idle worker tests only its restart. With this backlog the
 * victim holds unacked jobs when it dies (the stack-level test does the same).
 */
const BACKLOG = { uploads: 30, sizeKb: 4096 };

/** The kill, preceded by the backlog of heavy uploads (sent through the entry, answers awaited). */
function killMidJobs(plan: DeployPlan, victim: string): Fault {
  const kill = makeFault('kill', victim, {}, plan);
  const entry = entryService(plan, 'worker-crash');
  return {
    name: kill.name,
    target: kill.target,
    describe: () => `${BACKLOG.uploads} uploads of ${BACKLOG.sizeKb} KiB, then ${kill.describe()}`,
    async apply(ctx) {
      const h = new History();
      await Promise.all(Array.from({ length: BACKLOG.uploads }, () => submitUpload(entry.address, h, { sizeKb: BACKLOG.sizeKb }, 5_000)));
      const applied = await kill.apply(ctx);
      return { detail: `${h.count('ok')} of ${BACKLOG.uploads} backlog uploads accepted, then ${applied.detail}`, revert: () => applied.revert() };
    },
  };
}

export const LEDGER_NOTE = 'the jobs ledger reads the jobs database: one row per accepted upload (the engine does not choose job ids, so a job whose 202 was lost on the way is not in the history; unexpected counts effects of jobs that have no row)';

export const workerCrash: Drill = {
  name: 'worker-crash',
  summary: 'send a backlog of heavy uploads, SIGKILL one worker mid-jobs; its unacked jobs are redelivered, nothing is lost or (idempotent workers) applied twice',
  applies: (plan) => hasWorkersAndJobs(plan, 'kills a worker'),
  defaults: { atS: 10, durationS: 10, tailS: 15 },
  workload: 'microservices',
  hypothesis(plan) {
    const n = workerServices(plan).length;
    return {
      text: `one of ${n} worker(s) dies (SIGKILL) in the middle of jobs: the synchronous path does not notice (fewer than 1% of requests fail, p99 under 1000 ms); after a bounded drain the jobs ledger shows lost 0 and, with idempotent workers, duplicated 0`,
      maxErrorRate: 0.01,
      maxP99Ms: 1000,
    };
  },
  schedule(plan, t) {
    const workers = workerServices(plan);
    const victim = t.target === undefined ? applied(workers[0], 'worker-crash', 'a worker') : workers.find((w) => w.name === t.target);
    if (!victim) throw new BenchError('usage', `${t.target} is not a worker (drill worker-crash)`, `the workers in phase ${plan.topology.phase}: ${workers.map((w) => w.name).join(', ')}`);
    return [{ fault: killMidJobs(plan, victim.name), startS: t.atS, durationS: t.durationS }];
  },
  async verify(ctx) {
    const j = await jobsAfterDrain(ctx, 'worker-crash');
    const notes = [LEDGER_NOTE];
    if (j.redeliveries === 0) notes.push('no redelivery was recorded: the worker held no job between its running mark and its ack when it died (the kill still tested the restart)');
    return { figures: { ...ledgerFigures(j), redeliveries: j.redeliveries }, problems: j.problems, notes };
  },
};
