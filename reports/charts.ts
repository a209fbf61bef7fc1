// The report's charts as data: which series each chart plots, aligned on one x axis, with a unit.
// Pure, so what the browser draws is decided (and tested) here; reports/assets/report.js only
// hands these specs to uPlot and shades the fault windows.
import type { Results } from './schema.ts';

/** The unit a chart's y axis is labelled with. */
export type ChartUnit = 'req/s' | 'ms' | 's' | '%' | '/s' | '';

/** One line of a chart. */
export interface ChartSeries {
  label: string;
  /** one value per x; null where the series has no point */
  values: Array<number | null>;
  color: string;
  /** drawn dashed: a reference (the target rate), not a measurement */
  dashed?: boolean;
}

/** A chart as data: the browser draws it with uPlot. */
export interface ChartSpec {
  /** the DOM id suffix: the chart is drawn into #chart-<id> */
  id: string;
  title: string;
  unit: ChartUnit;
  /** seconds since the load started */
  x: number[];
  series: ChartSeries[];
  /** draw a line across a missing point (false: a gap shows, e.g. a scrape target that died) */
  spanGaps?: boolean;
}

/** A fixed palette: the same series gets the same colour in every report. */
export const PALETTE = ['#1f77b4', '#ff7f0e', '#2ca02c', '#9467bd', '#8c564b', '#e377c2', '#17becf', '#bcbd22', '#7f7f7f'];
const RED = '#d62728';

/** The three charts over time from the load side: throughput, latency, errors. */
export function loadCharts(r: Results): ChartSpec[] {
  const s = r.load.series;
  const x = s.map((p) => p.t);
  return [
    {
      id: 'throughput',
      title: 'Throughput',
      unit: 'req/s',
      x,
      series: [
        { label: 'completed', values: s.map((p) => p.requests), color: PALETTE[0]! },
        { label: 'target rate', values: s.map((p) => p.targetRate), color: PALETTE[7]!, dashed: true },
      ],
    },
    {
      id: 'latency',
      title: 'Latency',
      unit: 'ms',
      x,
      series: [
        { label: 'p50', values: s.map((p) => p.p50), color: PALETTE[2]! },
        { label: 'p95', values: s.map((p) => p.p95), color: PALETTE[1]! },
        { label: 'p99', values: s.map((p) => p.p99), color: RED },
      ],
    },
    {
      id: 'errors',
      title: 'Errors and dropped requests',
      unit: '/s',
      x,
      series: [
        { label: 'errors/s', values: s.map((p) => p.errors), color: RED },
        { label: 'dropped/s', values: s.map((p) => p.dropped), color: PALETTE[3]! },
      ],
    },
  ];
}

/**
 * The broker's backlog over time (results.queue): the jobs queue's depth and the consumers' acks per
 * second, from the load's start through the drain after it; a gap where the broker did not answer.
 * null when the run sampled no queue.
 */
export function queueChart(r: Results): ChartSpec | null {
  const q = r.queue;
  if (!q || q.series.length === 0) return null;
  return {
    id: 'queue',
    title: `Backlog of ${q.queue}: depth (messages) and acks per second`,
    unit: '',
    x: q.series.map((p) => p.t),
    series: [
      { label: 'depth (ready + unacked)', values: q.series.map((p) => p.depth), color: PALETTE[1]! },
      { label: 'acks/s', values: q.series.map((p) => p.ackRate), color: PALETTE[2]! },
    ],
    spanGaps: false,
  };
}

/** How a Prometheus series group is titled and scaled, found by its name. */
interface GroupStyle {
  title: string;
  unit: ChartUnit;
  /** multiply values by this (ratios are shown in percent) */
  scale: number;
}

const KNOWN_GROUPS: Array<{ test: RegExp; style: (name: string) => GroupStyle }> = [
  // The series harness/metrics/tiers.ts collects (reportQueries), by their dotted names.
  { test: /^app\.rps$/, style: () => ({ title: 'Requests per app server (app.rps)', unit: '/s', scale: 1 }) },
  { test: /^lb\.rps$/, style: () => ({ title: 'Backend distribution: responses per server (lb.rps)', unit: '/s', scale: 1 }) },
  { test: /^cache\.hitRatio$/, style: () => ({ title: 'Cache hit ratio (cache.hitRatio)', unit: '%', scale: 100 }) },
  { test: /^edge\.hitRatio$/, style: () => ({ title: 'CDN edge hit ratio (edge.hitRatio)', unit: '%', scale: 100 }) },
  { test: /^db\.qps$/, style: () => ({ title: 'Database queries per role and shard (db.qps)', unit: '/s', scale: 1 }) },
  { test: /^db\.replicaLagS$/, style: () => ({ title: 'Replica lag (db.replicaLagS)', unit: 's', scale: 1 }) },
  // Other names, by what they contain.
  { test: /hit_?ratio/i, style: (n) => ({ title: `Hit ratio (${n})`, unit: '%', scale: 100 }) },
  { test: /replica_?lag/i, style: (n) => ({ title: `Replica lag (${n})`, unit: 's', scale: 1 }) },
  { test: /shard/i, style: (n) => ({ title: `Per-shard rate (${n})`, unit: '/s', scale: 1 }) },
  { test: /backend|server_req/i, style: (n) => ({ title: `Backend distribution (${n})`, unit: '/s', scale: 1 }) },
];

