// The per-tier figures of a run, read from Prometheus after the load: backend distribution, LB
// retries, cache and edge hit ratios, per-shard query rates, replica lag, the databases' own
// commit counts; plus the time series the report draws. Fills `tiers`, `prometheus` and
// `server.appRequests` of results.json.
//
// Counter figures are exact, not PromQL increase(): increase() extrapolates to the window's edges
// and drops the first count of a series born inside the window (a status code first seen during
// the load), so a run of N requests would not read N. Here every counter's raw samples are read
// and its increase summed with counter resets handled (an app restarted by a drill starts at 0).
import type { DeployPlan } from '../topology/plan.ts';
import { BenchError } from '../errors.ts';
import { kinds as registeredKinds, type KindRegistry } from '../../targets/services/index.ts';
import { instant, matchers, range, samples, type Labels, type MatchValue, type QueryOptions, type Sample, type Series } from './query.ts';

/** The load's window, in epoch seconds. */
export interface TierWindow {
  startS: number;
  endS: number;
}

export interface TierResults {
  /** results.json `tiers`: tier -> figure -> value; a metric nobody exported is absent, not 0 */
  tiers: Record<string, Record<string, number>>;
  /** results.json `prometheus`: series name -> [[seconds since the window's start, value], ...] */
  prometheus: Record<string, [number, number][]>;
  /** the app servers' own count of requests in the window (results.json `server.appRequests`) */
  appRequests: number | null;
  /** queries that failed, one line each (results.json `notes`) */
  notes: string[];
}

export interface CollectOptions extends QueryOptions {
  /** the scrape interval of the Prometheus queried, default 1 s */
  scrapeIntervalS?: number;
  /** how far before the window a counter's baseline sample may be, default 120 s */
  lookbackS?: number;
  /** the first scrape after the window's end counts (it holds the last second), if it is taken
   *  within this many seconds of the end; default 2 × the scrape interval */
  graceS?: number;
  /** the component kinds whose declared figures are read; default targets/services/index.ts */
  kinds?: KindRegistry;
}

