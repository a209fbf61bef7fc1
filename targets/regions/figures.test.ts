// The region drills' figures on hand-made series, each with the case where it never happened.
import { describe, expect, it } from 'vitest';
import { LatencyHistogram } from '../../harness/load/histogram.ts';
import type { SeriesPoint } from '../../reports/schema.ts';
import { firstSurvivorSuccessS, mergeServed, rtoS, samplePercentiles, shiftCurve, shiftTimeS, type ServedSecond } from './figures.ts';

const served = (t: number, east: number, west: number, errors = 0): ServedSecond => ({ t, ok: { 'us-east': east, 'us-west': west }, errors });
// us-east dies at t=3.5: its answers stop, failures take their place, then west takes over
const seconds = [served(0, 90, 10), served(1, 90, 10), served(2, 90, 10), served(3, 20, 10, 20), served(4, 0, 0, 100), served(5, 0, 40, 60), served(6, 3, 97), served(7, 0, 100), served(8, 0, 100)];
const outage = { faultAtS: 3.5, untilS: null };

const point = (t: number, errors: number, p99: number): SeriesPoint => ({ t, requests: 100, errors, dropped: 0, targetRate: 100, p50: 5, p95: 10, p99 });
const h = { maxErrorRate: 0.01, maxP99Ms: 200 };
const hist = (ms: number) => {
  const x = new LatencyHistogram(2);
  for (let i = 0; i < 100; i++) x.recordMs(ms);
  return x.encode();
};

describe('region figures', () => {
  it("the shift curve is each second's share of completed requests by serving region, and the failed share", () => {
    const curve = shiftCurve(seconds);
    expect(curve[0]).toEqual({ t: 0, share: { 'us-east': 0.9, 'us-west': 0.1 }, failed: 0 });
    expect(curve[4]).toEqual({ t: 4, share: { 'us-east': 0, 'us-west': 0 }, failed: 1 });
    expect(curve[5]!.share['us-west']).toBeCloseTo(0.4);
    expect(curve[6]!.share).toEqual({ 'us-east': 0.03, 'us-west': 0.97 });
    // nothing completed: no share at all (not a 0% that would read as "the survivors served none")
    expect(shiftCurve([{ t: 0, ok: {}, errors: 0 }])).toEqual([{ t: 0, share: {}, failed: 0 }]);
  });

  it('shift time: from the fault to survivors >= 95% of the completed requests for the rest of the outage', () => {
    expect(shiftTimeS(seconds, outage, ['us-west'])).toBe(2.5);
    expect(shiftTimeS(seconds, outage, ['us-west'], 0.99)).toBe(3.5);
    // 60% failing is not shifted, though over the successes alone t=5 would read 100% survivors
    expect(shiftTimeS([...seconds.slice(0, 5), served(5, 0, 40, 60)], outage, ['us-west'])).toBeNull();
    // one stray second under the threshold, in a rest that holds it, does not restart the count
    const stray = [...seconds, served(9, 0, 90, 10), ...Array.from({ length: 10 }, (_, i) => served(10 + i, 0, 100))];
    expect(shiftTimeS(stray, outage, ['us-west'])).toBe(2.5);
    // a dip that takes the rest under the threshold does
    const dip = [...seconds, served(9, 50, 50), served(10, 0, 100)];
    expect(shiftTimeS(dip, outage, ['us-west'])).toBe(6.5);
    // ... but the region's return (failback) after untilS is not a dip
    expect(shiftTimeS(dip, { faultAtS: 3.5, untilS: 9 }, ['us-west'])).toBe(2.5);
    // never shifted: null, not 0
    expect(shiftTimeS(seconds.slice(0, 4), outage, ['us-west'])).toBeNull();
  });

  it('first success in a surviving region, during the outage only', () => {
    const failedClients = [served(0, 90, 0), served(3, 20, 0, 20), served(4, 0, 0, 100), served(5, 0, 40, 60)];
    expect(firstSurvivorSuccessS(failedClients, outage, ['us-west'])).toBe(1.5);
    expect(firstSurvivorSuccessS(failedClients, outage, ['eu'])).toBeNull();
    expect(firstSurvivorSuccessS(failedClients, { faultAtS: 3.5, untilS: 5 }, ['us-west'])).toBeNull();
  });

  it('RTO: from the fault to healthy for the rest of the outage', () => {
    const series = [point(0, 0, 20), point(1, 0, 20), point(2, 50, 900), point(3, 5, 300), point(4, 0, 250), point(5, 0, 40), point(6, 0, 30)];
    expect(rtoS(series, { faultAtS: 2, untilS: null }, h)).toBe(3);
    expect(rtoS(series.slice(0, 5), { faultAtS: 2, untilS: null }, h)).toBeNull();
    expect(rtoS(series, { faultAtS: 10, untilS: null }, h)).toBeNull();
    // errors of the failback (after the region came back at t=7) do not undo the recovery
    expect(rtoS([...series, point(7, 30, 30)], { faultAtS: 2, untilS: 7 }, h)).toBe(3);
    // a stray error after the recovery (1 of a 30-request second: 3.3% of it, 0.1% of the rest) does not move RTO
    const stray = [...series, { ...point(7, 1, 30), requests: 30 }, ...Array.from({ length: 8 }, (_, i) => point(8 + i, 0, 30))];
    expect(rtoS(stray, { faultAtS: 2, untilS: null }, h)).toBe(3);
    // a long healthy tail does not dilute the outage: the first second must be healthy itself
    expect(rtoS([point(2, 100, 900), ...Array.from({ length: 200 }, (_, i) => point(3 + i, 0, 30))], { faultAtS: 2, untilS: null }, h)).toBe(1);
    // the rest's p99 is merged from the seconds' histograms when they carry them
    const slowTail = [point(5, 0, 40), point(6, 0, 40)].map((p) => ({ ...p, hdr: hist(p.t === 5 ? 30 : 900) }));
    expect(rtoS(slowTail, { faultAtS: 5, untilS: null }, h)).toBeNull();
    // still unhealthy when the region came back: not recovered (null)
    expect(rtoS(series, { faultAtS: 2, untilS: 4 }, h)).toBeNull();
  });

  it('merges client regions per second', () => {
    expect(mergeServed([[served(0, 1, 2, 1), served(1, 5, 0)], [{ t: 1, ok: { eu: 3 }, errors: 2 }]])).toEqual([
      { t: 0, ok: { 'us-east': 1, 'us-west': 2 }, errors: 1 },
      { t: 1, ok: { 'us-east': 5, 'us-west': 0, eu: 3 }, errors: 2 },
    ]);
  });

  it('sample percentiles: nearest rank, null without samples', () => {
    expect(samplePercentiles([])).toEqual({ p50: null, p99: null, max: null, n: 0 });
    const s = Array.from({ length: 100 }, (_, i) => 100 - i);
    expect(samplePercentiles(s)).toEqual({ p50: 50, p99: 99, max: 100, n: 100 });
    expect(samplePercentiles([7])).toEqual({ p50: 7, p99: 7, max: 7, n: 1 });
  });
});
