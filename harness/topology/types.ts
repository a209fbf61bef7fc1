// The topology model: pure data that says which hosts a phase has, which services run on them,
// and which services talk to which (every dependency is a network edge). Nothing here starts
// anything; harness/topology/plan.ts turns a Topology into addresses and ports.

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

/**
 * Each component kind's config, by kind name. A kind's own module (targets/services/<kind>.ts)
 * adds its entry with `declare module`, beside its zod schema: nothing here lists kinds, and
 * the registry (targets/services/index.ts) is the list of kinds that run.
 */
export interface ServiceConfigs {}

/** A component kind's name, as its module declares it. */
export type ServiceKind = keyof ServiceConfigs & string;

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

/** A service's config: its kind, and what that kind's module reads (checked by its schema in plan()). */
export type ServiceConfig = { [K in ServiceKind]: { kind: K } & ServiceConfigs[K] }[ServiceKind];

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
