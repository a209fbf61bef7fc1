// Phase 7 — Multiple data centers. Per region (default us-east, us-west, eu) a small stack of the
// earlier phases on the region's own hosts: an HAProxy in front of the region's apps, a sessions
// Redis, and the region's data tier (targets/regions/blocks.ts: an etcd member, a Patroni member,
// a pg-router to whichever member leads). One geo DNS (PowerDNS, targets/services/pdns.ts)
// answers each client region with its own region's balancer while that answers HTTP, else the
// nearest region's. Every edge that leaves a region carries the WAN baseline (targets/regions/
// latency.ts), declared here as topology and applied by Toxiproxy's recipe once its proxies exist.
//
// `--mode active-active` (targets/regions/active-active.ts): a Patroni cluster per home region
// instead of one, each user's data in its home region's cluster by id range; a region's apps
// write through a router per cluster and read from their own region's member of each cluster.
//
// Why the apps read and write through their region's router: the apps' connection string never
// changes when Patroni moves the leader, so no step of a failover is the harness's or the app's.
// Why the geo DNS answers a client region with a listener per far region: a client routed to a
// far region must pay that pair's WAN round trip, as a user would. Each (client region, other
// region) pair has a Toxiproxy listener on its own address in front of that region's balancer,
// carrying the pair's baseline latency; a client region's own region is its balancer itself (no
// WAN to model, and no proxy hop on the common path). The geo DNS's health checks of a far
// candidate go through the listener too, as a client's request would.
import { BenchError } from '../../harness/errors.ts';
import type { AppConfig, Host, HostSize, Service, ShardSpec, StoreSpec, Topology, TopologyListener, TopologyToxic } from '../../harness/topology/types.ts';
import { edgeName } from '../../harness/topology/plan.ts';
import { dataTier } from '../regions/blocks.ts';
import { activeActiveTier } from '../regions/active-active.ts';
import { preferenceRanks } from '../regions/geo.ts';
import { baselineToxics, replicationBaseline, DEFAULT_ONE_WAY_MS, DEFAULT_REGIONS, formatLatencyTable, wanTable, type LatencyTable, type RegionEdge } from '../regions/latency.ts';
import { haproxyRecipe, LIVENESS_PATH } from '../services/haproxy.ts';
import { CLIENT_REGION_REF, type PdnsConfig } from '../services/pdns.ts';
import { replicationProxyName } from '../services/patroni.ts';
import { CLIENT_MIX_EVEN, planClients } from '../regions/clients.ts';
import type { ClientRegion } from '../../harness/load/client-regions.ts';
import type { DeployPlan } from '../../harness/topology/plan.ts';
import { checkHostCount } from './fleet.ts';
import { appServersParam, choiceOf, definePhase, intOf, textOf, withDefault } from './params.ts';

const TITLE = 'Multiple data centers';

/** Regions deployed: the first N of us-east, us-west, eu. */
export const regionsParam = {
  name: 'regions',
  flag: '--regions',
  type: 'int',
  default: 3,
  min: 3,
  max: DEFAULT_REGIONS.length,
  help: `regions (data centers), the first N of ${DEFAULT_REGIONS.join(', ')}`,
  rule: 'phase {phase} needs a whole number of at least 3 regions (the etcd quorum must survive a region)',
  hint: 'use --regions 3',
} as const;

/** Where users' data is written: one write region for everyone (active-passive), or each user's
 *  home region by id range (active-active, targets/regions/active-active.ts). */
export const modeParam = {
  name: 'mode',
  flag: '--mode',
  type: 'choice',
  default: 'active-passive',
  choices: ['active-passive', 'active-active'],
  help: 'active-passive (one Patroni cluster, one write region) or active-active (a cluster per home region, users split by id range; reads local)',
  rule: 'unknown data mode',
  hint: 'use --mode active-passive or --mode active-active',
} as const;
export type Phase7Mode = (typeof modeParam.choices)[number];

