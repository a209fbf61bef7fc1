import { describe, expect, it } from 'vitest';
import { BenchError } from '../../harness/errors.ts';
import { parseBytes, parseDurationMs, parseParams, parseRateKBps, type ParamSpec } from './params.ts';

describe('parseDurationMs', () => {
  it('reads units and compounds', () => {
    expect(parseDurationMs('200ms')).toBe(200);
    expect(parseDurationMs('1.5s')).toBe(1500);
    expect(parseDurationMs('2m')).toBe(120_000);
    expect(parseDurationMs('1m30s')).toBe(90_000);
  });
  it('needs a unit unless told what a bare number means', () => {
    expect(parseDurationMs('30')).toBeNull();
    expect(parseDurationMs('30', 's')).toBe(30_000);
    expect(parseDurationMs('abc')).toBeNull();
    expect(parseDurationMs('10x')).toBeNull();
    expect(parseDurationMs('')).toBeNull();
  });
});

describe('sizes and rates', () => {
  it('parses bytes with units', () => {
    expect(parseBytes('512')).toBe(512);
    expect(parseBytes('64KB')).toBe(64_000);
    expect(parseBytes('1KiB')).toBe(1024);
    expect(parseBytes('2zz')).toBeNull();
  });
  it('parses rates in KB/s and refuses a bare number', () => {
    expect(parseRateKBps('100KB/s')).toBe(100);
    expect(parseRateKBps('2MB/s')).toBe(2000);
    expect(parseRateKBps('100')).toBeNull();
  });
});

const specs: ParamSpec[] = [
  { name: 'latency', type: 'duration', default: 200, description: 'delay' },
  { name: 'jitter', type: 'duration', default: 0, description: 'jitter' },
  { name: 'toxicity', type: 'fraction', default: 1, description: 'share' },
  { name: 'stream', type: 'stream', default: 'downstream', description: 'direction' },
];

describe('parseParams', () => {
  it('fills defaults, positional values in order, then named ones', () => {
    expect(parseParams('latency', specs, [])).toEqual({ latency: 200, jitter: 0, toxicity: 1, stream: 'downstream' });
    expect(parseParams('latency', specs, ['300ms', 'toxicity=50%', 'stream=up'])).toEqual({ latency: 300, jitter: 0, toxicity: 0.5, stream: 'upstream' });
    expect(parseParams('latency', specs, { latency: 120, jitter: '10ms' })).toMatchObject({ latency: 120, jitter: 10 });
  });
  it('refuses unknown, duplicated, extra and malformed parameters with a usage error', () => {
    const bad = (raw: string[]) => {
      try {
        parseParams('latency', specs, raw);
      } catch (e) {
        expect(e).toBeInstanceOf(BenchError);
        expect((e as BenchError).code).toBe('usage');
        return (e as BenchError).oneLine();
      }
      throw new Error('no error');
    };
    expect(bad(['color=red'])).toMatch(/no parameter color.*latency, jitter, toxicity, stream/);
    expect(bad(['200ms', 'latency=300ms'])).toMatch(/latency given twice/);
    expect(bad(['1ms', '2ms', '0.5', 'up', 'extra'])).toMatch(/too many parameters/);
    expect(bad(['fast'])).toMatch(/latency=fast is not a duration/);
    expect(bad(['toxicity=2'])).toMatch(/between 0 and 1/);
    expect(bad(['stream=sideways'])).toMatch(/upstream, downstream or both/);
  });
});
