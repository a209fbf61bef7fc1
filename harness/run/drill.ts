// `bench drill`: a run whose exercise is an SRE failure drill. The drill brings its own load
// shape (a short ramp, then a steady rate through the fault and a recovery tail), its fault
// schedule, its rollback and its verdict; the run is judged by the drill's hypothesis.
import { runDrill, validateDrill, drillTiming } from '../../chaos/index.ts';
import { newDrillState } from '../../chaos/drills/types.ts';
import { runLoad } from '../load/engine.ts';
import { generatorThreadsFor } from '../load/threads.ts';
import { shardMapOf } from '../../chaos/drills/lookup.ts';
import type { Exercise } from './lifecycle.ts';
import { regionalLoad } from './drive.ts';
import { liveProgress } from './progress.ts';

/** The steady rate of a drill when --rate is not given: enough requests that a fault shows. */
export const DRILL_DEFAULT_RATE = 100;

export interface DrillChoice {
  name: string;
  atS: number | null;
  durationS: number | null;
  target?: string;
  /** the drill's own parameters (`--param factor=5`), in order */
  params?: string[];
}

export function drillExercise(choice: DrillChoice): Exercise {
  return {
    validate(plan, config) {
      const d = validateDrill(choice.name, plan);
      const timing = drillTiming(d, { atS: choice.atS, durationS: choice.durationS, target: choice.target, params: choice.params, users: config.users });
      // placing the faults resolves --target against the plan: a wrong one fails before deploying
      d.schedule(plan, timing, newDrillState());
    },
    async run({ config, deployed, io }) {
      // a drill on shards counts per shard, which one thread alone can (threads.ts): one by default
      const sharded = shardMapOf(deployed.plan) !== undefined;
      // client regions (phase 7) are counted on one thread too (harness/load/client-regions.ts)
      const regional = regionalLoad(deployed.plan, config);
      const threads = generatorThreadsFor(config.generatorThreads ?? (sharded || regional.clientRegions ? 1 : null), deployed.plan.hosts.map((h) => h.size.cpus));
      io.progress(threads.line);
      const live = liveProgress(io.write, io.isTTY);
      try {
        const out = await runDrill({
          deployment: deployed.deployment,
          drill: choice.name,
          // the values the drill writes carry the run's id (the write checker tells them apart)
          runId: deployed.plan.runId,
          atS: choice.atS ?? undefined,
          durationS: choice.durationS ?? undefined,
          target: choice.target,
          params: choice.params,
          signal: io.signal,
          progress: (line) => {
            live.done();
            io.progress(line);
          },
          runLoad,
          load: {
            ...regional,
            users: config.users,
            seed: config.seed,
            rate: config.rate ?? DRILL_DEFAULT_RATE,
            metricsRegistry: deployed.metrics?.engine,
            generatorThreads: threads.threads,
            onSecond: (p) => live.second(p, 0),
          },
        });
        return { outcome: { ...out.load, driver: 'embedded', thresholdsFailed: false }, faults: out.faults, drills: [out.drill], notes: [], objectives: [] };
      } finally {
        live.done();
      }
    },
  };
}
