// The drill registry: every drill, keyed by name (a duplicate is an error at load time), and the
// validation that a drill applies to a deployment: by what the deployment has (a cache, a CDN
// edge, a replica, two shards), never by a list of phase numbers.
import { BenchError } from '../../harness/errors.ts';
import { plan as makePlan, type DeployPlan } from '../../harness/topology/plan.ts';
import { phases } from '../../targets/phases/index.ts';
import { registry } from '../faults/index.ts';
import type { DrillLookup } from '../schedule.ts';
import { backlogDrain } from './backlog-drain.ts';
import { brokerOutage } from './broker-outage.ts';
import { cacheOutage } from './cache-outage.ts';
import { cdnOutage } from './cdn-outage.ts';
import { datacenterOutage } from './datacenter-outage.ts';
import { dbPrimaryFailure } from './db-primary-failure.ts';
import { deadServer } from './dead-server.ts';
import { hungServer } from './hung-server.ts';
import { networkPartition } from './network-partition.ts';
import { poisonMessage } from './poison-message.ts';
import { regionEvacuation } from './region-evacuation.ts';
import { regionPartition } from './region-partition.ts';
import { replicaLoss } from './replica-loss.ts';
import { serviceDown } from './service-down.ts';
import { shardOutage } from './shard-outage.ts';
import { slowConsumer } from './slow-consumer.ts';
import { slowDatabase } from './slow-database.ts';
import { wanDegradation } from './wan-degradation.ts';
import { workerCrash } from './worker-crash.ts';
import { newDrillState, type Applicability, type Drill, type DrillState, type DrillTiming } from './types.ts';

const all: Drill[] = [deadServer, hungServer, dbPrimaryFailure, replicaLoss, cacheOutage, cdnOutage, shardOutage, slowDatabase, networkPartition, brokerOutage, workerCrash, poisonMessage, serviceDown, backlogDrain, slowConsumer, datacenterOutage, regionPartition, regionEvacuation, wanDegradation];

/** Every drill by name. */
export const drills: ReadonlyMap<string, Drill> = registry('drill', all);

/** The drills that apply to a deployment (applies(plan)), in registry order. */
export function drillsFor(plan: DeployPlan): Drill[] {
  return all.filter((d) => d.applies(plan).ok);
}

/**
 * The drill called `name`, checked against the deployment by what it has (applies()). Throws
 * BenchError('usage'): for an unknown name, listing every drill; for a drill that does not apply,
 * with the reason and the drills that do.
 */
export function validateDrill(name: string, plan: DeployPlan): Drill {
  const d = drills.get(name);
  if (!d) throw new BenchError('usage', `unknown drill ${name}`, `drills: ${[...drills.keys()].join(', ')}`);
  const a = d.applies(plan);
  if (!a.ok) {
    const phase = plan.topology.phase;
    const valid = drillsFor(plan).map((x) => x.name);
    throw new BenchError(
      'usage',
      `drill ${name} does not apply to phase ${phase}: ${a.reason}`,
      valid.length ? `drills for phase ${phase}: ${valid.join(', ')}` : `no drill applies to phase ${phase}`,
    );
  }
  return d;
}

/** Per phase of the ladder, with its default options: whether each drill applies, or why not. */
export interface PhaseDrills {
  phase: number;
  /** null when the phase is built; else why there is no deployment to drill */
  notBuilt: string | null;
  drills: { name: string; applies: Applicability }[];
}

/**
 * What applies where, derived from each phase's default deployment (bench drill --list). Other
 * options change it (--replicas 0 takes replica-loss away), and validateDrill judges the real one.
 */
export function drillsByPhase(): PhaseDrills[] {
  return [...phases.values()]
    .sort((a, b) => a.phase - b.phase)
    .map((def) => {
      if (!def.built) return { phase: def.phase, notBuilt: `phase ${def.phase} is described, not yet deployable`, drills: [] };
      const p = makePlan(def.topology({ users: 1000, shardStrategy: 'range', ...def.defaults }), { runId: 'list', slot: 1, proxies: true, prometheus: false });
      return { phase: def.phase, notBuilt: null, drills: all.map((d) => ({ name: d.name, applies: d.applies(p) })) };
    });
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
      const d = validateDrill(name, plan);
      const state = newDrillState();
      states?.set(name, state);
      return d.schedule(plan, drillTiming(d, { atS: o.atS, durationS: o.durationS, target: o.target, params: o.params, users }), state);
    },
  };
}
