// region-partition: one region (default: the Patroni leader's, at the fault) is cut from the
// others under load, both directions, for the fault's duration; inside each side everything
// still works. The question is split brain: Patroni must demote the minority's leader when it
// loses etcd's quorum (ttl 10 s) before the majority promotes a member, so no two primaries ever
// accept writes at once.
//
// What is cut: every proxied edge between the region's hosts and the other data centers' (the
// partition fault's cut, so the WAN baseline toxics stay on the proxies: disabling a proxy keeps
// its toxics), the replication proxy of the region's member (the others stream WAL from the
// leader through it), and the region's etcd member is frozen (SIGSTOP): etcd's raft traffic goes
// straight between the members, not through Toxiproxy, so no proxy can cut it, and a minority
// member without quorum answers the region's Patroni nothing useful, as a frozen one does.
// Patroni's REST API is not proxied either: once the region's member no longer leads, its Patroni
// is frozen too (see apply), and at the heal it is restarted once its region's etcd member is
// back in the quorum, never thawed (see revert). The geo DNS (region `global`) keeps reaching
// every region: it sits outside the cut.
//
// Two watches run from the cut to the heal, every WATCH_EVERY_MS: each member's role from its
// Patroni REST API (what the routers' health checks see), and a write through each region's
// router into a table of the drill's own, which records the member that acknowledged it
// (inet_server_addr()). Split brain is judged on both (splitBrain(), pure, with a negative
// control in region-partition.test.ts). The minority's acknowledged writes are read back from the
// majority's leader after the heal; the load's own writes are the write checker's.
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { BenchError } from '../../harness/errors.ts';
import type { DeployPlan } from '../../harness/topology/plan.ts';
import { dataCenters, GEO_DNS } from '../../targets/phases/phase-7.ts';
import { regionNames } from '../../targets/regions/blocks.ts';
import { clientRegionPercentiles } from '../../targets/regions/figures.ts';
import { patroniClusters } from '../../targets/regions/active-active.ts';
import { PG_CREDENTIALS } from '../../targets/app/config.ts';
import { waitForEtcdQuorum } from '../../targets/services/etcd.ts';
import { patroniLeads, patroniRole, replicationProxyName } from '../../targets/services/patroni.ts';
import { disableEdges } from '../faults/edge-control.ts';
import { makeFault } from '../faults/index.ts';
import { resolveCut } from '../faults/targets.ts';
import { once } from '../faults/toxic-fault.ts';
import type { Fault } from '../faults/types.ts';
import { WRITE_REGION } from './datacenter-outage.ts';
import { namedRegion } from './lookup.ts';
import { APPLIES, doesNotApply, type Drill, type DrillState, type DrillTiming, type VerifyContext } from './types.ts';

/** How often the watches poll the roles and write through every router. */
const WATCH_EVERY_MS = 500;
/** Each write attempt's connect and query timeout. */
const WRITE_TIMEOUT_MS = 1_000;
/** The drill's own table: one row per acknowledged write attempt. */
export const PROBE_TABLE = 'bench_partition_probe';

export type Role = 'primary' | 'replica' | 'down';

/** One round of the role watch: seconds since the cut, and each region's member's role. */
export interface RolePoll {
  tS: number;
  roles: Record<string, Role>;
}

/** One write attempt through a region's router: sent and answered in seconds since the cut; the
 *  region whose member acknowledged it (null: it failed) and the row's id. */
export interface WriteAttempt {
  router: string;
  sentS: number;
  atS: number;
  member: string | null;
  id: number | null;
  /** the write's own key, chosen here: the id comes from a sequence, and a leader elected from a
   *  replica that missed the old leader's last sequence WAL hands out the same ids again, so a
   *  minority's lost write would read back as present by id */
  token: string;
}

export interface SplitBrain {
  /** poll rounds in which two or more members answered /primary */
  twoPrimaryPolls: number[];
  /** the first proof that two members accepted writes at once: a member acknowledged a write
   *  sent after another member's acknowledgement, itself sent after an earlier acknowledgement by
   *  the first (A, then B, then A again, each strictly after the last), or null */
  interleaved: { a: string; b: string; atS: number } | null;
}

/**
 * Split brain in recorded observations. Polls: a round (every member asked at once) where two
 * answer /primary. Writes: strict interleaving by two members: with asynchronous replication a
 * failover's members acknowledge one after the other (old, then new), never old, new, old; a
 * write's commit lies somewhere in [sent, answered], so only strict order counts. Pure.
 */
