// slow-database: a latency toxic on every edge from an app server to a database (a slow disk, a
// noisy neighbour, a saturated link). Shows how latency in one tier adds up and whether pools and
// timeouts turn it into errors.
import { BenchError } from '../../harness/errors.ts';
import { allOf } from '../faults/compose.ts';
import { makeFault } from '../faults/index.ts';
import { parseDurationMs } from '../faults/params.ts';
import { proxiedEdges } from '../faults/targets.ts';
import type { DeployPlan } from '../../harness/topology/plan.ts';
import { APPLIES, doesNotApply, type Drill, type DrillTiming } from './types.ts';

const DEFAULT_LATENCY_MS = 100;

/** The added latency: the entry's first parameter (`slow-database:*:250ms@10s`), default 100 ms. */
function latencyOf(t: DrillTiming): number {
  const raw = t.params[0];
  if (raw === undefined) return DEFAULT_LATENCY_MS;
  const ms = parseDurationMs(raw);
  if (ms === null || ms <= 0) throw new BenchError('usage', `slow-database: latency "${raw}" is not a duration`, 'write it like slow-database:*:250ms@10s');
  return ms;
}

/** Every proxied edge from an app server to a PostgreSQL server. */
function appDbEdges(plan: DeployPlan) {
  const kindOf = new Map(plan.services.map((s) => [s.name, s.kind]));
  return proxiedEdges(plan).filter((e) => kindOf.get(e.from) === 'app' && kindOf.get(e.to) === 'postgres');
}

/** The app -> database edges (all of them, or those matching the target pattern's database). */
function dbEdges(plan: DeployPlan, target: string | undefined): string[] {
  const all = appDbEdges(plan);
  const chosen = target && target !== '*' ? all.filter((e) => e.to === target) : all;
  if (chosen.length === 0) throw new BenchError('usage', `no app edge leads to database ${target}`, `databases: ${[...new Set(all.map((e) => e.to))].join(', ')} (or * for all)`);
  return chosen.map((e) => e.name);
}

export const slowDatabase: Drill = {
  name: 'slow-database',
  summary: 'add latency (default 100 ms) on every app -> database edge',
  applies(plan) {
    if (appDbEdges(plan).length > 0) return APPLIES;
    const hasPostgres = plan.services.some((s) => s.kind === 'postgres');
    return doesNotApply(
      hasPostgres
        ? `it slows the app -> PostgreSQL edges through Toxiproxy, and this deployment connects them directly (run without --no-proxies)`
        : `it slows the app -> PostgreSQL edges, and phase ${plan.topology.phase} has no PostgreSQL server`,
    );
  },
  defaults: { atS: 10, durationS: 20, tailS: 15 },
  workload: 'mixed',
  hypothesis(_plan, t) {
    const ms = latencyOf(t);
    return {
      text: `every database call takes ${ms} ms longer: fewer than 1% of requests fail and p99 stays under ${ms + 900} ms`,
      maxErrorRate: 0.01,
      maxP99Ms: ms + 900,
    };
  },
  schedule(plan, t) {
    const ms = latencyOf(t);
    const edges = dbEdges(plan, t.target);
    const parts = edges.map((edge) => makeFault('latency', edge, { latency: ms, jitter: Math.round(ms / 10) }, plan));
    const fault = allOf('latency', t.target ?? 'app->db', parts, `latency ${ms} ms ± ${Math.round(ms / 10)} ms on ${edges.length} app -> database edges`);
    return [{ fault, startS: t.atS, durationS: t.durationS }];
  },
};
