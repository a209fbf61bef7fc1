import { describe, expect, it } from 'vitest';
import { ArrivalSchedule, Scheduler, type Clock } from './scheduler.ts';

class VirtualClock implements Clock {
  constructor(public t = 0) {}
  now(): number {
    return this.t;
  }
}

function dueTimes(stages: ConstructorParameters<typeof ArrivalSchedule>[0], startRate = 0): number[] {
  const c = new ArrivalSchedule(stages, startRate).cursor();
  const out: number[] = [];
  for (let t = c.peek(); t !== Infinity; t = c.peek()) {
    out.push(t);
    c.advance();
  }
  return out;
}

describe('ArrivalSchedule', () => {
  it('puts the k-th request at k / rate for a constant rate', () => {
    const t = dueTimes([{ durationS: 0, targetRate: 10 }, { durationS: 2, targetRate: 10 }]);
    expect(t.length).toBe(20);
    t.forEach((x, i) => expect(x).toBeCloseTo((i + 1) / 10, 12));
  });

  it('solves the integral on a ramp: 0 -> 10 req/s over 2 s has A(t) = 2.5 t^2', () => {
    const t = dueTimes([{ durationS: 2, targetRate: 10 }]);
    expect(t.length).toBe(10);
    t.forEach((x, i) => expect(x).toBeCloseTo(Math.sqrt((i + 1) / 2.5), 12));
    expect(t[9]).toBeCloseTo(2, 12);
  });

  it('chains a ramp down after a plateau and counts every request once', () => {
    const stages = [{ durationS: 0, targetRate: 4 }, { durationS: 1, targetRate: 4 }, { durationS: 2, targetRate: 0 }];
    const s = new ArrivalSchedule(stages);
    expect(s.totalRequests).toBe(8); // 4 + (4 + 0) / 2 * 2
    const t = dueTimes(stages);
    expect(t.slice(0, 4)).toEqual([0.25, 0.5, 0.75, 1].map((x) => expect.closeTo(x, 12)));
    // on the ramp 4 -> 0 over 2 s: A(tau) = 4 tau - tau^2, A = m at tau = 2 - sqrt(4 - m)
    for (let m = 1; m <= 4; m++) expect(t[3 + m]).toBeCloseTo(1 + 2 - Math.sqrt(4 - m), 9);
    expect(s.countAt(1)).toBeCloseTo(4, 12);
    expect(s.countAt(2)).toBeCloseTo(7, 12);
    expect(s.rateAt(2)).toBeCloseTo(2, 12);
    expect(s.rateAt(5)).toBe(0);
  });

  it('rejects negative rates and durations', () => {
    expect(() => new ArrivalSchedule([{ durationS: -1, targetRate: 1 }])).toThrow(RangeError);
    expect(() => new ArrivalSchedule([{ durationS: 1, targetRate: -1 }])).toThrow(RangeError);
  });
});

describe('Scheduler on a virtual clock', () => {
  const constant = [{ durationS: 0, targetRate: 100 }, { durationS: 1, targetRate: 100 }];

  it('hands out exactly what is due, at its due time', () => {
    const clock = new VirtualClock(1000);
    const s = new Scheduler(new ArrivalSchedule(constant), clock);
    s.start();
    const got: number[] = [];
    const send = (due: number) => got.push(due);
    expect(s.drain(send)).toBe(0);
    expect(s.nextDueMs()).toBeCloseTo(1010, 9);
    clock.t = 1035;
    expect(s.drain(send)).toBe(3);
    expect(got).toEqual([1010, 1020, 1030].map((x) => expect.closeTo(x, 9)));
    clock.t = 3000;
    expect(s.drain(send)).toBe(97);
    expect(s.done).toBe(true);
    expect(s.nextDueMs()).toBe(Infinity);
  });

  it('reports lag: late requests keep their due time and the delay is measured', () => {
    const clock = new VirtualClock(0);
    const s = new Scheduler(new ArrivalSchedule(constant), clock, { lagThresholdMs: 100, sustainMs: 2000 });
    s.start();
    clock.t = 500; // the engine was busy for half a second
    const due: number[] = [];
    expect(s.drain((d) => due.push(d))).toBe(50);
    expect(due[0]).toBeCloseTo(10, 9); // nothing re-timed, nothing skipped
    expect(s.report().maxLagMs).toBeCloseTo(490, 9);
    expect(s.report().saturated).toBe(false); // one 490 ms stall is not 2 s behind
  });

  it('caps a drain at max and continues where it stopped', () => {
    const clock = new VirtualClock(0);
    const s = new Scheduler(new ArrivalSchedule(constant), clock);
    s.start();
    clock.t = 1000;
    expect(s.drain(() => {}, 30)).toBe(30);
    expect(s.currentLagMs()).toBeCloseTo(1000 - 310, 9);
    expect(s.drain(() => {}, 1000)).toBe(70);
  });

  it('marks the generator saturated when lag stays above the threshold', () => {
    const clock = new VirtualClock(0);
    const rate = [{ durationS: 0, targetRate: 1000 }, { durationS: 10, targetRate: 1000 }];
    const s = new Scheduler(new ArrivalSchedule(rate), clock, { lagThresholdMs: 100, sustainMs: 2000 });
    s.start();
    // an engine that only manages half the rate: every 10 ms it sends 5 requests
    for (let t = 0; t < 4000; t += 10) {
      clock.t = t;
      s.drain(() => {}, 5);
    }
    const r = s.report();
    expect(r.maxLagMs).toBeGreaterThan(1900);
    expect(r.saturated).toBe(true);
  });

  it('calls the generator limited only when its lag grew while in-flight slots were free', () => {
    const rate = [{ durationS: 0, targetRate: 1000 }, { durationS: 10, targetRate: 1000 }];
    const run = (freeSlots: () => boolean) => {
      const clock = new VirtualClock(0);
      const s = new Scheduler(new ArrivalSchedule(rate), clock, { lagThresholdMs: 100, sustainMs: 2000, freeSlots });
      s.start();
      for (let t = 0; t < 4000; t += 10) {
        clock.t = t;
        s.drain(() => {}, 5);
      }
      return s.report();
    };
    // slots free all along: its own CPU held the load back
    expect(run(() => true)).toMatchObject({ saturated: true, limited: true });
    // the in-flight cap full all along: late, but the system's doing
    expect(run(() => false)).toMatchObject({ saturated: true, limited: false });
    // the cap full now and then: never 2 s behind with slots free in a row
    let n = 0;
    expect(run(() => ++n % 50 !== 0)).toMatchObject({ saturated: true, limited: false });
  });

  it('does not call a keeping-up engine saturated', () => {
    const clock = new VirtualClock(0);
    const rate = [{ durationS: 0, targetRate: 1000 }, { durationS: 3, targetRate: 1000 }];
    const s = new Scheduler(new ArrivalSchedule(rate), clock);
    s.start();
    for (let t = 0; t <= 3000; t += 2) {
      clock.t = t;
      s.drain(() => {});
    }
    expect(s.done).toBe(true);
    expect(s.report()).toEqual({ maxLagMs: expect.closeTo(1, 6), saturated: false, limited: false });
  });

  it('stop() ends the schedule early', () => {
    const clock = new VirtualClock(0);
    const s = new Scheduler(new ArrivalSchedule(constant), clock);
    s.start();
    s.stop();
    clock.t = 2000;
    expect(s.drain(() => {})).toBe(0);
    expect(s.done).toBe(true);
  });
});
