import { afterEach, describe, expect, it, vi } from 'vitest';
import { escapeRegex, instant, matchers, parseValue, promTime } from './query.ts';
import { BenchError } from '../errors.ts';

describe('query helpers', () => {
  it("parses Prometheus' special floats", () => {
    expect(parseValue('1.5')).toBe(1.5);
    expect(parseValue('+Inf')).toBe(Infinity);
    expect(parseValue('-Inf')).toBe(-Infinity);
    expect(parseValue('NaN')).toBeNaN();
  });

  it('builds matchers with escaping and regexes', () => {
    expect(matchers({})).toBe('');
    expect(matchers({ job: 'app', run: 'a"b\\c', gone: undefined })).toBe('{job="app",run="a\\"b\\\\c"}');
    expect(matchers({ job: { re: ['a.b', 'c'].map(escapeRegex).join('|') } })).toBe('{job=~"a\\\\.b|c"}');
  });

  it('writes times at millisecond resolution', () => {
    expect(promTime(1700000000.12345)).toBe('1700000000.123');
  });
});

describe('query errors (stubbed fetch)', () => {
  afterEach(() => vi.unstubAllGlobals());

  it('names the query when Prometheus rejects it', async () => {
    vi.stubGlobal('fetch', async () => new Response(JSON.stringify({ status: 'error', errorType: 'bad_data', error: 'parse error' }), { status: 400 }));
    const err = await instant('http://p', 'sum(', 1).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BenchError);
    expect((err as BenchError).message).toContain('sum(');
    expect((err as BenchError).code).toBe('internal');
  });

  it('is an environment error when Prometheus is unreachable', async () => {
    vi.stubGlobal('fetch', async () => {
      throw new TypeError('fetch failed');
    });
    const err = (await instant('http://p', 'up').catch((e: unknown) => e)) as BenchError;
    expect(err.code).toBe('environment');
    expect(err.hint).toMatch(/prometheus-url/);
  });

  it('turns a scalar into one unlabelled sample', async () => {
    vi.stubGlobal('fetch', async () => new Response(JSON.stringify({ status: 'success', data: { resultType: 'scalar', result: [5, '2'] } })));
    expect(await instant('http://p', '1+1')).toEqual([{ metric: {}, value: [5, 2] }]);
  });
});
