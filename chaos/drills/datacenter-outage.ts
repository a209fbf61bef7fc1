// datacenter-outage: a whole region (default: the write region, wherever the Patroni leader is at
// the fault) dies at once under load — every host of it down (each of its
// services SIGKILLed by pid through the runtime, every proxied edge to or from it disabled) — and
// comes back after the fault. Nothing of the harness takes part in the failover: the geo DNS's
// health checks move the region's clients to the nearest survivor, Patroni (with etcd's quorum of
// the survivors) promotes a member if the leader was there, and every router follows the leader.
//
// Figures: the leader's region at the fault, when the region went down (`regionDownAtS`, load
// clock: the fault's start plus the read of the leader that picks the region), the Patroni
// failover time (region down -> a surviving member answers /primary; null when the leader was
// elsewhere), the geo DNS's flip (region down -> the DNS answers the region's clients with
// another region, the drill's own query from their source address every 100 ms: the health
// checks' part), the DNS convergence of the failed region's clients (region down -> their
// resolver's first answer of another region, from the load's `regions` section: the flip plus
// the clients' cache and their next new connection), the failback (region back -> its clients answered by it again), and the
// failed region's and the survivors' requests and errors during the fault. From the load's
// per-second counts by serving region (targets/regions/figures.ts): the first success of the
// failed region's clients in a survivor, the shift time (their requests >= 95% served by the
// survivors for the rest of the outage), RTO (every second healthy for the rest of the outage),
// the successes each serving region gave during the outage, and each client region's p50/p99
// before and during it (merged from its seconds' histograms). Replication lag p50/p99/max per
// (leader -> replica) pair, from a sample a second before the fault. RPO is the write checker's
// (chaos/write-check.ts, read through a surviving region's router), counted from regionDownAtS.
// Active-active (a Patroni cluster per home region): the write region is the first cluster's
// leader's, every cluster whose leader was in the region is watched until a survivor leads
// (patroniFailoverS: the last of them; per cluster `.<scope>`), lag pairs are per cluster, and
// the write checker reads each shard through a surviving router that follows that shard's cluster.
//
// `--param hold-wal=<ms>` (or `hold-wal=true`: HOLD_WAL_DEFAULT_MS) is the RPO figure's negative
// control: between the leader's read and the kill, the leader's WAL is held back from every replica
// for that long (a Toxiproxy timeout toxic with no timeout on its replication proxy: the leader's
// bytes held, the connections kept open, as a stalled WAN link does) while the load's writes are
// acknowledged; then the region dies. Those writes never left it: the write checker must count them
// lost (rpoLostWrites > 0). Without the parameter nothing is held and RPO stays what it measures.
// After the kill the proxy is disabled before the toxic goes: a timeout toxic of 0 holds the bytes
// and delivers them when it is removed (measured: released after the kill, the held WAL reached the
// replicas and 0 of 111 acknowledged writes were lost); disabling closes the connections first.
// It stays disabled until the region comes back: the leader's PostgreSQL outlives its Patroni by
// up to 0.2 s (its wrapper's watcher), and a replica reconnecting meanwhile could fetch the WAL.
import { BenchError } from '../../harness/errors.ts';
import type { RegionResults } from '../../harness/run/results.ts';
import { PG_CREDENTIALS } from '../../targets/app/config.ts';
import { clientRegionPercentiles, firstSurvivorSuccessS, mergeServed, rtoS, samplePercentiles, shiftTimeS, wholeSecondInside, type Outage } from '../../targets/regions/figures.ts';
import { replicationLag } from '../../targets/regions/lag.ts';
import { CONTROL_HOST, type DeployPlan } from '../../harness/topology/plan.ts';
import { dnsQuery } from '../../harness/load/geo-dns.ts';
import { answerRegions, dataCenters, GEO_DNS, GEO_FQDN, regionFront } from '../../targets/phases/phase-7.ts';
import { regionNames } from '../../targets/regions/blocks.ts';
import { patroniClusters, twinRouters, type PatroniCluster } from '../../targets/regions/active-active.ts';
import { firstHost, resolvePdnsConfig } from '../../targets/services/pdns.ts';
import { patroniRole, replicationProxyName } from '../../targets/services/patroni.ts';
import { makeFault } from '../faults/index.ts';
import { parseDurationMs } from '../faults/params.ts';
import { once, TOXIC_PREFIX } from '../faults/toxic-fault.ts';
import type { Fault, FaultContext } from '../faults/types.ts';
import { namedRegion } from './lookup.ts';
import { APPLIES, doesNotApply, type Drill, type DrillState, type DrillTiming } from './types.ts';

