import { describe, expect, it } from 'vitest';
import { PG_CONNECTION_HEADROOM, pgMaxConnections, plan, reach, startOrder, validateTopology } from './plan.ts';
import { phase3 } from '../../targets/phases/phase-3.ts';
import { phase5 } from '../../targets/phases/phase-5.ts';
import { phase2 } from '../../targets/phases/phase-2.ts';
import type { Topology } from './types.ts';

const opts = { users: 1000, appServers: 1, replicas: 0, shards: 1, shardStrategy: 'range' as const };

describe('plan', () => {
  it('gives each host its own loopback address in the run slot and never 0.0.0.0', () => {
    const p = plan(phase2.topology(opts), { runId: 'r1', slot: 7, proxies: true, prometheus: true });
    expect(p.hosts.map((h) => h.ip)).toEqual(['127.7.0.1', '127.7.1.1', '127.7.2.1']);
    for (const s of p.services) expect(s.address.host.startsWith('127.7.')).toBe(true);
  });

  it('starts Toxiproxy first, Prometheus next, dependencies before dependents, exporters last', () => {
    const p = plan(phase2.topology(opts), { runId: 'r1', slot: 7, proxies: true, prometheus: true });
    expect(p.order.slice(0, 2)).toEqual(['toxiproxy', 'prometheus']);
    expect(p.order.indexOf('pg-primary')).toBeLessThan(p.order.indexOf('app'));
    expect(p.order.at(-1)).toBe('pg-primary-exporter');
  });

  it('routes app edges through a proxy and leaves exporter edges direct', () => {
    const p = plan(phase2.topology(opts), { runId: 'r1', slot: 7, proxies: true, prometheus: true });
    const appDb = p.edges.find((e) => e.name === 'app->pg-primary')!;
    expect(appDb.proxied).toBe(true);
    expect(reach(p, 'app', 'pg-primary')).toEqual(appDb.listen);
    expect(appDb.listen.host).toBe('127.7.0.1');
    expect(appDb.upstream).toEqual({ host: '127.7.2.1', port: 5432 });
    const exp = p.edges.find((e) => e.from === 'pg-primary-exporter')!;
    expect(exp.proxied).toBe(false);
  });

  it('without proxies, an edge is the upstream itself', () => {
    const p = plan(phase2.topology(opts), { runId: 'r1', slot: 3, proxies: false, prometheus: false });
    expect(p.toxiproxy).toBeNull();
    expect(p.prometheus).toBeNull();
    expect(reach(p, 'app', 'pg-primary')).toEqual({ host: '127.3.2.1', port: 5432 });
  });

  it('reports every structural problem at once', () => {
    const bad: Topology = {
      phase: 9,
      title: 'bad',
      regions: [{ name: 'local', wanLatencyMs: 0 }],
      hosts: [{ name: 'h', size: { cpus: 0, memoryMb: 1 }, region: 'mars' }],
      services: [
        { name: 'a', kind: 'app', host: 'nowhere', role: 'x', dependsOn: ['ghost'], config: { kind: 'redis' } },
      ],
      entry: 'missing',
    };
    const problems = validateTopology(bad);
    expect(problems).toEqual(
      expect.arrayContaining([
        'host h has a non-positive size',
        'host h is in unknown region mars',
        'service a is on unknown host nowhere',
        'service a is a app with redis config',
        'service a depends on unknown ghost',
        'entry missing is not a service',
      ]),
    );
    expect(() => plan(bad, { runId: 'x', slot: 1, proxies: false, prometheus: false })).toThrow(/invalid topology/);
  });

  it('client listeners: a listener to an unknown service, one declared twice, or more than the addresses hold are problems', () => {
    const t = phase2.topology(opts);
    const l = (name: string, to: string) => ({ name, clientRegion: 'local', to });
    expect(validateTopology({ ...t, listeners: [l('x', 'app'), l('x', 'app'), l('y', 'ghost')] })).toEqual(['listener x declared twice', 'listener y forwards to unknown ghost']);
    expect(validateTopology({ ...t, listeners: Array.from({ length: 56 }, (_, i) => l(`l${i}`, 'app')) })).toEqual(['too many listeners (56, at most 55)']);
    const p = plan({ ...t, listeners: [l('c->app', 'app')] }, { runId: 'r1', slot: 7, proxies: true, prometheus: false });
    expect(p.listeners).toEqual([{ ...l('c->app', 'app'), listen: { host: '127.7.0.200', port: 8080 }, upstream: { host: '127.7.1.1', port: 8080 }, proxied: true }]);
  });

  it('detects a dependency cycle', () => {
    const svc = (name: string, dep: string) => ({ name, kind: 'redis' as const, host: 'h', role: 'x', dependsOn: [dep], config: { kind: 'redis' as const } });
    expect(() => startOrder([svc('a', 'b'), svc('b', 'a')])).toThrow(/cycle/);
  });
});

describe('pgMaxConnections', () => {
  it('fits every app pool that may land on a PostgreSQL (two per app after a failover), never under 100', () => {
    const small = plan(phase3.topology({ ...opts, appServers: 3, replicas: 1 }), { runId: 'r', slot: 7, proxies: true, prometheus: false });
    expect(pgMaxConnections(small.services, 'pg-primary', 10)).toBe(100);
    const big = plan(phase3.topology({ ...opts, appServers: 32, replicas: 1 }), { runId: 'r', slot: 7, proxies: true, prometheus: false });
    for (const pg of ['pg-primary', 'pg-primary-replica-1']) expect(pgMaxConnections(big.services, pg, 10)).toBe(32 * 2 * 10 + PG_CONNECTION_HEADROOM);
    // a shard's database counts only the apps that use that shard: all of them, each with its pools
    const sharded = plan(phase5.topology({ ...opts, appServers: 8, replicas: 1, shards: 2, users: 1000 }), { runId: 'r', slot: 7, proxies: true, prometheus: false });
    const pgs = sharded.services.filter((s) => s.kind === 'postgres').map((s) => s.name);
    expect(pgs.length).toBeGreaterThanOrEqual(4);
    for (const pg of pgs) expect(pgMaxConnections(sharded.services, pg, 10)).toBe(8 * 2 * 10 + PG_CONNECTION_HEADROOM);
    // nothing uses it: the default
    expect(pgMaxConnections(sharded.services, 'nothing', 10)).toBe(100);
  });
});
