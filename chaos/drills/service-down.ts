// service-down: SIGKILL the payment service's whole fleet for a while, then start it again. The
// gateway routes by path, so the blast radius should be the payments alone: user reads and
// updates and uploads keep answering, and payments fail while the fleet is down. Measured per
// endpoint from the engine's counts.
import { BenchError } from '../../harness/errors.ts';
import type { DeployPlan, PlannedService } from '../../harness/topology/plan.ts';
import { workloadNamed } from '../../loadtests/workloads.ts';
import { allOf } from '../faults/compose.ts';
import { makeFault } from '../faults/index.ts';
import { APPLIES, doesNotApply, type Drill } from './types.ts';

/** The payment service's fleet. */
export function paymentFleet(plan: DeployPlan): PlannedService[] {
  return plan.services.filter((s) => s.config.kind === 'microservice' && s.config.microservice.role === 'payment');
}

/** The endpoint the outage is allowed to reach. */
const PAY = 'pay';

/** The share of the workload's requests that are payments. */
function payShare(workload: string): number {
  const mix = (workloadNamed(workload) ?? workloadNamed('microservices')!).mix;
  const total = Object.values(mix).reduce((a, b) => a + b, 0);
  return total > 0 ? (mix[PAY] ?? 0) / total : 0;
}

export const serviceDown: Drill = {
  name: 'service-down',
  summary: 'SIGKILL the payment service\'s fleet; payments fail while it is down, nothing else does (blast radius per endpoint)',
  applies(plan) {
    return paymentFleet(plan).length > 0 ? APPLIES : doesNotApply(`it kills the payment service, and phase ${plan.topology.phase} has none`);
  },
  defaults: { atS: 10, durationS: 10, tailS: 15 },
  workload: 'microservices',
  hypothesis(_plan, t) {
    const share = payShare(t.workload ?? 'microservices');
    return {
      text: `the payment service's fleet dies (SIGKILL): only payments (${(share * 100).toFixed(0)}% of requests) may fail; user reads, updates and uploads keep answering with p99 under 1000 ms`,
      maxErrorRate: share + 0.01,
      maxP99Ms: 1000,
    };
  },
  schedule(plan, t) {
    const fleet = paymentFleet(plan);
    if (t.target && t.target !== 'payment') throw new BenchError('usage', `service-down target ${t.target} is not a service it can kill`, 'service-down:payment (the default)');
    const fault = allOf('kill', 'payment', fleet.map((s) => makeFault('kill', s.name, {}, plan)), `kill ${fleet.map((s) => s.name).join(', ')}`);
    return [{ fault, startS: t.atS, durationS: t.durationS }];
  },
  async verify(ctx) {
    const endpoints = ctx.load.results.endpoints;
    const others = Object.entries(endpoints).filter(([k]) => k !== PAY);
    const problems = others.filter(([, e]) => e.errors > 0).map(([k, e]) => `${e.errors} of ${e.requests} ${k} requests failed: the payment outage reached them`);
    const pay = endpoints[PAY];
    // payments answered through the outage mean the fault did not bite: the drill tested nothing
    if (!pay || pay.errors === 0) problems.push(`no payment failed (${pay?.requests ?? 0} sent): the payment fleet's outage was not seen`);
    const figures: Record<string, number> = { failedPayments: pay?.errors ?? 0, payments: pay?.requests ?? 0 };
    // per endpoint: the blast radius
    for (const [k, e] of others) figures[`${k}Errors`] = e.errors;
    return { figures, problems };
  },
};
