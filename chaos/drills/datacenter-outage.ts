// datacenter-outage: a whole region dies at once under load — every host of it down (each of its
// services SIGKILLed by pid through the runtime, every proxied edge to or from it disabled) — and
// comes back after the fault. Nothing of the harness takes part in the failover: the geo DNS's
// health checks move the region's clients to the nearest survivor, Patroni (with etcd's quorum of
// the survivors) promotes a member if the leader was there, and every router follows the leader.
//
// Figures: the leader's region at the fault, the Patroni failover time (fault -> a surviving
// member answers /primary; null when the leader was elsewhere), the DNS convergence of the failed
// region's clients (fault -> their resolver's first answer of another region, from the load's
// `regions` section), the failback (region back -> its clients answered by it again), and the
// failed region's and the survivors' requests and errors during the fault. RPO is the write
// checker's (chaos/write-check.ts, read through a surviving region's router).
import { BenchError } from '../../harness/errors.ts';
import type { DeployPlan } from '../../harness/topology/plan.ts';
import { dataCenters, GEO_DNS, regionFront } from '../../targets/phases/phase-7.ts';
import { regionNames } from '../../targets/regions/blocks.ts';
import { patroniRole } from '../../targets/services/patroni.ts';
import { makeFault } from '../faults/index.ts';
import type { Fault } from '../faults/types.ts';
import { APPLIES, doesNotApply, type Drill, type DrillState, type DrillTiming } from './types.ts';

/** How long the failover watch polls the survivors for a leader. */
const WATCH_TIMEOUT_MS = 60_000;

/** The failover watches in flight, by drill run (verify waits for its own). */
const watches = new WeakMap<DrillState, Promise<void>>();

/** The region the drill takes down: the target, else the first data center (us-east by default). */
export function failedRegion(plan: DeployPlan, t: Pick<DrillTiming, 'target'>): string {
  const regions = dataCenters(plan.topology);
  const r = t.target ?? regions[0]!;
  if (!regions.includes(r)) throw new BenchError('usage', `${r} is not a region of this deployment (drill datacenter-outage)`, `its regions: ${regions.join(', ')}`);
  return r;
}

/** The data centers, when the deployment has several and a geo DNS in front of them. Pure. */
function regionsOf(plan: DeployPlan): string[] {
  return plan.services.some((s) => s.name === GEO_DNS) ? dataCenters(plan.topology) : [];
}

/**
 * Records the leader's region just before the fault, then (from the fault on) polls the other
 * regions' Patroni members until one leads: an action on the timeline, reverting nothing.
 */
function failoverWatch(plan: DeployPlan, region: string, state: DrillState, killAtMs: () => number): { before: Fault; at: Fault } {
  const regions = dataCenters(plan.topology);
  const member = (r: string) => plan.services.find((s) => s.name === regionNames(r).member)!;
  return {
    before: {
      name: 'leader-check',
      target: regionNames(region).member,
      describe: () => 'which region leads, just before the outage',
      async apply() {
        let leader: string | null = null;
        for (const r of regions) if ((await patroniRole(member(r))) === 'primary') leader = r;
        state.figures.leaderRegionAtFault = leader;
        return { detail: `leader in ${leader ?? 'no region'}`, revert: async () => {} };
      },
    },
    at: {
      name: 'failover-watch',
      target: regionNames(region).member,
      describe: () => `polls the surviving Patroni members for a leader`,
      async apply(ctx) {
        const t0 = killAtMs();
        const survivors = regions.filter((r) => r !== region);
        const watch = (async () => {
          if (state.figures.leaderRegionAtFault !== region) {
            state.figures.patroniFailoverS = null;
            return;
          }
          while (performance.now() - t0 < WATCH_TIMEOUT_MS) {
            for (const r of survivors) {
              if ((await patroniRole(member(r), 500)) === 'primary') {
                state.figures.patroniFailoverS = Math.round(performance.now() - t0) / 1000;
                state.figures.newLeaderRegion = r;
                ctx.progress(`datacenter-outage: ${r}'s member leads ${state.figures.patroniFailoverS} s after the outage`);
                return;
              }
            }
            await new Promise((res) => setTimeout(res, 100));
          }
          state.problems.push(`no surviving Patroni member led within ${WATCH_TIMEOUT_MS / 1000} s of the outage`);
          state.figures.patroniFailoverS = null;
        })();
        watches.set(state, watch);
        return { detail: `watching ${survivors.map((r) => regionNames(r).member).join(', ')}`, revert: async () => {} };
      },
    },
  };
}

/** The first time (s, load clock) at or after `fromS` a region's resolver answered an address
 *  (not) in `own`; null when it never did. Pure. */