/** How the load's requests split over the client regions: even, or all from one region. */
export const clientMixParam = {
  name: 'clientMix',
  flag: '--client-mix',
  type: 'choice',
  default: CLIENT_MIX_EVEN,
  choices: [CLIENT_MIX_EVEN, ...DEFAULT_REGIONS],
  help: `where the load's clients stand: ${CLIENT_MIX_EVEN} (a share per region) or one region's name (all there)`,
  rule: 'unknown client mix',
  hint: `use --client-mix ${CLIENT_MIX_EVEN} or --client-mix us-west`,
} as const;

/** How long a client keeps the geo DNS's answer (harness/load/geo-dns.ts): its TTL, the whole run,
 *  or at least 30 s (caches that raise short TTLs to a floor). */
export const dnsCacheParam = {
  name: 'dnsCache',
  flag: '--dns-cache',
  type: 'choice',
  default: 'ttl',
  choices: ['ttl', 'pinned', 'min=30s'],
  help: "how long the load's clients keep a DNS answer: ttl, pinned (never re-resolve), min=30s",
  rule: 'unknown DNS cache mode',
  hint: 'use --dns-cache ttl, pinned or min=30s',
} as const;

/** The WAN's one-way latencies (targets/regions/latency.ts): pairs over the default table, read by
 *  everything that reads the table (the baseline toxics, the geo DNS's preference ranks). */
export const wanLatencyParam = {
  name: 'wanLatency',
  flag: '--wan-latency',
  type: 'text',
  default: formatLatencyTable(DEFAULT_ONE_WAY_MS),
  placeholder: '<region:region=ms,...>',
  help: `one-way WAN latency per pair of regions, over the default ${formatLatencyTable(DEFAULT_ONE_WAY_MS)}`,
  rule: 'the WAN latency table is a list of <region>:<region>=<ms>',
  hint: 'e.g. --wan-latency us-east:eu=45ms,us-west:eu=70ms',
  // every region phase 7 may deploy: a pair naming another changes nothing and is refused
  check: (text: string) => void wanTable(text, DEFAULT_REGIONS),
} as const;

/** Where the geo DNS lives and the one name it routes: clients resolve api.bench.test. */
export const GEO_ZONE = 'bench.test';
export const GEO_NAME = 'api';
export const GEO_FQDN = `${GEO_NAME}.${GEO_ZONE}`;
/** The answer's TTL: short, so that a client honouring it follows a failover within seconds. */
export const GEO_TTL_S = 2;
/** The region the geo DNS's host stands in: none of the data centers (a drill that takes a data
 *  center down must not take the DNS with it, as an anycast DNS service would survive). */
export const GLOBAL_REGION = 'global';
/** The geo DNS's service name. */
export const GEO_DNS = 'geo-dns';

/**
 * Host sizes: the CPU quotas of three regions with one app each sum to 1.79 cores, so the phase
 * fits the 2-core machine (quotas are ceilings; the load generator shares the machine). The data
 * tier's sizes are blocks.ts's; an extra app per region adds 3 x 0.13.
 */
export const phase7Sizes = {
  lb: { cpus: 0.05, memoryMb: 128 },
  app: { cpus: 0.13, memoryMb: 384 },
  sessions: { cpus: 0.04, memoryMb: 64 },
  dns: { cpus: 0.03, memoryMb: 128 },
} satisfies Record<string, HostSize>;

/** The names a region's front uses. */
export const regionFront = (r: string) => ({
  lbHost: `lb-${r}`,
  lb: `lb-${r}`,
  sessionsHost: `sessions-${r}`,
  sessions: `sessions-${r}`,
  appHost: (i: number) => `app-${r}-${i}`,
  app: (i: number) => `app-${r}-${i}`,
});

/** The regions a plan's topology declares as data centers (the DNS's 'global' is not one). */
export const dataCenters = (t: Pick<Topology, 'regions'>): string[] => t.regions.map((r) => r.name).filter((n) => n !== GLOBAL_REGION);

