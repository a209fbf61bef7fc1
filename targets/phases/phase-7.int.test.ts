// Phase 7 on real servers as the ladder deploys it (native runtime, Toxiproxy on every edge, the
// WAN baseline applied by Toxiproxy's recipe): three regions, each a balancer, an app, a sessions
// Redis, an etcd member, a Patroni member and a router; one geo DNS. Deployed once: each region's
// balancer serves a user read from its own app, the DNS answers each client region with its own
// region, a write through us-east is replayed by the other members (asynchronous replication),
// the regions' distances are on the data path; then the datacenter-outage drill takes the write
// region (the leader's) down under the client regions' load (Patroni fails over, the DNS moves that region's
// clients, the region comes back); teardown leaves no process of the run.
import { beforeAll, describe, expect, it } from 'vitest';
import { Resolver } from 'node:dns/promises';
import { request } from 'node:http';
import pg from 'pg';
import { toxiproxyClient } from '../../harness/runtime/toxiproxy-client.ts';
import type { Deployment } from '../../harness/runtime/types.ts';
import { serviceOf, type DeployPlan } from '../../harness/topology/plan.ts';
import { PG_CREDENTIALS } from '../app/config.ts';
import { regionNames } from '../regions/blocks.ts';
import { clientSource } from '../regions/geo.ts';
import { applyBaseline, DEFAULT_ONE_WAY_MS, DEFAULT_REGIONS, isBaselineToxic, oneWayMs, wanTable } from '../regions/latency.ts';
import { replicationLag } from '../regions/lag.ts';
import { patroniRole, replicationProxyName } from '../services/patroni.ts';
import { baselineApiOf } from '../services/toxiproxy.ts';
import { chaosToxiproxy } from '../../chaos/toxiproxy.ts';
import { runLoad } from '../../harness/load/engine.ts';
import { workloads } from '../../loadtests/workloads.ts';
import { deployPhase, disposeCleanAfterAll, http, type PhaseUnderTest } from './testing/deploy.ts';
import { runDrill } from '../../chaos/run-drill.ts';
import { DNS_WATCH_EVERY_MS } from '../../chaos/drills/datacenter-outage.ts';
import { seedUsers } from '../../harness/run/seed.ts';
import { regionalLoad } from '../../harness/run/drive.ts';
import { PDNS_HEALTH_INTERVAL_S } from '../services/pdns.ts';
import { clientListenerName, GEO_DNS, GEO_FQDN, GEO_TTL_S, phase7, regionFront } from './phase-7.ts';

let ph: PhaseUnderTest;
let p: DeployPlan;
let dep: Deployment;
let startSeconds = 0;
const lbUrl = (r: string) => {
  const a = serviceOf(p, regionFront(r).lb).address;
  return `http://${a.host}:${a.port}`;
};

beforeAll(async () => {
  const t0 = performance.now();
  ph = await deployPhase(7, { users: 100 }, 'ph7');
  ({ plan: p, dep } = ph);
  startSeconds = (performance.now() - t0) / 1000;
  console.log(`[phase 7] ${p.services.length} services on ${p.hosts.length} hosts up in ${startSeconds.toFixed(1)} s`);
}, 200_000);

disposeCleanAfterAll(() => ph);

