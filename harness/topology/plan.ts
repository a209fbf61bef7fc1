// Turns a Topology into a deploy plan: a loopback address per host, a port per service, and a
// Toxiproxy proxy per edge. Pure: no I/O, so it is checked completely before anything starts.
import { BenchError } from '../errors.ts';
import type { Host, Service, ServiceKind, Topology, TopologyListener } from './types.ts';
import { kinds as registeredKinds, type KindRegistry } from '../../targets/services/index.ts';

export interface Endpoint {
  host: string;
  port: number;
}

export const endpointUrl = (e: Endpoint, scheme = 'http') => `${scheme}://${e.host}:${e.port}`;

/** The port a kind listens on, from its module. Every host has its own address, so kinds can share ports. */
export function defaultPort(kind: string, kinds: KindRegistry = registeredKinds): number {
  const k = kinds.get(kind as ServiceKind);
  if (!k) throw new BenchError('internal', `no component kind ${kind}`, 'add targets/services/<kind>.ts and list it in targets/services/index.ts');
  return k.ports.main;
}

/** The side ports (admin, metrics) a kind exposes next to its main one, by name, from its module. */
export function sidePortsOf(kind: string, kinds: KindRegistry = registeredKinds): Readonly<Record<string, number>> {
  return kinds.get(kind as ServiceKind)?.ports.side ?? {};
}

/** The host the plan adds for the harness's own instruments (Toxiproxy, Prometheus). */
export const CONTROL_HOST = 'control';

export interface PlannedHost extends Host {
  /** the loopback address every service of this host binds */
  ip: string;
}

export interface PlannedService extends Service {
  address: Endpoint;
}

/** A network edge between two services; `listen` is where the client connects. */
export interface PlannedEdge {
  /** `${from}->${to}`, the name of its Toxiproxy proxy */
  name: string;
  from: string;
  to: string;
  /** where the client connects: the proxy's listen address, or the upstream when not proxied */
  listen: Endpoint;
  upstream: Endpoint;
  proxied: boolean;
}

/** A client-side listener (Topology.listeners) with its address: a proxy on an address of its
 *  own on the control host's /24, or, without proxies, the service itself. */
export interface PlannedListener extends TopologyListener {
  listen: Endpoint;
  upstream: Endpoint;
  proxied: boolean;
}

/** The last octet of the first client listener's address, 127.<slot>.0.<n>: clear of the control
 *  host (.1) and of the client regions' sources (.100-.199, targets/regions/geo.ts). */
export const FIRST_LISTENER_OCTET = 200;
const MAX_LISTENERS = 255 - FIRST_LISTENER_OCTET;

export interface DeployPlan {
  runId: string;
  /** the second octet of every address of this run: 127.<slot>.x.y */
  slot: number;
  topology: Topology;
  hosts: PlannedHost[];
  services: PlannedService[];
  edges: PlannedEdge[];
  /** the control host's address: Toxiproxy, Prometheus and the load engine's metrics live here */
  controlIp: string;
  /** every service (topology and infra) in the order to start it; stop in reverse */
  order: string[];
  toxiproxy: { api: Endpoint } | null;
  /** the run's Prometheus; null when the user points at their own (--prometheus-url) */
  prometheus: { address: Endpoint } | null;
  /** the run's Prometheus accepts remote write (only when the k6 driver may push to it) */
  prometheusRemoteWrite?: boolean;
  /** where the load engine serves its own /metrics for Prometheus to scrape */
  engineMetrics: Endpoint;
  /** the topology's client-side listeners; absent or empty: clients reach services directly */
  listeners?: PlannedListener[];
}

export interface PlanOptions {
  runId: string;
  slot: number;
  /** route every edge through Toxiproxy (needs toxiproxy-server) */
  proxies: boolean;
  /** start a Prometheus for the run */
  prometheus: boolean;
  /** its remote-write receiver on (the k6 driver pushes its metrics); default off */
  remoteWrite?: boolean;
  /** the component kinds; default targets/services/index.ts */
  kinds?: KindRegistry;
}

/** where the load engine serves its metrics on the control host */
export const ENGINE_METRICS_PORT = 9464;
const FIRST_PROXY_PORT = 20000;

