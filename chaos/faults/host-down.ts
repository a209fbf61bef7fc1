// host-down: a whole host dies: every service on it is SIGKILLed and every proxied edge to or
// from it is disabled (what was in flight on it is cut, not drained). Revert brings the edges
// back, then starts the services in dependency order.
import { BenchError } from '../../harness/errors.ts';
import type { DeployPlan } from '../../harness/topology/plan.ts';
import { disableEdges } from './edge-control.ts';
import type { ParamValues } from './params.ts';
import { bringBack, takeDown } from './process-control.ts';
import { edgesTouching, resolveHost, servicesOnHost } from './targets.ts';
import { once } from './toxic-fault.ts';
import type { Fault, FaultKind } from './types.ts';

export const hostDown: FaultKind = {
  name: 'host-down',
  summary: 'kills every service of a host and disables its edges; revert brings them back',
  target: 'host',
  params: [{ name: 'restart', type: 'bool', default: true, description: 'start the services again when the fault ends (true)' }],
  create(target: string | undefined, p: ParamValues, plan: DeployPlan): Fault {
    const host = resolveHost(plan, 'host-down', target);
    const services = servicesOnHost(plan, host.name);
    if (services.length === 0) throw new BenchError('usage', `host ${host.name} runs no service of the system`, 'pick a host that runs one');
    const order = new Map(plan.order.map((n, i) => [n, i]));
    const startOrder = [...services].sort((a, b) => order.get(a.name)! - order.get(b.name)!);
    const edges = plan.toxiproxy ? edgesTouching(plan, new Set([host.name])).map((e) => e.name) : [];
    const restart = p.restart as boolean;
    return {
      name: 'host-down',
      target: host.name,
      describe: () => `host ${host.name} down: ${services.map((s) => s.name).join(', ')}${edges.length ? ` and ${edges.length} edges` : ''}`,
      async apply(ctx) {
        const svcs = startOrder.map((s) => ctx.deployment.service(s.name));
        const restoreEdges = edges.length ? await disableEdges(ctx, 'host-down', edges) : async () => {};
        const killed: typeof svcs = [];
        try {
          for (const svc of [...svcs].reverse()) {
            await takeDown(ctx, svc, 'kill');
            killed.push(svc);
          }
        } catch (err) {
          await Promise.allSettled(killed.reverse().map((svc) => bringBack(ctx, svc, true)));
          await restoreEdges();
          throw err;
        }
        return {
          detail: `killed ${svcs.map((s) => s.name).join(', ')}; disabled ${edges.length} edges`,
          revert: once(async () => {
            await restoreEdges();
            for (const svc of svcs) await bringBack(ctx, svc, restart);
          }),
        };
      },
    };
  },
};
