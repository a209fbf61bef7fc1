// The backlog's figures on made-up series: a queue that keeps up, a burst that drains, one that
// never drains, a growing backlog, and the slope's least squares checked on exact lines.
import { describe, expect, it } from 'vitest';
import { backlogSection, backlogSlope, counterRate, drainAfterBurst, leastSquaresSlope } from './backlog.ts';
import { QueueSection, type QueueSample } from './results.ts';

/** One sample a second for t = 0..n-1 with depth f(t). */
const series = (n: number, f: (t: number) => number | null): QueueSample[] =>
  Array.from({ length: n }, (_, t) => {
    const depth = f(t);
    return { t, ready: depth, unacked: depth === null ? null : 0, depth, ackRate: null };
  });

const burst = { factor: 5, startS: 20, lengthS: 10 };

describe('leastSquaresSlope', () => {
  it('fits an exact line, a flat one, and refuses too few points', () => {
    expect(leastSquaresSlope([[0, 1], [1, 3], [2, 5], [3, 7]])).toBeCloseTo(2, 12);
    expect(leastSquaresSlope([[0, 4], [1, 4], [2, 4]])).toBe(0);
    expect(leastSquaresSlope([[0, 1], [1, 2]])).toBeNull();
    expect(leastSquaresSlope([[5, 1], [5, 2], [5, 3]])).toBeNull();
    // noise around a slope of -0.5
    expect(leastSquaresSlope([[0, 10], [1, 10], [2, 9], [3, 8], [4, 8]])).toBeCloseTo(-0.6, 12);
  });
});

describe('backlogSlope', () => {
  it('calls a steadily growing backlog growing, with its rate', () => {
    const s = backlogSlope(series(60, (t) => 10 * t), 60);
    expect(s.perS).toBeCloseTo(10, 9);
    expect(s.growing).toBe(true);
    expect(s.samples).toBe(30);
  });

  it('does not call a queue that jitters by a few messages growing', () => {
    const s = backlogSlope(series(60, (t) => (t % 3) * 2), 60);
    expect(s.growing).toBe(false);
    // a slow rise under the floor (0.1 message/s over 29 s) is not growth either
    expect(backlogSlope(series(60, (t) => 100 + 0.1 * t), 60).growing).toBe(false);
  });

  it("looks only at the load's last 30 s, not at the drain after it", () => {
    // rising during the load's last 30 s, then falling fast after the load ended at t=60
    const s = backlogSlope(series(90, (t) => (t < 60 ? 5 * t : 300 - 20 * (t - 60))), 60);
    expect(s.perS).toBeCloseTo(5, 9);
    expect(s.growing).toBe(true);
  });

  it('is null with too few depths (broker unreachable)', () => {
    const s = backlogSlope(series(60, (t) => (t < 58 ? null : 3)), 60);
    expect(s).toEqual({ windowS: 30, perS: null, growing: null, samples: 2 });
  });
});

describe('drainAfterBurst', () => {
  it("measures from the burst's end to the first depth back at the pre-burst level", () => {
    // steady at 2-4, the burst piles up 40/s, workers drain it at 20/s after
    const s = series(80, (t) => (t < 20 ? 2 + (t % 3) : t < 30 ? 4 + 40 * (t - 19) : Math.max(3, 404 - 20 * (t - 30))));
    const d = drainAfterBurst(s, burst);
    expect(d.preBurstDepth).toBe(4);
    // 404 - 20 (t - 30) <= 4 first at t = 50
    expect(d.drainS).toBe(20);
    expect(d.drainNote).toBeNull();
  });

  it('is null with why when the backlog never drains', () => {
    const s = series(70, (t) => (t < 20 ? 1 : 1 + 30 * (t - 19)));
    const d = drainAfterBurst(s, burst);
    expect(d.drainS).toBeNull();
    expect(d.drainNote).toMatch(/^never back to the pre-burst depth 1 within the 39 s sampled after the burst \(depth 1501 at the end\)/);
  });

  it('is 0 when the burst left no backlog, null without a burst', () => {
    expect(drainAfterBurst(series(40, () => 2), burst).drainS).toBe(0);
    expect(drainAfterBurst(series(40, () => 2), null)).toEqual({ preBurstDepth: null, drainS: null, drainNote: 'no --burst in this run' });
  });

  it('counts a burst from t=0 against an empty queue', () => {
    const d = drainAfterBurst(series(30, (t) => (t < 5 ? 50 * (t + 1) : Math.max(0, 250 - 50 * (t - 5)))), { factor: 3, startS: 0, lengthS: 5 });
    expect(d.preBurstDepth).toBe(0);
    expect(d.drainS).toBe(5);
  });
});

describe('backlogSection', () => {
  it('builds a section results.json accepts, peak included', () => {
    const s = series(50, (t) => (t < 20 ? 0 : t < 30 ? 30 * (t - 19) : Math.max(0, 300 - 30 * (t - 30))));
    const q = backlogSection({ queue: 'jobs.video', source: 'test', series: s, durationS: 40, burst, afterLoad: { boundS: 60, sampledS: 10, drained: true } });
    expect(QueueSection.parse(q)).toEqual(q);
    expect([q.peakDepth, q.peakAtS]).toEqual([300, 29]);
    expect(q.drainS).toBe(10);
    expect(q.slope.perS).not.toBeNull();
  });

  it('has null figures, never zeros, when nothing was measured', () => {
    const q = backlogSection({ queue: 'jobs.video', source: 'test', series: series(40, () => null), durationS: 40, burst, afterLoad: { boundS: 60, sampledS: 0, drained: false } });
    expect([q.peakDepth, q.peakAtS, q.drainS, q.slope.perS, q.slope.growing]).toEqual([null, null, null, null, null]);
    expect(q.drainNote).toMatch(/no depth sampled/);
  });
});

describe('counterRate', () => {
  it('is the per-second difference, null across a reset or the first reading', () => {
    expect(counterRate({ t: 1, value: 100 }, { t: 3, value: 160 })).toBe(30);
    expect(counterRate({ t: 1, value: 100 }, { t: 2, value: 5 })).toBeNull();
    expect(counterRate(null, { t: 2, value: 5 })).toBeNull();
    expect(counterRate({ t: 1, value: 100 }, null)).toBeNull();
  });
});
