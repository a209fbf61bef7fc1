import { afterEach, describe, expect, it, vi } from 'vitest';
import { plan } from '../topology/plan.ts';
import { phase2 } from '../../targets/phases/phase-2.ts';
import { collectTiers, counterIncrease, gaugeMax, hitRatio, latencyQuantileQuery, relativePoints, reportQueries, reportStepS, sumBy } from './tiers.ts';
import type { Series } from './query.ts';

const W = { startS: 100, endS: 110 };

describe('counterIncrease', () => {
  it('counts from the last sample at or before the start to the first at or after the end', () => {
    const v: [number, number][] = [[98, 5], [99, 7], [101, 9], [105, 20], [110.4, 30], [111, 31]];
    expect(counterIncrease(v, W, 2)).toBe(23);
  });

  it('counts a series born inside the window from 0', () => {
    expect(counterIncrease([[103, 4], [106, 9]], W, 2)).toBe(9);
  });

  it('treats a drop as a restart and counts the new value', () => {
    expect(counterIncrease([[100, 50], [102, 60], [104, 3], [109, 8]], W, 2)).toBe(18);
  });

  it('ignores samples after the grace period and NaN', () => {
    expect(counterIncrease([[100, 1], [105, NaN], [108, 4], [113, 100]], W, 2)).toBe(3);
  });

  it('is 0 for a series that did not move or ended before the window', () => {
    expect(counterIncrease([[90, 5], [95, 5]], W, 2)).toBe(0);
  });
});

describe('gaugeMax', () => {
  it('takes the largest finite value inside the window only', () => {
    expect(gaugeMax([[95, 9], [101, 0.2], [104, NaN], [106, 1.5], [112, 7]], W)).toBe(1.5);
    expect(gaugeMax([[101, NaN]], W)).toBeNull();
  });
});

describe('small helpers', () => {
  it('sums by a key and leaves out null keys', () => {
    const s = (service: string | undefined, v: number): Series => ({ metric: service ? { service } : {}, values: [[0, v]] });
    const m = sumBy([s('a', 1), s('b', 2), s('a', 3), s(undefined, 9)], (l) => l.service ?? null, (x) => x.values[0]![1]);
    expect([...m]).toEqual([['a', 4], ['b', 2]]);
  });

  it('hit ratio is null without lookups', () => {
    expect(hitRatio(3, 1)).toBe(0.75);
    expect(hitRatio(0, 0)).toBeNull();
  });

  it('makes range points relative and drops what JSON cannot hold', () => {
    expect(relativePoints([[100, 1], [101, NaN], [102.5, Infinity], [103, 2]], 100)).toEqual([[0, 1], [3, 2]]);
  });

  it('steps 1 s for short runs, coarser for long ones', () => {
    expect(reportStepS({ startS: 0, endS: 60 })).toBe(1);
    expect(reportStepS({ startS: 0, endS: 3600 })).toBe(6);
  });

  it('asks the latency quantile over the whole window', () => {
    expect(latencyQuantileQuery('r1', 0.99, { startS: 100, endS: 160.2 })).toBe(
      'histogram_quantile(0.99, sum by (le) (increase(http_request_duration_seconds_bucket{run="r1",job="app"}[61s])))',
    );
  });

  it('filters every report query by run', () => {
    for (const q of reportQueries('r"1', '4s')) expect(q.promql).toContain('run="r\\"1"');
  });
});

