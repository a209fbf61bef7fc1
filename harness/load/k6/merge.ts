// `bench k6 merge`: the `--out json` outputs of K k6 processes that ran one load together (execution
// segments, by hand or through the k6-operator) -> one LoadResults, as if one generator had run it.
//
// Exact by construction: every sample of every output goes through ONE aggregator (json-output.ts),
// so counts are sums, and each percentile comes from all samples together, never from averaging K
// percentiles. The whole run's and each kind's percentiles are k6's own (its TrendSink: linear
// interpolation between the two nearest ranks of the sorted samples), from every sample kept in
// memory (8 bytes each, up to MAX_EXACT_SAMPLES): the figures one k6 process that had sent all
// the requests would have reported. Past that cap, and for each second of the series, they come
// from one HDR histogram of all samples (3 significant digits), and the merge says which. The outputs are read together,
// line by line in time order (a K-way merge on each sample's timestamp), so a second of the series
// holds that second's samples from every generator, on one time axis whose t = 0 is the earliest
// sample of any of them. Generators on different machines share that axis only as well as their
// clocks agree (NTP keeps that well under the one-second resolution of the series).
//
// Thresholds are re-evaluated on the merged data: each k6 process judged only its own share.
import { createReadStream, existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';
import { createInterface } from 'node:readline';
import { createGunzip } from 'node:zlib';
import { BenchError } from '../../errors.ts';
import type { Latency, LoadResults, Stage } from '../../../reports/schema.ts';
import { KEEP_SUBMETRIC } from '../../../loadtests/lib/summary.ts';
import { K6JsonOutputAggregator, type K6JsonOutputResults } from './json-output.ts';
import { NO_SESSION } from './error-kinds.ts';

/** One generator's output: its NDJSON samples and, when it wrote one, its summary. */
export interface GeneratorOutput {
  /** the folder it came from (a label in the report) */
  dir: string;
  /** k6's `--out json=` file (.gz read as gzip) */
  points: string;
  /** the script's handleSummary JSON (for the salt it records); null when absent */
  summary: string | null;
}

// what each generator may have called its files: the exported commands' names first, then the driver's
const POINTS_NAMES = ['points.ndjson.gz', 'points.ndjson', 'k6-points.json.gz', 'k6-points.json'];
const SUMMARY_NAMES = ['summary.json', 'k6-summary.json'];

/** Finds each folder's output; a folder without one is a usage error naming it. */
export function findGeneratorOutputs(dirs: readonly string[]): GeneratorOutput[] {
  if (dirs.length === 0) throw new BenchError('usage', 'no folder to merge', 'give one folder per k6 process, e.g. bench k6 merge seg-1 seg-2');
  const out: GeneratorOutput[] = [];
  for (const dir of dirs) {
    if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new BenchError('usage', `${dir} is not a folder`, 'give the folders the k6 processes wrote their output in');
    const names = readdirSync(dir);
    const points = POINTS_NAMES.find((n) => names.includes(n));
    if (points === undefined) {
      throw new BenchError('usage', `${dir} holds no k6 JSON output (${POINTS_NAMES.join(', ')})`, 'run k6 with --out json=points.ndjson.gz, as the commands of bench k6 export --segments do');
    }
    const summary = SUMMARY_NAMES.find((n) => names.includes(n));
    out.push({ dir, points: join(dir, points), summary: summary === undefined ? null : join(dir, summary) });
  }
  const seen = new Set<string>();
  for (const g of out) {
    if (seen.has(g.points)) throw new BenchError('usage', `${g.dir} is given twice`, 'each generator counts once: give each folder once');
    seen.add(g.points);
  }
  return out;
}

/** A k6 threshold as the merge judged it. */
export interface MergedThreshold {
  metric: string;
  expression: string;
  /** the value the expression tested, on the merged data; null when the merge cannot compute it */
  actual: number | null;
  /** null: not re-evaluated (a statistic the merge does not keep, or a submetric) */
  ok: boolean | null;
}

/** Samples kept for k6-exact percentiles (160 MB); beyond, HDR histograms (3 significant digits). */
export const MAX_EXACT_SAMPLES = 20_000_000;

/** A growable array of doubles. */
class Samples {
  private data = new Float64Array(1024);
  length = 0;
  push(v: number): void {
    if (this.length === this.data.length) {
      const next = new Float64Array(this.data.length * 2);
      next.set(this.data);
      this.data = next;
    }
    this.data[this.length++] = v;
  }
  sorted(): Float64Array {
    return this.data.slice(0, this.length).sort();
  }
}

/** k6's percentile of sorted samples (TrendSink.P): p in 0..100. */
export function k6PercentileOfSorted(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return 0;
  const i = (p / 100) * (sorted.length - 1);
  const lo = sorted[Math.floor(i)];
  return lo + (sorted[Math.ceil(i)] - lo) * (i - Math.floor(i));
}

function exactLatency(sorted: Float64Array): Latency {
  const r = (x: number) => Math.round(x * 1000) / 1000;
  let sum = 0;
  for (const v of sorted) sum += v;
  const at = (p: number) => r(k6PercentileOfSorted(sorted, p));
  return { p50: at(50), p90: at(90), p95: at(95), p99: at(99), p999: at(99.9), max: r(sorted[sorted.length - 1] ?? 0), mean: r(sorted.length > 0 ? sum / sorted.length : 0) };
}

/** What a merge gives. */
export interface MergedK6 {
  results: LoadResults;
  /** 'k6-exact': percentiles from every sample, as k6 computes them; 'hdr': from HDR histograms (more than MAX_EXACT_SAMPLES) */
  percentiles: 'k6-exact' | 'hdr';
  thresholds: MergedThreshold[];
  generators: Array<{ dir: string; requests: number; errors: number; dropped: number; firstSampleMs: number | null; salt: number | null }>;
  /** the shared t = 0 (ms since epoch): the earliest sample of any generator */
  startedAtMs: number | null;
  /** lines of all outputs; lines that were not JSON samples */
  lines: number;
  malformed: number;
}

export interface MergeContext {
  workload: string;
  stages: Stage[];
  /** default MAX_EXACT_SAMPLES (tests lower it to see the fallback) */
  maxExactSamples?: number;
}

const TIME = /"time":"([^"]+)"/;

