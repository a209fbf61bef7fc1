// The warm-up and partial results in the reports: the warm-up is shaded apart on report.html's
// charts and never reaches `bench compare`'s gates; partial and interrupted runs say so.
import { describe, expect, it } from 'vitest';
import { compareResults } from './compare.ts';
import { renderHtml } from './html.ts';
import { Results as ResultsSchema, type Results } from './schema.ts';
import { buildResults } from './testing/fixture.ts';

/** A warm-up far worse than any gate allows: if anything read it, it would show. */
function withBadWarmup(r: Results): Results {
  const w = structuredClone(r.load);
  w.durationS = 20;
  w.latencyMs = { ...w.latencyMs, p50: 900, p90: 2900, p95: 3000, p99: 4000, p999: 4100, max: 4200 };
  w.totals = { ...w.totals, requests: 1000, errors: 500, errorRate: 0.5, throughputRps: 50 };
  w.series = Array.from({ length: 20 }, (_, i) => ({ ...r.load.series[0]!, t: i, p99: 4000 }));
  return { ...r, warmup: w };
}

const chartsOf = (html: string) => JSON.parse(html.match(/id="bench-charts">([^<]*)</)![1]!) as { charts: { id: string; x: number[] }[]; faults: { label: string; startS: number; endS: number; kind?: string }[] };

describe('warm-up in report.html', () => {
  it('shades the warm-up as a window before t=0 and draws its seconds there', () => {
    const r = withBadWarmup(buildResults({ fault: null }));
    const html = renderHtml(r);
    const data = chartsOf(html);
    expect(data.faults[0]).toEqual({ label: 'warm-up (not measured)', startS: -20, endS: 0, kind: 'warmup' });
    const throughput = data.charts.find((c) => c.id === 'throughput')!;
    expect(throughput.x.filter((t) => t < 0)).toEqual(Array.from({ length: 20 }, (_, i) => i - 20));
    expect(throughput.x.filter((t) => t >= 0)).toHaveLength(r.load.series.length);
    // a last point past the warm-up's length (the drain of its in-flight requests) still lands before 0
    const drained = { ...r, warmup: { ...r.warmup!, series: [...r.warmup!.series, { ...r.warmup!.series[0]!, t: 20 }] } };
    const d = chartsOf(renderHtml(drained));
    expect(d.faults[0]).toMatchObject({ startS: -21, endS: 0 });
    expect(d.charts.find((c) => c.id === 'throughput')!.x.filter((t) => t < 0)).toEqual(Array.from({ length: 21 }, (_, i) => i - 21));
    expect(html).toMatch(/A 20 s warm-up \(1,000 requests, p99 4(,000 ms|\.00 s|\.0 s)\) ran before the measured load/);
  });

  it('a run without a warm-up has no such window (negative control)', () => {
    const data = chartsOf(renderHtml(buildResults({ fault: null })));
    expect(data.faults.some((f) => f.kind === 'warmup')).toBe(false);
    expect(data.charts.find((c) => c.id === 'throughput')!.x.every((t) => t >= 0)).toBe(true);
  });

  it('says when results are partial or interrupted', () => {
    const r = { ...buildResults({ fault: null }), partial: true, verdict: 'interrupted' as const };
    const html = renderHtml(r);
    expect(html).toMatch(/id="verdict">INTERRUPTED</);
    expect(html).toMatch(/Partial results: the run was interrupted/);
    expect(renderHtml({ ...r, verdict: 'pass' })).toMatch(/Partial results: written when the load ended/);
    expect(renderHtml(buildResults({ fault: null }))).not.toMatch(/Partial results/);
  });
});

describe('warm-up in bench compare', () => {
  it('never gates on the warm-up: a terrible warm-up in head passes', () => {
    const base = buildResults({ fault: null });
    const head = withBadWarmup(buildResults({ fault: null }));
    const plain = compareResults(base, buildResults({ fault: null }));
    const c = compareResults(withBadWarmup(base), head);
    expect(c.failures).toEqual([]);
    expect(c.rows).toEqual(plain.rows);
  });

  it('warns when only one run warmed up, and when a run is partial', () => {
    const base = buildResults({ fault: null });
    const c = compareResults(base, withBadWarmup(buildResults({ fault: null })));
    expect(c.warnings.join('\n')).toMatch(/warmed up differently \(base none, head 20 s\)/);
    const p = compareResults(base, { ...buildResults({ fault: null }), partial: true, verdict: 'interrupted' });
    expect(p.warnings.join('\n')).toMatch(/the head run's results are partial \(INTERRUPTED\)/);
  });
});

describe('schema', () => {
  it('reads results written before warmup/partial existed, and keeps them when present', () => {
    const old = buildResults({ fault: null }) as Partial<Results>;
    delete old.warmup;
    delete old.partial;
    expect(ResultsSchema.safeParse(old).success).toBe(true);
    const parsed = ResultsSchema.parse({ ...withBadWarmup(buildResults({ fault: null })), partial: true, verdict: 'interrupted' });
    expect(parsed.warmup?.totals.requests).toBe(1000);
    expect(parsed.partial).toBe(true);
    expect(parsed.verdict).toBe('interrupted');
  });
});
