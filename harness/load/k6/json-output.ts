// k6's `--out json=<file>` (NDJSON: one metric declaration or one sample per line) -> the
// per-second series, status codes, error kinds and per-endpoint latency of results.json.
//
// The line shapes, from the k6 docs (results-output/real-time/json.md) and k6 v1.8.1's own output:
//   {"type":"Metric","data":{"name":"http_reqs","type":"counter","contains":"default","thresholds":[],"submetrics":[...]},"metric":"http_reqs"}
//   {"metric":"http_req_duration","type":"Point","data":{"time":"2026-11-28T19:10:15.864579633Z","value":0.62,
//     "tags":{"expected_response":"true","method":"GET","name":"read","scenario":"load","status":"200"}}}
// Key order differs between k6 versions and `tags` may be null: nothing here depends on either.
//
// Memory stays flat however long the run: counts are kept per second, latencies go into HDR
// histograms (the engine's LatencyHistogram), and per-second histograms exist only for a short
// window of recent seconds (k6 flushes samples in batches, slightly out of order).
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { createGunzip } from 'node:zlib';
import { BenchError } from '../../errors.ts';
import { LatencyHistogram, EMPTY_LATENCY } from '../histogram.ts';
import { ArrivalSchedule } from '../scheduler.ts';
import { startRateOf, SESSION_CHECK } from '../../../loadtests/lib/options.ts';
import type { Latency, LoadResults, SeriesPoint, Stage } from '../../../reports/schema.ts';
import { errorKindOf, NO_SESSION } from './error-kinds.ts';

/** What k6's JSON output says about a run. */
export interface K6JsonOutputResults {
  /** the series' t = 0 (ms since epoch): the given t0, else the first sample's time; null when neither */
  startedAtMs: number | null;
  series: SeriesPoint[];
  statusCodes: Record<string, number>;
  endpoints: LoadResults['endpoints'];
  errorKinds: Record<string, number>;
  latencyMs: Latency;
  totals: { requests: number; errors: number; dropped: number };
  /** the most VUs k6 had active at once */
  peakVus: number;
  /** lines read, lines that were not JSON samples, latency samples too late for their second's percentiles */
  lines: number;
  malformed: number;
  lateSamples: number;
}

/** What the samples alone do not say. */
export interface JsonOutputContext {
  stages: Stage[];
  /** ms since epoch when the schedule started; default: the first sample's time */
  t0Ms?: number;
  windowS?: number;
  /** sees every http_req_duration sample (ms) with its request kind (the merge keeps them for exact percentiles) */
  onDuration?: (ms: number, name: string | undefined) => void;
}

// Only these metrics are parsed; the other per-request ones (http_req_blocked, _waiting, ...) are
// most of the file and are skipped by name before JSON.parse.
const WANTED = new Set(['http_reqs', 'http_req_duration', 'http_req_failed', 'dropped_iterations', 'checks', 'vus']);
const METRIC_NAME = /"metric":"([^"]+)"/;

interface PointLine {
  type?: unknown;
  metric?: unknown;
  data?: { time?: unknown; value?: unknown; tags?: Record<string, string> | null } | null;
}

interface EndpointAcc {
  requests: number;
  errors: number;
  hist: LatencyHistogram;
}

/** Feed it lines of k6's JSON output in file order; finish() gives the figures. */
export class K6JsonOutputAggregator {
  private readonly schedule: ArrivalSchedule;
  private readonly window: number;
  private readonly onDuration: JsonOutputContext['onDuration'];
  private t0: number | null = null;
  private readonly perSecond: Array<{ requests: number; errors: number; dropped: number }> = [];
  private readonly open = new Map<number, LatencyHistogram>();
  private readonly closed = new Map<number, { p50: number | null; p95: number | null; p99: number | null; max: number | null; hdr: string | null }>();
  private readonly pool: LatencyHistogram[] = [];
  private lowestOpen = 0;
  private readonly all = new LatencyHistogram();
  private readonly endpoints = new Map<string, EndpointAcc>();
  private readonly statusCodes = new Map<string, number>();
  private readonly errorKinds = new Map<string, number>();
  private requests = 0;
  private errors = 0;
  private dropped = 0;
  private peakVus = 0;
  private lines = 0;
  private malformed = 0;
  private lateSamples = 0;