/** How long the failover watch polls the survivors for a leader, and the DNS watch the geo DNS. */
const WATCH_TIMEOUT_MS = 60_000;
/** How often the DNS watch asks the geo DNS. */
export const DNS_WATCH_EVERY_MS = 100;

/** The watches in flight (failover, DNS), by drill run (verify waits for its own). */
const watches = new WeakMap<DrillState, Promise<unknown>>();
/** How often the lag is sampled before the fault. */
const LAG_EVERY_MS = 1_000;
/** Replication-lag samples before the fault, by drill run: pair ("us-east->eu") -> lag in ms and bytes. */
const lagSamples = new WeakMap<DrillState, Map<string, { ms: number[]; bytes: number[] }>>();

/** The source address of the client region a data center's clients stand in (its view's first
 *  client block), or null when the geo DNS names no view after it. */
export function clientSourceOf(plan: DeployPlan, region: string): string | null {
  const dns = plan.services.find((s) => s.name === GEO_DNS);
  if (dns?.config.kind !== 'pdns') return null;
  const view = resolvePdnsConfig(dns.config.pdns, plan).views.find((v) => v.name === region);
  return view ? firstHost(view.clients[0]!) : null;
}

/** Asks the geo DNS from the region's clients' source address every 100 ms while the region is
 *  down (until `until()`, at most WATCH_TIMEOUT_MS): dnsFlipS is the first answer served by
 *  another region (its balancer or a client listener in front of it: answerRegions; s since
 *  `t0`; null: never), dnsFlapsBack how many times
 *  it answered the dead region again after that (a health check that does not hold), and
 *  dnsProbeAnswers the answers' changes, for the record. */
async function watchDnsFlip(plan: DeployPlan, region: string, t0: number, state: DrillState, until: () => boolean): Promise<void> {
  state.figures.dnsFlipS = null;
  const source = clientSourceOf(plan, region);
  const dns = plan.services.find((s) => s.name === GEO_DNS);
  if (!source || !dns) return;
  const regionOf = answerRegions(plan);
  const own = (address: string) => regionOf.get(address) === region;
  const ask = dnsQuery(dns.address, source, 500);
  const changes: string[] = [];
  let last: string | null | undefined;
  let flapsBack = 0;
  while (!until() && performance.now() - t0 < WATCH_TIMEOUT_MS) {
    const answer = await ask(GEO_FQDN).then((a) => a[0]?.address ?? null, () => null);
    const atS = Math.round(performance.now() - t0) / 1000;
    if (answer !== last) {
      changes.push(`${atS}:${answer === null ? 'no answer' : `${answer}(${regionOf.get(answer) ?? 'unknown'})`}`);
      if (answer !== null && own(answer) && state.figures.dnsFlipS !== null) flapsBack += 1;
      last = answer;
    }
    if (answer !== null && !own(answer) && state.figures.dnsFlipS === null) state.figures.dnsFlipS = atS;
    await new Promise((res) => setTimeout(res, DNS_WATCH_EVERY_MS));
  }
  state.figures.dnsFlapsBack = flapsBack;
  state.figures.dnsProbeAnswers = changes.join(' ');
  if (state.figures.dnsFlipS === null) state.problems.push(`the geo DNS never answered ${region}'s clients with another region while it was down`);
}

/** hold-wal=true: how long the leader's WAL is held back before the kill (a few of the load's writes). */
export const HOLD_WAL_DEFAULT_MS = 3_000;
const HOLD_WAL_MAX_MS = 60_000;

/** `--param hold-wal=<ms>` (bare ms, or a duration: `2s`), `hold-wal=true` (HOLD_WAL_DEFAULT_MS);
 *  null without it or with `hold-wal=false`. Throws BenchError('usage') on anything else. Pure. */
