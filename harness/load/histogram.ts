// Latency histograms: HDR histograms (fixed memory, 3 significant digits) recording microseconds,
// read out in milliseconds. No raw sample is kept, so memory stays flat however long a run lasts.
import { build, decodeFromCompressedBase64, encodeIntoCompressedBase64, type Histogram } from 'hdr-histogram-js';
import type { Latency } from '../../reports/schema.ts';

// 60 s in microseconds covers every timeout the engine uses; autoResize keeps a rare larger
// value (a stalled drain) instead of throwing.
const INITIAL_HIGHEST_US = 60_000_000;

/**
 * An empty histogram's figures: null, not 0 — nothing was measured, and 0 ms would read as a very
 * fast system. Renderers print null as "n/a".
 */
export const EMPTY_LATENCY: Latency = Object.freeze({ p50: null, p90: null, p95: null, p99: null, p999: null, max: null, mean: null });

/**
 * Values below this (µs: 134 s, past every timeout the engine uses) are counted in the pending
 * array below; a larger one goes to the HDR histogram at once.
 */
const PENDING_LIMIT_US = 2 ** 27;

/** An HDR histogram of latencies: record in microseconds, read in milliseconds. */
export class LatencyHistogram {
  private readonly h: Histogram;
  /**
   * The exact largest value (µs). HDR reads a percentile as the top of its bucket, which can sit
   * above the largest value recorded; percentiles are clamped to this so none prints above max.
   */
  private maxUs = 0;
  /**
   * Recording at two values a request was ~2% of the engine's CPU in hdr-histogram-js's pure-JS
   * recordValue (Math.pow and Math.log2 per value). Values are counted here instead, at HDR's own
   * index (the same bucket and sub-bucket, with integer arithmetic), and handed to the HDR
   * histogram, one recordValueWithCount per bucket, before anything reads it: the histogram, its
   * encoding and its percentiles are exactly what recording each value would have given
   * (histogram.test.ts compares the encodings).
   */
  private pending: Uint32Array | null = null;
  /** log2 of HDR's sub-bucket half count (10 at 3 digits, 7 at 2) */
  private readonly halfMag: number;
  private pendingCount = 0;
  private pendingLo = Infinity;
  private pendingHi = -1;

  /** digits: significant decimal digits kept (3 = values within 0.1%; 2 = within 1%, 10x smaller) */
  constructor(digits: 2 | 3 = 3) {
    // The pure-JS build. WebAssembly records faster, but needs an async init and wasm memory that
    // every histogram would have to free by hand (destroy()); the pending counts cost less still.
    this.h = build({
      bitBucketSize: 32,
      autoResize: true,
      lowestDiscernibleValue: 1,
      highestTrackableValue: INITIAL_HIGHEST_US,
      numberOfSignificantValueDigits: digits,
      useWebAssembly: false,
    });
    // HDR: sub-bucket count = the power of two at or above 2 x 10^digits; its half's magnitude
    this.halfMag = Math.ceil(Math.log2(2 * 10 ** digits)) - 1;
  }

  /** Records one latency in microseconds (negative values, from clock skew, record as 0). */
  recordMicros(us: number): void {
    const v = us > 0 ? Math.round(us) : 0;
    if (v > this.maxUs) this.maxUs = v;
    if (v >= PENDING_LIMIT_US) {
      this.h.recordValue(v);
      return;
    }
    const i = pendingIndex(v, this.halfMag);
    // allocated on the first value (73 kB at 3 digits): a decoded or merged histogram needs none
    const p = this.pending ?? (this.pending = new Uint32Array(pendingIndex(PENDING_LIMIT_US - 1, this.halfMag) + 1));
    p[i]++;
    this.pendingCount++;
    if (i < this.pendingLo) this.pendingLo = i;
    if (i > this.pendingHi) this.pendingHi = i;
  }

  /** Hands the pending counts to the HDR histogram (each bucket's lowest value, with its count). */
  private flush(): void {
    if (this.pendingCount === 0) return;
    const p = this.pending!;
    for (let i = this.pendingLo; i <= this.pendingHi; i++) {
      const n = p[i];
      if (n !== 0) {
        this.h.recordValueWithCount(pendingValue(i, this.halfMag), n);
        p[i] = 0;
      }
    }
    this.pendingCount = 0;
    this.pendingLo = Infinity;
    this.pendingHi = -1;
  }

  /** Records one latency in milliseconds. */
  recordMs(ms: number): void {
    this.recordMicros(ms * 1000);
  }

  /** How many values were recorded. */
  get count(): number {
    return this.h.totalCount + this.pendingCount;
  }

  /** The value at percentile p (0..100), in milliseconds, at most the largest value; null when empty. */
  percentileMs(p: number): number | null {
    this.flush();
    return this.h.totalCount === 0 ? null : Math.min(this.h.getValueAtPercentile(p), this.maxUs) / 1000;
  }

