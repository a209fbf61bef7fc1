// The geo resolver against the real PowerDNS: each client region resolves from its own source
// address, and the client cache mode decides how long its users keep a dead region after the
// DNS itself moved (the DNS convergence figure of phase 7's drills).
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { GEO_NAME, startGeoDns, type GeoDnsFixture } from '../../targets/regions/testing/geo-dns-fixture.ts';
import { dnsQuery, formatDnsCacheMode, GeoResolver, geoLookup, type DnsCacheMode } from './geo-dns.ts';
import { SocketTransport } from './transport/socket.ts';
import { workloads } from '../../loadtests/workloads.ts';
import { runLoad } from './engine.ts';
import type { ResponseHandler } from './transport/types.ts';

const TTL_S = 2;
/** the server's side of a flip, measured in pdns.int.test.ts: ~0.8 s, at most a check interval plus its 2 s timeout */
const SERVER_FLIP_MAX_MS = 3_000;

describe('geo resolver on PowerDNS', () => {
  let f: GeoDnsFixture;
  beforeAll(async () => {
    f = await startGeoDns('geodns', TTL_S);
    // every test starts from "each region answered by its own": startGeoDns waited until each
    // view answered its own region 8 times in a row (asked once, a view answers one candidate at
    // random while every check is still pending, and this file's tests met that in CI)
  }, 90_000);
  // a failed test prints what the server's health checks saw (the flip it may not have expected)
  afterEach((ctx) => {
    if (ctx.task.result?.state === 'fail' && f) console.log(f.healthReport());
  });
  afterAll(async () => {
    await f?.dispose();
  });

  const resolver = (from: 'east' | 'west', cache: DnsCacheMode) => new GeoResolver({ query: dnsQuery(f.dns, f.sources[from]), cache });

  /** Resolves through `r` every 50 ms after east dies until it answers west or `limitMs` passed;
   *  the ms it took, or null. East comes back afterwards and the server answers it again. */
  async function convergence(r: GeoResolver, limitMs: number): Promise<number | null> {
    expect(await r.resolve(GEO_NAME)).toBe(f.entries.east);
    const t0 = performance.now();
    await f.kill('east');
    let ms: number | null = null;
    while (performance.now() - t0 < limitMs) {
      if ((await r.resolve(GEO_NAME).catch(() => null)) === f.entries.west) {
        ms = performance.now() - t0;
        break;
      }
      await new Promise((res) => setTimeout(res, 50));
    }
    await f.revive('east');
    await expect.poll(async () => (await dnsQuery(f.dns, f.sources.east)(GEO_NAME))[0]?.address, { timeout: 10_000, interval: 100 }).toBe(f.entries.east);
    return ms;
  }

  it('each client region is answered from its own source address', async () => {
    expect(await resolver('east', { kind: 'ttl' }).resolve(GEO_NAME)).toBe(f.entries.east);
    expect(await resolver('west', { kind: 'ttl' }).resolve(GEO_NAME)).toBe(f.entries.west);
  });

  it("the engine's transport sends to the geo name from a client region's source, to the region the DNS answered it", async () => {
    const get = (t: SocketTransport) =>
      new Promise<number>((resolve, reject) => {
        const h: ResponseHandler = { wantSid: false, link: null, onResponse: (status) => resolve(status), onFailure: reject };
        t.send(t.prepare('GET', '/api/users/1', null, null), h);
      });
    const before = f.served.length;
    for (const from of ['east', 'west'] as const) {
      const r = resolver(from, { kind: 'ttl' });
      const t = new SocketTransport(`http://${GEO_NAME}:18080`, 2, { localAddress: f.sources[from], lookup: geoLookup(r) });
      try {
        expect(await get(t)).toBe(200);
      } finally {
        await t.close();
      }
      expect(r.queries).toBe(1);
    }
    // each client region reached its own region, from its own source address (what view() routes on)
    expect(f.served.slice(before)).toEqual([
      { region: 'east', from: f.sources.east },
      { region: 'west', from: f.sources.west },
    ]);
    // without the source address the server sees the system's choice, a view no region names: the
    // negative control that the source address is what routes (the last view catches the rest)
    const r = resolver('east', { kind: 'ttl' });
    const t = new SocketTransport(`http://${GEO_NAME}:18080`, 1, { lookup: geoLookup(r) });
    try {
      expect(await get(t)).toBe(200);
    } finally {
      await t.close();
    }
    expect(f.served.at(-1)!.from).not.toBe(f.sources.east);
  });

  it("the engine's client regions: each sends its share from its own source, to the region the DNS answered it, counted per region", async () => {
    const before = f.served.length;
    const reads = { ...workloads['read-heavy']!, name: 'reads', mix: { read: 100, update: 0, create: 0, login: 0, static: 0, pay: 0, video: 0 } };
    const { results } = await runLoad({
      targets: { api: `http://${GEO_NAME}:18080`, static: `http://${GEO_NAME}:18080` },
      workload: reads,
      users: 100,
      stages: [{ durationS: 0, targetRate: 60 }, { durationS: 2, targetRate: 60 }],
      seed: 7,
      clientRegions: (['east', 'west'] as const).map((r) => ({ name: r, share: 1, localAddress: f.sources[r], dns: f.dns })),
    });
    const served = f.served.slice(before);
    const sent = results.totals.requests;
    expect(sent).toBeGreaterThan(100);
    expect(results.totals.errors).toBe(0);
    for (const r of ['east', 'west'] as const) {
      const mine = results.regions![r]!;
      // the even split, within a request or two
      expect(Math.abs(mine.requests - sent / 2)).toBeLessThanOrEqual(2);
      expect(mine.errors).toBe(0);
      expect(mine.latencyMs!.p50).toBeGreaterThan(0);
      expect(mine.source).toBe(f.sources[r]);
      // its first answer was its own region's, and the server saw its requests from its own source
      expect(mine.dns.changes[0]!.address).toBe(f.entries[r]);
      expect(served.filter((x) => x.from === f.sources[r]).every((x) => x.region === r)).toBe(true);
      expect(served.filter((x) => x.from === f.sources[r])).toHaveLength(mine.requests);
    }
  });

  it('ttl: converges within the server flip plus the TTL', async () => {
    const r = resolver('east', { kind: 'ttl' });
    const ms = await convergence(r, 15_000);
    console.log(`[geo-dns] ${formatDnsCacheMode({ kind: 'ttl' })}: east's clients on west ${ms?.toFixed(0)} ms after east died (TTL ${TTL_S} s)`);
    expect(ms).not.toBeNull();
    expect(ms!).toBeLessThan(TTL_S * 1000 + SERVER_FLIP_MAX_MS);
  }, 30_000);

  it('min=5s: keeps the dead region at least until its 5 s floor', async () => {
    const mode: DnsCacheMode = { kind: 'min', seconds: 5 };
    const r = resolver('east', mode);
    const ms = await convergence(r, 20_000);
    console.log(`[geo-dns] ${formatDnsCacheMode(mode)}: east's clients on west ${ms?.toFixed(0)} ms after east died (TTL ${TTL_S} s)`);
    expect(ms).not.toBeNull();
    // the answer was cached just before the kill: it is kept ~5 s whatever the server says
    expect(ms!).toBeGreaterThan(4_500);
    expect(ms!).toBeLessThan(5_000 + SERVER_FLIP_MAX_MS);
  }, 40_000);

  it('pinned: never leaves the dead region (the negative control of convergence)', async () => {
    const r = resolver('east', { kind: 'pinned' });
    const ms = await convergence(r, 6_000);
    expect(ms).toBeNull();
    expect(r.queries).toBe(1);
  }, 30_000);
});
