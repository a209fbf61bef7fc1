// The load step: the embedded engine or k6, chosen by --driver, both giving the same LoadResults.
import { join } from 'node:path';
import { envError } from '../errors.ts';
import type { DeployPlan } from '../topology/plan.ts';
import { endpointUrl, serviceOf } from '../topology/plan.ts';
import { runLoad } from '../load/engine.ts';
import { generatorThreadsFor } from '../load/threads.ts';
import type { LoadOutcome } from '../load/types.ts';
import { k6Available, runK6 } from '../load/k6/driver.ts';
import { workloads } from '../../loadtests/workloads.ts';
import { repoRoot } from '../env/which.ts';
import { K6_INSTALL_HINT } from '../env/components.ts';
import { newSalt } from '../../loadtests/lib/identity.ts';
import type { Stage } from '../../reports/schema.ts';
import type { RunConfig } from './config.ts';
import type { RunIO } from './lifecycle.ts';
import { liveProgress } from './progress.ts';
import { rateFloor } from '../load/traffic-model.ts';
import type { ClientRegion } from '../load/client-regions.ts';
import { phaseClients } from '../../targets/phases/phase-7.ts';
import type { Registry } from 'prom-client';

export interface DriveOutcome extends LoadOutcome {
  driver: 'embedded' | 'k6';
  /** k6 exited 99 */
  thresholdsFailed: boolean;
}

/** The load's targets: the phase's entry for the API, its CDN edge (or the entry) for static assets. */
export function loadTargets(plan: DeployPlan): { api: string; static: string } {
  return {
    api: endpointUrl(serviceOf(plan, plan.topology.entry).address),
    static: endpointUrl(serviceOf(plan, plan.topology.staticEntry ?? plan.topology.entry).address),
  };
}

/** The embedded engine's targets and client regions: phase 7's clients stand in regions and reach
 *  the system through the geo DNS (targets/phases/phase-7.ts phaseClients); other phases: none. */
export function regionalLoad(plan: DeployPlan, config: Pick<RunConfig, 'options'>): { targets: { api: string; static: string }; clientRegions?: ClientRegion[] } {
  const clients = phaseClients(plan, config.options);
  return clients ? { targets: { api: clients.api, static: clients.api }, clientRegions: clients.regions } : { targets: loadTargets(plan) };
}

export async function drive(config: RunConfig, plan: DeployPlan, stages: Stage[], runDir: string, io: RunIO, signal: AbortSignal = io.signal, metricsRegistry?: Registry): Promise<DriveOutcome> {
  const driver = config.driver === 'auto' ? ((await k6Available(process.env, config.k6Bin)) ? 'k6' : 'embedded') : config.driver;
  const targets = loadTargets(plan);
  const regional = regionalLoad(plan, config);
  if (driver === 'k6' && regional.clientRegions) io.progress(`k6 resolves through the system resolver only and cannot follow the geo DNS: its load goes to ${targets.api} (the entry), from no client region`);
  const totalS = stages.reduce((a, s) => a + s.durationS, 0);
  // a fresh salt per load, so a second load on the same deployment signs up new users (no 409s)
  const salt = config.salt ?? newSalt();
  if (driver === 'k6') {
    if (!(await k6Available(process.env, config.k6Bin))) {
      throw envError(config.k6Bin ? `--k6-bin ${config.k6Bin} is not an executable file` : 'k6 is not installed (not on PATH)', `${K6_INSTALL_HINT}; or use --driver embedded`);
    }
    const got = await runK6({
      script: join(repoRoot, 'loadtests', `${config.workload}.k6.ts`),
      targets,
      users: config.users,
      seed: config.seed,
      salt,
      stages,
      workload: config.workload,
      objectives: config.objectives,
      prometheusRwUrl: plan.prometheus ? endpointUrl(plan.prometheus.address) : null,
      summaryPath: join(runDir, 'k6-summary.json'),
      jsonOutPath: join(runDir, 'k6-points.json.gz'),
      binary: config.k6Bin ?? undefined,
      signal,
      onLine: (line) => io.progress(`k6: ${line}`),
    });
    return { results: { ...got.results, salt }, startedAtMs: got.startedAtMs, driver, thresholdsFailed: got.thresholdsFailed };
  }
  // client regions are counted on one thread (harness/load/client-regions.ts); a chosen count stands, and is refused in one line
  const threads = regional.clientRegions && config.generatorThreads == null ? { threads: 1, line: 'generator: 1 thread (client regions are counted on one)' } : generatorThreadsFor(config.generatorThreads, plan.hosts.map((h) => h.size.cpus));
  io.progress(threads.line);
  const live = liveProgress(io.write, io.isTTY);
  try {
    const got = await runLoad({
      generatorThreads: threads.threads,
      ...regional,
      workload: workloads[config.workload]!,
      users: config.users,
      stages,
      seed: config.seed,
      salt,
      signal,
      metricsRegistry,
      onSecond: (p) => live.second(p, Math.round(totalS)),
    });
    return { ...got, results: { ...got.results, salt }, driver, thresholdsFailed: false };
  } finally {
    live.done();
  }
}

/**
 * The warm-up's schedule: from the measured ramp's floor up to the run's rate over the first half
 * of the warm-up (at most 30 s, as the measured ramp: apps cold at 0.2 CPU fall behind for many
 * seconds when flooded at once, and that backlog would spill into the measurement), then held at
 * it, so caches, replicas' buffers and the apps' JIT meet the traffic the measurement will bring.
 */
export function warmupStages(targetRps: number, warmupS: number): Stage[] {
  if (!(warmupS > 0)) return [];
  const ramp = warmupS < 4 ? 0 : Math.min(30, Math.round(warmupS / 2));
  const stages: Stage[] = [{ durationS: 0, targetRate: ramp > 0 ? rateFloor(targetRps) : targetRps }];
  if (ramp > 0) stages.push({ durationS: ramp, targetRate: targetRps });
  stages.push({ durationS: warmupS - ramp, targetRate: targetRps });
  return stages;
}

/** The warm-up's own sign-up salt: fresh, and never the one the measured load was told to use, so
 *  the load's creates never meet an id the warm-up took. */
export function warmupSalt(loadSalt: number | null | undefined, random: () => number = Math.random): number {
  for (;;) {
    const salt = newSalt(random);
    if (salt !== loadSalt) return salt;
  }
}

/**
 * Runs the warm-up with the embedded engine whatever --driver says (k6 drives the measured load
 * only: one more k6 process would cost its start-up and mix its remote-written series with the
 * measurement's). Same workload and seed as the load, no metrics registry (its requests stay out
 * of the engine's Prometheus series), and its own sign-up salt (no id the measured load takes).
 */
export async function driveWarmup(config: RunConfig, plan: DeployPlan, stages: Stage[], io: RunIO, signal: AbortSignal = io.signal): Promise<LoadOutcome> {
  const totalS = stages.reduce((a, s) => a + s.durationS, 0);
  const live = liveProgress((t) => io.write(t.replace('  t=', '  warm-up t=')), io.isTTY);
  try {
    return await runLoad({
      ...regionalLoad(plan, config),
      workload: workloads[config.workload]!,
      users: config.users,
      salt: warmupSalt(config.salt),
      stages,
      seed: config.seed,
      signal,
      onSecond: (p) => live.second(p, Math.round(totalS)),
    });
  } finally {
    live.done();
  }
}
