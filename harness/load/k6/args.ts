// The `k6 run` command line and environment for a bench run. Pure: the driver spawns what this
// returns, `bench export-k6` writes the same environment into a .env file, and tests read both.
//
// Option names were checked against k6 v1.8.1 (`k6 run --help` and internal/cmd, internal/output/
// prometheusrw/remotewrite/config.go) and the k6 docs (results-output/real-time/prometheus-remote-write).
import type { Stage } from '../../../reports/schema.ts';
import { SUMMARY_TREND_STATS } from '../../../loadtests/lib/options.ts';
import type { EnvVarName } from '../../../loadtests/lib/config.ts';

/** What a bench run hands the k6 driver. */
export interface K6CommandOptions {
  /** path of the k6 script, e.g. loadtests/mixed.k6.ts (k6 runs TypeScript itself) */
  script: string;
  targets: { api: string; static: string };
  users: number;
  seed: number;
  /** the load's sign-up salt (loadtests/lib/identity.ts); undefined: the script's setup() picks one */
  salt?: number;
  stages: Stage[];
  workload: string;
  objectives: { p99Ms: number; maxErrorRate: number };
  /** Prometheus base URL (http://127.x.y.z:9090); k6 remote-writes its metrics there. null: no output */
  prometheusRwUrl: string | null;
  /** where the script's handleSummary writes k6's JSON summary */
  summaryPath: string;
  /** where k6 writes every sample as NDJSON (`--out json=`; a .gz name compresses); null: none */
  jsonOutPath: string | null;
  /** VU pool: what k6 starts with and the cap it may grow to (the in-flight cap); default: from the peak rate */
  vus?: { preAllocated?: number; max?: number };
  /** per-request timeout; default 10 s */
  timeoutMs?: number;
  /** trends as Prometheus native histograms (Prometheus needs --enable-feature=native-histograms) */
  nativeHistograms?: boolean;
}

/** A command to spawn: the binary name, its arguments, the variables to add to its environment. */
export interface K6Command {
  command: 'k6';
  args: string[];
  env: Record<string, string>;
}

/** Trend stats sent to Prometheus per trend metric (ignored when trends go as native histograms). */
export const PROMETHEUS_TREND_STATS = 'p(50),p(90),p(95),p(99),max';

/** The `k6 run` invocation for a bench run. */
export function k6Command(opts: K6CommandOptions): K6Command {
  const args = [
    'run',
    '--no-usage-report',
    // k6 serves a REST API on localhost:6565 by default: two runs would collide, and nothing uses it
    '--address=',
    '--no-color',
    '--summary-trend-stats',
    SUMMARY_TREND_STATS.join(','),
    // the script reads its settings from the process environment (this is k6's default for `run`)
    '--include-system-env-vars',
  ];
  const env: Record<string, string> = { ...scriptEnv(opts) };
  if (opts.jsonOutPath !== null) args.push('--out', `json=${opts.jsonOutPath}`);
  if (opts.prometheusRwUrl !== null) {
    args.push('-o', 'experimental-prometheus-rw');
    Object.assign(env, prometheusRwEnv(opts.prometheusRwUrl, opts.nativeHistograms ?? false));
  }
  args.push(opts.script);
  return { command: 'k6', args, env };
}

/** The BENCH_* variables the bench k6 scripts read (loadtests/lib/config.ts documents each). */
export function scriptEnv(opts: Omit<K6CommandOptions, 'script' | 'prometheusRwUrl' | 'jsonOutPath' | 'nativeHistograms'>): Record<string, string> {
  const env: Partial<Record<EnvVarName, string>> = {
    BENCH_API_URL: opts.targets.api,
    BENCH_STATIC_URL: opts.targets.static,
    BENCH_USERS: String(opts.users),
    BENCH_SEED: String(opts.seed),
    BENCH_STAGES: JSON.stringify(opts.stages.map((s) => ({ durationS: s.durationS, targetRate: s.targetRate }))),
    BENCH_WORKLOAD: opts.workload,
    BENCH_P99_MS: String(opts.objectives.p99Ms),
    BENCH_MAX_ERROR_RATE: String(opts.objectives.maxErrorRate),
    BENCH_SUMMARY_PATH: opts.summaryPath,
  };
  if (opts.salt !== undefined) env.BENCH_SALT = String(opts.salt);
  if (opts.vus?.preAllocated !== undefined) env.BENCH_PREALLOCATED_VUS = String(opts.vus.preAllocated);
  if (opts.vus?.max !== undefined) env.BENCH_MAX_VUS = String(opts.vus.max);
  if (opts.timeoutMs !== undefined) env.BENCH_TIMEOUT_MS = String(opts.timeoutMs);
  return env as Record<string, string>;
}

/**
 * k6's remote-write output settings. Without native histograms every trend becomes one gauge per
 * stat (k6_http_req_duration_p99 ...); with them, one native histogram series per trend, which
 * Prometheus accepts only with --enable-feature=native-histograms.
 */
export function prometheusRwEnv(prometheusUrl: string, nativeHistograms: boolean): Record<string, string> {
  const env: Record<string, string> = {
    K6_PROMETHEUS_RW_SERVER_URL: `${prometheusUrl.replace(/\/+$/, '')}/api/v1/write`,
    // a run's series end with the run instead of lingering for Prometheus' 5-minute lookback
    K6_PROMETHEUS_RW_STALE_MARKERS: 'true',
  };
  if (nativeHistograms) env.K6_PROMETHEUS_RW_TREND_AS_NATIVE_HISTOGRAM = 'true';
  else env.K6_PROMETHEUS_RW_TREND_STATS = PROMETHEUS_TREND_STATS;
  return env;
}

/** The command as one shell line (for logs and docs); values are single-quoted where needed. */
export function shellLine(cmd: K6Command): string {
  const q = (s: string) => (/^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`);
  const env = Object.entries(cmd.env).map(([k, v]) => `${k}=${q(v)}`);
  return [...env, cmd.command, ...cmd.args.map(q)].join(' ');
}
