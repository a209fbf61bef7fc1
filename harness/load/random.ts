// Seeded randomness for the load engine: one source per run, so the same seed sends the same
// requests (kinds, ids, bodies) in the same order. No Math.random anywhere in the engine.

/** A seeded source of uniform numbers. */
export interface Random {
  /** a uniform float in [0, 1) */
  next(): number;
  /** a uniform integer in [0, n) */
  int(n: number): number;
}

// splitmix32 spreads a small integer seed over the 128 bits xoshiro needs, so seeds 1 and 2
// do not start from nearly identical states.
function splitmix32(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x9e3779b9) >>> 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
    return (z ^ (z >>> 16)) >>> 0;
  };
}

const TWO_POW_32 = 4294967296;

/**
 * xoshiro128** (Blackman & Vigna): 32-bit arithmetic, period 2^128 - 1. Chosen over mulberry32
 * (period 2^32) because a long run at 30k req/s with several draws per request would wrap a
 * 2^32 period within hours.
 */
export function seededRandom(seed: number): Random {
  if (!Number.isFinite(seed)) throw new RangeError(`seed must be a finite number, got ${seed}`);
  // Fold a seed above 2^32 into 32 bits instead of silently dropping its high part.
  const folded = (seed >>> 0) ^ Math.floor(Math.abs(seed) / TWO_POW_32);
  const mix = splitmix32(folded);
  let a = mix();
  let b = mix();
  let c = mix();
  let d = mix();
  if ((a | b | c | d) === 0) a = 1; // the all-zero state is a fixed point
  const next32 = (): number => {
    const result = Math.imul(rotl(Math.imul(b, 5), 7), 9) >>> 0;
    const t = b << 9;
    c ^= a;
    d ^= b;
    b ^= c;
    a ^= d;
    c ^= t;
    d = rotl(d, 11);
    return result;
  };
  return {
    next: () => next32() / TWO_POW_32,
    int: (n: number) => Math.floor((next32() / TWO_POW_32) * n),
  };
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}

/** Draws integers in 1..n with P(k) proportional to k^-s; O(1) memory and time per draw. */
export interface ZipfSampler {
  readonly n: number;
  readonly s: number;
  sample(rng: Random): number;
}

/**
 * Zipf over 1..n by rejection-inversion (W. Hörmann, G. Derflinger, "Rejection-inversion to
 * generate variates from monotone discrete distributions", 1996), as in Apache Commons RNG's
 * RejectionInversionZipfSampler. Nothing is tabulated, so n = 1e9 costs what n = 10 costs; the
 * expected number of loop turns is below 1.1 for any s. s = 0 is uniform.
 */
export function zipfSampler(n: number, s: number): ZipfSampler {
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`zipf: n must be an integer >= 1, got ${n}`);
  if (!(s >= 0) || !Number.isFinite(s)) throw new RangeError(`zipf: exponent must be >= 0, got ${s}`);
  if (s === 0 || n === 1) {
    return { n, s, sample: (rng) => 1 + rng.int(n) };
  }
  const h = (x: number): number => Math.exp(-s * Math.log(x));
  // hIntegral(x) = (x^(1-s) - 1) / (1-s), written through expm1/log1p helpers so that it stays
  // accurate (and continuous) as s approaches 1, where it becomes log(x).
  const hIntegral = (x: number): number => {
    const logX = Math.log(x);
    return helper2((1 - s) * logX) * logX;
  };
  const hIntegralInverse = (x: number): number => {
    let t = x * (1 - s);
    if (t < -1) t = -1; // rounding can push t just below -1
    return Math.exp(helper1(t) * x);
  };
  const hIntegralX1 = hIntegral(1.5) - 1;
  const hIntegralN = hIntegral(n + 0.5);
  const squeeze = 2 - hIntegralInverse(hIntegral(2.5) - h(2));
  return {
    n,
    s,
    sample(rng: Random): number {
      for (;;) {
        const u = hIntegralN + rng.next() * (hIntegralX1 - hIntegralN);
        const x = hIntegralInverse(u);
        let k = Math.floor(x + 0.5);
        if (k < 1) k = 1;
        else if (k > n) k = n;
        if (k - x <= squeeze || u >= hIntegral(k + 0.5) - h(k)) return k;
      }
    },
  };
}

/** log1p(x) / x, with its series near 0 where the division loses precision. */
function helper1(x: number): number {
  return Math.abs(x) > 1e-8 ? Math.log1p(x) / x : 1 - x * (0.5 - x * (1 / 3 - x * 0.25));
}

/** expm1(x) / x, with its series near 0. */
function helper2(x: number): number {
  return Math.abs(x) > 1e-8 ? Math.expm1(x) / x : 1 + x * 0.5 * (1 + x * (1 / 3) * (1 + x * 0.25));
}

/** Picks a key with probability proportional to its weight (zero weights are never picked). */
export interface WeightedPicker<K extends string> {
  readonly keys: readonly K[];
  pick(rng: Random): K;
}

/** Builds a picker over relative weights; they need not sum to 1. */
export function weightedPicker<K extends string>(weights: Readonly<Record<K, number>>): WeightedPicker<K> {
  const keys: K[] = [];
  const cumulative: number[] = [];
  let total = 0;
  for (const key of Object.keys(weights) as K[]) {
    const w = weights[key];
    if (!(w >= 0) || !Number.isFinite(w)) throw new RangeError(`weight of "${key}" must be >= 0, got ${w}`);
    if (w === 0) continue;
    total += w;
    keys.push(key);
    cumulative.push(total);
  }
  if (keys.length === 0) throw new RangeError('at least one weight must be > 0');
  return {
    keys,
    pick(rng: Random): K {
      const x = rng.next() * total;
      // A linear scan beats a binary search for the handful of request kinds a mix has.
      for (let i = 0; i < cumulative.length; i++) if (x < cumulative[i]) return keys[i];
      return keys[keys.length - 1];
    },
  };
}