export function firstAnswer(changes: readonly { atS: number; address: string | null }[], fromS: number, own: string, want: 'own' | 'other'): number | null {
  const hit = changes.find((c) => c.atS >= fromS && c.address !== null && (want === 'own' ? c.address === own : c.address !== own));
  return hit ? hit.atS : null;
}

export const datacenterOutage: Drill = {
  name: 'datacenter-outage',
  summary: 'every host of one region dies at once and comes back; traffic moves by geo DNS and Patroni, no human step',
  applies(plan) {
    const regions = regionsOf(plan);
    if (regions.length < 2) return doesNotApply(`it takes a whole region down behind a geo DNS, and phase ${plan.topology.phase} has ${regions.length < 1 ? 'no regions' : 'one region'} (run phase 7)`);
    if (!plan.toxiproxy) return doesNotApply('it disables the region\'s edges through Toxiproxy, and this deployment connects its tiers directly (run without --no-proxies)');
    return APPLIES;
  },
  defaults: { atS: 15, durationS: 30, tailS: 30 },
  workload: 'mixed',
  hypothesis(plan, t) {
    const r = failedRegion(plan, t);
    return {
      text:
        `every host of ${r} dies at once (SIGKILL) for ${t.durationS} s: ${r}'s clients are answered by another region and, if ${r} held the leader, Patroni promotes a survivor, with no human step; ` +
        'errors end within 25 s (Patroni ttl 10 s + the routers\' checks + the DNS TTL 2 s and its checks), then fewer than 1% of requests fail with p99 under 1500 ms; ' +
        'no acknowledged write is lost, which asynchronous replication does not guarantee (what the leader acknowledged and had not sent is lost, counted and named)',
      maxErrorRate: 0.01,
      maxP99Ms: 1500,
      outageAllowedS: 25,
      maxLostWrites: 0,
    };
  },
  schedule(plan, t, state) {
    const r = failedRegion(plan, t);
    const hosts = plan.hosts.filter((h) => h.region === r);
    const survivor = dataCenters(plan.topology).find((x) => x !== r)!;
    // the write checker reads the store through a router that survives
    state.primaries.set('main', regionNames(survivor).router);
    let killAtMs = 0;
    const watch = failoverWatch(plan, r, state, () => killAtMs);
    const mark: Fault = {
      name: 'outage-start',
      target: r,
      describe: () => `${r} goes down`,
      async apply() {
        killAtMs = performance.now();
        return { detail: `${hosts.length} hosts`, revert: async () => {} };
      },
    };
    return [
      { fault: watch.before, startS: Math.max(0, t.atS - 1), durationS: 0 },
      { fault: mark, startS: t.atS, durationS: 0 },
      ...hosts.map((h) => ({ fault: makeFault('host-down', h.name, {}, plan), startS: t.atS, durationS: t.durationS })),
      { fault: watch.at, startS: t.atS, durationS: 0 },
    ];
  },
  // no health probe: the load's API target is the geo name, which only the client regions resolve
  probes: () => [],
  async verify(ctx) {
    await watches.get(ctx.state);
    const r = failedRegion(ctx.plan, ctx.timing);
    const own = ctx.plan.services.find((s) => s.name === regionFront(r).lb)!.address.host;
    const down = ctx.windows.filter((w) => w.name === 'host-down');
    const startS = Math.min(...down.map((w) => w.startS));
    const ends = down.map((w) => w.endS);
    const backS = ends.every((e): e is number => e !== null) ? Math.max(...ends) : null;
    const regions = ctx.load.results.regions ?? null;
    const figures: Record<string, number | string | null> = { failedRegion: r };
    const notes: string[] = [];
    const mine = regions?.[r];
    if (!mine) {
      notes.push(`the load had no client in ${r} (--client-mix), so its DNS convergence was not measured`);
      figures.dnsConvergenceS = null;
      figures.failbackS = null;
    } else {
      const moved = firstAnswer(mine.dns.changes, startS, own, 'other');
      figures.dnsConvergenceS = moved === null ? null : Math.round((moved - startS) * 1000) / 1000;
      const back = backS === null || moved === null ? null : firstAnswer(mine.dns.changes, backS, own, 'own');
      figures.failbackS = back === null || backS === null ? null : Math.round((back - backS) * 1000) / 1000;
      if (moved === null) notes.push(`${r}'s clients were never answered by another region (a pinned DNS cache keeps the dead region: --dns-cache)`);
    }
    if (regions) for (const [name, x] of Object.entries(regions)) {
      figures[`requests.${name}`] = x.requests;
      figures[`errors.${name}`] = x.errors;
      figures[`p99Ms.${name}`] = x.latencyMs?.p99 ?? null;
    }
    return { figures, notes };
  },
};