/** The listener client region `client`'s clients reach region `serving`'s balancer through. */
export const clientListenerName = (client: string, serving: string) => `clients-${client}->${regionFront(serving).lb}`;

/** Where client region `client` enters region `serving`: its balancer at home, else the pair's listener. */
export const entryFor = (client: string, serving: string) => (client === serving ? regionFront(serving).lb : clientListenerName(client, serving));

/** One listener per (client region, other region) pair, in front of that region's balancer. Pure. */
export function clientListeners(regions: readonly string[]): TopologyListener[] {
  return regions.flatMap((client) => regions.filter((r) => r !== client).map((r) => ({ name: clientListenerName(client, r), clientRegion: client, to: regionFront(r).lb })));
}

/**
 * The region serving each address the geo DNS may answer in a plan: each balancer's own address
 * and each client listener's (phase 7's). What the drills read an answer back by. Pure.
 */
export function answerRegions(plan: Pick<DeployPlan, 'services' | 'listeners' | 'topology'>): Map<string, string> {
  const out = new Map<string, string>();
  for (const r of dataCenters(plan.topology)) {
    const lb = regionFront(r).lb;
    const own = plan.services.find((s) => s.name === lb);
    if (own) out.set(own.address.host, r);
    for (const l of plan.listeners ?? []) if (l.to === lb) out.set(l.listen.host, r);
  }
  return out;
}

/**
 * The geo DNS's config: view i answers client region i (its source address, `client-region:<i>`)
 * with its own region's balancer, else the nearest by the latency table, through the pair's
 * client listener. Pure.
 */
export function geoDnsConfig(regions: readonly string[], table: LatencyTable): PdnsConfig {
  return {
    zone: GEO_ZONE,
    name: GEO_NAME,
    ttlSeconds: GEO_TTL_S,
    // through the balancer, on the fleet's liveness (haproxy.ts, liveness): a region whose balancer
    // or every app process is down fails the check. Not /healthz: that follows the shared database,
    // so during a Patroni failover every region failed at once and PowerDNS, seeing all down,
    // answered any region, the dead one included (measured: a third of the answers for 14 s)
    health: { port: haproxyRecipe.ports.main, path: LIVENESS_PATH },
    views: regions.map((client, i) => ({
      name: client,
      clients: [`${CLIENT_REGION_REF}${i}`],
      prefer: preferenceRanks(client, regions, table).map((rank) => rank.map((r) => entryFor(client, r))),
    })),
  };
}

/**
 * The WAN baseline of a topology: both latency toxics on every edge (dependsOn) whose two ends
 * stand in different regions, named after the edge's Toxiproxy proxy, and on every Patroni
 * member's replication proxy (the WAL crosses the WAN too: replicationBaseline says which
 * latency). Pure.
 */
export function wanBaseline(t: Pick<Topology, 'hosts' | 'services' | 'listeners'>, table: LatencyTable): TopologyToxic[] {
  const regionOfHost = new Map(t.hosts.map((h) => [h.name, h.region]));
  const regionOf = new Map(t.services.map((s) => [s.name, regionOfHost.get(s.host)!]));
  const edges: RegionEdge[] = t.services.flatMap((s) =>
    s.dependsOn.filter((d) => regionOf.get(d) !== regionOf.get(s.name)).map((d) => ({ proxy: edgeName(s.name, d), from: regionOf.get(s.name)!, to: regionOf.get(d)! })),
  );
  // the client listeners: from the clients' region to the balancer's
  edges.push(...(t.listeners ?? []).map((l) => ({ proxy: l.name, from: l.clientRegion, to: regionOf.get(l.to)! })));
  const members = t.services.filter((s) => s.kind === 'patroni').map((s) => ({ proxy: replicationProxyName(s.name), region: regionOf.get(s.name)! }));
  return [...baselineToxics(edges, table), ...replicationBaseline(members, table)];
}

