// k6's end-of-test summary (the object its handleSummary() receives, which the bench scripts write
// to BENCH_SUMMARY_PATH) -> the load side of results.json.
//
// Two shapes exist. The one k6 v1 hands handleSummary by default ("legacy"), documented in the k6
// docs, results-output/end-of-test/custom-summary.md ("Summary data reference"):
//   { root_group: {checks: [...]}, options, state: {testRunDurationMs}, metrics: {
//       "<metric>[{tag:value,...}]": {type, contains, values: {...}, thresholds?: {"<expr>": {ok}}} } }
// and the "machine-readable" one (k6 >= 1.5 with --new-machine-readable-summary, the announced
// default of k6 v2), schema in grafana/k6-summary (schemas/summary/1.0.0):
//   { version, metadata, config: {duration}, results: {metrics: [{name, type, contains, values}],
//     checks: {results|orderedChecks: [{name, passes, fails}]}} }
// k6 v1.8.1 writes rate values there as {rate, matches, total} and trends without p(99).
import { z } from 'zod';
import { BenchError } from '../../errors.ts';
import type { Latency, LoadResults, Stage } from '../../../reports/schema.ts';
import { SESSION_CHECK } from '../../../loadtests/lib/options.ts';
import { errorKindOf, NO_SESSION } from './error-kinds.ts';

/** k6's four metric types. */
export type K6MetricType = 'counter' | 'gauge' | 'rate' | 'trend';

/** One metric or submetric of the summary, normalised. */
export interface K6SummaryMetric {
  /** the full key, e.g. "http_req_duration{name:read}" */
  key: string;
  /** the metric's own name, e.g. "http_req_duration" */
  metric: string;
  /** the submetric's tag selector, e.g. {name: "read"}; {} for the metric itself */
  tags: Record<string, string>;
  type: K6MetricType;
  contains: string;
  /**
   * counter: count, rate; gauge: value, min, max; trend: avg, min, med, max, p(N), count;
   * rate: rate, plus nonZero and total (k6 calls the non-zero samples "passes" in one shape and
   * "matches" in the other: for http_req_failed they are the failed requests)
   */
  values: Record<string, number>;
  thresholds: Array<{ expression: string; ok: boolean }>;
}

/** k6's summary in one shape whatever k6 wrote. */
export interface K6Summary {
  format: 'legacy' | 'machine-readable';
  /** the whole run, including the graceful stop; null when k6 did not say */
  testRunDurationMs: number | null;
  metrics: Record<string, K6SummaryMetric>;
  checks: Array<{ name: string; passes: number; fails: number }>;
}

const Values = z.record(z.string(), z.union([z.number(), z.null()]));
const MetricType = z.enum(['counter', 'gauge', 'rate', 'trend']);

const LegacyCheck = z.object({ name: z.string(), passes: z.number(), fails: z.number() });
interface LegacyGroup {
  checks?: unknown;
  groups?: unknown;
}
const LegacySummary = z.object({
  metrics: z.record(
    z.string(),
    z.object({
      type: MetricType,
      contains: z.string().optional(),
      values: Values,
      thresholds: z.record(z.string(), z.object({ ok: z.boolean() })).optional(),
    }),
  ),
  state: z.object({ testRunDurationMs: z.number().optional() }).optional(),
  root_group: z.unknown().optional(),
});

const MachineReadableSummary = z.object({
  version: z.string().optional(),
  config: z.object({ duration: z.number().optional() }).optional(),
  results: z.object({
    metrics: z.array(z.object({ name: z.string(), type: MetricType, contains: z.string().optional(), values: Values })),
    checks: z
      .object({
        results: z.array(LegacyCheck).optional(),
        orderedChecks: z.array(LegacyCheck).optional(),
      })
      .optional(),
  }),
});

/** Parses k6's summary JSON (either shape); a document in neither shape is a BenchError. */
export function parseK6Summary(json: unknown): K6Summary {
  const legacy = LegacySummary.safeParse(json);
  if (legacy.success) {
    const metrics: Record<string, K6SummaryMetric> = {};
    for (const [key, m] of Object.entries(legacy.data.metrics)) {
      const thresholds = Object.entries(m.thresholds ?? {}).map(([expression, t]) => ({ expression, ok: t.ok }));
      metrics[key] = normalise(key, m.type, m.contains ?? 'default', m.values, thresholds);
    }
    return {
      format: 'legacy',
      testRunDurationMs: legacy.data.state?.testRunDurationMs ?? null,
      metrics,
      checks: legacyChecks(legacy.data.root_group),
    };
  }
  const mr = MachineReadableSummary.safeParse(json);
  if (mr.success) {
    const metrics: Record<string, K6SummaryMetric> = {};
    for (const m of mr.data.results.metrics) metrics[m.name] = normalise(m.name, m.type, m.contains ?? 'default', m.values, []);
    const checks = mr.data.results.checks?.results ?? mr.data.results.checks?.orderedChecks ?? [];
    const duration = mr.data.config?.duration;
    return {
      format: 'machine-readable',
      testRunDurationMs: duration === undefined ? null : duration * 1000,
      metrics,
      checks: checks.map((c) => ({ name: c.name, passes: c.passes, fails: c.fails })),
    };
  }
  const issue = legacy.error.issues[0];
  const where = issue ? `${issue.path.join('.') || '(root)'}: ${issue.message}` : 'unknown shape';
  throw new BenchError(
    'internal',
    `k6's summary is in no shape bench knows (${where})`,
    'check that the script exports the bench handleSummary and that the k6 version is supported (docs/K6.md)',
  );
}