export function splitBrain(polls: readonly RolePoll[], writes: readonly WriteAttempt[]): SplitBrain {
  const twoPrimaryPolls = polls.filter((p) => Object.values(p.roles).filter((r) => r === 'primary').length >= 2).map((p) => p.tS);
  const acked = writes.filter((w) => w.member !== null).sort((x, y) => x.atS - y.atS);
  for (const a1 of acked) {
    for (const b of acked) {
      if (b.member === a1.member || !(b.sentS > a1.atS)) continue;
      const a2 = acked.find((w) => w.member === a1.member && w.sentS > b.atS);
      if (a2) return { twoPrimaryPolls, interleaved: { a: a1.member!, b: b.member!, atS: a2.atS } };
    }
  }
  return { twoPrimaryPolls, interleaved: null };
}

/** The last time (s since the cut) `region`'s member acknowledged a write, or answered /primary;
 *  null when it never did after the cut. Pure. */
export function lastAccepted(polls: readonly RolePoll[], writes: readonly WriteAttempt[], region: string): { writeS: number | null; primaryS: number | null } {
  const w = writes.filter((x) => x.member === region && x.sentS >= 0).map((x) => x.atS);
  const p = polls.filter((x) => x.roles[region] === 'primary' && x.tS >= 0).map((x) => x.tS);
  return { writeS: w.length ? Math.max(...w) : null, primaryS: p.length ? Math.max(...p) : null };
}

/** The first poll (s since the cut) in which a member of `regions` answered /primary. Pure. */
export function firstPrimaryAmong(polls: readonly RolePoll[], regions: readonly string[]): { tS: number; region: string } | null {
  for (const p of polls) {
    const r = regions.find((x) => p.roles[x] === 'primary');
    if (r) return { tS: p.tS, region: r };
  }
  return null;
}

/** The data centers' names, when the deployment has a geo DNS in front of several. Pure. */
export function regionsOf(plan: DeployPlan): string[] {
  return plan.services.some((s) => s.name === GEO_DNS) ? dataCenters(plan.topology) : [];
}

/** Each region's member by its address's host: what inet_server_addr() answers, read back as a region. */
function memberRegions(plan: DeployPlan, regions: readonly string[]): Map<string, string> {
  return new Map(regions.map((r) => [plan.services.find((s) => s.name === regionNames(r).member)!.address.host, r]));
}

/** Each region's member's role, asked at once. */
export async function rolesNow(plan: DeployPlan, regions: readonly string[], timeoutMs?: number): Promise<Record<string, Role>> {
  const roles = await Promise.all(regions.map((r) => patroniRole(plan.services.find((s) => s.name === regionNames(r).member)!, timeoutMs)));
  return Object.fromEntries(regions.map((r, i) => [r, roles[i]!]));
}

/** Per client region of the load: requests, errors and the successes' p99 over the whole run,
 *  and their p50 and p99 before and during the drill's fault window (clientRegionPercentiles). */
export function clientRegionFigures(ctx: Pick<VerifyContext, 'load' | 'windows'>): Record<string, number | null> {
  const out: Record<string, number | null> = {};
  const regions = ctx.load.results.regions ?? {};
  for (const [name, x] of Object.entries(regions)) {
    out[`requests.${name}`] = x.requests;
    out[`errors.${name}`] = x.errors;
    out[`p99Ms.${name}`] = x.latencyMs?.p99 ?? null;
  }
  const w = ctx.windows[0];
  return w ? { ...out, ...clientRegionPercentiles(regions, { faultAtS: w.startS, untilS: w.endS }) } : out;
}

/** One PostgreSQL statement at `at`, on a connection of its own, bounded by WRITE_TIMEOUT_MS. */
async function query<T>(at: { host: string; port: number }, sql: string, params: unknown[] = []): Promise<T[]> {
  const c = new pg.Client({ host: at.host, port: at.port, ...PG_CREDENTIALS, connectionTimeoutMillis: WRITE_TIMEOUT_MS, query_timeout: WRITE_TIMEOUT_MS });
  c.on('error', () => {});
  try {
    await c.connect();
    return (await c.query(sql, params)).rows as T[];
  } finally {
    await c.end().catch(() => {});
  }
}

/** How long a majority member may take to replay the probe table's creation (s). */
const PROBE_TABLE_REPLAY_S = 10;

/** Waits until every member of `regions` replayed the leader's WAL up to now (the probe table's
 *  creation); seconds it took. Bounded: a member that does not is a failure of the drill's set-up
 *  (environment), named, before anything was cut. */
