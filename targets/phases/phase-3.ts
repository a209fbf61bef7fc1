// Phase 3 — a load balancer in front of N stateless app servers (sessions in Redis), a PostgreSQL
// primary for writes and read replicas for reads. Phases 4 and 5 are built on top of this one:
// they add to what fleetTopology() returns instead of repeating it.
import { BenchError } from '../../harness/errors.ts';
import type { AppConfig, Host, PhaseDefinition, PhaseOptions, Service, ShardSpec, Topology } from '../../harness/topology/types.ts';
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

/** Checks the options every fleet phase uses; throws a one-line usage error naming the flag. */
export function checkFleetOptions(phase: number, o: Pick<PhaseOptions, 'appServers' | 'replicas'>): void {
  if (!Number.isInteger(o.appServers) || o.appServers < 1) {
    throw new BenchError('usage', `--app-servers ${o.appServers}: phase ${phase} needs a whole number of at least 1 app server`, 'use --app-servers 3');
  }
  if (!Number.isInteger(o.replicas) || o.replicas < 0) {
    throw new BenchError('usage', `--replicas ${o.replicas}: the replica count is a whole number, 0 or more`, 'use --replicas 0 for primaries alone, or --replicas 2');
  }
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
 * each `lb->app-N` is an edge a drill can cut.
 */
export function fleetTopology(o: { phase: number; title: string; appServers: number; db: DbTier }): Topology {
  const apps = appServerNames(o.appServers);
  const app: AppConfig = {
    store: { kind: 'postgres', strategy: o.db.strategy, shards: o.db.shards },
    sessions: { kind: 'redis', service: 'redis' },
    cache: null,
  };
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
  return { phase: o.phase, title: o.title, regions: [{ name: REGION, wanLatencyMs: 0 }], hosts, services, entry: 'lb' };
}

/** Rejects a topology too big for one run's address space with a usage error, not plan()'s internal one. */
export function checkHostCount(t: Topology): Topology {
  if (t.hosts.length > MAX_HOSTS) {
    throw new BenchError('usage', `phase ${t.phase} with these options needs ${t.hosts.length} hosts, at most ${MAX_HOSTS} fit in one run`, 'use fewer --app-servers, --replicas or --shards');
  }
  return t;
}

const TITLE = 'Load balancer and stateless fleet';

export const phase3: PhaseDefinition = {
  phase: 3,
  title: TITLE,
  usersRange: [10_000, 100_000],
  architecture: 'load balancer + N stateless app servers (sessions in Redis) + PostgreSQL primary and read replicas',
  shows: 'capacity grows with N; a dead app server costs (almost) no errors',
  built: true,
  defaults: { appServers: 3, replicas: 2, shards: 1 },
  topology: (o) => {
    checkFleetOptions(3, o);
    return checkHostCount(fleetTopology({ phase: 3, title: TITLE, appServers: o.appServers, db: singlePrimaryTier(o.replicas) }));
  },
};
