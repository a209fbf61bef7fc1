// The two views of one deploy plan under Docker. The native plan gives every service a loopback
// address of this machine; in Docker a service lives in a container on the run's bridge network,
// so the same plan is seen two ways:
//
//   network view  what the services see of each other inside the network: a service is reached at
//                 `<alias>:<its plan port>` (the alias is its name), a proxied edge at
//                 `toxiproxy:<the edge's proxy port>`. Configs (haproxy.cfg, the app's config,
//                 prometheus.yml, Toxiproxy's proxies) are rendered from this view.
//   host view     what the harness sees from this machine: every service at 127.0.0.1:<the host
//                 port published for its plan port>, Toxiproxy's API and Prometheus the same way.
//                 The Deployment's `plan` is this view, so the load, the seed, the drills and the
//                 reports work unchanged.
//
// Edges keep the network view in both: they describe links between containers, which the harness
// never dials. The load engine's metrics endpoint is the bridge's gateway address in both views:
// the only address of this machine a container can reach (Prometheus scrapes it from inside).
// Pure.
import { BenchError } from '../../errors.ts';
import { sidePortsOf, type DeployPlan, type Endpoint, type PlannedEdge, type PlannedService } from '../../topology/plan.ts';
import { networkAlias } from './labels.ts';

/** Where the harness reaches published ports: loopback only. */
export const PUBLISH_IP = '127.0.0.1';

/** Host ports published per service: container port -> host port. */
export type PublishedPorts = ReadonlyMap<string, ReadonlyMap<number, number>>;

/** The ports a service listens on inside its container: its plan port, then side ports. */
export function containerPorts(s: Pick<PlannedService, 'kind' | 'address'>): number[] {
  // the kind's side ports (HAProxy's stats) are published beside its main one
  return [s.address.port, ...Object.values(sidePortsOf(s.kind))];
}

const only = (p: DeployPlan, kind: PlannedService['kind']) => p.services.find((s) => s.kind === kind);

/** The network view of a plan (see the file comment). `gateway` is the run network's gateway IP. */
export function networkPlan(plan: DeployPlan, opts: { gateway: string }): DeployPlan {
  const inside = new Map<string, Endpoint>(plan.services.map((s) => [s.name, { host: networkAlias(s.name), port: s.address.port }]));
  const proxy = only(plan, 'toxiproxy');
  if (plan.edges.some((e) => e.proxied) && !proxy) {
    throw new BenchError('internal', `plan ${plan.runId} proxies edges but has no toxiproxy service`);
  }
  const edges: PlannedEdge[] = plan.edges.map((e) => {
    const upstream = inside.get(e.to)!;
    const listen = e.proxied ? { host: networkAlias(proxy!.name), port: e.listen.port } : upstream;
    return { ...e, listen, upstream };
  });
  const prometheus = only(plan, 'prometheus');
  return {
    ...plan,
    services: plan.services.map((s) => ({ ...s, address: inside.get(s.name)! })),
    edges,
    toxiproxy: plan.toxiproxy && proxy ? { api: inside.get(proxy.name)! } : null,
    prometheus: plan.prometheus && prometheus ? { address: inside.get(prometheus.name)! } : null,
    engineMetrics: { host: opts.gateway, port: plan.engineMetrics.port },
  };
}

/** The host port published for a service's container port; throws when it was not published. */
export function publishedPort(published: PublishedPorts, service: string, containerPort: number): number {
  const port = published.get(service)?.get(containerPort);
  if (port === undefined) throw new BenchError('internal', `no host port published for ${service}:${containerPort}`);
  return port;
}

/** The host view of a plan (see the file comment). */
export function hostPlan(plan: DeployPlan, published: PublishedPorts, opts: { gateway: string }): DeployPlan {
  const net = networkPlan(plan, opts);
  const outside = new Map<string, Endpoint>(
    plan.services.map((s) => [s.name, { host: PUBLISH_IP, port: publishedPort(published, s.name, s.address.port) }]),
  );
  const prometheus = only(plan, 'prometheus');
  const proxy = only(plan, 'toxiproxy');
  return {
    ...net,
    services: plan.services.map((s) => ({ ...s, address: outside.get(s.name)! })),
    toxiproxy: net.toxiproxy && proxy ? { api: outside.get(proxy.name)! } : null,
    prometheus: net.prometheus && prometheus ? { address: outside.get(prometheus.name)! } : null,
  };
}
