// The Universal Scalability Law (N. J. Gunther, "Guerrilla Capacity Planning", 2007):
//
//   X(N) = lambda N / (1 + sigma (N - 1) + kappa N (N - 1))
//
// lambda is the throughput of one unit, sigma the contention (the serial share), kappa the
// coherency cost (every unit talking to every other). Fitted here by nonlinear least squares
// (Levenberg-Marquardt) under sigma, kappa >= 0, with residual-bootstrap confidence intervals.
// Small and self-contained on purpose: three parameters, a handful of points, no library needed.
import { seededRandom } from '../load/random.ts';

/** One measurement: N units (servers, shards, workers) sustained `throughput`. */
export interface UslPoint {
  n: number;
  throughput: number;
}

export interface UslParams {
  lambda: number;
  sigma: number;
  kappa: number;
}

/** A two-sided interval at the stated level; Infinity where the bound is unbounded (no peak). */
export interface Interval {
  low: number;
  high: number;
}

export interface UslFit extends UslParams {
  /** 1 - SSE/SST over the measured points */
  rSquared: number;
  /** sum of squared residuals */
  sse: number;
  /** N* = sqrt((1 - sigma) / kappa): where adding units stops paying; null when kappa = 0 */
  peakN: number | null;
  /** X(N*); without a peak, the asymptote lambda / sigma (null when sigma = 0 too) */
  peakThroughput: number | null;
  /** the fitted X at each measured N, in the order given */
  fitted: number[];
  points: UslPoint[];
}

export interface UslIntervals {
  level: number;
  replicates: number;
  /** replicates whose fit did not converge (left out of the intervals) */
  failed: number;
  lambda: Interval;
  sigma: Interval;
  kappa: Interval;
  peakN: Interval;
  peakThroughput: Interval;
}

export interface UslResult extends UslFit {
  intervals: UslIntervals | null;
}

/** X(N) for the given parameters. */
export function uslThroughput(p: UslParams, n: number): number {
  return (p.lambda * n) / (1 + p.sigma * (n - 1) + p.kappa * n * (n - 1));
}

/** N* and X(N*), or the asymptote when there is no peak. */
export function uslPeak(p: UslParams): { peakN: number | null; peakThroughput: number | null } {
  if (p.kappa > 0 && p.sigma < 1) {
    const peakN = Math.sqrt((1 - p.sigma) / p.kappa);
    return { peakN, peakThroughput: uslThroughput(p, peakN) };
  }
  // kappa = 0: throughput rises towards lambda / sigma and never falls (Amdahl's law)
  return { peakN: null, peakThroughput: p.sigma > 0 ? p.lambda / p.sigma : null };
}

/**
 * Fits the USL to the points by least squares with sigma, kappa >= 0. The unconstrained optimum
 * is tried first; when it breaks a bound, the fits with that parameter held at 0 are tried, and
 * the best feasible one is kept (with three parameters, trying every active set is exact and cheap).
 */
export function fitUsl(points: readonly UslPoint[]): UslFit {
  validate(points);
  const ns = points.map((p) => p.n);
  const xs = points.map((p) => p.throughput);
  const start = initialGuess(points);
  let best: { params: UslParams; sse: number } | null = null;
  for (const fixed of [[], ['sigma'], ['kappa'], ['sigma', 'kappa']] as Array<Array<'sigma' | 'kappa'>>) {
    const init = { ...start };
    for (const f of fixed) init[f] = 0;
    const r = levenbergMarquardt(ns, xs, init, fixed);
    if (!r || r.params.sigma < 0 || r.params.kappa < 0) continue;
    if (!best || r.sse < best.sse * (1 - 1e-12)) best = r;
    if (fixed.length === 0) break; // the unconstrained optimum is feasible: it is the answer
  }
  if (!best) throw new Error('the USL fit did not converge on these points');
  return describe(best.params, points);
}

/**
 * fitUsl plus bootstrap confidence intervals: the fitted curve plus resampled residuals gives
 * `replicates` new data sets (the N values are the experiment's design, so they stay), each
 * refitted; the intervals are percentiles of the refitted values. Seeded: same seed, same intervals.
 */
