// wan-degradation: the WAN between every pair of regions gets `factor` times slower for the
// fault's duration (`--param factor=5`, default DEFAULT_FACTOR), then exactly as it was. The
// baseline toxics of the topology (targets/regions/latency.ts) are left alone: a second latency
// toxic of (factor - 1) x the baseline's latency goes on the same proxy and stream (Toxiproxy adds
// them up), and revert removes only it.
//
// The replication streams run through each member's replication proxy, which carries a baseline
// of its own (the member's region's nearest one-way latency: targets/regions/latency.ts
// replicationBaseline), so the same multiplication slows the replication path and lag can show.
//
// Measured every second by the drill itself, from SAMPLE_BEFORE_S before the WAN slows (the fault
// window opens with them: `degradedAtS` says when the latency went on) until verify: each replica
// region's replication lag behind the leader (targets/regions/lag.ts, bytes and seconds), and a
// user read through each region's balancer (its clients' latency). Per phase (before, during,
// after): lag max and p99 of the 1 s samples; the RPO exposure is the lag during. Hypothesis: lag
// rises during and is back to the baseline's maximum after; no errors.
import { BenchError } from '../../harness/errors.ts';
import type { DeployPlan } from '../../harness/topology/plan.ts';
import { dataCenters, regionFront } from '../../targets/phases/phase-7.ts';
import { regionNames } from '../../targets/regions/blocks.ts';
import { patroniClusters } from '../../targets/regions/active-active.ts';
import { replicationLag } from '../../targets/regions/lag.ts';
import { PG_CREDENTIALS } from '../../targets/app/config.ts';
import { once, TOXIC_PREFIX } from '../faults/toxic-fault.ts';
import type { Fault, ToxicSpec } from '../faults/types.ts';
import { clientRegionFigures, regionsOf, rolesNow } from './region-partition.ts';
import { APPLIES, doesNotApply, type Drill, type DrillState, type DrillTiming } from './types.ts';

export const DEFAULT_FACTOR = 5;
const MAX_FACTOR = 50;
/** Seconds of baseline samples taken at the fault's start, before the WAN slows down. */
export const SAMPLE_BEFORE_S = 8;
const SAMPLE_EVERY_MS = 1_000;
/** The sampler stops on its own this long after the restore, if verify has not stopped it. */
const SAMPLE_AFTER_MAX_S = 90;

/** The factor from the drill's parameters: `factor=5` (or a bare `5`); > 1. */
export function factorOf(t: Pick<DrillTiming, 'params'>): number {
  const raw = t.params.map((p) => p.trim()).find((p) => p.startsWith('factor=') || /^\d/.test(p));
  if (raw === undefined) return DEFAULT_FACTOR;
  const text = raw.replace(/^factor=/, '').replace(/x$/, '');
  const f = Number(text);
  if (!Number.isFinite(f) || f <= 1 || f > MAX_FACTOR) throw new BenchError('usage', `wan-degradation: factor ${text} is not a number above 1 and at most ${MAX_FACTOR}`, 'use --param factor=5');
  return f;
}

/** One toxic the drill adds: on `proxy`, latency `latency` ± `jitter` ms on `stream`. */
export interface AddedToxic {
  proxy: string;
  stream: 'upstream' | 'downstream';
  latency: number;
  jitter: number;
}

/**
 * What the drill adds for `factor`: (factor - 1) x each baseline toxic (the replication proxies'
 * included), both streams. Pure.
 */
export function degradation(plan: Pick<DeployPlan, 'edges' | 'services' | 'hosts' | 'topology'>, factor: number): AddedToxic[] {
  const extra = factor - 1;
  const fromBaseline = (plan.topology.toxics ?? []).map((t) => ({
    proxy: t.proxy,
    stream: t.stream,
    latency: Math.round(t.attributes.latency * extra),
    jitter: Math.round(t.attributes.jitter * extra),
  }));
  return fromBaseline.filter((t) => t.latency > 0);
}

export type Phase = 'before' | 'during' | 'after';

/** One 1 s sample: seconds since the fault's start, the phase, each replica region's lag (null:
 *  not measured), each region's read through its balancer (ms, null: failed). */
export interface Sample {
  tS: number;
  phase: Phase;
  lag: Record<string, { bytes: number; seconds: number | null } | null>;
  readMs: Record<string, number | null>;
}

