// worker-crash: SIGKILL one worker under the microservices load, just after a backlog of heavy
// uploads (so that it dies holding jobs), and start it again. The jobs it
// held unacked go back to the queue (manual acks after the side effect), the other workers and
// then the restarted one finish them: the synchronous path does not notice, and the job ledger,
// read from the jobs database after a bounded drain, shows nothing lost and (idempotent workers)
// nothing applied twice. The ledger checker's negative control (a worker that acks before its side
// effect, SIGKILLed, shows lost > 0) is in targets/microservices/microservices.int.test.ts.
import { BenchError } from '../../harness/errors.ts';
import type { DeployPlan, PlannedService } from '../../harness/topology/plan.ts';
import { History, submitUpload } from '../../targets/microservices/client.ts';
import { makeFault } from '../faults/index.ts';
import type { Fault } from '../faults/types.ts';
import { jobsAfterDrain, jobsDatabase, LEDGER_NOTE, ledgerFigures } from '../ledger-read.ts';
import { brokerService } from './broker-outage.ts';
import { APPLIES, applied, doesNotApply, type Drill } from './types.ts';

// the jobs ledger of a drill's own load lives in chaos/ledger-read.ts; poison-message reads it from here
export { jobsAfterDrain, LEDGER_NOTE, ledgerFigures };

/** The deployment's workers (microservices of role worker), in plan order. */
export function workerServices(plan: DeployPlan): PlannedService[] {
  return plan.services.filter((s) => s.config.kind === 'microservice' && s.config.microservice.role === 'worker');
}

/** A drill that checks jobs needs workers, the broker they consume from, and the jobs database they and the uploads API share. */
export function hasWorkersAndJobs(plan: DeployPlan, what: string): ReturnType<Drill['applies']> {
  if (workerServices(plan).length === 0) return doesNotApply(`it ${what}, and phase ${plan.topology.phase} has no workers`);
  if (!brokerService(plan)) return doesNotApply(`it ${what}, and phase ${plan.topology.phase} has no message broker for its workers`);
  return jobsDatabase(plan) ? APPLIES : doesNotApply(`it checks the jobs an uploads API accepted, and phase ${plan.topology.phase} has none`);
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
