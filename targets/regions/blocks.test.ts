// The data tier as topology data: valid for the plan, loopback addresses, WAN edges where expected.
import { describe, expect, it } from 'vitest';
import { usageLine } from '../../harness/testing/usage-error.ts';
import { plan } from '../../harness/topology/plan.ts';
import type { Topology } from '../../harness/topology/types.ts';
import { dataTier } from './blocks.ts';
import { baselineToxics, crossRegionEdges, DEFAULT_ONE_WAY_MS, DEFAULT_REGIONS } from './latency.ts';

describe('dataTier', () => {
  const tier = dataTier(DEFAULT_REGIONS);
  const topology: Topology = { phase: 7, title: 'data tier', regions: DEFAULT_REGIONS.map((name) => ({ name, wanLatencyMs: 0 })), hosts: tier.hosts, services: tier.services, entry: 'pg-router-us-east' };

  it('plans: an etcd member, a Patroni member and a router per region, on loopback', () => {
    const p = plan(topology, { runId: 'r', slot: 9, proxies: true, prometheus: false });
    expect(p.services.filter((s) => s.kind === 'etcd').map((s) => s.host)).toEqual(['dcs-us-east', 'dcs-us-west', 'dcs-eu']);
    expect(tier.routers).toEqual({ 'us-east': 'pg-router-us-east', 'us-west': 'pg-router-us-west', eu: 'pg-router-eu' });
    expect(p.hosts.every((h) => h.ip.startsWith('127.9.'))).toBe(true);
    // 0.37 a region: phase 7 adds each region's balancer, app and sessions (phase-7.ts) within 1.8 cores
    expect(tier.hosts.reduce((a, h) => a + h.size.cpus, 0)).toBeCloseTo(1.11);
  });

  it('puts the WAN on the edges that leave a region: routers and Patroni to remote members and etcd', () => {
    const p = plan(topology, { runId: 'r', slot: 9, proxies: true, prometheus: false });
    const wan = crossRegionEdges(p).map((e) => e.proxy);
    expect(wan).toContain('pg-router-us-west->pg-us-east');
    expect(wan).toContain('pg-us-east->etcd-eu');
    expect(wan).not.toContain('pg-router-us-east->pg-us-east');
    // 3 routers x 2 remote members + 3 members x 2 remote etcd, two directions each
    expect(baselineToxics(crossRegionEdges(p), DEFAULT_ONE_WAY_MS)).toHaveLength(24);
  });

  it('refuses fewer than three regions and a region named twice, in one line', () => {
    expect(usageLine(() => dataTier(['us-east', 'eu']))).toMatch(/phase 7 needs at least 3 regions, got 2/);
    expect(usageLine(() => dataTier(['eu', 'eu', 'us-east']))).toMatch(/names a region twice/);
  });
});