/** The lines of one output with each sample's time (-Infinity for lines without one: they go first). */
async function* timedLines(path: string): AsyncGenerator<{ line: string; time: number }> {
  const file = createReadStream(path);
  const input = path.endsWith('.gz') ? file.pipe(createGunzip()) : file;
  try {
    const rl = createInterface({ input, crlfDelay: Infinity });
    for await (const line of rl) {
      const m = TIME.exec(line);
      const time = m === null ? -Infinity : Date.parse(m[1]);
      yield { line, time: Number.isFinite(time) ? time : -Infinity };
    }
  } catch (err) {
    throw new BenchError('usage', `cannot read k6's JSON output ${path}: ${(err as Error).message}`, 'give the file k6 wrote with --out json=', { cause: err });
  } finally {
    file.destroy();
  }
}

/** The time of an output's first sample, or null (read until the first line that has one). */
async function firstSampleMs(path: string): Promise<number | null> {
  for await (const { time } of timedLines(path)) if (time !== -Infinity) return time;
  return null;
}

/** The salt a generator's summary recorded (the bench scripts' handleSummary), or null. */
function saltOf(summaryPath: string | null): number | null {
  if (summaryPath === null) return null;
  try {
    const salt = (JSON.parse(readFileSync(summaryPath, 'utf8')) as { bench?: { salt?: unknown } }).bench?.salt;
    return typeof salt === 'number' ? salt : null;
  } catch {
    return null;
  }
}