describe('phase 7', () => {
  it("each region's balancer serves a user read from its own region's app", async () => {
    const created = await http('POST', `${lbUrl('us-east')}/api/users`, { id: 7, name: 'user 7', email: 'u7@example.test' });
    expect(created.status).toBe(201);
    for (const r of DEFAULT_REGIONS) {
      const res = await http<{ data: { id: number } }>('GET', `${lbUrl(r)}/api/users/7`);
      expect(res.status).toBe(200);
      expect(res.body.data.id).toBe(7);
      expect(res.headers['x-served-by']).toBe(regionFront(r).app(1));
    }
  });

  it('the geo DNS answers each client region with its own region', async () => {
    const dns = serviceOf(p, GEO_DNS).address;
    const answers = async () => {
      const out: Record<string, string> = {};
      for (const [i, r] of DEFAULT_REGIONS.entries()) {
        const resolver = new Resolver({ timeout: 1_000, tries: 1 });
        resolver.setServers([`${dns.host}:${dns.port}`]);
        resolver.setLocalAddress(clientSource(p.slot, i));
        out[r] = (await resolver.resolve4(GEO_FQDN)).join(',');
      }
      return out;
    };
    const own = Object.fromEntries(DEFAULT_REGIONS.map((r) => [r, serviceOf(p, regionFront(r).lb).address.host]));
    // a candidate counts as down until its first health check (docs/PHASE-7.md): a few rounds
    await expect.poll(answers, { timeout: 10_000, interval: 500 }).toEqual(own);
  });

  it('the WAN baseline is on the data path: a read from a region that is not the leader pays the round trip to it', async () => {
    const api = toxiproxyClient(p.toxiproxy!.api);
    const baseline = (await api.listProxies()).flatMap((x) => x.toxics.filter((y) => isBaselineToxic(y.name)).map((y) => `${x.name}:${y.name}`));
    expect(baseline.sort()).toEqual((p.topology.toxics ?? []).map((x) => `${x.proxy}:${x.name}`).sort());
    const leader = await leaderRegion();
    for (const r of DEFAULT_REGIONS) {
      const ms: number[] = [];
      for (let i = 0; i < 7; i++) {
        const t0 = performance.now();
        expect((await http('GET', `${lbUrl(r)}/api/users/7`)).status).toBe(200);
        ms.push(performance.now() - t0);
      }
      ms.sort((a, b) => a - b);
      const median = ms[3]!;
      console.log(`[phase 7] leader in ${leader}: median user read through ${r}'s balancer ${median.toFixed(1)} ms`);
      expect(median).toBeGreaterThanOrEqual(2 * oneWayMs(DEFAULT_ONE_WAY_MS, r, leader));
      if (r === leader) expect(median).toBeLessThan(2 * Math.min(...DEFAULT_ONE_WAY_MS.values()));
    }
  });

  it('a write through us-east is replayed by every other member (asynchronous replication)', async () => {
    const created = await http('POST', `${lbUrl('us-east')}/api/users`, { id: 8, name: 'user 8', email: 'u8@example.test' });
    expect(created.status).toBe(201);
    const leader = await leaderRegion();
    const t0 = performance.now();
    for (const r of DEFAULT_REGIONS.filter((x) => x !== leader)) {
      // straight to the member's own PostgreSQL: a replica, not the router (which reads the leader)
      const a = serviceOf(p, regionNames(r).member).address;
      await expect.poll(async () => {
        const c = new pg.Client({ host: a.host, port: a.port, ...PG_CREDENTIALS, connectionTimeoutMillis: 1_000 });
        c.on('error', () => {});
        try {
          await c.connect();
          return (await c.query('SELECT pg_is_in_recovery() AS replica, count(*)::int AS n FROM users WHERE id = 8')).rows[0];
        } catch {
          return null;
        } finally {
          await c.end().catch(() => {});
        }
      }, { timeout: 15_000, interval: 200 }).toEqual({ replica: true, n: 1 });
    }
    console.log(`[phase 7] the write replayed in the two other regions within ${((performance.now() - t0) / 1000).toFixed(2)} s`);
    expect((await http('GET', `${lbUrl('us-west')}/api/users/8`)).status).toBe(200);
  });
});


