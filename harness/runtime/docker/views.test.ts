import { describe, expect, it } from 'vitest';
import { plan, reach } from '../../topology/plan.ts';
import { phase3 } from '../../../targets/phases/phase-3.ts';
import { phase2 } from '../../../targets/phases/phase-2.ts';
import { containerPorts, hostPlan, networkPlan, type PublishedPorts } from './views.ts';

const o = { users: 1000, appServers: 2, replicas: 1, shards: 1, shardStrategy: 'range' as const };
const p3 = plan(phase3.topology(o), { runId: 'r3', slot: 9, proxies: true, prometheus: true });
const gateway = '172.20.0.1';

/** Every container port of every service published on 30000 + an index. */
function publishAll(p: typeof p3): PublishedPorts {
  let next = 30000;
  return new Map(p.services.map((s) => [s.name, new Map(containerPorts(s).map((port) => [port, next++]))]));
}

describe('networkPlan', () => {
  const net = networkPlan(p3, { gateway });

  it('reaches every service by its name on its plan port', () => {
    expect(net.services.find((s) => s.name === 'pg-primary')!.address).toEqual({ host: 'pg-primary', port: 5432 });
    expect(net.services.find((s) => s.name === 'app-1')!.address).toEqual({ host: 'app-1', port: 8080 });
  });

  it('sends a proxied edge through the toxiproxy container on the edge port, to the service by name', () => {
    const native = p3.edges.find((e) => e.name === 'app-1->pg-primary')!;
    expect(reach(net, 'app-1', 'pg-primary')).toEqual({ host: 'toxiproxy', port: native.listen.port });
    const edge = net.edges.find((e) => e.name === 'app-1->pg-primary')!;
    expect(edge.upstream).toEqual({ host: 'pg-primary', port: 5432 });
    expect(edge.proxied).toBe(true);
  });

  it('leaves an exporter edge direct', () => {
    expect(reach(net, 'pg-primary-exporter', 'pg-primary')).toEqual({ host: 'pg-primary', port: 5432 });
  });

  it('points Prometheus at the engine through the network gateway, and names its own instruments', () => {
    expect(net.engineMetrics).toEqual({ host: gateway, port: p3.engineMetrics.port });
    expect(net.toxiproxy).toEqual({ api: { host: 'toxiproxy', port: 8474 } });
    expect(net.prometheus).toEqual({ address: { host: 'prometheus', port: 9090 } });
  });

  it('without proxies, every edge is the service itself', () => {
    const p = plan(phase2.topology(o), { runId: 'r2', slot: 9, proxies: false, prometheus: false });
    const n = networkPlan(p, { gateway });
    expect(reach(n, 'app', 'pg-primary')).toEqual({ host: 'pg-primary', port: 5432 });
    expect(n.toxiproxy).toBeNull();
  });
});

describe('hostPlan', () => {
  const published = publishAll(p3);
  const host = hostPlan(p3, published, { gateway });

  it('puts every service at its published port on 127.0.0.1', () => {
    for (const s of host.services) {
      expect(s.address.host).toBe('127.0.0.1');
      expect(s.address.port).toBe(published.get(s.name)!.get(p3.services.find((x) => x.name === s.name)!.address.port));
    }
    expect(host.toxiproxy!.api).toEqual(host.services.find((s) => s.name === 'toxiproxy')!.address);
    expect(host.prometheus!.address).toEqual(host.services.find((s) => s.name === 'prometheus')!.address);
  });

  it('keeps the edges of the network and the rest of the plan', () => {
    expect(host.edges).toEqual(networkPlan(p3, { gateway }).edges);
    expect(host.order).toEqual(p3.order);
    expect(host.topology).toBe(p3.topology);
  });

  it('refuses a service whose port was not published', () => {
    const partial = new Map(published);
    partial.delete('lb');
    expect(() => hostPlan(p3, partial, { gateway })).toThrow(/no host port published for lb:8000/);
  });

  it('publishes the balancer stats side port beside its main one', () => {
    expect(containerPorts(p3.services.find((s) => s.name === 'lb')!)).toEqual([8000, 8404]);
    expect(containerPorts(p3.services.find((s) => s.name === 'redis')!)).toEqual([6379]);
  });
});
