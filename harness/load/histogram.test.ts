import { describe, expect, it } from 'vitest';
import { build, encodeIntoCompressedBase64 } from 'hdr-histogram-js';
import { LatencyHistogram, mergeSeconds, pendingIndex, pendingValue, PerSecondHistogram } from './histogram.ts';
import { seededRandom } from './random.ts';

// HDR with 3 significant digits: a value reads back within 0.1%.
const close = (actual: number | null, expected: number) => {
  expect(actual).not.toBeNull();
  expect(Math.abs(actual! - expected)).toBeLessThanOrEqual(expected * 0.001 + 0.001);
};

describe('LatencyHistogram', () => {
  it('reads percentiles of 1..10,000 µs back in ms', () => {
    const h = new LatencyHistogram();
    for (let us = 1; us <= 10_000; us++) h.recordMicros(us);
    const s = h.summary();
    close(s.p50, 5);
    close(s.p90, 9);
    close(s.p95, 9.5);
    close(s.p99, 9.9);
    close(s.p999, 9.99);
    close(s.max, 10);
    close(s.mean, 5.0005);
    expect(h.count).toBe(10_000);
  });

  it('sees a rare stall in the tail', () => {
    const h = new LatencyHistogram();
    for (let i = 0; i < 990; i++) h.recordMs(1);
    for (let i = 0; i < 10; i++) h.recordMs(500);
    close(h.summary().p50, 1);
    close(h.summary().p99, 1); // the 990th of 1000 values
    close(h.summary().p999, 500);
    close(h.summary().max, 500);
  });

  it('merges', () => {
    const a = new LatencyHistogram();
    const b = new LatencyHistogram();
    for (let i = 0; i < 100; i++) a.recordMs(1);
    for (let i = 0; i < 100; i++) b.recordMs(3);
    const m = LatencyHistogram.merged([a, b]);
    expect(m.count).toBe(200);
    close(m.summary().p50, 1);
    close(m.summary().p90, 3);
    close(m.summary().mean, 2);
  });

  it('is all null (unmeasured, never 0 ms) when empty, and keeps values beyond its initial range', () => {
    expect(new LatencyHistogram().summary()).toEqual({ p50: null, p90: null, p95: null, p99: null, p999: null, max: null, mean: null });
    const h = new LatencyHistogram();
    h.recordMs(120_000); // two minutes: past the 60 s it starts with
    close(h.summary().max, 120_000);
  });

  it('keeps a fixed footprint however many values it holds', () => {
    const h = new LatencyHistogram();
    for (let i = 0; i < 1000; i++) h.recordMicros(100 + i);
    const before = (h as unknown as { h: { estimatedFootprintInBytes: number } }).h.estimatedFootprintInBytes;
    for (let i = 0; i < 1_000_000; i++) h.recordMicros(100 + (i % 50_000));
    const after = (h as unknown as { h: { estimatedFootprintInBytes: number } }).h.estimatedFootprintInBytes;
    expect(after).toBe(before);
  });
});

describe('PerSecondHistogram', () => {
  it('rolls one second at a time', () => {
    const s = new PerSecondHistogram();
    for (let i = 1; i <= 100; i++) s.recordMicros(i * 1000);
    const first = s.roll();
    // 2 significant digits: within 1%
    expect(Math.abs(first.p50! - 50)).toBeLessThanOrEqual(0.5);
    expect(Math.abs(first.p99! - 99)).toBeLessThanOrEqual(1);
    expect(s.count).toBe(0);
    s.recordMicros(2000);
    expect(Math.abs(s.roll().p95! - 2)).toBeLessThanOrEqual(0.02); // 2 digits: within 1%
    expect(s.roll()).toEqual({ p50: null, p95: null, p99: null, max: null, hdr: null });
  });
});