async function probeTableOnMembers(plan: DeployPlan, leaderRouter: { host: string; port: number }, regions: readonly string[]): Promise<number> {
  const [{ lsn }] = (await query<{ lsn: string }>(leaderRouter, 'SELECT pg_current_wal_lsn()::text AS lsn')) as [{ lsn: string }];
  const t0 = performance.now();
  for (const r of regions) {
    const member = plan.services.find((s) => s.name === regionNames(r).member)!;
    for (;;) {
      const rows = await query<{ ok: boolean | null }>(member.address, 'SELECT pg_is_in_recovery() = false OR pg_last_wal_replay_lsn() >= $1::pg_lsn AS ok', [lsn]).catch(() => []);
      if (rows[0]?.ok === true) break;
      if (performance.now() - t0 > PROBE_TABLE_REPLAY_S * 1000) {
        throw new BenchError('environment', `region-partition: ${member.name} did not replay the probe table's creation (LSN ${lsn}) within ${PROBE_TABLE_REPLAY_S} s, before the cut`, `check ${member.name}'s replication (its log), then run the drill again`);
      }
      await new Promise((res) => setTimeout(res, 50));
    }
  }
  return Math.round(performance.now() - t0) / 1000;
}

/** What a run's watches recorded, by drill run (verify reads it). */
interface Watch {
  region: string;
  leader: string | null;
  polls: RolePoll[];
  writes: WriteAttempt[];
  stop(): Promise<void>;
}
const watches = new WeakMap<DrillState, Watch>();

/** The members answering /primary from the heal until verify, at each change: "<s after the
 *  cut>:<regions>" ("none" when no member does), so a leader change at the heal shows. */
interface HealWatch {
  changes: string[];
  stop(): Promise<void>;
}
const healWatches = new WeakMap<DrillState, HealWatch>();
/** The heal watch stops on its own this long after the heal, if verify has not stopped it. */
const HEAL_WATCH_MAX_MS = 120_000;

function watchAfterHeal(plan: DeployPlan, regions: readonly string[], t0: number): HealWatch {
  const changes: string[] = [];
  const started = performance.now();
  let stopped = false;
  let last = '';
  const loop = (async () => {
    while (!stopped && performance.now() - started < HEAL_WATCH_MAX_MS) {
      const roles = await rolesNow(plan, regions, 400).catch(() => null);
      const primaries = roles ? regions.filter((r) => roles[r] === 'primary').join('+') || 'none' : 'unknown';
      if (primaries !== last) {
        changes.push(`${Math.round(performance.now() - t0) / 1000}:${primaries}`);
        last = primaries;
      }
      await new Promise((res) => setTimeout(res, WATCH_EVERY_MS));
    }
  })();
  return {
    changes,
    async stop() {
      stopped = true;
      await loop;
    },
  };
}

/** Polls every member's role and writes through every region's router until stopped. */
function startWatch(plan: DeployPlan, regions: readonly string[], t0: number, w: Omit<Watch, 'stop'>): Watch {
  const hostToRegion = memberRegions(plan, regions);
  const since = () => Math.round(performance.now() - t0) / 1000;
  let stopped = false;
  const write = async (r: string): Promise<void> => {
    const router = plan.services.find((s) => s.name === regionNames(r).router)!;
    const sentS = since();
    const token = randomUUID();
    try {
      const [row] = await query<{ id: string; addr: string }>(router.address, `INSERT INTO ${PROBE_TABLE} (router, token) VALUES ($1, $2) RETURNING id::text, host(inet_server_addr()) AS addr`, [r, token]);
      w.writes.push({ router: r, sentS, atS: since(), member: hostToRegion.get(row!.addr) ?? row!.addr, id: Number(row!.id), token });
    } catch {
      w.writes.push({ router: r, sentS, atS: since(), member: null, id: null, token });
    }
  };
  const loop = (async () => {
    while (!stopped) {
      const started = performance.now();
      const tS = since();
      // a frozen member answers nothing: a short timeout keeps the rounds near WATCH_EVERY_MS
      await Promise.all([rolesNow(plan, regions, 400).then((roles) => w.polls.push({ tS, roles })), ...regions.map(write)]);
      await new Promise((res) => setTimeout(res, Math.max(0, WATCH_EVERY_MS - (performance.now() - started))));
    }
  })();
  return {
    ...w,
    async stop() {
      stopped = true;
      await loop;
    },
  };
}

