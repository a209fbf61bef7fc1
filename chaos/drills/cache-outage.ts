// cache-outage: SIGKILL the Redis that caches user reads (phase 4+). Cache-aside must degrade to
// the database: reads get slower, none fails.
import { BenchError } from '../../harness/errors.ts';
import { makeFault } from '../faults/index.ts';
import { cacheService } from './lookup.ts';
import { APPLIES, applied, doesNotApply, type Drill } from './types.ts';

export const cacheOutage: Drill = {
  name: 'cache-outage',
  summary: 'SIGKILL the read cache (Redis); reads must fall back to the database',
  applies(plan) {
    return cacheService(plan) ? APPLIES : doesNotApply(`it kills the read cache (Redis cache-aside), and phase ${plan.topology.phase} has none`);
  },
  defaults: { atS: 10, durationS: 20, tailS: 15 },
  workload: 'read-heavy',
  hypothesis() {
    return {
      text: 'the cache dies (SIGKILL): reads fall back to the database, no read fails, fewer than 1% of requests fail and p99 stays under 1000 ms',
      maxErrorRate: 0.01,
      maxP99Ms: 1000,
    };
  },
  schedule(plan, t) {
    const cache = applied(cacheService(plan), 'cache-outage', 'a read cache');
    if (t.target && t.target !== cache.name) throw new BenchError('usage', `${t.target} is not the read cache (drill cache-outage)`, `the cache in phase ${plan.topology.phase}: ${cache.name}`);
    return [{ fault: makeFault('kill', cache.name, {}, plan), startS: t.atS, durationS: t.durationS }];
  },
  async verify(ctx) {
    const reads = ctx.load.results.endpoints.read;
    const failed = reads?.errors ?? 0;
    return {
      figures: { failedReads: failed, reads: reads?.requests ?? 0 },
      // steady state has no failed read, so any failed read of the run is the cache's fault
      problems: failed > 0 ? [`${failed} of ${reads!.requests} reads failed: the cache outage reached the users`] : [],
    };
  },
};