// collectTiers' shaping, against a stubbed Prometheus that answers raw samples by metric name.
describe('collectTiers (stubbed Prometheus)', () => {
  afterEach(() => vi.unstubAllGlobals());
  const p = plan(phase2.topology({ users: 1000, appServers: 1, replicas: 0, shards: 1, shardStrategy: 'range' }), { runId: 'r1', slot: 7, proxies: false, prometheus: true });
  const matrix = (series: { metric: Record<string, string>; values: [number, number][] }[]) => ({
    status: 'success',
    data: { resultType: 'matrix', result: series.map((s) => ({ metric: s.metric, values: s.values.map(([t, v]) => [t, String(v)]) })) },
  });
  const data: Record<string, { metric: Record<string, string>; values: [number, number][] }[]> = {
    http_requests_total: [
      { metric: { service: 'app', status: '200' }, values: [[99, 10], [105, 50], [110.5, 90]] },
      { metric: { service: 'app', status: '503' }, values: [[104, 2], [110.5, 5]] },
    ],
    cache_requests_total: [
      { metric: { result: 'hit' }, values: [[99, 0], [110.5, 30]] },
      { metric: { result: 'miss' }, values: [[99, 0], [110.5, 10]] },
    ],
    replica_lag_seconds: [
      { metric: { replica: 'pg-r1', shard: 'main' }, values: [[101, 0.1], [103, NaN], [105, 0.7]] },
      { metric: { replica: 'pg-r1', shard: 'main', service: 'app-2' }, values: [[102, 0.4]] },
    ],
    db_queries_total: [{ metric: { role: 'primary', shard: 'main' }, values: [[100, 0], [110, 200]] }],
  };

  it('computes figures from what exists and leaves absent metrics out', async () => {
    const queries: string[] = [];
    vi.stubGlobal('fetch', async (_url: string, init: { body: string }) => {
      const query = new URLSearchParams(init.body).get('query')!;
      queries.push(query);
      if (_url.endsWith('/query_range')) return new Response(JSON.stringify(matrix([])));
      if (query.startsWith('histogram_quantile')) {
        const v = query.startsWith('histogram_quantile(0.5,') ? '0.02' : 'NaN';
        return new Response(JSON.stringify({ status: 'success', data: { resultType: 'vector', result: [{ metric: {}, value: [110, v] }] } }));
      }
      const name = query.slice(0, query.indexOf('{'));
      return new Response(JSON.stringify(matrix(data[name] ?? [])));
    });
    const r = await collectTiers('http://prom', p, W);
    expect(r.notes).toEqual([]);
    expect(r.appRequests).toBe(85);
    expect(r.tiers).toEqual({
      app: { requestsTotal: 85, 'requests.app': 85, errors5xx: 5, latencyP50Ms: 20 },
      cache: { hits: 30, misses: 10, errors: 0, hitRatio: 0.75 },
      db: { queriesTotal: 200, 'queries.primary.main': 200, 'qps.primary.main': 20, 'maxReplicaLagS.pg-r1': 0.7 },
    });
    expect(r.prometheus).toEqual({});
    expect(queries.every((q) => q.includes('run="r1"'))).toBe(true);
  });

  it("reads the kinds' declared counters per service, under their job (database commits and rows)", async () => {
    const queries: string[] = [];
    const pg = (v0: number, v1: number) => [{ metric: { service: 'pg-primary' }, values: [[99, v0], [110.5, v1]] as [number, number][] }];
    const counters: Record<string, ReturnType<typeof pg>> = {
      pg_stat_database_xact_commit: pg(10, 110),
      pg_stat_database_tup_inserted: pg(0, 5),
      pg_stat_database_tup_updated: pg(0, 7),
      pg_stat_database_tup_deleted: pg(0, 1),
    };
    vi.stubGlobal('fetch', async (_url: string, init: { body: string }) => {
      const query = new URLSearchParams(init.body).get('query')!;
      queries.push(query);
      if (_url.endsWith('/query_range') || query.startsWith('histogram_quantile')) return new Response(JSON.stringify(matrix([])));
      return new Response(JSON.stringify(matrix(counters[query.slice(0, query.indexOf('{'))] ?? [])));
    });
    const r = await collectTiers('http://prom', p, W);
    expect(r.tiers.db).toEqual({ 'commits.pg-primary': 100, 'rowsWritten.pg-primary': 13 });
    expect(queries.find((q) => q.startsWith('pg_stat_database_xact_commit'))).toMatch(/job="postgres"/);
    expect(queries.find((q) => q.startsWith('pg_stat_database_xact_commit'))).toMatch(/datname="bench"/);
    expect(queries.find((q) => q.startsWith('redis_keyspace_hits_total'))).toMatch(/job="redis"/);
  });

  it('turns a failing query into a note, not a throw', async () => {
    vi.stubGlobal('fetch', async () => new Response(JSON.stringify({ status: 'error', errorType: 'execution', error: 'boom' }), { status: 422 }));
    const r = await collectTiers('http://prom', p, W);
    expect(r.tiers).toEqual({});
    expect(r.appRequests).toBeNull();
    expect(r.notes.some((n) => n.includes('http_requests_total') && n.includes('boom'))).toBe(true);
  });
});