/** The proxies the cut disables: every proxied edge between `region`'s hosts and the other data
 *  centers' (not the geo DNS's), and its member's replication proxy. Pure. */
export function cutOf(plan: DeployPlan, region: string): string[] {
  const others = dataCenters(plan.topology).filter((x) => x !== region);
  return [...resolveCut(plan, 'region-partition', `${region}|${others.join('+')}`).edges.map((e) => e.name), replicationProxyName(regionNames(region).member)];
}

/**
 * The region cut from the others as one fault. The leader's region is read first, the probe
 * table made through its router, then the cut: edges, the member's replication proxy and the
 * region's etcd member at once. Revert thaws etcd, then brings the proxies back.
 */
function regionCut(plan: DeployPlan, fixed: string | null, state: DrillState): Fault {
  const regions = dataCenters(plan.topology);
  // every region's cut, checked before anything starts; the one due is picked at the fault
  const cuts = new Map(regions.map((r) => [r, cutOf(plan, r)]));
  const freezes = new Map(regions.map((r) => [r, makeFault('hang', regionNames(r).etcd, {}, plan)]));
  const silences = new Map(regions.map((r) => [r, makeFault('hang', regionNames(r).member, {}, plan)]));
  const restarts = new Map(regions.map((r) => [r, makeFault('kill', regionNames(r).member, {}, plan)]));
  return {
    name: 'region-partition',
    target: fixed ?? WRITE_REGION,
    describe: () => `region ${fixed ?? "of the Patroni leader"} cut from the others (every proxied edge across, its member's replication proxy; its etcd member frozen, its Patroni once it no longer leads)`,
    async apply(ctx) {
      const before = await rolesNow(plan, regions);
      const leader = regions.find((r) => before[r] === 'primary') ?? null;
      const region = fixed ?? leader ?? regions[0]!;
      state.figures.leaderRegionAtFault = leader;
      state.figures.partitionedRegion = region;
      // the write checker reads the store through a router of the majority
      const majority = regions.filter((r) => r !== region);
      state.primaries.set('main', regionNames(majority[0]!).router);
      const leaderRouter = plan.services.find((s) => s.name === regionNames(leader ?? majority[0]!).router)!;
      await query(leaderRouter.address, `CREATE TABLE IF NOT EXISTS ${PROBE_TABLE} (id bigserial PRIMARY KEY, router text NOT NULL, at timestamptz NOT NULL DEFAULT now())`);
      await query(leaderRouter.address, `ALTER TABLE ${PROBE_TABLE} ADD COLUMN IF NOT EXISTS token text`);
      // the probe table must be on the majority's members before the cut: the one elected there
      // takes the majority's probe writes and the read-back. Replication crosses the WAN (its
      // baseline): cut 20 ms after the CREATE, the table never reached them, every majority
      // write failed ("relation does not exist") and the read-back with it
      state.figures.probeTableReplicatedS = await probeTableOnMembers(plan, leaderRouter.address, majority);
      const edges = cuts.get(region)!;
      const t0 = performance.now();
      const restore = await disableEdges(ctx, 'region-partition', edges);
      let thaw: () => Promise<void>;
      try {
        thaw = (await freezes.get(region)!.apply(ctx)).revert;
      } catch (err) {
        await restore();
        throw err;
      }
      state.figures.cutTookS = Math.round(performance.now() - t0) / 1000;
      watches.set(state, startWatch(plan, regions, t0, { region, leader, polls: [], writes: [] }));
      // Patroni's REST API is not proxied either, and the majority's members ask every member's
      // before they promote: a demoted old leader whose WAL is ahead stops each of them ("not the
      // healthiest node"), across a cut that should hide it. Once the region's member no longer
      // leads, its Patroni is frozen (SIGSTOP; its PostgreSQL, demoted, keeps running): the cut of
      // its REST API. Never before: a frozen leader could not demote itself.
      state.figures.minoritySilencedS = null;
      let unsilence: (() => Promise<void>) | null = null;
      let cutOver = false;
      const member = plan.services.find((s) => s.name === regionNames(region).member)!;
      const silencing = (async () => {
        while (!cutOver) {
          // only its own answer that it no longer leads: a timeout (a busy machine) is not one,
          // and freezing a Patroni that still leads would keep its PostgreSQL primary
          if ((await patroniLeads(member, 400)) === false) {
            if (cutOver) return;
            unsilence = (await silences.get(region)!.apply(ctx)).revert;
            state.figures.minoritySilencedS = Math.round(performance.now() - t0) / 1000;
            return;
          }
          await new Promise((res) => setTimeout(res, 100));
        }
      })().catch((e: unknown) => {
        state.problems.push(`region-partition: freezing ${member.name}'s Patroni failed: ${(e as Error).message}`);
      });
      ctx.progress(`region-partition: ${region} cut from ${majority.join(', ')} (leader in ${leader ?? 'no region'})`);
      return {
        detail: `leader in ${leader ?? 'no region'}; ${region} cut: ${edges.length} proxies disabled, ${regionNames(region).etcd} frozen, ${member.name}'s Patroni frozen once it no longer leads (restarted at the heal)`,
        revert: once(async () => {
          cutOver = true;
          await silencing;
          await watches.get(state)?.stop();
          // The heal: etcd thawed, the proxies back, and then the frozen Patroni restarted, not
          // thawed. Thawed, it resumed a loop 20 s old: the etcd member of its region, frozen as
          // raft leader, served it the pre-cut cluster for a moment ("Lock owner: <itself>"),
          // it wrote the leader key back and promoted its old PostgreSQL, and the majority's
          // leader demoted itself: the old minority led again 0.5-0.7 s after the heal in 2 of 5
          // runs, and the majority's acknowledged writes were rewound away. A partitioned Patroni
          // that kept running would have read the real cluster at the heal; one started afresh,
          // once its region's etcd member is back in the quorum, does.
          await thaw();
          await restore();
          if (unsilence) {
            const etcd = plan.services.find((s) => s.name === regionNames(region).etcd)!;
            const t1 = performance.now();
            try {
              await waitForEtcdQuorum(etcd, { timeoutMs: 15_000 });
              state.figures.etcdRejoinedS = Math.round(performance.now() - t1) / 1000;
            } catch (e) {
              state.figures.etcdRejoinedS = null;
              state.problems.push(`region-partition: ${etcd.name} did not answer healthy within 15 s of the heal (${(e as Error).message}); ${member.name}'s Patroni restarted anyway`);
            }
            const killed = await restarts.get(region)!.apply(ctx);
            await (unsilence as () => Promise<void>)();
            const t2 = performance.now();
            await killed.revert();
            state.figures.patroniRestartS = Math.round(performance.now() - t2) / 1000;
          }
          healWatches.set(state, watchAfterHeal(plan, regions, t0));
        }),
      };
    },
  };
}

