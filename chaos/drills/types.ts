// A drill: a steady-state hypothesis, a load, a fault schedule, a rollback and a verification.
// The drill object is data plus pure functions of the plan; chaos/run-drill.ts runs it.
import { phaseParams } from '../../targets/phases/index.ts';
import { BenchError } from '../../harness/errors.ts';
import type { AcknowledgedWrite, LoadOutcome } from '../../harness/load/types.ts';
import type { Deployment, Progress } from '../../harness/runtime/types.ts';
import type { DeployPlan } from '../../harness/topology/plan.ts';
import type { FaultWindow } from '../../reports/schema.ts';
import type { FaultContext } from '../faults/types.ts';
import type { ProbeResult, ProbeSpec } from '../probe.ts';
import type { ScheduledFault } from '../schedule.ts';
import type { Hypothesis } from '../verdict.ts';

/** When and on what the drill's faults act (from --at, --duration, an optional target). */
export interface DrillTiming {
  /** seconds after the load starts */
  atS: number;
  /** seconds the fault lasts */
  durationS: number;
  /** the drill's own target (a service, shard, edge pattern...), when the user named one */
  target?: string;
  /** extra parameters from the schedule entry (`slow-database:*:500ms@10s`) */
  params: string[];
  /** seeded user ids are 1..users (probes pick ids that exist) */
  users: number;
  /** the workload the load runs, when known (default: the drill's own) */
  workload?: string;
}

/**
 * What the drill's actions learned while running (a promotion, a repointed edge): shared by the
 * faults a drill schedules and its verification. One per drill run.
 */
export interface DrillState {
  /** shard name -> the service that is its primary now, after a failover */
  primaries: Map<string, string>;
  /** figures the actions measured (promotion time ...) */
  figures: Record<string, number | string | null>;
  /** problems the actions met: each fails the drill */
  problems: string[];
}

export const newDrillState = (): DrillState => ({ primaries: new Map(), figures: {}, problems: [] });

/** What a verification sees once the load is over and the faults are reverted. */
export interface VerifyContext {
  deployment: Deployment;
  plan: DeployPlan;
  timing: DrillTiming;
  load: LoadOutcome;
  /** the load's acknowledged writes (empty when the drill's workload writes nothing) */
  writes: readonly AcknowledgedWrite[];
  windows: readonly FaultWindow[];
  probes: readonly ProbeResult[];
  /** writes the drill's own probes got acknowledged (they join the write check) */
  probeWrites: readonly AcknowledgedWrite[];
  state: DrillState;
  progress: Progress;
}

export interface Verification {
  figures?: Record<string, number | string | null>;
  /** each fails the drill */
  problems?: string[];
  /** sentences that explain the result without failing it */
  notes?: string[];
  /** when the fault took effect (s, load clock), where that is later than its window's start (a
   *  region taken down after its leader was read): the RPO's age counts from it */
  faultAtS?: number;
}

/** Whether a drill applies to a deployment, and why not when it does not. */
export type Applicability = { readonly ok: true } | { readonly ok: false; readonly reason: string };

export const APPLIES: Applicability = { ok: true };

/** A drill does not apply: `reason` says what the deployment lacks (and how to get it). */
export const doesNotApply = (reason: string): Applicability => ({ ok: false, reason });

/**
 * How to get what a drill needs from a phase option: "run with --replicas 1 or more" when the plan's
 * phase declares the option, else which phases do ("run phase 3, 4 or 5 with --replicas 1 or
 * more"): never a flag the phase would refuse. Derived from the phases' declarations.
 */
export function optionHint(plan: DeployPlan, name: string, value: string): string {
  const param = phaseParams.get(name);
  if (!param) throw new BenchError('internal', `no phase declares the option ${name}`);
  const phases = param.phases;
  if (phases.includes(plan.topology.phase)) return `run with ${param.flag} ${value}`;
  const list = phases.length > 1 ? `${phases.slice(0, -1).join(', ')} or ${phases[phases.length - 1]}` : String(phases[0]);
  return `run phase ${list} with ${param.flag} ${value}`;
}

/**
 * What a drill's schedule() needs and applies() already checked is there. Missing, the caller
 * skipped validateDrill: a bug, not a user's mistake.
 */
export function applied<T>(found: T | null | undefined, drill: string, what: string): T {
  if (found === null || found === undefined) throw new BenchError('internal', `drill ${drill} was scheduled without ${what}: validateDrill() checks applies() first`);
  return found;
}

/** A registered drill. */
export interface Drill {
  readonly name: string;
  /** one line for help and docs */
  readonly summary: string;
  /**
   * Does the drill make sense for this deployment: is there what it breaks (an app server, a
   * cache, a CDN edge, a replica, two shards, a proxied edge)? Pure; the reason names what is
   * missing. Derived from the plan, never from the phase number.
   */
  applies(plan: DeployPlan): Applicability;
  /** default timing: the fault starts at atS and lasts durationS; the load runs tailS longer */
  /**
   * revertGraceS: how much longer than at + duration + tail the drill's own load is planned, for
   * its reverts (a restarted victim getting ready); default REVERT_GRACE_S (chaos/run-drill.ts).
   * The load stops a tail after the reverts complete, so a longer grace costs a run nothing.
   */
  readonly defaults: { atS: number; durationS: number; tailS: number; revertGraceS?: number };
  /** the workload that exercises what the drill breaks (loadtests/workloads.ts) */
  readonly workload: string;
  /** what must hold while the fault is on, for this deployment (phase-dependent) */
  hypothesis(plan: DeployPlan, timing: DrillTiming): Hypothesis;
  /** the faults on the load's timeline; validates targets against the plan (BenchError('usage')) */
  schedule(plan: DeployPlan, timing: DrillTiming, state: DrillState): ScheduledFault[];
  /** extra probes to run during the drill (a write per shard for the blast radius...) */
  probes?(plan: DeployPlan, timing: DrillTiming): ProbeSpec[];
  /**
   * A watch of the system's own state from the load's start (the replication lag before the
   * fault), writing into `state`; it ends by itself or when `signal` aborts (the load is over),
   * and verify runs once it has. A rejection is a problem of the drill.
   */
  watch?(plan: DeployPlan, timing: DrillTiming, state: DrillState, signal: AbortSignal): Promise<void>;
  /** undoes what reverting the faults does not (runs after them, also on failure or abort) */
  rollback?(ctx: FaultContext, state: DrillState): Promise<void>;
  /** drill-specific checks after the load */
  verify?(ctx: VerifyContext): Promise<Verification>;
}

/** Why a deployment has no PostgreSQL shard to break: its store is SQLite, or it has no app. */
export const noPostgresStore = (plan: DeployPlan): string => `phase ${plan.topology.phase} keeps its users ${plan.services.some((s) => s.kind === 'app') ? 'in SQLite' : 'nowhere'}: there is no PostgreSQL store`;
