import { describe, expect, it } from 'vitest';
import { usageError } from '../testing/usage-error.ts';
import { evaluateObjective, parseObjective, type StepFigures } from './objective.ts';

const usage = (raw: string) => {
  const e = usageError(() => parseObjective(raw));
  expect(e.exitCode).toBe(2);
  expect(e.oneLine()).not.toContain('\n');
  expect(e.oneLine()).toMatch(/^--objective /);
  return e.oneLine();
};

describe('parseObjective', () => {
  it('reads the default objective', () => {
    const o = parseObjective('p99<250ms,errors<1%');
    expect(o.bounds).toEqual([
      { kind: 'latency', percentile: 'p99', op: '<', limitMs: 250, text: 'p99<250ms' },
      { kind: 'errors', op: '<', limitRatio: 0.01, text: 'errors<1%' },
    ]);
    expect(o.text).toBe('p99<250ms,errors<1%');
  });

  it('reads every percentile, seconds, <= and spaces', () => {
    const o = parseObjective(' p50 <= 20ms , p90<0.1s,p95<120ms, p999<=1.5s, errors<=0.5% ');
    expect(o.bounds.map((b) => (b.kind === 'latency' ? [b.percentile, b.op, b.limitMs] : ['errors', b.op, b.limitRatio]))).toEqual([
      ['p50', '<=', 20],
      ['p90', '<', 100],
      ['p95', '<', 120],
      ['p999', '<=', 1500],
      ['errors', '<=', 0.005],
    ]);
    expect(o.text).toBe('p50<=20ms,p90<100ms,p95<120ms,p999<=1500ms,errors<=0.5%');
  });

  it('accepts "no errors at all" as errors<=0%', () => {
    expect(parseObjective('errors<=0%').bounds[0]).toMatchObject({ kind: 'errors', op: '<=', limitRatio: 0 });
  });

  it.each([
    ['', /empty clause/],
    ['p99<250ms,', /empty clause/],
    ['p99<250', /needs a unit/],
    ['p99<250us', /not understood/],
    ['p98<250ms', /"p98", which is not a known figure/],
    ['latency<250ms', /not a known figure/],
    ['p99>250ms', /must be an upper bound/],
    ['p99=250ms', /must be an upper bound/],
    ['errors<1', /needs a %/],
    ['errors<1ms', /needs a %/],
    ['errors<101%', /above 100% cannot occur/],
    ['errors<0%', /can never hold/],
    ['p99<0ms', /can never hold/],
    ['p99<-5ms', /not understood/],
    ['p99<250ms,p99<300ms', /bounds p99 twice/],
    ['errors<1%,errors<2%', /bounds errors twice/],
  ])('rejects %j in one line', (raw, pattern) => {
    expect(usage(raw)).toMatch(pattern);
  });
});

describe('evaluateObjective', () => {
  const objective = parseObjective('p99<250ms,errors<1%');
  const step = (p99: number | null, errorRate: number | null): StepFigures => ({ latencyMs: { p50: 5, p99 }, errorRate });

  it('passes when every bound holds', () => {
    const e = evaluateObjective(objective, step(249.9, 0.0099));
    expect(e.verdict).toBe('pass');
    expect(e.checks.map((c) => c.verdict)).toEqual(['pass', 'pass']);
  });

  it('fails at the limit for <, passes at the limit for <=', () => {
    expect(evaluateObjective(objective, step(250, 0)).verdict).toBe('fail');
    expect(evaluateObjective(objective, step(10, 0.01)).verdict).toBe('fail');
    expect(evaluateObjective(parseObjective('p99<=250ms,errors<=1%'), step(250, 0.01)).verdict).toBe('pass');
  });

  it('says which bound failed, with the measured figure', () => {
    const e = evaluateObjective(objective, step(312.5, 0.034));
    expect(e.verdict).toBe('fail');
    expect(e.reason).toBe('failed p99 312.5ms (objective <250ms), errors 3.4% (objective <1%)');
  });

  it('an unmeasured percentile makes the step inconclusive, never a pass', () => {
    const e = evaluateObjective(objective, step(null, 0));
    expect(e.verdict).toBe('inconclusive');
    expect(e.reason).toBe('not measured: p99');
    // a percentile the step did not report at all counts as unmeasured too
    expect(evaluateObjective(parseObjective('p999<1s'), step(10, 0)).verdict).toBe('inconclusive');
    expect(evaluateObjective(objective, step(10, null)).verdict).toBe('inconclusive');
  });

  it('a measured violation fails the step even when another figure is unmeasured', () => {
    expect(evaluateObjective(objective, step(null, 0.5)).verdict).toBe('fail');
  });
});
