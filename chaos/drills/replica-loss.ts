// replica-loss: SIGKILL one read replica. Reads must move to the other replicas (or the primary)
// without failing.
import { BenchError } from '../../harness/errors.ts';
import { makeFault } from '../faults/index.ts';
import { shards } from './lookup.ts';
import type { Drill } from './types.ts';

export const replicaLoss: Drill = {
  name: 'replica-loss',
  summary: 'SIGKILL one read replica for a while, then start it again',
  phases: [3, 4, 5, 6, 7],
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
    const replicas = shards(plan).flatMap((s) => s.replicas);
    const valid = `replicas in phase ${plan.topology.phase}: ${replicas.join(', ') || '(none): run with --replicas 1 or more'}`;
    if (replicas.length === 0) throw new BenchError('usage', `drill replica-loss needs a read replica and this deployment has none`, valid);
    const victim = t.target ?? replicas[0]!;
    if (!replicas.includes(victim)) throw new BenchError('usage', `${victim} is not a read replica (drill replica-loss)`, valid);
    return [{ fault: makeFault('kill', victim, {}, plan), startS: t.atS, durationS: t.durationS }];
  },
};
