// The capacity section of results.json (`bench capacity`: the search's steps, the answer, the knee,
// which host saturated first) and the ladder document (`bench ladder`: ladder.json). Kept apart from
// reports/schema.ts, which only hooks `capacity` in, so the run's own schema stays one concern.
// harness/capacity/ derives its record types from these schemas: what it writes is what is read.
import { z } from 'zod';

/** Milliseconds or a rate; null: not measured (renderers print "n/a"), never 0. */
const measured = z.number().nullable();

export const StepPhase = z.enum(['grow', 'shrink', 'bisect', 'confirm']);
export const StepVerdict = z.enum(['pass', 'fail', 'inconclusive']);
export const CapacityOutcome = z.enum(['found', 'at-least', 'unconfirmed', 'none', 'inconclusive']);
export const StopReason = z.enum(['resolved', 'generator', 'sizes', 'unmeasured', 'max-rate', 'min-rate', 'max-steps', 'max-time']);

/** per host: the share of CFS periods it hit its CPU quota in over the hold window; null: not measured */
export const Throttling = z.record(z.string(), z.object({ throttledShare: z.number().nullable() }));
export type Throttling = z.infer<typeof Throttling>;

/** One step of the search, as measured over its hold window (merged per-second HDR histograms). */
export const CapacityStep = z.object({
  index: z.number().int().positive(),
  phase: StepPhase,
  /** the arrival rate the step offered (planned), requests/s */
  rate: z.number(),
  verdict: StepVerdict,
  /** why: the objective's clause that held or broke, or why the step could not judge the system */
  reason: z.string(),
  atS: z.number(),
  durationS: z.number(),
  /** completed requests over the hold window's seconds */
  achievedRate: measured,
  /** the hold window's percentiles, merged from histograms; a missing or null one was not measured */
  latencyMs: z.object({ p50: measured.optional(), p90: measured.optional(), p95: measured.optional(), p99: measured.optional(), p999: measured.optional() }),
  /** (errors + dropped) / (completed + dropped): a drop at the in-flight cap is the system's failure */
  errorRate: measured,
  requests: z.number(),
  /** every error the engine counted (a 409 included: each load signs up with its own salt) */
  errors: z.number(),
  dropped: z.number(),
  generatorLimited: z.boolean(),
  generatorSaturated: z.boolean(),
  sizesEnforced: z.boolean(),
  throttling: Throttling.nullable(),
});
export type CapacityStep = z.infer<typeof CapacityStep>;

export const Knee = z.object({ rate: z.number(), p99Ms: z.number() });

/** The most throttled host at the lowest rate that firmly failed, or why there is none. */
export const SaturatedFirst = z.union([
  z.object({ host: z.string(), throttledShare: z.number(), atRate: z.number() }),
  z.object({ host: z.null(), reason: z.string() }),
]);
export type SaturatedFirst = z.infer<typeof SaturatedFirst>;

/** The search's answer and its curve (capacity.json's `capacity`). */
export const CapacityAnswer = z.object({
  outcome: CapacityOutcome,
  stoppedBy: StopReason,
  /** the highest rate that held the objective; null when none did (an inconclusive step never counts) */
  sustainableRate: measured,
  /** the limit lies within [sustainableRate, sustainableRate + marginRate]; null when not bracketed */
  marginRate: measured,
  firstFailRate: measured,
  confirmed: z.boolean(),
  knee: Knee.nullable(),
  notes: z.array(z.string()),
  elapsedMs: z.number(),
  steps: z.array(CapacityStep),
  saturatedFirst: SaturatedFirst,
});
export type CapacityAnswer = z.infer<typeof CapacityAnswer>;

/** The search's settings, so a step's verdict can be checked again from the file. */
export const CapacitySettings = z.object({
  objective: z.string(),
  settleS: z.number(),
  holdS: z.number(),
  confirmS: z.number(),
  maxTimeS: z.number(),
  startRate: z.number(),
  maxRate: z.number(),
  growth: z.number(),
  resolution: z.number(),
  maxSteps: z.number(),
});

