// The harness's failover of a database primary: once the primary is seen dead, promote one of
// its replicas and repoint every proxied edge that led to the old primary (the apps' write path,
// the other replicas' replication) at the new one. Repointing is a change of the Toxiproxy
// proxy's upstream: the clients keep their address, their open connections are closed, and their
// next connection reaches the new primary. It works the same on every runtime.
//
// It has the Fault shape so it sits on a drill's timeline and gets a window in the report, but it
// is an action, not a fault: revert does nothing (a promotion is not undone; the old primary stays
// down until the deployment is torn down).
import { BenchError } from '../../harness/errors.ts';
import type { StartedService } from '../../harness/runtime/types.ts';
import type { DeployPlan } from '../../harness/topology/plan.ts';
import type { ShardSpec } from '../../harness/topology/types.ts';
import { promote as promotePostgres } from '../../targets/services/postgres.ts';
import type { DrillState } from '../drills/types.ts';
import { proxiedEdges } from '../faults/targets.ts';
import type { Fault, FaultContext } from '../faults/types.ts';

/** How a replica becomes a primary; the default runs `pg_ctl promote` in its data directory. */
export type Promote = (svc: StartedService, signal?: AbortSignal) => Promise<void>;

export const defaultPromote: Promote = async (svc, signal) => {
  const dir = (svc as StartedService & { dir?: string }).dir;
  if (!dir) throw new BenchError('internal', `cannot promote ${svc.name}: the runtime gives no data directory for it`);
  await promotePostgres({ dir }, { timeoutMs: 30_000, signal });
};

export interface FailoverOptions {
  shard: ShardSpec;
  /** the replica to promote; default the shard's first */
  replica?: string;
  /** how long the failure detector takes to declare the primary dead (health check fall time) */
  detectMs: number;
  state: DrillState;
  promote?: Promote;
}

/** Waits (bounded) until the service no longer runs. */
async function waitDown(svc: StartedService, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (svc.isRunning()) {
    if (Date.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, 20));
  }
  return true;
}

/** The failover action of `shard`: validated against the plan now, run when applied. */
export function failoverAction(plan: DeployPlan, o: FailoverOptions): Fault {
  const { shard, state } = o;
  const replica = o.replica ?? shard.replicas[0];
  if (!replica || !shard.replicas.includes(replica)) {
    throw new BenchError('usage', `shard ${shard.name} has no replica${o.replica ? ` ${o.replica}` : ''} to promote`, `replicas of ${shard.name}: ${shard.replicas.join(', ') || '(none): run with --replicas 1 or more'}`);
  }
  const to = plan.services.find((s) => s.name === replica)!;
  const upstream = `${to.address.host}:${to.address.port}`;
  const edges = proxiedEdges(plan).filter((e) => e.to === shard.primary && e.from !== replica);
  const promote = o.promote ?? defaultPromote;
  return {
    name: 'failover',
    target: `${shard.primary}->${replica}`,
    describe: () => `failover of shard ${shard.name}: promote ${replica}, repoint ${edges.length} edges`,
    async apply(ctx: FaultContext) {
      if (!ctx.toxiproxy) throw new BenchError('usage', 'a failover repoints Toxiproxy edges and this run has none', 'run with Toxiproxy (the default)');
      const t0 = performance.now();
      const old = ctx.deployment.services.get(shard.primary);
      if (old && !(await waitDown(old, 10_000))) {
        throw new Error(`${shard.primary} still runs 10 s after the failure: no failover (it would split the brain)`);
      }
      await new Promise((r) => setTimeout(r, o.detectMs));
      const tPromote = performance.now();
      ctx.progress(`failover: promoting ${replica}`);
      await promote(ctx.deployment.service(replica));
      const promotedMs = performance.now() - tPromote;
      for (const e of edges) await ctx.toxiproxy.setUpstream(e.name, upstream);
      const totalMs = performance.now() - t0;
      state.primaries.set(shard.name, replica);
      state.figures.promotionS = Math.round(promotedMs) / 1000;
      state.figures.failoverS = Math.round(totalMs) / 1000;
      state.figures.newPrimary = replica;
      ctx.progress(`failover: ${replica} is the primary of shard ${shard.name} (${(totalMs / 1000).toFixed(2)} s after the kill)`);
      return {
        detail: `promoted ${replica} in ${(promotedMs / 1000).toFixed(2)} s; repointed ${edges.map((e) => e.name).join(', ')} to ${upstream}`,
        revert: async () => {},
      };
    },
  };
}
