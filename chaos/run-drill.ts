// Runs one drill against a deployment: load, fault schedule and probes on one timeline, then the
// rollback (always: on success, on failure, on Ctrl-C), the verification, the write check and the
// verdict. Also runWithChaos() for `bench run --chaos`: any run's load with a fault schedule.
import { randomBytes } from 'node:crypto';
import { BenchError } from '../harness/errors.ts';
import { runLoad as engineRunLoad } from '../harness/load/engine.ts';
import { createdUserId, newSalt } from '../loadtests/lib/identity.ts';
import type { AcknowledgedWrite, IndeterminateWrite, LoadOptions, LoadOutcome } from '../harness/load/types.ts';
import { rateFloor } from '../harness/load/traffic-model.ts';
import { setFault } from '../harness/metrics/fault-gauge.ts';
import type { Deployment, Progress } from '../harness/runtime/types.ts';
import type { DeployPlan } from '../harness/topology/plan.ts';
import { requestType, type RequestType } from '../loadtests/catalogue.ts';
import { workloads, type Workload } from '../loadtests/workloads.ts';
import type { DrillResult, FaultWindow, Stage } from '../reports/schema.ts';
import { drillLookup, drillTiming, validateDrill } from './drills/index.ts';
import { shardMapOf } from './drills/lookup.ts';
import { newDrillState } from './drills/types.ts';
import type { ToxiproxyApi } from './faults/types.ts';
import { healthProbe, startProber, type ProbeResult } from './probe.ts';
import { faultContext, FaultRunner, type FaultObserver } from './fault-runner.ts';
import { parseSchedule, resolveSchedule, type ScheduledFault } from './schedule.ts';
import { chaosToxiproxy } from './toxiproxy.ts';
import { verdict, type VerdictOptions } from './verdict.ts';
import { readWriteState, rpoOf, snapshotSignups, type WriteCheck } from './write-check.ts';
import { WriteLog } from './write-log.ts';

/** The load of a drill: LoadOptions where the drill fills what is not given. */
export type DrillLoadOptions = Omit<LoadOptions, 'signal' | 'stages' | 'workload' | 'writeLog'> & {
  /** default: a 3 s ramp to `rate`, then `rate` until the drill's end */
  stages?: Stage[];
  /** the steady rate, req/s, when no stages are given */
  rate?: number;
  /** default: the drill's own workload */
  workload?: Workload;
};

export interface RunDrillOptions {
  deployment: Deployment;
  /** default: the deployment's plan */
  plan?: DeployPlan;
  /** the drill's name */
  drill: string;
  /** tags the values this drill writes (default: the load's runId, else a random one) */
  runId?: string;
  /** default: the plan's phase */
  phase?: number;
  load: DrillLoadOptions;
  /** seconds after the load starts (default: the drill's) */
  atS?: number;
  /** seconds the fault lasts (default: the drill's) */
  durationS?: number;
  /** seconds the load runs after the fault ends (default: the drill's), when no stages are given */
  tailS?: number;
  /** the drill's target (an app server, a shard, a host cut...), default: the drill picks */
  target?: string;
  params?: string[];
  /** Ctrl-C: the faults are reverted, then BenchError('interrupted') is thrown */
  signal?: AbortSignal;
  progress?: Progress;
  /** default: a client of the plan's Toxiproxy */
  toxiproxy?: ToxiproxyApi | null;
  /** default: the Prometheus gauge bench_fault_active (harness/metrics/fault-gauge.ts) */
  onFault?: FaultObserver;
  verdictOptions?: VerdictOptions;
  /** injectable for tests; default the embedded engine */
  runLoad?: (options: LoadOptions) => Promise<LoadOutcome>;
}

export interface DrillOutcome {
  drill: DrillResult;
  /** the fault windows, seconds relative to the load's start */
  faults: FaultWindow[];
  load: LoadOutcome;
  /** the write checker's full report (with the indeterminate ids), null when nothing was written */
  writes: WriteCheck | null;
  probes: ProbeResult[];
}

/** A 3 s ramp from a small floor to `rate`, then `rate` to the end: no ramp down, so the tail
 *  after the fault measures recovery at full load. */
export function drillStages(rate: number, totalS: number, rampS = 3): Stage[] {
  if (!(rate > 0)) throw new BenchError('usage', `drill rate ${rate} must be positive`, 'use --rate 200');
  const ramp = Math.min(rampS, Math.max(0, totalS - 1));
  return [
    { durationS: 0, targetRate: ramp > 0 ? rateFloor(rate) : rate },
    ...(ramp > 0 ? [{ durationS: ramp, targetRate: rate }] : []),
    { durationS: Math.max(1, totalS - ramp), targetRate: rate },
  ];
}

