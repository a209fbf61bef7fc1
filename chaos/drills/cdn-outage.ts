// cdn-outage: the CDN edge dies (SIGKILL). The API does not go through it, so only static assets
// fail while it is down: the drill checks that the damage stays there. With the target `origin`
// the edge stays up and its link to the origin is cut instead: it must keep serving its cached
// copies (stale if need be), and nothing fails.
import { BenchError } from '../../harness/errors.ts';
import type { DeployPlan } from '../../harness/topology/plan.ts';
import { workloads } from '../../loadtests/workloads.ts';
import { allOf } from '../faults/compose.ts';
import { makeFault } from '../faults/index.ts';
import { proxiedEdges } from '../faults/targets.ts';
import { cdnService } from './lookup.ts';
import { APPLIES, applied, doesNotApply, type Drill, type DrillTiming } from './types.ts';

const mode = (t: DrillTiming): 'edge' | 'origin' => {
  if (t.target === undefined || t.target === 'edge') return 'edge';
  if (t.target === 'origin') return 'origin';
  throw new BenchError('usage', `cdn-outage target ${t.target} is neither edge nor origin`, 'cdn-outage (the edge dies) or cdn-outage:origin (the edge loses its origin)');
};

const cdnOf = (plan: DeployPlan) => applied(cdnService(plan), 'cdn-outage', 'a CDN edge');

/** The share of requests of the drill's workload that are static assets. */
function staticShare(workload: string): number {
  const mix = (workloads[workload] ?? workloads.mixed)!.mix;
  const total = Object.values(mix).reduce((a, b) => a + b, 0);
  return total > 0 ? mix.static / total : 0;
}

export const cdnOutage: Drill = {
  name: 'cdn-outage',
  summary: 'SIGKILL the CDN edge (only static assets may fail), or cut it from its origin (cdn-outage:origin)',
  applies(plan) {
    return cdnService(plan) ? APPLIES : doesNotApply(`it breaks the CDN edge, and phase ${plan.topology.phase} has none`);
  },
  defaults: { atS: 10, durationS: 20, tailS: 15 },
  workload: 'mixed',
  hypothesis(plan, t) {
    const share = staticShare(t.workload ?? 'mixed');
    return mode(t) === 'edge'
      ? {
          text: `the CDN edge dies (SIGKILL): the API keeps answering; only static assets (${(share * 100).toFixed(0)}% of requests) may fail`,
          maxErrorRate: share + 0.01,
          maxP99Ms: 1000,
        }
      : {
          text: 'the CDN edge loses its origin: it serves its cached copies, fewer than 1% of requests fail',
          maxErrorRate: 0.01,
          maxP99Ms: 1000,
        };
  },
  schedule(plan, t) {
    const cdn = cdnOf(plan);
    if (mode(t) === 'edge') return [{ fault: makeFault('kill', cdn.name, {}, plan), startS: t.atS, durationS: t.durationS }];
    const edges = proxiedEdges(plan).filter((e) => e.from === cdn.name);
    if (edges.length === 0) throw new BenchError('usage', `the CDN edge ${cdn.name} has no proxied edge to its origin`, 'run with Toxiproxy (the default)');
    const fault = allOf('edge-down', `${cdn.name}->origin`, edges.map((e) => makeFault('edge-down', e.name, {}, plan)), `edge-down on ${edges.map((e) => e.name).join(', ')}`);
    return [{ fault, startS: t.atS, durationS: t.durationS }];
  },
  async verify(ctx) {
    const endpoints = ctx.load.results.endpoints;
    const apiErrors = Object.entries(endpoints).filter(([k]) => k !== 'static').reduce((n, [, e]) => n + e.errors, 0);
    const staticErrors = endpoints.static?.errors ?? 0;
    const problems: string[] = [];
    if (apiErrors > 0) problems.push(`${apiErrors} API requests failed: the CDN outage reached the API`);
    if (mode(ctx.timing) === 'origin' && staticErrors > 0) problems.push(`${staticErrors} static requests failed: the edge did not serve from its cache`);
    return { figures: { apiErrors, staticErrors, staticRequests: endpoints.static?.requests ?? 0 }, problems };
  },
};
