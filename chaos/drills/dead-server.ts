// dead-server: SIGKILL one app server. Behind a load balancer with health checks and retries
// (phase 3+) the others take its traffic and almost nothing fails; with a single app server
// (phases 1-2) it is the single point of failure, and the drill shows it.
import type { DeployPlan } from '../../harness/topology/plan.ts';
import { makeFault } from '../faults/index.ts';
import { appServers, resolveAppServer } from './lookup.ts';
import { APPLIES, doesNotApply, type Applicability, type Drill, type VerifyContext } from './types.ts';

export const deadServer: Drill = {
  name: 'dead-server',
  summary: 'SIGKILL one app server for a while, then start it again',
  applies: hasAppServer,
  defaults: { atS: 10, durationS: 20, tailS: 15 },
  workload: 'mixed',
  hypothesis(plan) {
    const apps = appServers(plan);
    const single = apps.length < 2;
    return {
      text: single
        ? `the app server dies (SIGKILL): fewer than 1% of requests fail and p99 stays under 1000 ms`
        : `one of ${apps.length} app servers dies (SIGKILL): fewer than 1% of requests fail and p99 stays under 1000 ms`,
      maxErrorRate: 0.01,
      maxP99Ms: 1000,
      expectedFailure: single
        ? `phase ${plan.topology.phase} has a single app server (${apps[0]?.name ?? 'app'}): it is the single point of failure, and every request fails until it is back`
        : undefined,
    };
  },
  schedule(plan, t) {
    const victim = resolveAppServer(plan, 'dead-server', t.target);
    return [{ fault: makeFault('kill', victim.name, {}, plan), startS: t.atS, durationS: t.durationS }];
  },
  async verify(ctx) {
    return { figures: rotationFigures(ctx, resolveAppServer(ctx.plan, 'dead-server', ctx.timing.target).name, 'kill') };
  },
};

/** The app-server drills (dead-server, hung-server) need an app server to break. */
export function hasAppServer(plan: DeployPlan): Applicability {
  return appServers(plan).length > 0 ? APPLIES : doesNotApply(`it breaks an app server, and phase ${plan.topology.phase} has none`);
}

/**
 * When the victim rejoined the rotation, from the health probes' X-Served-By: its first answer
 * after the fault ended (the balancer's health checks letting it back in), in seconds.
 */
export function rotationFigures(ctx: VerifyContext, victim: string, fault: string): Record<string, number | null> {
  const w = ctx.windows.find((x) => x.name === fault);
  const mine = ctx.probes.filter((p) => p.servedBy === victim && p.ok);
  if (!w || appServers(ctx.plan).length < 2) return {};
  const firstAfter = w.endS === null ? undefined : mine.find((p) => p.tS >= w.endS!);
  const r3 = (x: number) => Math.round(x * 1000) / 1000;
  return {
    victimBackInRotationS: firstAfter && w.endS !== null ? r3(firstAfter.tS - w.endS) : null,
  };
}
