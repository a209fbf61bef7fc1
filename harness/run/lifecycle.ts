// The lifecycle of one run: topology -> plan -> up -> seed -> load (+ faults) -> collect ->
// reports -> down. Every step is a function with typed input and output; the CLI only parses
// flags and calls executeRun / deployTarget. Nothing here knows which phase it runs.
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { Registry } from 'prom-client';
import { cpus } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { BenchError, usageError } from '../errors.ts';
import { phases, PHASE_NUMBERS } from '../../targets/phases/index.ts';
import { plan as makePlan, type DeployPlan } from '../topology/plan.ts';
import type { Topology } from '../topology/types.ts';
import type { Deployment, Progress, Runtime } from '../runtime/types.ts';
import { runtimesToSweep, selectRuntime } from '../runtime/select.ts';
import { allocateSlot, stateRoot } from '../runtime/state.ts';
import { fileSdPath, fileSdTargets } from '../metrics/prometheus-config.ts';
import { flush, waitForScrape } from '../metrics/query.ts';
import { endpointUrl } from '../topology/plan.ts';
import { defaultWarmupS, type RunConfig } from './config.ts';
import type { SizeOverride } from '../capacity/scale.ts';
import { seedUsers } from './seed.ts';
import { settle } from './settle.ts';
import { trafficModel, stagesFor, defaultMachineCapRps, capLabel, withBurst, formatBurst } from '../load/traffic-model.ts';
import type { LoadOutcome } from '../load/types.ts';
import { drive, driveWarmup, warmupStages, type DriveOutcome } from './drive.ts';
import { serverBaseline, collectServerView, type ServerView } from './collect.ts';
import { SCHEMA_VERSION, type Results } from '../../reports/schema.ts';
import type { DrillResult, FaultWindow, LoadResults, Objective, Stage, TrafficModel } from './results.ts';
import { fmtMs } from '../../reports/format.ts';
import { REPORT_FILES, writeReports } from '../../reports/index.ts';
import { version } from './version.ts';
import { planChaos, runWithChaos } from '../../chaos/index.ts';
import { rejectPastEnd } from '../../chaos/schedule.ts';
import { serveRunMetrics, type RunMetrics } from './metrics-server.ts';
import { objectivesFor as judgeObjectives, runVerdict, withAchievedScale } from '../../reports/verdict.ts';
import { LEDGER_DRAIN_TIMEOUT_MS, ledgerStep, ledgerStores, readRunLedger } from './job-ledger.ts';
import { DEFAULT_DRAIN_BOUND_S, QueueSampler, queueSamplerFor } from './queue-sampler.ts';
import type { LedgerSection, QueueSection } from './results.ts';

export interface RunIO {
  progress: Progress;
  /** raw writes for the live line */
  write(text: string): void;
  isTTY: boolean;
  signal: AbortSignal;
  /** ends the run with teardown on a failure outside its flow (CliIO.abort) */
  abort?(reason: Error): void;
  cwd: string;
}

/** The topology of a configured run; a phase that is not built says so. */
export function topologyFor(config: Pick<RunConfig, 'phase' | 'users' | 'options' | 'sizes'>): Topology {
  const phase = phases.get(config.phase);
  if (!phase) throw usageError(`--phase ${config.phase} does not exist`, `choose one of ${PHASE_NUMBERS.join(', ')}`);
  const topology = phase.topology({ ...config.options, users: config.users });
  return withSizes(topology, config.sizes ?? {});
}

/** --size overrides on a phase's hosts, before planning (so the plan, results and quotas agree). */
export function withSizes(topology: Topology, sizes: Record<string, SizeOverride>): Topology {
  const names = new Set(topology.hosts.map((h) => h.name));
  for (const host of Object.keys(sizes)) {
    if (!names.has(host)) throw usageError(`--size ${host}: phase ${topology.phase} has no host ${host}`, `its hosts are ${[...names].join(', ')}`);
  }
  return {
    ...topology,
    hosts: topology.hosts.map((h) => {
      const o = sizes[h.name];
      return o ? { ...h, size: { cpus: o.cpus, memoryMb: o.memoryMb ?? h.size.memoryMb } } : h;
    }),
  };
}

