import { describe, expect, it } from 'vitest';
import { TrafficModel } from '../../reports/schema.ts';
import { ArrivalSchedule } from './scheduler.ts';
import { defaultMachineCapRps, ENGINE_HEADROOM, ENGINE_RPS_PER_CORE, rateFloor, stagesFor, trafficModel } from './traffic-model.ts';

describe('trafficModel', () => {
  it('derives average and peak from the defaults and shows the arithmetic', () => {
    const m = trafficModel({ users: 1_000_000, machineCapRps: 2000 });
    expect(m.averageRps).toBeCloseTo((1e6 * 0.2 * 100) / 86400, 9);
    expect(m.peakRps).toBeCloseTo(m.averageRps * 3, 9);
    expect(m.targetRps).toBeCloseTo(m.peakRps, 9);
    expect(m.scaleFactor).toBe(1);
    expect(m.overridden).toBe(false);
    expect(m.derivation).toEqual([
      '1,000,000 users × 20% daily active × 100 req/day ÷ 86,400 s = 231.5 req/s average',
      '× 3 peak = 694 req/s',
      'machine cap 2,000 req/s (an estimate: 30,000 req/s per generator core × 0.5 headroom, not measured here) → scale factor 1.00',
    ]);
    expect(() => TrafficModel.parse(m)).not.toThrow();
  });

  it('caps at the machine and reports the scale factor', () => {
    const m = trafficModel({ users: 1e9, machineCapRps: 10_000 });
    expect(m.peakRps).toBeCloseTo((1e9 * 0.2 * 100 * 3) / 86400, 6); // ~694,444 req/s
    expect(m.targetRps).toBe(10_000);
    expect(m.scaleFactor).toBeCloseTo(10_000 / m.peakRps, 12);
    expect(m.derivation[2]).toMatch(/^machine cap 10,000 req\/s \(an estimate: [^)]*not measured here\) < peak → driving 10,000 req\/s, scale factor 0\.014/);
  });

  it('takes every assumption as an override', () => {
    const m = trafficModel({ users: 86_400, dailyActiveShare: 0.5, requestsPerActiveUserPerDay: 10, peakToAverage: 2, machineCapRps: 1e6 });
    expect(m.averageRps).toBeCloseTo(5, 12);
    expect(m.peakRps).toBeCloseTo(10, 12);
    expect(m.derivation[0]).toBe('86,400 users × 50% daily active × 10 req/day ÷ 86,400 s = 5.0 req/s average');
    expect(m.derivation[1]).toBe('× 2 peak = 10.0 req/s');
  });

  it('lets --rate override the model, even above the machine cap', () => {
    const m = trafficModel({ users: 1000, machineCapRps: 500, rateOverride: 800 });
    expect(m.targetRps).toBe(800);
    expect(m.overridden).toBe(true);
    expect(m.scaleFactor).toBeCloseTo(800 / m.peakRps, 12);
    expect(m.derivation[2]).toContain('--rate 800 req/s overrides the model');
  });

  it('labels the machine cap by where it came from: never written as a capacity when estimated', () => {
    expect(trafficModel({ users: 1e9, machineCapRps: 15_000 }).machineCapSource).toBe('estimate');
    expect(trafficModel({ users: 1e9, machineCapRps: 15_000 }).derivation[2]).toMatch(/^machine cap 15,000 req\/s \(an estimate: 30,000 req\/s per generator core × 0\.5 headroom, not measured here\) < peak/);
    const flagged = trafficModel({ users: 1e9, machineCapRps: 4000, machineCapSource: 'flag' });
    expect(flagged.derivation[2]).toMatch(/^machine cap 4,000 req\/s \(set by --max-rate\) < peak/);
    expect(trafficModel({ users: 1e9, machineCapRps: 4000, machineCapSource: 'measured' }).derivation[2]).toContain('(measured on this machine)');
  });

  it('rejects nonsense input', () => {
    expect(() => trafficModel({ users: 0 })).toThrow(RangeError);
    expect(() => trafficModel({ users: 10, dailyActiveShare: 1.5 })).toThrow(RangeError);
    expect(() => trafficModel({ users: 10, peakToAverage: 0.5 })).toThrow(RangeError);
    expect(() => trafficModel({ users: 10, rateOverride: -1 })).toThrow(RangeError);
  });
});

describe('defaultMachineCapRps', () => {
  it('is one core at the measured rate times the headroom, half that on one core', () => {
    expect(defaultMachineCapRps(2)).toBe(Math.round(ENGINE_RPS_PER_CORE * ENGINE_HEADROOM));
    expect(defaultMachineCapRps(16)).toBe(defaultMachineCapRps(2));
    expect(defaultMachineCapRps(1)).toBe(Math.round(ENGINE_RPS_PER_CORE * ENGINE_HEADROOM * 0.5));
  });
});

describe('stagesFor', () => {
  it('ramps up from a floor, holds, ramps down; durations add up', () => {
    const s = stagesFor(1000, 120);
    expect(s).toEqual([
      { durationS: 0, targetRate: 50 },
      { durationS: 18, targetRate: 1000 },
      { durationS: 96, targetRate: 1000 },
      { durationS: 6, targetRate: 50 },
    ]);
    expect(s.reduce((a, x) => a + x.durationS, 0)).toBe(120);
  });

  it('caps ramps on long runs', () => {
    const s = stagesFor(100, 3600);
    expect(s[1].durationS).toBe(30);
    expect(s[3].durationS).toBe(10);
    expect(s.reduce((a, x) => a + x.durationS, 0)).toBe(3600);
  });

  it('gives short runs no ramp, and never starts from 0', () => {
    expect(stagesFor(200, 5)).toEqual([
      { durationS: 0, targetRate: 200 },
      { durationS: 5, targetRate: 200 },
    ]);
    expect(rateFloor(10)).toBe(1);
    expect(rateFloor(0.5)).toBe(0.5);
    const sched = new ArrivalSchedule(stagesFor(1000, 60));
    expect(sched.rateAt(0)).toBe(50);
    // the integral: ramp 9 s (50->1000), 48 s plateau, ramp 3 s (1000->50)
    expect(sched.totalRequests).toBe(Math.floor(525 * 9 + 1000 * 48 + 525 * 3));
  });
});