function groupStyle(group: string): GroupStyle {
  const known = KNOWN_GROUPS.find((g) => g.test.test(group));
  if (known) return known.style(group);
  if (/_seconds$/.test(group)) return { title: group, unit: 's', scale: 1 };
  if (/_ratio$/.test(group)) return { title: group, unit: '%', scale: 100 };
  if (/(_rate|_total|_rps|_per_second)$/.test(group)) return { title: group, unit: '/s', scale: 1 };
  return { title: group, unit: '', scale: 1 };
}

/**
 * Splits a results.prometheus key into its group and series label. Two spellings:
 * dotted, as harness/metrics writes them: 'app.rps.app-1' -> ['app.rps', 'app-1'],
 * 'db.qps.primary.a' -> ['db.qps', 'primary / a'], 'cache.hitRatio' -> ['cache.hitRatio', 'hitRatio'];
 * PromQL-like: 'replica_lag_seconds{replica="pg-replica-1"}' -> ['replica_lag_seconds', 'pg-replica-1'],
 * 'x{a="1",b="2"}' -> ['x', '1 / 2'], 'x{app-1}' -> ['x', 'app-1']; else 'x' -> ['x', 'x'].
 */
export function splitSeriesName(name: string): { group: string; label: string } {
  const open = name.indexOf('{');
  if (open < 0 || !name.endsWith('}')) {
    const parts = name.trim().split('.');
    if (open < 0 && parts.length >= 2 && parts.every((p) => p !== '')) {
      return parts.length === 2
        ? { group: parts.join('.'), label: parts[1]! }
        : { group: `${parts[0]}.${parts[1]}`, label: parts.slice(2).join(' / ') };
    }
    return { group: name.trim(), label: name.trim() };
  }
  const group = name.slice(0, open).trim();
  const inner = name.slice(open + 1, -1).trim();
  const values = [...inner.matchAll(/\s*[A-Za-z_][\w]*\s*=~?\s*"((?:[^"\\]|\\.)*)"\s*,?/g)].map((m) => m[1]!);
  const label = values.length > 0 ? values.join(' / ') : inner;
  return { group: group || name, label: label || group || name };
}

/**
 * One chart per group of results.prometheus series (grouped by the name before '{'), each
 * group's series aligned on the union of their timestamps. Groups and series are sorted by name,
 * so the same results always give the same charts.
 */
export function prometheusCharts(r: Results): ChartSpec[] {
  const groups = new Map<string, Array<{ label: string; points: Array<[number, number]> }>>();
  for (const name of Object.keys(r.prometheus).sort()) {
    const { group, label } = splitSeriesName(name);
    const list = groups.get(group) ?? [];
    list.push({ label, points: r.prometheus[name]! });
    groups.set(group, list);
  }
  const charts: ChartSpec[] = [];
  let n = 0;
  for (const group of [...groups.keys()].sort()) {
    const members = groups.get(group)!;
    const style = groupStyle(group);
    const x = withGapMarkers([...new Set(members.flatMap((m) => m.points.map((p) => p[0])))].sort((a, b) => a - b));
    const index = new Map(x.map((t, i) => [t, i]));
    charts.push({
      id: `prom-${n++}`,
      title: style.title,
      unit: style.unit,
      x,
      series: members.map((m, i) => {
        const values: Array<number | null> = new Array(x.length).fill(null);
        for (const [t, v] of m.points) values[index.get(t)!] = Number.isFinite(v) ? v * style.scale : null;
        return { label: m.label, values, color: PALETTE[i % PALETTE.length]! };
      }),
      spanGaps: false,
    });
  }
  return charts;
}

/**
 * Where Prometheus has no sample for longer than one and a half steps (a target that was down),
 * inserts one timestamp midway: no series has a value there, so the chart shows a gap instead of
 * a straight line over the outage. Pure; `x` sorted ascending.
 */
export function withGapMarkers(x: number[]): number[] {
  if (x.length < 3) return x;
  const diffs = x.slice(1).map((t, i) => t - x[i]!).sort((a, b) => a - b);
  const step = diffs[Math.floor(diffs.length / 2)]!;
  const out: number[] = [x[0]!];
  for (let i = 1; i < x.length; i++) {
    if (x[i]! - x[i - 1]! > 1.5 * step) out.push((x[i]! + x[i - 1]!) / 2);
    out.push(x[i]!);
  }
  return out;
}