export const newRunId = (phase: number, now = new Date()) =>
  `p${phase}-${now.toISOString().replace(/[-:]/g, '').replace(/\..*/, '').replace('T', '-')}-${Math.random().toString(36).slice(2, 6)}`;

export interface Deployed {
  deployment: Deployment;
  /** the harness's /metrics (engine + fault gauge) when the run has a Prometheus */
  metrics: RunMetrics | null;
  plan: DeployPlan;
  runtime: Runtime;
  runDir: string;
  runId: string;
  timings: Record<string, number>;
}

const since = (t0: number) => Math.round((performance.now() - t0) / 100) / 10;

/**
 * Deploys the configured phase and seeds its users. `validate` sees the plan before anything
 * starts (fault schedules and drills check their targets there). On any failure nothing is left
 * running.
 */
export async function deployTarget(config: RunConfig, io: RunIO, validate?: (plan: DeployPlan) => void): Promise<Deployed> {
  const topology = topologyFor(config);
  const runtime = await selectRuntime(config.runtime, { images: config.images, grafana: config.grafana });
  const runId = newRunId(config.phase);
  // A throwaway plan (slot 1) lets usage errors out before anything is touched.
  // k6 (or auto, which may pick it) pushes its metrics by remote write; the embedded engine does not
  const remoteWrite = config.driver !== 'embedded';
  validate?.(makePlan(topology, { runId, slot: 1, proxies: config.proxies, prometheus: config.prometheus, remoteWrite }));
  const runDir = resolve(io.cwd, config.out ?? join('.runs', runId));
  await claimRunDir(runDir, config, io.progress);
  const reaped: string[] = [];
  for (const r of runtimesToSweep(runtime)) reaped.push(...(await r.reap({ onlyDead: true })));
  if (reaped.length > 0) io.progress(`cleaned up leftovers of ${reaped.length} earlier run(s): ${reaped.join(', ')}`);
  const slot = await allocateSlot(runId);
  const plan = makePlan(topology, { runId, slot, proxies: config.proxies, prometheus: config.prometheus, remoteWrite });
  await runtime.check(plan);
  await mkdir(runDir, { recursive: true });
  await writeFile(join(runDir, 'plan.json'), JSON.stringify(plan, null, 2));
  const timings: Record<string, number> = {};
  let t0 = performance.now();
  io.progress(`deploying phase ${config.phase} (${topology.title}) on the ${runtime.kind} runtime: ${plan.services.length} services on ${plan.hosts.length} hosts, run ${runId}`);
  const deployment = await runtime.up(plan, { runDir, progress: io.progress, signal: io.signal, onFatal: io.abort });
  timings.deploy = since(t0);
  if (deployment.plan !== plan) await writeFile(join(runDir, 'plan.json'), JSON.stringify(deployment.plan, null, 2));
  let metrics: RunMetrics | null = null;
  try {
    // The harness only listens on loopback: under Docker, Prometheus (in the run's network) cannot
    // reach it, and the engine's series are left out of Prometheus (results.json has them all).
    const engineAt = deployment.plan.engineMetrics;
    if ((deployment.plan.prometheus || config.prometheusUrl) && engineAt.host.startsWith('127.')) metrics = await serveRunMetrics(engineAt);
    if (config.prometheusUrl) {
      // The user's Prometheus finds the run's targets through file-based service discovery.
      const file = fileSdPath(stateRoot(), runId);
      await mkdir(dirname(file), { recursive: true });
      await writeFile(file, fileSdTargets(deployment.plan));
      const close = metrics?.close;
      metrics = {
        engine: metrics?.engine ?? new Registry(),
        close: async () => {
          await rm(file, { force: true });
          await close?.();
        },
      };
    }
    t0 = performance.now();
    await seedUsers(deployment, config.users, config.seed, io.progress, io.signal);
    timings.seed = since(t0);
    // A cold deployment is not the architecture: measure only once replicas replayed the seed.
    t0 = performance.now();
    await settle(deployment, { timeoutMs: config.settleTimeoutS * 1000, progress: io.progress, signal: io.signal });
    timings.settle = since(t0);
  } catch (e) {
    await metrics?.close();
    await deployment.down();
    throw e;
  }
  // The harness's view of the plan: under Docker, services are reached at published ports.
  return { deployment, metrics, plan: deployment.plan, runtime, runDir, runId, timings };
}

