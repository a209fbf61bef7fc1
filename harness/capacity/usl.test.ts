import { describe, expect, it } from 'vitest';
import { seededRandom } from '../load/random.ts';
import { fitUsl, fitUslWithIntervals, uslPeak, uslThroughput, type UslParams, type UslPoint } from './usl.ts';

/**
 * SPEC SDM91 on a 16-CPU Sun SPARCcenter 2000 (October 1994): the `specsdm91` data set of the R
 * `usl` package (from Gunther, Guerrilla Capacity Planning, 2007); load = simulated users,
 * throughput = scripts per hour.
 */
const SPECSDM91: UslPoint[] = [
  [1, 64.9],
  [18, 995.9],
  [36, 1652.4],
  [72, 1853.2],
  [108, 1828.9],
  [144, 1775.0],
  [216, 1702.2],
].map(([n, throughput]) => ({ n: n!, throughput: throughput! }));

const signif = (x: number, digits: number) => Number(x.toPrecision(digits));

/** Points on the law plus Gaussian noise (Box-Muller) of standard deviation `noise`, in throughput units. */
function synthetic(p: UslParams, ns: number[], noise: number, seed: number): UslPoint[] {
  const rng = seededRandom(seed);
  const gauss = () => Math.sqrt(-2 * Math.log(1 - rng.next())) * Math.cos(2 * Math.PI * rng.next());
  return ns.map((n) => ({ n, throughput: uslThroughput(p, n) + noise * gauss() }));
}

describe('fitUsl against the R usl package', () => {
  it('reproduces the published SPEC SDM91 fit', () => {
    const fit = fitUsl(SPECSDM91);
    // R usl 3.x summary(): alpha 0.0277285, beta 0.0001044, gamma 89.9952330
    expect(fit.sigma).toBeCloseTo(0.0277285, 6);
    expect(signif(fit.kappa, 4)).toBe(0.0001044);
    expect(fit.lambda).toBeCloseTo(89.995233, 4);
    // R: fitted(u) with options(digits=3)
    expect(fit.fitted.map((x) => Math.round(x))).toEqual([90, 1078, 1541, 1850, 1879, 1822, 1646]);
    // R: signif(peak.scalability(u), 2) == 97
    expect(signif(fit.peakN!, 2)).toBe(97);
    expect(fit.peakThroughput!).toBeCloseTo(uslThroughput(fit, fit.peakN!), 9);
    expect(fit.rSquared).toBeGreaterThan(0.98);
    expect(fit.rSquared).toBeLessThan(1);
  });

  it('reproduces the coef test of the R usl package (alpha = beta = 0.02, gamma = 1)', () => {
    const ns = [1, 2, 4, 6, 8, 10];
    const xs = [1, 1.8868, 3.0769, 3.5294, 3.5398, 3.3557];
    const fit = fitUsl(ns.map((n, i) => ({ n, throughput: xs[i]! })));
    expect(signif(fit.sigma, 3)).toBe(0.02);
    expect(signif(fit.kappa, 3)).toBe(0.02);
    expect(signif(fit.lambda, 3)).toBe(1);
  });

  it('gives SPEC SDM91 bootstrap intervals that hold the estimates, near the published standard errors', () => {
    const r = fitUslWithIntervals(SPECSDM91, { replicates: 1000, seed: 7 });
    const ci = r.intervals!;
    expect(ci.failed).toBe(0);
    for (const k of ['lambda', 'sigma', 'kappa'] as const) {
      expect(ci[k].low).toBeLessThan(r[k]);
      expect(ci[k].high).toBeGreaterThan(r[k]);
    }
    // R's t-based 95% intervals (estimate +- 2.776 standard errors, 4 degrees of freedom):
    // sigma 0.0024..0.053, kappa 0.000049..0.00016, lambda 50.5..129.5. A residual bootstrap on 7
    // points is not the same method, so only its scale is checked: the same order, not the digits.
    expect(ci.sigma.high).toBeLessThan(0.08);
    expect(ci.kappa.low).toBeGreaterThan(0.00002); // kappa is firmly above 0, as R's p = 0.006 says
    expect(ci.kappa.high).toBeLessThan(0.0002);
    expect(ci.lambda.low).toBeGreaterThan(40);
    expect(ci.lambda.high).toBeLessThan(150);
    expect(ci.peakN.low).toBeLessThan(r.peakN!);
    expect(ci.peakN.high).toBeGreaterThan(r.peakN!);
  });

  it('gives the same intervals for the same seed, others for another', () => {
    const a = fitUslWithIntervals(SPECSDM91, { replicates: 200, seed: 3 });
    const b = fitUslWithIntervals(SPECSDM91, { replicates: 200, seed: 3 });
    const c = fitUslWithIntervals(SPECSDM91, { replicates: 200, seed: 4 });
    expect(a.intervals).toEqual(b.intervals);
    expect(a.intervals).not.toEqual(c.intervals);
  });
});

