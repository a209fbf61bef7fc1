// Assembles a bench k6 script for one workload: options, the iteration function and handleSummary.
// Each loadtests/<workload>.k6.ts is a few lines that call benchScript() and export its parts.
import exec from 'k6/execution';
import { workloads } from '../workloads.ts';
import { readConfig, type ScriptConfig } from './config.ts';
import { buildOptions } from './options.ts';
import { iterationPlanner } from './plan.ts';
import { send } from './requests.ts';
import { summaryOutputs, type SummaryData } from './summary.ts';
import type { Options } from 'k6/options';

// `bench export-k6` bakes the run's settings into the bundle under this name (esbuild `define`),
// so an exported script runs with a bare `k6 run`; variables given to k6 still override them.
declare const __BENCH_BAKED_ENV__: Record<string, string> | undefined;

/** The exports of a bench k6 script. */
export interface BenchScript {
  config: ScriptConfig;
  options: Options;
  iteration: () => void;
  handleSummary: (data: SummaryData) => Record<string, string>;
}

/** Builds the script for `workloadName` from __ENV (k6 evaluates this once per VU, in the init context). */
export function benchScript(workloadName: string): BenchScript {
  const workload = workloads[workloadName];
  if (workload === undefined) {
    throw new Error(`bench k6 script: no workload named ${workloadName} (known: ${Object.keys(workloads).join(', ')})`);
  }
  const baked = typeof __BENCH_BAKED_ENV__ === 'undefined' ? {} : __BENCH_BAKED_ENV__;
  const config = readConfig({ ...baked, ...__ENV }, workloadName);
  const planner = iterationPlanner(workload, config.users, config.seed);
  return {
    config,
    options: buildOptions(config, planner.kinds),
    // iterationInTest is unique across the whole run, so it numbers the request stream and the created ids
    iteration: () => send(planner.plan(exec.scenario.iterationInTest), config),
    handleSummary: (data) => summaryOutputs(data, { summaryPath: config.summaryPath, workload: workloadName }),
  };
}
