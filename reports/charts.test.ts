import { describe, expect, it } from 'vitest';
import { loadCharts, prometheusCharts, splitSeriesName } from './charts.ts';
import { buildResults } from './testing/fixture.ts';

describe('loadCharts', () => {
  it('plots throughput with its target, p50/p95/p99, errors and dropped, on the series seconds', () => {
    const r = buildResults();
    const [tp, lat, err] = loadCharts(r);
    expect(tp!.x).toEqual(r.load.series.map((p) => p.t));
    expect(tp!.series.map((s) => s.label)).toEqual(['completed', 'target rate']);
    expect(tp!.series[1]!.dashed).toBe(true);
    expect(tp!.series[0]!.values[30]).toBe(r.load.series[30]!.requests);
    expect(lat!.unit).toBe('ms');
    expect(lat!.series.map((s) => s.label)).toEqual(['p50', 'p95', 'p99']);
    expect(err!.series.map((s) => s.label)).toEqual(['errors/s', 'dropped/s']);
    expect(err!.series[0]!.values[20]).toBe(14);
  });
});

describe('prometheusCharts', () => {
  it('makes one chart per series group, sorted, titled by what it shows', () => {
    const charts = prometheusCharts(buildResults());
    expect(charts.map((c) => c.title)).toEqual([
      'Cache hit ratio (cache.hitRatio)',
      'Database queries per role and shard (db.qps)',
      'Replica lag (db.replicaLagS)',
      'Backend distribution: responses per server (lb.rps)',
    ]);
    expect(charts[3]!.series.map((s) => s.label)).toEqual(['app-1', 'app-2', 'app-3']);
    expect(charts[1]!.series.map((s) => s.label)).toEqual(['primary / main', 'replica / main']);
  });

  it('groups PromQL-style names by metric', () => {
    const r = buildResults();
    r.prometheus = {
      'replica_lag_seconds{replica="pg-replica-1"}': [[0, 0.1]],
      'backend_requests_rate{server="app-1"}': [[0, 1]],
      'backend_requests_rate{server="app-2"}': [[0, 2]],
      'shard_requests_rate{shard="a"}': [[0, 3]],
      cache_hit_ratio: [[0, 0.5]],
    };
    expect(prometheusCharts(r).map((c) => c.title)).toEqual([
      'Backend distribution (backend_requests_rate)',
      'Hit ratio (cache_hit_ratio)',
      'Replica lag (replica_lag_seconds)',
      'Per-shard rate (shard_requests_rate)',
    ]);
  });

  it('shows ratios in percent', () => {
    const hit = prometheusCharts(buildResults()).find((c) => c.title.startsWith('Cache hit ratio'))!;
    expect(hit.unit).toBe('%');
    expect(hit.series[0]!.values[0]).toBeCloseTo(40);
  });

  it('aligns series with different timestamps on their union, with nulls where a series has no point', () => {
    const r = buildResults();
    r.prometheus = {
      'lag{r="a"}': [
        [0, 1],
        [2, 3],
      ],
      'lag{r="b"}': [
        [1, 5],
        [2, 6],
      ],
    };
    const [c] = prometheusCharts(r);
    expect(c!.x).toEqual([0, 1, 2]);
    expect(c!.series[0]!.values).toEqual([1, null, 3]);
    expect(c!.series[1]!.values).toEqual([null, 5, 6]);
  });
});

describe('splitSeriesName', () => {
  it('reads PromQL-style labels, bare labels and plain names', () => {
    expect(splitSeriesName('replica_lag_seconds{replica="pg-replica-1"}')).toEqual({ group: 'replica_lag_seconds', label: 'pg-replica-1' });
    expect(splitSeriesName('x{a="1",b="2"}')).toEqual({ group: 'x', label: '1 / 2' });
    expect(splitSeriesName('x{app-1}')).toEqual({ group: 'x', label: 'app-1' });
    expect(splitSeriesName('cache_hit_ratio')).toEqual({ group: 'cache_hit_ratio', label: 'cache_hit_ratio' });
  });

  it('reads the dotted names harness/metrics writes', () => {
    expect(splitSeriesName('app.rps.app-1')).toEqual({ group: 'app.rps', label: 'app-1' });
    expect(splitSeriesName('db.qps.primary.a')).toEqual({ group: 'db.qps', label: 'primary / a' });
    expect(splitSeriesName('cache.hitRatio')).toEqual({ group: 'cache.hitRatio', label: 'hitRatio' });
    expect(splitSeriesName('db.replicaLagS.pg-a-replica-1')).toEqual({ group: 'db.replicaLagS', label: 'pg-a-replica-1' });
  });

  it('charts the harness series one chart per group, titled and scaled', () => {
    const r = buildResults();
    r.prometheus = {
      'app.rps.app-1': [[0, 10], [1, 12]],
      'app.rps.app-2': [[0, 11], [1, 13]],
      'cache.hitRatio': [[0, 0.5], [1, 0.75]],
      'db.qps.primary.a': [[0, 5]],
      'db.qps.replica.a': [[0, 7]],
      'db.replicaLagS.pg-a-replica-1': [[0, 0.02]],
      'lb.rps.app-1': [[0, 10]],
      'edge.hitRatio': [[0, 0.9]],
    };
    const charts = prometheusCharts(r);
    expect(charts.map((c) => c.title)).toEqual([
      'Requests per app server (app.rps)',
      'Cache hit ratio (cache.hitRatio)',
      'Database queries per role and shard (db.qps)',
      'Replica lag (db.replicaLagS)',
      'CDN edge hit ratio (edge.hitRatio)',
      'Backend distribution: responses per server (lb.rps)',
    ]);
    expect(charts[0]!.series.map((x) => x.label)).toEqual(['app-1', 'app-2']);
    expect(charts[1]!.series[0]!.values).toEqual([50, 75]);
    expect(charts[2]!.series.map((x) => x.label)).toEqual(['primary / a', 'replica / a']);
  });
});

describe('withGapMarkers', () => {
  it('marks a hole longer than 1.5 steps with one timestamp midway, and nothing else', async () => {
    const { withGapMarkers } = await import('./charts.ts');
    expect(withGapMarkers([0, 1, 2, 3, 10, 11, 12])).toEqual([0, 1, 2, 3, 6.5, 10, 11, 12]);
    expect(withGapMarkers([0, 1, 2, 3])).toEqual([0, 1, 2, 3]);
    expect(withGapMarkers([0, 5])).toEqual([0, 5]);
  });
});
