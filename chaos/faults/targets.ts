// Target resolution: an edge, a service, a host, or two host groups, checked against the plan.
// Every refusal is a BenchError('usage') that lists what would have been valid.
import { BenchError } from '../../harness/errors.ts';
import { CONTROL_HOST, type DeployPlan, type PlannedEdge, type PlannedHost, type PlannedService } from '../../harness/topology/plan.ts';

const list = (names: readonly string[], max = 24) =>
  names.length === 0 ? '(none)' : names.length <= max ? names.join(', ') : `${names.slice(0, max).join(', ')}, … (${names.length} in all)`;

/** The services of the system under test (the harness's own instruments are not targets). */
export function targetServices(plan: DeployPlan): PlannedService[] {
  const own = new Set(plan.topology.services.map((s) => s.name));
  return plan.services.filter((s) => own.has(s.name));
}

/** The hosts of the system under test (not the control host). */
export function targetHosts(plan: DeployPlan): PlannedHost[] {
  return plan.hosts.filter((h) => h.name !== CONTROL_HOST);
}

/** Edges that run through a Toxiproxy proxy, the only ones a network fault can act on. */
export function proxiedEdges(plan: DeployPlan): PlannedEdge[] {
  return plan.edges.filter((e) => e.proxied);
}

function globToRegExp(pattern: string): RegExp {
  const escaped = pattern.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*');
  return new RegExp(`^${escaped}$`);
}

/**
 * The proxied edges named by `target`: an exact edge name ("app->pg-primary") or a pattern with
 * `*` ("app-*->pg-primary", "*->redis-cache"). Throws when the run has no proxies or nothing matches.
 */
export function resolveEdges(plan: DeployPlan, fault: string, target: string | undefined): PlannedEdge[] {
  const edges = proxiedEdges(plan);
  const phase = plan.topology.phase;
  if (!plan.toxiproxy || edges.length === 0) {
    throw new BenchError(
      'usage',
      `fault ${fault} acts on a network edge, and phase ${phase} has no proxied edge${plan.toxiproxy ? '' : ' (this run has no Toxiproxy)'}`,
      plan.toxiproxy ? 'use a process fault (kill, hang, stop, host-down) or a phase with several tiers' : 'run with Toxiproxy (the default; see `bench doctor`)',
    );
  }
  const valid = `valid edges in phase ${phase}: ${list(edges.map((e) => e.name))}`;
  if (!target) throw new BenchError('usage', `fault ${fault} needs an edge: ${fault}:<edge>`, valid);
  const re = globToRegExp(target);
  const hit = edges.filter((e) => re.test(e.name));
  if (hit.length === 0) {
    const unproxied = plan.edges.find((e) => re.test(e.name));
    throw new BenchError(
      'usage',
      unproxied ? `edge ${unproxied.name} is not proxied (the harness's instruments keep a direct line)` : `no edge ${target} in phase ${phase}`,
      valid,
    );
  }
  return hit;
}

/** The service named by `target` (a service of the system under test). */
export function resolveService(plan: DeployPlan, fault: string, target: string | undefined): PlannedService {
  const services = targetServices(plan);
  const valid = `valid services in phase ${plan.topology.phase}: ${list(services.map((s) => s.name))}`;
  if (!target) throw new BenchError('usage', `fault ${fault} needs a service: ${fault}:<service>`, valid);
  const s = services.find((x) => x.name === target);
  if (!s) {
    const infra = plan.services.some((x) => x.name === target);
    throw new BenchError('usage', infra ? `${target} is one of the harness's instruments, not a target` : `no service ${target} in phase ${plan.topology.phase}`, valid);
  }
  return s;
}

/** The host named by `target` (not the control host). */
export function resolveHost(plan: DeployPlan, fault: string, target: string | undefined): PlannedHost {
  const hosts = targetHosts(plan);
  const valid = `valid hosts in phase ${plan.topology.phase}: ${list(hosts.map((h) => h.name))}`;
  if (!target) throw new BenchError('usage', `fault ${fault} needs a host: ${fault}:<host>`, valid);
  const h = hosts.find((x) => x.name === target);
  if (!h) throw new BenchError('usage', `no host ${target} in phase ${plan.topology.phase}`, valid);
  return h;
}

/** The services of the system under test that run on a host. */
export function servicesOnHost(plan: DeployPlan, host: string): PlannedService[] {
  return targetServices(plan).filter((s) => s.host === host);
}

/** The proxied edges that start or end on one of `hosts`. */
export function edgesTouching(plan: DeployPlan, hosts: ReadonlySet<string>): PlannedEdge[] {
  const hostOf = new Map(plan.services.map((s) => [s.name, s.host]));
  return proxiedEdges(plan).filter((e) => hosts.has(hostOf.get(e.from)!) || hosts.has(hostOf.get(e.to)!));
}

export interface Cut {
  sides: [string[], string[]];
  /** the proxied edges with one end on each side */
  edges: PlannedEdge[];
}

/**
 * A partition target: two host groups, "a+b|c+d" (hosts joined by +, sides split by |). A region
 * name stands for all its hosts. The sides must be disjoint and some proxied edge must cross.
 */
export function resolveCut(plan: DeployPlan, fault: string, target: string | undefined): Cut {
  const hosts = targetHosts(plan);
  const regions = [...new Set(hosts.map((h) => h.region))];
  const valid = `hosts in phase ${plan.topology.phase}: ${list(hosts.map((h) => h.name))}${regions.length > 1 ? `; regions: ${regions.join(', ')}` : ''}`;
  const form = `${fault}:<host>+<host>|<host>+<host>`;
  if (!target) throw new BenchError('usage', `fault ${fault} needs two host groups: ${form}`, valid);
  const parts = target.split('|');
  if (parts.length !== 2) throw new BenchError('usage', `partition ${target} must have exactly two sides split by |: ${form}`, valid);
  const sides = parts.map((p) => {
    const names = p.split('+').map((x) => x.trim()).filter(Boolean);
    if (names.length === 0) throw new BenchError('usage', `partition ${target} has an empty side`, valid);
    const out: string[] = [];
    for (const n of names) {
      if (hosts.some((h) => h.name === n)) out.push(n);
      else if (regions.includes(n)) out.push(...hosts.filter((h) => h.region === n).map((h) => h.name));
      else throw new BenchError('usage', `no host or region ${n} in phase ${plan.topology.phase}`, valid);
    }
    return [...new Set(out)];
  }) as [string[], string[]];
  const overlap = sides[0].filter((h) => sides[1].includes(h));
  if (overlap.length > 0) throw new BenchError('usage', `partition ${target}: ${overlap.join(', ')} on both sides`, 'put each host on one side only');
  const hostOf = new Map(plan.services.map((s) => [s.name, s.host]));
  const a = new Set(sides[0]);
  const b = new Set(sides[1]);
  const edges = proxiedEdges(plan).filter((e) => {
    const f = hostOf.get(e.from)!;
    const t = hostOf.get(e.to)!;
    return (a.has(f) && b.has(t)) || (b.has(f) && a.has(t));
  });
  if (edges.length === 0) {
    throw new BenchError('usage', `partition ${target} cuts no proxied edge: the two sides never talk`, valid);
  }
  return { sides, edges };
}
