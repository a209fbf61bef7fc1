// replica-loss: SIGKILL one read replica. Reads must move to the other replicas (or the primary)
// without failing.
import { BenchError } from '../../harness/errors.ts';
import { makeFault } from '../faults/index.ts';
import { shards } from './lookup.ts';
import type { DeployPlan } from '../../harness/topology/plan.ts';
import { APPLIES, applied, doesNotApply, optionHint, noPostgresStore, type Drill } from './types.ts';

const replicasOf = (plan: DeployPlan) => shards(plan).flatMap((s) => s.replicas);

export const replicaLoss: Drill = {
  name: 'replica-loss',
  summary: 'SIGKILL one read replica for a while, then start it again',
  applies(plan) {
    if (replicasOf(plan).length > 0) return APPLIES;
    if (shards(plan).length === 0) return doesNotApply(`it kills a read replica, and ${noPostgresStore(plan)}`);
    return doesNotApply(`it kills a read replica, and phase ${plan.topology.phase} has none here (${optionHint(plan, 'replicas', '1 or more')})`);
  },
  defaults: { atS: 10, durationS: 20, tailS: 15 },
  workload: 'read-heavy',
  hypothesis(plan) {
    return {
      text: 'a read replica dies (SIGKILL): reads move elsewhere, fewer than 1% of requests fail and p99 stays under 1000 ms',
      maxErrorRate: 0.01,
      maxP99Ms: 1000,
    };
  },
  schedule(plan, t) {
    const replicas = replicasOf(plan);
    const victim = t.target ?? applied(replicas[0], 'replica-loss', 'a read replica');
    if (!replicas.includes(victim)) throw new BenchError('usage', `${victim} is not a read replica (drill replica-loss)`, `replicas in phase ${plan.topology.phase}: ${replicas.join(', ') || '(none)'}`);
    return [{ fault: makeFault('kill', victim, {}, plan), startS: t.atS, durationS: t.durationS }];
  },
};
