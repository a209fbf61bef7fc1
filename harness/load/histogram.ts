// Latency histograms: HDR histograms (fixed memory, 3 significant digits) recording microseconds,
// read out in milliseconds. No raw sample is kept, so memory stays flat however long a run lasts.
import { build, type Histogram } from 'hdr-histogram-js';
import type { Latency } from '../../reports/schema.ts';

// 60 s in microseconds covers every timeout the engine uses; autoResize keeps a rare larger
// value (a stalled drain) instead of throwing.
const INITIAL_HIGHEST_US = 60_000_000;

/** Milliseconds for an empty histogram: zeros, so a renderer never sees NaN. */
export const EMPTY_LATENCY: Latency = Object.freeze({ p50: 0, p90: 0, p95: 0, p99: 0, p999: 0, max: 0, mean: 0 });

/** An HDR histogram of latencies: record in microseconds, read in milliseconds. */
export class LatencyHistogram {
  private readonly h: Histogram;

  /** digits: significant decimal digits kept (3 = values within 0.1%; 2 = within 1%, 10x smaller) */
  constructor(digits: 2 | 3 = 3) {
    // The pure-JS build. WebAssembly records faster (measured ~15 ns vs ~85 ns a value), but at
    // two records a request and 20k req/s that is 0.3% of a core, not worth an async init and
    // wasm memory that every histogram would have to free by hand (destroy()).
    this.h = build({
      bitBucketSize: 32,
      autoResize: true,
      lowestDiscernibleValue: 1,
      highestTrackableValue: INITIAL_HIGHEST_US,
      numberOfSignificantValueDigits: digits,
      useWebAssembly: false,
    });
  }

  /** Records one latency in microseconds (negative values, from clock skew, record as 0). */
  recordMicros(us: number): void {
    this.h.recordValue(us > 0 ? Math.round(us) : 0);
  }

  /** Records one latency in milliseconds. */
  recordMs(ms: number): void {
    this.recordMicros(ms * 1000);
  }

  /** How many values were recorded. */
  get count(): number {
    return this.h.totalCount;
  }

  /** The value at percentile p (0..100), in milliseconds. */
  percentileMs(p: number): number {
    return this.h.totalCount === 0 ? 0 : this.h.getValueAtPercentile(p) / 1000;
  }

  /** Adds every value of `other` into this one. */
  merge(other: LatencyHistogram): this {
    this.h.add(other.h);
    return this;
  }

  /** Forgets every value (the memory stays allocated for reuse). */
  reset(): void {
    this.h.reset();
  }

  /** p50/p90/p95/p99/p999/max/mean in milliseconds, rounded to microseconds. */
  summary(): Latency {
    if (this.h.totalCount === 0) return { ...EMPTY_LATENCY };
    const at = (p: number) => round3(this.h.getValueAtPercentile(p) / 1000);
    return {
      p50: at(50),
      p90: at(90),
      p95: at(95),
      p99: at(99),
      p999: at(99.9),
      max: round3(this.h.maxValue / 1000),
      mean: round3(this.h.mean / 1000),
    };
  }

  /** A new histogram holding the values of all of `parts`. */
  static merged(parts: Iterable<LatencyHistogram>): LatencyHistogram {
    const out = new LatencyHistogram();
    for (const p of parts) out.merge(p);
    return out;
  }
}

function round3(x: number): number {
  return Math.round(x * 1000) / 1000;
}

/**
 * One histogram per second of load, reused: record() goes to the current second; roll() closes it
 * and hands its summary out. Only the current second's buckets are held.
 */
export class PerSecondHistogram {
  // 2 digits: a live per-second p99 needs 1%, and reading three percentiles plus a reset every
  // second walks 10x fewer buckets than at 3 digits.
  private readonly current = new LatencyHistogram(2);

  recordMicros(us: number): void {
    this.current.recordMicros(us);
  }

  get count(): number {
    return this.current.count;
  }

  /** The closed second's p50/p95/p99 (ms), then a fresh second. */
  roll(): { p50: number; p95: number; p99: number } {
    const out = {
      p50: round3(this.current.percentileMs(50)),
      p95: round3(this.current.percentileMs(95)),
      p99: round3(this.current.percentileMs(99)),
    };
    this.current.reset();
    return out;
  }
}