/** "http_req_duration{name:read,status:200}" -> {metric, tags}. */
export function splitMetricKey(key: string): { metric: string; tags: Record<string, string> } {
  const open = key.indexOf('{');
  if (open < 0 || !key.endsWith('}')) return { metric: key, tags: {} };
  const tags: Record<string, string> = {};
  for (const part of key.slice(open + 1, -1).split(',')) {
    const colon = part.indexOf(':');
    if (colon < 0) continue;
    tags[part.slice(0, colon).trim()] = part.slice(colon + 1).trim();
  }
  return { metric: key.slice(0, open), tags };
}

function normalise(
  key: string,
  type: K6MetricType,
  contains: string,
  raw: Record<string, number | null>,
  thresholds: K6SummaryMetric['thresholds'],
): K6SummaryMetric {
  const values: Record<string, number> = {};
  for (const [k, v] of Object.entries(raw)) {
    // the machine-readable shape names percentiles p90, p95; the legacy one p(90), p(95)
    const name = /^p\d+(\.\d+)?$/.test(k) ? `p(${k.slice(1)})` : k;
    if (typeof v === 'number' && Number.isFinite(v)) values[name] = v;
  }
  if (type === 'rate') {
    // total from whichever pair the shape has; the non-zero count from the rate, which means the
    // same in both shapes (k6-summary's example and k6 itself disagree on what "passes" counts)
    const total = values.total ?? (values.passes ?? 0) + (values.fails ?? 0);
    values.total = total;
    values.nonZero = values.matches ?? Math.round((values.rate ?? 0) * total);
  }
  const { metric, tags } = splitMetricKey(key);
  return { key, metric, tags, type, contains, values, thresholds };
}

function legacyChecks(root: unknown): K6Summary['checks'] {
  const out: K6Summary['checks'] = [];
  const visit = (group: LegacyGroup | undefined) => {
    if (group === undefined || group === null || typeof group !== 'object') return;
    // k6 v1 lists checks and groups in arrays; older k6 kept them in objects keyed by name
    const checks = Array.isArray(group.checks) ? group.checks : Object.values((group.checks as object | undefined) ?? {});
    for (const c of checks) {
      const parsed = LegacyCheck.safeParse(c);
      if (parsed.success) out.push({ name: parsed.data.name, passes: parsed.data.passes, fails: parsed.data.fails });
    }
    const groups = Array.isArray(group.groups) ? group.groups : Object.values((group.groups as object | undefined) ?? {});
    for (const g of groups) visit(g as LegacyGroup);
  };
  visit(root as LegacyGroup | undefined);
  return out;
}

/** A metric's values, or undefined. `tags` selects a submetric, e.g. {name: 'read'}. */
export function metricValues(summary: K6Summary, metric: string, tags?: Record<string, string>): Record<string, number> | undefined {
  if (tags === undefined || Object.keys(tags).length === 0) return summary.metrics[metric]?.values;
  const want = Object.entries(tags);
  for (const m of Object.values(summary.metrics)) {
    if (m.metric !== metric || Object.keys(m.tags).length !== want.length) continue;
    if (want.every(([k, v]) => m.tags[k] === v)) return m.values;
  }
  return undefined;
}

/** The thresholds k6 evaluated as crossed, as "metric expression" strings. */
export function failedThresholds(summary: K6Summary): string[] {
  const out: string[] = [];
  for (const m of Object.values(summary.metrics)) for (const t of m.thresholds) if (!t.ok) out.push(`${m.key} ${t.expression}`);
  return out;
}