/** What a run directory holds of an earlier run, removed by --force (never anything else in it). */
export const RUN_FILES = [...Object.values(REPORT_FILES), 'results.invalid.json', 'plan.json', 'k6-summary.json', 'k6-points.json.gz'] as const;

/**
 * A run directory that already holds a run (a results.json) is refused, so an old result is never
 * taken for a new one; --force removes that run's files (RUN_FILES only) first. A failed run then
 * leaves no results.json at all, never an older one that looks current.
 */
export async function claimRunDir(runDir: string, config: Pick<RunConfig, 'out' | 'force'>, progress: Progress): Promise<void> {
  if (!existsSync(join(runDir, REPORT_FILES.json))) return;
  const shown = config.out ?? runDir;
  if (!config.force) throw usageError(`--out ${shown} already holds a run (results.json)`, 'choose another directory, or add --force to remove its results first');
  await Promise.all(RUN_FILES.map((f) => rm(join(runDir, f), { force: true })));
  progress(`--force: removed the results of the earlier run in ${shown}`);
}

/** What one exercise of a deployed target gives: the load, the fault windows, drill verdicts. */
export interface Exercised {
  outcome: DriveOutcome | (LoadOutcome & { driver: 'embedded'; thresholdsFailed: false });
  faults: FaultWindow[];
  drills: DrillResult[];
  notes: string[];
  /** replaces the run's objectives (a drill is judged by its own hypothesis) */
  objectives?: Objective[];
}

export interface ExerciseContext {
  config: RunConfig;
  deployed: Deployed;
  model: TrafficModel;
  stages: Stage[];
  io: RunIO;
}

/** How a run exercises its target: a load, a load with a fault schedule, or a drill. */
export interface Exercise {
  /** checks the plan before anything starts; throws usage errors */
  validate(plan: DeployPlan, config: RunConfig): void;
  run(ctx: ExerciseContext): Promise<Exercised>;
}

/** `bench run`: the traffic ramp, with the --chaos schedule on its timeline when there is one. */
export const loadExercise: Exercise = {
  validate(plan, config) {
    if (config.chaos.length > 0) rejectPastEnd(planChaos(config.chaos, plan, config.users), config.durationS);
  },
  async run({ config, deployed, stages, io }) {
    io.progress(`load: ${config.workload} workload, open model, ${stages.map((s) => `${s.durationS}s→${s.targetRate.toFixed(0)}/s`).join(', ')}`);
    const load = () => drive(config, deployed.deployment.plan, stages, deployed.runDir, io, io.signal, deployed.metrics?.engine);
    if (config.chaos.length === 0) return { outcome: await load(), faults: [], drills: [], notes: [] };
    const schedule = planChaos(config.chaos, deployed.plan, config.users);
    let driven: DriveOutcome | null = null;
    const got = await runWithChaos({ deployment: deployed.deployment, schedule, signal: io.signal, progress: io.progress }, async () => {
      driven = await load();
      return driven;
    });
    return { outcome: driven!, faults: got.faults, drills: [], notes: got.problems };
  },
};

export interface RunOutcome {
  results: Results;
  runDir: string;
  exitCode: number;
}

/**
 * Runs the whole lifecycle and writes the reports. Tears down unless config.keep.
 *
 * Results are never lost: results.json is written (partial: true) as soon as the load ends, before
 * collection and teardown, whose failures then become notes of the final results. Ctrl-C after the
 * measured load started writes the partial results with verdict `interrupted`, tears down and
 * throws BenchError('interrupted') (exit 130).
 */