export function holdWalMs(t: Pick<DrillTiming, 'params'>): number | null {
  const raw = t.params.map((p) => p.trim()).find((p) => p === 'hold-wal' || p.startsWith('hold-wal='));
  if (raw === undefined) return null;
  const value = raw === 'hold-wal' ? 'true' : raw.slice('hold-wal='.length);
  if (value === 'true') return HOLD_WAL_DEFAULT_MS;
  if (value === 'false') return null;
  const ms = parseDurationMs(value, 'ms');
  if (ms === null || !(ms > 0) || ms > HOLD_WAL_MAX_MS) throw new BenchError('usage', `datacenter-outage: hold-wal=${value} is not a duration above 0 and at most ${HOLD_WAL_MAX_MS / 1000} s`, 'use --param hold-wal=3000 (ms), hold-wal=3s or hold-wal=true');
  return ms;
}

/** The fault's target when none is named: the region whose Patroni member leads at the fault. */
export const WRITE_REGION = 'write-region';

/** The region the drill takes down when the user named one (checked), else null: the write
 *  region, known only at the fault (the leader moves between deployments). */
export function failedRegion(plan: DeployPlan, t: Pick<DrillTiming, 'target'>): string | null {
  return namedRegion(plan, t.target, 'datacenter-outage', WRITE_REGION);
}

/** The data centers, when the deployment has several and a geo DNS in front of them. Pure. */
function regionsOf(plan: DeployPlan): string[] {
  return plan.services.some((s) => s.name === GEO_DNS) ? dataCenters(plan.topology) : [];
}

/** In which of `regions` the cluster's leader stands now (null: no member there answers /primary). */
async function leaderNow(plan: DeployPlan, cluster: PatroniCluster, regions: readonly string[]): Promise<string | null> {
  const members = cluster.members.filter((m) => regions.includes(m.region));
  const roles = await Promise.all(members.map((m) => patroniRole(plan.services.find((s) => s.name === m.name)!)));
  const i = roles.indexOf('primary');
  return i < 0 ? null : members[i]!.region;
}

/** Points the write checker's read-back of every shard of the users store at a router, in one of
 *  `regions`, that follows the same cluster as the shard's own (active-active: a cluster per shard). */
function readBackThrough(plan: DeployPlan, regions: readonly string[], state: DrillState): void {
  const users = plan.topology.stores?.find((x) => x.name === 'users');
  if (users?.kind !== 'postgres') return;
  for (const sh of users.shards) {
    const twin = twinRouters(plan.topology, sh.primary, regions)[0];
    if (twin) state.primaries.set(sh.name, twin);
  }
}

/**
 * Holds back the leader's WAL from every replica for `ms` (hold-wal): a timeout toxic with no
 * timeout on the leader member's replication proxy, downstream (the leader's bytes to the
 * replicas are held, the connections stay open, so no replica reconnects or notices). Returns
 * `cut`, for after the kill: it closes the proxy's connections (what was held is dropped with
 * them) and removes the toxic, the proxy staying disabled; and `reopen`, which enables it again.
 */
async function holdWal(ctx: FaultContext, plan: DeployPlan, leader: string | null, ms: number, state: DrillState): Promise<{ cut(): Promise<void>; reopen(): Promise<void> }> {
  state.figures.walHeldS = null;
  if (leader === null) {
    state.problems.push('hold-wal: no Patroni member led at the fault, so no WAL was held back');
    return { cut: async () => {}, reopen: async () => {} };
  }
  if (!ctx.toxiproxy) throw new BenchError('usage', 'datacenter-outage: hold-wal acts on the replication proxies through Toxiproxy, and this run has none', 'run with Toxiproxy (the default)');
  const api = ctx.toxiproxy;
  const proxy = replicationProxyName(regionNames(leader).member);
  const name = `${TOXIC_PREFIX}hold-wal.downstream`;
  await api.addToxic(proxy, { name, type: 'timeout', stream: 'downstream', toxicity: 1, attributes: { timeout: 0 } });
  const t0 = performance.now();
  ctx.progress(`datacenter-outage: ${leader}'s WAL held back from its replicas for ${ms} ms before the kill`);
  await new Promise((res) => setTimeout(res, ms));
  // what the hold kept from each replica at its end: WAL bytes, and how old the newest transaction
  // it replayed is (about the hold's length when the hold held from its start). The replica's own
  // answers only: a held stream keeps its row on the leader, whose replay_lag stays at its last
  // measure instead of growing.
  const member = (r: string) => plan.services.find((s) => s.name === regionNames(r).member)!.address;
  await Promise.all(
    dataCenters(plan.topology).filter((r) => r !== leader).map(async (r) => {
      const lag = await replicationLag(member(leader), member(r), PG_CREDENTIALS).catch(() => null);
      state.figures[`walHeldBytes.${r}`] = lag?.bytes ?? null;
      state.figures[`walHeldLagS.${r}`] = lag?.seconds ?? null;
    }),
  );
  state.figures.walHeldS = Math.round(performance.now() - t0) / 1000;
  return {
    cut: once(async () => {
      await api.setEnabled(proxy, false);
      await api.removeToxic(proxy, name);
    }),
    reopen: once(() => api.setEnabled(proxy, true)),
  };
}

