// RunConfig: everything one run needs, validated at the edge. Precedence (k6's rule): defaults <
// phase defaults < environment (BENCH_*) < flags. "Unset" is undefined, never 0.
import { parseSizes, type SizeOverride } from '../capacity/scale.ts';
import { usageError } from '../errors.ts';
import { parseChoice, parseCount, parseDuration, parseInteger, parseRate } from '../cli/parse.ts';
import { phaseParams, phases, PHASE_NUMBERS, type RegisteredParam } from '../../targets/phases/index.ts';
import { checkPhaseOptions } from '../../targets/phases/params.ts';
import { workloads, DEFAULT_WORKLOAD } from '../../loadtests/workloads.ts';
import type { OptionValue, PhaseDefinition, Topology } from '../topology/types.ts';
import { SALT_LIMIT } from '../../loadtests/lib/identity.ts';
import type { Burst } from '../load/traffic-model.ts';

export type RuntimeChoice = 'native' | 'docker' | 'auto';
export type DriverChoice = 'embedded' | 'k6' | 'auto';

export interface Objectives {
  /** p99 latency objective in ms */
  p99Ms: number;
  /** error rate objective, 0..1 */
  maxErrorRate: number;
}

export interface RunConfig {
  phase: number;
  users: number;
  durationS: number;
  /** arrival rate override (requests/s); null: from the traffic model */
  rate: number | null;
  /** the highest rate this machine is asked to drive; null: estimated from its cores */
  maxRate: number | null;
  seed: number;
  /** the load's sign-up salt (--salt); absent or null: a fresh one per load */
  salt?: number | null;
  /** run directory; null: .runs/<run id> */
  out: string | null;
  /** --force: an --out that already holds a run's results is cleared instead of refused */
  force: boolean;
  /** warm-up before the measured load, in seconds; null: the topology's default (defaultWarmupS) */
  warmupS: number | null;
  /** how long settling (replicas replaying to their primary's LSN) may take before the run fails */
  settleTimeoutS: number;
  runtime: RuntimeChoice;
  /** Docker images: official (pulled) or local (built offline from this machine's binaries) */
  images: 'official' | 'local';
  /** Docker only: start Grafana with the dashboards */
  grafana: boolean;
  driver: DriverChoice;
  /** the k6 binary (--k6-bin); absent or null: `k6` on PATH */
  k6Bin?: string | null;
  /** embedded engine threads (--generator-threads); absent or null: the cores the topology leaves
   *  free (harness/load/threads.ts defaultGeneratorThreads) */
  generatorThreads?: number | null;
  workload: string;
  keep: boolean;
  json: boolean;
  /** the phase's declared options (targets/phases/params.ts), every one filled: name -> value */
  options: Record<string, OptionValue>;
  /** fault schedule entries, e.g. "dead-server@30s" */
  chaos: string[];
  /** --burst 5x@20s+10s: the planned rate multiplied over a window of the measured load; absent or null: none */
  burst?: Burst | null;
  /** start a Prometheus for the run (false when the user brings their own) */
  prometheus: boolean;
  prometheusUrl: string | null;
  /** route every edge through Toxiproxy */
  proxies: boolean;
  objectives: Objectives;
  /** --size HOST=CPU[,MEM] overrides of the phase's host sizes, applied by topologyFor */
  sizes?: Record<string, SizeOverride>;
}

/** Raw option values as commander hands them over (strings, booleans, undefined when absent).
 *  A type, not an interface: commander's object also holds the phases' flags (RunFlags). */
export type RawRunOptions = {
  phase?: string;
  users?: string;
  duration?: string;
  rate?: string;
  maxRate?: string;
  seed?: string;
  salt?: string;
  out?: string;
  force?: boolean;
  warmup?: string;
  settleTimeout?: string;
  runtime?: string;
  images?: string;
  grafana?: boolean;
  driver?: string;
  k6Bin?: string;
  generatorThreads?: string;
  workload?: string;
  keep?: boolean;
  json?: boolean;
  chaos?: string[];
  burst?: string;
  prometheus?: boolean;
  prometheusUrl?: string;
  proxies?: boolean;
  p99?: string;
  maxErrorRate?: string;
  size?: string[];
};

/** Raw options plus the phases' own flags, each by its param name (appServers for --app-servers). */
export type RunFlags = RawRunOptions & { [phaseOption: string]: unknown };

const ENV: Record<string, keyof RawRunOptions> = {
  BENCH_USERS: 'users',
  BENCH_DURATION: 'duration',
  BENCH_SEED: 'seed',
  BENCH_SALT: 'salt',
  BENCH_RUNTIME: 'runtime',
  BENCH_IMAGES: 'images',
  BENCH_DRIVER: 'driver',
  BENCH_K6_BIN: 'k6Bin',
  BENCH_MAX_RATE: 'maxRate',
  BENCH_WARMUP: 'warmup',
  BENCH_PROMETHEUS_URL: 'prometheusUrl',
};

