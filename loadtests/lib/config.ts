// The k6 scripts' settings, read from __ENV (k6's environment: `-e KEY=value` or the process
// environment). Pure: it takes the map as a parameter, so the harness tests it under Node.
import { parseSalt } from './identity.ts';

/** One stage of the arrival-rate schedule (the same shape as reports/schema.ts Stage). */
export interface ScriptStage {
  durationS: number;
  targetRate: number;
}

/** Everything a bench k6 script needs to know, validated. */
export interface ScriptConfig {
  apiUrl: string;
  staticUrl: string;
  users: number;
  seed: number;
  /** the load's sign-up salt (lib/identity.ts); null: setup() picks a fresh one */
  salt: number | null;
  stages: ScriptStage[];
  workload: string;
  p99Ms: number;
  maxErrorRate: number;
  preAllocatedVUs: number;
  maxVUs: number;
  timeoutMs: number;
  summaryPath: string;
}

/** The variables the scripts read, with what each means (docs/K6.md lists the same). */
export const ENV_VARS = {
  BENCH_API_URL: 'base URL for API requests, e.g. http://127.3.1.1:8000 (required)',
  BENCH_STATIC_URL: 'base URL for static assets, the CDN edge where the phase has one (default: BENCH_API_URL)',
  BENCH_USERS: 'seeded user ids are 1..BENCH_USERS (default 1000)',
  BENCH_SEED: 'seed of the request stream (default 1)',
  BENCH_SALT: 'sign-up salt of this load, 0..16777215: new users get ids past users + salt x 2^28 (default: a fresh one per run, printed and recorded in the summary)',
  BENCH_STAGES: 'JSON [{"durationS":10,"targetRate":50}, ...] (default one 10 s stage at 10 req/s)',
  BENCH_WORKLOAD: "the workload name; must match the script's own when set",
  BENCH_P99_MS: 'threshold on the p99 of http_req_duration (default 250)',
  BENCH_MAX_ERROR_RATE: 'threshold on http_req_failed (default 0.01)',
  BENCH_PREALLOCATED_VUS: 'VUs k6 starts before the test (default: peak rate x 50 ms, at least 10)',
  BENCH_MAX_VUS: 'VUs k6 may grow to: the in-flight cap (default: peak rate x 1 s, 10..1000)',
  BENCH_TIMEOUT_MS: 'per-request timeout (default 10000)',
  BENCH_SUMMARY_PATH: 'where handleSummary writes the JSON summary (default summary.json)',
} as const;

/** The name of a variable the scripts read. */
export type EnvVarName = keyof typeof ENV_VARS;

