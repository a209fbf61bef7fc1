// The harness's failover of a database primary: once the primary is seen dead, promote one of
// its replicas and repoint every proxied edge that led to the old primary (the apps' write path,
// the other replicas' replication) at the new one. Repointing is a change of the Toxiproxy
// proxy's upstream: the clients keep their address, their open connections are closed, and their
// next connection reaches the new primary. It works the same on every runtime.
//
// It has the Fault shape so it sits on a drill's timeline and gets a window in the report, but it
// is an action, not a fault: revert does nothing (a promotion is not undone; the old primary stays
// down until the deployment is torn down).
import pg from 'pg';
import { BenchError } from '../../harness/errors.ts';
import { parseLsn } from '../../harness/run/settle.ts';
import { pgConnection } from '../../targets/app/store/postgres.ts';
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

/** How far a replica has received its primary's WAL (pg_last_wal_receive_lsn), or null when it cannot say. */
export type ReceivedLsn = (name: string) => Promise<bigint | null>;

export interface FailoverOptions {
  shard: ShardSpec;
  /** the replica to promote; default the most advanced one (see mostAdvanced) */
  replica?: string;
  /** default: asks each replica directly (not through its Toxiproxy edge, which a drill may hold) */
  receivedLsn?: ReceivedLsn;
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

/**
 * The replica that received the most of the dead primary's WAL (ties: the first listed; one that
 * cannot answer is never chosen over one that can). Under synchronous replication it holds every
 * acknowledged commit (one replica flushed each before the client heard back), so promoting it
 * loses none; promoting another could lose what only it had. Under async it loses the least.
 */
export async function mostAdvanced(replicas: readonly string[], received: ReceivedLsn): Promise<{ name: string; lsns: Record<string, string | null> }> {
  const lsns: Record<string, string | null> = {};
  let best: { name: string; lsn: bigint | null } | null = null;
  for (const name of replicas) {
    const lsn = await received(name).catch(() => null);
    lsns[name] = lsn === null ? null : lsnText(lsn);
    if (best === null || (lsn !== null && (best.lsn === null || lsn > best.lsn))) best = { name, lsn };
  }
  return { name: best!.name, lsns };
}

const lsnText = (lsn: bigint) => `${(lsn >> 32n).toString(16).toUpperCase()}/${(lsn & 0xffffffffn).toString(16).toUpperCase()}`;

/** pg_last_wal_receive_lsn() of a plan's replica, asked at its own address as the bench role. */
export function receivedLsnOf(plan: DeployPlan): ReceivedLsn {
  return async (name) => {
    const svc = plan.services.find((s) => s.name === name);
    if (!svc) return null;
    const c = new pg.Client({ ...pgConnection(svc.address), connectionTimeoutMillis: 2_000, query_timeout: 2_000 } as pg.ClientConfig);
    c.on('error', () => {});
    await c.connect();
    try {
      const lsn = (await c.query('SELECT pg_last_wal_receive_lsn()::text AS lsn')).rows[0]?.lsn;
      return lsn === null || lsn === undefined ? null : parseLsn(String(lsn));
    } finally {
      await c.end().catch(() => {});
    }
  };
}

/** The failover action of `shard`: validated against the plan now, run when applied. */
export function failoverAction(plan: DeployPlan, o: FailoverOptions): Fault {
  const { shard, state } = o;
  const fixed = o.replica;
  if (shard.replicas.length === 0 || (fixed !== undefined && !shard.replicas.includes(fixed))) {
    throw new BenchError('usage', `shard ${shard.name} has no replica${fixed ? ` ${fixed}` : ''} to promote`, `replicas of ${shard.name}: ${shard.replicas.join(', ') || '(none): run with --replicas 1 or more'}`);
  }
  const promote = o.promote ?? defaultPromote;
  const received = o.receivedLsn ?? receivedLsnOf(plan);
  const which = fixed ?? (shard.replicas.length === 1 ? shard.replicas[0]! : 'the most advanced replica');
  return {
    name: 'failover',
    target: `${shard.primary}->${fixed ?? (shard.replicas.length === 1 ? shard.replicas[0]! : shard.replicas.join('|'))}`,
    describe: () => `failover of shard ${shard.name}: promote ${which}, repoint the edges to ${shard.primary}`,
    async apply(ctx: FaultContext) {
      if (!ctx.toxiproxy) throw new BenchError('usage', 'a failover repoints Toxiproxy edges and this run has none', 'run with Toxiproxy (the default)');
      const t0 = performance.now();
      const old = ctx.deployment.services.get(shard.primary);
      if (old && !(await waitDown(old, 10_000))) {
        throw new Error(`${shard.primary} still runs 10 s after the failure: no failover (it would split the brain)`);
      }
      await new Promise((r) => setTimeout(r, o.detectMs));
      // chosen once the primary is dead: nothing more can reach any replica
      let replica = fixed ?? shard.replicas[0]!;
      if (fixed === undefined && shard.replicas.length > 1) {
        const chosen = await mostAdvanced(shard.replicas, received);
        replica = chosen.name;
        state.figures.replicaLsns = Object.entries(chosen.lsns).map(([n, l]) => `${n} ${l ?? '?'}`).join(', ');
        ctx.progress(`failover: received WAL ${state.figures.replicaLsns}: promoting the most advanced, ${replica}`);
      }
      const to = plan.services.find((s) => s.name === replica)!;
      const upstream = `${to.address.host}:${to.address.port}`;
      const edges = proxiedEdges(plan).filter((e) => e.to === shard.primary && e.from !== replica);
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
