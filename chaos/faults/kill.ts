// kill: SIGKILL a service, as a crash or an OOM kill. Revert starts it again and waits until it is
// ready, unless restart=false (a failed-over database primary stays down).
import type { DeployPlan } from '../../harness/topology/plan.ts';
import type { ParamValues } from './params.ts';
import { bringBack, takeDown } from './process-control.ts';
import { resolveService } from './targets.ts';
import { once } from './toxic-fault.ts';
import type { Fault, FaultKind } from './types.ts';

export const kill: FaultKind = {
  name: 'kill',
  summary: 'SIGKILLs a service; revert starts it again (restart=false leaves it down)',
  target: 'service',
  params: [{ name: 'restart', type: 'bool', default: true, description: 'start the service again when the fault ends (true)' }],
  create(target: string | undefined, p: ParamValues, plan: DeployPlan): Fault {
    const s = resolveService(plan, 'kill', target);
    const restart = p.restart as boolean;
    return {
      name: 'kill',
      target: s.name,
      describe: () => `kill -9 ${s.name}${restart ? '' : ' (left down)'}`,
      async apply(ctx) {
        const svc = ctx.deployment.service(s.name);
        const pid = svc.id;
        const did = await takeDown(ctx, svc, 'kill');
        return {
          detail: did ? `SIGKILL ${s.name} (${pid})` : `${s.name} was already down`,
          revert: once(() => bringBack(ctx, svc, restart)),
        };
      },
    };
  },
};