export async function executeRun(config: RunConfig, io: RunIO, exercise: Exercise = loadExercise): Promise<RunOutcome> {
  const startedAt = new Date();
  const deployed = await deployTarget(config, io, (p) => exercise.validate(p, config));
  const { deployment, plan, runDir, timings } = deployed;
  let torn = false;
  // the broker's backlog, sampled from the load's start until it drained (topologies with a broker)
  let queueSampler: QueueSampler | null = null;
  let queue: QueueSection | null = null;
  const teardown = async () => {
    torn = true;
    await deployed.metrics?.close();
    await deployment.down();
  };
  try {
    const model = trafficModel({
      users: config.users,
      machineCapRps: config.maxRate ?? defaultMachineCapRps(cpus().length),
      machineCapSource: config.maxRate ? 'flag' : 'estimate',
      rateOverride: config.rate,
    });
    for (const line of model.derivation) io.progress(`traffic model: ${line}`);
    if (model.scaleFactor < 1) {
      io.progress(`the model asks for ${model.peakRps.toFixed(0)} req/s at peak, more than the machine cap (${capLabel(model.machineCapSource)}): running at ${model.targetRps.toFixed(0)} req/s (planned scale factor ${model.scaleFactor.toPrecision(3)}; the achieved one is recorded in results.json)`);
    }
    const planned = stagesFor(model.targetRps, config.durationS);
    // --burst: stage changes on the plan, so both drivers send it and the series' planned rate shows it
    const stages = config.burst ? withBurst(planned, config.burst) : planned;
    if (config.burst) io.progress(`burst: ${formatBurst(config.burst)} (the planned rate × ${config.burst.factor} from t=${config.burst.startS}s for ${config.burst.lengthS}s)`);
    const promUrl = prometheusUrlOf(config, plan);
    if (promUrl) {
      // Counts start from the first scrape: the load waits until every app target was scraped.
      await waitForScrape(promUrl, 'app', { timeoutMs: 20_000, labels: { run: plan.runId }, signal: io.signal }).catch((e: Error) =>
        io.progress(`warning: ${e.message}; per-tier figures may miss the start of the load`),
      );
    }
    const notes: string[] = [];
    let t0 = performance.now();
    const warmup = await warmUp({ config, deployed, model, io, promUrl, notes });
    if (warmup) timings.warmup = since(t0);
    // Counters read directly (the apps' without Prometheus, the edge's access log) count from
    // here, so the warm-up's requests are not taken for the measured load's.
    const baseline = await serverBaseline(deployment, plan, { apps: !promUrl });
    queueSampler = queueSamplerFor(plan, (name, port) => deployment.sideAddress(name, port));
    queueSampler?.start();
    t0 = performance.now();
    const done = await exercise.run({ config, deployed, model, stages, io });
    const outcome = done.outcome;
    timings.load = since(t0);
    notes.push(...done.notes);
    if (model.scaleFactor < 1) notes.push(`scaled: ${model.targetRps.toFixed(1)} of ${model.peakRps.toFixed(1)} req/s (factor ${model.scaleFactor.toPrecision(3)})`);
    const objectives = done.objectives ?? objectivesFor(config, outcome);
    // The job ledger (asynchronous topologies): absent when the topology takes no async work; null
    // when it does but the load recorded no history (k6, or a workload without such requests);
    // read after the partial results are on disk (its drain may take a while).
    const ledgerNext = ledgerStep(ledgerStores(plan), outcome, config.workload);
    let ledger: LedgerSection | null | undefined;
    if (ledgerNext.step === 'null') {
      ledger = null;
      notes.push(ledgerNext.note);
    }
    // PASS, FAIL or INCONCLUSIVE (reports/verdict.ts): a run that measured nothing is never a pass.
    const judge = () => runVerdict({ load: outcome.results, objectives, drills: done.drills, thresholdsFailed: outcome.thresholdsFailed, ledger });
    let judged = judge();
    // read before teardown, which forgets the cgroups
    const enforced = deployment.sizesEnforced?.() ?? {};
    const assemble = (server: ServerView, partial: boolean): Results => ({
      schemaVersion: SCHEMA_VERSION,
      tool: { name: 'bench', version },
      runId: deployed.runId,
      startedAt: startedAt.toISOString(),
      finishedAt: new Date().toISOString(),
      config: {
        phase: config.phase,
        users: config.users,
        durationS: config.durationS,
        rate: config.rate,
        seed: config.seed,
        runtime: deployment.runtime,
        options: config.options,
        chaos: config.chaos,
        burst: config.burst ?? null,
      },
      topology: topologySection(plan, enforced),
      trafficModel: withAchievedScale(model, outcome.results),
      load: outcome.results,
      warmup,
      partial,
      server: { appRequests: server.appRequests },
      tiers: server.tiers,
      prometheus: server.prometheus,
      faults: done.faults,
      drills: done.drills,
      queue,
      objectives,
      timings: { ...timings },
      notes: [...notes, ...server.notes],
      ...(ledger !== undefined ? { ledger } : {}),
      verdict: io.signal.aborted ? 'interrupted' : judged.verdict,
      ...(judged.reason && !io.signal.aborted ? { verdictReason: judged.reason } : {}),
    });
    const interrupted = async (during: string): Promise<never> => {
      const at = join(runDir, REPORT_FILES.json);
      await writeReports(runDir, assemble(notCollected(`interrupted ${during}: the server view was not collected`), true));
      io.progress(`interrupted ${during}: partial results (verdict INTERRUPTED) written to ${at}`);
      throw new BenchError('interrupted', `interrupted ${during}`, `partial results are in ${at}; everything this run started was stopped`);
    };
    if (io.signal.aborted) return await interrupted('during the load');

    // The load's figures are safe on disk before anything else can fail.
    await writeReports(runDir, assemble(notCollected('partial: written when the load ended, before collection and teardown'), true));

    if (queueSampler) {
      io.progress(`queue: sampling ${queueSampler.reader.queue} until it drains (at most ${DEFAULT_DRAIN_BOUND_S}s)`);
      queue = await queueSampler.finish({ loadStartMs: outcome.startedAtMs, durationS: outcome.results.durationS, burst: config.burst ?? null, signal: io.signal });
      io.progress(`queue: peak depth ${queue.peakDepth ?? 'n/a'}, drain after the burst ${queue.drainS === null ? `n/a (${queue.drainNote})` : `${queue.drainS}s`}, slope ${queue.slope.perS === null ? 'n/a' : `${queue.slope.perS.toFixed(2)}/s`}`);
      if (io.signal.aborted) return await interrupted('while sampling the queue');
    }
    if (ledgerNext.step === 'read') {
      t0 = performance.now();
      io.progress(`job ledger: draining (at most ${LEDGER_DRAIN_TIMEOUT_MS / 1000} s), then reading back every operation the load sent`);
      try {
        ledger = await readRunLedger(ledgerNext.stores, ledgerNext.history, { progress: io.progress, signal: io.signal });
      } catch (e) {
        ledger = null;
        notes.push(`job ledger: not read (null): ${(e as Error).message}`);
      }
      timings.ledger = since(t0);
      if (io.signal.aborted) return await interrupted('while reading the job ledger');
      judged = judge();
    }

    t0 = performance.now();
    let server: ServerView;
    try {
      server = await collectServerView(deployment, plan, { startMs: outcome.startedAtMs, endMs: outcome.startedAtMs + outcome.results.durationS * 1000 }, promUrl, baseline);
    } catch (e) {
      server = notCollected(`collection failed: ${(e as Error).message}`);
    }
    timings.collect = since(t0);
    if (io.signal.aborted) return await interrupted('while collecting');
    if (!config.keep) {
      t0 = performance.now();
      try {
        await teardown();
      } catch (e) {
        notes.push(`teardown failed: ${(e as Error).message} (bench down ${deployed.runId} removes what is left)`);
      }
      timings.teardown = since(t0);
    }
    const results = assemble(server, false);
    await writeReports(runDir, results);
    if (results.verdict === 'interrupted') throw new BenchError('interrupted', 'interrupted while tearing down', `results are in ${join(runDir, REPORT_FILES.json)}`);
    return { results, runDir, exitCode: judged.verdict === 'pass' ? 0 : 1 };
  } finally {
    await queueSampler?.stop();
    if (!torn && (!config.keep || io.signal.aborted)) await teardown();
  }
}

