// The queue section of results.json in the reports: accepted by the schema (null and absent alike),
// shown as a small table in summary.md and report.html with its chart, n/a with why when a figure
// was not measured, and left out when the run sampled no queue.
import { describe, expect, it } from 'vitest';
import { Results } from './schema.ts';
import { buildResults } from './testing/fixture.ts';
import { renderMarkdown } from './markdown.ts';
import { renderHtml } from './html.ts';
import { queueChart } from './charts.ts';
import { backlogSection } from '../harness/run/backlog.ts';
import type { QueueSample } from '../harness/run/results.ts';

const burst = { factor: 5, startS: 20, lengthS: 10 };
const series = (n: number, f: (t: number) => number | null): QueueSample[] =>
  Array.from({ length: n }, (_, t) => ({ t, ready: f(t), unacked: f(t) === null ? null : 0, depth: f(t), ackRate: f(t) === null ? null : 12 }));

/** A burst that piles up 300 jobs and drains 15 s after it, over a 60 s load. */
const drained = () =>
  backlogSection({
    queue: 'jobs.video',
    source: 'a test broker',
    series: series(70, (t) => (t < 20 ? 1 : t < 30 ? 30 * (t - 19) : Math.max(0, 300 - 20 * (t - 30)))),
    durationS: 60,
    burst,
    afterLoad: { boundS: 60, sampledS: 10, drained: true },
  });

/** A backlog that never drains: growing through the load's last 30 s. */
const growing = () =>
  backlogSection({ queue: 'jobs.video', source: 'a test broker', series: series(70, (t) => 8 * t), durationS: 60, burst, afterLoad: { boundS: 10, sampledS: 10, drained: false } });

describe('results.json queue section', () => {
  it('is accepted by the schema, nullable and absent alike', () => {
    const r = buildResults({ fault: null });
    expect(Results.parse({ ...r, queue: drained() }).queue?.drainS).toBe(15);
    expect(Results.parse({ ...r, queue: null }).queue).toBeNull();
    expect(Results.parse(r).queue).toBeUndefined();
  });
});

describe('the queue in summary.md and report.html', () => {
  it('shows peak, burst, drain time and slope', () => {
    const r = { ...buildResults({ fault: null }), queue: drained() };
    const md = renderMarkdown(r);
    expect(md).toContain('**Queue backlog** (jobs.video, sampled once a second from the broker)');
    expect(md).toMatch(/\| peak depth \| 300 at 29 s \|/);
    expect(md).toMatch(/\| burst \| ×5 from 20 s for 10 s \|/);
    expect(md).toMatch(/\| drain after the burst \| 15(\.0)? ?s \|/);
    expect(md).toMatch(/\| slope, last 30 s of the load \| -?\d+(\.\d+)? messages\/s \(not growing\) \|/);
    const html = renderHtml(r);
    expect(html).toContain('<section id="queue">');
    expect(html).toContain('id="chart-queue"');
    expect(html).toContain('a test broker');
  });

  it('says why the drain is n/a and flags a growing backlog', () => {
    const r = { ...buildResults({ fault: null }), queue: growing() };
    const md = renderMarkdown(r);
    expect(md).toMatch(/\| drain after the burst \| n\/a: never back to the pre-burst depth 152 within the 39 s sampled after the burst/);
    expect(md).toMatch(/\| slope, last 30 s of the load \| 8(\.00)? messages\/s \(⚠️ growing\) \|/);
    expect(md).toMatch(/\| after the load \| not empty after 10(\.0)? ?s \(bound 10(\.0)? ?s\) \|/);
    const html = renderHtml(r);
    expect(html).toMatch(/class="fail"[^<]*>slope of the last 30 s of the load/);
  });

  it('charts depth and acks with gaps where the broker did not answer', () => {
    const q = backlogSection({ queue: 'jobs.video', source: 's', series: series(10, (t) => (t === 4 ? null : t)), durationS: 10, burst: null, afterLoad: { boundS: 5, sampledS: 0, drained: false } });
    const c = queueChart({ ...buildResults({ fault: null }), queue: q })!;
    expect(c.series.map((s) => s.label)).toEqual(['depth (ready + unacked)', 'acks/s']);
    expect(c.series[0]!.values[4]).toBeNull();
    expect(c.spanGaps).toBe(false);
  });

  it('shades the --burst window on every chart, apart from the faults', () => {
    const r = buildResults({ fault: null });
    const charts = (html: string) => JSON.parse(/<script type="application\/json" id="bench-charts">([^]*?)<\/script>/.exec(html)![1]!);
    expect(charts(renderHtml({ ...r, config: { ...r.config, burst } })).faults).toEqual([{ label: 'burst ×5', startS: 20, endS: 30, kind: 'burst' }]);
    expect(charts(renderHtml(r)).faults).toEqual([]);
    expect(Results.parse({ ...r, config: { ...r.config, burst } }).config.burst).toEqual(burst);
  });

  it('leaves the section out when the run sampled no queue', () => {
    const r = buildResults({ fault: null });
    expect(renderMarkdown(r)).not.toContain('Queue backlog');
    expect(renderHtml(r)).not.toContain('<section id="queue">');
    expect(queueChart(r)).toBeNull();
  });
});
