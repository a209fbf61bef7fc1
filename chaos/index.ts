// The chaos half of bench, as the CLI and the run lifecycle use it. Everything else in chaos/ is
// reachable too; this is the surface that is meant to stay stable.
export { runDrill, runWithChaos, planChaos, drillStages, type RunDrillOptions, type DrillOutcome, type DrillLoadOptions, type WithChaosOptions } from './run-drill.ts';
export { drills, drillsFor, drillsByPhase, validateDrill, drillTiming, drillLookup } from './drills/index.ts';
export type { Drill, DrillTiming } from './drills/types.ts';
export { faultKinds, faultKind, makeFault } from './faults/index.ts';
export type { Fault, FaultKind, AppliedFault, FaultContext, ToxiproxyApi } from './faults/types.ts';
export { parseSchedule, resolveSchedule, type ScheduleEntry, type ScheduledFault } from './schedule.ts';
export { FaultRunner, faultContext, systemClock, type Clock, type FaultObserver } from './fault-runner.ts';
export { verdict, type Hypothesis, type VerdictInput } from './verdict.ts';
export { checkWrites, readWriteState, type WriteCheck } from './write-check.ts';
export { chaosToxiproxy } from './toxiproxy.ts';