/**
 * The whole region down as one fault: the leader's region is read first (nothing is down yet),
 * then every host of the region goes down at once (host-down: its services SIGKILLed by pid
 * through the runtime, its proxied edges disabled), then the surviving regions' Patroni members
 * are polled until one leads (when the leader was in the region). Revert brings the hosts back
 * in the plan's order (etcd, Patroni, router, Redis, apps, balancer).
 */
function regionDown(plan: DeployPlan, fixed: string | null, state: DrillState, holdMs: number | null = null): Fault {
  const regions = dataCenters(plan.topology);
  // the harness's control host (Toxiproxy, Prometheus) carries the first region's name in the plan: not a data center's host
  const hostsOf = (r: string) => plan.hosts.filter((h) => h.region === r && h.name !== CONTROL_HOST);
  // every region's faults, built (and checked) before anything starts; the one due is picked at the fault
  const downsOf = new Map(regions.map((r) => [r, hostsOf(r).map((h) => makeFault('host-down', h.name, {}, plan))]));
  // active-passive: one cluster; active-active: one per home region, the first one's leader is
  // "the write region" (the default target)
  const clusters = patroniClusters(plan.topology);
  return {
    name: 'region-down',
    target: fixed ?? WRITE_REGION,
    describe: () => (fixed ? `region ${fixed} down: ${hostsOf(fixed).map((h) => h.name).join(', ')}` : "the write region (the Patroni leader's) down, every host of it"),
    async apply(ctx) {
      const applyStart = performance.now();
      const leaders = await Promise.all(clusters.map((c) => leaderNow(plan, c, regions)));
      const leader = leaders[0] ?? null;
      state.figures.leaderRegionAtFault = leader;
      // no member leads (a failover already under way): the first region, said in the figures
      const region = fixed ?? leader ?? regions[0]!;
      state.figures.failedRegion = region;
      const survivors = regions.filter((r) => r !== region);
      // the write checker reads each shard through a router that survives
      readBackThrough(plan, survivors, state);
      const downs = downsOf.get(region)!;
      // the region goes down after the hold, not at the fault's start: reading the leader took this long
      state.figures.leaderReadS = Math.round(performance.now() - applyStart) / 1000;
      const hold = holdMs === null ? null : await holdWal(ctx, plan, leader, holdMs, state);
      const t0 = performance.now();
      let reverted = false;
      const dnsWatch = watchDnsFlip(plan, region, t0, state, () => reverted);
      const settled = await Promise.allSettled(downs.map((f) => f.apply(ctx)));
      // the leader is dead (or the kill failed): the hold has done its part either way
      await hold?.cut();
      const applied = settled.flatMap((x) => (x.status === 'fulfilled' ? [x.value] : []));
      const waves = revertWaves(plan, settled.flatMap((x, i) => (x.status === 'fulfilled' ? [hostsOf(region)[i]!.name] : [])));
      // how long the kills took to land: answers the region gave until then are not a shift's failure
      state.figures.regionDownTookS = Math.round(performance.now() - t0) / 1000;
      const failed = settled.find((x): x is PromiseRejectedResult => x.status === 'rejected');
      if (failed) {
        reverted = true;
        for (const a of applied) await a.revert().catch(() => {});
        await hold?.reopen();
        throw failed.reason;
      }
      state.figures.patroniFailoverS = null;
      watches.set(state, dnsWatch);
      // the clusters whose leader died with the region: each must elect a survivor by itself
      const orphaned = clusters.filter((_, i) => leaders[i] === region);
      if (orphaned.length > 0) {
        const several = clusters.length > 1;
        watches.set(
          state,
          Promise.all([dnsWatch, ...orphaned.map(async (c) => {
            while (performance.now() - t0 < WATCH_TIMEOUT_MS) {
              const now = await leaderNow(plan, c, survivors);
              if (now !== null) {
                const atS = Math.round(performance.now() - t0) / 1000;
                // the failover is over when the last orphaned cluster leads again
                state.figures.patroniFailoverS = Math.max(atS, (state.figures.patroniFailoverS as number | null) ?? 0);
                if (several) {
                  state.figures[`patroniFailoverS.${c.scope}`] = atS;
                  state.figures[`newLeaderRegion.${c.scope}`] = now;
                }
                if (c === orphaned[0]) state.figures.newLeaderRegion = now;
                ctx.progress(`datacenter-outage: ${now}'s member of ${c.scope} leads ${atS} s after ${region} went down`);
                return;
              }
              await new Promise((res) => setTimeout(res, 100));
            }
            state.problems.push(`no surviving Patroni member of ${c.scope} led within ${WATCH_TIMEOUT_MS / 1000} s of the outage`);
          })]),
        );
      }
      return {
        detail: `leader in ${leader ?? 'no region'}; ${region} down: ${applied.map((a) => a.detail).join('; ')}`,
        revert: once(async () => {
          reverted = true;
          await hold?.reopen();
          // a wave's hosts together (a region's several Patroni members: one after the other took 80 s at 0.07 core each)
          for (const wave of waves) await Promise.all(wave.map((i) => applied[i]!.revert()));
        }),
      };
    },
  };
}