/** How much longer than at + duration + tail a drill's own load is planned: the time its reverts
 *  may take (a restarted server getting ready) before the tail starts. */
export const REVERT_GRACE_S = 30;

const stagesLength = (stages: readonly Stage[]) => stages.reduce((s, x) => s + x.durationS, 0);

const shift = (w: FaultWindow, by: number): FaultWindow => ({
  ...w,
  startS: Math.round((w.startS - by) * 1000) / 1000,
  endS: w.endS === null ? null : Math.round((w.endS - by) * 1000) / 1000,
});

/** The workload's weight on catalogue entries that match: which requests write is the catalogue's
 *  data (`write`, `id: 'created'`), not a list of names here. */
const weightOf = (w: Workload, match: (e: RequestType) => boolean) =>
  Object.entries(w.mix).reduce((n, [name, weight]) => n + (weight > 0 && match(requestType(name)) ? weight : 0), 0);
const writesIn = (w: Workload) => weightOf(w, (e) => e.write === true) > 0;
const createShare = (w: Workload) => weightOf(w, (e) => e.id === 'created') / Object.values(w.mix).reduce((a, b) => a + b, 0);

/** Runs drill `drill` against `deployment` and returns its verdict, fault windows and load. */
export async function runDrill(o: RunDrillOptions): Promise<DrillOutcome> {
  const plan = o.plan ?? o.deployment.plan;
  const phase = o.phase ?? plan.topology.phase;
  if (phase !== plan.topology.phase) throw new BenchError('internal', `runDrill: phase ${phase} but the deployment runs phase ${plan.topology.phase}`);
  const progress = o.progress ?? (() => {});
  const drill = validateDrill(o.drill, plan);
  const workload = o.load.workload ?? workloads[drill.workload]!;

  // Everything that can be refused is refused here, before any load or fault.
  const timing = drillTiming(drill, { atS: o.atS, durationS: o.durationS, target: o.target, params: o.params, users: o.load.users, workload: workload.name });
  const state = newDrillState();
  const schedule = drill.schedule(plan, timing, state);
  const hypothesis = drill.hypothesis(plan, timing);
  const tailS = o.tailS ?? drill.defaults.tailS;
  const totalS = timing.atS + timing.durationS + tailS;
  if (!o.load.stages && o.load.rate === undefined) throw new BenchError('usage', `drill ${drill.name} has no load rate`, 'give a rate (--rate 200) or stages');
  // The tail counts from when the last revert has completed (a restarted victim ready), not from
  // the fault's scheduled end: the drill's own load is planned REVERT_GRACE_S longer and stopped
  // tailS after the reverts. Stages given by the caller run as given.
  const ownStages = !o.load.stages;
  const stages = o.load.stages ?? drillStages(o.load.rate!, totalS + (drill.defaults.revertGraceS ?? REVERT_GRACE_S));
  if (stagesLength(stages) < timing.atS + 1) {
    throw new BenchError('usage', `the load lasts ${stagesLength(stages)} s and the fault starts at ${timing.atS} s`, `run the load longer than --at (at least ${Math.ceil(totalS)} s for the drill's tail)`);
  }
  const toxiproxy = o.toxiproxy !== undefined ? o.toxiproxy : plan.toxiproxy ? chaosToxiproxy(plan.toxiproxy.api) : null;
  // Every value written carries the run id: what an earlier drill on this deployment wrote with
  // the same seed cannot pass for this one's.
  const runId = o.runId ?? o.load.runId ?? randomBytes(4).toString('hex');
  const probes = (drill.probes?.(plan, timing) ?? [healthProbe]).map((p) => (p.write ? { ...p, write: { ...p.write, prefix: `${p.write.prefix}-${runId}` } } : p));

  // A fresh salt unless the caller chose one: the users a load signs up and the operation ids
  // it sends (payments, uploads) are the salt's alone. With the engine's default of 0, every
  // drill on one deployment sent the same upload ids: the uploads API answered 202 for jobs
  // that already existed (done by an earlier drill) and the drills' ledgers saw no new job.
  const salt = o.load.salt ?? newSalt();
  // the load's sign-up ids start above this (the write check reads that range back)
  const signupBase = createdUserId(o.load.users, salt, 0);

  // What an earlier load on this deployment left in the sign-up range is not this run's doing.
  let before: Map<number, string> | undefined;
  if (writesIn(workload)) {
    const creates = Math.ceil(stages.reduce((n, s) => n + s.durationS * s.targetRate, 0) * createShare(workload)) + 1000;
    before = await snapshotSignups(plan, o.deployment, signupBase, creates).catch((e: unknown) => {
      progress(`drill ${drill.name}: could not read the sign-up range before the load (${(e as Error).message})`);
      return undefined;
    });
  }

  progress(`drill ${drill.name}: ${hypothesis.text}`);
  const ctx = faultContext({ deployment: o.deployment, plan, toxiproxy, progress });
  const runner = new FaultRunner({ ctx, onFault: o.onFault ?? setFault, signal: o.signal });
  let load: LoadOutcome;
  let probeResult: { samples: ProbeResult[]; writes: AcknowledgedWrite[]; indeterminate: IndeterminateWrite[] } = { samples: [], writes: [], indeterminate: [] };
  // Writes are kept only when the write check will read them; past a bound they go to a file.
  const writeLog = writesIn(workload) ? new WriteLog() : null;
  let t0 = 0;
  const problems: string[] = [];
  const tailStop = new AbortController();
  const loadSignal = o.signal ? AbortSignal.any([o.signal, tailStop.signal]) : tailStop.signal;
  let tailTimer: NodeJS.Timeout | undefined;
  let revertedAtMs: number | null = null;
  const watchStop = new AbortController();
  let watching: Promise<void> = Promise.resolve();
  try {
    t0 = Date.now();
    runner.start(schedule, t0);
    if (drill.watch) watching = drill.watch(plan, timing, state, watchStop.signal).catch((e: unknown) => void problems.push(`${drill.name}'s watch failed: ${(e as Error).message}`));
    if (ownStages) {
      void runner.settled().then(() => {
        if (loadSignal.aborted) return;
        revertedAtMs = Date.now();
        tailTimer = setTimeout(() => tailStop.abort(), tailS * 1000);
      });
    }
    const prober = startProber({
      baseUrl: o.load.targets.api,
      specs: probes,
      t0Ms: t0,
      maxDurationMs: (stagesLength(stages) + 30) * 1000,
      signal: o.signal,
    });
    try {
      const { rate: _rate, ...loadRest } = o.load;
      // The shard map lets the engine count failures per shard (shard-outage's blast radius).
      load = await (o.runLoad ?? engineRunLoad)({ shards: shardMapOf(plan), ...loadRest, salt, runId, workload, stages, signal: loadSignal, ...(writeLog ? { writeLog } : {}) });
    } finally {
      clearTimeout(tailTimer);
      watchStop.abort();
      probeResult = await prober.stop();
      await watching;
    }
  } catch (e) {
    writeLog?.close();
    throw e;
  } finally {
    // Rollback first, whatever happened: the faults still applied, then the drill's own undo.
    await runner[Symbol.asyncDispose]();
    if (drill.rollback) await drill.rollback(ctx, state).catch((e: unknown) => problems.push(`rollback failed: ${(e as Error).message}`));
  }
  if (o.signal?.aborted) {
    writeLog?.close();
    throw new BenchError('interrupted', `drill ${drill.name} interrupted; every fault was reverted`);
  }
  try {
    return await judge();
  } finally {
    writeLog?.close();
  }

  // The judgement, once the load is over and everything is reverted (a function so the write
  // log's file goes whatever happens in it).
  async function judge(): Promise<DrillOutcome> {
    // The runner's clock started at t0; the engine's at load.startedAtMs: put all on the load's.
    const by = (load.startedAtMs - t0) / 1000;
    const windows = runner.windows.map((w) => shift(w, by));
    const samples = probeResult.samples.map((s) => ({ ...s, tS: Math.round((s.tS - by) * 1000) / 1000 }));
    const onLoad = (x: number) => Math.round((x - by) * 1000) / 1000;
    const probeWrites = probeResult.writes.map((w) => ({ ...w, sentS: onLoad(w.sentS), atS: onLoad(w.atS) }));
    const probeUnknown = probeResult.indeterminate.map((w) => ({ ...w, sentS: onLoad(w.sentS) }));
    problems.push(...runner.errors, ...state.problems);
    if (ownStages) {
      // The load's stages as run: it was stopped tailS after the reverts, before its planned end.
      load.results.stages = trimStages(load.results.stages, load.results.durationS);
      if (revertedAtMs === null) problems.push(`the faults' reverts had not completed when the load ended: no tail of ${tailS} s after them`);
      else {
        const revertedS = onLoad((revertedAtMs - t0) / 1000);
        state.figures.revertsCompletedS = revertedS;
        const ranS = load.results.durationS - revertedS;
        if (ranS < tailS - 1) problems.push(`the load ran ${ranS.toFixed(1)} s after the reverts completed (at ${revertedS.toFixed(1)} s), less than the tail of ${tailS} s`);
      }
    }
    const logged = writeLog ? await writeLog.readAll() : { acknowledged: [], indeterminate: [] };

    const verification = drill.verify
      ? await drill.verify({ deployment: o.deployment, plan, timing, load, writes: logged.acknowledged, windows, probes: samples, probeWrites, state, progress }).catch((e: unknown) => ({
          problems: [`verification failed: ${(e as Error).message}`],
          figures: {},
        }))
      : {};
    problems.push(...(verification.problems ?? []));

    let writes: WriteCheck | null = null;
    const acknowledged = [...logged.acknowledged, ...probeWrites];
    const indeterminate = [...logged.indeterminate, ...probeUnknown];
    if (writesIn(workload) || probeWrites.length > 0 || probeUnknown.length > 0) {
      try {
        progress(`drill ${drill.name}: reading ${acknowledged.length} acknowledged writes back (${indeterminate.length} indeterminate)`);
        writes = await readWriteState({ plan, deployment: o.deployment, acknowledged, indeterminate, users: o.load.users, signupBase, seed: o.load.seed, primaries: state.primaries, before });
      } catch (e) {
        problems.push(`could not read the acknowledged writes back: ${(e as Error).message}`);
      }
    }

    // RPO: the writes lost and the age of the oldest, from when the fault took effect
    const faultAtS = 'faultAtS' in verification && typeof verification.faultAtS === 'number' ? verification.faultAtS : windows[0]?.startS;
    const rpo = writes && faultAtS !== undefined ? rpoOf(writes, faultAtS) : {};
    const result = verdict({
      name: drill.name,
      hypothesis,
      series: load.results.series,
      windows,
      probes: samples.filter((s) => s.name === healthProbe.name),
      writes,
      problems,
      figures: { ...state.figures, ...(verification.figures ?? {}), ...rpo },
      generatorLimited: load.results.generator.limited === true,
      options: o.verdictOptions,
    });
    return { drill: result, faults: windows, load, writes, probes: samples };
  }
}

