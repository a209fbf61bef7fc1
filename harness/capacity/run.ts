// `bench capacity`: deploy a phase once (seeded and settled), warm it up once, then search the
// highest arrival rate it sustains under an objective (harness/capacity/search.ts), each step
// driven by the run's own drive(); write capacity.json and summary.md into the run directory;
// tear down whatever happens.
//
// A step is one drive at the step's rate for settle + hold seconds. Its measurement is the hold
// window: the per-second HDR histograms of the seconds from the settle's end on, merged exactly
// (a window's percentile cannot be made from per-second percentiles), so the settle's seconds,
// with their freshly opened connections, never reach the figures and no pause splits the load.
import { writeFile } from 'node:fs/promises';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { BenchError } from '../errors.ts';
import type { RunConfig } from '../run/config.ts';
import { deployTarget, prometheusUrlOf, topologySection, warmUp, type Deployed, type RunIO } from '../run/lifecycle.ts';
import { drive } from '../run/drive.ts';
import { defaultMachineCapRps, trafficModel } from '../load/traffic-model.ts';
import { mergeSeconds } from '../load/histogram.ts';
import { SCHEMA_VERSION, type TrafficModel, type Latency, type LoadResults, type Objective as ResultObjective, type Results } from '../../reports/schema.ts';
import type { CapacityAnswer, CapacitySection, CapacityStep } from '../../reports/capacity-schema.ts';
import { writeReports } from '../../reports/index.ts';
import { capacityMarkdownLines } from '../../reports/capacity-markdown.ts';
import { withAchievedScale } from '../../reports/verdict.ts';
import { version } from '../run/version.ts';
import { evaluateObjective, type Objective } from './objective.ts';
import { hostCpuStats, saturatedFirst, snapshot, throttlingBetween, type Throttling } from './throttle.ts';
import { searchCapacity, type CapacityResult, type Step, type StepRecord } from './search.ts';

export interface CapacityOptions {
  /** the target and the load: phase, users, workload, seed, runtime, driver, out */
  run: RunConfig;
  objective: Objective;
  /** seconds each step runs before it is measured */
  settleS: number;
  /** seconds each step is measured for */
  holdS: number;
  /** seconds the found rate is held to confirm it */
  confirmS: number;
  /** the whole search's budget, deployment excluded */
  maxTimeS: number;
  startRate: number;
  /** the highest rate tried; default: what this machine's generator can drive */
  maxRate: number | null;
  growth: number;
  resolution: number;
  maxSteps: number;
}

/** One step as capacity.json (and results.json's capacity section) records it. */
export type CapacityStepJson = CapacityStep;

/** capacity.json: the search's settings, what was deployed, every step and the answer. */
export interface CapacityJson {
  kind: 'bench-capacity';
  version: 1;
  runId: string;
  startedAt: string;
  finishedAt: string;
  phase: number;
  title: string;
  config: {
    users: number;
    workload: string;
    seed: number;
    driver: RunConfig['driver'];
    runtime: string;
    objective: string;
    settleS: number;
    holdS: number;
    confirmS: number;
    maxTimeS: number;
    startRate: number;
    maxRate: number;
    growth: number;
    resolution: number;
    maxSteps: number;
  };
  hosts: Array<{ name: string; cpus: number; memoryMb: number }>;
  /** the one warm-up after the deployment, at the start rate; null when skipped or none */
  warmup: { durationS: number; rate: number; requests: number; errors: number; p99Ms: number | null } | null;
  /** the answer and every step; the most throttled host at the lowest failing rate (throttle.ts), or why there is none */
  capacity: CapacityAnswer;
  timings: Record<string, number>;
}

export interface CapacityRunOutcome {
  json: CapacityJson;
  runDir: string;
  /** 0 when a sustainable rate was found (or bounded from below), 1 otherwise */
  exitCode: number;
}