/** The nearest-rank p99 of `xs` (null when empty). Pure. */
export function p99(xs: readonly number[]): number | null {
  if (xs.length === 0) return null;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.ceil(0.99 * s.length) - 1]!;
}
const max = (xs: readonly number[]) => (xs.length ? Math.max(...xs) : null);
const r3 = (x: number | null) => (x === null ? null : Math.round(x * 1000) / 1000);

/** Per region and phase: lag bytes and seconds (max, p99), reads (p99, failures). Pure. */
export function summarize(samples: readonly Sample[], replicas: readonly string[], regions: readonly string[]): Record<string, number | null> {
  const out: Record<string, number | null> = {};
  for (const phase of ['before', 'during', 'after'] as const) {
    const in_ = samples.filter((s) => s.phase === phase);
    for (const r of replicas) {
      const lags = in_.map((s) => s.lag[r]).filter((x): x is NonNullable<typeof x> => x != null);
      const bytes = lags.map((l) => l.bytes);
      const secs = lags.map((l) => l.seconds).filter((x): x is number => x !== null);
      out[`lagBytesMax.${r}.${phase}`] = max(bytes);
      out[`lagBytesP99.${r}.${phase}`] = p99(bytes);
      out[`lagSecondsMax.${r}.${phase}`] = r3(max(secs));
      out[`lagSecondsP99.${r}.${phase}`] = r3(p99(secs));
      out[`lagSamples.${r}.${phase}`] = lags.length;
    }
    for (const r of regions) {
      const reads = in_.map((s) => s.readMs[r]).filter((x): x is number => x != null);
      out[`readP99Ms.${r}.${phase}`] = r3(p99(reads));
      out[`readFailures.${r}.${phase}`] = in_.filter((s) => r in s.readMs && s.readMs[r] === null).length;
    }
  }
  return out;
}

/** The median of 1 s samples (nearest rank, the lower of two middles); null for none. Pure. */
export function median(xs: readonly number[]): number | null {
  if (xs.length === 0) return null;
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.floor((sorted.length - 1) / 2)]!;
}

/** How far a replica's median lag during must exceed its median before to count as a rise: the
 *  larger of 20 ms (sampling noise) and half the baseline. x2 on the default WAN doubles it. */
export const LAG_RISE_MIN_S = 0.02;
export const LAG_RISE_MIN_SHARE = 0.5;

/**
 * Did the lag rise during and come back after: per replica, `rose` when its median lag in seconds
 * during exceeds its median before by more than max(LAG_RISE_MIN_S, LAG_RISE_MIN_SHARE x the
 * median before). Medians, not maxima: one sample of a replica starved for a second by the machine
 * (0.98 s in the baseline of a CI run whose x5 lag was 0.30 s throughout) is not the baseline.
 * `backS` is the first sample after the restore (s since it) where every replica's lag is at most
 * its largest before (null: never). Pure.
 */
export function lagVerdict(samples: readonly Sample[], replicas: readonly string[], restoredS: number): { rose: Record<string, boolean>; backS: number | null } {
  const secs = (phase: Phase, r: string) => samples.filter((s) => s.phase === phase).map((s) => s.lag[r]?.seconds).filter((x): x is number => x != null);
  const baseline = new Map(replicas.map((r) => [r, max(secs('before', r)) ?? 0]));
  const rose = Object.fromEntries(
    replicas.map((r) => {
      const before = median(secs('before', r)) ?? 0;
      const during = median(secs('during', r));
      return [r, during !== null && during - before > Math.max(LAG_RISE_MIN_S, LAG_RISE_MIN_SHARE * before)];
    }),
  );
  const back = samples.find((s) => s.phase === 'after' && replicas.every((r) => s.lag[r]?.seconds != null && s.lag[r]!.seconds! <= baseline.get(r)!));
  return { rose, backS: back ? r3(back.tS - restoredS) : null };
}

interface Sampler {
  samples: Sample[];
  leader: string | null;
  replicas: string[];
  degradedS: number | null;
  restoredS: number | null;
  phase: Phase;
  stop(): Promise<void>;
}
const samplers = new WeakMap<DrillState, Sampler>();

async function timedRead(url: string): Promise<number | null> {
  const t0 = performance.now();
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(5_000) });
    await res.arrayBuffer();
    return res.status === 200 ? Math.round((performance.now() - t0) * 10) / 10 : null;
  } catch {
    return null;
  }
}