  /**
   * `stages` give each second's target rate; `t0Ms` is when the schedule started (default: the
   * first sample's time); `windowS` is how late a sample may arrive for its second.
   */
  constructor(ctx: JsonOutputContext) {
    this.schedule = new ArrivalSchedule(ctx.stages, startRateOf(ctx.stages));
    this.window = ctx.windowS ?? 5;
    this.t0 = ctx.t0Ms ?? null;
    this.onDuration = ctx.onDuration;
  }

  /** One line of the file (blank lines and metric declarations are fine). */
  push(line: string): void {
    this.lines++;
    if (line.length === 0) return;
    const name = METRIC_NAME.exec(line)?.[1];
    if (name === undefined) {
      this.malformed++;
      return;
    }
    if (!WANTED.has(name) || line.includes('"type":"Metric"')) return;
    let p: PointLine;
    try {
      p = JSON.parse(line) as PointLine;
    } catch {
      this.malformed++;
      return;
    }
    const time = typeof p.data?.time === 'string' ? Date.parse(p.data.time) : NaN;
    const value = p.data?.value;
    if (p.type !== 'Point' || !Number.isFinite(time) || typeof value !== 'number') {
      this.malformed++;
      return;
    }
    this.sample(name, time, value, p.data?.tags ?? {});
  }

  private sample(metric: string, time: number, value: number, tags: Record<string, string>): void {
    if (this.t0 === null) this.t0 = time;
    const second = Math.max(0, Math.floor((time - this.t0) / 1000));
    switch (metric) {
      case 'http_reqs': {
        this.requests += value;
        this.counts(second).requests += value;
        this.endpoint(tags.name).requests += value;
        // status 0: no answer came (a transport error), which is no status code
        const status = tags.status;
        if (status !== undefined && status !== '0') this.statusCodes.set(status, (this.statusCodes.get(status) ?? 0) + value);
        return;
      }
      case 'http_req_failed':
        if (value !== 0) {
          const code = tags.error_code === undefined ? null : Number(tags.error_code);
          this.error(second, tags.name, errorKindOf(code, Number(tags.status ?? 0)));
        }
        return;
      case 'checks':
        if (value === 0 && tags.check === SESSION_CHECK) this.error(second, 'login', NO_SESSION);
        return;
      case 'http_req_duration': {
        this.all.recordMs(value);
        this.endpoint(tags.name).hist.recordMs(value);
        this.onDuration?.(value, tags.name);
        const h = this.secondHistogram(second);
        if (h === null) this.lateSamples++;
        else h.recordMs(value);
        return;
      }
      case 'dropped_iterations':
        this.dropped += value;
        this.counts(second).dropped += value;
        return;
      case 'vus':
        if (value > this.peakVus) this.peakVus = value;
        return;
    }
  }

  private error(second: number, endpoint: string | undefined, kind: string): void {
    this.errors++;
    this.counts(second).errors++;
    this.endpoint(endpoint).errors++;
    this.errorKinds.set(kind, (this.errorKinds.get(kind) ?? 0) + 1);
  }

  private counts(second: number): { requests: number; errors: number; dropped: number } {
    while (this.perSecond.length <= second) this.perSecond.push({ requests: 0, errors: 0, dropped: 0 });
    return this.perSecond[second];
  }

  private endpoint(name: string | undefined): EndpointAcc {
    const key = name ?? 'unnamed';
    let e = this.endpoints.get(key);
    if (e === undefined) {
      e = { requests: 0, errors: 0, hist: new LatencyHistogram() };
      this.endpoints.set(key, e);
    }
    return e;
  }

