// handleSummary for the bench scripts: the full JSON summary to a file (the k6 driver parses it)
// and a short text summary to stdout. k6's own textSummary lives in a jslib fetched by URL, which
// an offline machine cannot load, so this writes its own. Pure: no k6 imports.

/** The parts of k6's handleSummary argument read here (k6 v1 "legacy" shape; see docs/K6.md). */
export interface SummaryData {
  metrics?: Record<string, SummaryMetric>;
  state?: { testRunDurationMs?: number };
  /** k6's newer machine-readable shape keeps metrics as a list under results, the duration in config */
  results?: { metrics?: Array<SummaryMetric & { name: string }> };
  config?: { duration?: number };
  [key: string]: unknown;
}

/** One metric as k6 summarises it. */
export interface SummaryMetric {
  type: string;
  contains?: string;
  values: Record<string, number>;
  thresholds?: Record<string, { ok: boolean }>;
}

/** Thresholds that only make k6 keep a submetric: always true, not worth printing. */
export const KEEP_SUBMETRIC = new Set(['max>=0', 'rate>=0', 'count>=0']);

/** What handleSummary returns: file path -> JSON, stdout -> the text summary. */
export function summaryOutputs(data: SummaryData, opts: { summaryPath: string; workload: string }): Record<string, string> {
  return {
    [opts.summaryPath]: JSON.stringify(data, null, 1),
    stdout: textSummary(data, opts),
  };
}

/** A few lines a person reads at the end of a run. */
export function textSummary(data: SummaryData, opts: { summaryPath: string; workload: string }): string {
  const metrics = metricsOf(data);
  const v = (name: string, key: string): number | undefined => num(metrics[name]?.values[key]);
  const lines: string[] = [];
  const durationS = data.state?.testRunDurationMs !== undefined ? data.state.testRunDurationMs / 1000 : (num(data.config?.duration) ?? 0);
  lines.push(`bench k6 · workload ${opts.workload} · ${durationS.toFixed(1)} s`);
  const count = v('http_reqs', 'count') ?? 0;
  const rate = v('http_reqs', 'rate') ?? (durationS > 0 ? count / durationS : 0);
  const failed = v('http_req_failed', 'rate') ?? 0;
  const dropped = v('dropped_iterations', 'count') ?? 0;
  lines.push(`  requests  ${count} (${rate.toFixed(1)}/s), failed ${pct(failed)}, dropped iterations ${dropped}`);
  lines.push(`  latency   ${latencyLine(metrics['http_req_duration'])}`);
  const kinds = Object.keys(metrics)
    .map((k) => /^http_req_duration\{name:([^}]+)\}$/.exec(k)?.[1])
    .filter((k): k is string => k !== undefined)
    .sort();
  for (const kind of kinds) {
    const n = v(`http_reqs{name:${kind}}`, 'count') ?? v(`http_req_duration{name:${kind}}`, 'count') ?? 0;
    if (n === 0) continue; // a kind of the mix this short run never drew
    const f = v(`http_req_failed{name:${kind}}`, 'rate') ?? 0;
    lines.push(`  ${kind.padEnd(9)} ${n} req, failed ${pct(f)}, ${latencyLine(metrics[`http_req_duration{name:${kind}}`])}`);
  }
  const verdicts: string[] = [];
  for (const [name, m] of Object.entries(metrics)) {
    for (const [expr, t] of Object.entries(m.thresholds ?? {})) {
      if (KEEP_SUBMETRIC.has(expr.replace(/\s+/g, ''))) continue;
      verdicts.push(`${t.ok ? '✓' : '✗'} ${name} ${expr}`);
    }
  }
  if (verdicts.length > 0) lines.push(`  thresholds ${verdicts.join('   ')}`);
  lines.push(`  summary written to ${opts.summaryPath}`);
  return lines.join('\n') + '\n';
}

function metricsOf(data: SummaryData): Record<string, SummaryMetric> {
  if (data.metrics && typeof data.metrics === 'object') return data.metrics;
  const out: Record<string, SummaryMetric> = {};
  for (const m of data.results?.metrics ?? []) out[m.name] = m;
  return out;
}

function latencyLine(m: SummaryMetric | undefined): string {
  if (!m) return 'no samples';
  const parts: string[] = [];
  // k6's machine-readable shape names percentiles p90, p95 instead of p(90), p(95)
  for (const [label, key, alt] of [['p50', 'med', 'med'], ['p90', 'p(90)', 'p90'], ['p95', 'p(95)', 'p95'], ['p99', 'p(99)', 'p99'], ['p99.9', 'p(99.9)', 'p99.9'], ['max', 'max', 'max']]) {
    const x = num(m.values[key]) ?? num(m.values[alt]);
    if (x !== undefined) parts.push(`${label} ${ms(x)}`);
  }
  return parts.join('  ');
}

// Number(): in the machine-readable shape k6 hands handleSummary Go pointers, which are not JS numbers
function num(x: unknown): number | undefined {
  if (x === undefined || x === null) return undefined;
  const n = Number(x);
  return Number.isFinite(n) ? n : undefined;
}

function ms(x: number): string {
  return x >= 100 ? `${x.toFixed(0)} ms` : `${x.toFixed(2)} ms`;
}

function pct(rate: number): string {
  return `${(rate * 100).toFixed(2)}%`;
}
