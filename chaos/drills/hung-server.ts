// hung-server: SIGSTOP one app server (a long GC pause, a stuck disk): it keeps its connections
// open and answers nothing. Health checks must take it out and timeouts must not pile up.
import { makeFault } from '../faults/index.ts';
import { hasAppServer, rotationFigures } from './dead-server.ts';
import { appServers, resolveAppServer } from './lookup.ts';
import type { Drill } from './types.ts';

export const hungServer: Drill = {
  name: 'hung-server',
  summary: 'SIGSTOP one app server for a while, then SIGCONT',
  applies: hasAppServer,
  defaults: { atS: 10, durationS: 10, tailS: 15 },
  workload: 'mixed',
  hypothesis(plan) {
    const apps = appServers(plan);
    const single = apps.length < 2;
    return {
      text: `${single ? 'the app server hangs' : `one of ${apps.length} app servers hangs`} (SIGSTOP): fewer than 1% of requests fail and p99 stays under 2500 ms`,
      maxErrorRate: 0.01,
      // a hung server holds the requests it accepted until a timeout sends them elsewhere
      maxP99Ms: 2500,
      expectedFailure: single
        ? `phase ${plan.topology.phase} has a single app server: while it hangs, nothing answers`
        : undefined,
    };
  },
  schedule(plan, t) {
    const victim = resolveAppServer(plan, 'hung-server', t.target);
    return [{ fault: makeFault('hang', victim.name, {}, plan), startS: t.atS, durationS: t.durationS }];
  },
  async verify(ctx) {
    return { figures: rotationFigures(ctx, resolveAppServer(ctx.plan, 'hung-server', ctx.timing.target).name, 'hang') };
  },
};
