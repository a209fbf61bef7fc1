// etcd 3.4 (Debian's etcd-server): one member per region, the store Patroni keeps its leader key
// in. Bound to its host's loopback address only (client and peer listeners), run as the `etcd`
// system user, data in the service directory. Members are started one after another by the
// runtime, so a member is "ready" when its client port listens: a lone member of a three-member
// cluster has no leader (no quorum) until the second one joins, and waiting for /health there
// would wait forever. Patroni, which depends on every member, waits for the leader instead.
import { join } from 'node:path';
import { z } from 'zod';
import { waitFor } from '../../harness/runtime/wait.ts';
import type { DeployPlan, Endpoint, PlannedService } from '../../harness/topology/plan.ts';
import type { ComponentKind } from './types.ts';

/** What a phase declares for one etcd member: every member of the cluster by service name, this
 *  one included, in a stable order. */
const etcdConfig = z.object({ kind: z.literal('etcd'), etcd: z.object({ members: z.array(z.string()).min(1) }).strict() }).strict();
declare module '../../harness/topology/types.ts' {
  interface ServiceConfigs {
    etcd: Omit<z.infer<typeof etcdConfig>, 'kind'>;
  }
}
export type EtcdConfig = z.infer<typeof etcdConfig>['etcd'];

/** Peer (raft) traffic listens beside the client port, on the same host address. */
export const ETCD_PEER_PORT_OFFSET = 1;

export const etcdPeerUrl = (s: PlannedService) => `http://${s.address.host}:${s.address.port + ETCD_PEER_PORT_OFFSET}`;
export const etcdClientUrl = (s: PlannedService) => `http://${s.address.host}:${s.address.port}`;

function etcdConfigOf(service: PlannedService): EtcdConfig {
  if (service.config.kind !== 'etcd') throw new Error(`${service.name} is not an etcd service`);
  return service.config.etcd;
}

/** The command line of one member. Pure. */
export function etcdArgs(p: Pick<DeployPlan, 'runId' | 'services'>, service: PlannedService, dataDir: string): string[] {
  const { members } = etcdConfigOf(service);
  const byName = new Map(p.services.map((s) => [s.name, s]));
  const cluster = members.map((m) => {
    const s = byName.get(m);
    if (!s) throw new Error(`etcd member ${m} of ${service.name} is not a service of the plan`);
    return `${m}=${etcdPeerUrl(s)}`;
  });
  return [
    '--name', service.name,
    '--data-dir', dataDir,
    '--listen-client-urls', etcdClientUrl(service),
    '--advertise-client-urls', etcdClientUrl(service),
    '--listen-peer-urls', etcdPeerUrl(service),
    '--initial-advertise-peer-urls', etcdPeerUrl(service),
    '--initial-cluster', cluster.join(','),
    '--initial-cluster-state', 'new',
    // a run's members never join another run's cluster on a reused address
    '--initial-cluster-token', `bench-${p.runId}`,
    '--logger', 'zap',
    '--log-outputs', 'stderr',
  ];
}

export const etcdRecipe: ComponentKind = {
  kind: 'etcd',
  config: etcdConfig,
  ports: { main: 2379, side: { peer: 2379 + ETCD_PEER_PORT_OFFSET } },
  tier: 'data',
  requires: [{ binary: 'etcd', debianPackage: 'etcd-server', doctor: { name: 'etcd', neededFor: "Patroni's leader key (phase 7)", versionArgs: ['--version'] } }],
  launch(ctx) {
    return { command: ctx.bin('etcd'), args: etcdArgs(ctx.plan, ctx.service, join(ctx.dir, 'data')), cwd: ctx.dir, user: 'etcd' };
  },
  async ready(ctx) {
    await waitFor.port(ctx.service.address, { timeoutMs: 20_000, signal: ctx.signal });
  },
};

/**
 * Resolves once one of `hosts` (the addresses a Patroni member is given) answers GET /version with
 * a decided cluster version. A cluster that has just elected its first leader answers
 * `"etcdcluster":"not_decided"` for a moment, and Patroni 3.0 (use_proxies: it asks only those
 * hosts) then exits at start with `invalid literal for int() ... 'not_decided'`.
 */
export async function waitForEtcdClusterVersion(hosts: readonly Endpoint[], opts: { timeoutMs?: number; signal?: AbortSignal } = {}): Promise<void> {
  await waitFor.until(`a decided etcd cluster version at ${hosts.map((h) => `${h.host}:${h.port}`).join(', ')}`, async (left) => {
    for (const h of hosts) {
      try {
        const res = await fetch(`http://${h.host}:${h.port}/version`, { signal: AbortSignal.timeout(Math.max(100, Math.min(left, 1_000))) });
        const v = ((await res.json()) as { etcdcluster?: string }).etcdcluster ?? '';
        if (/^\d+\.\d+/.test(v)) return true;
      } catch {
        // that member is not up yet, or the path to it is cut: ask the next
      }
    }
    return undefined;
  }, { timeoutMs: opts.timeoutMs ?? 30_000, signal: opts.signal });
}

/** Resolves once the cluster behind `member` has a leader and answers (GET /health). */
export async function waitForEtcdQuorum(member: PlannedService, opts: { timeoutMs?: number; signal?: AbortSignal } = {}): Promise<void> {
  await waitFor.http(`${etcdClientUrl(member)}/health`, { body: /"health":"true"/, timeoutMs: opts.timeoutMs ?? 30_000, signal: opts.signal });
}