export function fitUslWithIntervals(
  points: readonly UslPoint[],
  { replicates = 1000, level = 0.95, seed = 1 }: { replicates?: number; level?: number; seed?: number } = {},
): UslResult {
  const fit = fitUsl(points);
  if (points.length < 4) return { ...fit, intervals: null }; // no residual left to resample
  const rng = seededRandom(seed);
  const n = points.length;
  // Absolute residuals, as the fit is unweighted least squares (it takes the noise to be the same
  // size everywhere). Residuals shrink towards 0 in a least-squares fit; rescaling by
  // sqrt(n / (n - p)) undoes that.
  const scale = Math.sqrt(n / (n - 3));
  const residuals = points.map((p, i) => (p.throughput - fit.fitted[i]!) * scale);
  // A throughput cannot be <= 0: a residual that would make one (a large residual of a high N
  // moved onto a small N) is drawn again rather than losing the whole replicate.
  const draw = (fitted: number): number => {
    for (let t = 0; t < 100; t++) {
      const x = fitted + residuals[rng.int(n)]!;
      if (x > 0) return x;
    }
    return fitted;
  };
  const samples = { lambda: [] as number[], sigma: [] as number[], kappa: [] as number[], peakN: [] as number[], peakThroughput: [] as number[] };
  let failed = 0;
  for (let b = 0; b < replicates; b++) {
    const resampled = points.map((p, i) => ({ n: p.n, throughput: draw(fit.fitted[i]!) }));
    let r: UslFit;
    try {
      r = fitUsl(resampled);
    } catch {
      failed++;
      continue;
    }
    samples.lambda.push(r.lambda);
    samples.sigma.push(r.sigma);
    samples.kappa.push(r.kappa);
    // no peak (kappa = 0) is an unbounded N*: it belongs at the top of the distribution
    samples.peakN.push(r.peakN ?? Infinity);
    samples.peakThroughput.push(r.peakThroughput ?? Infinity);
  }
  const tail = (1 - level) / 2;
  const interval = (values: number[]): Interval => {
    const sorted = [...values].sort((a, b) => a - b);
    return { low: quantile(sorted, tail), high: quantile(sorted, 1 - tail) };
  };
  return {
    ...fit,
    intervals:
      samples.lambda.length === 0
        ? null
        : {
            level,
            replicates,
            failed,
            lambda: interval(samples.lambda),
            sigma: interval(samples.sigma),
            kappa: interval(samples.kappa),
            peakN: interval(samples.peakN),
            peakThroughput: interval(samples.peakThroughput),
          },
  };
}

function validate(points: readonly UslPoint[]): void {
  for (const p of points) {
    if (!(Number.isFinite(p.n) && p.n >= 1)) throw new RangeError(`a USL point needs N >= 1, got ${p.n}`);
    if (!(Number.isFinite(p.throughput) && p.throughput > 0)) throw new RangeError(`a USL point needs a throughput > 0, got ${p.throughput} at N=${p.n}`);
  }
  const distinct = new Set(points.map((p) => p.n)).size;
  if (distinct < 3) throw new RangeError(`the USL has three parameters: it needs at least 3 distinct N, got ${distinct}`);
}

/**
 * A start for the iteration from Gunther's linearisation: with lambda taken from the smallest N
 * (X(N)/N there), N lambda / X(N) - 1 = sigma (N - 1) + kappa N (N - 1) is linear in sigma and kappa.
 */
function initialGuess(points: readonly UslPoint[]): UslParams {
  const first = [...points].sort((a, b) => a.n - b.n)[0]!;
  const lambda = first.throughput / first.n;
  // least squares without intercept for y = sigma a + kappa b
  let saa = 0, sab = 0, sbb = 0, say = 0, sby = 0;
  for (const p of points) {
    const a = p.n - 1;
    const b = p.n * (p.n - 1);
    const y = (p.n * lambda) / p.throughput - 1;
    saa += a * a;
    sab += a * b;
    sbb += b * b;
    say += a * y;
    sby += b * y;
  }
  const det = saa * sbb - sab * sab;
  let sigma = det !== 0 ? (say * sbb - sby * sab) / det : 0;
  let kappa = det !== 0 ? (sby * saa - say * sab) / det : 0;
  if (!(sigma >= 0) || !Number.isFinite(sigma)) sigma = 0.01;
  if (!(kappa >= 0) || !Number.isFinite(kappa)) kappa = 1e-6;
  return { lambda, sigma, kappa };
}

const NAMES = ['lambda', 'sigma', 'kappa'] as const;

/**
 * Levenberg-Marquardt with Marquardt's scaling (damping proportional to diag(J'J)), which copes
 * with parameters six orders of magnitude apart (lambda ~ 100, kappa ~ 1e-4). `fixed` parameters
 * keep their starting value. Returns null if it never finds a valid point.
 */