  /** The largest value recorded, in milliseconds (exact); null when empty. */
  maxMs(): number | null {
    return this.count === 0 ? null : this.maxUs / 1000;
  }

  /** Adds every value of `other` into this one. */
  merge(other: LatencyHistogram): this {
    this.flush();
    other.flush();
    this.h.add(other.h);
    if (other.maxUs > this.maxUs) this.maxUs = other.maxUs;
    return this;
  }

  /** Forgets every value (the memory stays allocated for reuse). */
  reset(): void {
    this.flush(); // clears the pending counts (cheaper than a fill of the whole array)
    this.h.reset();
    this.maxUs = 0;
  }

  /**
   * The histogram as compressed base64 (HdrHistogram's own encoding, readable by every HDR
   * library) with the exact max in front: "<maxUs>:<base64>". A window of seconds is then merged
   * exactly from the seconds' encodings (decode + merge), never averaged.
   */
  encode(): string {
    this.flush();
    return `${this.maxUs}:${encodeIntoCompressedBase64(this.h)}`;
  }

  /** The histogram encode() wrote. Throws on a string it did not write. */
  static decode(text: string): LatencyHistogram {
    const colon = text.indexOf(':');
    const maxUs = Number(text.slice(0, colon));
    if (colon < 1 || !Number.isFinite(maxUs)) throw new Error('not an encoded latency histogram');
    const decoded = decodeFromCompressedBase64(text.slice(colon + 1), 32, false);
    const out = new LatencyHistogram(decoded.numberOfSignificantValueDigits === 2 ? 2 : 3);
    out.h.add(decoded);
    out.maxUs = maxUs;
    return out;
  }

  /** p50/p90/p95/p99/p999/max/mean in milliseconds, rounded to microseconds; all null when empty. */
  summary(): Latency {
    this.flush();
    if (this.h.totalCount === 0) return { ...EMPTY_LATENCY };
    const max = round3(this.maxUs / 1000);
    const at = (p: number) => Math.min(max, round3(this.h.getValueAtPercentile(p) / 1000));
    return {
      p50: at(50),
      p90: at(90),
      p95: at(95),
      p99: at(99),
      p999: at(99.9),
      max,
      mean: Math.min(max, round3(this.h.mean / 1000)),
    };
  }

  /** A new histogram holding the values of all of `parts`. */
  static merged(parts: Iterable<LatencyHistogram>): LatencyHistogram {
    const out = new LatencyHistogram();
    for (const p of parts) out.merge(p);
    return out;
  }
}

/**
 * HDR's counts index of v (unit magnitude 0, lowest discernible value 1): bucket b = max(0,
 * floor(log2 v) - halfMag), sub-bucket v >> b, index (b << halfMag) + (v >> b). v < 2^31.
 */
export function pendingIndex(v: number, halfMag: number): number {
  const b = Math.max(0, 31 - Math.clz32(v) - halfMag);
  return (b << halfMag) + (v >>> b);
}

/** The lowest value at counts index i: pendingIndex of it is i again. */
export function pendingValue(i: number, halfMag: number): number {
  if (i < 2 << halfMag) return i; // bucket 0 holds 0 .. 2 x half - 1 at unit resolution
  const b = (i >>> halfMag) - 1;
  return (i - (b << halfMag)) * 2 ** b;
}

function round3(x: number): number {
  return Math.round(x * 1000) / 1000;
}

/** A closed second: its percentiles and exact max (null when nothing was recorded), and its encoding. */
export interface SecondFigures {
  p50: number | null;
  p95: number | null;
  p99: number | null;
  max: number | null;
  /** LatencyHistogram.encode() of the second; null when empty */
  hdr: string | null;
}

/**
 * One histogram per second of load, reused: record() goes to the current second; roll() closes it
 * and hands its summary and its encoding out. Only the current second's buckets are held in memory;
 * the encodings (a few hundred bytes a second) let any window be merged exactly afterwards.
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

  /** The closed second's p50/p95/p99 and max (ms) and its encoding, then a fresh second. */
  roll(): SecondFigures {
    const c = this.current;
    const at = (p: number) => {
      const v = c.percentileMs(p);
      return v === null ? null : round3(v);
    };
    const max = c.maxMs();
    const out: SecondFigures = { p50: at(50), p95: at(95), p99: at(99), max: max === null ? null : round3(max), hdr: c.count > 0 ? c.encode() : null };
    c.reset();
    return out;
  }
}

/**
 * The latency histogram of a window of seconds, merged exactly from each second's encoding (see
 * SeriesPoint.hdr). null when a second that completed requests carries no encoding (results
 * written before encodings existed): the window cannot be merged, and no figure is better than an
 * averaged one.
 */
export function mergeSeconds(points: Iterable<{ requests: number; hdr?: string | null }>): LatencyHistogram | null {
  const out = new LatencyHistogram(2);
  for (const p of points) {
    if (p.hdr) out.merge(LatencyHistogram.decode(p.hdr));
    else if (p.requests > 0 && p.hdr === undefined) return null;
  }
  return out;
}