/** The figures and problems of a run's watches, once the partition healed. */
async function judge(plan: DeployPlan, w: Watch): Promise<{ figures: Record<string, number | string | null>; problems: string[]; notes: string[] }> {
  const regions = dataCenters(plan.topology);
  const majority = regions.filter((r) => r !== w.region);
  const sb = splitBrain(w.polls, w.writes);
  const figures: Record<string, number | string | null> = {
    rolePolls: w.polls.length,
    twoPrimaryPolls: sb.twoPrimaryPolls.length,
    splitBrainWrites: sb.interleaved ? 1 : 0,
  };
  const problems: string[] = [];
  const notes: string[] = [];
  if (sb.twoPrimaryPolls.length) problems.push(`split brain: two members answered /primary at once in ${sb.twoPrimaryPolls.length} poll(s), first ${sb.twoPrimaryPolls[0]} s after the cut`);
  if (sb.interleaved) problems.push(`split brain: ${sb.interleaved.a}'s and ${sb.interleaved.b}'s members both accepted writes at once (interleaved, until ${sb.interleaved.atS} s after the cut)`);
  const elected = firstPrimaryAmong(w.polls, majority);
  figures.majorityLeaderS = elected?.tS ?? null;
  figures.newLeaderRegion = elected?.region ?? null;
  for (const r of regions) {
    figures[`writesAcknowledged.${r}`] = w.writes.filter((x) => x.router === r && x.member !== null).length;
    figures[`writesFailed.${r}`] = w.writes.filter((x) => x.router === r && x.member === null).length;
  }
  const minority = lastAccepted(w.polls, w.writes, w.region);
  figures.minorityAcceptedWritesS = minority.writeS;
  figures.minorityPrimaryS = minority.primaryS;
  // what the minority's member acknowledged after the cut: its WAL did not cross, so the majority
  // never had it; read back from the leader the majority elected
  const ackedByMinority = w.writes.filter((x) => x.member === w.region && x.id !== null).map((x) => x.token);
  figures.minorityAcknowledged = ackedByMinority.length;
  figures.minorityAcknowledgedLost = null;
  if (ackedByMinority.length) {
    const router = plan.services.find((s) => s.name === regionNames(majority[0]!).router)!;
    try {
      const rows = await query<{ n: number }>(router.address, `SELECT count(*)::int AS n FROM ${PROBE_TABLE} WHERE token = ANY($1::text[])`, [ackedByMinority]);
      figures.minorityAcknowledgedLost = ackedByMinority.length - rows[0]!.n;
    } catch (e) {
      notes.push(`the minority's acknowledged probe writes could not be read back: ${(e as Error).message}`);
    }
  }
  if (w.leader === w.region && elected === null) problems.push(`no member of ${majority.join(', ')} led while ${w.region} was cut off`);
  return { figures, problems, notes };
}

