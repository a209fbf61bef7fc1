// The region drills' figures on hand-made series, each with the case where it never happened.
import { describe, expect, it } from 'vitest';
import type { SeriesPoint } from '../../reports/schema.ts';
import { dnsConvergenceMs, firstSurvivorSuccessS, rtoS, shiftCurve, shiftTimeS, type ServedSecond } from './figures.ts';

const served = (t: number, east: number, west: number): ServedSecond => ({ t, ok: { 'us-east': east, 'us-west': west } });
// us-east dies at t=3: nothing succeeds for two seconds, then west takes over gradually
const seconds = [served(0, 90, 10), served(1, 90, 10), served(2, 90, 10), served(3, 20, 10), served(4, 0, 0), served(5, 0, 40), served(6, 3, 97), served(7, 0, 100), served(8, 0, 100)];

const point = (t: number, errors: number, p99: number): SeriesPoint => ({ t, requests: 100, errors, dropped: 0, targetRate: 100, p50: 5, p95: 10, p99 });
const h = { maxErrorRate: 0.01, maxP99Ms: 200 };

describe('region figures', () => {
  it('the shift curve is each second\'s share of successes by serving region', () => {
    const curve = shiftCurve(seconds);
    expect(curve[0]!.share).toEqual({ 'us-east': 0.9, 'us-west': 0.1 });
    expect(curve[4]!.share).toEqual({});
    expect(curve[6]!.share).toEqual({ 'us-east': 0.03, 'us-west': 0.97 });
  });

  it('shift time: from the fault to survivors >= 95% for good', () => {
    const curve = shiftCurve(seconds);
    expect(shiftTimeS(curve, 3.5, ['us-west'])).toBe(1.5);
    expect(shiftTimeS(curve, 3.5, ['us-west'], 0.99)).toBe(3.5);
    // a dip back under the threshold restarts the count
    const dip = shiftCurve([...seconds, served(9, 50, 50), served(10, 0, 100)]);
    expect(shiftTimeS(dip, 3.5, ['us-west'])).toBe(6.5);
    // never shifted: null, not 0
    expect(shiftTimeS(shiftCurve(seconds.slice(0, 4)), 3.5, ['us-west'])).toBeNull();
  });

  it('first success in a surviving region', () => {
    expect(firstSurvivorSuccessS(seconds, 4, ['us-west'])).toBe(1);
    expect(firstSurvivorSuccessS(seconds, 4, ['eu'])).toBeNull();
  });

  it('RTO: from the fault to healthy for good', () => {
    const series = [point(0, 0, 20), point(1, 0, 20), point(2, 50, 900), point(3, 5, 300), point(4, 0, 250), point(5, 0, 40), point(6, 0, 30)];
    expect(rtoS(series, 2, h)).toBe(3);
    expect(rtoS(series.slice(0, 5), 2, h)).toBeNull();
    expect(rtoS(series, 10, h)).toBeNull();
  });

  it('DNS convergence: the first answer of the survivors that stuck', () => {
    const changes = [
      { at: 0, address: '10.0.0.1' },
      { at: 5_200, address: null },
      { at: 5_400, address: '10.0.0.2' },
    ];
    expect(dnsConvergenceMs(changes, 5_000, ['10.0.0.2'])).toBe(400);
    expect(dnsConvergenceMs(changes.slice(0, 2), 5_000, ['10.0.0.2'])).toBeNull();
    expect(dnsConvergenceMs([...changes, { at: 9_000, address: '10.0.0.1' }], 5_000, ['10.0.0.2'])).toBeNull();
  });
});