/** Merges K generators' outputs into one set of figures. */
export async function mergeK6Outputs(outputs: readonly GeneratorOutput[], ctx: MergeContext): Promise<MergedK6> {
  const firsts = await Promise.all(outputs.map((o) => firstSampleMs(o.points)));
  const known = firsts.filter((t): t is number => t !== null);
  const t0 = known.length > 0 ? Math.min(...known) : null;
  const cap = ctx.maxExactSamples ?? MAX_EXACT_SAMPLES;
  let exact: { all: Samples; byName: Map<string, Samples> } | null = { all: new Samples(), byName: new Map() };
  const keep = (ms: number, name: string | undefined) => {
    if (exact === null) return;
    if (exact.all.length >= cap) {
      exact = null; // too many to keep: the HDR histograms stand in
      return;
    }
    exact.all.push(ms);
    const key = name ?? 'unnamed';
    let s = exact.byName.get(key);
    if (s === undefined) exact.byName.set(key, (s = new Samples()));
    s.push(ms);
  };
  const all = new K6JsonOutputAggregator({ stages: ctx.stages, t0Ms: t0 ?? undefined, onDuration: keep });
  // one aggregator per generator too, for the per-generator rows (they cost counts only)
  const each = outputs.map(() => new K6JsonOutputAggregator({ stages: ctx.stages, t0Ms: t0 ?? undefined }));
  const declared = new Map<string, string[]>();

  const streams = outputs.map((o) => timedLines(o.points)[Symbol.asyncIterator]());
  const heads = await Promise.all(streams.map((s) => s.next()));
  for (;;) {
    let pick = -1;
    for (let i = 0; i < heads.length; i++) {
      const h = heads[i];
      if (h.done) continue;
      if (pick < 0 || h.value.time < (heads[pick].value as { time: number }).time) pick = i;
    }
    if (pick < 0) break;
    const { line } = heads[pick].value as { line: string };
    if (line.includes('"type":"Metric"')) noteThresholds(line, declared);
    all.push(line);
    each[pick].push(line);
    heads[pick] = await streams[pick].next();
  }

  const merged = all.finish();
  const durationS = ctx.stages.reduce((t, s) => t + s.durationS, 0);
  const salts = outputs.map((o) => saltOf(o.summary));
  const oneSalt = salts.every((s) => s !== null && s === salts[0]) ? salts[0] : null;
  const kept = exact as { all: Samples; byName: Map<string, Samples> } | null;
  const sortedAll = kept === null ? null : kept.all.sorted();
  if (kept !== null && sortedAll !== null) {
    merged.latencyMs = exactLatency(sortedAll);
    for (const [name, e] of Object.entries(merged.endpoints)) {
      const s = kept.byName.get(name);
      if (s !== undefined && s.length > 0) e.latencyMs = exactLatency(s.sorted());
    }
  }
  const results = toLoadResults(merged, ctx, durationS, oneSalt);
  const percentileMs = (p: number) => (sortedAll === null ? all.durationPercentileMs(p) : k6PercentileOfSorted(sortedAll, p));
  return {
    results,
    percentiles: sortedAll === null ? 'hdr' : 'k6-exact',
    thresholds: evaluateThresholds(declared, merged, durationS, percentileMs),
    generators: outputs.map((o, i) => {
      const r = each[i].finish();
      return { dir: o.dir, requests: r.totals.requests, errors: r.totals.errors, dropped: r.totals.dropped, firstSampleMs: firsts[i], salt: salts[i] };
    }),
    startedAtMs: t0,
    lines: merged.lines,
    malformed: merged.malformed,
  };
}

function toLoadResults(m: K6JsonOutputResults, ctx: MergeContext, durationS: number, salt: number | null): LoadResults {
  const { requests, errors, dropped } = m.totals;
  return {
    driver: 'k6',
    workload: ctx.workload,
    salt,
    stages: ctx.stages,
    durationS,
    totals: {
      requests,
      ok: requests - errors,
      errors,
      dropped,
      throughputRps: durationS > 0 ? Math.round((requests / durationS) * 100) / 100 : 0,
      errorRate: requests > 0 ? errors / requests : 0,
    },
    latencyMs: m.latencyMs,
    endpoints: m.endpoints,
    statusCodes: m.statusCodes,
    errorKinds: m.errorKinds,
    series: m.series,
    // k6 reports no schedule lag; dropped iterations are the sign a generator could not keep up
    generator: { saturated: dropped > 0, maxLagMs: 0, peakRssMb: 0 },
  };
}

