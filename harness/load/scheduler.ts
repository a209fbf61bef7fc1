// The open-model schedule: when each request is due, whatever the server does. Stages describe a
// piecewise-linear arrival rate; the k-th request (k = 1, 2, ...) is due at the instant the integral
// of the rate reaches k. The engine asks "what is due by now?" and sends it; how late it is doing
// so (lag) is measured here and reported, never hidden by skipping or re-timing requests.
import type { Stage } from '../../reports/schema.ts';

/** A monotonic millisecond clock; injected so the scheduler runs on virtual time in tests. */
export interface Clock {
  now(): number;
}

/** The process's monotonic clock (performance.now(), sub-millisecond). */
export const systemClock: Clock = { now: () => performance.now() };

interface Segment {
  /** seconds since the start */
  t0: number;
  t1: number;
  /** rate at t0 and t1 (req/s) */
  r0: number;
  r1: number;
  /** requests due before t0 (the integral up to t0) */
  a0: number;
  /** the integral over this segment */
  count: number;
}

// Float sums of segment integrals can land a hair under an integer (9.999999999 for 10): a
// request due exactly at a stage's end must still count.
const EPS = 1e-9;

/** The arrival-rate curve of a list of stages and the due time of every request on it. */
export class ArrivalSchedule {
  readonly durationS: number;
  /** how many requests the whole schedule sends */
  readonly totalRequests: number;
  private readonly segments: Segment[] = [];

  /**
   * Stages follow k6's ramping-arrival-rate: each ramps linearly from the rate the previous one
   * ended at (the first from `startRate`) to its targetRate; a stage of zero duration jumps.
   */
  constructor(stages: readonly Stage[], startRate = 0) {
    let t = 0;
    let rate = startRate;
    let a = 0;
    for (const stage of stages) {
      if (!(stage.durationS >= 0) || !Number.isFinite(stage.durationS)) {
        throw new RangeError(`stage durationS must be >= 0, got ${stage.durationS}`);
      }
      if (!(stage.targetRate >= 0) || !Number.isFinite(stage.targetRate)) {
        throw new RangeError(`stage targetRate must be >= 0, got ${stage.targetRate}`);
      }
      if (stage.durationS > 0) {
        const count = ((rate + stage.targetRate) / 2) * stage.durationS;
        this.segments.push({ t0: t, t1: t + stage.durationS, r0: rate, r1: stage.targetRate, a0: a, count });
        a += count;
        t += stage.durationS;
      }
      rate = stage.targetRate;
    }
    this.durationS = t;
    this.totalRequests = Math.floor(a + EPS);
  }

  /** The arrival rate the schedule asks for at tS seconds (0 outside it). */
  rateAt(tS: number): number {
    for (const s of this.segments) {
      if (tS >= s.t0 && tS < s.t1) return s.r0 + ((s.r1 - s.r0) * (tS - s.t0)) / (s.t1 - s.t0);
    }
    return 0;
  }

  /** Requests due by tS seconds: the integral of the rate from 0 to tS. */
  countAt(tS: number): number {
    let total = 0;
    for (const s of this.segments) {
      if (tS >= s.t1) {
        total = s.a0 + s.count;
        continue;
      }
      if (tS > s.t0) {
        const tau = tS - s.t0;
        const slope = (s.r1 - s.r0) / (s.t1 - s.t0);
        return s.a0 + s.r0 * tau + (slope * tau * tau) / 2;
      }
      return total;
    }
    return total;
  }

  /** A cursor over due times in seconds, in order: 1st, 2nd, ... request (of `part` only, when given). */
  cursor(part: SchedulePart = WHOLE): DueCursor {
    return new DueCursor(this.segments, this.totalRequests, part);
  }

  /** How many of the first `n` requests `part` owns. */
  static ownedOf(n: number, part: SchedulePart): number {
    return n > part.index ? Math.floor((n - 1 - part.index) / part.count) + 1 : 0;
  }
}

/**
 * One of `count` equal execution segments of the arrival sequence (0, 1/N, 2/N, ..., 1 in k6's
 * terms). k6 stripes equal segments round-robin over the iterations, and so does this: part i owns
 * the requests k = i+1, i+1+N, i+1+2N, ... (k counted from 1), so the N parts' due times are,
 * together, exactly the whole schedule's, and each part's share of any window is within one
 * request of 1/N of it.
 */
export interface SchedulePart {
  index: number;
  count: number;
}