/** Samples lag and reads every second from now until stopped (or SAMPLE_AFTER_MAX_S after the restore). */
function startSampler(plan: DeployPlan, leader: string, readId: number, t0: number): Sampler {
  const regions = dataCenters(plan.topology);
  const svc = (name: string) => plan.services.find((s) => s.name === name)!;
  const replicas = regions.filter((r) => r !== leader);
  const since = () => (performance.now() - t0) / 1000;
  let stopped = false;
  const s: Sampler = { samples: [], leader, replicas, degradedS: null, restoredS: null, phase: 'before', stop: async () => {} };
  const loop = (async () => {
    while (!stopped && !(s.restoredS !== null && since() - s.restoredS > SAMPLE_AFTER_MAX_S)) {
      const started = performance.now();
      const tS = r3(since())!;
      const phase = s.phase;
      const lag: Sample['lag'] = {};
      const readMs: Sample['readMs'] = {};
      await Promise.all([
        ...replicas.map(async (r) => {
          lag[r] = await replicationLag(svc(regionNames(leader).member).address, svc(regionNames(r).member).address, PG_CREDENTIALS, regionNames(r).member).catch(() => null);
        }),
        ...regions.map(async (r) => {
          const lb = svc(regionFront(r).lb).address;
          readMs[r] = await timedRead(`http://${lb.host}:${lb.port}/api/users/${readId}`);
        }),
      ]);
      s.samples.push({ tS, phase, lag, readMs });
      await new Promise((res) => setTimeout(res, Math.max(0, SAMPLE_EVERY_MS - (performance.now() - started))));
    }
  })();
  s.stop = async () => {
    stopped = true;
    await loop;
  };
  return s;
}

/** The WAN slowed by `factor` as one fault: baseline samples first, then the toxics; revert
 *  removes them (the baseline's stay) and the sampler goes on into the tail. */
function slowWan(plan: DeployPlan, factor: number, readId: number, state: DrillState): Fault {
  const added = degradation(plan, factor);
  const regions = dataCenters(plan.topology);
  return {
    name: 'wan-degradation',
    target: `x${factor}`,
    describe: () => `WAN latency x${factor} on ${new Set(added.map((a) => a.proxy)).size} cross-region proxies`,
    async apply(ctx) {
      const api = ctx.toxiproxy;
      if (!api) throw new BenchError('usage', 'wan-degradation needs Toxiproxy and this run has none', 'run with Toxiproxy (the default)');
      const t0 = performance.now();
      const roles = await rolesNow(plan, regions);
      const leader = regions.find((r) => roles[r] === 'primary');
      if (!leader) throw new BenchError('environment', 'wan-degradation: no Patroni member leads, so there is no lag to measure', 'wait for the cluster to elect a leader');
      state.figures.leaderRegion = leader;
      state.figures.factor = factor;
      const s = startSampler(plan, leader, readId, t0);
      samplers.set(state, s);
      await new Promise((res) => setTimeout(res, SAMPLE_BEFORE_S * 1000));
      const toxics: Array<{ proxy: string; spec: ToxicSpec }> = added.map((a, i) => ({
        proxy: a.proxy,
        spec: { name: `${TOXIC_PREFIX}wan-degradation.${i}.${a.stream}`, type: 'latency', stream: a.stream, toxicity: 1, attributes: { latency: a.latency, jitter: a.jitter } },
      }));
      const done: typeof toxics = [];
      try {
        for (const t of toxics) {
          await api.addToxic(t.proxy, t.spec);
          done.push(t);
        }
      } catch (err) {
        await Promise.allSettled(done.map((t) => api.removeToxic(t.proxy, t.spec.name)));
        await s.stop();
        throw err;
      }
      s.degradedS = r3((performance.now() - t0) / 1000);
      s.phase = 'during';
      state.figures.degradedAtS = s.degradedS;
      ctx.progress(`wan-degradation: WAN x${factor} (${toxics.length} toxics), leader in ${leader}`);
      return {
        detail: `${toxics.length} latency toxics added over the baseline (x${factor}) after ${SAMPLE_BEFORE_S} s of baseline samples`,
        revert: once(async () => {
          const results = await Promise.allSettled(toxics.map((t) => api.removeToxic(t.proxy, t.spec.name)));
          s.restoredS = (performance.now() - t0) / 1000;
          s.phase = 'after';
          const failed = results.find((r) => r.status === 'rejected');
          if (failed) throw (failed as PromiseRejectedResult).reason;
        }),
      };
    },
  };
}

