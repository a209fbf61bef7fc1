// stop: a graceful stop (SIGTERM, then SIGKILL after the runtime's grace period), as a deploy or
// a planned restart. Revert starts the service and waits until it is ready.
import type { DeployPlan } from '../../harness/topology/plan.ts';
import type { ParamValues } from './params.ts';
import { bringBack, takeDown } from './process-control.ts';
import { resolveService } from './targets.ts';
import { once } from './toxic-fault.ts';
import type { Fault, FaultKind } from './types.ts';

export const stop: FaultKind = {
  name: 'stop',
  summary: 'stops a service gracefully; revert starts it again',
  target: 'service',
  params: [],
  create(target: string | undefined, _p: ParamValues, plan: DeployPlan): Fault {
    const s = resolveService(plan, 'stop', target);
    return {
      name: 'stop',
      target: s.name,
      describe: () => `graceful stop of ${s.name}`,
      async apply(ctx) {
        const svc = ctx.deployment.service(s.name);
        const did = await takeDown(ctx, svc, 'stop');
        return { detail: did ? `stopped ${s.name}` : `${s.name} was already down`, revert: once(() => bringBack(ctx, svc, true)) };
      },
    };
  },
};
