// Phase 7 `--mode active-active` on real servers (native runtime, Toxiproxy on every edge with the
// WAN baseline, three Patroni clusters of three members on one etcd cluster, PowerDNS): deployed
// once, each home cluster's leader is its home region's member, a user's write lands in its home
// cluster only, a region's reads are served by its own member of the user's home cluster (its
// app's pools there, and a read as fast as the region's inside while a write pays the WAN), then
// datacenter-outage takes us-east (home-us-east's leader) down under the client regions' load:
// Patroni promotes a survivor of home-us-east with no harness step, the figures (RTO, RPO,
// per-region p50/p99) are measured and bounded by their causes. Run under the phase-7 lock:
// `flock /tmp/bench-p7.lock npx vitest run targets/phases/phase-7-aa.int.test.ts`.
import { beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import type { Deployment } from '../../harness/runtime/types.ts';
import { waitFor } from '../../harness/runtime/wait.ts';
import { serviceOf, type DeployPlan } from '../../harness/topology/plan.ts';
import { seedUsers } from '../../harness/run/seed.ts';
import { regionalLoad } from '../../harness/run/drive.ts';
import { runDrill } from '../../chaos/run-drill.ts';
import { PG_CREDENTIALS } from '../app/config.ts';
import { homeNames, patroniClusters } from '../regions/active-active.ts';
import { DEFAULT_ONE_WAY_MS, DEFAULT_REGIONS, oneWayMs } from '../regions/latency.ts';
import { patroniRole } from '../services/patroni.ts';
import { deployPhase, disposeCleanAfterAll, http, type PhaseUnderTest } from './testing/deploy.ts';
import { phase7, regionFront } from './phase-7.ts';

const USERS = 600;
const R = DEFAULT_REGIONS;
/** A user of each home region: ranges of 200 (0..200, 201..400, 401..600) */
const homeUser = (home: string) => 1 + 200 * R.indexOf(home as (typeof R)[number]);
const options = { ...phase7.defaults, users: USERS, mode: 'active-active' };

let ph: PhaseUnderTest;
let p: DeployPlan;
let dep: Deployment;
const lbUrl = (r: string) => {
  const a = serviceOf(p, regionFront(r).lb).address;
  return `http://${a.host}:${a.port}`;
};

/** One query straight to a member's PostgreSQL (not through a router), null when it fails. */
async function onMember<T>(member: string, sql: string, values: unknown[] = []): Promise<T | null> {
  const a = serviceOf(p, member).address;
  // a member has 0.07 core: a SCRAM login alone can take most of a second under load
  const c = new pg.Client({ host: a.host, port: a.port, ...PG_CREDENTIALS, connectionTimeoutMillis: 5_000 });
  c.on('error', () => {});
  try {
    await c.connect();
    return (await c.query(sql, values)).rows[0] as T;
  } catch {
    return null;
  } finally {
    await c.end().catch(() => {});
  }
}

/** The region whose member of `home`'s cluster leads (null: none answers /primary). */
async function leaderOf(home: string): Promise<string | null> {
  for (const at of R) if ((await patroniRole(serviceOf(p, homeNames(home, at).member))) === 'primary') return at;
  return null;
}

beforeAll(async () => {
  const t0 = performance.now();
  ph = await deployPhase(7, options, 'p7aa');
  ({ plan: p, dep } = ph);
  console.log(`[phase 7 aa] ${p.services.length} services on ${p.hosts.length} hosts up in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  // Up is not yet serving: each app opens its six pools (a router and a local member per home)
  // once it listens, and the 0.07-core members' SCRAM logins under that burst made the first
  // writes fail (503 after the pool's 3 s connect timeout). Every region's read and write path
  // to every home answers (404: an id no one has) before the tests measure anything.
  const t1 = performance.now();
  for (const x of R) {
    for (const home of R) {
      const id = homeUser(home) + 150;
      for (const [method, body] of [['GET', undefined], ['PUT', { name: 'nobody' }]] as const) {
        await waitFor.until(`${method} ${id} through ${x} answers 404`, async () => ((await http(method, `${lbUrl(x)}/api/users/${id}`, body)).status === 404 ? true : undefined), { timeoutMs: 60_000, intervalMs: 500 });
      }
    }
  }
  console.log(`[phase 7 aa] every region reads and writes every home ${((performance.now() - t1) / 1000).toFixed(1)} s later`);
}, 300_000);

disposeCleanAfterAll(() => ph);

describe('phase 7 active-active', () => {
  it("each home cluster's leader is its home region's member", async () => {
    expect(patroniClusters(p.topology).map((c) => c.scope)).toEqual(R.map((r) => `home-${r}`));
    for (const home of R) expect([home, await leaderOf(home)]).toEqual([home, home]);
  });

  it("a user's write lands in its home cluster only, from whichever region it is sent", async () => {
    for (const [i, home] of R.entries()) {
      // sent from the next region: the write crosses the WAN to its home
      const from = R[(i + 1) % R.length]!;
      const id = homeUser(home) + 100;
      const created = await http('POST', `${lbUrl(from)}/api/users`, { id, name: `user ${id}`, email: `u${id}@example.test` });
      expect(created.status).toBe(201);
      // on each cluster's leader (its home member): the row is in the user's home cluster, and in no other
      const counts = () => Promise.all(R.map((cluster) => onMember<{ n: number }>(homeNames(cluster, cluster).member, 'SELECT count(*)::int AS n FROM users WHERE id = $1', [id]).then((x) => x?.n ?? null)));
      await expect.poll(counts, { timeout: 10_000, interval: 250 }).toEqual(R.map((cluster) => (cluster === home ? 1 : 0)));
    }
  });

  it("a region's reads are served by its own member of the user's home cluster; its writes pay the WAN to the home", async () => {
    for (const home of R) {
      // replicated everywhere before the reads (asynchronous), and outside the read-your-writes window (2 s)
      const id = homeUser(home) + 100;
      for (const at of R) {
        await expect.poll(() => onMember<{ n: number }>(homeNames(home, at).member, 'SELECT count(*)::int AS n FROM users WHERE id = $1', [id]).then((x) => x?.n), { timeout: 15_000, interval: 200 }).toBe(1);
      }
    }
    await new Promise((res) => setTimeout(res, 2_100));
    for (const x of R) {
      for (const home of R.filter((h) => h !== x)) {
        const id = homeUser(home) + 100;
        const median = async (method: string, body?: unknown) => {
          const ms: number[] = [];
          for (let i = 0; i < 7; i++) {
            const t0 = performance.now();
            expect((await http(method, `${lbUrl(x)}/api/users/${id}`, body)).status).toBe(200);
            ms.push(performance.now() - t0);
          }
          return ms.sort((a, b) => a - b)[3]!;
        };
        const read = await median('GET');
        // the app of x holds its read pool on x's member of the home's cluster (a replica)
        const pools = await onMember<{ n: number; replica: boolean }>(
          homeNames(home, x).member,
          "SELECT count(*)::int AS n, pg_is_in_recovery() AS replica FROM pg_stat_activity WHERE application_name = $1 AND backend_type = 'client backend'",
          // the app names its connections after itself (targets/app/app.ts)
          [`bench-app:${regionFront(x).app(1)}`],
        );
        const write = await median('PUT', { name: `renamed ${id}` });
        console.log(`[phase 7 aa] from ${x}, a user of ${home}: median read ${read.toFixed(1)} ms, write ${write.toFixed(1)} ms; ${pools?.n} of ${regionFront(x).app(1)}'s connections on ${homeNames(home, x).member}`);
        expect(pools).toEqual({ n: expect.any(Number), replica: true });
        expect(pools!.n).toBeGreaterThan(0);
        // a read from a remote home's replica stays inside the region; a write crosses to the home and back
        expect(read).toBeLessThan(2 * Math.min(...DEFAULT_ONE_WAY_MS.values()));
        expect(write).toBeGreaterThanOrEqual(2 * oneWayMs(DEFAULT_ONE_WAY_MS, x, home));
      }
    }
  });
});

