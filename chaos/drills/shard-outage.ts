// shard-outage: SIGKILL one shard's primary (phase 5). Only the users that shard owns may fail.
// The blast radius and the error bound come from what was measured: the engine counts requests
// and failures per shard (by the app's own shard router), so the shards that failed are the ones
// whose requests failed, and the failed share allowed is the victim shard's measured share of the
// requests x the measured write share + a small epsilon. A write probe per shard, sent every
// 250 ms beside the load, confirms it from outside the load.
import { workloads } from '../../loadtests/workloads.ts';
import type { DeployPlan } from '../../harness/topology/plan.ts';
import type { ShardSpec } from '../../harness/topology/types.ts';
import { makeFault } from '../faults/index.ts';
import type { ProbeSpec } from '../probe.ts';
import { healthProbe } from '../probe.ts';
import { userWrite } from '../../loadtests/catalogue.ts';
import { coldIdOf, rangeText, resolveShard, shards, shardStrategy } from './lookup.ts';
import type { LoadResults, SeriesPoint } from '../../reports/schema.ts';
import { APPLIES, applied, doesNotApply, optionHint, noPostgresStore, type Drill, type DrillTiming } from './types.ts';
import { BenchError } from '../../harness/errors.ts';

const probeName = (s: ShardSpec) => `write shard ${s.name}`;

function victimOf(plan: DeployPlan, t: DrillTiming): ShardSpec {
  const all = shards(plan);
  // default: the last shard, where sign-ups land under range sharding
  return resolveShard(plan, 'shard-outage', t.target ?? applied(all[all.length - 1], 'shard-outage', 'two shards').name);
}

/** The share of the users a shard owns: its range over 1..users, or 1/k under hash sharding. */
export function shardShare(plan: DeployPlan, shard: ShardSpec, users: number): number {
  const all = shards(plan);
  if (shardStrategy(plan) === 'hash') return 1 / all.length;
  const lo = Math.max(1, shard.range[0]);
  const hi = Math.min(users, shard.range[1] ?? users);
  return hi >= lo ? (hi - lo + 1) / users : 0;
}

/** Slack on the measured bound: reconnects and the odd timeout at the edges of the outage. */
export const SHARD_OUTAGE_EPSILON = 0.01;

/** What the engine measured of a shard outage, over the fault window. */
export interface MeasuredBlast {
  /** per shard: requests completed and failed in the window */
  perShard: Record<string, { requests: number; errors: number }>;
  /** the victim's share of the requests that had a user id (and so a shard) */
  victimShare: number;
  /** the share of the run's requests that write (update, create, login), from the engine's counts */
  writeShare: number;
  /**
   * the share of the victim's requests that need its primary: the write share when its reads go
   * to replicas, 1 when the shard has none (every request of its users then fails)
   */
  primaryShare: number;
  /** victimShare x primaryShare + epsilon */
  bound: number;
  /** (errors + dropped) / (requests + dropped) in the window */
  failRate: number;
  /** shards whose failed share in the window is above epsilon */
  failedShards: string[];
}

/**
 * The blast radius and error bound from the engine's per-shard counts over [fromS, toS); null when
 * the series carries no per-shard counts (the load had no shard map).
 */
