// The geo resolver's cache modes on an injected server and clock (the real PowerDNS path is in
// geo-dns.int.test.ts).
import { describe, expect, it } from 'vitest';
import { usageLine } from '../testing/usage-error.ts';
import { GeoResolver, geoLookup, keepMs, parseDnsCacheMode, type DnsAnswer, type DnsCacheMode } from './geo-dns.ts';

/** A server whose answer the test changes, counting the queries it gets. */
function fakeServer(ttl: number) {
  const s = { address: '127.9.1.1', ttl, fail: false, asked: 0 };
  const query = async (): Promise<DnsAnswer[]> => {
    s.asked += 1;
    if (s.fail) throw Object.assign(new Error('queryA ESERVFAIL'), { code: 'ESERVFAIL' });
    return [{ address: s.address, ttl: s.ttl }];
  };
  return { s, query };
}

function setup(cache: DnsCacheMode, ttl = 2) {
  let t = 0;
  const { s, query } = fakeServer(ttl);
  const r = new GeoResolver({ query, cache, now: () => t });
  return { s, r, advance: (ms: number) => void (t += ms) };
}

describe('parseDnsCacheMode', () => {
  it('reads ttl, pinned and min=<n>s', () => {
    expect(parseDnsCacheMode('ttl')).toEqual({ kind: 'ttl' });
    expect(parseDnsCacheMode('pinned')).toEqual({ kind: 'pinned' });
    expect(parseDnsCacheMode('min=30s')).toEqual({ kind: 'min', seconds: 30 });
    expect(parseDnsCacheMode('min=5')).toEqual({ kind: 'min', seconds: 5 });
  });
  it('refuses anything else in one line', () => {
    expect(usageLine(() => parseDnsCacheMode('forever'))).toMatch(/--dns-cache forever is not a cache mode/);
    expect(usageLine(() => parseDnsCacheMode('min=-1s'))).toMatch(/not a cache mode/);
  });
});

describe('keepMs', () => {
  it('keeps for the TTL, a floor, or forever', () => {
    expect(keepMs({ kind: 'ttl' }, 2)).toBe(2_000);
    expect(keepMs({ kind: 'min', seconds: 30 }, 2)).toBe(30_000);
    expect(keepMs({ kind: 'min', seconds: 30 }, 60)).toBe(60_000);
    expect(keepMs({ kind: 'pinned' }, 2)).toBe(Infinity);
  });
});

describe('GeoResolver', () => {
  it('ttl: asks again once the TTL ran out and follows a changed answer', async () => {
    const { s, r, advance } = setup({ kind: 'ttl' });
    expect(await r.resolve('api.bench.test')).toBe('127.9.1.1');
    s.address = '127.9.2.1';
    advance(1_999);
    expect(await r.resolve('api.bench.test')).toBe('127.9.1.1');
    advance(1);
    expect(await r.resolve('api.bench.test')).toBe('127.9.2.1');
    expect(s.asked).toBe(2);
    expect(r.changes.get('api.bench.test')).toEqual([{ at: 0, address: '127.9.1.1' }, { at: 2_000, address: '127.9.2.1' }]);
  });

  it('pinned: never asks again, so it never leaves a dead region', async () => {
    const { s, r, advance } = setup({ kind: 'pinned' });
    await r.resolve('api.bench.test');
    s.address = '127.9.2.1';
    advance(3_600_000);
    expect(await r.resolve('api.bench.test')).toBe('127.9.1.1');
    expect(s.asked).toBe(1);
  });

  it('min=30s: a 2 s TTL is kept 30 s', async () => {
    const { s, r, advance } = setup({ kind: 'min', seconds: 30 });
    await r.resolve('api.bench.test');
    s.address = '127.9.2.1';
    advance(29_999);
    expect(await r.resolve('api.bench.test')).toBe('127.9.1.1');
    advance(1);
    expect(await r.resolve('api.bench.test')).toBe('127.9.2.1');
  });

  it('shares one query among concurrent lookups', async () => {
    const { s, r } = setup({ kind: 'ttl' });
    const all = await Promise.all([1, 2, 3, 4].map(() => r.resolve('api.bench.test')));
    expect(all).toEqual(Array(4).fill('127.9.1.1'));
    expect(s.asked).toBe(1);
    expect(r.queries).toBe(1);
  });

  it('a failed lookup rejects, is counted and recorded, and the next one asks again', async () => {
    const { s, r, advance } = setup({ kind: 'ttl' });
    await r.resolve('api.bench.test');
    advance(2_000);
    s.fail = true;
    await expect(r.resolve('api.bench.test')).rejects.toThrow(/ESERVFAIL/);
    s.fail = false;
    expect(await r.resolve('api.bench.test')).toBe('127.9.1.1');
    expect(r.failures).toBe(1);
    expect(r.changes.get('api.bench.test')!.map((c) => c.address)).toEqual(['127.9.1.1', null, '127.9.1.1']);
  });
});

describe('geoLookup', () => {
  const call = (lookup: ReturnType<typeof geoLookup>, all: boolean) =>
    new Promise<{ err: NodeJS.ErrnoException | null; address: unknown; family?: number }>((resolve) =>
      lookup('api.bench.test', { all } as never, ((err: NodeJS.ErrnoException | null, address: unknown, family?: number) => resolve({ err, address, family })) as never),
    );

  it("answers net's lookup with the resolver's address, one or all of them", async () => {
    const lookup = geoLookup({ resolve: async () => '127.3.12.1' });
    expect(await call(lookup, false)).toEqual({ err: null, address: '127.3.12.1', family: 4 });
    expect(await call(lookup, true)).toMatchObject({ err: null, address: [{ address: '127.3.12.1', family: 4 }] });
  });

  it('a failed lookup is a failed connection, with a code the engine can name', async () => {
    const lookup = geoLookup({ resolve: async () => Promise.reject(new Error('no A record for api.bench.test')) });
    const r = await call(lookup, false);
    expect(r.err?.message).toBe('no A record for api.bench.test');
    expect(r.err?.code).toBe('ENOTFOUND');
  });
});
