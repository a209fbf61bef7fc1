// A small typed client for the Prometheus HTTP API (v1): instant and range queries, raw samples,
// series and targets, plus the two waits a run needs: "every target of a job is scraped" and
// "Prometheus holds a scrape taken after the load ended" (flush). Times are epoch seconds.
import { BenchError } from '../errors.ts';

/** A series' labels, `__name__` included when Prometheus returns it. */
export type Labels = Record<string, string>;

/** One value of an instant vector: [epoch seconds, value]. */
export interface Sample {
  metric: Labels;
  value: [number, number];
}

/** A series over time: [[epoch seconds, value], ...] in time order. */
export interface Series {
  metric: Labels;
  values: [number, number][];
}

/** One scrape target as /api/v1/targets reports it. */
export interface Target {
  job: string;
  labels: Labels;
  scrapeUrl: string;
  health: 'up' | 'down' | 'unknown';
  lastError: string;
  /** epoch seconds of the last scrape, NaN before the first */
  lastScrapeS: number;
}

export interface QueryOptions {
  /** per request, default 10 s */
  timeoutMs?: number;
  signal?: AbortSignal;
}

type ApiResponse =
  | { status: 'success'; data: unknown; warnings?: string[] }
  | { status: 'error'; errorType: string; error: string };

/** Prometheus writes special floats as strings: "NaN", "+Inf", "-Inf". */
export function parseValue(v: string): number {
  if (v === '+Inf') return Infinity;
  if (v === '-Inf') return -Infinity;
  return Number(v);
}

const pair = (p: [number, string]): [number, number] => [p[0], parseValue(p[1])];

/** Escapes a label value for a PromQL string literal. */
export const promString = (v: string) => JSON.stringify(v);

/** The epoch-seconds form Prometheus accepts, at millisecond resolution. */
export const promTime = (s: number) => (Math.round(s * 1000) / 1000).toFixed(3);

async function call(baseUrl: string, path: string, params: Record<string, string> | URLSearchParams, what: string, options: QueryOptions): Promise<unknown> {
  const url = `${baseUrl.replace(/\/+$/, '')}${path}`;
  const timeout = AbortSignal.timeout(options.timeoutMs ?? 10_000);
  const signal = options.signal ? AbortSignal.any([options.signal, timeout]) : timeout;
  let res: Response;
  try {
    // POST with a form body: long PromQL does not fit a URL comfortably, and the API accepts both.
    res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: (params instanceof URLSearchParams ? params : new URLSearchParams(params)).toString(),
      signal,
    });
  } catch (e) {
    if (options.signal?.aborted) throw new BenchError('interrupted', `Prometheus ${what} aborted`);
    const reason = timeout.aborted ? `no answer within ${options.timeoutMs ?? 10_000} ms` : (e as Error).message;
    throw new BenchError('environment', `Prometheus at ${baseUrl} unreachable for ${what}: ${reason}`, 'check that Prometheus runs there (or fix --prometheus-url)', { cause: e });
  }
  const text = await res.text();
  let body: ApiResponse;
  try {
    body = JSON.parse(text) as ApiResponse;
  } catch {
    throw new BenchError('environment', `Prometheus at ${baseUrl} answered ${what} with HTTP ${res.status} and no JSON: ${text.slice(0, 120)}`, 'is that URL a Prometheus server?');
  }
  if (body.status !== 'success') {
    // A bad query is bench's bug (it builds them); a server-side failure is the environment's.
    const code = body.errorType === 'bad_data' ? 'internal' : 'environment';
    throw new BenchError(code, `Prometheus rejected ${what}: ${body.errorType}: ${body.error}`, code === 'internal' ? 'report this query as a bug' : 'see the Prometheus log');
  }
  return body.data;
}

type RawResult =
  | { resultType: 'vector'; result: { metric: Labels; value: [number, string] }[] }
  | { resultType: 'matrix'; result: { metric: Labels; values: [number, string][] }[] }
  | { resultType: 'scalar'; result: [number, string] }
  | { resultType: 'string'; result: [number, string] };

/** An instant query: one value per series at `time` (default: now). A scalar result becomes one
 *  sample without labels. */
