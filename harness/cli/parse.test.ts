import { describe, expect, it } from 'vitest';
import { usageError } from '../testing/usage-error.ts';
import { parseChoice, parseCount, parseDuration, parseInteger, parseRate } from './parse.ts';

const usage = (fn: () => unknown) => {
  const e = usageError(fn);
  expect(e.exitCode).toBe(2);
  return e;
};

describe('parseCount', () => {
  it.each([
    ['1e6', 1_000_000],
    ['1000000', 1_000_000],
    ['1_000_000', 1_000_000],
    ['1,000,000', 1_000_000],
    ['1M', 1_000_000],
    ['2.5k', 2_500],
    ['1e9', 1_000_000_000],
    ['1B', 1_000_000_000],
    ['10k', 10_000],
  ])('%s -> %d', (raw, value) => expect(parseCount('--users', raw)).toBe(value));

  it.each(['', 'abc', '1.5', '-3', '1e6x', '1MM', '0x10', '1.2345k'])('rejects %j with one line', (raw) => {
    const e = usage(() => parseCount('--users', raw));
    expect(e.oneLine()).toMatch(/^--users .* — /);
    expect(e.oneLine()).not.toContain('\n');
  });

  it('rejects zero and out-of-range counts', () => {
    expect(usage(() => parseCount('--users', '0')).message).toBe('--users 0 is out of range');
    expect(usage(() => parseCount('--users', '1e13')).message).toBe('--users 1e13 is out of range');
  });
});

describe('parseInteger', () => {
  it('accepts bounded integers', () => expect(parseInteger('--app-servers', '3', { min: 1 })).toBe(3));
  it('rejects 0 app servers and negative replicas', () => {
    expect(usage(() => parseInteger('--app-servers', '0', { min: 1, max: 32 })).oneLine()).toBe(
      '--app-servers 0 is out of range — use a value from 1 to 32',
    );
    expect(usage(() => parseInteger('--replicas', '-1', { min: 0, max: 8 })).message).toBe('--replicas -1 is out of range');
    usage(() => parseInteger('--shards', 'two'));
  });
});

describe('parseDuration', () => {
  it.each([
    ['90', 90],
    ['30s', 30],
    ['2m', 120],
    ['1m30s', 90],
    ['1h', 3600],
    ['1500ms', 1.5],
  ])('%s -> %d s', (raw, s) => expect(parseDuration('--duration', raw)).toBe(s));
  it.each(['', 'soon', '30x', '-5s', 's'])('rejects %j', (raw) => {
    usage(() => parseDuration('--duration', raw));
  });
  it('rejects durations out of range', () => usage(() => parseDuration('--duration', '0s')));
});

describe('parseRate and parseChoice', () => {
  it('parses rates', () => {
    expect(parseRate('--rate', '250')).toBe(250);
    expect(parseRate('--rate', '1.5k')).toBe(1500);
    expect(parseRate('--rate', '300/s')).toBe(300);
  });
  it.each(['0', '-1', 'fast', '2M'])('rejects rate %j', (raw) => {
    usage(() => parseRate('--rate', raw));
  });
  it('checks choices', () => {
    expect(parseChoice('--runtime', 'docker', ['native', 'docker', 'auto'] as const)).toBe('docker');
    expect(usage(() => parseChoice('--runtime', 'podman', ['native', 'docker', 'auto'] as const)).message).toBe(
      '--runtime "podman" is not one of native, docker, auto',
    );
  });
});
