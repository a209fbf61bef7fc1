import { describe, expect, it } from 'vitest';
import { plan, reach, startOrder, validateTopology } from './plan.ts';
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

  it('detects a dependency cycle', () => {
    const svc = (name: string, dep: string) => ({ name, kind: 'redis' as const, host: 'h', role: 'x', dependsOn: [dep], config: { kind: 'redis' as const } });
    expect(() => startOrder([svc('a', 'b'), svc('b', 'a')])).toThrow(/cycle/);
  });
});
