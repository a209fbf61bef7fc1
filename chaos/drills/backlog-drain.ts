// backlog-drain: under the microservices load, stop every worker (the runtime's graceful stop, by
// pid) for the fault's duration, then start them again. The uploads keep being accepted (the
// synchronous path does not involve the workers), so the jobs pile up; after the restart the
// workers drain them. Measured from the jobs' own timestamps (chaos/backlog.ts): the backlog at
// the restart, the drain time (restart -> back to its usual level before the stop) and rate
// (jobs done per second meanwhile); the jobs ledger of the drill's own load must show lost 0.
import { BenchError } from '../../harness/errors.ts';
import { backlogFigures, type BacklogFigures } from '../backlog.ts';
import { allOf } from '../faults/compose.ts';
import { makeFault } from '../faults/index.ts';
import type { Fault } from '../faults/types.ts';
import { jobsAfterDrain, LEDGER_NOTE, ledgerFigures, type JobsAfterDrain } from '../ledger-read.ts';
import { hasWorkersAndJobs, workerServices } from './worker-crash.ts';
import type { Drill, DrillState, VerifyContext } from './types.ts';

/** When the drill began its fault and its revert, and when the revert was done (wall clock, ms). */
interface FaultTimes {
  startMs: number;
  endMs: number | null;
  readyMs: number | null;
}

const timesOf = new WeakMap<DrillState, FaultTimes>();

/** `fault`, with the times of its apply and revert recorded for the verification. */
export function timed(fault: Fault, state: DrillState): Fault {
  return {
    ...fault,
    async apply(ctx) {
      const times: FaultTimes = { startMs: Date.now(), endMs: null, readyMs: null };
      timesOf.set(state, times);
      const applied = await fault.apply(ctx);
      return {
        detail: applied.detail,
        async revert() {
          times.endMs ??= Date.now();
          await applied.revert();
          times.readyMs ??= Date.now();
        },
      };
    },
  };
}

/**
 * The jobs ledger of the drill's load and the backlog figures around its fault. A fault whose
 * revert never began (the load ended first) gives no backlog figures, and says so.
 */
export async function backlogAfterDrain(ctx: VerifyContext, drill: string): Promise<{ j: JobsAfterDrain; backlog: BacklogFigures | null; figures: Record<string, number | null>; problems: string[] }> {
  const j = await jobsAfterDrain(ctx, drill);
  const t = timesOf.get(ctx.state);
  const problems = [...j.problems];
  if (!t || t.endMs === null) {
    problems.push(`${drill}: the fault was ${t ? 'never reverted' : 'never applied'} during the load: no backlog figures`);
    return { j, backlog: null, figures: ledgerFigures(j), problems };
  }
  const f = backlogFigures(j.times, { startMs: t.startMs, endMs: t.endMs, untilMs: Date.now(), loadStartMs: ctx.load.startedAtMs });
  if (f.drainS === null) problems.push(`the jobs backlog never came back to its level before the fault (${f.preFaultBacklog}): ${f.backlogAtFaultEnd} when the fault ended`);
  const readyS = t.readyMs === null ? null : Math.round(t.readyMs - t.endMs) / 1000;
  return { j, backlog: f, figures: { ...ledgerFigures(j), ...f, revertS: readyS }, problems };
}

export const backlogDrain: Drill = {
  name: 'backlog-drain',
  summary: 'stop every worker for a while under load, then start them again: the backlog at the restart, its drain time and rate; nothing lost',
  applies: (plan) => hasWorkersAndJobs(plan, 'stops the workers'),
  defaults: { atS: 10, durationS: 15, tailS: 20 },
  workload: 'microservices',
  hypothesis(plan, t) {
    const n = workerServices(plan).length;
    return {
      text: `all ${n} worker(s) stop for ${t.durationS} s under load: the synchronous path does not notice (fewer than 1% of requests fail, p99 under 1000 ms); the jobs backlog grows while they are down, drains back to its level after their restart, and the jobs ledger shows lost 0`,
      maxErrorRate: 0.01,
      maxP99Ms: 1000,
    };
  },
  schedule(plan, t, state) {
    if (t.target && t.target !== 'workers') throw new BenchError('usage', `backlog-drain target ${t.target}: it stops every worker`, 'backlog-drain or backlog-drain:workers');
    const workers = workerServices(plan);
    const stop = allOf('stop', 'workers', workers.map((w) => makeFault('stop', w.name, {}, plan)), `graceful stop of ${workers.map((w) => w.name).join(', ')}`);
    return [{ fault: timed(stop, state), startS: t.atS, durationS: t.durationS }];
  },
  async verify(ctx) {
    const { backlog: b, figures, problems } = await backlogAfterDrain(ctx, 'backlog-drain');
    // workers down and the backlog never above its usual level: no upload came in, nothing was tested
    if (b && b.backlogAtFaultEnd <= b.preFaultBacklog) {
      problems.push(`the backlog did not grow while the workers were stopped (${b.backlogAtFaultEnd} at the restart, ${b.preFaultBacklog} before): no upload reached them, the drill tested nothing`);
    }
    return {
      figures,
      problems,
      notes: [LEDGER_NOTE, 'the backlog is rebuilt from the jobs\' accepted_at and done_at; drain time and rate count from when the drill began starting the workers again (revertS: until they were all ready)'],
    };
  },
};