export const WHOLE: SchedulePart = Object.freeze({ index: 0, count: 1 });

/** Walks the due times of a schedule one request at a time, O(1) per request. */
export class DueCursor {
  private k: number;
  private seg = 0;
  /** how many requests this part owns in the whole schedule */
  readonly owned: number;

  constructor(
    private readonly segments: readonly Segment[],
    private readonly total: number,
    private readonly part: SchedulePart = WHOLE,
  ) {
    this.k = part.index + 1;
    this.owned = ArrivalSchedule.ownedOf(total, part);
  }

  /** how many requests were handed out so far */
  get taken(): number {
    return (this.k - 1 - this.part.index) / this.part.count;
  }

  /** the index in the whole schedule (from 1) of the request peek() returns */
  get index(): number {
    return this.k;
  }

  /** The next request's due time in seconds without consuming it; Infinity when none is left. */
  peek(): number {
    if (this.k > this.total) return Infinity;
    while (this.seg < this.segments.length) {
      const s = this.segments[this.seg];
      const m = this.k - s.a0;
      if (m <= s.count + EPS) return s.t0 + solveOffset(s, Math.min(m, s.count));
      this.seg++;
    }
    return Infinity;
  }

  /** Consumes the request peek() returned. */
  advance(): void {
    this.k += this.part.count;
  }
}

// The offset tau into a segment at which the integral reaches m: solves r0*tau + slope*tau^2/2 = m.
// Written as 2m / (r0 + sqrt(r0^2 + 2*slope*m)), which stays accurate when slope is ~0 and never
// divides by zero for a ramp that starts at rate 0.
function solveOffset(s: Segment, m: number): number {
  const slope = (s.r1 - s.r0) / (s.t1 - s.t0);
  if (slope === 0) return m / s.r0;
  const disc = Math.max(0, s.r0 * s.r0 + 2 * slope * m);
  const tau = (2 * m) / (s.r0 + Math.sqrt(disc));
  return Math.min(tau, s.t1 - s.t0);
}

export interface SchedulerOptions {
  /** lag above this counts as falling behind (default 100 ms: well past a GC pause or a 1 ms timer's jitter) */
  lagThresholdMs?: number;
  /** falling behind for this long continuously marks the generator saturated (default 2,000 ms) */
  sustainMs?: number;
  /**
   * whether the generator has free in-flight slots right now (default: always). Lag that grows
   * while slots are free is the generator's own limit (its CPU), not the system's: see `limited`.
   */
  freeSlots?: () => boolean;
  /** the part of the schedule this scheduler hands out (default: all of it) */
  part?: SchedulePart;
}

/** What the scheduler says about its own timeliness. */
export interface LagReport {
  /** the largest lag seen: how late a request was handed out vs its due time */
  maxLagMs: number;
  /** lag stayed above the threshold for sustainMs: the results understate the offered load */
  saturated: boolean;
  /**
   * lag stayed above the threshold for sustainMs while in-flight slots were free the whole time:
   * the generator itself held the load back, so the run cannot judge the system (INCONCLUSIVE)
   */
  limited: boolean;
}

/**
 * Hands out due requests against a clock. Late requests are still handed out (all of them, oldest
 * first) with their original due time, so latency measured from it includes the lateness.
 */
export class Scheduler {
  private readonly cursor: DueCursor;
  private readonly lag: LagTracker;
  private startMs = NaN;
  private stopped = false;

  constructor(
    readonly schedule: ArrivalSchedule,
    private readonly clock: Clock,
    options: SchedulerOptions = {},
  ) {
    this.cursor = schedule.cursor(options.part);
    this.lag = new LagTracker(options);
  }

  /** Starts the schedule's time 0 at atMs (default: now). */
  start(atMs: number = this.clock.now()): void {
    this.startMs = atMs;
  }

  get startedAtMs(): number {
    return this.startMs;
  }

  /** How many requests were handed out. */
  get sent(): number {
    return this.cursor.taken;
  }

  /** How many requests this scheduler's part of the schedule holds. */
  get owned(): number {
    return this.cursor.owned;
  }

  /** Every request was handed out, or stop() was called. */
  get done(): boolean {
    return this.stopped || this.cursor.peek() === Infinity;
  }

  /** The next request's due time (clock ms); Infinity when done. */
  nextDueMs(): number {
    if (this.stopped) return Infinity;
    const t = this.cursor.peek();
    return t === Infinity ? Infinity : this.startMs + t * 1000;
  }

