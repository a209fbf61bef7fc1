import { describe, expect, it } from 'vitest';
import { BenchError } from '../../harness/errors.ts';
import { parseAppConfig, validateAppConfig } from './config.ts';

const base = {
  name: 'app-1',
  listen: { host: '127.3.2.1', port: 8080 },
  store: { kind: 'sqlite', path: '/tmp/x.db' },
  sessions: { kind: 'memory' },
  cache: null,
};

const sharded = {
  ...base,
  store: {
    kind: 'postgres',
    strategy: 'range',
    users: 1_000_000,
    shards: [
      { name: 'a', range: [0, 500_000], primary: { name: 'pg-a', host: '127.3.3.1', port: 5432 }, replicas: [{ host: '127.3.4.1', port: 5432 }] },
      { name: 'b', range: [500_001, 1_000_000], primary: { host: '127.3.5.1', port: 5432 }, replicas: [] },
    ],
  },
  sessions: { kind: 'redis', redis: { host: '127.3.6.1', port: 6379 } },
  cache: { redis: { host: '127.3.6.1', port: 6379 }, ttlSeconds: 3600 },
};

describe('app config', () => {
  it('accepts the monolith and a sharded config', () => {
    expect(validateAppConfig(base).store.kind).toBe('sqlite');
    const c = validateAppConfig(sharded);
    expect(c.store.kind === 'postgres' && c.store.shards[1].range).toEqual([500_001, 1_000_000]);
    expect(c.cache?.ttlSeconds).toBe(3600);
  });

  it('names every problem in one usage error', () => {
    const bad = { ...base, listen: { host: '127.0.0.1', port: 70_000 }, store: { kind: 'mysql' } };
    let err: unknown;
    try {
      validateAppConfig(bad);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(BenchError);
    const line = (err as BenchError).oneLine();
    expect((err as BenchError).code).toBe('usage');
    expect(line).toMatch(/listen\.port/);
    expect(line).toMatch(/store\.kind/);
    expect(line).not.toMatch(/\n/);
  });

  it('rejects range shards that are not contiguous', () => {
    const gap = structuredClone(sharded);
    gap.store.shards[1].range = [600_000, null] as unknown as [number, number];
    expect(() => validateAppConfig(gap)).toThrow(/contiguous: b starts at 600000, expected 500001/);
  });

  it('rejects duplicate shard names and empty ranges', () => {
    const dup = structuredClone(sharded);
    dup.store.shards[1].name = 'a';
    expect(() => validateAppConfig(dup)).toThrow(/shard a declared twice/);
    const empty = structuredClone(sharded);
    empty.store.shards[0].range = [10, 5];
    expect(() => validateAppConfig(empty)).toThrow(/empty range/);
  });

  it('says when the variable is missing or not JSON', () => {
    expect(() => parseAppConfig(undefined)).toThrow(/BENCH_APP_CONFIG is not set/);
    expect(() => parseAppConfig('{oops')).toThrow(/BENCH_APP_CONFIG is not JSON/);
    expect(parseAppConfig(JSON.stringify(base)).name).toBe('app-1');
  });
});