describe('datacenter-outage on phase 7 active-active', () => {
  it("us-east dies whole under load: Patroni promotes a survivor of home-us-east, the others keep their leaders; RTO and RPO measured and bounded", async () => {
    await seedUsers(dep, USERS, 1, () => {});
    const pidsBefore = new Map([...dep.services.values()].filter((x) => x.name !== 'toxiproxy').map((x) => [x.name, x.id]));
    const out = await runDrill({
      deployment: dep,
      drill: 'datacenter-outage',
      // no target: the write region, the first home cluster's leader's (us-east)
      atS: 10,
      durationS: 20,
      tailS: 12,
      load: { ...regionalLoad(p, { options }), users: USERS, seed: 1, rate: 30 },
    });
    const r = out.drill;
    const f = (k: string) => r.figures[k] as number;
    console.log(`[phase 7 aa] datacenter-outage: ${JSON.stringify({ pass: r.pass, figures: r.figures, reasons: r.reasons, kinds: out.load.results.errorKinds, codes: out.load.results.statusCodes, series: out.load.results.series.map((x) => `${x.t}:${x.errors}/${x.requests}`).join(' '), writes: out.writes && { acknowledged: out.writes.acknowledged, lost: out.writes.lost, lostIds: out.writes.lostIds, indeterminate: out.writes.indeterminate } })}`);
    expect(r.figures.leaderRegionAtFault).toBe('us-east');
    expect(r.figures.failedRegion).toBe('us-east');
    // home-us-east's leader moved to a survivor with no harness step; the other clusters kept theirs
    expect(r.figures.patroniFailoverS).toBe(f('patroniFailoverS.home-us-east'));
    expect(f('patroniFailoverS')).toBeLessThan(20);
    expect(['us-west', 'eu']).toContain(r.figures['newLeaderRegion.home-us-east']);
    expect(['us-west', 'eu']).toContain(await leaderOf('us-east'));
    expect(r.figures['patroniFailoverS.home-us-west']).toBeUndefined();
    for (const home of ['us-west', 'eu']) expect([home, await leaderOf(home)]).toEqual([home, home]);
    // every service of us-east was killed and started again (new pids); no other was touched
    const inEast = (name: string) => p.hosts.find((h) => h.name === serviceOf(p, name).host)!.region === 'us-east';
    for (const [name, id] of pidsBefore) {
      if (inEast(name)) expect([name, dep.services.get(name)!.id]).not.toEqual([name, id]);
      else expect([name, dep.services.get(name)!.id]).toEqual([name, id]);
    }
    // RTO: measured, inside the outage's 20 s, and bounded by its two causes: home-us-east's writes
    // fail until a survivor leads (the routers' checks add up to 1 s) and us-east's clients until
    // their DNS moves; 1 s more for the per-second resolution
    expect(f('rtoS')).not.toBeNull();
    expect(f('rtoS')).toBeLessThanOrEqual(20);
    expect(f('rtoS')).toBeLessThanOrEqual(Math.max(f('patroniFailoverS'), f('dnsConvergenceS')) + 2);
    // serving regions in the seconds wholly inside the outage once the kills had landed: both
    // survivors, never us-east
    const killed = f('regionDownAtS') + f('regionDownTookS');
    const inside = Object.values(out.load.results.regions!).flatMap((x) => x.seconds!.filter((s) => s.t >= killed && s.t + 1 <= f('outageEndS')));
    expect([...new Set(inside.flatMap((s) => Object.entries(s.ok).filter(([, n]) => n > 0).map(([reg]) => reg)))].sort()).toEqual(['eu', 'us-west']);
    // replication lag sampled per cluster before the fault, from each home leader
    for (const home of R) for (const to of R.filter((x) => x !== home)) expect(f(`lagSamples.home-${home}:${home}->${to}`)).toBeGreaterThanOrEqual(3);
    // RPO: the write checker's count, read back per shard through survivors; what was lost can only
    // be home-us-east's (the one cluster whose leader died), acknowledged no earlier than its
    // replicas' largest lag before the fault allows (plus a second's sampling), or after it
    expect(out.writes).not.toBeNull();
    expect(out.writes!.acknowledged).toBeGreaterThan(50);
    expect(r.figures.rpoLostWrites).toBe(out.writes!.lost);
    expect(r.figures.rpoAgeMs === null).toBe(out.writes!.lost === 0);
    for (const id of out.writes!.lostIds) expect([id, id <= 200]).toEqual([id, true]);
    if (out.writes!.lost > 0) expect(f('rpoAgeMs')).toBeLessThanOrEqual(Math.max(f('lagMaxMs.home-us-east:us-east->us-west'), f('lagMaxMs.home-us-east:us-east->eu')) + 1_000);
    // per client region p50/p99 before and during, measured for every region that had clients
    for (const x of R) for (const k of ['p50BeforeMs', 'p99BeforeMs']) expect(f(`${k}.${x}`)).toBeGreaterThan(0);
    for (const x of ['us-west', 'eu']) expect(f(`p99DuringMs.${x}`)).toBeGreaterThan(0);
  }, 200_000);
});