export async function runCapacity(options: CapacityOptions, io: RunIO): Promise<CapacityRunOutcome> {
  const startedAt = new Date();
  const config = options.run;
  const deployT0 = performance.now();
  const deployed = await deployTarget(config, io);
  // Read per step: a host whose quota could not be set (or was lost) makes the step inconclusive.
  const sizesEnforced = () => Object.values(deployed.deployment.sizesEnforced?.() ?? {}).every(Boolean);
  const timings: Record<string, number> = { ...deployed.timings, deployAndSeed: secondsSince(deployT0) };
  // each step's hold window and its whole drive: results.json's load is the sustainable rate's drive
  const extra = new Map<number, { hold: HoldWindow; load: LoadResults }>();
  const maxRate = options.maxRate ?? defaultMachineCapRps(cpus().length);
  // read before teardown, which forgets the cgroups
  let enforced: Record<string, boolean> = {};
  let result: CapacityResult;
  let warmup: CapacityJson['warmup'] = null;
  const warmupNotes: string[] = [];
  try {
    const startRate = Math.min(options.startRate, maxRate);
    // Once, at the start rate, as a run warms up before its load: caches, replicas' buffers and
    // the apps' JIT meet the traffic before the first step. Each step then only settles.
    const warmT0 = performance.now();
    const model = trafficModel({ users: config.users, machineCapRps: maxRate, machineCapSource: 'flag', rateOverride: startRate });
    const w = await warmUp({ config, deployed, model, io, promUrl: prometheusUrlOf(config, deployed.plan), notes: warmupNotes });
    if (w) {
      timings.warmup = secondsSince(warmT0);
      warmup = { durationS: w.durationS, rate: startRate, requests: w.totals.requests, errors: w.totals.errors, p99Ms: w.latencyMs.p99 };
    }
    io.progress(
      `capacity search: objective ${options.objective.text}; from ${startRate} req/s, x${options.growth} until it fails, then bisect to ${Math.round(options.resolution * 100)}%; ` +
        `each step settles ${options.settleS} s and holds ${options.holdS} s; confirm ${options.confirmS} s; at most ${options.maxTimeS} s`,
    );
    const cpuStats = await hostCpuStats(deployed.runId);
    const searchT0 = performance.now();
    let index = 0;
    result = await searchCapacity({
      objective: options.objective,
      startRate,
      maxRate,
      growth: options.growth,
      resolution: options.resolution,
      maxSteps: options.maxSteps,
      maxTimeMs: options.maxTimeS * 1000,
      now: () => performance.now(),
      // one drive: opening its connections and draining its last requests, about two seconds
      stepCostMs: (phase) => (options.settleS + (phase === 'confirm' ? options.confirmS : options.holdS) + 2) * 1000,
      measure: async (rate, phase) => {
        index++;
        const holdS = phase === 'confirm' ? options.confirmS : options.holdS;
        io.progress(`step ${index} (${phase}): ${rate} req/s — settle ${options.settleS} s, measure ${holdS} s`);
        const { hold, load } = await measureStep(config, deployed, io, rate, options.settleS, holdS, cpuStats);
        extra.set(index, { hold, load });
        if (hold.unmergeable) io.progress(`step ${index}: the hold window could not be merged from per-second histograms; its latency is unmeasured`);
        return stepOf(rate, hold, sizesEnforced());
      },
      onStep: (r) => io.progress(`step ${r.index} (${r.phase}): ${r.rate} req/s -> ${r.verdict.toUpperCase()}: ${describeStep(r)}`),
    });
    timings.search = secondsSince(searchT0);
    enforced = deployed.deployment.sizesEnforced?.() ?? {};
  } finally {
    const t0 = performance.now();
    await deployed.metrics?.close();
    await deployed.deployment.down();
    timings.teardown = secondsSince(t0);
  }
  const { steps, curve: _curve, ...answer } = result;
  answer.notes.push(...warmupNotes);
  const stepsJson = steps.map((r) => stepJson(r, extra.get(r.index)!.hold));
  const json: CapacityJson = {
    kind: 'bench-capacity',
    version: 1,
    runId: deployed.runId,
    startedAt: startedAt.toISOString(),
    finishedAt: new Date().toISOString(),
    phase: config.phase,
    title: deployed.plan.topology.title,
    config: {
      users: config.users,
      workload: config.workload,
      seed: config.seed,
      driver: config.driver,
      runtime: deployed.deployment.runtime,
      objective: options.objective.text,
      settleS: options.settleS,
      holdS: options.holdS,
      confirmS: options.confirmS,
      maxTimeS: options.maxTimeS,
      startRate: options.startRate,
      maxRate,
      growth: options.growth,
      resolution: options.resolution,
      maxSteps: options.maxSteps,
    },
    hosts: deployed.plan.hosts.map((h) => ({ name: h.name, cpus: h.size.cpus, memoryMb: h.size.memoryMb })),
    warmup,
    capacity: { ...answer, steps: stepsJson, saturatedFirst: saturatedFirst(stepsJson) },
    timings,
  };
  await writeFile(join(deployed.runDir, 'capacity.json'), JSON.stringify(json, null, 2) + '\n');
  // results.json (with its capacity section), report.html, summary.md and junit.xml, as a run writes them
  const loadStep = loadStepOf(stepsJson, answer.sustainableRate);
  const results = capacityResults(json, deployed, config, enforced, loadStep === null ? null : { index: loadStep, load: extra.get(loadStep)!.load }, options.objective, maxRate);
  await writeReports(deployed.runDir, results);
  const ok = answer.outcome === 'found' || answer.outcome === 'at-least';
  return { json, runDir: deployed.runDir, exitCode: ok ? 0 : 1 };
}