/** A server view that was not (or could not be) collected: nulls and empty figures, one note. */
function notCollected(note: string): ServerView {
  return { appRequests: null, tiers: {}, prometheus: {}, notes: [note] };
}

export interface WarmUpInput {
  config: RunConfig;
  deployed: Deployed;
  model: TrafficModel;
  io: RunIO;
  promUrl: string | null;
  notes: string[];
}

/**
 * The warm-up before the measured load: --warmup, or the topology's default (20 s where caches or
 * replicas exist). Its results are kept apart (results.warmup) and judged by nothing. Ctrl-C during
 * it ends the run with nothing measured: no results are written.
 */
export async function warmUp({ config, deployed, model, io, promUrl, notes }: WarmUpInput): Promise<LoadResults | null> {
  const warmupS = config.warmupS ?? defaultWarmupS(deployed.plan.topology);
  if (warmupS <= 0) {
    io.progress(config.warmupS === 0 ? 'warm-up: skipped (--warmup 0)' : 'warm-up: none (no caches or replicas in this phase)');
    return null;
  }
  const stages = warmupStages(model.targetRps, warmupS);
  const driver = config.driver === 'embedded' ? '' : ' by the embedded engine (k6, when it drives, drives the measured load only)';
  io.progress(`warm-up: ${warmupS}s${driver}, ${config.workload} workload, ${stages.map((s) => `${s.durationS}s→${s.targetRate.toFixed(0)}/s`).join(', ')}; recorded apart, not judged`);
  const got = await driveWarmup(config, deployed.plan, stages, io);
  // runLoad returns once its in-flight requests ended: every warm-up request is done by now
  const doneAtS = Date.now() / 1000;
  if (io.signal.aborted) throw new BenchError('interrupted', 'interrupted during the warm-up: nothing was measured, no results written', 'everything this run started was stopped');
  const w = got.results;
  io.progress(`warm-up done: ${w.totals.requests.toLocaleString('en-US')} requests, ${w.totals.errors} errors, p99 ${fmtMs(w.latencyMs.p99)}`);
  if (promUrl) {
    // Every app scraped after the warm-up's end: the measured window's baseline then holds all of
    // the warm-up's requests, none of them counted as the load's.
    await flush(promUrl, doneAtS, { jobs: ['app'], labels: { run: deployed.plan.runId }, timeoutMs: 10_000, signal: io.signal }).catch((e: Error) =>
      notes.push(`the warm-up's last requests may be counted in the server view: ${e.message}`),
    );
  }
  return w;
}

