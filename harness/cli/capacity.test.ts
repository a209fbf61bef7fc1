import { describe, expect, it } from 'vitest';
import { usageLine } from '../testing/usage-error.ts';
import { capacityOptions } from './capacity.ts';

describe('capacityOptions', () => {
  it('has defaults that answer the issue\'s question in bounded time', () => {
    const o = capacityOptions({ phase: '2' }, {});
    expect(o.objective.text).toBe('p99<250ms,errors<1%');
    expect([o.settleS, o.holdS, o.confirmS, o.maxTimeS]).toEqual([5, 20, 60, 900]);
    expect([o.startRate, o.growth, o.resolution, o.maxSteps, o.maxRate]).toEqual([100, 2, 0.05, 30, null]);
    expect(o.run.phase).toBe(2);
    // phase 2 has no cache or replica, yet a search warms it up: its app starts cold
    expect(o.run.warmupS).toBe(20);
    expect(capacityOptions({ phase: '2', warmup: '0' }, {}).run.warmupS).toBe(0);
  });

  it('reads every flag', () => {
    const o = capacityOptions(
      { phase: '3', objective: 'p95<100ms', settle: '0', hold: '10s', confirm: '1m', maxTime: '5m', startRate: '1k', maxRate: '4000', growth: '1.5', resolution: '10%', maxSteps: '12' },
      {},
    );
    expect(o.objective.text).toBe('p95<100ms');
    expect([o.settleS, o.holdS, o.confirmS, o.maxTimeS]).toEqual([0, 10, 60, 300]);
    expect([o.startRate, o.growth, o.resolution, o.maxSteps, o.maxRate]).toEqual([1000, 1.5, 0.1, 12, 4000]);
    expect(capacityOptions({ phase: '2', resolution: '0.02' }, {}).resolution).toBe(0.02);
  });

  it.each([
    [{ objective: 'p99>1ms' }, /^--objective clause "p99>1ms" must be an upper bound/],
    [{ growth: '1' }, /^--growth "1" is not a factor above 1/],
    [{ resolution: '60%' }, /^--resolution "60%" is not a share from 0.5% to 50%/],
    [{ hold: '1s' }, /^--hold 1s is out of range/],
    [{ startRate: '0' }, /^--start-rate "0" is not a positive rate/],
    [{ maxSteps: '1' }, /^--max-steps 1 is out of range/],
    [{ phase: undefined }, /^--phase is required/],
  ])('rejects %j in one line', (flags, pattern) => {
    expect(usageLine(() => capacityOptions({ phase: '2', ...flags }, {}))).toMatch(pattern);
  });
});
