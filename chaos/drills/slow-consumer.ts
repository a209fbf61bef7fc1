// slow-consumer: a latency toxic on every worker -> jobs database edge (Toxiproxy) for the fault's
// duration. Every query of a job (its running mark, then the effect transaction: about seven
// round trips) waits that much longer, so the workers fall behind the uploads and the jobs queue
// grows (its slope during the fault > 0), while the synchronous path, which never waits for a
// worker, keeps its objective, endpoint by endpoint. After the latency is removed the backlog
// drains back to its level, and the jobs ledger of the drill's own load shows lost 0.
//
// Its parameter is the latency (`slow-consumer:1s`), default 500 ms: with 2 workers at prefetch 8
// a job's ~7 round trips take ~3.5 s, about 4-5 jobs/s, below the ~8 uploads/s of the
// microservices workload at 40 requests/s; at 200 ms (~11 jobs/s) the workers would keep up.
import { BenchError } from '../../harness/errors.ts';
import type { DeployPlan } from '../../harness/topology/plan.ts';
import { allOf } from '../faults/compose.ts';
import { makeFault } from '../faults/index.ts';
import { parseDurationMs } from '../faults/params.ts';
import { proxiedEdges } from '../faults/targets.ts';
import { LEDGER_NOTE } from '../ledger-read.ts';
import { backlogAfterDrain, timed } from './backlog-drain.ts';
import type { Drill, DrillTiming } from './types.ts';
import { APPLIES, doesNotApply } from './types.ts';
import { hasWorkersAndJobs, workerServices } from './worker-crash.ts';

const DEFAULT_LATENCY_MS = 500;

/** The added latency: the entry's first parameter (`slow-consumer:1s`), default 500 ms. */
function latencyOf(t: DrillTiming): number {
  const raw = t.params[0];
  if (raw === undefined) return DEFAULT_LATENCY_MS;
  const ms = parseDurationMs(raw);
  if (ms === null || ms <= 0) throw new BenchError('usage', `slow-consumer: latency "${raw}" is not a duration`, 'write it like slow-consumer:1s');
  return ms;
}

/** Every proxied edge from a worker to its own database (the jobs database). */
function workerDbEdges(plan: DeployPlan): string[] {
  const dbOf = new Map(workerServices(plan).map((w) => [w.name, w.config.kind === 'microservice' ? w.config.microservice.db : null]));
  return proxiedEdges(plan)
    .filter((e) => dbOf.has(e.from) && dbOf.get(e.from) === e.to)
    .map((e) => e.name);
}

export const slowConsumer: Drill = {
  name: 'slow-consumer',
  summary: 'add latency (default 500 ms) on every worker -> jobs database edge: the jobs queue grows, the synchronous path keeps its objective, the backlog drains after; nothing lost',
  applies(plan) {
    const base = hasWorkersAndJobs(plan, 'slows its workers');
    if (!base.ok) return base;
    return workerDbEdges(plan).length > 0 ? APPLIES : doesNotApply('it slows the worker -> database edges through Toxiproxy, and this deployment connects them directly (run without --no-proxies)');
  },
  defaults: { atS: 10, durationS: 15, tailS: 20 },
  workload: 'microservices',
  hypothesis(_plan, t) {
    const ms = latencyOf(t);
    return {
      text: `every worker's database call takes ${ms} ms longer: the jobs queue grows, while every endpoint of the synchronous path keeps its objective (fewer than 1% of its requests fail, p99 under 1000 ms); after the latency is gone the backlog drains back to its level and the jobs ledger shows lost 0`,
      maxErrorRate: 0.01,
      maxP99Ms: 1000,
    };
  },
  schedule(plan, t, state) {
    if (t.target && t.target !== 'workers') throw new BenchError('usage', `slow-consumer target ${t.target}: it slows every worker's database edge`, 'slow-consumer or slow-consumer:workers:1s');
    const ms = latencyOf(t);
    const edges = workerDbEdges(plan);
    const fault = allOf('latency', 'worker->db', edges.map((edge) => makeFault('latency', edge, { latency: ms }, plan)), `latency ${ms} ms on ${edges.join(', ')}`);
    return [{ fault: timed(fault, state), startS: t.atS, durationS: t.durationS }];
  },
  async verify(ctx) {
    const { backlog: b, figures, problems } = await backlogAfterDrain(ctx, 'slow-consumer');
    // the queue must grow: a latency the workers absorb tested nothing about a slow consumer
    if (b && !(b.slopeDuringFault !== null && b.slopeDuringFault > 0)) {
      problems.push(`the jobs queue did not grow under the latency (slope ${b.slopeDuringFault ?? 'unmeasured'} jobs/s): the workers kept up, the drill tested nothing (raise the latency, slow-consumer:1s, or the rate)`);
    }
    // the synchronous path, endpoint by endpoint, against the drill's own objective
    const h = slowConsumer.hypothesis(ctx.plan, ctx.timing);
    for (const [k, e] of Object.entries(ctx.load.results.endpoints)) {
      figures[`${k}Errors`] = e.errors;
      figures[`${k}P99Ms`] = e.latencyMs.p99;
      if (e.requests > 0 && e.errors / e.requests > h.maxErrorRate) problems.push(`${e.errors} of ${e.requests} ${k} requests failed: the slow workers reached the synchronous path`);
      if (e.latencyMs.p99 !== null && e.latencyMs.p99 > h.maxP99Ms) problems.push(`${k} p99 ${e.latencyMs.p99} ms over the objective of ${h.maxP99Ms} ms: the slow workers reached the synchronous path`);
    }
    return {
      figures,
      problems,
      notes: [LEDGER_NOTE, 'per-endpoint p99 is over the whole load (the engine keeps no per-endpoint series); the verdict\'s own p99 is of the fault window'],
    };
  },
};