/** `stages` cut to the first `durationS` seconds (a load stopped before its planned end). Pure. */
export function trimStages(stages: readonly Stage[], durationS: number): Stage[] {
  const out: Stage[] = [];
  let at = 0;
  for (const s of stages) {
    if (at >= durationS && s.durationS > 0) break;
    const d = Math.min(s.durationS, Math.max(0, durationS - at));
    out.push({ ...s, durationS: Math.round(d * 1000) / 1000 });
    at += s.durationS;
  }
  return out;
}

/** Parses and validates `--chaos` entries against a plan (before anything starts). */
export function planChaos(entries: readonly string[], plan: DeployPlan, users: number): ScheduledFault[] {
  return resolveSchedule(parseSchedule(entries), plan, drillLookup(users));
}

export interface WithChaosOptions {
  deployment: Deployment;
  schedule: readonly ScheduledFault[];
  signal?: AbortSignal;
  progress?: Progress;
  toxiproxy?: ToxiproxyApi | null;
  onFault?: FaultObserver;
}

/**
 * Runs `load` with the fault schedule on its timeline (faults' times count from just before
 * `load()` is called; the windows returned are shifted onto the load's own start). Every fault
 * is reverted when its window ends, when the load ends, or on error and abort.
 */
export async function runWithChaos(o: WithChaosOptions, load: () => Promise<LoadOutcome>): Promise<{ load: LoadOutcome; faults: FaultWindow[]; problems: string[] }> {
  const plan = o.deployment.plan;
  const toxiproxy = o.toxiproxy !== undefined ? o.toxiproxy : plan.toxiproxy ? chaosToxiproxy(plan.toxiproxy.api) : null;
  const ctx = faultContext({ deployment: o.deployment, plan, toxiproxy, progress: o.progress });
  const runner = new FaultRunner({ ctx, onFault: o.onFault ?? setFault, signal: o.signal });
  let outcome: LoadOutcome;
  const t0 = Date.now();
  try {
    runner.start(o.schedule, t0);
    outcome = await load();
  } finally {
    await runner[Symbol.asyncDispose]();
  }
  const by = (outcome.startedAtMs - t0) / 1000;
  return { load: outcome, faults: runner.windows.map((w) => shift(w, by)), problems: runner.errors };
}