/** Records the thresholds a metric declaration line carries ({"type":"Metric","data":{"name","thresholds":[...]}}). */
function noteThresholds(line: string, into: Map<string, string[]>): void {
  try {
    const d = (JSON.parse(line) as { data?: { name?: unknown; thresholds?: unknown } }).data;
    if (typeof d?.name !== 'string' || !Array.isArray(d.thresholds)) return;
    const list = into.get(d.name) ?? [];
    for (const t of d.thresholds) if (typeof t === 'string' && !list.includes(t)) list.push(t);
    into.set(d.name, list);
  } catch {
    /* a malformed declaration: the aggregator counts it */
  }
}

const EXPRESSION = /^\s*(avg|min|max|med|count|rate|value|p\((\d+(?:\.\d+)?)\))\s*(<=|>=|===|==|!=|<|>)\s*(-?\d+(?:\.\d+)?(?:e-?\d+)?)\s*$/;

/** Parses "p(99)<500" -> {stat, percentile, op, bound}; null for an expression k6 allows but the merge does not read. */
export function parseThreshold(expression: string): { stat: string; percentile: number | null; op: string; bound: number } | null {
  const m = EXPRESSION.exec(expression);
  if (m === null) return null;
  return { stat: m[2] === undefined ? m[1] : 'p', percentile: m[2] === undefined ? null : Number(m[2]), op: m[3], bound: Number(m[4]) };
}

function compare(actual: number, op: string, bound: number): boolean {
  switch (op) {
    case '<':
      return actual < bound;
    case '<=':
      return actual <= bound;
    case '>':
      return actual > bound;
    case '>=':
      return actual >= bound;
    case '!=':
      return actual !== bound;
    default:
      return actual === bound;
  }
}

/** Each declared threshold judged on the merged data. */
export function evaluateThresholds(
  declared: ReadonlyMap<string, readonly string[]>,
  m: K6JsonOutputResults,
  durationS: number,
  percentileMs: (p: number) => number | null,
): MergedThreshold[] {
  const out: MergedThreshold[] = [];
  // http_req_failed counts failed requests; a login without a session is the engine's error, not k6's
  const httpFailed = m.totals.errors - (m.errorKinds[NO_SESSION] ?? 0);
  for (const [metric, expressions] of [...declared].sort((a, b) => a[0].localeCompare(b[0]))) {
    for (const expression of expressions) {
      // submetric thresholds here only make k6 keep a submetric in its summary: always true
      if (metric.includes('{') && KEEP_SUBMETRIC.has(expression.replace(/\s+/g, ''))) continue;
      const t = parseThreshold(expression);
      let actual: number | null = null;
      if (t !== null && !metric.includes('{')) {
        if (metric === 'http_req_duration' && m.latencyMs !== undefined && m.totals.requests > 0) {
          if (t.stat === 'p') actual = percentileMs(t.percentile!);
          else if (t.stat === 'med') actual = percentileMs(50);
          else if (t.stat === 'avg') actual = m.latencyMs.mean;
          else if (t.stat === 'max') actual = m.latencyMs.max;
        } else if (metric === 'http_req_failed' && t.stat === 'rate') {
          actual = m.totals.requests > 0 ? httpFailed / m.totals.requests : 0;
        } else if (metric === 'http_reqs') {
          if (t.stat === 'count') actual = m.totals.requests;
          else if (t.stat === 'rate' && durationS > 0) actual = m.totals.requests / durationS;
        } else if (metric === 'dropped_iterations' && t.stat === 'count') {
          actual = m.totals.dropped;
        }
      }
      out.push({ metric, expression, actual, ok: actual === null ? null : compare(actual, t!.op, t!.bound) });
    }
  }
  return out;
}

/** The label of a generator's folder in reports: its last two path parts (segments/1-of-2). */
export function generatorLabel(dir: string): string {
  const parts = dir.split('/').filter(Boolean);
  return parts.slice(-2).join('/') || basename(dir);
}
