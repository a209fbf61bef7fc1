// `bench compare`: the CI regression gate. Compares a head run with a base run metric by metric,
// says which gates the head crossed, and renders the comparison as a Markdown table for a PR.
import { BenchError } from '../harness/errors.ts';
import type { Results } from './schema.ts';
import { failRateOf } from './verdict.ts';
import { fmtChangePct, fmtCount, fmtDuration, fmtMs, fmtNum, fmtPct, fmtRps, fmtWhen } from './format.ts';
import { mdCell, mdTable } from './markdown.ts';

/** The gates a head run must stay within. Percentages are in percent (10 = 10%). */
export interface Gates {
  /** fail when p99 (overall, and per endpoint) rose by more than this percentage */
  maxP99RegressionPct: number;
  /** fail when throughput fell by more than this percentage */
  maxThroughputDropPct: number;
  /** fail when the head's error rate (a fraction, like results' totals.errorRate) is above this */
  maxErrorRate: number;
  /** endpoints with fewer requests than this (in either run) are shown but not gated: their p99 is noise */
  minEndpointRequests?: number;
  /**
   * fail when the head dropped more requests than this at the in-flight cap (default 0): a drop is
   * a request the system did not serve
   */
  maxDropped?: number;
}

/** p99 +10%, throughput -5%, error rate 1%, no dropped request; endpoints gated from 100 requests. */
export const DEFAULT_GATES: Required<Gates> = {
  maxP99RegressionPct: 10,
  maxThroughputDropPct: 5,
  maxErrorRate: 0.01,
  minEndpointRequests: 100,
  maxDropped: 0,
};

/** What a comparison may be told to accept. */
export interface CompareOptions {
  /** compare runs whose host sizes were not enforced (nominal sizes only): refused by default */
  allowUnenforcedSizes?: boolean;
}

/**
 * Refuses (exit 3) to compare runs whose host sizes were not enforced, unless allowed: a capacity
 * comparison between nominal sizes compares whatever the machine happened to give each run.
 */
export function checkSizesEnforced(runs: Array<{ role: string; results: Results }>, allow = false): void {
  const bad = runs.flatMap(({ role, results }) =>
    results.topology.hosts.filter((h) => h.sizeEnforced === false).map((h) => `${role} ${results.runId}: ${h.name}`),
  );
  if (bad.length === 0 || allow) return;
  throw new BenchError(
    'environment',
    `host sizes were not enforced (${bad.join(', ')}): their CPU/memory quotas were not applied, so the runs are not comparable as capacities`,
    'run where cgroup quotas can be written (as root, or a delegated cgroup v2 subtree), use --runtime docker, or pass --allow-unenforced-sizes to compare anyway',
  );
}

/** A row's outcome: within its gate, crossed it, or not gated. */
export type RowStatus = 'pass' | 'fail' | 'info';

/** One line of the comparison. `gate` is null for a metric shown for information only. */
export interface CompareRow {
  metric: string;
  base: number | null;
  head: number | null;
  /** the figures as shown, with their unit */
  baseText: string;
  headText: string;
  /** relative change in percent; null when it cannot be computed (a side missing) */
  changePct: number | null;
  changeText: string;
  gate: string | null;
  status: RowStatus;
}

/** What compareResults returns. */
export interface Comparison {
  markdown: string;
  /** one sentence per crossed gate; empty when the head passes */
  failures: string[];
  /** differences that make the comparison less meaningful, not failures */
  warnings: string[];
  rows: CompareRow[];
}

/**
 * Parses a percentage such as "10%" or "0.5%" into percent (10, 0.5). The % sign is required so
 * "0.1" cannot be misread as 10%. Throws BenchError('usage') on anything else, naming `what`
 * (a flag, e.g. '--max-p99-regression') when given: parsePercent('10%') or
 * parsePercent('--max-p99-regression', '10%').
 */