export async function instant(baseUrl: string, promql: string, time?: number, options: QueryOptions = {}): Promise<Sample[]> {
  const params: Record<string, string> = { query: promql };
  if (time !== undefined) params.time = promTime(time);
  const data = (await call(baseUrl, '/api/v1/query', params, `query ${promql}`, options)) as RawResult;
  if (data.resultType === 'vector') return data.result.map((r) => ({ metric: r.metric, value: pair(r.value) }));
  if (data.resultType === 'scalar') return [{ metric: {}, value: pair(data.result) }];
  throw new BenchError('internal', `query ${promql} returned a ${data.resultType}, expected an instant vector`, 'use samples() for a range selector');
}

/** A range query: every series evaluated at start, start+step, ..., end. */
export async function range(baseUrl: string, promql: string, start: number, end: number, stepS: number, options: QueryOptions = {}): Promise<Series[]> {
  const params = { query: promql, start: promTime(start), end: promTime(end), step: String(stepS) };
  const data = (await call(baseUrl, '/api/v1/query_range', params, `range query ${promql}`, options)) as RawResult;
  if (data.resultType !== 'matrix') throw new BenchError('internal', `range query ${promql} returned a ${data.resultType}`);
  return data.result.map((r) => ({ metric: r.metric, values: r.values.map(pair) }));
}

/** The raw scraped samples of `selector` (a series selector, no function) in [start, end]: what a
 *  counter really read, with no extrapolation. */
export async function samples(baseUrl: string, selector: string, start: number, end: number, options: QueryOptions = {}): Promise<Series[]> {
  const spanMs = Math.max(1, Math.ceil((end - start) * 1000));
  const promql = `${selector}[${spanMs}ms]`;
  const data = (await call(baseUrl, '/api/v1/query', { query: promql, time: promTime(end) }, `query ${promql}`, options)) as RawResult;
  if (data.resultType !== 'matrix') throw new BenchError('internal', `query ${promql} returned a ${data.resultType}, expected a range vector`);
  return data.result.map((r) => ({ metric: r.metric, values: r.values.map(pair) }));
}

/** The label sets of the series matching any of `match` (series selectors) in [start, end]. */
export async function series(baseUrl: string, match: string[], start?: number, end?: number, options: QueryOptions = {}): Promise<Labels[]> {
  const params = new URLSearchParams();
  for (const m of match) params.append('match[]', m);
  if (start !== undefined) params.set('start', promTime(start));
  if (end !== undefined) params.set('end', promTime(end));
  return (await call(baseUrl, '/api/v1/series', params, `series ${match.join(' ')}`, options)) as Labels[];
}

/** The active scrape targets, optionally of one job. */
export async function targets(baseUrl: string, job?: string, options: QueryOptions = {}): Promise<Target[]> {
  const url = `${baseUrl.replace(/\/+$/, '')}/api/v1/targets?state=active`;
  const timeout = AbortSignal.timeout(options.timeoutMs ?? 10_000);
  const signal = options.signal ? AbortSignal.any([options.signal, timeout]) : timeout;
  let body: ApiResponse;
  try {
    const res = await fetch(url, { signal });
    body = (await res.json()) as ApiResponse;
  } catch (e) {
    throw new BenchError('environment', `Prometheus at ${baseUrl} unreachable for its targets: ${(e as Error).message}`, 'check that Prometheus runs there (or fix --prometheus-url)', { cause: e });
  }
  if (body.status !== 'success') throw new BenchError('environment', `Prometheus refused its target list: ${body.error}`, 'see the Prometheus log');
  const raw = (body.data as { activeTargets: { scrapePool: string; labels: Labels; scrapeUrl: string; health: Target['health']; lastError: string; lastScrape: string }[] }).activeTargets;
  return raw
    .map((t) => ({
      job: t.labels.job ?? t.scrapePool,
      labels: t.labels,
      scrapeUrl: t.scrapeUrl,
      health: t.health,
      lastError: t.lastError,
      lastScrapeS: t.lastScrape.startsWith('0001-') ? NaN : Date.parse(t.lastScrape) / 1000,
    }))
    .filter((t) => job === undefined || t.job === job);
}

export interface WaitOptions {
  timeoutMs: number;
  /** poll period, default 100 ms */
  intervalMs?: number;
  signal?: AbortSignal;
  /** only targets with these labels (e.g. {run: plan.runId} on a shared Prometheus) */
  labels?: Labels;
}

const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve, reject) => {
    if (signal?.aborted) return reject(new BenchError('interrupted', 'wait aborted'));
    const t = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(t);
      reject(new BenchError('interrupted', 'wait aborted'));
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });

