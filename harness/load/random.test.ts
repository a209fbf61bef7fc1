import { describe, expect, it } from 'vitest';
import { seededRandom, weightedPicker, zipfSampler } from './random.ts';

describe('seededRandom', () => {
  it('gives the same sequence for the same seed and another for another seed', () => {
    const a = seededRandom(42);
    const b = seededRandom(42);
    const c = seededRandom(43);
    const sa = Array.from({ length: 100 }, () => a.next());
    const sb = Array.from({ length: 100 }, () => b.next());
    const sc = Array.from({ length: 100 }, () => c.next());
    expect(sa).toEqual(sb);
    expect(sa).not.toEqual(sc);
  });

  it('stays in [0, 1) and is roughly uniform', () => {
    const r = seededRandom(1);
    const buckets = new Array(10).fill(0);
    const n = 100_000;
    let outside = 0;
    for (let i = 0; i < n; i++) {
      const x = r.next();
      if (!(x >= 0 && x < 1)) outside++;
      else buckets[Math.floor(x * 10)]++;
    }
    expect(outside).toBe(0);
    for (const b of buckets) expect(Math.abs(b - n / 10)).toBeLessThan(n / 10 * 0.05);
  });

  it('int(n) covers 0..n-1 only', () => {
    const r = seededRandom(5);
    const seen = new Set<number>();
    for (let i = 0; i < 1000; i++) seen.add(r.int(5));
    expect([...seen].sort()).toEqual([0, 1, 2, 3, 4]);
  });
});

describe('zipfSampler', () => {
  // exact pmf for a small n to compare against
  function pmf(n: number, s: number): number[] {
    const w = Array.from({ length: n }, (_, i) => Math.pow(i + 1, -s));
    const z = w.reduce((a, b) => a + b, 0);
    return w.map((x) => x / z);
  }

  for (const s of [0.5, 0.99, 1, 1.1, 2]) {
    it(`matches the exact distribution for n = 20, s = ${s}`, () => {
      const z = zipfSampler(20, s);
      const r = seededRandom(9);
      const n = 200_000;
      const counts = new Array(20).fill(0);
      for (let i = 0; i < n; i++) counts[z.sample(r) - 1]++;
      const p = pmf(20, s);
      for (let k = 0; k < 20; k++) {
        const expected = p[k] * n;
        // 5 standard deviations of a binomial count, plus a little slack for tiny cells
        expect(Math.abs(counts[k] - expected)).toBeLessThan(5 * Math.sqrt(expected) + 5);
      }
      // rank 1 is the most frequent
      expect(counts[0]).toBe(Math.max(...counts));
    });
  }

  it('is uniform for s = 0', () => {
    const z = zipfSampler(4, 0);
    const r = seededRandom(3);
    const counts = [0, 0, 0, 0];
    for (let i = 0; i < 40_000; i++) counts[z.sample(r) - 1]++;
    for (const c of counts) expect(Math.abs(c - 10_000)).toBeLessThan(500);
  });

  it('samples 1..1e9 quickly, in range, with rank 1 the most frequent', () => {
    const n = 1e9;
    const z = zipfSampler(n, 0.99);
    const r = seededRandom(11);
    const counts = new Map<number, number>();
    const t0 = performance.now();
    let max = 0;
    let bad = 0;
    for (let i = 0; i < 200_000; i++) {
      const k = z.sample(r);
      if (!(k >= 1 && k <= n && Number.isInteger(k))) bad++;
      if (k > max) max = k;
      counts.set(k, (counts.get(k) ?? 0) + 1);
    }
    const ms = performance.now() - t0;
    expect(bad).toBe(0);
    expect(ms).toBeLessThan(1000);
    const top = [...counts.entries()].sort((a, b) => b[1] - a[1])[0];
    expect(top[0]).toBe(1);
    // the tail is reached: ids far beyond a million come up
    expect(max).toBeGreaterThan(1e6);
  });

  it('is deterministic for a seed', () => {
    const z = zipfSampler(1_000_000, 1.1);
    const a = seededRandom(77);
    const b = seededRandom(77);
    const xs = Array.from({ length: 50 }, () => z.sample(a));
    const ys = Array.from({ length: 50 }, () => z.sample(b));
    expect(xs).toEqual(ys);
  });

  it('rejects bad arguments', () => {
    expect(() => zipfSampler(0, 1)).toThrow(RangeError);
    expect(() => zipfSampler(10, -1)).toThrow(RangeError);
    expect(() => zipfSampler(1.5, 1)).toThrow(RangeError);
  });
});

describe('weightedPicker', () => {
  it('picks in proportion to the weights and never a zero weight', () => {
    const p = weightedPicker({ a: 70, b: 20, c: 10, d: 0 });
    const r = seededRandom(2);
    const counts: Record<string, number> = { a: 0, b: 0, c: 0, d: 0 };
    for (let i = 0; i < 100_000; i++) counts[p.pick(r)]++;
    expect(counts.d).toBe(0);
    expect(Math.abs(counts.a - 70_000)).toBeLessThan(1000);
    expect(Math.abs(counts.b - 20_000)).toBeLessThan(800);
    expect(Math.abs(counts.c - 10_000)).toBeLessThan(600);
  });

  it('rejects all-zero or negative weights', () => {
    expect(() => weightedPicker({ a: 0, b: 0 })).toThrow(RangeError);
    expect(() => weightedPicker({ a: -1, b: 2 })).toThrow(RangeError);
  });
});