  /** Stops handing out requests (abort); lag stays as measured. */
  stop(): void {
    this.stopped = true;
  }

  /**
   * Calls send(dueMs, k, now) for each request due by now (k: its index in the whole schedule, from
   * 1; now: the clock read once for the batch), oldest first, at most `max` of them (so one call
   * cannot monopolise the event loop after a long stall); returns how many it handed out.
   */
  drain(send: (dueMs: number, k: number, now: number) => void, max = Infinity): number {
    if (Number.isNaN(this.startMs)) throw new Error('Scheduler.drain() before start()');
    if (this.stopped) return 0;
    const now = this.clock.now();
    let n = 0;
    let first = true;
    while (n < max) {
      const t = this.cursor.peek();
      if (t === Infinity) break;
      const dueMs = this.startMs + t * 1000;
      if (dueMs > now) break;
      if (first) {
        this.lag.observe(now - dueMs, now);
        first = false;
      }
      const k = this.cursor.index;
      this.cursor.advance();
      send(dueMs, k, now);
      n++;
    }
    if (first) this.lag.observe(0, now);
    return n;
  }

  /** The lag right now: how far the oldest request not yet handed out is past its due time. */
  currentLagMs(): number {
    const due = this.nextDueMs();
    return due === Infinity ? 0 : Math.max(0, this.clock.now() - due);
  }

  /** The largest lag since the previous call (for a per-second gauge). */
  takeWindowMaxLagMs(): number {
    return Math.max(this.lag.takeWindowMax(), this.currentLagMs());
  }

  /** The run's lag figures; folds in a backlog that is waiting right now. */
  report(): LagReport {
    const pending = this.currentLagMs();
    if (pending > 0) this.lag.observe(pending, this.clock.now());
    return this.lag.report();
  }
}

/**
 * Turns a stream of lag samples (how late something due went out) into the figures of a LagReport.
 * The scheduler feeds it the lateness of handing requests out; the engine keeps a second one for
 * the wait of requests queued behind its connection cap, so both kinds of lateness are judged alike.
 */
export class LagTracker {
  private readonly lagThresholdMs: number;
  private readonly sustainMs: number;
  private readonly freeSlots: () => boolean;
  private maxLag = 0;
  private windowMaxLag = 0;
  private behindSinceMs: number | null = null;
  private saturatedFlag = false;
  private behindWithFreeSlotsSinceMs: number | null = null;
  private limitedFlag = false;

  constructor(options: SchedulerOptions = {}) {
    this.lagThresholdMs = options.lagThresholdMs ?? 100;
    this.sustainMs = options.sustainMs ?? 2000;
    this.freeSlots = options.freeSlots ?? (() => true);
  }

  /** The largest lag since the previous call. */
  takeWindowMax(): number {
    const v = this.windowMaxLag;
    this.windowMaxLag = 0;
    return v;
  }

  report(): LagReport {
    return { maxLagMs: this.maxLag, saturated: this.saturatedFlag, limited: this.limitedFlag };
  }

  /** One sample: `lag` ms late at clock time `now` (0 when nothing is late). */
  observe(lag: number, now: number): void {
    if (lag > this.maxLag) this.maxLag = lag;
    if (lag > this.windowMaxLag) this.windowMaxLag = lag;
    if (lag > this.lagThresholdMs) {
      // Behind since the moment this lag crossed the threshold, so one long stall counts in full.
      const fresh = this.behindSinceMs === null;
      if (fresh) this.behindSinceMs = now - (lag - this.lagThresholdMs);
      if (now - this.behindSinceMs! >= this.sustainMs) this.saturatedFlag = true;
      if (this.freeSlots()) {
        // A fresh stall counts in full; lag carried over from a moment the cap was full counts
        // only from now, as only from now is it the generator's own.
        if (this.behindWithFreeSlotsSinceMs === null) this.behindWithFreeSlotsSinceMs = fresh ? this.behindSinceMs! : now;
        if (now - this.behindWithFreeSlotsSinceMs >= this.sustainMs) this.limitedFlag = true;
      } else {
        // The in-flight cap is full: what is late is the system's doing, not the generator's.
        this.behindWithFreeSlotsSinceMs = null;
      }
    } else {
      this.behindSinceMs = null;
      this.behindWithFreeSlotsSinceMs = null;
    }
  }
}
