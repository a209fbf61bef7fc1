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

/** One shard of a store: a primary and its read replicas, owning a range of user ids. */
export interface ShardSpec {
  name: string;
  primary: string;
  replicas: string[];
  /** inclusive id range [lo, hi] owned by this shard under range partitioning; hi = null is open */
  range: [number, number | null];
}

/**
 * A data store the topology keeps ('users' today; 'payments', 'jobs' later): where it lives and
 * who owns it. harness/topology/stores.ts answers "where does store S live" from this, and an
 * app's AppStore is derived from it (appStoreOf), never the other way round.
 */
export type StoreSpec =
  | { name: string; kind: 'sqlite'; /** the services that own it (the SQLite file sits in the first one's directory) */ owners: string[] }
  | { name: string; kind: 'postgres'; owners: string[]; strategy: 'range' | 'hash'; shards: ShardSpec[] };

/** The store config an app service carries: a StoreSpec without its name and owners. */
export type AppStore =
  | { kind: 'sqlite' }
  | {
      kind: 'postgres';
      strategy: 'range' | 'hash';
      shards: ShardSpec[];
      /** connections per pool (default APP_POOL_SIZE): every pool opens to it at start */
      poolSize?: number;
      /** the app's health probe deadline (default DEFAULT_PROBE_TIMEOUT_MS, a database on the same site) */
      probeTimeoutMs?: number;
    };

export interface AppConfig {
  store: AppStore;
  /** where sessions live: in the process (stateful app) or in a shared Redis */
  sessions: { kind: 'memory' } | { kind: 'redis'; service: string };
  /** cache-aside for GET /api/users/:id */
  cache: { service: string; ttlSeconds: number } | null;
  /** the data center it serves in (phase 7): named on every answer (X-Bench-Region) so the load
   *  can count which region served; absent where the phase has one site */
  region?: string;
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
  /** the data stores, by name; absent: the topology keeps no data (a hand-built test topology) */
  stores?: StoreSpec[];
  /** toxics that are topology, not faults (phase 7's WAN baseline): Toxiproxy's recipe adds them
   *  once its proxies exist; a toxic on an edge that is not proxied is skipped */
  toxics?: TopologyToxic[];
  /** where the load's clients enter from a region of their own (phase 7): a Toxiproxy proxy each,
   *  on an address of its own with its service's port, so a route to a far region can carry that
   *  pair's WAN latency (a toxic names the listener as its proxy) */
  listeners?: TopologyListener[];
}

/** A client-side entry to a service: clients of `clientRegion` reach `to` through it. */
export interface TopologyListener {
  /** its Toxiproxy proxy's name */
  name: string;
  clientRegion: string;
  /** the service it forwards to; it listens on that service's port */
  to: string;
}

/** A latency toxic that is part of the topology; its name starts with 'baseline.' so that fault
 *  cleanup (chaos/toxiproxy.ts) keeps it. */
export interface TopologyToxic {
  /** the edge's proxy: `${from}->${to}` */
  proxy: string;
  name: string;
  type: 'latency';
  stream: 'upstream' | 'downstream';
  toxicity: 1;
  attributes: { latency: number; jitter: number };
}

/** A value of a phase option: a count or a choice. */
export type OptionValue = number | string;

/**
 * A phase option declared as a parameter spec (the pattern of chaos/faults/params.ts): the CLI
 * flag, its validation, its default, results.json's config.options and the report's option
 * table all come from it. The same name declared by several phases must agree on everything but
 * the default (targets/phases/index.ts checks).
 */
interface PhaseParamBase {
  /** the key in PhaseOptions and results.json: the flag in camelCase ('appServers' for --app-servers) */
  name: string;
  /** the CLI flag, e.g. '--app-servers' */
  flag: string;
  /** the flag's help line */
  help: string;
  /** why a value is wrong, for a direct caller's one-line error; '{phase}' is replaced by the phase */
  rule: string;
  /** what to use instead: the error's hint */
  hint: string;
}

export interface IntPhaseParam extends PhaseParamBase {
  type: 'int';
  default: number;
  /** the range the CLI accepts */
  min: number;
  max: number;
  /** set: the value may not exceed --users; the text says why ("more shards than users leaves ...") */
  atMostUsers?: string;
}

export interface ChoicePhaseParam extends PhaseParamBase {
  type: 'choice';
  default: string;
  choices: readonly string[];
}

/** A value with a grammar of its own (phase 7's --wan-latency table): `parse` checks it and throws
 *  a one-line usage error naming what is wrong; the phase parses it again where it uses it. */
export interface TextPhaseParam extends PhaseParamBase {
  type: 'text';
  default: string;
  /** the flag's value in the help, e.g. '<region:region=ms,...>' */
  placeholder: string;
  /** throws a BenchError('usage') for a bad value; returns nothing */
  check(text: string): void;
}

export type PhaseParam = IntPhaseParam | ChoicePhaseParam | TextPhaseParam;

/** Options of a phase: the seeded users and the values of the phase's declared params, by name
 *  (undefined: the param's default). */
export interface PhaseOptions {
  users: number;
  [name: string]: OptionValue | undefined;
}

/** A rung of the ladder: its description, its options and a pure function from options to a topology. */
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
  /** the options this phase takes; a flag no phase declares does not exist */
  params: readonly PhaseParam[];
  /** each param's default by name (derived from params by definePhase) */
  defaults: Readonly<Record<string, OptionValue>>;
  /** checks the options against params (one-line usage errors), then builds the topology */
  topology(options: PhaseOptions): Topology;
}
