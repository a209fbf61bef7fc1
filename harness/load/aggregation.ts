// What the engine measured, as it goes: per-type counts and latency histograms, the histogram of
// failures that got no answer, per-shard counts, status codes, error kinds and the per-second
// series. The engine classifies each finished request and hands it here; this file only counts
// (no clock of its own: the engine passes `now`), and assembles the counting part of LoadResults.
import type { LoadResults, SeriesPoint } from '../../reports/schema.ts';
import { LatencyHistogram, PerSecondHistogram } from './histogram.ts';

interface TypeStats {
  requests: number;
  errors: number;
  /** failed with no response (timeout, refused, reset, aborted) */
  noResponse: number;
  /** latency of the requests that got a response */
  hist: LatencyHistogram;
}

export class Aggregation {
  requests = 0;
  ok = 0;
  errors = 0;
  dropped = 0;
  private readonly stats: TypeStats[];
  /** time to failure of requests that got no response: apart, so it never reads as a latency */
  private readonly failureHist = new LatencyHistogram();
  /** per shard: totals and this second's counts */
  private readonly shardRequests: number[];
  private readonly shardErrors: number[];
  private readonly secShardRequests: number[];
  private readonly secShardErrors: number[];
  private readonly statusCodes = new Map<number, number>();
  private readonly errorKinds = new Map<string, number>();
  private readonly series: SeriesPoint[] = [];
  private readonly secondHist = new PerSecondHistogram();
  private startMs = 0;
  // The second being accumulated (index since start) and its counters.
  private second = 0;
  private secRequests = 0;
  private secErrors = 0;
  private secDropped = 0;

  constructor(
    /** the type names, in the engine's index order */
    private readonly typeNames: readonly string[],
    private readonly shardNames: readonly string[] | undefined,
    /** the schedule's requests due in second t (the series' targetRate) */
    private readonly targetRate: (t: number) => number,
    /** called with each second's point once it is closed */
    private readonly onPoint: (point: SeriesPoint) => void,
  ) {
    this.stats = typeNames.map(() => ({ requests: 0, errors: 0, noResponse: 0, hist: new LatencyHistogram() }));
    const n = shardNames?.length ?? 0;
    this.shardRequests = new Array<number>(n).fill(0);
    this.shardErrors = new Array<number>(n).fill(0);
    this.secShardRequests = new Array<number>(n).fill(0);
    this.secShardErrors = new Array<number>(n).fill(0);
  }

  start(startMs: number): void {
    this.startMs = startMs;
  }

  /**
   * A finished request of type `type`: `status` 0 when no answer came (its time to failure goes to
   * the failure histogram), `errorKind` null when it succeeded; `shard` -1 when not counted per shard.
   */
  finished(type: number, status: number, errorKind: string | null, shard: number, latencyUs: number): void {
    const stats = this.stats[type];
    stats.requests++;
    this.requests++;
    this.secRequests++;
    const failed = errorKind !== null;
    if (failed) this.errorKinds.set(errorKind, (this.errorKinds.get(errorKind) ?? 0) + 1);
    if (status !== 0) this.statusCodes.set(status, (this.statusCodes.get(status) ?? 0) + 1);
    if (shard >= 0) {
      this.shardRequests[shard]!++;
      this.secShardRequests[shard]!++;
      if (failed) {
        this.shardErrors[shard]!++;
        this.secShardErrors[shard]!++;
      }
    }
    if (failed) {
      this.errors++;
      this.secErrors++;
      stats.errors++;
    } else {
      this.ok++;
    }
    if (status !== 0) {
      stats.hist.recordMicros(latencyUs);
      this.secondHist.recordMicros(latencyUs);
    } else {
      // No response came: a 5 s timeout, a 1 ms refusal. Apart, so a window with no answer reports null.
      stats.noResponse++;
      this.failureHist.recordMicros(latencyUs);
    }
  }

  /** `n` requests due and never sent (the in-flight cap, a cut backlog, the end of the run). */
  droppedSome(n: number): void {
    this.dropped += n;
    this.secDropped += n;
  }

  /** Closes the second(s) before `now`: emits their points (empty seconds included). */
  rollTo(now: number): void {
    const idx = Math.floor((now - this.startMs) / 1000);
    while (this.second < idx) this.emitSecond();
  }

  /** The last, partial second, so the series accounts for every request. */
  flush(now: number): void {
    this.rollTo(now);
    if (this.secRequests + this.secErrors + this.secDropped > 0) this.emitSecond();
  }

  private emitSecond(): void {
    const t = this.second;
    const { p50, p95, p99, max, hdr } = this.secondHist.roll();
    const point: SeriesPoint = { t, requests: this.secRequests, errors: this.secErrors, dropped: this.secDropped, targetRate: round2(this.targetRate(t)), p50, p95, p99, max, hdr };
    const names = this.shardNames;
    if (names && names.length > 0) {
      point.shards = {};
      for (let i = 0; i < names.length; i++) {
        point.shards[names[i]!] = { requests: this.secShardRequests[i]!, errors: this.secShardErrors[i]! };
        this.secShardRequests[i] = this.secShardErrors[i] = 0;
      }
    }
    this.series.push(point);
    this.second++;
    this.secRequests = this.secErrors = this.secDropped = 0;
    this.onPoint(point);
  }

  /** The counting part of results.json: `sent` names the types reported (those the mix weighs). */
  results(sent: readonly number[], durationS: number): Pick<LoadResults, 'totals' | 'latencyMs' | 'failureMs' | 'shards' | 'endpoints' | 'statusCodes' | 'errorKinds' | 'series'> {
    const endpoints: LoadResults['endpoints'] = {};
    for (const i of sent) {
      const s = this.stats[i];
      endpoints[this.typeNames[i]] = { requests: s.requests, errors: s.errors, latencyMs: s.hist.summary(), noResponse: s.noResponse };
    }
    // merged histograms, never averaged percentiles
    const all = LatencyHistogram.merged(this.stats.map((s) => s.hist));
    const offered = this.requests + this.dropped;
    const names = this.shardNames;
    const shards = names && names.length > 0 ? Object.fromEntries(names.map((n, i) => [n, { requests: this.shardRequests[i]!, errors: this.shardErrors[i]! }])) : undefined;
    return {
      totals: {
        requests: this.requests,
        ok: this.ok,
        errors: this.errors,
        dropped: this.dropped,
        throughputRps: durationS > 0 ? round2(this.requests / durationS) : 0,
        errorRate: this.requests > 0 ? this.errors / this.requests : 0,
        failRate: offered > 0 ? (this.errors + this.dropped) / offered : null,
      },
      latencyMs: all.summary(),
      failureMs: this.failureHist.summary(),
      ...(shards ? { shards } : {}),
      endpoints,
      statusCodes: Object.fromEntries([...this.statusCodes].sort((a, b) => a[0] - b[0]).map(([c, n]) => [String(c), n])),
      errorKinds: Object.fromEntries(this.errorKinds),
      series: this.series,
    };
  }
}

export function round2(x: number): number {
  return Math.round(x * 100) / 100;
}