export function measuredBlast(
  load: Pick<LoadResults, 'series' | 'endpoints'>,
  victim: string,
  fromS: number,
  toS: number,
  readsSurvive: boolean,
  epsilon = SHARD_OUTAGE_EPSILON,
): MeasuredBlast | null {
  const window = load.series.filter((p: SeriesPoint) => p.t + 1 > fromS && p.t < toS);
  if (!window.some((p) => p.shards)) return null;
  const perShard: Record<string, { requests: number; errors: number }> = {};
  let requests = 0;
  let errors = 0;
  let dropped = 0;
  for (const p of window) {
    requests += p.requests;
    errors += p.errors;
    dropped += p.dropped;
    for (const [name, c] of Object.entries(p.shards ?? {})) {
      const s = (perShard[name] ??= { requests: 0, errors: 0 });
      s.requests += c.requests;
      s.errors += c.errors;
    }
  }
  const sharded = Object.values(perShard).reduce((a, c) => a + c.requests, 0);
  const victimShare = sharded > 0 ? (perShard[victim]?.requests ?? 0) / sharded : 0;
  const count = (k: string) => load.endpoints[k]?.requests ?? 0;
  const all = Object.values(load.endpoints).reduce((a, e) => a + e.requests, 0);
  const writeShareMeasured = all > 0 ? (count('update') + count('create') + count('login')) / all : 0;
  const offered = requests + dropped;
  const primaryShare = readsSurvive ? writeShareMeasured : 1;
  return {
    perShard,
    victimShare,
    writeShare: writeShareMeasured,
    primaryShare,
    bound: Math.min(1, victimShare * primaryShare + epsilon),
    failRate: offered > 0 ? (errors + dropped) / offered : 0,
    failedShards: Object.entries(perShard)
      .filter(([, c]) => c.requests > 0 && c.errors / c.requests > epsilon)
      .map(([n]) => n),
  };
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
  applies(plan) {
    const n = shards(plan).length;
    if (n === 0) return doesNotApply(`it kills one of two shards or more, and ${noPostgresStore(plan)}`);
    // with one shard its outage is the whole store's: there is no blast radius to measure
    return n >= 2 ? APPLIES : doesNotApply(`it kills one of two shards or more and measures the blast radius, and phase ${plan.topology.phase} has ${n} here (${optionHint(plan, 'shards', '2 or more')})`);
  },
  defaults: { atS: 10, durationS: 20, tailS: 15 },
  workload: 'write-heavy',
  hypothesis(plan, t) {
    const v = victimOf(plan, t);
    // An outer bound before anything is measured (as if the victim had every user); the verification
    // holds the run to the measured one: the victim's share of requests x the write share + 1%.
    const bound = Math.min(1, (v.replicas.length > 0 ? writeShare(t.workload ?? 'write-heavy') : 1) + SHARD_OUTAGE_EPSILON);
    const share = v.replicas.length > 0 ? "the victim shard's measured share of the writes" : "the victim shard's measured share of the requests (it has no replica to read from)";
    return {
      text: `the primary of shard ${v.name} (${shardStrategy(plan) === 'range' ? `ids ${rangeText(v)}` : 'hash-sharded ids'}) dies: requests of the other shards all succeed, at most ${share} (+1%) fails, no acknowledged write is lost`,
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
      if (id !== null) out.push({ name: probeName(s), ...userWrite(id), write: { id, prefix: `probe-${s.name}` } });
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
    figures.probeFailedShards = failedShards.join(',') || 'none';
    figures.blastRadiusIds = shardStrategy(ctx.plan) === 'range' ? rangeText(v) : `ids hashing to shard ${v.name}`;
    figures.blastRadiusShare = Math.round(shardShare(ctx.plan, v, ctx.timing.users) * 10_000) / 10_000;
    // What the load measured, per shard, over the outage (its last second left out, as above).
    // The victim's reads survive on its replicas when it has some (the app reads from them).
    const m = measuredBlast(ctx.load.results, v.name, kill.startS, Number.isFinite(end) ? end : Infinity, v.replicas.length > 0);
    const r4 = (x: number) => Math.round(x * 10_000) / 10_000;
    if (m === null) {
      figures.blastRadiusShards = failedShards.join(',') || 'none';
      problems.push('the load recorded no per-shard counts: the blast radius and error bound could not be measured');
    } else {
      figures.blastRadiusShards = m.failedShards.join(',') || 'none';
      figures.victimRequestShare = r4(m.victimShare);
      figures.writeShareMeasured = r4(m.writeShare);
      figures.primaryShare = r4(m.primaryShare);
      figures.errorBound = r4(m.bound);
      figures.failRateDuringOutage = r4(m.failRate);
      for (const [name, c] of Object.entries(m.perShard)) figures[`errors.${name}`] = c.errors;
      for (const name of m.failedShards) {
        if (name !== v.name) {
          const c = m.perShard[name]!;
          problems.push(`shard ${name} failed ${c.errors} of ${c.requests} requests during the outage: the blast radius spread beyond shard ${v.name}`);
        }
      }
      if (m.failRate > m.bound) {
        problems.push(
          `${(m.failRate * 100).toFixed(2)}% of requests failed during the outage, more than the measured bound of ${(m.bound * 100).toFixed(2)}% ` +
            `(shard ${v.name}'s ${(m.victimShare * 100).toFixed(1)}% of requests x ${(m.primaryShare * 100).toFixed(1)}% ${m.primaryShare === 1 ? 'of them (it has no replica to read from)' : 'writes'} + ${SHARD_OUTAGE_EPSILON * 100}%)`,
        );
      }
    }
    return { figures, problems };
  },
};
