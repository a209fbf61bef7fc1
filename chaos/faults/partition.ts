// partition: two groups of hosts stop reaching each other: every proxied edge crossing the cut
// is disabled, both directions. Inside each side everything still works.
import type { DeployPlan } from '../../harness/topology/plan.ts';
import { disableEdges } from './edge-control.ts';
import type { ParamValues } from './params.ts';
import { resolveCut } from './targets.ts';
import type { Fault, FaultKind } from './types.ts';

export const partition: FaultKind = {
  name: 'partition',
  summary: 'cuts the network between two groups of hosts (a+b|c+d)',
  target: 'partition',
  params: [],
  create(target: string | undefined, _p: ParamValues, plan: DeployPlan): Fault {
    const cut = resolveCut(plan, 'partition', target);
    const edges = cut.edges.map((e) => e.name);
    const label = `${cut.sides[0].join('+')}|${cut.sides[1].join('+')}`;
    return {
      name: 'partition',
      target: label,
      describe: () => `partition ${cut.sides[0].join('+')} | ${cut.sides[1].join('+')} (${edges.length} edges cut)`,
      async apply(ctx) {
        const revert = await disableEdges(ctx, 'partition', edges);
        return { detail: `cut: ${edges.join(', ')}`, revert };
      },
    };
  },
};
