// The load step: the embedded engine or k6, chosen by --driver, both giving the same LoadResults.
import { join } from 'node:path';
import { envError } from '../errors.ts';
import type { DeployPlan } from '../topology/plan.ts';
import { endpointUrl, serviceOf } from '../topology/plan.ts';
import { runLoad } from '../load/engine.ts';
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

export async function drive(config: RunConfig, plan: DeployPlan, stages: Stage[], runDir: string, io: RunIO, signal: AbortSignal = io.signal, metricsRegistry?: Registry): Promise<DriveOutcome> {
  const driver = config.driver === 'auto' ? ((await k6Available(process.env, config.k6Bin)) ? 'k6' : 'embedded') : config.driver;
  const targets = loadTargets(plan);
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
  const live = liveProgress(io.write, io.isTTY);
  try {
    const got = await runLoad({
      targets,
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
