import { describe, expect, it } from 'vitest';
import { plan, reach, validateTopology } from '../../harness/topology/plan.ts';
import type { PhaseOptions, Service, Topology } from '../../harness/topology/types.ts';
import { createShardRouter } from '../app/store/shard-router.ts';
import { phases } from './index.ts';
import { phase3 } from './phase-3.ts';
import { phase4 } from './phase-4.ts';
import { phase5, shardName, shardSpecRanges } from './phase-5.ts';
import { usageLine } from '../../harness/testing/usage-error.ts';

const opts = (p: Partial<PhaseOptions> = {}): PhaseOptions => ({ users: 1000, appServers: 3, replicas: 2, shards: 2, shardStrategy: 'range', ...p });
const named = (t: Topology, name: string): Service => {
  const s = t.services.find((x) => x.name === name);
  if (!s) throw new Error(`no ${name} in phase ${t.phase}`);
  return s;
};
const ofKind = (t: Topology, kind: Service['kind']) => t.services.filter((s) => s.kind === kind).map((s) => s.name);
const appConfig = (t: Topology, name = 'app-1') => {
  const c = named(t, name).config;
  if (c.kind !== 'app') throw new Error(`${name} is not an app`);
  return c.app;
};

describe('phases 3-5 as data', () => {
  it.each([3, 4, 5])('phase %i validates, plans onto loopback and is marked built', (n) => {
    const def = phases.get(n)!;
    expect(def.built).toBe(true);
    const t = def.topology(opts({ ...def.defaults }));
    expect(validateTopology(t)).toEqual([]);
    const p = plan(t, { runId: 'r', slot: 9, proxies: true, prometheus: true });
    const ips = new Set(p.hosts.map((h) => h.ip));
    expect(ips.size).toBe(p.hosts.length);
    for (const s of p.services) expect(s.address.host).toMatch(/^127\.9\.\d+\.1$/);
    // every app edge goes through a proxy a drill can cut
    expect(p.edges.find((e) => e.name === 'lb->app-2')!.proxied).toBe(true);
    expect(reach(p, 'lb', 'app-2').host).toBe(p.controlIp);
  });

  it('phase 3: counts follow --app-servers and --replicas, and the wiring is the fleet', () => {
    const t = phase3.topology(opts({ appServers: 4, replicas: 3 }));
    expect(ofKind(t, 'app')).toEqual(['app-1', 'app-2', 'app-3', 'app-4']);
    expect(ofKind(t, 'postgres')).toEqual(['pg-primary', 'pg-primary-replica-1', 'pg-primary-replica-2', 'pg-primary-replica-3']);
    expect(ofKind(t, 'haproxy')).toEqual(['lb']);
    expect(t.entry).toBe('lb');
    expect(t.staticEntry).toBeUndefined();
    expect(t.hosts.map((h) => h.name)).toEqual([
      'lb-host', 'app-host-1', 'app-host-2', 'app-host-3', 'app-host-4', 'cache-host',
      'db-host-primary', 'db-host-primary-replica-1', 'db-host-primary-replica-2', 'db-host-primary-replica-3',
    ]);
    expect(named(t, 'lb').dependsOn).toEqual(['app-1', 'app-2', 'app-3', 'app-4']);
    expect(named(t, 'lb').config).toEqual({ kind: 'haproxy', haproxy: { backends: ['app-1', 'app-2', 'app-3', 'app-4'] } });
    expect(named(t, 'redis').role).toBe('sessions');
    const replica = named(t, 'pg-primary-replica-2');
    expect(replica.config).toEqual({ kind: 'postgres', postgres: { role: 'replica', primary: 'pg-primary' } });
    expect(replica.dependsOn).toEqual(['pg-primary']);
    for (const app of ofKind(t, 'app')) {
      expect(named(t, app).dependsOn).toEqual(['pg-primary', 'pg-primary-replica-1', 'pg-primary-replica-2', 'pg-primary-replica-3', 'redis']);
    }
    expect(appConfig(t)).toEqual({
      store: { kind: 'postgres', strategy: 'range', shards: [{ name: 'main', primary: 'pg-primary', replicas: ['pg-primary-replica-1', 'pg-primary-replica-2', 'pg-primary-replica-3'], range: [0, null] }] },
      sessions: { kind: 'redis', service: 'redis' },
      cache: null,
    });
  });

  it('phase 3 with 0 replicas is a primary alone; 1 app server is still a fleet behind the balancer', () => {
    const t = phase3.topology(opts({ appServers: 1, replicas: 0 }));
    expect(ofKind(t, 'postgres')).toEqual(['pg-primary']);
    expect(appConfig(t).store).toMatchObject({ shards: [{ replicas: [] }] });
    expect(named(t, 'lb').dependsOn).toEqual(['app-1']);
  });

  it('phase 3 defaults are 3 app servers and 2 replicas; phase 5 keeps 1 replica per shard', () => {
    expect(phase3.defaults).toMatchObject({ appServers: 3, replicas: 2 });
    expect(phase4.defaults).toMatchObject({ appServers: 3, replicas: 2 });
    expect(phase5.defaults).toMatchObject({ appServers: 3, replicas: 1, shards: 2 });
  });

  it('phase 4 adds a cache-aside Redis of its own and a CDN edge whose origin is the balancer', () => {
    const t = phase4.topology(opts({ appServers: 2, replicas: 1 }));
    expect(validateTopology(t)).toEqual([]);
    expect(named(t, 'redis-cache')).toMatchObject({ kind: 'redis', host: 'cache-host-2', role: 'cache' });
    expect(named(t, 'cdn')).toMatchObject({ kind: 'nginx', host: 'edge-host', role: 'edge', dependsOn: ['lb'], config: { kind: 'nginx', nginx: { origin: 'lb' } } });
    expect(t.entry).toBe('lb');
    expect(t.staticEntry).toBe('cdn');
    for (const app of ['app-1', 'app-2']) {
      expect(appConfig(t, app).cache).toEqual({ service: 'redis-cache', ttlSeconds: 3600 });
      expect(appConfig(t, app).sessions).toEqual({ kind: 'redis', service: 'redis' });
      expect(named(t, app).dependsOn).toEqual(['pg-primary', 'pg-primary-replica-1', 'redis', 'redis-cache']);
    }
    // phase 3 is untouched by phase 4's additions
    expect(appConfig(phase3.topology(opts())).cache).toBeNull();
  });

  it('phase 5: K shards, each a primary with its replicas, every app wired to all of them', () => {
    const t = phase5.topology(opts({ users: 1_000_000, shards: 3, replicas: 1 }));
    expect(ofKind(t, 'postgres')).toEqual(['pg-shard-a', 'pg-shard-a-replica-1', 'pg-shard-b', 'pg-shard-b-replica-1', 'pg-shard-c', 'pg-shard-c-replica-1']);
    expect(t.services.some((s) => s.name === 'pg-primary')).toBe(false);
    expect(t.hosts.map((h) => h.name)).toEqual(expect.arrayContaining(['db-host-shard-a', 'db-host-shard-a-replica-1', 'db-host-shard-c-replica-1', 'edge-host', 'cache-host-2']));
    expect(named(t, 'pg-shard-b-replica-1').config).toEqual({ kind: 'postgres', postgres: { role: 'replica', primary: 'pg-shard-b' } });
    const app = appConfig(t, 'app-3');
    expect(app.cache).toEqual({ service: 'redis-cache', ttlSeconds: 3600 });
    expect(app.store).toEqual({
      kind: 'postgres',
      strategy: 'range',
      shards: [
        { name: 'a', primary: 'pg-shard-a', replicas: ['pg-shard-a-replica-1'], range: [0, 333333] },
        { name: 'b', primary: 'pg-shard-b', replicas: ['pg-shard-b-replica-1'], range: [333334, 666666] },
        { name: 'c', primary: 'pg-shard-c', replicas: ['pg-shard-c-replica-1'], range: [666667, null] },
      ],
    });
    expect(named(t, 'app-1').dependsOn).toEqual(['pg-shard-a', 'pg-shard-a-replica-1', 'pg-shard-b', 'pg-shard-b-replica-1', 'pg-shard-c', 'pg-shard-c-replica-1', 'redis', 'redis-cache']);
    expect(t.staticEntry).toBe('cdn');
    expect(phase5.topology(opts({ shardStrategy: 'hash' })).services.find((s) => s.name === 'app-1')!.config).toMatchObject({ app: { store: { strategy: 'hash' } } });
  });

  it('the shard map: 1e6 users over 2 shards is 0–500,000 -> a and 500,001– -> b, open at the top', () => {
    expect(shardSpecRanges(1_000_000, 2)).toEqual([[0, 500_000], [500_001, null]]);
    const t = phase5.topology(opts({ users: 1_000_000, shards: 2 }));
    const store = appConfig(t).store;
    if (store.kind !== 'postgres') throw new Error('phase 5 stores in postgres');
    const router = createShardRouter('range', store.shards);
    expect(router.shardFor(0).name).toBe('a');
    expect(router.shardFor(500_000).name).toBe('a');
    expect(router.shardFor(500_001).name).toBe('b');
    expect(router.shardFor(1_000_000).name).toBe('b');
    // a sign-up beyond the seeded ids lands on the last shard
    expect(router.shardFor(1_000_001).name).toBe('b');
    expect(shardSpecRanges(5, 5)).toEqual([[0, 1], [2, 2], [3, 3], [4, 4], [5, null]]);
    expect(shardSpecRanges(10, 1)).toEqual([[0, null]]);
  });

  it('shard names run a..z, then aa, ab', () => {
    expect([0, 1, 25, 26, 27, 51, 52].map(shardName)).toEqual(['a', 'b', 'z', 'aa', 'ab', 'az', 'ba']);
  });

  it('bad options fail with one clear line naming the flag and what to use', () => {
    expect(usageLine(() => phase3.topology(opts({ appServers: 0 })))).toBe('--app-servers 0: phase 3 needs a whole number of at least 1 app server — use --app-servers 3');
    expect(usageLine(() => phase4.topology(opts({ appServers: 1.5 })))).toMatch(/^--app-servers 1\.5: phase 4 needs/);
    expect(usageLine(() => phase3.topology(opts({ replicas: -1 })))).toBe('--replicas -1: the replica count is a whole number, 0 or more — use --replicas 0 for primaries alone, or --replicas 2');
    expect(usageLine(() => phase5.topology(opts({ shards: 0 })))).toBe('--shards 0: a sharded phase needs a whole number of at least 1 shard — use --shards 2');
    expect(usageLine(() => phase5.topology(opts({ users: 3, shards: 5 })))).toBe('--shards 5 is more than --users 3: more shards than users leaves shards with no user — use --shards 3 or fewer, or more --users');
    expect(usageLine(() => phase5.topology(opts({ users: 0 })))).toMatch(/^--users 0: /);
    expect(usageLine(() => phase5.topology(opts({ shardStrategy: 'modulo' as 'hash' })))).toMatch(/^--shard-strategy modulo: unknown strategy/);
    expect(usageLine(() => phase5.topology(opts({ appServers: 0 })))).toMatch(/^--app-servers 0/);
    // too many hosts is a usage error too, not plan()'s internal one
    expect(usageLine(() => phase3.topology(opts({ appServers: 300 })))).toMatch(/needs 305 hosts, at most 250/);
    for (const line of [usageLine(() => phase5.topology(opts({ shards: -2 })))]) expect(line).not.toContain('\n');
  });

  it('every host of phases 3-5 has a positive size and no two apps share a host', () => {
    for (const n of [3, 4, 5]) {
      const t = phases.get(n)!.topology(opts({ ...phases.get(n)!.defaults }));
      for (const h of t.hosts) expect(h.size.cpus).toBeGreaterThan(0);
      const appHosts = t.services.filter((s) => s.kind === 'app').map((s) => s.host);
      expect(new Set(appHosts).size).toBe(appHosts.length);
    }
  });
});
