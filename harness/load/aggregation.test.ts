import { describe, expect, it } from 'vitest';
import { Aggregation } from './aggregation.ts';

describe('Aggregation: stale keep-alive connections', () => {
  it('counts stale_keepalive apart: in neither requests nor errors nor their rates, per second too', () => {
    const points: { staleKeepalive?: number; requests: number; errors: number }[] = [];
    const agg = new Aggregation(['read', 'update'], ['s0'], () => 10, (p) => points.push(p));
    agg.start(0);
    agg.finished(0, 200, null, 0, 2_000);
    agg.finished(1, 0, 'stale_keepalive', 0, 50);
    agg.finished(1, 0, 'stale_keepalive', 0, 60);
    agg.finished(1, 503, 'http_5xx', 0, 3_000);
    agg.rollTo(1_000);
    agg.finished(1, 0, 'stale_keepalive', -1, 40);
    agg.flush(1_500);
    const r = agg.results([0, 1], 2);
    expect(r.totals).toMatchObject({ requests: 2, ok: 1, errors: 1, dropped: 0, staleKeepalive: 3, errorRate: 0.5, failRate: 0.5 });
    expect(r.errorKinds).toEqual({ http_5xx: 1 });
    expect(r.endpoints.update).toMatchObject({ requests: 1, errors: 1, noResponse: 0 });
    // the failure histogram holds only the system's failures without an answer: none here
    expect(r.failureMs?.max ?? null).toBeNull();
    expect(r.shards).toEqual({ s0: { requests: 2, errors: 1 } });
    // a second holding only stale requests is still emitted, so the series accounts for them
    expect(points.map((p) => [p.requests, p.errors, p.staleKeepalive])).toEqual([[2, 1, 2], [0, 0, 1]]);
  });
});
