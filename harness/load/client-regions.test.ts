import { describe, expect, it } from 'vitest';
import { LatencyHistogram } from './histogram.ts';
import { cumulativeShares, loopbackOnly, RegionSeconds, regionOfRequest, UNNAMED_REGION } from './client-regions.ts';

describe('client regions', () => {
  it('normalises the shares; a share that is not positive is refused', () => {
    expect(cumulativeShares([{ name: 'a', share: 1 }, { name: 'b', share: 1 }, { name: 'c', share: 2 }])).toEqual([0.25, 0.5, 1]);
    expect(() => cumulativeShares([{ name: 'a', share: 0 }])).toThrow(/client region a: share 0/);
    expect(() => cumulativeShares([])).toThrow(/no client region/);
  });

  it('gives each region its share of the requests within a request or two, from the index alone', () => {
    const even = cumulativeShares([{ name: 'a', share: 1 }, { name: 'b', share: 1 }, { name: 'c', share: 1 }]);
    const counts = [0, 0, 0];
    for (let k = 1; k <= 3000; k++) counts[regionOfRequest(k, even)]! += 1;
    for (const c of counts) expect(Math.abs(c - 1000)).toBeLessThanOrEqual(2);
    // and over every short window too (a drill's second): 30 consecutive requests, 10 +- 2 each
    const w = [0, 0, 0];
    for (let k = 1001; k <= 1030; k++) w[regionOfRequest(k, even)]! += 1;
    for (const c of w) expect(Math.abs(c - 10)).toBeLessThanOrEqual(2);
    const skewed = cumulativeShares([{ name: 'a', share: 3 }, { name: 'b', share: 1 }]);
    let a = 0;
    for (let k = 1; k <= 4000; k++) if (regionOfRequest(k, skewed) === 0) a += 1;
    expect(Math.abs(a - 3000)).toBeLessThanOrEqual(2);
    // deterministic: one index, one region
    expect(regionOfRequest(77, even)).toBe(regionOfRequest(77, even));
  });

  it('connects only to a loopback answer', async () => {
    expect(await loopbackOnly({ resolve: async () => '127.3.12.1' }, 'api.bench.test')).toBe('127.3.12.1');
    await expect(loopbackOnly({ resolve: async () => '10.0.0.7' }, 'api.bench.test')).rejects.toThrow(/answered 10.0.0.7 for api.bench.test: not a loopback address/);
  });

  it('counts each second: successes by serving region, errors, and the successes\' histogram; quiet seconds kept empty', () => {
    const s = new RegionSeconds();
    s.add(100, false, 2_000, 'us-east');
    s.add(900, true, 5_000_000, null);
    s.add(2_500, false, 30_000, 'us-west');
    s.add(2_600, false, 40_000, null);
    const out = s.seconds();
    expect(out.map((x) => [x.t, x.ok, x.errors])).toEqual([
      [0, { 'us-east': 1 }, 1],
      [1, {}, 0],
      [2, { 'us-west': 1, [UNNAMED_REGION]: 1 }, 0],
    ]);
    expect(out[1]!.hdr).toBeNull();
    // a failure's time is not a success's latency
    expect(LatencyHistogram.decode(out[0]!.hdr!).maxMs()).toBeLessThan(3);
    expect(LatencyHistogram.decode(out[2]!.hdr!).count).toBe(2);
    // reading does not close the current second
    s.add(2_700, false, 1_000, 'us-west');
    expect(s.seconds()[2]!.ok['us-west']).toBe(2);
    expect(new RegionSeconds().seconds()).toEqual([]);
  });
});