export const wanDegradation: Drill = {
  name: 'wan-degradation',
  summary: 'the WAN between regions gets `factor` times slower for a while (--param factor=5); replication lag and the RPO exposure are measured',
  applies(plan) {
    const regions = regionsOf(plan);
    if (regions.length < 2) return doesNotApply(`it slows the WAN between regions, and phase ${plan.topology.phase} has ${regions.length === 0 ? 'no geo DNS' : 'one region'} (run phase 7)`);
    // it reads one Patroni cluster's members by region (blocks.ts's names); active-active has a cluster per home region
    if (patroniClusters(plan.topology).length > 1) return doesNotApply('it follows the one Patroni cluster of --mode active-passive, and this deployment has a cluster per home region (--mode active-active): not built for it yet');
    if (!plan.toxiproxy || !(plan.topology.toxics ?? []).length) return doesNotApply('it multiplies the WAN baseline toxics through Toxiproxy, and this deployment has none (run without --no-proxies)');
    return APPLIES;
  },
  defaults: { atS: 10, durationS: 30, tailS: 30 },
  workload: 'mixed',
  hypothesis(plan, t) {
    const f = factorOf(t);
    const worst = Math.max(...(plan.topology.toxics ?? []).map((x) => x.attributes.latency), 0);
    // a request from a region that is not the leader's crosses the WAN for each query: allow two
    // round trips at the degraded latency over the usual objective
    const p99 = 1500 + Math.round(4 * worst * (f - 1));
    return {
      text:
        `the WAN latency between regions is multiplied by ${f} for ${Math.max(0, t.durationS - SAMPLE_BEFORE_S)} s (after ${SAMPLE_BEFORE_S} s of baseline samples): ` +
        'replication lag rises during and is back within its baseline maximum after; the RPO exposure (the lag during) is measured; ' +
        `fewer than 1% of requests fail and p99 stays under ${p99} ms (two WAN round trips at x${f}); no acknowledged write is lost`,
      maxErrorRate: 0.01,
      maxP99Ms: p99,
      maxLostWrites: 0,
    };
  },
  schedule(plan, t, state) {
    const f = factorOf(t);
    return [{ fault: slowWan(plan, f, 1, state), startS: t.atS, durationS: t.durationS }];
  },
  // no health probe: the load's API target is the geo name, which only the client regions resolve
  probes: () => [],
  async verify(ctx) {
    const s = samplers.get(ctx.state);
    if (!s) return { problems: ['the WAN was never slowed'] };
    await s.stop();
    const regions = dataCenters(ctx.plan.topology);
    const figures: Record<string, number | string | null> = { ...summarize(s.samples, s.replicas, regions), ...clientRegionFigures(ctx) };
    const problems: string[] = [];
    const notes: string[] = [];
    // the RPO exposure: what an outage of the leader during the degradation would have lost
    const during = s.samples.filter((x) => x.phase === 'during').flatMap((x) => s.replicas.map((r) => x.lag[r]).filter((l): l is NonNullable<typeof l> => l != null));
    figures.rpoExposureBytesMax = max(during.map((l) => l.bytes));
    figures.rpoExposureSecondsMax = r3(max(during.map((l) => l.seconds).filter((x): x is number => x !== null)));
    if (s.restoredS === null) {
      problems.push('the WAN was never restored');
      return { figures, problems };
    }
    const v = lagVerdict(s.samples, s.replicas, s.restoredS);
    figures.lagBackS = v.backS;
    for (const [r, rose] of Object.entries(v.rose)) if (!rose) problems.push(`${r}'s replication lag did not rise above its baseline while the WAN was slowed (median during vs before)`);
    if (v.backS === null) problems.push('replication lag was not back within its baseline maximum before the sampling ended');
    const failedReads = s.samples.filter((x) => Object.values(x.readMs).some((m) => m === null)).length;
    if (failedReads) notes.push(`${failedReads} of ${s.samples.length} sampling rounds had a failed read through a balancer`);
    return { figures, problems, notes };
  },
};