/**
 * The order to bring a region's downed hosts (in plan order) back: waves of their indices, a host
 * joining the wave before it unless one of its services depends on a service of that wave (the
 * dependency's edge must answer first). Pure.
 */
export function revertWaves(plan: Pick<DeployPlan, 'services'>, hosts: readonly string[]): number[][] {
  const waves: number[][] = [];
  let inWave = new Set<string>();
  hosts.forEach((h, i) => {
    const deps = plan.services.filter((s) => s.host === h).flatMap((s) => s.dependsOn);
    if (waves.length === 0 || deps.some((d) => inWave.has(d))) {
      waves.push([]);
      inWave = new Set();
    }
    waves.at(-1)!.push(i);
    for (const s of plan.services) if (s.host === h) inWave.add(s.name);
  });
  return waves;
}

/** The first time (s, load clock) at or after `fromS` a region's resolver answered an address
 *  that `isOwn` says the region serves (or not); null when it never did. Pure. */
export function firstAnswer(changes: readonly { atS: number; address: string | null }[], fromS: number, isOwn: (address: string) => boolean, want: 'own' | 'other'): number | null {
  const hit = changes.find((c) => c.atS >= fromS && c.address !== null && isOwn(c.address) === (want === 'own'));
  return hit ? hit.atS : null;
}

/** Whether an answered address is served by `region`: its balancer, or a client listener in front
 *  of it (the geo DNS answers far regions through those). */
const servedBy = (plan: Pick<DeployPlan, 'services' | 'listeners' | 'topology'>, region: string) => {
  const regions = answerRegions(plan);
  return (address: string) => regions.get(address) === region;
};

/** Samples every replica's lag behind the leader once a second until the fault (or the load's
 *  end); a sample that fails (a member restarting) is skipped, the count says how many held. */
async function sampleLag(plan: DeployPlan, t: DrillTiming, state: DrillState, signal: AbortSignal): Promise<void> {
  const regions = dataCenters(plan.topology);
  const clusters = patroniClusters(plan.topology);
  const service = (name: string) => plan.services.find((s) => s.name === name)!;
  const samples = new Map<string, { ms: number[]; bytes: number[] }>();
  lagSamples.set(state, samples);
  const until = performance.now() + t.atS * 1000;
  while (!signal.aborted && performance.now() < until && state.figures.failedRegion === undefined) {
    const next = performance.now() + LAG_EVERY_MS;
    await Promise.all(clusters.map(async (c) => {
      const leader = await leaderNow(plan, c, regions);
      if (leader === null) return;
      const from = c.members.find((m) => m.region === leader)!;
      await Promise.all(
        c.members.filter((m) => m !== from).map(async (m) => {
          const lag = await replicationLag(service(from.name).address, service(m.name).address, PG_CREDENTIALS, m.name).catch(() => null);
          if (!lag || lag.seconds === null) return;
          // active-active: a pair per cluster, named after its scope
          const pair = `${clusters.length > 1 ? `${c.scope}:` : ''}${leader}->${m.region}`;
          const s = samples.get(pair) ?? { ms: [], bytes: [] };
          s.ms.push(Math.round(lag.seconds * 1000));
          s.bytes.push(lag.bytes);
          samples.set(pair, s);
        }),
      );
    }));
    const wait = Math.min(next, until) - performance.now();
    if (wait > 0) await new Promise<void>((res) => {
      const timer = setTimeout(res, wait);
      signal.addEventListener('abort', () => (clearTimeout(timer), res()), { once: true });
    });
  }
}

