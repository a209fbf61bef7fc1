// shard-outage: SIGKILL one shard's primary (phase 5). Only the users that shard owns may fail:
// a write probe per shard, sent every 250 ms beside the load, shows which shards failed, and the
// blast radius is given as the shard's id range and its share of the users.
import { workloads } from '../../loadtests/workloads.ts';
import type { DeployPlan } from '../../harness/topology/plan.ts';
import type { ShardSpec } from '../../harness/topology/types.ts';
import { makeFault } from '../faults/index.ts';
import type { ProbeSpec } from '../probe.ts';
import { healthProbe } from '../probe.ts';
import { coldIdOf, rangeText, resolveShard, shards, shardStrategy } from './lookup.ts';
import type { Drill, DrillTiming } from './types.ts';
import { BenchError } from '../../harness/errors.ts';

const probeName = (s: ShardSpec) => `write shard ${s.name}`;

function victimOf(plan: DeployPlan, t: DrillTiming): ShardSpec {
  const all = shards(plan);
  if (all.length < 2) {
    throw new BenchError('usage', `drill shard-outage needs two shards or more and phase ${plan.topology.phase} has ${all.length}`, 'use phase 5 with --shards 2 or more');
  }
  // default: the last shard, where sign-ups land under range sharding
  return resolveShard(plan, 'shard-outage', t.target ?? all[all.length - 1]!.name);
}

/** The share of the users a shard owns: its range over 1..users, or 1/k under hash sharding. */
export function shardShare(plan: DeployPlan, shard: ShardSpec, users: number): number {
  const all = shards(plan);
  if (shardStrategy(plan) === 'hash') return 1 / all.length;
  const lo = Math.max(1, shard.range[0]);
  const hi = Math.min(users, shard.range[1] ?? users);
  return hi >= lo ? (hi - lo + 1) / users : 0;
}

/** The share of the workload's requests that write (they need the shard's primary). */
function writeShare(name: string): number {
  const mix = (workloads[name] ?? workloads['write-heavy'])!.mix;
  const total = Object.values(mix).reduce((a, b) => a + b, 0);
  return total > 0 ? (mix.update + mix.create + mix.login) / total : 0;
}

export const shardOutage: Drill = {
  name: 'shard-outage',
  summary: "SIGKILL one shard's primary: only that shard's users may fail (blast radius)",
  phases: [5, 6, 7],
  defaults: { atS: 10, durationS: 20, tailS: 15 },
  workload: 'write-heavy',
  hypothesis(plan, t) {
    const v = victimOf(plan, t);
    const bound = Math.min(1, writeShare(t.workload ?? 'write-heavy') + 0.01);
    return {
      text: `the primary of shard ${v.name} (${shardStrategy(plan) === 'range' ? `ids ${rangeText(v)}` : 'hash-sharded ids'}) dies: writes of the other shards all succeed, at most the writing share of requests (${(bound * 100).toFixed(0)}%) fails, no acknowledged write is lost`,
      maxErrorRate: bound,
      maxP99Ms: 2000,
      maxLostWrites: 0,
    };
  },
  schedule(plan, t) {
    const v = victimOf(plan, t);
    return [{ fault: makeFault('kill', v.primary, {}, plan), startS: t.atS, durationS: t.durationS }];
  },
  probes(plan, t) {
    const out: ProbeSpec[] = [healthProbe];
    for (const s of shards(plan)) {
      const id = coldIdOf(plan, s, t.users);
      if (id !== null) out.push({ name: probeName(s), method: 'PUT', path: `/api/users/${id}`, write: { id, prefix: `probe-${s.name}` } });
    }
    return out;
  },
  async verify(ctx) {
    const v = victimOf(ctx.plan, ctx.timing);
    const kill = ctx.windows.find((w) => w.name === 'kill');
    if (!kill) return { problems: ['the primary was never killed'] };
    const end = kill.endS ?? Infinity;
    const figures: Record<string, number | string | null> = {};
    const problems: string[] = [];
    const failedShards: string[] = [];
    for (const s of shards(ctx.plan)) {
      // a probe sent in the fault window (the last second left out: the restarted primary's
      // clients reconnect then)
      const inWindow = ctx.probes.filter((p) => p.name === probeName(s) && p.tS >= kill.startS && p.tS < end);
      const failed = inWindow.filter((p) => !p.ok).length;
      figures[`probeFailures.${s.name}`] = failed;
      figures[`probes.${s.name}`] = inWindow.length;
      if (failed > 0) failedShards.push(s.name);
      if (s.name !== v.name && failed > 0) problems.push(`shard ${s.name} failed ${failed} of ${inWindow.length} write probes: the outage spread beyond shard ${v.name}`);
    }
    if (!failedShards.includes(v.name)) problems.push(`no write probe of shard ${v.name} failed: the fault did not reach it`);
    figures.blastRadiusShards = failedShards.join(',') || 'none';
    figures.blastRadiusIds = shardStrategy(ctx.plan) === 'range' ? rangeText(v) : `ids hashing to shard ${v.name}`;
    figures.blastRadiusShare = Math.round(shardShare(ctx.plan, v, ctx.timing.users) * 10_000) / 10_000;
    return { figures, problems };
  },
};
