// The active-active tier and phase 7 in that mode, as topology data: home ranges, members per
// cluster, who writes and reads where, start order, sizes, and the helpers the drill reads.
import { describe, expect, it } from 'vitest';
import { usageLine } from '../../harness/testing/usage-error.ts';
import { plan } from '../../harness/topology/plan.ts';
import { startWaves } from '../../harness/runtime/native.ts';
import { createShardRouter } from '../app/store/shard-router.ts';
import { ACTIVE_ACTIVE_POOL_SIZE, phase7, phase7Cpus, phase7Topology, regionFront } from '../phases/phase-7.ts';
import { patroniMaxConnections } from '../services/patroni.ts';
import { activeActiveSizes, activeActiveTier, homeNames, patroniClusters, twinRouters } from './active-active.ts';
import { DEFAULT_REGIONS } from './latency.ts';

const R = DEFAULT_REGIONS;
const t = phase7.topology({ users: 3000, mode: 'active-active' });
const regionOf = (svc: string) => t.hosts.find((h) => h.name === t.services.find((s) => s.name === svc)!.host)!.region;

describe('activeActiveTier', () => {
  const tier = activeActiveTier(R, 3000);

  it('gives each region an equal id range: region i owns range i, sign-ups go to the last', () => {
    expect(tier.storeShards.map((s) => [s.name, s.range])).toEqual([
      ['us-east', [0, 1000]],
      ['us-west', [1001, 2000]],
      ['eu', [2001, null]],
    ]);
    const home = createShardRouter('range', tier.storeShards);
    expect([0, 1000, 1001, 2500, 99_999].map((id) => home.shardFor(id).name)).toEqual(['us-east', 'us-east', 'us-west', 'eu', 'eu']);
  });

  it('builds a Patroni cluster per home region with a member in every region, on the one etcd cluster', () => {
    const clusters = patroniClusters(t);
    expect(clusters.map((c) => c.scope)).toEqual(['home-us-east', 'home-us-west', 'home-eu']);
    for (const c of clusters) expect(c.members.map((m) => m.region)).toEqual([...R]);
    expect(tier.clusters['eu']).toEqual(['pg-eu-in-us-east', 'pg-eu-in-us-west', 'pg-eu-in-eu']);
    const etcds = t.services.filter((s) => s.kind === 'etcd').map((s) => s.name);
    expect(etcds).toEqual(['etcd-us-east', 'etcd-us-west', 'etcd-eu']);
    for (const s of t.services.filter((x) => x.kind === 'patroni')) expect(s.config.kind === 'patroni' && s.config.patroni.etcd).toEqual(etcds);
  });

  it('starts each home member one wave before its replicas, so that it bootstraps and leads', () => {
    const p = plan(t, { runId: 'x', slot: 9, proxies: true, prometheus: false });
    const waveOf = new Map(startWaves(p).flatMap((w, i) => w.map((n) => [n, i] as const)));
    for (const home of R) {
      for (const at of R.filter((x) => x !== home)) expect(waveOf.get(homeNames(home, at).member)!).toBe(waveOf.get(homeNames(home, home).member)! + 1);
    }
  });

  it("an app of region x writes each home's shard through x's router to that home's leader and reads it from x's own member", () => {
    for (const x of R) {
      const app = t.services.find((s) => s.name === regionFront(x).app(1))!;
      if (app.config.kind !== 'app' || app.config.app.store.kind !== 'postgres') throw new Error('no postgres store');
      const shards = app.config.app.store.shards;
      expect(shards.map((s) => [s.name, s.primary, s.replicas])).toEqual(R.map((home) => [home, `pg-router-${home}-in-${x}`, [`pg-${home}-in-${x}`]]));
      // every read and every write leaves from the app's own region: the WAN is behind the router
      for (const d of app.dependsOn) expect([d, regionOf(d)]).toEqual([d, x]);
      const router = t.services.find((s) => s.name === shards[0]!.primary)!;
      expect(router.config.kind === 'pg-router' && router.config.pgRouter).toEqual({ members: tier.clusters['us-east'], route: 'primary' });
    }
  });

  it('puts the WAN on the router -> remote member, member -> remote etcd and replica -> home edges only', () => {
    const wan = new Set((t.toxics ?? []).map((x) => x.proxy));
    expect(wan.has('pg-router-eu-in-us-east->pg-eu-in-eu')).toBe(true);
    expect(wan.has('pg-router-eu-in-eu->pg-eu-in-eu')).toBe(false);
    expect(wan.has('pg-us-east-in-eu->pg-us-east-in-us-east')).toBe(true);
    expect([...wan].filter((x) => x.startsWith('app-') || x.startsWith('lb-'))).toEqual([]);
    // edges: 9 routers x 2 remote members + 9 members x 2 remote etcd + 6 replica -> home; then
    // the 6 client listeners (client region -> another region's balancer) and the 9 members'
    // replication proxies (latency.ts replicationBaseline): two toxics each
    expect(t.toxics).toHaveLength(2 * (18 + 18 + 6 + 6 + 9));
    expect((t.toxics ?? []).filter((x) => x.proxy.startsWith('replication->'))).toHaveLength(2 * 9);
  });

  it('sizes: 0.36 core of data per region, the phase within 1.8 cores; a member takes every pool that may land on it', () => {
    expect(tier.hosts.reduce((a, h) => a + h.size.cpus, 0)).toBeCloseTo(1.08);
    expect(activeActiveSizes.db.cpus * 9 + activeActiveSizes.router.cpus * 3 + activeActiveSizes.dcs.cpus * 3).toBeCloseTo(1.08);
    expect(phase7Cpus(t)).toBe(1.77);
    expect(phase7Cpus(t)).toBeLessThanOrEqual(phase7Cpus(phase7.topology({ users: 3000 })));
    // three routers on a region's one router host, each on its own port
    const p = plan(t, { runId: 'x', slot: 9, proxies: true, prometheus: false });
    const ports = p.services.filter((s) => s.host === 'route-eu').map((s) => s.address.port);
    expect(ports).toEqual([5000, 5001, 5002]);
    // 3 apps x (router pool + local-member pool) x 10 + 20: any member of a cluster may lead
    expect(patroniMaxConnections(t.services, 'pg-eu-in-us-west')).toBe(100);
    expect(patroniMaxConnections(phase7Topology({ regions: R, appServers: 2, mode: 'active-active', users: 30 }).services, 'pg-eu-in-us-west')).toBe(140);
  });

  it('finds the routers that follow the same cluster in the regions asked (the write checker, a region down)', () => {
    expect(twinRouters(t, 'pg-router-eu-in-us-east', ['us-west', 'eu'])).toEqual(['pg-router-eu-in-us-west', 'pg-router-eu-in-eu']);
    expect(twinRouters(t, 'pg-eu-in-eu', R)).toEqual([]);
    const ap = phase7.topology({ users: 100 });
    expect(twinRouters(ap, 'pg-router-us-east', ['eu'])).toEqual(['pg-router-eu']);
    expect(patroniClusters(ap).map((c) => [c.scope, c.members.length])).toEqual([['bench', 3]]);
  });

  it('refuses a bad mode and fewer users than home regions, in one line', () => {
    expect(usageLine(() => phase7.topology({ users: 100, mode: 'multi-master' }))).toMatch(/--mode/);
    expect(usageLine(() => phase7.topology({ users: 2, mode: 'active-active' }))).toMatch(/--users 2 leaves a region with none/);
    expect(usageLine(() => activeActiveTier(['us-east', 'eu'], 100))).toMatch(/phase 7 needs at least 3 regions/);
  });
});

describe('active-active app pools', () => {
  it('opens fewer connections per pool than active-passive: six pools per app', () => {
    const poolOf = (mode: 'active-active' | 'active-passive') => {
      const t = phase7Topology({ regions: ['us-east', 'us-west', 'eu'], appServers: 1, mode, users: 600 });
      const app = t.services.find((x) => x.kind === 'app')!;
      return app.config.kind === 'app' && app.config.app.store.kind === 'postgres' ? app.config.app.store.poolSize : 'no store';
    };
    expect(poolOf('active-active')).toBe(ACTIVE_ACTIVE_POOL_SIZE);
    expect(poolOf('active-passive')).toBeUndefined();
  });
});
