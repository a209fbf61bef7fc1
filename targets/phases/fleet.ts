// The fleet builders phases 3 to 5 share: a load balancer in front of N stateless app servers
// (sessions in Redis) over a database tier of PostgreSQL primaries and their read replicas.
// Phases add to what fleetTopology() returns instead of repeating it.
import { BenchError } from '../../harness/errors.ts';
import type { AppConfig, Host, Service, ShardSpec, StoreSpec, Topology } from '../../harness/topology/types.ts';
import { appStoreOf } from '../../harness/topology/stores.ts';
import { sizes } from './sizes.ts';

const REGION = 'local';
/** plan() gives each host an address 127.<slot>.<i>.1, so a run holds at most 250 hosts */
const MAX_HOSTS = 250;

/** The database tier of a fleet: the shards the app routes to and the hosts and services behind them. */
export interface DbTier {
  strategy: 'range' | 'hash';
  shards: ShardSpec[];
  hosts: Host[];
  services: Service[];
}

/** A PostgreSQL primary and its streaming replicas, each on its own host. */
export function primaryWithReplicas(names: { primary: string; host: string }, replicas: number): { hosts: Host[]; services: Service[]; replicaNames: string[] } {
  const hosts: Host[] = [{ name: names.host, size: sizes.db, region: REGION }];
  const services: Service[] = [
    { name: names.primary, kind: 'postgres', host: names.host, role: 'primary', dependsOn: [], config: { kind: 'postgres', postgres: { role: 'primary' } } },
  ];
  const replicaNames: string[] = [];
  for (let i = 1; i <= replicas; i++) {
    const name = `${names.primary}-replica-${i}`;
    const host = `${names.host}-replica-${i}`;
    replicaNames.push(name);
    hosts.push({ name: host, size: sizes.db, region: REGION });
    services.push({
      name,
      kind: 'postgres',
      host,
      role: 'replica',
      // a replica is cloned from its primary (pg_basebackup) and streams from it: an edge like any other
      dependsOn: [names.primary],
      config: { kind: 'postgres', postgres: { role: 'replica', primary: names.primary } },
    });
  }
  return { hosts, services, replicaNames };
}

/** Phase 3's database tier: one shard 'main' owning every id, a primary and `replicas` replicas. */
export function singlePrimaryTier(replicas: number): DbTier {
  const { hosts, services, replicaNames } = primaryWithReplicas({ primary: 'pg-primary', host: 'db-host-primary' }, replicas);
  return { strategy: 'range', shards: [{ name: 'main', primary: 'pg-primary', replicas: replicaNames, range: [0, null] }], hosts, services };
}

/** The names of the app servers of a fleet: app-1..app-N. */
export const appServerNames = (n: number) => Array.from({ length: n }, (_, i) => `app-${i + 1}`);

/**
 * HAProxy -> N stateless apps -> sessions Redis + a database tier. Every app depends on every
 * database server it may query and on the sessions store; the balancer depends on every app, so
 * each `lb->app-N` is an edge a drill can cut. The tier is the 'users' store, owned by the apps.
 */
export function fleetTopology(o: { phase: number; title: string; appServers: number; db: DbTier }): Topology {
  const apps = appServerNames(o.appServers);
  const users: StoreSpec = { name: 'users', kind: 'postgres', owners: apps, strategy: o.db.strategy, shards: o.db.shards };
  const app: AppConfig = { store: appStoreOf(users), sessions: { kind: 'redis', service: 'redis' }, cache: null };
  const dbServers = o.db.shards.flatMap((s) => [s.primary, ...s.replicas]);
  const hosts: Host[] = [
    { name: 'lb-host', size: sizes.lb, region: REGION },
    ...apps.map((_, i) => ({ name: `app-host-${i + 1}`, size: sizes.app, region: REGION })),
    { name: 'cache-host', size: sizes.cache, region: REGION },
    ...o.db.hosts,
  ];
  const services: Service[] = [
    ...o.db.services,
    { name: 'redis', kind: 'redis', host: 'cache-host', role: 'sessions', dependsOn: [], config: { kind: 'redis' } },
    ...apps.map(
      (name, i): Service => ({
        name,
        kind: 'app',
        host: `app-host-${i + 1}`,
        role: 'app',
        dependsOn: [...dbServers, 'redis'],
        // each app gets its own copy: phase 4 changes the cache of every app, not one shared object
        config: { kind: 'app', app: structuredClone(app) },
      }),
    ),
    { name: 'lb', kind: 'haproxy', host: 'lb-host', role: 'lb', dependsOn: [...apps], config: { kind: 'haproxy', haproxy: { backends: [...apps] } } },
  ];
  return { phase: o.phase, title: o.title, regions: [{ name: REGION, wanLatencyMs: 0 }], hosts, services, entry: 'lb', stores: [users] };
}

/** Rejects a topology too big for one run's address space with a usage error, not plan()'s internal one. */
export function checkHostCount(t: Topology): Topology {
  if (t.hosts.length > MAX_HOSTS) {
    throw new BenchError('usage', `phase ${t.phase} with these options needs ${t.hosts.length} hosts, at most ${MAX_HOSTS} fit in one run`, 'use fewer --app-servers, --replicas or --shards');
  }
  return t;
}