describe('phase 7: the WAN on replication and on the clients\' path', () => {
  const tp = () => toxiproxyClient(p.toxiproxy!.api);
  const baselineNow = async () => (await tp().listProxies()).flatMap((x) => x.toxics.filter((y) => isBaselineToxic(y.name)).map((y) => `${x.name}:${y.name}`)).sort();
  const declared = () => (p.topology.toxics ?? []).map((x) => `${x.proxy}:${x.name}`).sort();
  const table = () => wanTable(String(phase7.defaults.wanLatency), DEFAULT_REGIONS);

  it("the replication path carries the baseline: a write reaches each replica no sooner than the leader's replication latency, sooner without it (negative control)", async () => {
    const leader = await leaderRegion();
    const proxy = replicationProxyName(regionNames(leader).member);
    const mine = (p.topology.toxics ?? []).filter((x) => x.proxy === proxy);
    expect(mine).toHaveLength(2);
    const oneWay = mine[0]!.attributes.latency;
    // the nearest other region's one-way latency (replicationBaseline)
    expect(oneWay).toBe(Math.min(...DEFAULT_REGIONS.filter((r) => r !== leader).map((r) => oneWayMs(table(), leader, r))));
    const connect = async (r: string) => {
      const c = new pg.Client({ host: serviceOf(p, regionNames(r).member).address.host, port: serviceOf(p, regionNames(r).member).address.port, ...PG_CREDENTIALS, connectionTimeoutMillis: 2_000 });
      c.on('error', () => {});
      await c.connect();
      return c;
    };
    const lead = await connect(leader);
    const replicas = DEFAULT_REGIONS.filter((r) => r !== leader);
    const reps = await Promise.all(replicas.map(connect));
    try {
      await lead.query('CREATE TABLE IF NOT EXISTS bench_wan_probe (token text PRIMARY KEY)');
      for (const c of reps) {
        await expect.poll(async () => (await c.query("SELECT to_regclass('bench_wan_probe') IS NOT NULL AS ok")).rows[0].ok, { timeout: 10_000, interval: 50 }).toBe(true);
      }
      let n = 0;
      // from before the INSERT is sent to the replica answering it: the WAL cannot arrive sooner
      // than the proxy's one-way latency after it was written
      const replayMs = async (replica: pg.Client) => {
        const token = `w${Date.now()}-${n++}`;
        const t0 = performance.now();
        await lead.query('INSERT INTO bench_wan_probe VALUES ($1)', [token]);
        for (;;) {
          if ((await replica.query('SELECT 1 FROM bench_wan_probe WHERE token = $1', [token])).rowCount === 1) return performance.now() - t0;
          if (performance.now() - t0 > 10_000) throw new Error(`${token} not replayed in 10 s`);
          // the polls run on the replica's CPU quota: leave it room to replay
          await new Promise((r) => setTimeout(r, 2));
        }
      };
      const medians = async () => {
        const out: Record<string, number> = {};
        for (const [i, r] of replicas.entries()) {
          const ms: number[] = [];
          for (let k = 0; k < 5; k++) ms.push(await replayMs(reps[i]!));
          out[r] = ms.sort((a, b) => a - b)[2]!;
        }
        return out;
      };
      // lag.ts's figures while 40 writes go out back to back: the most seen behind the leader
      const lagUnderWrites = async () => {
        const seen: Record<string, { bytes: number; seconds: number }> = {};
        let writing = true;
        const writes = (async () => {
          for (let k = 0; k < 40; k++) await lead.query('INSERT INTO bench_wan_probe VALUES ($1)', [`l${Date.now()}-${n++}`]);
          writing = false;
        })();
        while (writing) {
          await Promise.all(replicas.map(async (r) => {
            const lag = await replicationLag(serviceOf(p, regionNames(leader).member).address, serviceOf(p, regionNames(r).member).address, PG_CREDENTIALS, regionNames(r).member).catch(() => null);
            if (!lag) return;
            const s = (seen[r] ??= { bytes: 0, seconds: 0 });
            s.bytes = Math.max(s.bytes, lag.bytes);
            s.seconds = Math.max(s.seconds, lag.seconds ?? 0);
          }));
        }
        await writes;
        return seen;
      };
      const withWan = await medians();
      const lagWith = await lagUnderWrites();
      // negative control: the proxy's baseline taken away, then given back
      for (const t of mine) await tp().removeToxic(proxy, t.name);
      let without: Record<string, number>;
      let lagWithout: Record<string, { bytes: number; seconds: number }>;
      try {
        without = await medians();
        lagWithout = await lagUnderWrites();
      } finally {
        await applyBaseline(baselineApiOf(tp()), mine);
      }
      console.log(`[phase 7] leader ${leader}, replication one way ${oneWay} ms: write -> visible on each replica, median ${JSON.stringify(withWan)} ms with the baseline, ${JSON.stringify(without)} ms without; lag.ts max under 40 back-to-back writes ${JSON.stringify(lagWith)} with, ${JSON.stringify(lagWithout)} without`);
      for (const r of replicas) {
        expect(withWan[r]!).toBeGreaterThanOrEqual(oneWay);
        expect(without[r]!).toBeLessThan(oneWay);
      }
      expect(await baselineNow()).toEqual(declared());
    } finally {
      await lead.end().catch(() => {});
      for (const c of reps) await c.end().catch(() => {});
    }
  }, 90_000);

  it("a client region routed to a far region pays the pair's round trip (its listener), at home it does not; the faults' reset keeps every baseline", async () => {
    const west = DEFAULT_REGIONS.indexOf('us-west');
    const dns = serviceOf(p, GEO_DNS).address;
    const answerWest = async () => {
      const resolver = new Resolver({ timeout: 1_000, tries: 1 });
      resolver.setServers([`${dns.host}:${dns.port}`]);
      resolver.setLocalAddress(clientSource(p.slot, west));
      return (await resolver.resolve4(GEO_FQDN).catch(() => [])).join(',');
    };
    const listener = (to: string) => p.listeners!.find((l) => l.name === clientListenerName('us-west', to))!;
    const home = serviceOf(p, regionFront('us-west').lb).address.host;
    // /livez through what the DNS answers, from us-west's clients' source: no database, the client path alone
    const livezMs = async (host: string) => {
      const ms: number[] = [];
      for (let i = 0; i < 7; i++) {
        const t0 = performance.now();
        const status = await new Promise<number>((resolve, reject) => {
          const req = request({ host, port: serviceOf(p, regionFront('us-west').lb).address.port, path: '/livez', localAddress: clientSource(p.slot, west), agent: false, timeout: 5_000 }, (res) => {
            res.resume();
            res.on('end', () => resolve(res.statusCode ?? 0));
          });
          req.on('timeout', () => req.destroy(new Error('timeout')));
          req.on('error', reject);
          req.end();
        });
        expect(status).toBe(200);
        ms.push(performance.now() - t0);
      }
      return ms.sort((a, b) => a - b)[3]!;
    };
    const toEu = oneWayMs(table(), 'us-west', 'eu');
    const livezHome = await livezMs(home);
    const livezEu = await livezMs(listener('eu').listen.host);
    console.log(`[phase 7] us-west's clients, GET /livez median: at home ${livezHome.toFixed(1)} ms, through the us-west -> eu listener ${livezEu.toFixed(1)} ms (one way ${toEu} ms)`);
    expect(livezEu).toBeGreaterThanOrEqual(2 * toEu);
    expect(livezHome).toBeLessThan(toEu);

    await seedUsers(dep, 100, 1, () => {});
    const reads = { ...workloads['read-heavy']!, name: 'reads', mix: { read: 100, update: 0, create: 0, login: 0, static: 0, pay: 0, video: 0 } };
    const westLoad = async () =>
      (await runLoad({ ...regionalLoad(p, { options: { ...phase7.defaults, clientMix: 'us-west' } }), workload: reads, users: 100, stages: [{ durationS: 0, targetRate: 20 }, { durationS: 4, targetRate: 20 }], seed: 7 })).results;
    await expect.poll(answerWest, { timeout: 10_000, interval: 250 }).toBe(home);
    const atHome = await westLoad();
    // us-west's clients routed to eu by the geo DNS itself: their balancer frozen (its check times
    // out) and their listener to us-east cut (refused), so eu's listener is the healthy candidate
    const lb = dep.service(regionFront('us-west').lb);
    await lb.signal('SIGSTOP');
    await tp().setEnabled(listener('us-east').name, false);
    let routed: Awaited<ReturnType<typeof westLoad>>;
    try {
      await expect.poll(answerWest, { timeout: 15_000, interval: 250 }).toBe(listener('eu').listen.host);
      routed = await westLoad();
    } finally {
      await lb.signal('SIGCONT');
      await tp().setEnabled(listener('us-east').name, true);
    }
    const leader = await leaderRegion();
    const h = atHome.regions!['us-west']!;
    const f = routed.regions!['us-west']!;
    console.log(`[phase 7] --client-mix us-west, leader in ${leader}: p50 ${h.latencyMs!.p50} ms served at home (${JSON.stringify(h.dns.changes.map((c) => c.address))}), ${f.latencyMs!.p50} ms routed to eu (${JSON.stringify(f.dns.changes.map((c) => c.address))}); errors ${h.errors} / ${f.errors} of ${h.requests} / ${f.requests}`);
    expect([h.errors, f.errors]).toEqual([0, 0]);
    const served = (x: typeof h) => new Set(x.seconds!.flatMap((s) => Object.entries(s.ok).filter(([, k]) => k > 0).map(([r]) => r)));
    expect([...served(h)]).toEqual(['us-west']);
    expect([...served(f)]).toEqual(['eu']);
    // from causes: each read routed to eu crosses us-west -> eu and back, then eu's app reaches the
    // leader through its router; at home only the second part, from us-west
    expect(f.latencyMs!.p50).toBeGreaterThanOrEqual(2 * toEu + 2 * oneWayMs(table(), 'eu', leader));
    expect(h.latencyMs!.p50).toBeGreaterThanOrEqual(2 * oneWayMs(table(), 'us-west', leader));
    expect(h.latencyMs!.p50).toBeLessThan(2 * oneWayMs(table(), 'us-west', leader) + 2 * toEu);
    // back home once the balancer answers again
    await expect.poll(answerWest, { timeout: 15_000, interval: 250 }).toBe(home);

    // the faults' reset (chaos/toxiproxy.ts, the FaultRunner's final sweep) keeps every baseline:
    // the edges', the client listeners' and the replication proxies'
    const chaos = chaosToxiproxy(tp());
    await chaos.addToxic(listener('eu').name, { name: 'bench.left-over.upstream', type: 'latency', stream: 'upstream', toxicity: 1, attributes: { latency: 500 } });
    await chaos.resetAll();
    expect(await baselineNow()).toEqual(declared());
    expect(declared().filter((x) => x.startsWith('clients-'))).toHaveLength(12);
    expect(declared().filter((x) => x.startsWith('replication->'))).toHaveLength(6);
    expect(await livezMs(listener('eu').listen.host)).toBeLessThan(2 * toEu + 500);
  }, 150_000);
});

