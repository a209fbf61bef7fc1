// Phase 7's data tier in `--mode active-active`, as topology data: every user has a home region by
// id range (users 0..N in equal ranges, region i owns range i), and each home region is a Patroni
// cluster of its own (scope `home-<r>`) with its leader in r at start and an asynchronous replica
// in every other region, all on the one etcd cluster of the per-region members (blocks.ts's
// names). The app of region x holds one shard per home region r: writes through a router in x that
// follows cluster r's leader (the WAN when r is elsewhere), reads from x's own member of cluster r
// (local, as stale as its replication). When a region dies, Patroni promotes a survivor of its
// cluster and every router of that cluster follows: the region's users' home moves, no harness step.
//
// Why a replica depends on its cluster's home member: Patroni 3.0 (Debian) has no failover
// priority, and whichever member first takes the cluster's initialize key in etcd bootstraps it
// and leads. Starting the replicas one wave after their home member (native.ts's startWaves
// follow dependsOn) makes the home member the one that bootstraps. The edge that dependency
// declares carries no data (a replica streams from the leader's replication proxy, patroni.ts).
//
// Why the routers of a region share one host: HAProxy in TCP mode for a region's few pooled
// connections needs little, and a kind's services on one host take the next free port (plan.ts).
//
// Sizes (2 cores shared by everything): nine members at 0.07 core, a router host 0.05 for its
// three routers, an etcd member 0.1 as in active-passive: 0.36 core per region, 1.08 for three.
import { BenchError } from '../../harness/errors.ts';
import type { Host, HostSize, Service, ShardSpec } from '../../harness/topology/types.ts';
import { shardSpecRanges } from '../phases/phase-5.ts';
import { dataTier, regionNames } from './blocks.ts';

export const activeActiveSizes = {
  db: { cpus: 0.07, memoryMb: 256 },
  dcs: { cpus: 0.1, memoryMb: 128 },
  router: { cpus: 0.05, memoryMb: 64 },
} satisfies Record<string, HostSize>;

/** The names of home region `home`'s cluster as it stands in region `at`. */
export const homeNames = (home: string, at: string) => ({
  scope: `home-${home}`,
  dbHost: `db-${home}-in-${at}`,
  member: `pg-${home}-in-${at}`,
  /** in `at`, the router that follows `home`'s cluster's leader */
  router: `pg-router-${home}-in-${at}`,
});

export interface ActiveActiveTier {
  hosts: Host[];
  services: Service[];
  /** region -> the shards its apps use: per home region, writes to its router, reads from its local member */
  appShards: Record<string, ShardSpec[]>;
  /** the shards seeding and the write checker use: per home region through the first region's router to it */
  storeShards: ShardSpec[];
  /** home region -> its cluster's members, in region order (its home member first in start order) */
  clusters: Record<string, string[]>;
}

/**
 * The active-active tier of `regions` for `users` seeded users (the id ranges). Refuses what
 * dataTier refuses (fewer than three regions, a region twice). Pure.
 */
export function activeActiveTier(regions: readonly string[], users: number): ActiveActiveTier {
  // the checks, and the etcd members' names, are the active-passive tier's
  const etcdOnly = dataTier(regions);
  if (!Number.isInteger(users) || users < regions.length) {
    throw new BenchError('usage', `--mode active-active splits the users over ${regions.length} home regions, and --users ${users} leaves a region with none`, `use --users ${regions.length} or more`);
  }
  const etcds = regions.map((r) => regionNames(r).etcd);
  const ranges = shardSpecRanges(users, regions.length);
  const hosts: Host[] = [];
  const services: Service[] = [];
  for (const r of regions) {
    hosts.push(etcdOnly.hosts.find((h) => h.name === regionNames(r).dcsHost)!);
    services.push(etcdOnly.services.find((s) => s.name === regionNames(r).etcd)!);
  }
  const clusters: Record<string, string[]> = {};
  for (const home of regions) {
    const h = (at: string) => homeNames(home, at);
    clusters[home] = regions.map((at) => h(at).member);
    for (const at of regions) {
      hosts.push({ name: h(at).dbHost, size: activeActiveSizes.db, region: at });
      services.push({
        name: h(at).member,
        kind: 'patroni',
        host: h(at).dbHost,
        role: 'db',
        // the home member first (the header): every other member starts once it leads
        dependsOn: at === home ? etcds : [...etcds, h(home).member],
        config: { kind: 'patroni', patroni: { scope: h(at).scope, etcd: etcds } },
      });
    }
  }
  for (const at of regions) {
    const routeHost = regionNames(at).routerHost;
    hosts.push({ name: routeHost, size: activeActiveSizes.router, region: at });
    for (const home of regions) {
      services.push({
        name: homeNames(home, at).router,
        kind: 'pg-router',
        host: routeHost,
        role: 'db-route',
        dependsOn: clusters[home]!,
        config: { kind: 'pg-router', pgRouter: { members: clusters[home]!, route: 'primary' } },
      });
    }
  }
  const appShards = Object.fromEntries(
    regions.map((at) => [at, regions.map((home, i): ShardSpec => ({ name: home, primary: homeNames(home, at).router, replicas: [homeNames(home, at).member], range: ranges[i]! }))]),
  );
  const storeShards = regions.map((home, i): ShardSpec => ({ name: home, primary: homeNames(home, regions[0]!).router, replicas: [], range: ranges[i]! }));
  return { hosts, services, appShards, storeShards, clusters };
}

/** A Patroni cluster of a plan: its scope and its members with the region each stands in. */
export interface PatroniCluster {
  scope: string;
  members: { name: string; region: string }[];
}

/** The plan's Patroni clusters, by scope, in service order (active-passive: one, `bench`). Pure. */
export function patroniClusters(t: { hosts: readonly Pick<Host, 'name' | 'region'>[]; services: readonly Pick<Service, 'name' | 'host' | 'config'>[] }): PatroniCluster[] {
  const regionOf = new Map(t.hosts.map((h) => [h.name, h.region]));
  const out = new Map<string, PatroniCluster>();
  for (const s of t.services) {
    if (s.config.kind !== 'patroni') continue;
    const c = out.get(s.config.patroni.scope) ?? { scope: s.config.patroni.scope, members: [] };
    c.members.push({ name: s.name, region: regionOf.get(s.host)! });
    out.set(c.scope, c);
  }
  return [...out.values()];
}

/**
 * The routers that follow the same cluster as `router` (the same members), standing in one of
 * `regions`, in service order: where a store's shard can be read through once its own region is
 * down. Pure.
 */
export function twinRouters(t: { hosts: readonly Pick<Host, 'name' | 'region'>[]; services: readonly Pick<Service, 'name' | 'host' | 'config'>[] }, router: string, regions: readonly string[]): string[] {
  const regionOf = new Map(t.hosts.map((h) => [h.name, h.region]));
  const key = (s: Pick<Service, 'config'>) => (s.config.kind === 'pg-router' ? `${s.config.pgRouter.route}:${[...s.config.pgRouter.members].sort().join(',')}` : null);
  const mine = t.services.find((s) => s.name === router);
  if (!mine || key(mine) === null) return [];
  return t.services.filter((s) => key(s) === key(mine) && regions.includes(regionOf.get(s.host)!)).map((s) => s.name);
}