function levenbergMarquardt(
  ns: readonly number[],
  xs: readonly number[],
  start: UslParams,
  fixed: ReadonlyArray<'sigma' | 'kappa'>,
): { params: UslParams; sse: number } | null {
  const free = NAMES.filter((k) => !(fixed as readonly string[]).includes(k));
  let p: UslParams = { ...start };
  let sse = sumSquares(ns, xs, p);
  if (!Number.isFinite(sse)) return null;
  let mu = 1e-3;
  for (let iter = 0; iter < 500; iter++) {
    // J'J and J'r over the free parameters (r = x - f, J = df/dparam)
    const m = free.length;
    const jtj = Array.from({ length: m }, () => new Array<number>(m).fill(0));
    const jtr = new Array<number>(m).fill(0);
    for (let i = 0; i < ns.length; i++) {
      const n = ns[i]!;
      const d = 1 + p.sigma * (n - 1) + p.kappa * n * (n - 1);
      const f = (p.lambda * n) / d;
      const grad: Record<(typeof NAMES)[number], number> = {
        lambda: n / d,
        sigma: (-p.lambda * n * (n - 1)) / (d * d),
        kappa: (-p.lambda * n * n * (n - 1)) / (d * d),
      };
      const g = free.map((k) => grad[k]);
      const r = xs[i]! - f;
      for (let a = 0; a < m; a++) {
        jtr[a]! += g[a]! * r;
        for (let b = 0; b < m; b++) jtj[a]![b]! += g[a]! * g[b]!;
      }
    }
    let improved = false;
    for (let tries = 0; tries < 30; tries++) {
      const lhs = jtj.map((row, a) => row.map((v, b) => (a === b ? v * (1 + mu) + 1e-300 : v)));
      const delta = solve(lhs, jtr);
      if (!delta) {
        mu *= 10;
        continue;
      }
      const next = { ...p };
      free.forEach((k, a) => (next[k] += delta[a]!));
      const nextSse = sumSquares(ns, xs, next);
      if (Number.isFinite(nextSse) && nextSse <= sse) {
        const gain = sse - nextSse;
        const stepSmall = free.every((k, a) => Math.abs(delta[a]!) <= 1e-12 * (Math.abs(p[k]) + 1e-12));
        p = next;
        sse = nextSse;
        mu = Math.max(mu / 10, 1e-12);
        improved = true;
        if (gain <= 1e-15 * (sse + 1e-300) || stepSmall) return { params: p, sse };
        break;
      }
      mu *= 10;
    }
    if (!improved) return { params: p, sse }; // no step lowers the error: a minimum
  }
  return { params: p, sse };
}

/** SSE, or Infinity where the denominator is not positive (the model is undefined there). */
function sumSquares(ns: readonly number[], xs: readonly number[], p: UslParams): number {
  let s = 0;
  for (let i = 0; i < ns.length; i++) {
    const n = ns[i]!;
    const d = 1 + p.sigma * (n - 1) + p.kappa * n * (n - 1);
    if (!(d > 0)) return Infinity;
    const r = xs[i]! - (p.lambda * n) / d;
    s += r * r;
  }
  return s;
}

/** Gaussian elimination with partial pivoting; null when the matrix is singular. */
function solve(a: number[][], b: number[]): number[] | null {
  const m = b.length;
  const M = a.map((row, i) => [...row, b[i]!]);
  for (let col = 0; col < m; col++) {
    let pivot = col;
    for (let r = col + 1; r < m; r++) if (Math.abs(M[r]![col]!) > Math.abs(M[pivot]![col]!)) pivot = r;
    if (!(Math.abs(M[pivot]![col]!) > 0)) return null;
    [M[col], M[pivot]] = [M[pivot]!, M[col]!];
    for (let r = col + 1; r < m; r++) {
      const factor = M[r]![col]! / M[col]![col]!;
      for (let c = col; c <= m; c++) M[r]![c]! -= factor * M[col]![c]!;
    }
  }
  const x = new Array<number>(m).fill(0);
  for (let r = m - 1; r >= 0; r--) {
    let s = M[r]![m]!;
    for (let c = r + 1; c < m; c++) s -= M[r]![c]! * x[c]!;
    x[r] = s / M[r]![r]!;
  }
  return x.every(Number.isFinite) ? x : null;
}

function describe(params: UslParams, points: readonly UslPoint[]): UslFit {
  const fitted = points.map((p) => uslThroughput(params, p.n));
  const mean = points.reduce((s, p) => s + p.throughput, 0) / points.length;
  let sse = 0;
  let sst = 0;
  points.forEach((p, i) => {
    sse += (p.throughput - fitted[i]!) ** 2;
    sst += (p.throughput - mean) ** 2;
  });
  return {
    ...params,
    ...uslPeak(params),
    rSquared: sst > 0 ? 1 - sse / sst : 1,
    sse,
    fitted,
    points: points.map((p) => ({ ...p })),
  };
}

/** The q-quantile of sorted values, interpolated linearly (R's type 7). */
function quantile(sorted: readonly number[], q: number): number {
  const h = (sorted.length - 1) * q;
  const lo = Math.floor(h);
  const hi = Math.ceil(h);
  const a = sorted[lo]!;
  const b = sorted[hi]!;
  if (a === b || !Number.isFinite(a) || !Number.isFinite(b)) return h - lo < 0.5 ? a : b;
  return a + (b - a) * (h - lo);
}