export function parsePercent(value: string): number;
export function parsePercent(what: string, value: string): number;
export function parsePercent(a: string, b?: string): number {
  const [what, value] = b === undefined ? ['percentage', a] : [a, b];
  const text = String(value).trim();
  const m = /^\+?(\d+(?:\.\d+)?|\.\d+)\s*%$/.exec(text);
  if (!m) {
    const hint = /^[+-]?\d*\.?\d+$/.test(text)
      ? `write it with a % sign, e.g. ${text.replace(/^\+/, '')}%`
      : text.startsWith('-')
        ? 'use a positive percentage, e.g. 10%'
        : 'write a number followed by %, e.g. 10%';
    throw new BenchError('usage', `${what}: "${value}" is not a percentage`, hint);
  }
  const pct = Number(m[1]);
  if (!Number.isFinite(pct)) throw new BenchError('usage', `${what}: "${value}" is not a finite percentage`, 'e.g. 10%');
  return pct;
}

/** Gates from CLI flag strings ("10%"); an omitted flag keeps its default. */
export function parseGates(flags: { maxP99Regression?: string; maxThroughputDrop?: string; maxErrorRate?: string; maxDropped?: string }): Required<Gates> {
  const gates = { ...DEFAULT_GATES };
  if (flags.maxP99Regression !== undefined) gates.maxP99RegressionPct = parsePercent('--max-p99-regression', flags.maxP99Regression);
  if (flags.maxThroughputDrop !== undefined) {
    gates.maxThroughputDropPct = parsePercent('--max-throughput-drop', flags.maxThroughputDrop);
    if (gates.maxThroughputDropPct > 100) {
      throw new BenchError('usage', `--max-throughput-drop: ${flags.maxThroughputDrop} is more than 100%`, 'a drop is at most 100%, e.g. 5%');
    }
  }
  if (flags.maxErrorRate !== undefined) {
    const pct = parsePercent('--max-error-rate', flags.maxErrorRate);
    if (pct > 100) throw new BenchError('usage', `--max-error-rate: ${flags.maxErrorRate} is more than 100%`, 'e.g. 1%');
    gates.maxErrorRate = pct / 100;
  }
  if (flags.maxDropped !== undefined) {
    const text = flags.maxDropped.trim();
    if (!/^\d+$/.test(text)) throw new BenchError('usage', `--max-dropped: "${flags.maxDropped}" is not a whole number of requests`, 'e.g. --max-dropped 0');
    gates.maxDropped = Number(text);
  }
  return gates;
}

function checkGates(g: Gates): void {
  const bad = (name: string, v: number) => !Number.isFinite(v) || v < 0 ? `${name} is ${v}` : null;
  const problems = [
    bad('maxP99RegressionPct', g.maxP99RegressionPct),
    bad('maxThroughputDropPct', g.maxThroughputDropPct),
    bad('maxErrorRate', g.maxErrorRate),
    g.minEndpointRequests === undefined ? null : bad('minEndpointRequests', g.minEndpointRequests),
    g.maxDropped === undefined ? null : bad('maxDropped', g.maxDropped),
  ].filter(Boolean);
  if (problems.length) throw new BenchError('usage', `invalid compare gates: ${problems.join(', ')}`, 'gates are non-negative numbers');
}

/** Relative change from a to b in percent; +Infinity when a is 0 and b is not. */
export function changePct(a: number, b: number): number {
  if (a === b) return 0;
  if (a === 0) return b > 0 ? Infinity : -Infinity;
  return ((b - a) / Math.abs(a)) * 100;
}

const trimPct = (pct: number) => `${fmtNum(pct, 2)}%`;

/**
 * Compares head with base under the gates. Gated: throughput drop, p99 rise (overall and per
 * endpoint with enough requests), head error rate and failed share (drops counted), the head's
 * dropped requests, and a saturated or limited generator in either run (its figures understate
 * the offered load). Shown only: p50, p95, p99.9.
 * Runs that differ in phase, users, duration, driver, workload, runtime or scale factor are
 * compared anyway, with a warning.
 */
