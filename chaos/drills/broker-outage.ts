// broker-outage: SIGKILL the message broker (phase 6's RabbitMQ) under the microservices load, and
// start it again. No accepted job depends on the broker being up at accept time: payments and
// uploads keep answering 201/202 (their outbox holds what the broker cannot take), and after the
// broker is back the outbox and the queue drain, with every accepted job done or dead-lettered.
import pg from 'pg';
import { BenchError } from '../../harness/errors.ts';
import type { DeployPlan, PlannedService } from '../../harness/topology/plan.ts';
import { PG_CREDENTIALS } from '../../targets/app/config.ts';
import { makeFault } from '../faults/index.ts';
import { drainJobs } from '../ledger-read.ts';
import { APPLIES, applied, doesNotApply, type Drill } from './types.ts';

/** How long the verification waits for the backlog to drain after the load. */
const DRAIN_TIMEOUT_MS = 90_000;

/** The broker of a deployment: its RabbitMQ, when it has one. */
export function brokerService(plan: DeployPlan): PlannedService | null {
  return plan.services.find((s) => s.kind === 'rabbitmq') ?? null;
}

/** The database the uploads API keeps its jobs in (the `db` of its microservice config). */
export function jobsDatabase(plan: DeployPlan): PlannedService | null {
  const uploads = plan.services.find((s) => s.config.kind === 'microservice' && s.config.microservice.role === 'uploads');
  if (!uploads || uploads.config.kind !== 'microservice') return null;
  const name = uploads.config.microservice.db;
  return plan.services.find((s) => s.name === name) ?? null;
}

export const brokerOutage: Drill = {
  name: 'broker-outage',
  summary: 'SIGKILL the message broker; accepts keep succeeding (outbox), the backlog drains after, nothing accepted is lost',
  applies(plan) {
    if (!brokerService(plan)) return doesNotApply(`it kills the message broker, and phase ${plan.topology.phase} has none`);
    return jobsDatabase(plan) ? APPLIES : doesNotApply(`it checks the jobs an uploads API accepted, and phase ${plan.topology.phase} has none`);
  },
  defaults: { atS: 10, durationS: 20, tailS: 30 },
  workload: 'microservices',
  hypothesis() {
    return {
      text: 'the broker dies (SIGKILL) for a while: payments and uploads keep being accepted (outbox), fewer than 1% of requests fail, p99 stays under 1000 ms; afterwards every accepted job is done or dead-lettered',
      maxErrorRate: 0.01,
      maxP99Ms: 1000,
    };
  },
  schedule(plan, t) {
    const broker = applied(brokerService(plan), 'broker-outage', 'a broker');
    if (t.target && t.target !== broker.name) throw new BenchError('usage', `${t.target} is not the message broker (drill broker-outage)`, `the broker in phase ${plan.topology.phase}: ${broker.name}`);
    return [{ fault: makeFault('kill', broker.name, {}, plan), startS: t.atS, durationS: t.durationS }];
  },
  async verify(ctx) {
    const failed = (name: string) => ctx.load.results.endpoints[name]?.errors ?? 0;
    const accepts = (['pay', 'video'] as const).map((n) => ({ n, errors: failed(n), requests: ctx.load.results.endpoints[n]?.requests ?? 0 }));
    const problems = accepts.filter((a) => a.errors > 0).map((a) => `${a.errors} of ${a.requests} ${a.n} requests failed: the outage reached the accepts`);
    // the jobs database, directly: every row is a job some client was answered 202 for
    const db = applied(jobsDatabase(ctx.plan), 'broker-outage', 'a jobs database');
    const pool = new pg.Pool({ host: db.address.host, port: db.address.port, ...PG_CREDENTIALS, max: 1, connectionTimeoutMillis: 5_000 });
    pool.on('error', () => {});
    try {
      ctx.progress(`broker-outage: waiting up to ${DRAIN_TIMEOUT_MS / 1000} s for the jobs backlog to drain`);
      const drain = await drainJobs(pool, DRAIN_TIMEOUT_MS);
      const { rows } = await pool.query<{ status: string; n: string }>('SELECT status, count(*) AS n FROM jobs GROUP BY status');
      const by = Object.fromEntries(rows.map((r) => [r.status, Number(r.n)]));
      if (drain.pending > 0 || drain.unsent > 0) problems.push(`${drain.pending} accepted job(s) neither done nor dead-lettered and ${drain.unsent} outbox row(s) unsent ${DRAIN_TIMEOUT_MS / 1000} s after the load`);
      return {
        figures: {
          acceptedJobs: rows.reduce((a, r) => a + Number(r.n), 0),
          doneJobs: by.done ?? 0,
          deadLetteredJobs: by['dead-lettered'] ?? 0,
          pendingAfterDrain: drain.pending,
          unsentAfterDrain: drain.unsent,
          drainSeconds: Number(drain.seconds.toFixed(1)),
          failedPayments: failed('pay'),
          failedUploads: failed('video'),
        },
        problems,
        notes: ['the job count comes from the jobs database (one row per accepted upload); the engine does not choose job ids, so this is the ledger\'s arithmetic, not the per-id ledger'],
      };
    } finally {
      await pool.end().catch(() => {});
    }
  },
};