/** results.json's `capacity`: present in the results of `bench capacity`, absent in a plain run's. */
export const CapacitySection = CapacityAnswer.extend({
  kind: z.literal('search'),
  settings: CapacitySettings,
  /** which step's drive results.json's `load` is (the sustainable rate's, its confirmation first); null: none held */
  loadStep: z.number().int().positive().nullable(),
});
export type CapacitySection = z.infer<typeof CapacitySection>;

/** One rung of a ladder. */
export const Rung = z.object({
  phase: z.number(),
  title: z.string(),
  runId: z.string(),
  dir: z.string(),
  outcome: CapacityOutcome,
  stoppedBy: StopReason,
  sustainableRate: measured,
  marginRate: measured,
  confirmed: z.boolean(),
  /** the rate is a lower bound: the search stopped before the objective failed */
  lowerBound: z.boolean(),
  /** sustainable rate over the previous rung's; null when either is unknown */
  factor: measured,
  /** the CPU cores the topology's hosts were given (the harness's own control host left out) */
  cores: z.number(),
  ratePerCore: measured,
  /** p99 at the ladder's common rate (null: not measured firmly there) */
  p99AtCommonMs: measured,
  sizesEnforced: z.boolean(),
  searchS: z.number(),
  totalS: z.number(),
  /** the rung's search steps (rate, p99, verdict), for the report's curves; absent in older ladders */
  steps: z.array(CapacityStep).optional(),
  saturatedFirst: SaturatedFirst.optional(),
  knee: Knee.nullable().optional(),
});
export type Rung = z.infer<typeof Rung>;

/** ladder.json. */
export const LadderJson = z.object({
  kind: z.literal('bench-ladder'),
  version: z.literal(1),
  startedAt: z.string(),
  finishedAt: z.string(),
  phases: z.array(z.number()),
  workload: z.string(),
  users: z.number(),
  objective: z.string(),
  quick: z.boolean(),
  /** the highest rate every rung measured firmly (pass or fail): where p99s are compared */
  commonRate: measured,
  rungs: z.array(Rung),
  notes: z.array(z.string()),
});
export type LadderJson = z.infer<typeof LadderJson>;

/** A bootstrap interval; JSON has no infinity, so an unbounded side is stored as null. */
const Interval = z.object({ low: z.number().nullable(), high: z.number().nullable() });

/** The Universal Scalability Law fitted to the sustainable rates of a `--scale` over counts. */
export const UslFit = z.object({
  lambda: z.number(),
  sigma: z.number(),
  kappa: z.number(),
  rSquared: z.number(),
  sse: z.number(),
  /** where adding units stops paying; null when κ = 0 (no peak) */
  peakN: z.number().nullable(),
  /** X(N*), or the asymptote λ/σ without a peak; null when neither exists */
  peakThroughput: z.number().nullable(),
  fitted: z.array(z.number()),
  points: z.array(z.object({ n: z.number(), throughput: z.number() })),
  intervals: z
    .object({ level: z.number(), replicates: z.number(), failed: z.number(), lambda: Interval, sigma: Interval, kappa: Interval, peakN: Interval, peakThroughput: Interval })
    .nullable(),
  note: z.string().nullable(),
});
export type UslFit = z.infer<typeof UslFit>;

/** scale.json: one capacity search per value of a dimension, and the USL fit when it applies. */
export const ScaleJson = z.object({
  kind: z.literal('bench-capacity-scale'),
  version: z.literal(1),
  phase: z.number(),
  dimension: z.string(),
  values: z.array(z.number()),
  objective: z.string(),
  points: z.array(
    z.object({
      value: z.number(),
      runId: z.string(),
      outcome: CapacityOutcome,
      sustainableRate: measured,
      marginRate: measured,
      confirmed: z.boolean(),
      lowerBound: z.boolean(),
      p99AtSustainableMs: measured,
      steps: z.number(),
      elapsedS: z.number(),
      dir: z.string(),
    }),
  ),
  usl: UslFit.nullable(),
  uslSkipped: z.string().nullable(),
  notes: z.array(z.string()),
});
export type ScaleJson = z.infer<typeof ScaleJson>;
