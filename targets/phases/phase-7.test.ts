import { describe, expect, it } from 'vitest';
import { plan } from '../../harness/topology/plan.ts';
import { regionNames } from '../regions/blocks.ts';
import { DEFAULT_REGIONS } from '../regions/latency.ts';
import { patroniMaxConnections } from '../services/patroni.ts';
import { proxySpecs, topologyToxics } from '../services/toxiproxy.ts';
import { phases as all } from './index.ts';
import { resolvePdnsConfig } from '../services/pdns.ts';
import { answerRegions, dataCenters, GEO_DNS, GLOBAL_REGION, phase7, phase7Cpus, phase7Topology, phaseClients, regionFront, WAN_PROBE_TIMEOUT_MS } from './phase-7.ts';

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
      // its primary is across the WAN: the health probe's deadline is the WAN's, not a site's
      expect(app.config.kind === 'app' && app.config.app.store.kind === 'postgres' && app.config.app.store.probeTimeoutMs).toBe(WAN_PROBE_TIMEOUT_MS);
      expect(t.services.find((s) => s.name === f.lb)!.dependsOn).toEqual([f.app(1)]);
      const regionOf = (svc: string) => t.hosts.find((h) => h.name === t.services.find((s) => s.name === svc)!.host)!.region;
      expect([f.lb, f.app(1), f.sessions, regionNames(r).router].map(regionOf)).toEqual([r, r, r, r]);
    }
    expect(t.hosts.find((h) => h.name === t.services.find((s) => s.name === GEO_DNS)!.host)!.region).toBe(GLOBAL_REGION);
  });

  it('declares the WAN baseline on exactly the edges that leave a region, each a proxied edge of the plan', () => {
    const p = plan(t, { runId: 'x', slot: 9, proxies: true, prometheus: false });
    const all = t.toxics ?? [];
    // the replication proxies' and client listeners' own (the next tests), apart
    const toxics = all.filter((x) => !x.proxy.startsWith('replication->') && !x.proxy.startsWith('clients-'));
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
    // plus the client listeners' 12 (the replication proxies' are the Patroni recipe's to add)
    expect(topologyToxics(p)).toHaveLength(24 + 12);
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
    // a far region through the pair's client listener, which carries the pair's WAN latency
    expect(dns.config.pdns.views.map((v) => [v.name, v.clients, v.prefer])).toEqual([
      ['us-east', ['client-region:0'], [['lb-us-east'], ['clients-us-east->lb-us-west'], ['clients-us-east->lb-eu']]],
      ['us-west', ['client-region:1'], [['lb-us-west'], ['clients-us-west->lb-us-east'], ['clients-us-west->lb-eu']]],
      // us-east and us-west are both 40 ms from eu: one rank
      ['eu', ['client-region:2'], [['lb-eu'], ['clients-eu->lb-us-east', 'clients-eu->lb-us-west']]],
    ]);
  });

  it('client listeners: one per (client region, other region), on its own address with the balancer\'s port, carrying the pair\'s latency', () => {
    const p = plan(t, { runId: 'x', slot: 9, proxies: true, prometheus: false });
    const lbPort = p.services.find((s) => s.name === 'lb-eu')!.address.port;
    expect(p.listeners!.map((l) => `${l.name} ${l.listen.host}:${l.listen.port}`)).toEqual([
      `clients-us-east->lb-us-west 127.9.0.200:${lbPort}`,
      `clients-us-east->lb-eu 127.9.0.201:${lbPort}`,
      `clients-us-west->lb-us-east 127.9.0.202:${lbPort}`,
      `clients-us-west->lb-eu 127.9.0.203:${lbPort}`,
      `clients-eu->lb-us-east 127.9.0.204:${lbPort}`,
      `clients-eu->lb-us-west 127.9.0.205:${lbPort}`,
    ]);
    // each a Toxiproxy proxy in front of its balancer, both ways at the pair's one-way latency
    const specs = proxySpecs(p);
    expect(specs.find((x) => x.name === 'clients-us-west->lb-eu')).toEqual({ name: 'clients-us-west->lb-eu', listen: `127.9.0.203:${lbPort}`, upstream: `${p.services.find((s) => s.name === 'lb-eu')!.address.host}:${lbPort}`, enabled: true });
    const ms = (proxy: string) => t.toxics!.filter((x) => x.proxy === proxy).map((x) => `${x.stream}:${x.attributes.latency}`);
    expect(ms('clients-us-west->lb-eu')).toEqual(['upstream:40', 'downstream:40']);
    expect(ms('clients-us-west->lb-us-east')).toEqual(['upstream:30', 'downstream:30']);
    // what the DNS answers, read back to the serving region: balancers and listeners
    const regions = answerRegions(p);
    expect(regions.get('127.9.0.203')).toBe('eu');
    expect(regions.get(p.services.find((s) => s.name === 'lb-us-west')!.address.host)).toBe('us-west');
    expect(regions.size).toBe(9);
    // the geo DNS's config resolved: us-west's clients get their balancer, then the listeners
    const dns = p.services.find((s) => s.name === GEO_DNS)!;
    if (dns.config.kind !== 'pdns') throw new Error('not pdns');
    const west = resolvePdnsConfig(dns.config.pdns, p).views.find((v) => v.name === 'us-west')!;
    expect(west.prefer).toEqual([[p.services.find((s) => s.name === 'lb-us-west')!.address.host], ['127.9.0.202'], ['127.9.0.203']]);
    // without proxies a listener is its balancer: the DNS answers balancers, no toxic is applied
    const direct = plan(t, { runId: 'x', slot: 9, proxies: false, prometheus: false });
    expect(direct.listeners!.find((l) => l.name === 'clients-us-west->lb-eu')!.listen).toEqual(direct.services.find((s) => s.name === 'lb-eu')!.address);
    expect(proxySpecs(direct)).toEqual([]);
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