export const regionPartition: Drill = {
  name: 'region-partition',
  summary: 'one region is cut from the others (default the leader\'s); no two primaries accept writes at once, what the minority acknowledged is counted',
  applies(plan) {
    const regions = regionsOf(plan);
    if (regions.length < 3) return doesNotApply(`it cuts one region from a majority of others behind a geo DNS, and phase ${plan.topology.phase} has ${regions.length === 0 ? 'no geo DNS' : `${regions.length} region(s)`} (run phase 7)`);
    // it reads one Patroni cluster's members by region (blocks.ts's names); active-active has a cluster per home region
    if (patroniClusters(plan.topology).length > 1) return doesNotApply('it follows the one Patroni cluster of --mode active-passive, and this deployment has a cluster per home region (--mode active-active): not built for it yet');
    if (!plan.toxiproxy) return doesNotApply('it disables the edges across the cut through Toxiproxy, and this deployment connects its tiers directly (run without --no-proxies)');
    return APPLIES;
  },
  defaults: { atS: 15, durationS: 30, tailS: 30 },
  workload: 'mixed',
  hypothesis(plan, t) {
    const r = namedRegion(plan, t.target, 'region-partition', WRITE_REGION) ?? 'the leader\'s region';
    return {
      text:
        `${r} is cut from the other regions for ${t.durationS} s: no two primaries ever accept writes at once (Patroni demotes a leader that loses etcd's quorum within its ttl, 10 s, before the majority may promote); ` +
        `the majority keeps serving, so fewer than half the requests fail once the majority leads (within 25 s); ${r}'s clients fail while cut off (their router's leader is across the cut); ` +
        'what the minority\'s old leader acknowledged after the cut never reached the majority: it is lost, counted and named',
      maxErrorRate: 0.5,
      maxP99Ms: 1500,
      outageAllowedS: 25,
      maxLostWrites: 0,
    };
  },
  schedule(plan, t, state) {
    const r = namedRegion(plan, t.target, 'region-partition', WRITE_REGION);
    const other = dataCenters(plan.topology).find((x) => x !== r)!;
    state.primaries.set('main', regionNames(other).router);
    return [{ fault: regionCut(plan, r, state), startS: t.atS, durationS: t.durationS }];
  },
  // no health probe: the load's API target is the geo name, which only the client regions resolve
  probes: () => [],
  async verify(ctx) {
    const w = watches.get(ctx.state);
    if (!w) return { problems: ['no region was cut'] };
    await w.stop();
    const out = await judge(ctx.plan, w);
    // who led after the heal, until now: a leader change there would lose what the majority's
    // leader acknowledged during the cut (the write check's losses after the election)
    const heal = healWatches.get(ctx.state);
    if (heal) await heal.stop();
    // and the member the write check's read-back (through state.primaries' router, next) reaches
    let readBackMember: string | null = null;
    const via = ctx.state.primaries.get('main');
    const router = via === undefined ? undefined : ctx.plan.services.find((s) => s.name === via);
    if (router) {
      const hostToRegion = memberRegions(ctx.plan, dataCenters(ctx.plan.topology));
      readBackMember = await query<{ addr: string; replica: boolean }>(router.address, 'SELECT host(inet_server_addr()) AS addr, pg_is_in_recovery() AS replica')
        .then(([row]) => `${hostToRegion.get(row!.addr) ?? row!.addr}${row!.replica ? ' (a replica)' : ''}`, (e: unknown) => `unreachable: ${(e as Error).message}`);
    }
    const afterHeal = { primariesAfterHeal: heal ? heal.changes.join(' ') : null, readBackMember };
    return { figures: { ...out.figures, ...afterHeal, ...clientRegionFigures(ctx) }, problems: out.problems, notes: out.notes };
  },
};
