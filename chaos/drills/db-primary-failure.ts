// db-primary-failure: SIGKILL a shard's PostgreSQL primary. The harness plays the failure
// detector: once the primary is seen dead (and a detection delay has passed) it promotes a replica
// and repoints every edge that led to the old primary at the new one, through the Toxiproxy API
// (chaos/actions/failover.ts). Measures the write outage and checks no acknowledged write is lost.
import { BenchError } from '../../harness/errors.ts';
import { createShardRouter } from '../../targets/app/store/shard-router.ts';
import { failoverAction } from '../actions/failover.ts';
import { makeFault } from '../faults/index.ts';
import { parseDurationMs } from '../faults/params.ts';
import { healthProbe } from '../probe.ts';
import { userWrite } from '../../loadtests/catalogue.ts';
import { coldIdOf, resolveShard, shards, shardStrategy } from './lookup.ts';
import { APPLIES, doesNotApply, optionHint, noPostgresStore, type Drill, type DrillTiming } from './types.ts';
import type { DeployPlan } from '../../harness/topology/plan.ts';

const DEFAULT_DETECT_MS = 1000;

function detectMs(t: DrillTiming): number {
  const raw = t.params.find((p) => p.startsWith('detect='))?.slice('detect='.length) ?? t.params[0];
  if (raw === undefined) return DEFAULT_DETECT_MS;
  const ms = parseDurationMs(raw);
  if (ms === null) throw new BenchError('usage', `db-primary-failure: detect "${raw}" is not a duration`, 'write it like db-primary-failure:main:detect=2s@10s');
  return ms;
}

const shardOf = (plan: DeployPlan, t: DrillTiming) => resolveShard(plan, 'db-primary-failure', t.target, (s) => s.replicas.length > 0);

/** The longest stretch without an acknowledged write that ends after `afterS`, among ascending ack times. */
export function longestGap(times: readonly number[], afterS = -Infinity): { gapS: number; fromS: number; toS: number } | null {
  let best: { gapS: number; fromS: number; toS: number } | null = null;
  for (let i = 1; i < times.length; i++) {
    if (times[i]! <= afterS) continue;
    const gap = times[i]! - times[i - 1]!;
    if (!best || gap > best.gapS) best = { gapS: gap, fromS: times[i - 1]!, toS: times[i]! };
  }
  return best;
}

export const dbPrimaryFailure: Drill = {
  name: 'db-primary-failure',
  summary: 'SIGKILL a database primary; the harness promotes a replica and repoints writes',
  applies(plan) {
    if (shards(plan).some((s) => s.replicas.length > 0)) return APPLIES;
    if (shards(plan).length === 0) return doesNotApply(`it promotes a PostgreSQL replica, and ${noPostgresStore(plan)}`);
    return doesNotApply(`it promotes a replica of a sharded PostgreSQL store, and no shard of phase ${plan.topology.phase} has one (${optionHint(plan, 'replicas', '1 or more')})`);
  },
  defaults: { atS: 10, durationS: 0, tailS: 20 },
  workload: 'write-heavy',
  hypothesis(plan, t) {
    const shard = shardOf(plan, t);
    return {
      text: `the primary ${shard.primary} dies (SIGKILL); ${shard.replicas[0]} is promoted and writes repointed: service is back within 10 s, then fewer than 1% of requests fail with p99 under 1000 ms, and no acknowledged write is lost`,
      maxErrorRate: 0.01,
      maxP99Ms: 1000,
      // the recovery-time objective: the failover's outage is allowed, its length is the figure
      outageAllowedS: 10,
      maxLostWrites: 0,
    };
  },
  schedule(plan, t, state) {
    const shard = shardOf(plan, t);
    return [
      // the old primary stays down: brought back, it would be a second primary (split brain)
      { fault: makeFault('kill', shard.primary, { restart: false }, plan), startS: t.atS, durationS: null },
      { fault: failoverAction(plan, { shard, detectMs: detectMs(t), state }), startS: t.atS, durationS: 0 },
    ];
  },
  probes(plan, t) {
    const shard = shardOf(plan, t);
    const id = coldIdOf(plan, shard, t.users);
    return id === null ? [healthProbe] : [healthProbe, { name: `write shard ${shard.name}`, ...userWrite(id), write: { id, prefix: `probe-${shard.name}` } }];
  },
  async verify(ctx) {
    const shard = shardOf(ctx.plan, ctx.timing);
    const all = shards(ctx.plan);
    const index = all.findIndex((s) => s.name === shard.name);
    const router = createShardRouter(shardStrategy(ctx.plan), all);
    const kill = ctx.windows.find((w) => w.name === 'kill');
    const failover = ctx.windows.find((w) => w.name === 'failover');
    const problems: string[] = [];
    const figures: Record<string, number | string | null> = {};
    if (!kill) return { problems: ['the primary was never killed'] };
    if (!failover || failover.endS === null || ctx.state.primaries.get(shard.name) === undefined) problems.push('no replica was promoted');
    const times = [...ctx.writes, ...ctx.probeWrites]
      .filter((w) => router.indexFor(w.id) === index && w.atS >= kill.startS - 1)
      .map((w) => w.atS)
      .sort((a, b) => a - b);
    const after = times.filter((x) => x > kill.startS);
    if (after.length === 0) {
      problems.push(`no write to shard ${shard.name} was acknowledged after the kill: writes never resumed`);
      figures.writeOutageS = null;
    } else {
      const gap = longestGap(times, kill.startS);
      // the outage is the longest silence around the failure: from the last write before it
      // (or an answer already on the wire) to the first write the new primary acknowledged
      figures.writeOutageS = gap ? Math.round(gap.gapS * 1000) / 1000 : null;
      figures.writesResumedAtS = gap ? gap.toS : after[0]!;
    }
    return { figures, problems };
  },
};