/** A label value to match exactly, or `{ re }` for a regex match (=~, RE2, anchored). */
export type MatchValue = string | { re: string };

/** A label matcher list `{a="x",b=~"y|z"}` (empty string when there are none). */
export function matchers(labels: Record<string, MatchValue | undefined>): string {
  const parts = Object.entries(labels)
    .filter((e): e is [string, MatchValue] => e[1] !== undefined)
    .map(([k, v]) => (typeof v === 'string' ? `${k}=${promString(v)}` : `${k}=~${promString(v.re)}`));
  return parts.length ? `{${parts.join(',')}}` : '';
}

const hasLabels = (have: Labels, want: Labels | undefined) => !want || Object.entries(want).every(([k, v]) => have[k] === v);

/** Resolves when every active target of `job` has been scraped successfully (`up == 1` for each);
 *  on timeout, throws naming the targets that are down and why. Returns the number of targets. */
export async function waitForScrape(baseUrl: string, job: string, options: WaitOptions): Promise<number> {
  const deadline = Date.now() + options.timeoutMs;
  const selector = `up${matchers({ job, ...options.labels })}`;
  let down: Target[] = [];
  let expected = 0;
  for (;;) {
    const ts = (await targets(baseUrl, job, { signal: options.signal })).filter((t) => hasLabels(t.labels, options.labels));
    expected = ts.length;
    if (expected > 0) {
      const ups = await instant(baseUrl, selector, undefined, { signal: options.signal });
      if (ups.length >= expected && ups.every((s) => s.value[1] === 1)) return expected;
    }
    down = ts.filter((t) => t.health !== 'up');
    if (Date.now() >= deadline) break;
    await sleep(options.intervalMs ?? 100, options.signal);
  }
  if (expected === 0) {
    throw new BenchError('environment', `Prometheus at ${baseUrl} has no target for job ${job}`, 'check the scrape configuration bench generated (prometheus.yml in the run directory)');
  }
  const why = down.map((t) => `${t.labels.service ?? t.scrapeUrl} (${t.scrapeUrl}): ${t.lastError || t.health}`).join('; ');
  throw new BenchError('environment', `Prometheus did not scrape every ${job} target within ${options.timeoutMs} ms${why ? `: ${why}` : ''}`, 'see the logs of those services in the run directory');
}

/** Resolves once Prometheus holds, for every active target (of `jobs`, default all), a scrape
 *  taken after `afterS`: counters then include everything up to that moment. Returns the oldest of
 *  those scrapes' times. No fixed sleep: it polls the `up` timestamps, and counts the targets so a
 *  target never scraped yet (no `up` at all) holds the wait too. */
export async function flush(baseUrl: string, afterS: number, options: WaitOptions & { jobs?: string[] }): Promise<number> {
  const deadline = Date.now() + options.timeoutMs;
  const job = options.jobs && options.jobs.length > 0 ? { re: options.jobs.map(escapeRegex).join('|') } : undefined;
  const promql = `timestamp(up${matchers({ job, ...options.labels })})`;
  const wanted = (t: Target) => (!options.jobs || options.jobs.length === 0 || options.jobs.includes(t.job)) && hasLabels(t.labels, options.labels);
  let expected = 0;
  let behind: string[] = [];
  for (;;) {
    expected = (await targets(baseUrl, undefined, { signal: options.signal })).filter(wanted).length;
    const stamps = await instant(baseUrl, promql, undefined, { signal: options.signal });
    behind = stamps.filter((s) => !(s.value[1] > afterS)).map((s) => s.metric.service ?? s.metric.instance ?? '?');
    if (expected > 0 && stamps.length >= expected && behind.length === 0) return Math.min(...stamps.map((s) => s.value[1]));
    if (Date.now() >= deadline) break;
    await sleep(options.intervalMs ?? 100, options.signal);
  }
  const seen = expected === 0 ? 'no target to wait for' : behind.length > 0 ? `not yet: ${behind.join(', ')}` : 'a target was never scraped';
  throw new BenchError('environment', `Prometheus has no scrape after the load's end within ${options.timeoutMs} ms (${seen})`, 'check that Prometheus still runs and its targets answer (see its /targets page)');
}

/** Escapes a literal for a PromQL (RE2) regex matcher. */
export const escapeRegex = (s: string) => s.replace(/[\\^$.*+?()[\]{}|]/g, '\\$&');