/** The per-service figures the kinds declare (their modules' `figures`), with the job that scrapes them. Pure. */
export function kindFigures(kinds: KindRegistry = registeredKinds): { job: string; tier: string; name: string; metrics: string[]; labels: Readonly<Record<string, string>> }[] {
  const out = [];
  for (const k of kinds.values()) {
    for (const f of k.figures ?? []) {
      if (!k.scrape) throw new Error(`kind ${k.kind} declares figures but no scrape job`);
      out.push({ job: k.scrape.job, tier: f.tier, name: f.name, metrics: f.metrics, labels: f.labels ?? {} });
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Pure helpers

/** What a counter series grew by inside the window, from its raw samples: the baseline is the last
 *  sample at or before `startS` (0 when the series was born inside the window); the end is the first
 *  sample at or after `endS` if one was taken within `graceS`, else the last one inside. A drop is a
 *  reset (the process restarted) and counts the new value from 0. */
export function counterIncrease(values: readonly [number, number][], window: TierWindow, graceS: number): number {
  let prev = 0;
  let inc = 0;
  for (const [t, v] of values) {
    if (!Number.isFinite(v)) continue;
    if (t <= window.startS) {
      prev = v;
      continue;
    }
    if (t > window.endS + graceS) break;
    inc += v >= prev ? v - prev : v;
    prev = v;
    if (t >= window.endS) break;
  }
  return inc;
}

/** The largest finite value a gauge series took inside the window; null when it had none. */
export function gaugeMax(values: readonly [number, number][], window: TierWindow): number | null {
  let max: number | null = null;
  for (const [t, v] of values) {
    if (t < window.startS || t > window.endS || !Number.isFinite(v)) continue;
    if (max === null || v > max) max = v;
  }
  return max;
}

/** Sums `value(series)` by `key(labels)`; a null key leaves the series out. */
export function sumBy(list: readonly Series[], key: (l: Labels) => string | null, value: (s: Series) => number): Map<string, number> {
  const out = new Map<string, number>();
  for (const s of list) {
    const k = key(s.metric);
    if (k === null) continue;
    out.set(k, (out.get(k) ?? 0) + value(s));
  }
  return out;
}

/** hits / (hits + misses); null when there was no lookup. Errors are not lookups that answered. */
export const hitRatio = (hits: number, misses: number): number | null => (hits + misses > 0 ? hits / (hits + misses) : null);

/** Range-query points as [seconds since `startS`, value], without the NaN/Inf JSON cannot hold. */
export function relativePoints(values: readonly [number, number][], startS: number): [number, number][] {
  return values.filter(([, v]) => Number.isFinite(v)).map(([t, v]) => [Math.round((t - startS) * 1000) / 1000, v]);
}

/** The step of the report's range queries: 1 s, coarser for long runs (at most ~600 points). */
export const reportStepS = (window: TierWindow) => Math.max(1, Math.ceil((window.endS - window.startS) / 600));

/** Whether an edge cache status (nginx's $upstream_cache_status, lower-cased) was served from cache. */
export const EDGE_HIT_RESULTS = ['hit', 'stale', 'updating', 'revalidated'];

/** A series selector: `metric{run="…",…}`. */
export const selector = (metric: string, labels: Record<string, MatchValue | undefined>) => `${metric}${matchers(labels)}`;

/** The app servers' own latency quantile over the window (seconds), from their histograms. */
export function latencyQuantileQuery(run: string, quantile: number, window: TierWindow): string {
  const span = Math.max(1, Math.ceil(window.endS - window.startS));
  return `histogram_quantile(${quantile}, sum by (le) (increase(${selector('http_request_duration_seconds_bucket', { run, job: 'app' })}[${span}s])))`;
}

/** The PromQL of every series the report draws, by name prefix; `w` is the rate window. A ratio
 *  with no hits reads 0 (`or vector(0)`), one with no lookups at all is absent. */
export function reportQueries(run: string, w: string): { name: string; promql: string; key: (l: Labels) => string }[] {
  const app = { run, job: 'app' };
  const hitRe = EDGE_HIT_RESULTS.join('|');
  return [
    { name: 'app.rps', promql: `sum by (service) (rate(${selector('http_requests_total', app)}[${w}]))`, key: (l) => `app.rps.${l.service ?? 'unknown'}` },
    {
      name: 'lb.rps',
      promql: `sum by (server) (rate(${selector('haproxy_server_http_responses_total', { run })}[${w}]))`,
      key: (l) => `lb.rps.${l.server ?? 'unknown'}`,
    },
    {
      name: 'cache.hitRatio',
      promql: `(sum(rate(${selector('cache_requests_total', { run, result: 'hit' })}[${w}])) or vector(0)) / sum(rate(${selector('cache_requests_total', { run, result: { re: 'hit|miss' } })}[${w}]))`,
      key: () => 'cache.hitRatio',
    },
    {
      name: 'edge.hitRatio',
      promql: `(sum(rate(${selector('edge_cache_requests_total', { run, result: { re: `(?i)(${hitRe})` } })}[${w}])) or vector(0)) / sum(rate(${selector('edge_cache_requests_total', { run })}[${w}]))`,
      key: () => 'edge.hitRatio',
    },
    {
      name: 'db.qps',
      promql: `sum by (role, shard) (rate(${selector('db_queries_total', app)}[${w}]))`,
      key: (l) => `db.qps.${l.role ?? 'unknown'}.${l.shard ?? 'unknown'}`,
    },
    { name: 'db.replicaLagS', promql: `max by (replica) (${selector('replica_lag_seconds', { run })})`, key: (l) => `db.replicaLagS.${l.replica ?? 'unknown'}` },
  ];
}

// ---------------------------------------------------------------------------------------------
// Collection

/** Figures per tier for the load's window, and the report's series. Query failures become notes;
 *  only an abort throws. Prometheus should have been flushed (query.ts flush) past `window.endS`. */
export async function collectTiers(baseUrl: string, plan: DeployPlan, window: TierWindow, options: CollectOptions = {}): Promise<TierResults> {
  const run = plan.runId;
  const interval = options.scrapeIntervalS ?? 1;
  const graceS = options.graceS ?? 2 * interval;
  const lookbackS = options.lookbackS ?? 120;
  const q: QueryOptions = { timeoutMs: options.timeoutMs, signal: options.signal };
  const notes: string[] = [];
  const tiers: Record<string, Record<string, number>> = {};
  const durationS = Math.max(window.endS - window.startS, 1e-9);

  const put = (tier: string, key: string, value: number | null | undefined) => {
    if (value === null || value === undefined || !Number.isFinite(value)) return;
    (tiers[tier] ??= {})[key] = value;
  };
  const guard = async <T>(what: string, f: () => Promise<T>): Promise<T | null> => {
    try {
      return await f();
    } catch (e) {
      if (e instanceof BenchError && e.code === 'interrupted') throw e;
      if (options.signal?.aborted) throw new BenchError('interrupted', 'collecting tier figures aborted');
      notes.push(`tier figures: ${what} failed: ${e instanceof BenchError ? e.message : String(e)}`);
      return null;
    }
  };
  /** raw samples of a metric over the window (plus baseline and grace); null on failure */
  const raw = (metric: string, labels: Record<string, MatchValue | undefined>) =>
    guard(metric, () => samples(baseUrl, selector(metric, { run, ...labels }), window.startS - lookbackS, window.endS + graceS, q));
  const increase = (s: Series) => counterIncrease(s.values, window, graceS);

  const declared = kindFigures(options.kinds);
  const [http, latency, haResponses, haRetries, haRedispatches, cache, sessions, edge, dbQueries, lag, declaredSeries] =
    await Promise.all([
      raw('http_requests_total', { job: 'app' }),
      // Quantiles come from PromQL: a ratio is unharmed by increase()'s extrapolation, and the raw
      // samples of every bucket of every route would be a heavy read on a long run.
      guard('http_request_duration_seconds', () => Promise.all([0.5, 0.99].map((quantile) => instant(baseUrl, latencyQuantileQuery(run, quantile, window), window.endS, q)))),
      raw('haproxy_server_http_responses_total', {}),
      raw('haproxy_backend_retry_warnings_total', {}),
      raw('haproxy_backend_redispatch_warnings_total', {}),
      raw('cache_requests_total', { job: 'app' }),
      raw('session_ops_total', { job: 'app' }),
      raw('edge_cache_requests_total', {}),
      raw('db_queries_total', { job: 'app' }),
      raw('replica_lag_seconds', {}),
      // the kinds' own counters (database commits and rows, Redis keyspace and commands)
      Promise.all(declared.map((f) => Promise.all(f.metrics.map((m) => raw(m, { job: f.job, ...f.labels }))))),
    ]);
  const present = (s: Series[] | null): s is Series[] => s !== null && s.length > 0;
  const total = (s: Series[]) => s.reduce((a, x) => a + increase(x), 0);

  // app: the servers' own view, and how the balancer spread the load over them
  let appRequests: number | null = null;
  if (present(http)) {
    appRequests = total(http);
    put('app', 'requestsTotal', appRequests);
    for (const [svc, n] of sumBy(http, (l) => l.service ?? l.server ?? 'unknown', increase)) put('app', `requests.${svc}`, n);
    put('app', 'errors5xx', total(http.filter((s) => (s.metric.status ?? '').startsWith('5'))));
  }
  if (latency) {
    const ms = (r: Sample[] | undefined) => (r && r[0] ? r[0].value[1] * 1000 : null);
    put('app', 'latencyP50Ms', ms(latency[0]));
    put('app', 'latencyP99Ms', ms(latency[1]));
  }

  // lb: responses per backend server (summed over codes and backends), retries, redispatches
  if (present(haResponses)) {
    put('lb', 'responses', total(haResponses));
    for (const [server, n] of sumBy(haResponses, (l) => l.server ?? null, increase)) put('lb', `responses.${server}`, n);
    put('lb', 'responses5xx', total(haResponses.filter((s) => s.metric.code === '5xx')));
  }
  if (present(haRetries)) put('lb', 'retries', total(haRetries));
  if (present(haRedispatches)) put('lb', 'redispatches', total(haRedispatches));

  // cache: the app's cache-aside lookups
  if (present(cache)) {
    const by = sumBy(cache, (l) => l.result ?? null, increase);
    const hits = by.get('hit') ?? 0;
    const misses = by.get('miss') ?? 0;
    put('cache', 'hits', hits);
    put('cache', 'misses', misses);
    put('cache', 'errors', by.get('error') ?? 0);
    put('cache', 'hitRatio', hitRatio(hits, misses));
  }
  if (present(sessions)) {
    for (const [k, n] of sumBy(sessions, (l) => `${l.op ?? 'unknown'}.${l.result ?? 'unknown'}`, increase)) put('sessions', k, n);
  }
  if (present(edge)) {
    const isHit = (l: Labels) => EDGE_HIT_RESULTS.includes((l.result ?? '').toLowerCase());
    const hits = total(edge.filter((s) => isHit(s.metric)));
    const misses = total(edge.filter((s) => !isHit(s.metric)));
    put('edge', 'hits', hits);
    put('edge', 'misses', misses);
    put('edge', 'hitRatio', hitRatio(hits, misses));
  }

  // db: where the queries went (role x shard), how far replicas lagged, what the databases counted
  if (present(dbQueries)) {
    put('db', 'queriesTotal', total(dbQueries));
    for (const [k, n] of sumBy(dbQueries, (l) => `${l.role ?? 'unknown'}.${l.shard ?? 'unknown'}`, increase)) {
      put('db', `queries.${k}`, n);
      put('db', `qps.${k}`, n / durationS);
    }
  }
  if (present(lag)) {
    const maxBy = new Map<string, number>();
    for (const s of lag) {
      const m = gaugeMax(s.values, window);
      const k = s.metric.replica ?? 'unknown';
      if (m !== null) maxBy.set(k, Math.max(m, maxBy.get(k) ?? -Infinity));
    }
    for (const [replica, m] of maxBy) put('db', `maxReplicaLagS.${replica}`, m);
  }
  const perService = (tier: string, name: string, list: (Series[] | null)[]) => {
    const all = list.filter(present).flat();
    if (all.length === 0) return;
    for (const [svc, n] of sumBy(all, (l) => l.service ?? null, increase)) put(tier, `${name}.${svc}`, n);
  };
  declared.forEach((f, i) => perService(f.tier, f.name, declaredSeries[i]!));

  // the report's series
  const stepS = reportStepS(window);
  const w = `${Math.max(4 * interval, 2 * stepS)}s`;
  const prometheus: Record<string, [number, number][]> = {};
  await Promise.all(
    reportQueries(run, w).map(async (rq) => {
      const res = await guard(rq.name, () => range(baseUrl, rq.promql, window.startS, window.endS, stepS, q));
      for (const s of res ?? []) {
        const points = relativePoints(s.values, window.startS);
        if (points.length > 0) prometheus[rq.key(s.metric)] = points;
      }
    }),
  );
  return { tiers, prometheus, appRequests, notes };
}