export function compareResults(base: Results, head: Results, gates: Gates = DEFAULT_GATES, options: CompareOptions = {}): Comparison {
  checkGates(gates);
  checkSizesEnforced([{ role: 'base', results: base }, { role: 'head', results: head }], options.allowUnenforcedSizes);
  const maxDropped = gates.maxDropped ?? DEFAULT_GATES.maxDropped;
  const minReq = gates.minEndpointRequests ?? DEFAULT_GATES.minEndpointRequests;
  const rows: CompareRow[] = [];
  const failures: string[] = [];
  const bl = base.load;
  const hl = head.load;

  // Throughput: a drop beyond the gate fails.
  {
    const b = bl.totals.throughputRps;
    const h = hl.totals.throughputRps;
    const drop = b > 0 ? ((b - h) / b) * 100 : 0;
    const fail = drop > gates.maxThroughputDropPct;
    if (fail) {
      failures.push(
        `throughput dropped ${fmtNum(drop, 1)}% (${fmtRps(b)} → ${fmtRps(h)}), more than the ${trimPct(gates.maxThroughputDropPct)} gate`,
      );
    }
    rows.push(row('throughput', b, h, fmtRps, `drop ≤ ${trimPct(gates.maxThroughputDropPct)}`, fail ? 'fail' : 'pass'));
  }

  // Latency: p99 is gated, the other percentiles are context.
  const lat: Array<[keyof Results['load']['latencyMs'], string]> = [
    ['p50', 'p50'],
    ['p95', 'p95'],
    ['p99', 'p99'],
    ['p999', 'p99.9'],
  ];
  for (const [key, label] of lat) {
    const b = bl.latencyMs[key];
    const h = hl.latencyMs[key];
    if (key !== 'p99') {
      rows.push(row(`${label} latency`, b, h, fmtMs, null, 'info'));
      continue;
    }
    if (h === null) {
      // The head measured no latency (no request got a response): nothing to show it did not regress.
      failures.push(`p99 latency of the head was not measured (no request got a response)`);
      rows.push(row(`${label} latency`, b, h, fmtMs, `rise ≤ ${trimPct(gates.maxP99RegressionPct)}`, 'fail'));
      continue;
    }
    if (b === null) {
      rows.push(row(`${label} latency`, b, h, fmtMs, '— (base not measured)', 'info'));
      continue;
    }
    const rise = changePct(b, h);
    const fail = rise > gates.maxP99RegressionPct;
    if (fail) {
      failures.push(`p99 latency rose ${fmtChangeAbs(rise)} (${fmtMs(b)} → ${fmtMs(h)}), more than the ${trimPct(gates.maxP99RegressionPct)} gate`);
    }
    rows.push(row(`${label} latency`, b, h, fmtMs, `rise ≤ ${trimPct(gates.maxP99RegressionPct)}`, fail ? 'fail' : 'pass'));
  }

  // Error rate: an absolute ceiling on the head, whatever the base did.
  {
    const b = bl.totals.errorRate;
    const h = hl.totals.errorRate;
    const fail = h > gates.maxErrorRate;
    if (fail) failures.push(`error rate ${fmtPct(h)} is above the ${fmtPct(gates.maxErrorRate)} gate (base ${fmtPct(b)})`);
    const r = row('error rate', b, h, fmtPct, `≤ ${fmtPct(gates.maxErrorRate)}`, fail ? 'fail' : 'pass');
    r.changeText = formatPp(b, h);
    rows.push(r);
  }
  // The failed share of the offered load: drops at the in-flight cap are requests not served.
  {
    const b = failRateOf(bl.totals);
    const h = failRateOf(hl.totals);
    const fail = h === null || h > gates.maxErrorRate;
    if (h === null) failures.push('the head offered no load: its failed share was not measured');
    else if (fail) failures.push(`failed share (errors + dropped) ${fmtPct(h)} is above the ${fmtPct(gates.maxErrorRate)} gate (base ${fmtPct(b)})`);
    const r = row('failed share (errors + dropped)', b, h, fmtPct, `≤ ${fmtPct(gates.maxErrorRate)}`, fail ? 'fail' : 'pass');
    r.changeText = b === null || h === null ? 'n/a' : formatPp(b, h);
    rows.push(r);
  }
  {
    const fail = hl.totals.dropped > maxDropped;
    if (fail) failures.push(`the head dropped ${fmtCount(hl.totals.dropped)} requests at the in-flight cap, more than the ${fmtCount(maxDropped)} allowed (--max-dropped)`);
    rows.push(row('dropped requests', bl.totals.dropped, hl.totals.dropped, fmtCount, `≤ ${fmtCount(maxDropped)}`, fail ? 'fail' : 'pass'));
  }
  // A saturated generator did not offer the load it was asked to: its figures cannot be compared.
  {
    const state = (r: Results) => (r.load.generator.limited ? 'limited' : r.load.generator.saturated ? 'saturated' : 'ok');
    const b = state(base);
    const h = state(head);
    for (const [role, st, r] of [['base', b, base], ['head', h, head]] as const) {
      if (st !== 'ok') failures.push(`the ${role} run's generator was ${st} (lag up to ${fmtMs(r.load.generator.maxLagMs)}): it did not offer the planned load`);
    }
    rows.push({ metric: 'generator', base: null, head: null, baseText: b, headText: h, changePct: null, changeText: 'n/a', gate: 'not saturated', status: b === 'ok' && h === 'ok' ? 'pass' : 'fail' });
  }

  // Per endpoint p99, for endpoints both runs hit.
  const warnings = configWarnings(base, head);
  const names = [...new Set([...Object.keys(bl.endpoints), ...Object.keys(hl.endpoints)])].sort();
  for (const name of names) {
    const be = bl.endpoints[name];
    const he = hl.endpoints[name];
    if (!be || !he) {
      warnings.push(`endpoint ${name} appears only in the ${be ? 'base' : 'head'} run`);
      rows.push({
        metric: `p99 ${name}`,
        base: be?.latencyMs.p99 ?? null,
        head: he?.latencyMs.p99 ?? null,
        baseText: be ? fmtMs(be.latencyMs.p99) : '—',
        headText: he ? fmtMs(he.latencyMs.p99) : '—',
        changePct: null,
        changeText: 'n/a',
        gate: null,
        status: 'info',
      });
      continue;
    }
    const b = be.latencyMs.p99;
    const h = he.latencyMs.p99;
    const few = Math.min(be.requests, he.requests) < minReq;
    if (b === null || h === null) {
      rows.push(row(`p99 ${name}`, b, h, fmtMs, '— (not measured)', 'info'));
      continue;
    }
    if (few) {
      rows.push(row(`p99 ${name}`, b, h, fmtMs, `— (fewer than ${fmtCount(minReq)} requests)`, 'info'));
      continue;
    }
    const rise = changePct(b, h);
    const fail = rise > gates.maxP99RegressionPct;
    if (fail) {
      failures.push(`p99 of ${name} rose ${fmtChangeAbs(rise)} (${fmtMs(b)} → ${fmtMs(h)}), more than the ${trimPct(gates.maxP99RegressionPct)} gate`);
    }
    rows.push(row(`p99 ${name}`, b, h, fmtMs, `rise ≤ ${trimPct(gates.maxP99RegressionPct)}`, fail ? 'fail' : 'pass'));
  }
  if (head.verdict === 'fail') warnings.push(`the head run's own verdict is FAIL (see its report)`);
  if (base.verdict === 'fail') warnings.push(`the base run's own verdict is FAIL: it is a weak baseline`);
  // Only .load is compared: a warm-up (results.warmup) is never gated. A partial run's figures are
  // real but incomplete, and warming up or not changes what the measured load met.
  for (const [side, r] of [['head', head], ['base', base]] as const) {
    if (r.partial) warnings.push(`the ${side} run's results are partial${r.verdict === 'interrupted' ? ' (INTERRUPTED)' : ''}: written before its collection and teardown`);
  }
  if ((base.warmup?.durationS ?? 0) !== (head.warmup?.durationS ?? 0)) {
    warnings.push(`the runs warmed up differently (base ${base.warmup ? fmtDuration(base.warmup.durationS) : 'none'}, head ${head.warmup ? fmtDuration(head.warmup.durationS) : 'none'}): a cold start weighs on the run with less`);
  }
  if (head.verdict === 'inconclusive') failures.push(`the head run's verdict is INCONCLUSIVE: ${head.verdictReason ?? 'see its report'}`);
  if (base.verdict === 'inconclusive') failures.push(`the base run's verdict is INCONCLUSIVE: ${base.verdictReason ?? 'see its report'}`);

  return { markdown: renderComparison(base, head, rows, failures, warnings), failures, warnings, rows };
}