  /** The histogram of an open second, opening it (and closing the oldest) as time moves on; null if already closed. */
  private secondHistogram(second: number): LatencyHistogram | null {
    if (second < this.lowestOpen) return null;
    let h = this.open.get(second);
    if (h !== undefined) return h;
    // a newer second: close everything that fell out of the window behind it
    for (const [s, old] of this.open) {
      if (s <= second - this.window) this.close(s, old);
    }
    this.lowestOpen = Math.max(this.lowestOpen, second - this.window + 1);
    h = this.pool.pop() ?? new LatencyHistogram();
    this.open.set(second, h);
    return h;
  }

  private close(second: number, h: LatencyHistogram): void {
    const r = (x: number | null) => (x === null ? null : Math.round(x * 1000) / 1000);
    // The encoded histogram rides along so a window of seconds merges exactly (chaos/verdict.ts).
    this.closed.set(second, { p50: r(h.percentileMs(50)), p95: r(h.percentileMs(95)), p99: r(h.percentileMs(99)), max: r(h.maxMs()), hdr: h.count > 0 ? h.encode() : null });
    this.open.delete(second);
    h.reset();
    this.pool.push(h);
  }

  /** The value at percentile p (0..100) of every http_req_duration sample pushed so far, in ms (null when none). */
  durationPercentileMs(p: number): number | null {
    return this.all.percentileMs(p);
  }

  /** The figures of every line pushed so far. */
  finish(): K6JsonOutputResults {
    for (const [s, h] of [...this.open]) this.close(s, h);
    const series: SeriesPoint[] = this.perSecond.map((c, t) => {
      const q = this.closed.get(t) ?? { p50: null, p95: null, p99: null, max: null, hdr: null };
      const targetRate = Math.round(this.schedule.rateAt(t + 0.5) * 1000) / 1000;
      return { t, requests: c.requests, errors: c.errors, dropped: c.dropped, targetRate, ...q };
    });
    const endpoints: LoadResults['endpoints'] = {};
    for (const [name, e] of [...this.endpoints].sort((a, b) => a[0].localeCompare(b[0]))) {
      if (e.requests === 0 && e.errors === 0) continue;
      endpoints[name] = { requests: e.requests, errors: e.errors, latencyMs: e.hist.count > 0 ? e.hist.summary() : { ...EMPTY_LATENCY } };
    }
    return {
      startedAtMs: this.t0,
      series,
      statusCodes: Object.fromEntries([...this.statusCodes].sort((a, b) => Number(a[0]) - Number(b[0]))),
      endpoints,
      errorKinds: Object.fromEntries(this.errorKinds),
      latencyMs: this.all.count > 0 ? this.all.summary() : { ...EMPTY_LATENCY },
      totals: { requests: this.requests, errors: this.errors, dropped: this.dropped },
      peakVus: this.peakVus,
      lines: this.lines,
      malformed: this.malformed,
      lateSamples: this.lateSamples,
    };
  }
}

/** Streams a k6 JSON output file (plain, or gzipped when it ends in .gz, as k6 writes it) through the aggregator. */
export async function readK6JsonOutput(path: string, ctx: JsonOutputContext): Promise<K6JsonOutputResults> {
  const agg = new K6JsonOutputAggregator(ctx);
  const file = createReadStream(path);
  const input = path.endsWith('.gz') ? file.pipe(createGunzip()) : file;
  try {
    const rl = createInterface({ input, crlfDelay: Infinity });
    for await (const line of rl) agg.push(line);
  } catch (err) {
    throw new BenchError('internal', `cannot read k6's JSON output ${path}: ${(err as Error).message}`, 'the run still has the summary; rerun to get the per-second series', { cause: err });
  } finally {
    file.destroy();
  }
  return agg.finish();
}

/** The summary's figures, with what only the JSON output knows (series, exact status codes and error kinds). */
export function mergeJsonOutput(fromSummary: LoadResults, out: K6JsonOutputResults): LoadResults {
  return {
    ...fromSummary,
    // the summary's totals and percentiles are exact (k6 keeps every sample); the JSON output adds
    // what the summary's fixed list of submetrics cannot: every status code and error kind
    statusCodes: out.statusCodes,
    errorKinds: out.errorKinds,
    series: out.series,
    endpoints: Object.keys(fromSummary.endpoints).length > 0 ? fromSummary.endpoints : out.endpoints,
  };
}