/** The lag samples' figures per pair: p50/p99/max in ms, max in bytes, and N. Pure. */
export function lagFigures(samples: ReadonlyMap<string, { ms: readonly number[]; bytes: readonly number[] }>): Record<string, number | null> {
  const out: Record<string, number | null> = {};
  for (const [pair, s] of samples) {
    const ms = samplePercentiles(s.ms);
    out[`lagP50Ms.${pair}`] = ms.p50;
    out[`lagP99Ms.${pair}`] = ms.p99;
    out[`lagMaxMs.${pair}`] = ms.max;
    out[`lagMaxBytes.${pair}`] = samplePercentiles(s.bytes).max;
    out[`lagSamples.${pair}`] = ms.n;
  }
  return out;
}

const r3 = (x: number | null) => (x === null ? null : Math.round(x * 1000) / 1000);

/**
 * The figures from the load's per-region seconds and series: first survivor success and shift
 * time of the failed region's clients (null without clients there), RTO, the successes each
 * serving region gave in the seconds wholly inside the outage, and each client region's p50/p99
 * before the fault and inside the outage (merged from its seconds' histograms; null when nothing
 * succeeded). Pure.
 */
export function outageFigures(
  regions: RegionResults,
  series: Parameters<typeof rtoS>[0],
  failed: string,
  survivors: readonly string[],
  o: Outage,
  h: Parameters<typeof rtoS>[2],
): { figures: Record<string, number | null>; notes: string[] } {
  const figures: Record<string, number | null> = {};
  const notes: string[] = [];
  const mine = regions[failed]?.seconds;
  if (mine) {
    figures.firstSurvivorSuccessS = r3(firstSurvivorSuccessS(mine, o, survivors));
    figures.shiftTimeS = r3(shiftTimeS(mine, o, survivors));
  } else {
    figures.firstSurvivorSuccessS = null;
    figures.shiftTimeS = null;
    notes.push(`no client of ${failed} counted by serving region: its traffic shift was not measured`);
  }
  figures.rtoS = r3(rtoS(series, o, h));
  // "during": the seconds wholly inside the outage
  const all = mergeServed(Object.values(regions).map((x) => x.seconds ?? []));
  for (const s of all.filter((x) => wholeSecondInside(x.t, o))) for (const [r, n] of Object.entries(s.ok)) figures[`servedDuring.${r}`] = (figures[`servedDuring.${r}`] ?? 0) + n;
  Object.assign(figures, clientRegionPercentiles(regions, o));
  return { figures, notes };
}

