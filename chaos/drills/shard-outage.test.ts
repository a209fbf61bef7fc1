import { describe, expect, it } from 'vitest';
import { measuredBlast, SHARD_OUTAGE_EPSILON } from './shard-outage.ts';
import type { LoadResults, SeriesPoint } from '../../reports/schema.ts';

const ep = (requests: number) => ({ requests, errors: 0, latencyMs: { p50: 1, p90: 1, p95: 1, p99: 1, p999: 1, max: 1, mean: 1 } });
/** 60% reads, 40% writes (update + create + login) over the run */
const endpoints: LoadResults['endpoints'] = { read: ep(600), update: ep(250), create: ep(100), login: ep(50) };

function second(t: number, a: [number, number], b: [number, number], dropped = 0): SeriesPoint {
  return { t, requests: a[0] + b[0], errors: a[1] + b[1], dropped, targetRate: 100, p50: 1, p95: 1, p99: 1, shards: { a: { requests: a[0], errors: a[1] }, b: { requests: b[0], errors: b[1] } } };
}

describe('measuredBlast (shard-outage from what the engine measured)', () => {
  it('bounds the failed share by the victim\'s measured share of requests x the write share + epsilon', () => {
    // the victim b carries a quarter of the requests; its writes (40%) fail
    const series = [second(0, [75, 0], [25, 0]), second(1, [75, 0], [25, 10]), second(2, [75, 0], [25, 10]), second(3, [75, 0], [25, 0])];
    const m = measuredBlast({ series, endpoints }, 'b', 1, 3, true)!;
    expect(m.victimShare).toBeCloseTo(0.25, 12);
    expect(m.writeShare).toBeCloseTo(0.4, 12);
    expect(m.bound).toBeCloseTo(0.25 * 0.4 + SHARD_OUTAGE_EPSILON, 12);
    expect(m.failRate).toBeCloseTo(20 / 200, 12);
    expect(m.failRate).toBeLessThanOrEqual(m.bound);
    expect(m.failedShards).toEqual(['b']);
    expect(m.perShard).toEqual({ a: { requests: 150, errors: 0 }, b: { requests: 50, errors: 20 } });
  });

  it('sees an outage that spread beyond the victim, and a failed share over the bound (drops counted)', () => {
    const series = [second(0, [75, 9], [25, 10], 30), second(1, [75, 9], [25, 10], 30)];
    const m = measuredBlast({ series, endpoints }, 'b', 0, 2, true)!;
    expect(m.failedShards).toEqual(['a', 'b']);
    expect(m.failRate).toBeCloseTo((38 + 60) / (200 + 60), 12);
    expect(m.failRate).toBeGreaterThan(m.bound);
  });

  it('without a replica every request of the victim needs its primary: the bound is its share of the requests', () => {
    const series = [second(0, [50, 0], [50, 50])];
    const m = measuredBlast({ series, endpoints }, 'b', 0, 1, false)!;
    expect(m.primaryShare).toBe(1);
    expect(m.bound).toBeCloseTo(0.5 + SHARD_OUTAGE_EPSILON, 12);
    expect(m.failRate).toBeCloseTo(0.5, 12);
    expect(m.failRate).toBeLessThanOrEqual(m.bound);
    // with replicas the same failures are over the bound: the victim's reads should have survived
    expect(measuredBlast({ series, endpoints }, 'b', 0, 1, true)!.failRate).toBeGreaterThan(measuredBlast({ series, endpoints }, 'b', 0, 1, true)!.bound);
  });

  it('is null when the load kept no per-shard counts', () => {
    const s: SeriesPoint = { t: 0, requests: 1, errors: 0, dropped: 0, targetRate: 1, p50: 1, p95: 1, p99: 1 };
    expect(measuredBlast({ series: [s], endpoints }, 'b', 0, 1, true)).toBeNull();
  });
});
