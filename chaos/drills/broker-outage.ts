// broker-outage: SIGKILL the message broker (phase 6's RabbitMQ or Kafka) under the microservices load, and
// start it again. No accepted job depends on the broker being up at accept time: payments and
// uploads keep answering 201/202 (their outbox holds what the broker cannot take), and after the
// broker is back the outbox and the queue drain, with every job the drill's load got accepted
// done or dead-lettered (the jobs ledger of its own load, chaos/ledger-read.ts).
import { BenchError } from '../../harness/errors.ts';
import type { DeployPlan, PlannedService } from '../../harness/topology/plan.ts';
import { BROKER_KINDS } from '../../targets/microservices/broker.ts';
import { makeFault } from '../faults/index.ts';
import { jobsAfterDrain, jobsDatabase, LEDGER_NOTE, ledgerFigures } from '../ledger-read.ts';
import { APPLIES, applied, doesNotApply, type Drill } from './types.ts';

/** The message broker of a deployment (RabbitMQ or Kafka), when it has one. */
export function brokerService(plan: DeployPlan): PlannedService | null {
  return plan.services.find((s) => (BROKER_KINDS as readonly string[]).includes(s.kind)) ?? null;
}

// where the jobs are: re-exported for what imported it from here
export { jobsDatabase };

export const brokerOutage: Drill = {
  name: 'broker-outage',
  summary: 'SIGKILL the message broker; accepts keep succeeding (outbox), the backlog drains after, nothing accepted is lost',
  applies(plan) {
    if (!brokerService(plan)) return doesNotApply(`it kills the message broker, and phase ${plan.topology.phase} has none`);
    return jobsDatabase(plan) ? APPLIES : doesNotApply(`it checks the jobs an uploads API accepted, and phase ${plan.topology.phase} has none`);
  },
  // RabbitMQ's restart after a SIGKILL (quorum queues recovered) took 10-26 s on a quiet machine
  // and 35 s in a loaded CI run, past the default 30 s grace: the load ended before the tail
  defaults: { atS: 10, durationS: 20, tailS: 30, revertGraceS: 90 },
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
    const j = await jobsAfterDrain(ctx, 'broker-outage');
    return {
      figures: { ...ledgerFigures(j), failedPayments: failed('pay'), failedUploads: failed('video') },
      problems: [...problems, ...j.problems],
      notes: [LEDGER_NOTE],
    };
  },
};
