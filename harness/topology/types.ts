// The topology model: pure data that says which hosts a phase has, which services run on them,
// and which services talk to which (every dependency is a network edge). Nothing here starts
// anything; harness/topology/plan.ts turns a Topology into addresses and ports.
import type { EtcdConfig } from '../../targets/services/etcd.ts';
import type { PatroniConfig } from '../../targets/services/patroni.ts';
import type { PdnsConfig } from '../../targets/services/pdns.ts';
import type { PgRouterConfig } from '../../targets/services/pg-router.ts';

/** A host's size: applied natively as a cgroup quota, in Docker as --cpus/--memory. */
export interface HostSize {
  /** CPU share in cores, e.g. 0.5 = half a core */
  cpus: number;
  memoryMb: number;
}

export interface Host {
  name: string;
  size: HostSize;
  /** the data center this host stands in; single-region phases use 'local' */
  region: string;
}

/** A region (data center) and how it is reached from the others. */
export interface Region {
  name: string;
  /** one-way latency added on links that leave this region (WAN), in ms */
  wanLatencyMs: number;
}

/** Kinds a phase declares. */
export type TopologyKind = 'app' | 'postgres' | 'redis' | 'haproxy' | 'nginx' | 'rabbitmq' | 'worker' | 'etcd' | 'patroni' | 'pdns' | 'pg-router';
/** Kinds the plan adds to every run: the harness's own instruments. */
export type InfraKind = 'toxiproxy' | 'prometheus' | 'postgres-exporter' | 'redis-exporter';
export type ServiceKind = TopologyKind | InfraKind;

/** One shard of the user data: a primary and its read replicas, owning a range of user ids. */
export interface ShardSpec {
  name: string;
  primary: string;
  replicas: string[];
  /** inclusive id range [lo, hi] owned by this shard under range partitioning; hi = null is open */
  range: [number, number | null];
}

export type AppStore =
  | { kind: 'sqlite' }
  | { kind: 'postgres'; strategy: 'range' | 'hash'; shards: ShardSpec[] };

export interface AppConfig {
  store: AppStore;
  /** where sessions live: in the process (stateful app) or in a shared Redis */
  sessions: { kind: 'memory' } | { kind: 'redis'; service: string };
  /** cache-aside for GET /api/users/:id */
  cache: { service: string; ttlSeconds: number } | null;
}

export interface PostgresConfig {
  role: 'primary' | 'replica';
  /** for a replica: the primary it streams from */
  primary?: string;
}

export interface HaproxyConfig {
  backends: string[];
}

export interface NginxConfig {
  /** the service static assets are fetched from on a miss */
  origin: string;
}

export type ServiceConfig =
  | { kind: 'app'; app: AppConfig }
  | { kind: 'postgres'; postgres: PostgresConfig }
  | { kind: 'redis' }
  | { kind: 'haproxy'; haproxy: HaproxyConfig }
  | { kind: 'nginx'; nginx: NginxConfig }
  | { kind: 'rabbitmq' }
  | { kind: 'worker' }
  | { kind: 'etcd'; etcd: EtcdConfig }
  | { kind: 'patroni'; patroni: PatroniConfig }
  | { kind: 'pdns'; pdns: PdnsConfig }
  | { kind: 'pg-router'; pgRouter: PgRouterConfig }
  | { kind: 'toxiproxy' }
  | { kind: 'prometheus' }
  /** exporters sit on their target's host and scrape it directly, never through a proxy */
  | { kind: 'postgres-exporter'; target: string }
  | { kind: 'redis-exporter'; target: string };

export interface Service {
  /** unique in the topology; edges and Toxiproxy proxies are named after it ("app->pg-primary") */
  name: string;
  kind: ServiceKind;
  host: string;
  /** what the service is for in its phase: 'primary', 'replica', 'cache', 'sessions', 'lb', 'edge', ... */
  role: string;
  /** services this one connects to; each is an edge `${name}->${dep}` */
  dependsOn: string[];
  config: ServiceConfig;
}

export interface Topology {
  phase: number;
  title: string;
  hosts: Host[];
  regions: Region[];
  services: Service[];
  /** the service the load hits for API requests */
  entry: string;
  /** the service the load hits for static assets (the CDN edge), default: entry */
  staticEntry?: string;
}

/** Options a user can set for a phase (flags of `bench run` / `bench up`). */
export interface PhaseOptions {
  users: number;
  appServers: number;
  replicas: number;
  shards: number;
  shardStrategy: 'range' | 'hash';
}

/** A rung of the ladder: its description and a pure function from options to a topology. */
export interface PhaseDefinition {
  phase: number;
  title: string;
  /** the user range this architecture is classically meant for */
  usersRange: [number, number];
  architecture: string;
  /** what a run of this phase should make visible */
  shows: string;
  /** false while the phase is only described, not deployable */
  built: boolean;
  defaults: Pick<PhaseOptions, 'appServers' | 'replicas' | 'shards'>;
  topology(options: PhaseOptions): Topology;
}