/** Checks a topology and assigns addresses. Every problem is reported at once. */
export function plan(topology: Topology, options: PlanOptions): DeployPlan {
  const kinds = options.kinds ?? registeredKinds;
  const problems = validateTopology(topology, kinds);
  if (!Number.isInteger(options.slot) || options.slot < 1 || options.slot > 254) {
    problems.push(`slot ${options.slot} is outside 1..254`);
  }
  if (problems.length > 0) {
    throw new BenchError('internal', `invalid topology for phase ${topology.phase}: ${problems.join('; ')}`);
  }
  const prefix = `127.${options.slot}`;
  const controlIp = `${prefix}.0.1`;
  const hosts: PlannedHost[] = [
    { name: CONTROL_HOST, size: { cpus: 0.5, memoryMb: 1024 }, region: topology.regions[0]!.name, ip: controlIp },
    ...topology.hosts.map((h, i) => ({ ...h, ip: `${prefix}.${i + 1}.1` })),
  ];
  const ipOf = new Map(hosts.map((h) => [h.name, h.ip]));
  const infra = infraServices(topology, options, kinds);
  const all = [...infra.first, ...startOrder(topology.services), ...infra.last];
  const used = new Set<string>([`${controlIp}:${ENGINE_METRICS_PORT}`]);
  const services: PlannedService[] = all.map((s) => {
    const ip = ipOf.get(s.host)!;
    let port = defaultPort(s.kind, kinds);
    while (used.has(`${ip}:${port}`)) port += 1;
    used.add(`${ip}:${port}`);
    return { ...s, address: { host: ip, port } };
  });
  const byName = new Map(services.map((s) => [s.name, s]));
  const infraNames = new Set([...infra.first, ...infra.last].map((s) => s.name));
  let nextProxyPort = FIRST_PROXY_PORT;
  const edges: PlannedEdge[] = [];
  for (const s of services) {
    for (const dep of s.dependsOn) {
      const upstream = byName.get(dep)!.address;
      // The harness's instruments must keep seeing a target that a drill cuts off.
      const proxied = options.proxies && !infraNames.has(s.name);
      const listen = proxied ? { host: controlIp, port: nextProxyPort++ } : upstream;
      edges.push({ name: edgeName(s.name, dep), from: s.name, to: dep, listen, upstream, proxied });
    }
  }
  const listeners: PlannedListener[] = (topology.listeners ?? []).map((l, i) => {
    const upstream = byName.get(l.to)!.address;
    const listen = options.proxies ? { host: `${prefix}.0.${FIRST_LISTENER_OCTET + i}`, port: upstream.port } : upstream;
    return { ...l, listen, upstream, proxied: options.proxies };
  });
  return {
    listeners,
    runId: options.runId,
    slot: options.slot,
    topology,
    hosts,
    services,
    edges,
    controlIp,
    order: services.map((s) => s.name),
    toxiproxy: byName.has('toxiproxy') ? { api: byName.get('toxiproxy')!.address } : null,
    prometheus: byName.has('prometheus') ? { address: byName.get('prometheus')!.address } : null,
    prometheusRemoteWrite: byName.has('prometheus') && options.remoteWrite === true,
    engineMetrics: { host: controlIp, port: ENGINE_METRICS_PORT },
  };
}

/** The instruments every run gets: Toxiproxy first (edges must exist before clients connect),
 *  Prometheus next, exporters beside each database and cache last (they need their target). */
function infraServices(t: Topology, o: PlanOptions, kinds: KindRegistry): { first: Service[]; last: Service[] } {
  const first: Service[] = [];
  const last: Service[] = [];
  if (o.proxies) {
    first.push({ name: 'toxiproxy', kind: 'toxiproxy', host: CONTROL_HOST, role: 'proxy', dependsOn: [], config: { kind: 'toxiproxy' } });
  }
  if (o.prometheus) {
    // Prometheus 2.42 scrapes a new config only on its next 5 s reload tick: start it early so
    // that tick passes while the rest deploys.
    first.push({ name: 'prometheus', kind: 'prometheus', host: CONTROL_HOST, role: 'metrics', dependsOn: [], config: { kind: 'prometheus' } });
    // each kind declares its exporter sidecar (PostgreSQL: postgres-exporter, Redis: redis-exporter)
    for (const s of t.services) {
      const exporter = kinds.get(s.kind)?.exporter;
      if (exporter) last.push(exporterFor(s, exporter));
    }
  }
  return { first, last };
}

/** The exporter beside a watched service: on its host, named after it, reaching it directly. Pure. */
export function exporterFor(watched: Service, kind: ServiceKind): Service {
  // every exporter kind's config is its target (targets/services/*-exporter.ts)
  const config = { kind, target: watched.name } as Service['config'];
  return { name: `${watched.name}-exporter`, kind, host: watched.host, role: 'exporter', dependsOn: [watched.name], config };
}

export const edgeName = (from: string, to: string) => `${from}->${to}`;

/** How service `from` reaches `to`: through the edge's proxy when proxies are on. */
export function reach(p: DeployPlan, from: string, to: string): Endpoint {
  const edge = p.edges.find((e) => e.from === from && e.to === to);
  if (!edge) throw new Error(`no edge ${edgeName(from, to)} in phase ${p.topology.phase}: add it to dependsOn`);
  return edge.listen;
}

export function serviceOf(p: DeployPlan, name: string): PlannedService {
  const s = p.services.find((x) => x.name === name);
  if (!s) throw new Error(`no service ${name} in phase ${p.topology.phase}`);
  return s;
}