function row<T extends number | null>(metric: string, b: T, h: T, fmt: (n: T) => string, gate: string | null, status: RowStatus): CompareRow {
  const c = b === null || h === null ? null : changePct(b, h);
  return { metric, base: b, head: h, baseText: fmt(b), headText: fmt(h), changePct: c, changeText: c === null ? 'n/a' : fmtChangePct(c), gate, status };
}

const fmtChangeAbs = (pct: number) => (pct === Infinity ? 'from zero' : `${fmtNum(pct, 1)}%`);

/** An error-rate change in percentage points: "+0.12 pp". */
function formatPp(b: number, h: number): string {
  const pp = (h - b) * 100;
  if (pp === 0) return '0 pp';
  return `${pp > 0 ? '+' : ''}${fmtNum(pp, 2)} pp`;
}

/** Differences between the runs that make a comparison apples to oranges. */
function configWarnings(base: Results, head: Results): string[] {
  const out: string[] = [];
  const diff = (what: string, b: unknown, h: unknown, fmt: (v: never) => string = String) => {
    if (b !== h) out.push(`the runs differ in ${what}: base ${fmt(b as never)}, head ${fmt(h as never)}`);
  };
  diff('phase', base.config.phase, head.config.phase);
  diff('users', base.config.users, head.config.users, fmtCount);
  diff('duration', base.load.durationS, head.load.durationS, fmtDuration);
  diff('driver', base.load.driver, head.load.driver);
  diff('workload', base.load.workload, head.load.workload);
  diff('runtime', base.config.runtime, head.config.runtime);
  diff('scale factor', base.trafficModel.scaleFactor, head.trafficModel.scaleFactor, (v: number) => fmtNum(v, 3));
  diff('target rate', base.trafficModel.targetRps, head.trafficModel.targetRps, fmtRps);
  return out;
}

