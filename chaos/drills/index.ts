// The drill registry: every drill, keyed by name (a duplicate is an error at load time), and the
// validation that a drill makes sense for a phase.
import { BenchError } from '../../harness/errors.ts';
import type { DeployPlan } from '../../harness/topology/plan.ts';
import { registry } from '../faults/index.ts';
import type { DrillLookup } from '../schedule.ts';
import { cacheOutage } from './cache-outage.ts';
import { cdnOutage } from './cdn-outage.ts';
import { dbPrimaryFailure } from './db-primary-failure.ts';
import { deadServer } from './dead-server.ts';
import { hungServer } from './hung-server.ts';
import { networkPartition } from './network-partition.ts';
import { replicaLoss } from './replica-loss.ts';
import { shardOutage } from './shard-outage.ts';
import { slowDatabase } from './slow-database.ts';
import { newDrillState, type Drill, type DrillState, type DrillTiming } from './types.ts';

const all: Drill[] = [deadServer, hungServer, dbPrimaryFailure, replicaLoss, cacheOutage, cdnOutage, shardOutage, slowDatabase, networkPartition];

/** Every drill by name. */
export const drills: ReadonlyMap<string, Drill> = registry('drill', all);

/** The drills that make sense for `phase`. */
export function drillsForPhase(phase: number): Drill[] {
  return all.filter((d) => d.phases.includes(phase));
}

/**
 * The drill called `name`, checked against `phase`. Throws BenchError('usage'): for an unknown
 * name, listing every drill; for a drill that makes no sense in the phase, listing the valid ones.
 */
export function validateDrill(name: string, phase: number): Drill {
  const d = drills.get(name);
  if (!d) throw new BenchError('usage', `unknown drill ${name}`, `drills: ${[...drills.keys()].join(', ')}`);
  if (!d.phases.includes(phase)) {
    const valid = drillsForPhase(phase).map((x) => x.name);
    throw new BenchError(
      'usage',
      `drill ${name} makes no sense in phase ${phase} (it needs phase ${d.phases.join(', ')})`,
      valid.length ? `drills for phase ${phase}: ${valid.join(', ')}` : `no drill applies to phase ${phase}`,
    );
  }
  return d;
}

/** Fills a drill's timing from the user's options and the drill's defaults. */
export function drillTiming(d: Drill, o: { atS?: number | null; durationS?: number | null; target?: string; params?: string[]; users: number; workload?: string }): DrillTiming {
  const atS = o.atS ?? d.defaults.atS;
  const durationS = o.durationS ?? d.defaults.durationS;
  if (!(atS >= 0)) throw new BenchError('usage', `--at ${atS}: a fault starts at 0 s or later`, 'use --at 30s');
  if (!(durationS >= 0)) throw new BenchError('usage', `--duration ${durationS}: a fault lasts 0 s or more`, 'use --duration 20s');
  return { atS, durationS, target: o.target, params: o.params ?? [], users: o.users, workload: o.workload ?? d.workload };
}

/**
 * Drills as schedule entries (`bench run --chaos dead-server@30s`): the drill's faults, with its
 * default timing where the entry gives none. Actions a drill takes (a failover) come along; its
 * hypothesis and verification do not (that is `bench drill`).
 */
export function drillLookup(users: number, states?: Map<string, DrillState>): DrillLookup {
  return {
    has: (name) => drills.has(name),
    names: () => [...drills.keys()],
    schedule(name, plan: DeployPlan, o) {
      const d = validateDrill(name, plan.topology.phase);
      const state = newDrillState();
      states?.set(name, state);
      return d.schedule(plan, drillTiming(d, { atS: o.atS, durationS: o.durationS, target: o.target, params: o.params, users }), state);
    },
  };
}