/** The Prometheus a run's figures come from: the user's (--prometheus-url) or the run's own. */
export function prometheusUrlOf(config: Pick<RunConfig, 'prometheusUrl'>, plan: DeployPlan): string | null {
  return config.prometheusUrl ?? (plan.prometheus ? endpointUrl(plan.prometheus.address) : null);
}

/** The run's objectives (reports/verdict.ts): the failed share counts drops; `<=` so 0 is passable. */
export function objectivesFor(config: RunConfig, outcome: LoadOutcome): Objective[] {
  return judgeObjectives(config.objectives, outcome.results);
}

/** results.json's `topology`: the plan's hosts (with whether their size was enforced), services
 *  and edges. Shared by every producer of results (a run, a capacity search). */
export function topologySection(plan: DeployPlan, enforced: Record<string, boolean>): Results['topology'] {
  return {
    phase: plan.topology.phase,
    title: plan.topology.title,
    hosts: plan.hosts.map((h) => ({ name: h.name, ip: h.ip, cpus: h.size.cpus, memoryMb: h.size.memoryMb, region: h.region, ...(h.name in enforced ? { sizeEnforced: enforced[h.name] } : {}) })),
    services: plan.services.map((s) => ({ name: s.name, kind: s.kind, host: s.host, role: s.role, address: `${s.address.host}:${s.address.port}` })),
    edges: plan.edges.map((e) => ({ name: e.name, proxied: e.proxied })),
  };
}