const statusText: Record<RowStatus, string> = { pass: '✅ pass', fail: '❌ fail', info: '—' };

/** A run in one line of Markdown, already escaped. */
function describeRun(r: Results): string {
  return (
    `\`${r.runId.replace(/`/g, "'")}\` ` +
    mdCell(`(phase ${r.config.phase}, ${fmtCount(r.config.users)} users, ${fmtDuration(r.load.durationS)}, ${r.load.driver}, ${fmtWhen(r.startedAt)})`)
  );
}

function renderComparison(base: Results, head: Results, rows: CompareRow[], failures: string[], warnings: string[]): string {
  const out: string[] = [];
  out.push(
    failures.length === 0
      ? '### ✅ bench compare: no gate crossed'
      : `### ❌ bench compare: ${failures.length} gate${failures.length === 1 ? '' : 's'} crossed`,
  );
  out.push('');
  out.push(`Base ${describeRun(base)} → head ${describeRun(head)}`);
  out.push('');
  out.push(
    mdTable(
      ['metric', 'base', 'head', 'change', 'gate', 'status'],
      rows.map((r) => [r.metric, r.baseText, r.headText, r.changeText, r.gate ?? '—', statusText[r.status]]),
      ['l', 'r', 'r', 'r', 'l', 'l'],
    ),
  );
  if (failures.length) {
    out.push('');
    out.push('**Gates crossed**');
    out.push('');
    for (const f of failures) out.push(`- ${mdCell(f)}`);
  }
  if (warnings.length) {
    out.push('');
    out.push('**Warnings** (not failures)');
    out.push('');
    for (const w of warnings) out.push(`- ⚠️ ${mdCell(w)}`);
  }
  return out.join('\n') + '\n';
}