export function hostOf(p: DeployPlan, service: string): PlannedHost {
  const s = serviceOf(p, service);
  return p.hosts.find((h) => h.name === s.host)!;
}

/** Services in an order where every service comes after what it depends on. */
export function startOrder(services: readonly Service[]): Service[] {
  const byName = new Map(services.map((s) => [s.name, s]));
  const done = new Set<string>();
  const out: Service[] = [];
  const visit = (s: Service, path: string[]) => {
    if (done.has(s.name)) return;
    if (path.includes(s.name)) throw new Error(`dependency cycle: ${[...path, s.name].join(' -> ')}`);
    for (const d of s.dependsOn) visit(byName.get(d)!, [...path, s.name]);
    done.add(s.name);
    out.push(s);
  };
  for (const s of services) visit(s, []);
  return out;
}

/** Every structural problem of a topology, as sentences. Empty when it is sound. */
export function validateTopology(t: Topology, kinds: KindRegistry = registeredKinds): string[] {
  const problems: string[] = [];
  const hostNames = new Set<string>();
  for (const h of t.hosts) {
    if (h.name === CONTROL_HOST) problems.push(`host name ${CONTROL_HOST} is reserved for the harness`);
    if (hostNames.has(h.name)) problems.push(`host ${h.name} declared twice`);
    hostNames.add(h.name);
    if (!(h.size.cpus > 0) || !(h.size.memoryMb > 0)) problems.push(`host ${h.name} has a non-positive size`);
    if (!t.regions.some((r) => r.name === h.region)) problems.push(`host ${h.name} is in unknown region ${h.region}`);
  }
  if (t.regions.length === 0) problems.push('no region declared');
  if (t.hosts.length > 250) problems.push(`too many hosts (${t.hosts.length}, at most 250)`);
  const names = new Set<string>();
  for (const s of t.services) {
    if (names.has(s.name)) problems.push(`service ${s.name} declared twice`);
    names.add(s.name);
    if (!hostNames.has(s.host)) problems.push(`service ${s.name} is on unknown host ${s.host}`);
    const kind = kinds.get(s.kind);
    if (!kind) problems.push(`service ${s.name} is of unknown kind ${s.kind}`);
    else if (s.config.kind !== s.kind) problems.push(`service ${s.name} is a ${s.kind} with ${s.config.kind} config`);
    else {
      // the kind's module checks the config it will read
      const parsed = kind.config.safeParse(s.config);
      if (!parsed.success) problems.push(`service ${s.name}: ${parsed.error.issues.map((i) => `${i.path.join('.') || 'config'} ${i.message}`).join(', ')}`);
    }
  }
  for (const s of t.services) {
    for (const d of s.dependsOn) if (!names.has(d)) problems.push(`service ${s.name} depends on unknown ${d}`);
  }
  const listenerNames = new Set<string>();
  for (const l of t.listeners ?? []) {
    if (!names.has(l.to)) problems.push(`listener ${l.name} forwards to unknown ${l.to}`);
    if (listenerNames.has(l.name)) problems.push(`listener ${l.name} declared twice`);
    listenerNames.add(l.name);
  }
  if (listenerNames.size > MAX_LISTENERS) problems.push(`too many listeners (${listenerNames.size}, at most ${MAX_LISTENERS})`);
  if (!names.has(t.entry)) problems.push(`entry ${t.entry} is not a service`);
  if (t.staticEntry && !names.has(t.staticEntry)) problems.push(`staticEntry ${t.staticEntry} is not a service`);
  if (problems.length === 0) {
    try {
      startOrder(t.services);
    } catch (e) {
      problems.push((e as Error).message);
    }
  }
  return problems;
}

/** PostgreSQL's own default, the floor of every instance's max_connections. */
export const PG_MIN_MAX_CONNECTIONS = 100;
/**
 * Connections a PostgreSQL needs besides the apps' pools: superuser_reserved_connections (3), the
 * exporter, the seed, the drills' probes and the write checker.
 */
export const PG_CONNECTION_HEADROOM = 20;

/**
 * The max_connections a PostgreSQL of the plan needs so that every app pool that may land on it
 * fits: each app using its shard opens `poolSize` connections per pool, and after a failover a
 * promoted replica holds the apps' write pool besides their read pool (two pools per app). Pure.
 */
export function pgMaxConnections(services: readonly Pick<Service, 'name' | 'config'>[], pgName: string, poolSize: number): number {
  let pools = 0;
  for (const s of services) {
    if (s.config.kind !== 'app' || s.config.app.store.kind !== 'postgres') continue;
    const shard = s.config.app.store.shards.find((sh) => sh.primary === pgName || sh.replicas.includes(pgName));
    if (shard) pools += 2;
  }
  return Math.max(PG_MIN_MAX_CONNECTIONS, pools * poolSize + PG_CONNECTION_HEADROOM);
}