/** A trend's stats as the report's Latency (ms). Missing percentiles fall back to the next one up, never down. */
export function trendToLatency(values: Record<string, number> | undefined): Latency {
  if (values === undefined) return { p50: 0, p90: 0, p95: 0, p99: 0, p999: 0, max: 0, mean: 0 };
  const max = values.max ?? 0;
  // a summary without p(99.9) (or, in k6's machine-readable shape, without p(99)) must not make a
  // tail look better than it was: borrow the next higher stat
  const chain = ['med', 'p(90)', 'p(95)', 'p(99)', 'p(99.9)', 'max'];
  const at = (key: string): number => {
    for (let i = chain.indexOf(key); i < chain.length; i++) {
      const v = values[chain[i]];
      if (v !== undefined) return round3(v);
    }
    return round3(max);
  };
  return { p50: at('med'), p90: at('p(90)'), p95: at('p(95)'), p99: at('p(99)'), p999: at('p(99.9)'), max: round3(max), mean: round3(values.avg ?? 0) };
}

/** Context the summary does not carry. */
export interface SummaryContext {
  workload: string;
  stages: Stage[];
  /** the schedule's duration in seconds */
  durationS: number;
}

/**
 * The load side of results.json from k6's summary alone. Per-kind figures come from the
 * http_req_*{name:<kind>} submetrics, status codes from http_reqs{status:<code>} and transport
 * errors from http_reqs{error_code:<code>}: the bench scripts declare thresholds on them so that
 * k6 keeps them. A login answered without a session fails the session check and counts as the
 * engine's `no_session` error. The per-second series needs k6's JSON output (json-output.ts).
 */
export function k6SummaryToLoadResults(summary: K6Summary, ctx: SummaryContext): LoadResults {
  const reqs = metricValues(summary, 'http_reqs');
  const requests = reqs?.count ?? 0;
  const noSession = summary.checks.find((c) => c.name === SESSION_CHECK)?.fails ?? 0;
  const httpFailed = metricValues(summary, 'http_req_failed')?.nonZero ?? 0;
  const errors = httpFailed + noSession;
  const dropped = metricValues(summary, 'dropped_iterations')?.count ?? 0;

  const endpoints: LoadResults['endpoints'] = {};
  const statusCodes: Record<string, number> = {};
  const errorKinds: Record<string, number> = {};
  const add = (kind: string, n: number) => {
    if (n > 0) errorKinds[kind] = (errorKinds[kind] ?? 0) + n;
  };
  for (const m of Object.values(summary.metrics)) {
    const tagKeys = Object.keys(m.tags);
    if (tagKeys.length !== 1) continue;
    if (m.metric === 'http_req_duration' && tagKeys[0] === 'name') {
      const name = m.tags.name;
      const n = metricValues(summary, 'http_reqs', { name })?.count ?? m.values.count ?? 0;
      if (n === 0) continue;
      endpoints[name] = {
        requests: n,
        errors: (metricValues(summary, 'http_req_failed', { name })?.nonZero ?? 0) + (name === 'login' ? noSession : 0),
        latencyMs: trendToLatency(m.values),
      };
    }
    if (m.metric !== 'http_reqs') continue;
    const n = m.values.count ?? 0;
    if (tagKeys[0] === 'status') {
      const status = Number(m.tags.status);
      // k6 tags a request that got no answer with status 0: not a status code, a transport error
      if (status > 0 && n > 0) statusCodes[m.tags.status] = n;
      if (status >= 400) add(errorKindOf(null, status), n);
    }
    if (tagKeys[0] === 'error_code') {
      const code = Number(m.tags.error_code);
      if (code < 1400 || code >= 1600) add(errorKindOf(code, 0), n);
    }
  }
  // what no submetric sorted (a 418, an unlisted transport error) still counts somewhere
  const classified = Object.values(errorKinds).reduce((a, b) => a + b, 0);
  add('other', httpFailed - classified);
  add(NO_SESSION, noSession);

  return {
    driver: 'k6',
    workload: ctx.workload,
    stages: ctx.stages,
    durationS: ctx.durationS,
    totals: {
      requests,
      ok: requests - errors,
      errors,
      dropped,
      // per second of schedule, as the engine reports it (k6's own rate divides by the whole run)
      throughputRps: ctx.durationS > 0 ? Math.round((requests / ctx.durationS) * 100) / 100 : 0,
      errorRate: requests > 0 ? errors / requests : 0,
    },
    latencyMs: trendToLatency(metricValues(summary, 'http_req_duration')),
    endpoints,
    statusCodes: Object.fromEntries(Object.entries(statusCodes).sort((a, b) => Number(a[0]) - Number(b[0]))),
    errorKinds,
    series: [],
    // k6 reports no schedule lag; dropped iterations are the sign it could not keep the schedule
    generator: { saturated: dropped > 0, maxLagMs: 0, peakRssMb: 0 },
  };
}

function round3(x: number): number {
  return Math.round(x * 1000) / 1000;
}