describe('fitUsl on synthetic data with known parameters', () => {
  const truth: UslParams = { lambda: 1000, sigma: 0.05, kappa: 0.002 };
  const ns = [1, 2, 3, 4, 6, 8, 12, 16, 24, 32];

  it('recovers exact parameters from noiseless data', () => {
    const fit = fitUsl(synthetic(truth, ns, 0, 1));
    expect(fit.lambda).toBeCloseTo(1000, 5);
    expect(fit.sigma).toBeCloseTo(0.05, 8);
    expect(fit.kappa).toBeCloseTo(0.002, 9);
    expect(fit.rSquared).toBeCloseTo(1, 12);
    expect(fit.peakN!).toBeCloseTo(Math.sqrt(0.95 / 0.002), 6);
  });

  it('recovers the parameters through noise, and its 95% intervals cover the truth about 95% of the time', () => {
    // peak throughput ~7,400; noise sd 200 (~3% of it), the same everywhere as the fit assumes
    const covered = { lambda: 0, sigma: 0, kappa: 0 };
    const trials = 60;
    for (let seed = 1; seed <= trials; seed++) {
      const r = fitUslWithIntervals(synthetic(truth, ns, 200, 100 + seed), { replicates: 200, seed });
      // lambda rests on the few small-N points, where sd 200 is 10-20% of X: about 10% standard
      // error, so three of them; the peak is what the many high-N points pin down
      expect(Math.abs(r.lambda - 1000) / 1000).toBeLessThan(0.3);
      expect(Math.abs(r.peakN! - Math.sqrt(0.95 / 0.002))).toBeLessThan(6);
      for (const k of ['lambda', 'sigma', 'kappa'] as const) {
        if (r.intervals![k].low <= truth[k] && truth[k] <= r.intervals![k].high) covered[k]++;
      }
    }
    // a percentile bootstrap on 10 points under-covers a little (88-92% over 100 such trials);
    // far below would mean the intervals are wrong
    for (const k of ['lambda', 'sigma', 'kappa'] as const) expect(covered[k] / trials).toBeGreaterThanOrEqual(0.8);
  });

  it('holds kappa at 0 for a system with contention only (Amdahl): no peak, an asymptote of lambda/sigma', () => {
    const amdahl: UslParams = { lambda: 500, sigma: 0.1, kappa: 0 };
    const fit = fitUsl(ns.map((n) => ({ n, throughput: uslThroughput(amdahl, n) })));
    expect(fit.kappa).toBeGreaterThanOrEqual(0);
    expect(fit.kappa).toBeLessThan(1e-9);
    expect(fit.sigma).toBeCloseTo(0.1, 6);
    const peak = uslPeak({ ...fit, kappa: 0 });
    expect(peak.peakN).toBeNull();
    expect(peak.peakThroughput!).toBeCloseTo(5000, 3);
  });

  it('never reports negative sigma or kappa, even for superlinear data', () => {
    // X grows faster than N: the unconstrained optimum has sigma < 0, which the law forbids
    const fit = fitUsl([1, 2, 3, 4, 5].map((n) => ({ n, throughput: 100 * n ** 1.15 })));
    expect(fit.sigma).toBe(0);
    expect(fit.kappa).toBe(0);
    expect(fit.peakN).toBeNull();
    expect(fit.peakThroughput).toBeNull(); // linear: no peak and no asymptote
  });

  it('a perfectly linear system has sigma = kappa = 0 (negative control for the peak)', () => {
    const fit = fitUsl([1, 2, 4, 8].map((n) => ({ n, throughput: 250 * n })));
    expect(fit.sigma).toBeCloseTo(0, 9);
    expect(fit.kappa).toBeCloseTo(0, 9);
    expect(fit.lambda).toBeCloseTo(250, 6);
  });

  it('gives no intervals for three points (no residual left to resample)', () => {
    const r = fitUslWithIntervals([1, 2, 3].map((n) => ({ n, throughput: uslThroughput(truth, n) })));
    expect(r.intervals).toBeNull();
  });

  it('rejects data the law cannot be fitted to', () => {
    expect(() => fitUsl([{ n: 1, throughput: 10 }, { n: 2, throughput: 18 }])).toThrow(/at least 3 distinct N/);
    expect(() => fitUsl([1, 1, 2, 2].map((n) => ({ n, throughput: 10 * n })))).toThrow(/at least 3 distinct N/);
    expect(() => fitUsl([1, 2, 3].map((n) => ({ n, throughput: n === 2 ? 0 : 10 })))).toThrow(/throughput > 0/);
    expect(() => fitUsl([0, 2, 3].map((n) => ({ n, throughput: 10 })))).toThrow(/N >= 1/);
  });
});
