// Assembles a bench k6 script for one workload: options, the iteration function and handleSummary.
// Each loadtests/<workload>.k6.ts is a few lines that call benchScript() and export its parts.
import exec from 'k6/execution';
import { workloads } from '../workloads.ts';
import { readConfig, type ScriptConfig } from './config.ts';
import { buildOptions } from './options.ts';
import { iterationPlanner } from './plan.ts';
import { send } from './requests.ts';
import { summaryOutputs, type SummaryData } from './summary.ts';
import { newSalt } from './identity.ts';
import type { Options } from 'k6/options';

// `bench export-k6` bakes the run's settings into the bundle under this name (esbuild `define`),
// so an exported script runs with a bare `k6 run`; variables given to k6 still override them.
declare const __BENCH_BAKED_ENV__: Record<string, string> | undefined;
// k6 provides console (its log goes to k6's output); @types/k6 does not declare it
declare const console: { log(message: string): void };

/** The exports of a bench k6 script. */
export interface BenchScript {
  config: ScriptConfig;
  options: Options;
  /** runs once per k6 process before the load: fixes the load's salt (BENCH_SALT, else a fresh one) */
  setup: () => SetupData;
  iteration: (data: SetupData) => void;
  handleSummary: (data: SummaryData) => Record<string, string>;
}

/** What setup() hands every VU (k6 copies it as JSON). */
export interface SetupData {
  salt: number;
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
    // one salt per load: setup() runs once per k6 process, and every VU reads what it returned
    // (each VU's init context runs on its own, so a salt drawn there would differ per VU)
    setup: () => {
      const salt = config.salt ?? newSalt();
      console.log(`bench: sign-up salt ${salt} (BENCH_SALT=${salt} with BENCH_SEED=${config.seed} repeats this load's requests)`);
      return { salt };
    },
    // iterationInTest is unique across the whole run, so it numbers the request stream and the created ids
    iteration: (data) => send(planner.plan(exec.scenario.iterationInTest, data.salt), config),
    // the salt goes into the summary the driver reads (k6 hands handleSummary the setup data as setup_data)
    handleSummary: (data) => {
      const setupSalt = (data.setup_data as Partial<SetupData> | undefined)?.salt;
      const bench = { salt: typeof setupSalt === 'number' ? setupSalt : config.salt, seed: config.seed };
      return summaryOutputs({ ...data, bench }, { summaryPath: config.summaryPath, workload: workloadName });
    },
  };
}