/** The data tier of a mode: its hosts and services, the shards a region's apps use, and the
 *  store's shards for seeding and the write checker. Pure. */
function dataOf(mode: Phase7Mode, regions: readonly string[], users: number): { hosts: Host[]; services: Service[]; appShards: (r: string) => ShardSpec[]; storeShards: ShardSpec[] } {
  if (mode === 'active-active') {
    const aa = activeActiveTier(regions, users);
    return { hosts: aa.hosts, services: aa.services, appShards: (r) => aa.appShards[r]!, storeShards: aa.storeShards };
  }
  // each region's apps write and read through their own region's router: reads are as fresh as
  // the leader (one write region, active-passive), and cost the WAN round trip outside it
  const tier = dataTier(regions);
  const main = (router: string): ShardSpec[] => [{ name: 'main', primary: router, replicas: [], range: [0, null] }];
  return { hosts: tier.hosts, services: tier.services, appShards: (r) => main(tier.routers[r]!), storeShards: main(tier.routers[regions[0]!]!) };
}

/** Connections per app pool in active-active (six pools per app). */
export const ACTIVE_ACTIVE_POOL_SIZE = 4;

/**
 * The apps' health probe deadline: their primary is across the WAN (80 ms round trip at most by
 * default). With a single site's 400 ms, wan-degradation x5 (a 400 ms round trip) failed every
 * probe of the region farthest from the leader, its balancer took its only app out, and 109 of its
 * 368 requests answered 503 while the app itself answered within 0.41 s. 1 s lets the WAN slow
 * 12x before a region's apps call themselves down, and still finds a hung leader within ~1.5 s.
 */
export const WAN_PROBE_TIMEOUT_MS = 1_000;

/** Phase 7's topology. Pure. `users` sets the home ranges of active-active (default mode: active-passive). */
export function phase7Topology(o: { regions: readonly string[]; appServers: number; table?: LatencyTable; mode?: Phase7Mode; users?: number }): Topology {
  const table = o.table ?? DEFAULT_ONE_WAY_MS;
  const s = phase7Sizes;
  const data = dataOf(o.mode ?? 'active-passive', o.regions, o.users ?? 0);
  const hosts: Host[] = [...data.hosts];
  const services: Service[] = [...data.services];
  const allApps: string[] = [];
  for (const r of o.regions) {
    const f = regionFront(r);
    const apps = Array.from({ length: o.appServers }, (_, i) => f.app(i + 1));
    allApps.push(...apps);
    const shards = data.appShards(r);
    const app: AppConfig = {
      // active-active's apps open six pools (a router and a local member per home): at 10
      // connections each, a home leader's 0.07-core host took ~40 SCRAM logins at start and was
      // throttled 6.4-7.7 s (cpu.stat); 4 per pool carry phase 7's rates (a few hundred queries/s)
      store: { kind: 'postgres', strategy: 'range', shards, probeTimeoutMs: WAN_PROBE_TIMEOUT_MS, ...(o.mode === 'active-active' ? { poolSize: ACTIVE_ACTIVE_POOL_SIZE } : {}) },
      sessions: { kind: 'redis', service: f.sessions },
      cache: null,
      region: r,
    };
    const dataDeps = [...new Set(shards.flatMap((sh) => [sh.primary, ...sh.replicas]))];
    hosts.push({ name: f.sessionsHost, size: s.sessions, region: r }, ...apps.map((_, i) => ({ name: f.appHost(i + 1), size: s.app, region: r })), { name: f.lbHost, size: s.lb, region: r });
    services.push(
      { name: f.sessions, kind: 'redis', host: f.sessionsHost, role: 'sessions', dependsOn: [], config: { kind: 'redis' } },
      ...apps.map((name, i): Service => ({ name, kind: 'app', host: f.appHost(i + 1), role: 'app', dependsOn: [...dataDeps, f.sessions], config: { kind: 'app', app: structuredClone(app) } })),
      { name: f.lb, kind: 'haproxy', host: f.lbHost, role: 'lb', dependsOn: apps, config: { kind: 'haproxy', haproxy: { backends: apps, liveness: true } } },
    );
  }
  hosts.push({ name: 'dns-host', size: s.dns, region: GLOBAL_REGION });
  // the DNS's health checks reach each candidate as the view's clients would (a far one through
  // the pair's client listener): not an edge of the system, so the DNS depends on nothing
  services.push({ name: GEO_DNS, kind: 'pdns', host: 'dns-host', role: 'geo-dns', dependsOn: [], config: { kind: 'pdns', pdns: geoDnsConfig(o.regions, table) } });
  // seeding and the write checker reach each shard through the first region's router to it; every
  // app owns the store (each through its own region's routers, which land on the same leaders)
  const users: StoreSpec = { name: 'users', kind: 'postgres', owners: allApps, strategy: 'range', shards: data.storeShards };
  const t: Topology = {
    phase: 7,
    title: TITLE,
    regions: [...o.regions.map((name) => ({ name, wanLatencyMs: 0 })), { name: GLOBAL_REGION, wanLatencyMs: 0 }],
    hosts,
    services,
    entry: regionFront(o.regions[0]!).lb,
    stores: [users],
    listeners: clientListeners(o.regions),
  };
  return { ...t, toxics: wanBaseline(t, table) };
}

