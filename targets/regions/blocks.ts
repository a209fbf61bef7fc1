// A region's data tier as topology data, for phase 7: per region an etcd member (the leader-key
// store), a PostgreSQL under Patroni, and a pg-router that sends the region's writes to whichever
// member leads. The apps of a region (phase-7.ts) depend on their region's router only: the
// app -> router edge stays inside the region, the router -> member edges cross the WAN and carry
// its baseline latency (latency.ts), so a write from a region that is not the leader's pays the
// round trip to it, as it would between real data centers.
//
// Sizes (2 cores shared by everything, the load generator included): a database host 0.22 core,
// an etcd member 0.1, a router 0.05 (HAProxy in TCP mode, a region's few pooled connections):
// 0.37 core per region, 1.11 for three, which leaves phase 7's balancers and apps their share.
import { BenchError } from '../../harness/errors.ts';
import type { Host, HostSize, Service } from '../../harness/topology/types.ts';

export const regionDataSizes = {
  db: { cpus: 0.22, memoryMb: 384 },
  dcs: { cpus: 0.1, memoryMb: 128 },
  router: { cpus: 0.05, memoryMb: 64 },
} satisfies Record<string, HostSize>;

/** The names a region's data tier uses. */
export const regionNames = (r: string) => ({
  dcsHost: `dcs-${r}`,
  dbHost: `db-${r}`,
  routerHost: `route-${r}`,
  etcd: `etcd-${r}`,
  member: `pg-${r}`,
  router: `pg-router-${r}`,
});

export interface DataTier {
  hosts: Host[];
  services: Service[];
  /** region -> the router its apps connect to */
  routers: Record<string, string>;
  /** the Patroni members, in region order */
  members: string[];
}

/**
 * The data tier of `regions` (at least three: etcd needs a majority that survives a region, and
 * with two regions the survivor of a pair is never a majority). Pure.
 */
export function dataTier(regions: readonly string[], opts: { scope?: string; ttlSeconds?: number } = {}): DataTier {
  if (regions.length < 3) {
    throw new BenchError('usage', `phase 7 needs at least 3 regions, got ${regions.length} (${regions.join(', ')})`, 'the etcd quorum must survive a region: give --regions three names or more');
  }
  if (new Set(regions).size !== regions.length) throw new BenchError('usage', `--regions names a region twice: ${regions.join(', ')}`, 'give each region once');
  const n = regions.map(regionNames);
  const etcds = n.map((x) => x.etcd);
  const members = n.map((x) => x.member);
  const hosts: Host[] = regions.flatMap((r, i) => [
    { name: n[i]!.dcsHost, size: regionDataSizes.dcs, region: r },
    { name: n[i]!.dbHost, size: regionDataSizes.db, region: r },
    { name: n[i]!.routerHost, size: regionDataSizes.router, region: r },
  ]);
  const services: Service[] = [
    ...regions.map((_, i): Service => ({ name: n[i]!.etcd, kind: 'etcd', host: n[i]!.dcsHost, role: 'dcs', dependsOn: [], config: { kind: 'etcd', etcd: { members: etcds } } })),
    ...regions.map((_, i): Service => ({
      name: n[i]!.member,
      kind: 'patroni',
      host: n[i]!.dbHost,
      role: 'db',
      // every member reaches every etcd member through its edge: the WAN to the others
      dependsOn: etcds,
      config: { kind: 'patroni', patroni: { scope: opts.scope ?? 'bench', etcd: etcds, ...(opts.ttlSeconds ? { ttlSeconds: opts.ttlSeconds } : {}) } },
    })),
    ...regions.map((_, i): Service => ({
      name: n[i]!.router,
      kind: 'pg-router',
      host: n[i]!.routerHost,
      role: 'db-route',
      dependsOn: members,
      config: { kind: 'pg-router', pgRouter: { members, route: 'primary' } },
    })),
  ];
  return { hosts, services, routers: Object.fromEntries(regions.map((r, i) => [r, n[i]!.router])), members };
}
