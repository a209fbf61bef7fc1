import { describe, expect, it } from 'vitest';
import { plan } from '../../harness/topology/plan.ts';
import { regionNames } from '../regions/blocks.ts';
import { DEFAULT_REGIONS } from '../regions/latency.ts';
import { patroniMaxConnections } from '../services/patroni.ts';
import { proxySpecs, topologyToxics } from '../services/toxiproxy.ts';
import { phases as all } from './index.ts';
import { dataCenters, GEO_DNS, GLOBAL_REGION, phase7, phase7Cpus, phase7Topology, phaseClients, regionFront } from './phase-7.ts';

const t = phase7.topology({ users: 100 });

describe('phase 7', () => {
  it('is built and registered, three regions and one app per region by default', () => {
    expect(all.get(7)).toBe(phase7);
    expect(phase7.built).toBe(true);
    expect(dataCenters(t)).toEqual([...DEFAULT_REGIONS]);
    expect(t.services.filter((s) => s.kind === 'app').map((s) => s.name)).toEqual(['app-us-east-1', 'app-us-west-1', 'app-eu-1']);
  });

  it('fits the 2-core machine: the quotas sum to at most 1.8 cores', () => {
    expect(phase7Cpus(t)).toBeLessThanOrEqual(1.8);
    expect(phase7Cpus(t)).toBe(1.8);
  });

  it("plans onto loopback; each region's apps use its own router and sessions, its balancer its own apps", () => {
    const p = plan(t, { runId: 'x', slot: 9, proxies: true, prometheus: false });
    for (const s of p.services) expect(s.address.host).toMatch(/^127\.9\.\d+\.1$/);
    for (const r of DEFAULT_REGIONS) {
      const f = regionFront(r);
      const app = t.services.find((s) => s.name === f.app(1))!;
      expect(app.dependsOn).toEqual([regionNames(r).router, f.sessions]);
      expect(app.config.kind === 'app' && app.config.app.store.kind === 'postgres' && app.config.app.store.shards[0]!.primary).toBe(regionNames(r).router);
      expect(t.services.find((s) => s.name === f.lb)!.dependsOn).toEqual([f.app(1)]);
      const regionOf = (svc: string) => t.hosts.find((h) => h.name === t.services.find((s) => s.name === svc)!.host)!.region;
      expect([f.lb, f.app(1), f.sessions, regionNames(r).router].map(regionOf)).toEqual([r, r, r, r]);
    }
    expect(t.hosts.find((h) => h.name === t.services.find((s) => s.name === GEO_DNS)!.host)!.region).toBe(GLOBAL_REGION);
  });

  it('declares the WAN baseline on exactly the edges that leave a region, each a proxied edge of the plan', () => {
    const p = plan(t, { runId: 'x', slot: 9, proxies: true, prometheus: false });
    const all = t.toxics ?? [];
    // the replication proxies' own (the next test), apart: they are the Patroni recipe's, not plan edges
    const toxics = all.filter((x) => !x.proxy.startsWith('replication->'));
    const proxies = new Set(toxics.map((x) => x.proxy));
    // per router: 2 remote members; per Patroni member: 2 remote etcd members: (2 + 2) x 3 edges
    expect(proxies.size).toBe(12);
    expect(toxics).toHaveLength(24);
    expect(toxics.find((x) => x.proxy === 'pg-router-us-east->pg-eu' && x.stream === 'upstream')!.attributes.latency).toBe(40);
    expect(toxics.find((x) => x.proxy === 'pg-us-west->etcd-us-east' && x.stream === 'downstream')!.attributes.latency).toBe(30);
    // nothing inside a region: no app, balancer or router->own-member edge
    expect([...proxies].filter((x) => x.startsWith('app-') || x.startsWith('lb-') || x === 'pg-router-eu->pg-eu')).toEqual([]);
    const specs = new Set(proxySpecs(p).map((s) => s.name));
    for (const x of proxies) expect(specs.has(x)).toBe(true);
    expect(topologyToxics(p)).toHaveLength(24);
    // without proxies there is nowhere to put them
    expect(topologyToxics(plan(t, { runId: 'x', slot: 9, proxies: false, prometheus: false }))).toEqual([]);
  });

  it('puts the WAN on each Patroni member\'s replication proxy: its nearest other member\'s one-way latency, both directions', () => {
    const repl = (t.toxics ?? []).filter((x) => x.proxy.startsWith('replication->'));
    expect(repl.map((x) => `${x.proxy}:${x.name}:${x.attributes.latency}`).sort()).toEqual([
      'replication->pg-eu:baseline.wan.downstream:40',
      'replication->pg-eu:baseline.wan.upstream:40',
      'replication->pg-us-east:baseline.wan.downstream:30',
      'replication->pg-us-east:baseline.wan.upstream:30',
      'replication->pg-us-west:baseline.wan.downstream:30',
      'replication->pg-us-west:baseline.wan.upstream:30',
    ]);
    // the table's overrides reach it: us-west's nearest becomes eu at 20 ms
    const near = phase7.topology({ users: 100, wanLatency: 'us-west:eu=20ms' }).toxics!;
    expect(near.find((x) => x.proxy === 'replication->pg-us-west')!.attributes.latency).toBe(20);
    expect(near.find((x) => x.proxy === 'replication->pg-us-east')!.attributes.latency).toBe(30);
  });

  it("the geo DNS answers each client region with its own region's balancer, then the nearest", () => {
    const dns = t.services.find((s) => s.name === GEO_DNS)!;
    if (dns.config.kind !== 'pdns') throw new Error('not pdns');
    expect(dns.config.pdns.views.map((v) => [v.name, v.clients, v.prefer])).toEqual([
      ['us-east', ['client-region:0'], [['lb-us-east'], ['lb-us-west'], ['lb-eu']]],
      ['us-west', ['client-region:1'], [['lb-us-west'], ['lb-us-east'], ['lb-eu']]],
      // us-east and us-west are both 40 ms from eu: one rank
      ['eu', ['client-region:2'], [['lb-eu'], ['lb-us-east', 'lb-us-west']]],
    ]);
  });

  it('--wan-latency reaches everything that reads the table: the baseline toxics and the geo DNS ranks', () => {
    const slow = phase7.topology({ users: 100, wanLatency: 'us-west:eu=70ms,us-east:eu=45' });
    const ms = (proxy: string) => slow.toxics!.find((x) => x.proxy === proxy && x.stream === 'upstream')!.attributes.latency;
    expect([ms('pg-router-us-west->pg-eu'), ms('pg-router-us-east->pg-eu'), ms('pg-router-us-east->pg-us-west')]).toEqual([70, 45, 30]);
    const dns = slow.services.find((s) => s.name === GEO_DNS)!;
    if (dns.config.kind !== 'pdns') throw new Error('not pdns');
    // eu: us-east (45) is now nearer than us-west (70): two ranks instead of one
    expect(dns.config.pdns.views.find((v) => v.name === 'eu')!.prefer.length).toBe(3);
    expect(phase7.defaults.wanLatency).toBe('us-east:us-west=30ms,eu:us-east=40ms,eu:us-west=40ms');
    expect(() => phase7.topology({ users: 100, wanLatency: 'eu:mars=5' })).toThrow(/no region mars in this deployment/);
  });

  it('refuses fewer than three regions and more than the latency table knows, in one line', () => {
    expect(() => phase7.topology({ users: 100, regions: 2 })).toThrow(/--regions 2: phase 7 needs a whole number of at least 3 regions/);
    expect(() => phase7.topology({ users: 100, regions: 4 })).toThrow(/--regions 4: phase 7 knows 3 regions/);
  });

  it('sizes each Patroni member for every app pool behind a router that may route to it', () => {
    const two = phase7Topology({ regions: DEFAULT_REGIONS, appServers: 2 });
    // 6 apps x 2 pools x 10 + 20: any member may lead and take them all
    expect(patroniMaxConnections(two.services, 'pg-eu')).toBe(140);
    // one app a region stays at PostgreSQL's floor
    expect(patroniMaxConnections(t.services, 'pg-eu')).toBe(100);
  });

  it("the load's clients: a region each by default, from its view's source address, through the geo name", () => {
    const p = plan(t, { runId: 'x', slot: 9, proxies: true, prometheus: false });
    const dns = p.services.find((s) => s.name === GEO_DNS)!.address;
    const c = phaseClients(p, phase7.defaults)!;
    expect(c.api).toBe('http://api.bench.test:8000');
    expect(c.regions).toEqual([
      { name: 'us-east', share: 1, localAddress: '127.9.0.100', dns: { host: dns.host, port: dns.port }, cache: { kind: 'ttl' } },
      { name: 'us-west', share: 1, localAddress: '127.9.0.101', dns: { host: dns.host, port: dns.port }, cache: { kind: 'ttl' } },
      { name: 'eu', share: 1, localAddress: '127.9.0.102', dns: { host: dns.host, port: dns.port }, cache: { kind: 'ttl' } },
    ]);
    // all clients in one region keep that region's own source (its view), and the cache mode given
    const west = phaseClients(p, { ...phase7.defaults, clientMix: 'us-west', dnsCache: 'min=30s' })!;
    expect(west.regions).toEqual([{ name: 'us-west', share: 1, localAddress: '127.9.0.101', dns: { host: dns.host, port: dns.port }, cache: { kind: 'min', seconds: 30 } }]);
    // a phase without a geo DNS has no client regions
    expect(phaseClients(plan(all.get(3)!.topology({ users: 100 }), { runId: 'x', slot: 9, proxies: true, prometheus: false }), {})).toBeNull();
  });
});