export const phase7 = definePhase({
  phase: 7,
  title: TITLE,
  usersRange: [100_000_000, 1_000_000_000],
  architecture: 'several regions, each a balancer, apps and a Patroni member behind a router; etcd across regions; geo-routing DNS; WAN latency; async cross-region replication with automatic failover',
  shows: 'a region can die and traffic moves without a human; how much data the async link loses (RPO)',
  built: true,
  params: [regionsParam, withDefault(appServersParam, 1), clientMixParam, dnsCacheParam, wanLatencyParam, modeParam],
  build: (o) => {
    const n = intOf(o, regionsParam);
    if (n > DEFAULT_REGIONS.length) {
      throw new BenchError('usage', `--regions ${n}: phase 7 knows ${DEFAULT_REGIONS.length} regions (${DEFAULT_REGIONS.join(', ')})`, `a region more needs its WAN latencies and does not fit 2 cores: use --regions ${DEFAULT_REGIONS.length}`);
    }
    const regions = DEFAULT_REGIONS.slice(0, n);
    return checkHostCount(phase7Topology({ regions, appServers: intOf(o, appServersParam), table: wanTable(textOf(o, wanLatencyParam), regions), mode: choiceOf(o, modeParam), users: o.users }));
  },
});

/** Sum of the phase's CPU quotas with these options (docs/PHASE-7.md prints the table). Pure. */
export const phase7Cpus = (t: Pick<Topology, 'hosts'>) => Math.round(t.hosts.reduce((a, h) => a + h.size.cpus, 0) * 100) / 100;

/**
 * The load's client regions for a plan of this phase (one per data center, `--client-mix`,
 * `--dns-cache`) and its API target through the geo name; null for a plan without the geo DNS
 * (every other phase). Pure.
 */
export function phaseClients(plan: Pick<DeployPlan, 'slot' | 'services' | 'topology'>, options: Readonly<Record<string, unknown>>): { api: string; regions: ClientRegion[] } | null {
  if (!plan.services.some((s) => s.name === GEO_DNS && s.kind === 'pdns')) return null;
  const regions = dataCenters(plan.topology);
  // the balancers and their client listeners share one port, each on its own address: the DNS
  // answers the address only
  const port = plan.services.find((s) => s.name === regionFront(regions[0]!).lb)!.address.port;
  return planClients(plan, { service: GEO_DNS, fqdn: GEO_FQDN, port }, regions, options as Record<string, string>);
}