/** How long replicas may take to replay the seed before a run gives up (a 1e6-row seed takes seconds). */
export const DEFAULT_SETTLE_TIMEOUT_S = 120;

/** The warm-up where a topology has something to warm: caches (Redis cache-aside, a CDN edge) or
 *  read replicas, whose buffers and the apps' JIT start cold after seeding. */
export const DEFAULT_WARMUP_S = 20;

/** `--warmup` when it is not given: DEFAULT_WARMUP_S where caches or replicas exist, else 0. */
export function defaultWarmupS(topology: Pick<Topology, 'services'>): number {
  const warmable = topology.services.some(
    (s) =>
      (s.config.kind === 'postgres' && s.config.postgres.role === 'replica') ||
      (s.config.kind === 'app' && s.config.app.cache !== null) ||
      s.config.kind === 'nginx',
  );
  return warmable ? DEFAULT_WARMUP_S : 0;
}

/** The phase definition for a --phase value, or a usage error listing the phases. */
export function phaseFor(raw: string | undefined): PhaseDefinition {
  const [first, last] = [PHASE_NUMBERS[0]!, PHASE_NUMBERS.at(-1)!];
  if (raw === undefined) throw usageError('--phase is required', `choose one of ${first}..${last}, e.g. --phase ${first}`);
  const n = parseInteger('--phase', raw, { min: first, max: last });
  const phase = phases.get(n);
  if (!phase) throw usageError(`--phase ${n} does not exist`, `choose one of ${PHASE_NUMBERS.join(', ')}`);
  return phase;
}

/**
 * The phase's declared options from their flags' text: each parsed within its declared range or
 * choices, else its default; then checked together (shards <= users) by the same check the phase
 * applies. A phase option given to a phase that does not declare it is a usage error: a flag that
 * would change nothing.
 */
export function resolvePhaseOptions(phase: PhaseDefinition, raw: RunFlags, users: number, known: ReadonlyMap<string, RegisteredParam> = phaseParams): Record<string, OptionValue> {
  for (const [name, p] of known) {
    if (raw[name] === undefined || phase.params.some((q) => q.name === name)) continue;
    throw usageError(`${p.flag}: phase ${phase.phase} has no such option`, `${p.flag} is an option of phase ${p.phases.join(', ')}`);
  }
  const options: Record<string, OptionValue> = {};
  for (const p of phase.params) {
    const text = raw[p.name];
    if (text !== undefined && typeof text !== 'string') throw usageError(`${p.flag} needs a value`, p.hint);
    options[p.name] = text === undefined ? p.default : p.type === 'int' ? parseInteger(p.flag, text, { min: p.min, max: p.max }) : p.type === 'text' ? text : parseChoice(p.flag, text, p.choices);
  }
  const checked = checkPhaseOptions(phase.phase, phase.params, { users, ...options });
  return Object.fromEntries(phase.params.map((p) => [p.name, checked[p.name] as OptionValue]));
}