/**
 * One drive at `rate` for settle + hold seconds; the step's figures are the hold window's (the
 * seconds from `settleS` on, the drain after the schedule included: requests sent in the hold
 * complete there).
 */
async function measureStep(config: RunConfig, deployed: Deployed, io: RunIO, rate: number, settleS: number, holdS: number, cpuStats: Map<string, string>): Promise<{ hold: HoldWindow; load: LoadResults }> {
  const plan = deployed.deployment.plan;
  // the hosts' throttling counters when the hold window starts, and when the drive ended
  let before: ReturnType<typeof snapshot> | null = null;
  const timer = cpuStats.size > 0 ? setTimeout(() => (before = snapshot(cpuStats)), settleS * 1000) : null;
  // No metrics registry: the engine registers its series once per registry, and a search runs
  // many drives. The step's figures are in capacity.json.
  let got;
  try {
    got = await drive(config, plan, [{ durationS: 0, targetRate: rate }, { durationS: settleS + holdS, targetRate: rate }], deployed.runDir, io, io.signal);
  } finally {
    if (timer) clearTimeout(timer);
  }
  const started = before as ReturnType<typeof snapshot> | null;
  const throttling = started ? throttlingBetween(await started, await snapshot(cpuStats)) : null;
  interrupted(io);
  return { hold: { ...holdWindow(got.results, settleS, holdS), throttling }, load: got.results };
}

/**
 * The step whose drive results.json's `load` is: at the sustainable rate, its confirmation first
 * (the longest hold there); null when no rate held. Only a passing step: an inconclusive one is
 * never a capacity.
 */
export function loadStepOf(steps: readonly CapacityStep[], sustainableRate: number | null): number | null {
  if (sustainableRate === null) return null;
  const at = steps.filter((s) => s.rate === sustainableRate && s.verdict === 'pass');
  const pick = at.find((s) => s.phase === 'confirm') ?? at[at.length - 1];
  return pick?.index ?? null;
}

/** results.json's capacity section from capacity.json: the answer, the steps and the settings. */
export function capacitySectionOf(j: CapacityJson, loadStep: number | null): CapacitySection {
  const { users: _u, workload: _w, seed: _s, driver: _d, runtime: _r, ...settings } = j.config;
  return { kind: 'search', ...j.capacity, settings, loadStep };
}

/**
 * A capacity search as results.json: its load is the drive at the sustainable rate (the report's
 * charts over time, endpoints and status codes describe that drive), its objectives are the
 * search's objective on that step, and its verdict is the search's: PASS when a rate was found
 * (or bounded from below), FAIL when none held, INCONCLUSIVE when no step could judge the system.
 */
