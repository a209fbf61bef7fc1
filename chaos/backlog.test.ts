import { describe, expect, it } from 'vitest';
import { backlogFigures, backlogSeries, backlogSlope } from './backlog.ts';
import type { JobTimes } from './ledger-read.ts';

const job = (acceptedS: number, doneS: number | null, deadLettered = false): JobTimes => ({ acceptedMs: acceptedS * 1000, doneMs: doneS === null ? null : doneS * 1000, deadLettered });

/** One job accepted every `every` s from `from` to `to`, each done `takes` s later (or at `doneAt(t)`). */
function steady(from: number, to: number, every: number, doneAt: (t: number) => number): JobTimes[] {
  const out: JobTimes[] = [];
  for (let t = from; t < to - 1e-9; t += every) out.push(job(t, doneAt(t)));
  return out;
}

describe('backlog series', () => {
  it('counts a job from its acceptance until its side effect; a dead-lettered one is left out, a pending one stays', () => {
    const jobs = [job(1, 3), job(2, null), job(2, null, true)];
    expect(backlogSeries(jobs, 0, 4000, 1000).map((p) => p.backlog)).toEqual([0, 1, 2, 1, 1]);
  });
});

describe('backlog slope (least squares, jobs/s)', () => {
  it('is the rate of growth of a growing backlog, 0 of a flat one, negative while draining', () => {
    const pts = (f: (s: number) => number) => Array.from({ length: 11 }, (_, i) => ({ tMs: i * 1000, backlog: f(i) }));
    expect(backlogSlope(pts((s) => 3 * s + 2))).toBeCloseTo(3);
    expect(backlogSlope(pts(() => 4))).toBeCloseTo(0);
    expect(backlogSlope(pts((s) => 20 - 2 * s))).toBeCloseTo(-2);
    expect(backlogSlope([{ tMs: 0, backlog: 1 }])).toBeNull();
  });
});

describe('backlog figures around a fault', () => {
  // 4 uploads/s from 0 to 40 s; each done 0.5 s after acceptance except while the workers are
  // stopped (10-20 s): those wait for the restart at 20 s, then drain at 8 jobs/s
  const stopped = (t: number) => t >= 10 && t < 20;
  const arrivals = steady(0, 40, 0.25, (t) => t + 0.5);
  const queued = arrivals.filter((j) => stopped(j.acceptedMs / 1000));
  const drained = new Map(queued.map((j, i) => [j, 20 + (i + 1) / 8]));
  const jobs = arrivals.map((j) => (drained.has(j) ? { ...j, doneMs: drained.get(j)! * 1000 } : j));
  const w = { startMs: 10_000, endMs: 20_000, untilMs: 45_000, loadStartMs: 0 };

  it('workers stopped: the backlog grows at the arrival rate, and drains after the restart', () => {
    const f = backlogFigures(jobs, w);
    expect(f.preFaultBacklog).toBe(2); // two jobs in flight (0.5 s each at 4/s)
    expect(f.backlogAtFaultEnd).toBe(41); // 10 s of 4/s, none done, and the one accepted at 20 s itself
    expect(f.slopeDuringFault!).toBeCloseTo(4, 0);
    expect(f.backlogDetectS).toBeLessThanOrEqual(0.5);
    // the 40 queued jobs go at 8/s, the new ones (4/s) as before: back to 2 in flight after 5 s,
    // and every job done meanwhile counts in the rate (40 queued + ~19 new in 5 s)
    expect(f.drainS!).toBeGreaterThanOrEqual(4.8);
    expect(f.drainS!).toBeLessThanOrEqual(5.1);
    expect(f.doneInDrain).toBe(Math.round(f.drainRatePerS! * f.drainS!));
    expect(f.drainRatePerS!).toBeGreaterThan(11);
    expect(f.drainRatePerS!).toBeLessThan(12.5);
    expect(f.backlogRecoverS).toBeCloseTo(10 + f.drainS!, 1);
    expect(f.peakBacklog).toBeGreaterThanOrEqual(40);
  });

  // negative controls: a backlog that never grows, and one that never drains, must say so
  it('workers that keep up: slope about 0, no growth detected, drained at once', () => {
    const f = backlogFigures(arrivals, w);
    expect(Math.abs(f.slopeDuringFault!)).toBeLessThan(0.2);
    expect(f.backlogDetectS).toBeNull();
    expect(f.backlogAtFaultEnd).toBeLessThanOrEqual(f.preFaultBacklog);
    expect(f.drainS).toBe(0);
    expect(f.drainRatePerS).toBeNull();
  });
  it('a backlog that never comes back: drain time and rate unmeasured (null), not 0', () => {
    const never = arrivals.map((j) => (j.acceptedMs >= 10_000 ? { ...j, doneMs: null } : j));
    const f = backlogFigures(never, w);
    expect(f.slopeDuringFault!).toBeGreaterThan(3);
    expect(f.drainS).toBeNull();
    expect(f.doneInDrain).toBeNull();
    expect(f.drainRatePerS).toBeNull();
    expect(f.backlogRecoverS).toBeNull();
  });
});
