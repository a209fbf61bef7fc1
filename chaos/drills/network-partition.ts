// network-partition: cut one app server's host off from the data tier (its databases and
// caches) while the load balancer still reaches it. The server is alive and answers its health
// check from a cached state, then 503: the balancer must take it out of rotation. A target
// "a+b|c+d" cuts any two host groups instead.
import { BenchError } from '../../harness/errors.ts';
import type { DeployPlan, PlannedService } from '../../harness/topology/plan.ts';
import { makeFault } from '../faults/index.ts';
import { appServers, resolveAppServer } from './lookup.ts';
import { proxiedEdges } from '../faults/targets.ts';
import { APPLIES, doesNotApply, type Drill, type DrillTiming } from './types.ts';

/** The hosts of what `app` depends on, other than its own. */
function depHosts(plan: DeployPlan, app: PlannedService): string[] {
  const hostOf = new Map(plan.services.map((s) => [s.name, s.host]));
  return [...new Set(app.dependsOn.map((d) => hostOf.get(d)!))].filter((h) => h !== app.host);
}

/** The default cut: the last app server's host | the hosts of what it depends on. */
export function defaultCut(plan: DeployPlan, target?: string): string {
  const app = resolveAppServer(plan, 'network-partition', target);
  const deps = depHosts(plan, app);
  if (deps.length === 0) throw new BenchError('usage', `${app.name} depends on nothing on another host: there is nothing to partition`, `app servers that do: ${appServers(plan).filter((a) => depHosts(plan, a).length > 0).map((a) => a.name).join(', ')}`);
  return `${app.host}|${deps.join('+')}`;
}

const cutOf = (plan: DeployPlan, t: DrillTiming) => (t.target?.includes('|') ? t.target : defaultCut(plan, t.target));

export const networkPartition: Drill = {
  name: 'network-partition',
  summary: 'cut one app server off from the data tier (or any two host groups: a+b|c+d)',
  applies(plan) {
    if (!appServers(plan).some((a) => depHosts(plan, a).length > 0)) {
      return doesNotApply(`it cuts an app server's host from the hosts of its data tier, and in phase ${plan.topology.phase} no app server depends on another host`);
    }
    if (proxiedEdges(plan).length === 0) return doesNotApply('it cuts proxied edges through Toxiproxy, and this deployment connects its tiers directly (run without --no-proxies)');
    return APPLIES;
  },
  defaults: { atS: 10, durationS: 20, tailS: 15 },
  workload: 'mixed',
  hypothesis(plan, t) {
    const single = appServers(plan).length < 2;
    return {
      text: `partition ${cutOf(plan, t)}: the cut-off app server is taken out of rotation, fewer than 1% of requests fail and p99 stays under 1000 ms`,
      maxErrorRate: 0.01,
      maxP99Ms: 1000,
      expectedFailure: single && !t.target?.includes('|') ? `phase ${plan.topology.phase} has a single app server: cut from its database, nothing can answer` : undefined,
    };
  },
  schedule(plan, t) {
    return [{ fault: makeFault('partition', cutOf(plan, t), {}, plan), startS: t.atS, durationS: t.durationS }];
  },
};