export function capacityResults(
  j: CapacityJson,
  deployed: Pick<Deployed, 'plan'>,
  config: RunConfig,
  enforced: Record<string, boolean>,
  step: { index: number; load: LoadResults } | null,
  objective: Objective,
  maxRate: number,
): Results {
  const plan = deployed.plan;
  const c = j.capacity;
  const loadStep = step === null ? null : c.steps.find((s) => s.index === step.index)!;
  const rate = loadStep?.rate ?? j.config.startRate;
  const model: TrafficModel = trafficModel({ users: config.users, machineCapRps: maxRate, machineCapSource: 'flag', rateOverride: rate });
  const load = step?.load ?? emptyLoad(config);
  const objectives: ResultObjective[] =
    loadStep === null
      ? []
      : evaluateObjective(objective, loadStep).checks.map((ch) => ({
          name: ch.bound.kind === 'latency' ? ch.bound.percentile : 'errors',
          description: `${ch.bound.text} at ${loadStep.rate} req/s (step ${loadStep.index}'s hold window)`,
          threshold: ch.bound.kind === 'latency' ? ch.bound.limitMs : ch.bound.limitRatio,
          actual: ch.measured,
          pass: ch.verdict === 'pass',
        }));
  const ok = c.outcome === 'found' || c.outcome === 'at-least';
  const verdict = ok ? 'pass' : c.outcome === 'inconclusive' ? 'inconclusive' : 'fail';
  const reason =
    c.outcome === 'inconclusive'
      ? `no step of the capacity search could judge the system (stopped by ${c.stoppedBy})`
      : ok
        ? undefined
        : c.outcome === 'none'
          ? `the objective ${objective.text} failed even at the lowest rate tried`
          : 'every confirmation of the found rate failed';
  return {
    schemaVersion: SCHEMA_VERSION,
    tool: { name: 'bench', version },
    runId: j.runId,
    startedAt: j.startedAt,
    finishedAt: j.finishedAt,
    config: {
      phase: config.phase,
      users: config.users,
      durationS: load.durationS,
      rate: loadStep?.rate ?? null,
      seed: config.seed,
      runtime: j.config.runtime as Results['config']['runtime'],
      options: config.options,
      chaos: [],
    },
    topology: topologySection(plan, enforced),
    trafficModel: withAchievedScale(model, load),
    load,
    warmup: null,
    partial: false,
    server: { appRequests: null },
    tiers: {},
    prometheus: {},
    faults: [],
    drills: [],
    objectives,
    timings: j.timings,
    notes: [
      loadStep === null
        ? 'no rate held the objective: the load below is empty, and the capacity section holds every step'
        : `the load below is step ${loadStep.index} of the capacity search (${loadStep.phase}, ${loadStep.rate} req/s): its figures cover the whole drive, settle included; the capacity section's figures are its hold window's`,
      ...c.notes,
    ],
    verdict,
    ...(reason ? { verdictReason: reason } : {}),
    capacity: capacitySectionOf(j, loadStep?.index ?? null),
  };
}

/** The load of a search where no rate held: nothing is shown as measured (nulls, no series). */
function emptyLoad(config: RunConfig): LoadResults {
  const none = { p50: null, p90: null, p95: null, p99: null, p999: null, max: null, mean: null };
  return {
    driver: config.driver === 'k6' ? 'k6' : 'embedded',
    workload: config.workload,
    stages: [],
    durationS: 0,
    totals: { requests: 0, ok: 0, errors: 0, dropped: 0, throughputRps: 0, errorRate: 0, failRate: null },
    latencyMs: none,
    endpoints: {},
    statusCodes: {},
    errorKinds: {},
    series: [],
    generator: { saturated: false, maxLagMs: 0, peakRssMb: 0 },
  };
}

/** The measured window of a step's drive: counts and a latency merged from its seconds' HDRs. */
export interface HoldWindow {
  fromS: number;
  durationS: number;
  requests: number;
  errors: number;
  dropped: number;
  /** null: nothing completed in the window, or its seconds carry no histogram to merge */
  latencyMs: Latency | null;
  /** a second that completed requests had no histogram: the window's latency is unknown */
  unmergeable: boolean;
  /** the whole drive's: the generator reports its lag once per load, not per second */
  generator: { limited: boolean; saturated: boolean };
  /** per host over the hold window (throttle.ts); null: not measured */
  throttling?: Throttling | null;
}