/** Builds a RunConfig from flags and environment; throws the first problem as one line. */
export function resolveRunConfig(flags: RunFlags, env: Record<string, string | undefined> = {}): RunConfig {
  const raw: RunFlags = { ...flags };
  for (const [name, key] of Object.entries(ENV)) {
    if (raw[key] === undefined && env[name] !== undefined && env[name] !== '') (raw as Record<string, unknown>)[key] = env[name];
  }
  const phase = phaseFor(raw.phase);
  const users = raw.users === undefined ? defaultUsers(phase) : parseCount('--users', raw.users, { min: 1, max: 1e10 });
  const options = resolvePhaseOptions(phase, raw, users);
  const workload = raw.workload ?? DEFAULT_WORKLOAD;
  if (!workloads[workload]) {
    throw usageError(`--workload ${JSON.stringify(workload)} is not a workload`, `choose one of ${Object.keys(workloads).join(', ')}`);
  }
  let prometheusUrl: string | null = null;
  if (raw.prometheusUrl !== undefined) {
    try {
      const u = new URL(raw.prometheusUrl);
      if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new Error('scheme');
      prometheusUrl = raw.prometheusUrl.replace(/\/$/, '');
    } catch {
      throw usageError(`--prometheus-url ${JSON.stringify(raw.prometheusUrl)} is not an http(s) URL`, 'for example --prometheus-url http://127.0.0.1:9090');
    }
  }
  const seed = raw.seed === undefined ? 1 : parseInteger('--seed', raw.seed, { min: 0, max: 2 ** 31 - 1 });
  const salt = raw.salt === undefined ? null : parseInteger('--salt', raw.salt, { min: 0, max: SALT_LIMIT - 1 });
  const durationS = raw.duration === undefined ? 60 : parseDuration('--duration', raw.duration, { min: 5, max: 6 * 3600 });
  return {
    phase: phase.phase,
    users,
    durationS,
    rate: raw.rate === undefined ? null : parseRate('--rate', raw.rate),
    maxRate: raw.maxRate === undefined ? null : parseRate('--max-rate', raw.maxRate),
    seed,
    salt,
    out: raw.out ?? null,
    force: raw.force ?? false,
    // "0" is a choice (skip the warm-up), not "unset": only undefined falls back to the default.
    warmupS: raw.warmup === undefined ? null : parseDuration('--warmup', raw.warmup, { min: 0, max: 3600 }),
    settleTimeoutS: raw.settleTimeout === undefined ? DEFAULT_SETTLE_TIMEOUT_S : parseDuration('--settle-timeout', raw.settleTimeout, { min: 1, max: 3600 }),
    runtime: raw.runtime === undefined ? 'native' : parseChoice('--runtime', raw.runtime, ['native', 'docker', 'auto'] as const),
    images: raw.images === undefined ? 'official' : parseChoice('--images', raw.images, ['official', 'local'] as const),
    grafana: raw.grafana ?? false,
    driver: raw.driver === undefined ? 'embedded' : parseChoice('--driver', raw.driver, ['embedded', 'k6', 'auto'] as const),
    k6Bin: raw.k6Bin === undefined || raw.k6Bin.trim() === '' ? null : raw.k6Bin,
    generatorThreads: raw.generatorThreads === undefined ? null : parseInteger('--generator-threads', raw.generatorThreads, { min: 1, max: 256 }),
    workload,
    keep: raw.keep ?? false,
    json: raw.json ?? false,
    options,
    chaos: raw.chaos ?? [],
    burst: raw.burst === undefined ? null : parseBurst(raw.burst, durationS),
    prometheus: prometheusUrl === null && raw.prometheus !== false,
    prometheusUrl,
    proxies: raw.proxies !== false,
    sizes: parseSizes(raw.size ?? []),
    objectives: {
      p99Ms: raw.p99 === undefined ? 500 : parseDuration('--p99', raw.p99.endsWith('ms') ? raw.p99 : `${raw.p99}ms`, { min: 0.001, max: 600 }) * 1000,
      maxErrorRate: raw.maxErrorRate === undefined ? 0.01 : parseFraction('--max-error-rate', raw.maxErrorRate),
    },
  };
}

/** The most a burst may multiply the planned rate by: past it one machine's generator, not the
 *  queue, is what a run would measure. */
export const BURST_MAX_FACTOR = 20;

const BURST_HINT = 'write FACTORx@START+LENGTH, e.g. --burst 5x@20s+10s (5 times the planned rate from t=20 s of the measured load for 10 s)';

/**
 * --burst FACTORx@START+LENGTH: the factor in (1, BURST_MAX_FACTOR], the window inside the
 * measured load's `durationS`. One line per problem, exit 2.
 */
export function parseBurst(raw: string, durationS: number): Burst {
  const m = /^\s*(\d+(?:\.\d+)?)x@([^+\s]+)\+(\S+)\s*$/.exec(raw);
  if (!m) throw usageError(`--burst ${JSON.stringify(raw)} is not a burst`, BURST_HINT);
  const factor = Number(m[1]);
  if (!(factor > 1) || factor > BURST_MAX_FACTOR) {
    throw usageError(`--burst ${raw}: the factor ${m[1]} must be more than 1 and at most ${BURST_MAX_FACTOR}`, BURST_HINT);
  }
  const startS = parseDuration('--burst start', m[2]!, { min: 0, max: 6 * 3600 });
  const lengthS = parseDuration('--burst length', m[3]!, { min: 0.001, max: 6 * 3600 });
  if (startS + lengthS > durationS) {
    throw usageError(`--burst ${raw} ends at ${startS + lengthS}s, past the ${durationS}s of the measured load`, 'start it earlier, shorten it, or give a longer --duration');
  }
  return { factor, startS, lengthS };
}

/** The low end of a phase's classic user range, at least 1,000: a run that says something. */
function defaultUsers(p: PhaseDefinition): number {
  return Math.max(1_000, p.usersRange[0]);
}

function parseFraction(flag: string, raw: string): number {
  const pct = raw.trim().endsWith('%');
  const n = Number(pct ? raw.trim().slice(0, -1) : raw.trim());
  const v = pct ? n / 100 : n;
  if (!Number.isFinite(v) || v < 0 || v > 1) throw usageError(`${flag} ${JSON.stringify(raw)} is not a fraction`, `write it like 1% or 0.01`);
  return v;
}
