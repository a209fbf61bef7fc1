// poison-message: while the fault window lasts, the drill itself sends uploads that carry
// `poison: true` (the worker fails every delivery of them) through the gateway, beside the
// microservices load, each with an id it chose and recorded. The broker's delivery limit, not the
// worker, gives up on them: after a bounded drain every accepted poison job is dead-lettered, no
// other job is, and the rest of the jobs complete (lost 0). Its parameter is the poison rate:
// `poison-message:2` sends 2 poison uploads a second (default 1, about one upload in nine at the
// microservices workload's 40 requests/s).
import { BenchError } from '../../harness/errors.ts';
import type { DeployPlan } from '../../harness/topology/plan.ts';
import { History, submitUpload } from '../../targets/microservices/client.ts';
import type { Fault } from '../faults/types.ts';
import { checkLedger, formatLedger } from '../ledger.ts';
import { type Drill, type DrillState, type DrillTiming } from './types.ts';
import { entryService, hasWorkersAndJobs, jobsAfterDrain, LEDGER_NOTE, ledgerFigures } from './worker-crash.ts';

const DEFAULT_PER_SECOND = 1;
/** a poison upload's size: small, its work never happens anyway */
const POISON_KB = 16;

/** The poison uploads per second, from the drill's first parameter. */
function poisonRate(t: DrillTiming): number {
  const raw = t.params[0];
  if (raw === undefined) return DEFAULT_PER_SECOND;
  const n = Number(raw);
  if (!(n > 0 && n <= 50)) throw new BenchError('usage', `poison-message rate ${raw}: poison uploads per second must be a number in (0, 50]`, 'poison-message:2 (2 poison uploads a second)');
  return n;
}

/** The histories of the poison uploads sent, one per drill run (the fault fills, verify reads). */
const sent = new WeakMap<DrillState, History>();

/** A fault that sends poison uploads through the entry at `perSecond` until reverted. */
function poisonUploads(plan: DeployPlan, perSecond: number, history: History): Fault {
  const entry = entryService(plan, 'poison-message');
  return {
    name: 'poison-uploads',
    target: entry.name,
    describe: () => `${perSecond} upload(s) a second with poison: true, through ${entry.name}`,
    async apply() {
      const inFlight = new Set<Promise<unknown>>();
      const timer = setInterval(() => {
        const p = submitUpload(entry.address, history, { sizeKb: POISON_KB, poison: true }, 2_000).finally(() => inFlight.delete(p));
        inFlight.add(p);
      }, 1000 / perSecond);
      return {
        detail: `poison uploads at ${perSecond}/s`,
        async revert() {
          clearInterval(timer);
          await Promise.all([...inFlight]);
        },
      };
    },
  };
}

export const poisonMessage: Drill = {
  name: 'poison-message',
  summary: 'send uploads the workers fail on every time; they end dead-lettered after the delivery limit, the rest completes',
  applies: (plan) => hasWorkersAndJobs(plan, 'sends uploads its workers fail on'),
  defaults: { atS: 10, durationS: 10, tailS: 15 },
  workload: 'microservices',
  hypothesis(_plan, t) {
    return {
      text: `poison uploads (${poisonRate(t)}/s) are accepted like any other upload: fewer than 1% of requests fail, p99 under 1000 ms; after a bounded drain every accepted poison job is dead-lettered, no other job is, and nothing is lost`,
      maxErrorRate: 0.01,
      maxP99Ms: 1000,
    };
  },
  schedule(plan, t, state) {
    const history = new History();
    sent.set(state, history);
    return [{ fault: poisonUploads(plan, poisonRate(t), history), startS: t.atS, durationS: t.durationS }];
  },
  async verify(ctx) {
    const j = await jobsAfterDrain(ctx, 'poison-message');
    const history = sent.get(ctx.state) ?? new History();
    // the poison ledger, per id the drill chose: an accepted poison upload counts as settled only
    // when dead-lettered (its side effect must never happen)
    const poison = checkLedger(history.ops, { effects: new Map(), deadLettered: j.observations.deadLettered }, { idempotent: true, noun: 'poison job' });
    const problems = [...j.problems];
    const accepted = history.count('ok');
    if (accepted === 0) problems.push(`no poison upload was accepted (${history.ops.length} sent): the drill tested nothing`);
    if (poison.lost > 0) problems.push(`${poison.lost} accepted poison upload(s) not dead-lettered (${formatLedger('poison', poison)})`);
    const poisonDone = history.ops.filter((o) => (j.observations.effects.get(o.id) ?? 0) > 0).length;
    if (poisonDone > 0) problems.push(`${poisonDone} poison upload(s) completed: the worker applied a job it should fail on`);
    if (j.poisonDeadLettered !== j.poisonJobs) problems.push(`${j.poisonJobs - j.poisonDeadLettered} of ${j.poisonJobs} poison job(s) in the jobs database did not end dead-lettered`);
    if (j.cleanDeadLettered > 0) problems.push(`${j.cleanDeadLettered} job(s) without poison were dead-lettered`);
    return {
      figures: {
        ...ledgerFigures(j),
        poisonSent: history.ops.length,
        poisonAccepted: accepted,
        poisonIndeterminate: history.count('indeterminate'),
        poisonJobs: j.poisonJobs,
        poisonDeadLettered: j.poisonDeadLettered,
        cleanDeadLettered: j.cleanDeadLettered,
        poisonShareOfUploads: j.ledger.accepted > 0 ? Number((j.poisonJobs / j.ledger.accepted).toFixed(3)) : null,
        redeliveries: j.redeliveries,
      },
      problems,
      notes: [LEDGER_NOTE, 'poison uploads are sent by the drill (ids it chose), not by the load engine: they are not in the per-endpoint counts'],
    };
  },
};