export function holdWindow(load: LoadResults, settleS: number, holdS: number): HoldWindow {
  const seconds = load.series.filter((p) => p.t >= settleS);
  const sum = (f: (p: (typeof seconds)[number]) => number) => seconds.reduce((a, p) => a + f(p), 0);
  const merged = mergeSeconds(seconds);
  const requests = sum((p) => p.requests);
  return {
    fromS: settleS,
    durationS: holdS,
    requests,
    errors: sum((p) => p.errors),
    dropped: sum((p) => p.dropped),
    latencyMs: merged !== null && merged.count > 0 ? merged.summary() : null,
    unmergeable: merged === null && requests > 0,
    generator: { limited: load.generator.limited ?? false, saturated: load.generator.saturated },
  };
}

function interrupted(io: RunIO): void {
  if (io.signal.aborted) throw new BenchError('interrupted', 'interrupted during the capacity search', 'everything this run started was stopped');
}

/** A step's figures from its hold window. Nothing completed = nothing measured: null, never 0. */
export function stepOf(rate: number, w: HoldWindow, sizesEnforced: boolean): Step {
  const l = w.latencyMs;
  const offered = w.requests + w.dropped;
  return {
    plannedRate: rate,
    achievedRate: w.durationS > 0 ? w.requests / w.durationS : null,
    latencyMs: l !== null && w.requests > 0 ? { p50: l.p50, p90: l.p90, p95: l.p95, p99: l.p99, p999: l.p999 } : {},
    // a dropped request is one the system never got to answer in time: it counts as an error
    errorRate: offered > 0 ? (w.errors + w.dropped) / offered : null,
    dropped: w.dropped,
    generatorLimited: w.generator.limited,
    generatorSaturated: w.generator.saturated,
    sizesEnforced,
  };
}

function stepJson(r: StepRecord, w: HoldWindow): CapacityStepJson {
  return {
    index: r.index,
    phase: r.phase,
    rate: r.rate,
    verdict: r.verdict,
    reason: r.reason,
    atS: round1(r.atMs / 1000),
    durationS: round1(r.durationMs / 1000),
    achievedRate: r.step.achievedRate === null ? null : round1(r.step.achievedRate),
    latencyMs: r.step.latencyMs,
    errorRate: r.step.errorRate,
    requests: w.requests,
    errors: w.errors,
    dropped: w.dropped,
    generatorLimited: r.step.generatorLimited,
    generatorSaturated: r.step.generatorSaturated,
    sizesEnforced: r.step.sizesEnforced,
    throttling: w.throttling ?? null,
  };
}

function describeStep(r: StepRecord): string {
  const s = r.step;
  const ms = (x: number | null | undefined) => (x === null || x === undefined ? 'n/a' : `${x.toFixed(1)} ms`);
  const err = s.errorRate === null ? 'n/a' : `${(s.errorRate * 100).toFixed(2)}%`;
  const done = s.achievedRate === null ? 'n/a' : `${s.achievedRate.toFixed(0)} req/s`;
  return `done ${done}, p50 ${ms(s.latencyMs.p50)}, p99 ${ms(s.latencyMs.p99)}, errors ${err} — ${r.reason}`;
}

/** The capacity run's summary on stdout: the run, then the answer and the curve (reports/capacity-markdown.ts). */
export function capacityMarkdown(j: CapacityJson): string {
  const lines = [
    `# Capacity of phase ${j.phase} (${j.title})`,
    '',
    `Objective \`${j.config.objective}\`, ${j.config.workload} workload, ${j.config.users.toLocaleString('en-US')} users, ${j.config.runtime} runtime, run \`${j.runId}\`.`,
    '',
    ...capacityMarkdownLines(j.capacity, j.config.confirmS),
    `Hosts: ${j.hosts.map((h) => `${h.name} ${h.cpus} CPU / ${h.memoryMb} MB`).join(', ')}.`,
    '',
  ];
  return lines.join('\n');
}

const secondsSince = (t0: number) => Math.round((performance.now() - t0) / 100) / 10;
const round1 = (x: number) => Math.round(x * 10) / 10;
