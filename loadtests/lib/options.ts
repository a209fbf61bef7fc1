// k6 `options` from a ScriptConfig: one ramping-arrival-rate scenario (an open model: iterations
// start on schedule whatever the server does) and thresholds from the run's objectives.
import type { Options, Scenario } from 'k6/options';
import type { RequestKind } from '../workloads.ts';
import type { ScriptConfig, ScriptStage } from './config.ts';

/** The scenario's name: tags every sample `scenario=load`. */
export const SCENARIO = 'load';

/** Status codes given their own submetric so the summary can count them without --out json. */
export const COUNTED_STATUSES: readonly number[] = [
  0, 200, 201, 204, 301, 302, 304, 400, 401, 403, 404, 409, 429, 500, 502, 503, 504,
];

/**
 * k6 error codes given their own submetric (k6 lib/netext/httpext/error_codes.go): request
 * timeout, broken pipe, dial timeout, connection refused, reset by peer. They sort transport
 * errors into the engine's error kinds when only the summary is read.
 */
export const COUNTED_ERROR_CODES: readonly number[] = [1050, 1201, 1211, 1212, 1220];

/** The check a login answered without an error but without a session cookie fails: the engine's `no_session` error. */
export const SESSION_CHECK = 'login sets a session';

/** Trend stats k6 keeps in the summary (and prints); p(99.9) feeds the report's p999. */
export const SUMMARY_TREND_STATS: readonly string[] = [
  'avg', 'min', 'med', 'max', 'p(90)', 'p(95)', 'p(99)', 'p(99.9)', 'count',
];

/**
 * System tags kept on every sample. `url` is left out on purpose: with one URL per user id it
 * would make a Prometheus series per user; `name` (the request kind) takes its place. `group` stays:
 * without it k6 leaves checks out of the summary's root_group.
 */
export const SYSTEM_TAGS: readonly string[] = [
  'status', 'method', 'name', 'group', 'scenario', 'expected_response', 'error_code', 'check', 'proto',
];

/** k6's arrival-rate stages: integer targets per timeUnit, so fractional rates pick a longer unit. */
export function toK6Stages(stages: readonly ScriptStage[]): {
  timeUnit: string;
  startRate: number;
  stages: { duration: string; target: number }[];
} {
  if (stages.length === 0) throw new Error('toK6Stages: no stages');
  // the smallest unit (in seconds) that makes every rate an integer count of iterations
  const units = [1, 10, 60, 100, 1000];
  const isInt = (x: number) => Math.abs(x - Math.round(x)) < 1e-9;
  const unit = units.find((u) => stages.every((s) => isInt(s.targetRate * u))) ?? 1000;
  const per = (rate: number) => Math.round(rate * unit);
  return {
    timeUnit: `${unit}s`,
    startRate: per(startRateOf(stages)),
    stages: stages.map((s) => ({ duration: k6Duration(s.durationS), target: per(s.targetRate) })),
  };
}

/**
 * Where the first ramp starts. Stages follow k6's convention (each ramps linearly from where the
 * previous ended); bench's traffic model opens with a zero-duration stage that sets that floor,
 * which is this rate. Without one the ramp starts from 0, as k6's and the engine's default.
 */
export function startRateOf(stages: readonly ScriptStage[]): number {
  return stages.length > 0 && stages[0].durationS === 0 ? stages[0].targetRate : 0;
}

/** A duration k6 parses: whole seconds as "10s", fractions in milliseconds ("1500ms"). */
export function k6Duration(seconds: number): string {
  return Number.isInteger(seconds) ? `${seconds}s` : `${Math.round(seconds * 1000)}ms`;
}

/** The k6 options for a bench run of `kinds` under `config`. */
export function buildOptions(config: ScriptConfig, kinds: readonly RequestKind[]): Options {
  const k6Stages = toK6Stages(config.stages);
  const scenario: Scenario = {
    executor: 'ramping-arrival-rate',
    startRate: k6Stages.startRate,
    timeUnit: k6Stages.timeUnit,
    stages: k6Stages.stages,
    preAllocatedVUs: config.preAllocatedVUs,
    maxVUs: config.maxVUs,
    // in-flight requests get their timeout to finish, then k6 interrupts them
    gracefulStop: k6Duration(Math.ceil(config.timeoutMs / 1000) + 1),
  };
  const thresholds: NonNullable<Options['thresholds']> = {
    http_req_duration: [`p(99)<${config.p99Ms}`],
    http_req_failed: [`rate<${config.maxErrorRate}`],
  };
  // always-true thresholds exist only to make k6 keep per-kind and per-status submetrics in the
  // summary (k6 keeps a submetric only when some threshold names it)
  for (const kind of kinds) {
    thresholds[`http_req_duration{name:${kind}}`] = ['max>=0'];
    thresholds[`http_req_failed{name:${kind}}`] = ['rate>=0'];
    thresholds[`http_reqs{name:${kind}}`] = ['count>=0'];
  }
  for (const status of COUNTED_STATUSES) thresholds[`http_reqs{status:${status}}`] = ['count>=0'];
  for (const code of COUNTED_ERROR_CODES) thresholds[`http_reqs{error_code:${code}}`] = ['count>=0'];
  return {
    scenarios: { [SCENARIO]: scenario },
    thresholds,
    summaryTrendStats: [...SUMMARY_TREND_STATS],
    systemTags: [...SYSTEM_TAGS],
    // nothing reads response bodies (login's session comes in a header): save the CPU and memory
    discardResponseBodies: true,
    userAgent: 'bench-k6',
  };
}