export const datacenterOutage: Drill = {
  name: 'datacenter-outage',
  summary: 'every host of one region dies at once and comes back; traffic moves by geo DNS and Patroni, no human step',
  applies(plan) {
    const regions = regionsOf(plan);
    if (regions.length < 2) return doesNotApply(`it takes a whole region down behind a geo DNS, and phase ${plan.topology.phase} has ${regions.length === 0 ? 'no geo DNS' : 'one region'} (run phase 7)`);
    if (!plan.toxiproxy) return doesNotApply('it disables the region\'s edges through Toxiproxy, and this deployment connects its tiers directly (run without --no-proxies)');
    return APPLIES;
  },
  defaults: { atS: 15, durationS: 30, tailS: 30 },
  workload: 'mixed',
  hypothesis(plan, t) {
    const r = failedRegion(plan, t) ?? 'the write region (where the Patroni leader is at the fault)';
    const hold = holdWalMs(t);
    return {
      text:
        `every host of ${r} dies at once (SIGKILL) for ${t.durationS} s: ${r}'s clients are answered by another region and, if ${r} held the leader, Patroni promotes a survivor, with no human step; ` +
        'errors end within 25 s (Patroni ttl 10 s + the routers\' checks + the DNS TTL 2 s and its checks), then fewer than 1% of requests fail with p99 under 1500 ms; ' +
        'no acknowledged write is lost, which asynchronous replication does not guarantee (what the leader acknowledged and had not sent is lost, counted and named)',
      maxErrorRate: 0.01,
      maxP99Ms: 1500,
      outageAllowedS: 25,
      maxLostWrites: 0,
      ...(hold === null
        ? {}
        : { expectedFailure: `hold-wal: the leader's WAL was held back from its replicas for ${hold} ms before the kill, so what it acknowledged meanwhile is lost (the RPO figure's negative control)` }),
    };
  },
  schedule(plan, t, state) {
    const r = failedRegion(plan, t);
    const hold = holdWalMs(t);
    if (hold !== null && hold >= t.durationS * 1000) throw new BenchError('usage', `datacenter-outage: hold-wal=${hold} ms does not fit in the fault's ${t.durationS} s (the region dies after the hold)`, 'use a shorter hold-wal or a longer --duration');
    // until the fault picks the region, the write checker's reads go where they would anyway
    const survivor = dataCenters(plan.topology).find((x) => x !== r)!;
    readBackThrough(plan, [survivor], state);
    return [{ fault: regionDown(plan, r, state, hold), startS: t.atS, durationS: t.durationS }];
  },
  // no health probe: the load's API target is the geo name, which only the client regions resolve
  probes: () => [],
  watch: sampleLag,
  async verify(ctx) {
    await watches.get(ctx.state);
    const r = ctx.state.figures.failedRegion;
    if (typeof r !== 'string') return { problems: ['no region was taken down'] };
    const own = servedBy(ctx.plan, r);
    const down = ctx.windows.find((w) => w.name === 'region-down');
    if (!down) return { problems: [`region ${r} was never taken down`] };
    // measured from the moment the region went down (the fault's start plus the leader's read and a hold-wal)
    const leaderRead = ctx.state.figures.leaderReadS;
    const held = ctx.state.figures.walHeldS;
    const startS = Math.round((down.startS + (typeof leaderRead === 'number' ? leaderRead : 0) + (typeof held === 'number' ? held : 0)) * 1000) / 1000;
    const backS = down.endS;
    const regions = ctx.load.results.regions ?? null;
    const figures: Record<string, number | string | null> = { regionDownAtS: startS };
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
      else if (figures.failbackS === null) notes.push(`${r}'s clients did not come back to it before the load ended: a client resolves again only for a new connection, and its keep-alive connections to the survivor stayed open`);
    }
    if (regions) for (const [name, x] of Object.entries(regions)) {
      figures[`requests.${name}`] = x.requests;
      figures[`errors.${name}`] = x.errors;
      figures[`p99Ms.${name}`] = x.latencyMs?.p99 ?? null;
    }
    const survivors = dataCenters(ctx.plan.topology).filter((x) => x !== r);
    // the outage ends when the revert starts bringing the region back (its window ends when that
    // completed, tens of seconds later under load): from then on its clients fail back
    const untilS = Math.round((down.startS + ctx.timing.durationS) * 1000) / 1000;
    const outage = { faultAtS: startS, untilS: backS === null ? untilS : Math.min(untilS, backS) };
    figures.outageEndS = outage.untilS;
    if (regions) {
      const o = outageFigures(regions, ctx.load.results.series, r, survivors, outage, datacenterOutage.hypothesis(ctx.plan, ctx.timing));
      Object.assign(figures, o.figures);
      notes.push(...o.notes);
    } else {
      Object.assign(figures, { firstSurvivorSuccessS: null, shiftTimeS: null, rtoS: r3(rtoS(ctx.load.results.series, outage, datacenterOutage.hypothesis(ctx.plan, ctx.timing))) });
    }
    const lag = lagSamples.get(ctx.state);
    if (!lag || lag.size === 0) notes.push('no replication-lag sample before the fault (no member answered as leader, or every sample failed)');
    else Object.assign(figures, lagFigures(lag));
    return { figures, notes, faultAtS: startS };
  },
};