/** Reads and validates the settings; throws one Error listing every problem at once. */
export function readConfig(env: Readonly<Record<string, string | undefined>>, defaultWorkload: string): ScriptConfig {
  const problems: string[] = [];
  const get = (name: EnvVarName): string | undefined => {
    const v = env[name];
    return v === undefined || v.trim() === '' ? undefined : v.trim();
  };
  const num = (name: EnvVarName, fallback: number, check: (n: number) => boolean, what: string): number => {
    const raw = get(name);
    if (raw === undefined) return fallback;
    const n = Number(raw);
    if (!Number.isFinite(n) || !check(n)) {
      problems.push(`${name}=${raw} is not ${what}`);
      return fallback;
    }
    return n;
  };

  const apiUrl = get('BENCH_API_URL');
  if (apiUrl === undefined) problems.push('BENCH_API_URL is not set (e.g. -e BENCH_API_URL=http://127.0.0.1:8000)');
  else if (!/^https?:\/\/[^\s/]+/.test(apiUrl)) problems.push(`BENCH_API_URL=${apiUrl} is not an http(s) URL`);
  const staticUrl = get('BENCH_STATIC_URL') ?? apiUrl;
  if (staticUrl !== undefined && !/^https?:\/\/[^\s/]+/.test(staticUrl)) {
    problems.push(`BENCH_STATIC_URL=${staticUrl} is not an http(s) URL`);
  }

  const users = num('BENCH_USERS', 1000, (n) => Number.isInteger(n) && n >= 1, 'an integer >= 1');
  const seed = num('BENCH_SEED', 1, (n) => Number.isInteger(n) && n >= 0, 'an integer >= 0');
  let salt: number | null = null;
  const rawSalt = get('BENCH_SALT');
  if (rawSalt !== undefined) {
    const parsed = parseSalt(rawSalt);
    if (typeof parsed === 'string') problems.push(`BENCH_SALT ${parsed}`);
    else salt = parsed;
  }
  const p99Ms = num('BENCH_P99_MS', 250, (n) => n > 0, 'a number of milliseconds > 0');
  const maxErrorRate = num('BENCH_MAX_ERROR_RATE', 0.01, (n) => n >= 0 && n <= 1, 'a rate between 0 and 1');
  const timeoutMs = num('BENCH_TIMEOUT_MS', 10_000, (n) => n > 0, 'a number of milliseconds > 0');

  let stages: ScriptStage[] = [{ durationS: 10, targetRate: 10 }];
  const rawStages = get('BENCH_STAGES');
  if (rawStages !== undefined) {
    const parsed = parseStages(rawStages);
    if (typeof parsed === 'string') problems.push(`BENCH_STAGES ${parsed}`);
    else stages = parsed;
  }
  const peak = Math.max(...stages.map((s) => s.targetRate));
  const defaultPre = Math.max(10, Math.ceil(peak * 0.05));
  const preAllocatedVUs = num('BENCH_PREALLOCATED_VUS', defaultPre, (n) => Number.isInteger(n) && n >= 1, 'an integer >= 1');
  const defaultMax = Math.max(preAllocatedVUs, Math.min(1000, Math.max(10, Math.ceil(peak))));
  const maxVUs = num('BENCH_MAX_VUS', defaultMax, (n) => Number.isInteger(n) && n >= 1, 'an integer >= 1');
  if (maxVUs < preAllocatedVUs) problems.push(`BENCH_MAX_VUS=${maxVUs} is below BENCH_PREALLOCATED_VUS=${preAllocatedVUs}`);

  const workload = get('BENCH_WORKLOAD') ?? defaultWorkload;
  if (workload !== defaultWorkload) {
    problems.push(`BENCH_WORKLOAD=${workload} but this script runs the ${defaultWorkload} workload (use ${workload}.k6.ts)`);
  }

  if (problems.length > 0) throw new Error(`bench k6 script: ${problems.join('; ')}`);
  return {
    apiUrl: trimSlash(apiUrl as string),
    staticUrl: trimSlash(staticUrl as string),
    users,
    seed,
    salt,
    stages,
    workload,
    p99Ms,
    maxErrorRate,
    preAllocatedVUs,
    maxVUs,
    timeoutMs,
    summaryPath: get('BENCH_SUMMARY_PATH') ?? 'summary.json',
  };
}

/** Parses BENCH_STAGES; returns the stages or a phrase saying what is wrong. */
export function parseStages(raw: string): ScriptStage[] | string {
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    return `is not JSON: ${raw}`;
  }
  if (!Array.isArray(value) || value.length === 0) return 'must be a non-empty JSON array of {durationS, targetRate}';
  const stages: ScriptStage[] = [];
  for (let i = 0; i < value.length; i++) {
    const s = value[i] as { durationS?: unknown; targetRate?: unknown } | null;
    const d = s === null || typeof s !== 'object' ? undefined : s.durationS;
    const r = s === null || typeof s !== 'object' ? undefined : s.targetRate;
    // a zero-duration stage is a jump: the traffic model opens with one to set the ramp's floor
    if (typeof d !== 'number' || !(d >= 0) || !Number.isFinite(d)) return `[${i}].durationS must be a number of seconds >= 0`;
    if (typeof r !== 'number' || !(r >= 0) || !Number.isFinite(r)) return `[${i}].targetRate must be a rate >= 0`;
    stages.push({ durationS: d, targetRate: r });
  }
  if (!stages.some((s) => s.durationS > 0)) return 'lasts 0 s (every durationS is 0)';
  if (!stages.some((s) => s.targetRate > 0)) return 'asks for no traffic (every targetRate is 0)';
  return stages;
}

function trimSlash(url: string): string {
  return url.replace(/\/+$/, '');
}