describe('datacenter-outage on phase 7', () => {
  it("the leader's region dies whole under load: Patroni fails over, its clients move by DNS, errors end within the bound, it comes back", async () => {
    await seedUsers(dep, 1_000, 1, () => {});
    const leader = await leaderRegion();
    const pidsBefore = new Map([...dep.services.values()].filter((x) => x.name !== 'toxiproxy').map((x) => [x.name, x.id]));
    const out = await runDrill({
      deployment: dep,
      drill: 'datacenter-outage',
      // no target: the write region, wherever the leader is at the fault
      atS: 10,
      durationS: 20,
      tailS: 25,
      load: { ...regionalLoad(p, { options: phase7.defaults }), users: 1_000, seed: 1, rate: 30 },
    });
    const r = out.drill;
    console.log(`[phase 7] ${leader}'s clients' DNS: ${JSON.stringify(out.load.results.regions?.[leader]?.dns)}`);
    console.log(`[phase 7] datacenter-outage of ${leader}: ${JSON.stringify({ pass: r.pass, figures: r.figures, reasons: r.reasons, kinds: out.load.results.errorKinds, codes: out.load.results.statusCodes, series: out.load.results.series.map((x) => `${x.t}:${x.errors}/${x.requests}`).join(' '), writes: out.writes && { acknowledged: out.writes.acknowledged, lost: out.writes.lost } })}`);
    expect(out.faults.map((w) => [w.name, w.target])).toEqual([['region-down', 'write-region']]);
    expect(r.figures.failedRegion).toBe(leader);
    const f = (k: string) => r.figures[k] as number;
    // traffic shift of the leader region's clients: not before their DNS moved (1 s resolution of
    // the per-second counts), and within the hypothesis's outage bound (25 s: Patroni ttl 10 s +
    // the routers' checks + the DNS's TTL and checks), since their writes wait for the new leader
    expect(f('shiftTimeS')).not.toBeNull();
    expect(f('shiftTimeS')).toBeGreaterThanOrEqual(f('dnsConvergenceS') - 1);
    expect(f('shiftTimeS')).toBeLessThanOrEqual(25);
    expect(f('firstSurvivorSuccessS')).toBeLessThanOrEqual(f('shiftTimeS'));
    // RTO (a healthy second, and the rest of the outage under 1% errors and p99 1500 ms): only once
    // writes reach a leader again (not before the failover, at 1 s resolution), and within the
    // same 25 s bound and the outage's 20 s
    expect(f('rtoS')).not.toBeNull();
    expect(f('rtoS')).toBeGreaterThanOrEqual(f('patroniFailoverS') - 1);
    expect(f('rtoS')).toBeLessThanOrEqual(20);
    // serving regions in the seconds wholly inside the outage, once the kills had landed: the
    // survivors, both, and never the dead region
    const down = f('regionDownAtS');
    const killed = down + f('regionDownTookS');
    const inside = Object.values(out.load.results.regions!).flatMap((x) => x.seconds!.filter((s) => s.t >= killed && s.t + 1 <= f('outageEndS')));
    const servedBy = new Set(inside.flatMap((s) => Object.entries(s.ok).filter(([, n]) => n > 0).map(([reg]) => reg)));
    const survivors = DEFAULT_REGIONS.filter((x) => x !== leader);
    expect([...servedBy].sort()).toEqual([...survivors].sort());
    for (const s of survivors) expect(f(`servedDuring.${s}`)).toBeGreaterThan(0);
    // before the fault every region served (its own clients)
    const before = Object.values(out.load.results.regions!).flatMap((x) => x.seconds!.filter((s) => s.t + 1 <= down));
    expect(new Set(before.flatMap((s) => Object.keys(s.ok))).size).toBe(DEFAULT_REGIONS.length);
    // RPO: the write checker's count, with an age exactly when something was lost
    expect(r.figures.rpoLostWrites).toBe(out.writes!.lost);
    expect(r.figures.rpoAgeMs === null).toBe(out.writes!.lost === 0);
    // replication lag sampled once a second during the 10 s before the fault, per pair from the leader
    for (const s of survivors) expect(f(`lagSamples.${leader}->${s}`)).toBeGreaterThanOrEqual(3);
    // every service of the region was killed and started again (new pids); no other was touched
    const inRegion = (name: string) => p.hosts.find((h) => h.name === serviceOf(p, name).host)!.region === leader;
    const after = new Map([...dep.services.values()].map((x) => [x.name, x.id]));
    for (const [name, id] of pidsBefore) {
      if (inRegion(name)) expect([name, after.get(name)]).not.toEqual([name, id]);
      else expect([name, after.get(name)]).toEqual([name, id]);
      expect(dep.service(name).isRunning()).toBe(true);
    }
    expect(r.figures.leaderRegionAtFault).toBe(leader);
    // Patroni's ttl is 10 s; the routers' checks and the WAN add a little
    expect(r.figures.patroniFailoverS).toBeLessThan(20);
    expect(r.figures.newLeaderRegion).not.toBe(leader);
    // both measured from the moment the region went down. The geo DNS flips within a health-check
    // round (1 s) and a check's timeout (2 s); the clients follow within the answer's TTL (2 s)
    // and their next new connection (every ~100 ms while the dead region refuses them)
    expect(r.figures.dnsFlipS).toBeLessThan(PDNS_HEALTH_INTERVAL_S + 2 + 0.5);
    // and it holds: the geo DNS never answers the dead region again while it is down
    expect(r.figures.dnsFlapsBack).toBe(0);
    // (the clients may see the flip before the drill's probe, which asks every DNS_WATCH_EVERY_MS)
    expect(r.figures.dnsConvergenceS as number).toBeGreaterThan((r.figures.dnsFlipS as number) - DNS_WATCH_EVERY_MS / 1000 - 0.05);
    expect((r.figures.dnsConvergenceS as number) - (r.figures.dnsFlipS as number)).toBeLessThan(GEO_TTL_S + 0.5);
    // the region is back: the DNS answers its clients with it again (the clients' own failback,
    // failbackS, needs a new connection in the tail: keep-alive ones stay where they are, so it
    // may be null)
    const dns = serviceOf(p, GEO_DNS).address;
    const own = serviceOf(p, regionFront(leader).lb).address.host;
    await expect.poll(async () => {
      const resolver = new Resolver({ timeout: 1_000, tries: 1 });
      resolver.setServers([`${dns.host}:${dns.port}`]);
      resolver.setLocalAddress(clientSource(p.slot, DEFAULT_REGIONS.indexOf(leader as (typeof DEFAULT_REGIONS)[number])));
      return (await resolver.resolve4(GEO_FQDN).catch(() => [])).join(',');
    }, { timeout: 10_000, interval: 250 }).toBe(own);
    // the failed region's clients failed, the survivors' did not all fail
    expect(r.figures[`errors.${leader}`]).toBeGreaterThan(0);
    // the write checker read the writes back through a surviving router
    expect(out.writes).not.toBeNull();
    expect(out.writes!.acknowledged).toBeGreaterThan(50);
    expect(r.pass).toBe(true);
  }, 240_000);
});

async function leaderRegion(): Promise<string> {
  for (const r of DEFAULT_REGIONS) if ((await patroniRole(serviceOf(p, regionNames(r).member))) === 'primary') return r;
  throw new Error('no Patroni member leads');
}
