// edge-down: the edge's proxy is disabled, so new connections are refused and open ones closed,
// as when a service's port is unreachable. Revert enables it again.
import type { DeployPlan } from '../../harness/topology/plan.ts';
import { disableEdges } from './edge-control.ts';
import type { ParamValues } from './params.ts';
import { resolveEdges } from './targets.ts';
import type { Fault, FaultKind } from './types.ts';

export const edgeDown: FaultKind = {
  name: 'edge-down',
  summary: 'disables an edge: connections refused and open ones closed',
  target: 'edge',
  params: [],
  create(target: string | undefined, _p: ParamValues, plan: DeployPlan): Fault {
    const edges = resolveEdges(plan, 'edge-down', target).map((e) => e.name);
    return {
      name: 'edge-down',
      target: target!,
      describe: () => `edge-down on ${edges.length === 1 ? edges[0] : `${edges.length} edges (${target})`}`,
      async apply(ctx) {
        const revert = await disableEdges(ctx, 'edge-down', edges);
        return { detail: `proxy disabled: ${edges.join(', ')}`, revert };
      },
    };
  },
};