describe('exact max, encodings and windows', () => {
  it('never reads a percentile above the exact max (HDR reads the top of a bucket)', () => {
    const h = new LatencyHistogram(2);
    // 2 digits: 1,234 µs sits in a bucket whose top is above it
    for (let i = 0; i < 100; i++) h.recordMicros(1234);
    const s = h.summary();
    expect(s.max).toBe(1.234);
    for (const k of ['p50', 'p90', 'p95', 'p99', 'p999', 'mean'] as const) expect(s[k]!).toBeLessThanOrEqual(s.max!);
    expect(h.percentileMs(99)!).toBeLessThanOrEqual(h.maxMs()!);
  });

  it('encodes and decodes a histogram exactly, max included', () => {
    const h = new LatencyHistogram(2);
    for (let us = 100; us <= 100_000; us += 37) h.recordMicros(us);
    const back = LatencyHistogram.decode(h.encode());
    expect(back.count).toBe(h.count);
    expect(back.summary()).toEqual(h.summary());
    expect(() => LatencyHistogram.decode('garbage')).toThrow();
  });

  it('merges a window of seconds exactly: the same as one histogram of all values', () => {
    const all = new LatencyHistogram(2);
    const seconds = [];
    for (let t = 0; t < 5; t++) {
      const s = new PerSecondHistogram();
      // one slow second among fast ones: its tail must survive the merge
      for (let i = 0; i < 200; i++) {
        const us = t === 3 ? 50_000 + i * 100 : 1000 + i;
        s.recordMicros(us);
        all.recordMicros(us);
      }
      seconds.push({ requests: 200, ...s.roll() });
    }
    const merged = mergeSeconds(seconds)!;
    expect(merged.count).toBe(1000);
    expect(merged.summary()).toEqual(all.summary());
    // an average of the seconds' p99s is far from it
    const avg = seconds.reduce((a, p) => a + p.p99!, 0) / seconds.length;
    expect(Math.abs(avg - merged.percentileMs(99)!)).toBeGreaterThan(10);
  });

  it('a window whose seconds have no responses merges to an empty histogram (null figures)', () => {
    const merged = mergeSeconds([{ requests: 10, hdr: null }])!;
    expect(merged.count).toBe(0);
    expect(merged.summary().p99).toBeNull();
    // seconds from older results carry no encoding: no exact merge is possible
    expect(mergeSeconds([{ requests: 10 }])).toBeNull();
  });
});

describe('pending counts (recordMicros without hdr-histogram-js per value)', () => {
  // What the library gives recording each value itself: the reference the fast path must equal.
  const reference = (digits: 2 | 3, values: number[]) => {
    const h = build({ bitBucketSize: 32, autoResize: true, lowestDiscernibleValue: 1, highestTrackableValue: 60_000_000, numberOfSignificantValueDigits: digits, useWebAssembly: false });
    for (const v of values) h.recordValue(v);
    return h;
  };
  const valuesOf = (seed: number) => {
    const rng = seededRandom(seed);
    const out: number[] = [0, 1, 2, 1023, 1024, 2047, 2048, 2049, 4095, 4096, 99_999, 2 ** 27 - 1, 2 ** 27, 2 ** 27 + 5, 59_999_999, 70_000_000];
    // log-uniform over 1 µs .. 100 s, the range latencies take
    for (let i = 0; i < 20_000; i++) out.push(Math.round(Math.exp(rng.next() * Math.log(1e8))));
    return out;
  };

  for (const digits of [2, 3] as const) {
    it(`gives the very histogram per-value recording gives (${digits} digits): encoding, percentiles, mean`, () => {
      const values = valuesOf(digits);
      const fast = new LatencyHistogram(digits);
      for (const v of values) fast.recordMicros(v);
      const ref = reference(digits, values);
      const max = Math.max(...values);
      expect(fast.encode()).toBe(`${max}:${encodeRef(ref)}`);
      expect(fast.count).toBe(values.length);
      for (const p of [0, 50, 90, 99, 99.9, 100]) expect(fast.percentileMs(p)).toBe(Math.min(ref.getValueAtPercentile(p), max) / 1000);
      expect(fast.summary().mean).toBe(Math.min(max / 1000, Math.round(ref.mean) / 1000));
    });
  }

  it('keeps counting after a read, a merge and a reset', () => {
    const a = new LatencyHistogram();
    const values = valuesOf(7);
    for (const v of values.slice(0, 500)) a.recordMicros(v);
    a.summary(); // flushes
    for (const v of values.slice(500, 1000)) a.recordMicros(v);
    const b = new LatencyHistogram();
    for (const v of values.slice(1000)) b.recordMicros(v);
    a.merge(b);
    expect(a.encode()).toBe(`${Math.max(...values)}:${encodeRef(reference(3, values))}`);
    a.reset();
    expect(a.count).toBe(0);
    expect(a.summary().p50).toBeNull();
    a.recordMicros(1500);
    expect(a.count).toBe(1);
    expect(a.percentileMs(50)).toBe(1.5);
  });

  it('maps each bucket index to a value with that index (negative control: the next bucket differs)', () => {
    for (const m of [7, 10]) {
      for (let i = 0; i < pendingIndex(2 ** 27 - 1, m); i++) expect(pendingIndex(pendingValue(i, m), m)).toBe(i);
      // 2 x half is the first value with a bucket of width 2: it and its neighbour share an index
      expect(pendingIndex(2 << m, m)).toBe(pendingIndex((2 << m) + 1, m));
      // ... and the last value of unit resolution sits in the index just before it
      expect(pendingIndex((2 << m) - 1, m) + 1).toBe(pendingIndex(2 << m, m));
      expect(pendingValue(pendingIndex((2 << m) + 1, m), m)).toBe(2 << m);
    }
  });
});

function encodeRef(h: ReturnType<typeof build>): string {
  return encodeIntoCompressedBase64(h);
}
