// hang: SIGSTOP a service, as a long GC pause or a stuck disk: it holds its connections and
// answers nothing. Revert sends SIGCONT.
import type { DeployPlan } from '../../harness/topology/plan.ts';
import type { ParamValues } from './params.ts';
import { resolveService } from './targets.ts';
import { once } from './toxic-fault.ts';
import type { Fault, FaultKind } from './types.ts';

export const hang: FaultKind = {
  name: 'hang',
  summary: 'SIGSTOPs a service (it holds connections, answers nothing); revert sends SIGCONT',
  target: 'service',
  params: [],
  create(target: string | undefined, _p: ParamValues, plan: DeployPlan): Fault {
    const s = resolveService(plan, 'hang', target);
    return {
      name: 'hang',
      target: s.name,
      describe: () => `SIGSTOP ${s.name}`,
      async apply(ctx) {
        const svc = ctx.deployment.service(s.name);
        const first = ctx.holds.acquire(`hang:${s.name}`);
        if (first) {
          try {
            await svc.signal('SIGSTOP');
          } catch (err) {
            ctx.holds.release(`hang:${s.name}`);
            throw err;
          }
        }
        return {
          detail: first ? `SIGSTOP ${s.name} (${svc.id})` : `${s.name} was already stopped`,
          revert: once(async () => {
            if (ctx.holds.release(`hang:${s.name}`)) await svc.signal('SIGCONT');
          }),
        };
      },
    };
  },
};
