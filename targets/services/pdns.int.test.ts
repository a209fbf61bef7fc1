// PowerDNS with a LUA geo record, on the real server: two client source addresses get their own
// region, and killing a region's listener flips its clients to the other within a measured time.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { dnsQuery } from '../../harness/load/geo-dns.ts';
import { GEO_NAME, startGeoDns, type GeoDnsFixture } from '../regions/testing/geo-dns-fixture.ts';
import { FIRST_CHOICE_SAMPLES, PDNS_HEALTH_INTERVAL_S, readGeoRecord, renderGeoLua, updateGeoRecord } from './pdns.ts';

const TTL_S = 2;

describe('pdns geo record', () => {
  let f: GeoDnsFixture;
  beforeAll(async () => {
    f = await startGeoDns('pdns', TTL_S);
  }, 60_000);
  // a failed test prints what the server's health checks saw (the flip it may not have expected)
  afterEach((ctx) => {
    if (ctx.task.result?.state === 'fail' && f) console.log(f.healthReport());
  });
  afterAll(async () => {
    await f?.dispose();
  });

  const ask = (from: 'east' | 'west') => dnsQuery(f.dns, f.sources[from])(GEO_NAME);

  it('answers each client region with its own region, with the declared TTL', async () => {
    // the first answers may precede the first health check: wait for both to settle
    await expect.poll(async () => (await ask('east'))[0]?.address, { timeout: 5_000, interval: 100 }).toBe(f.entries.east);
    expect(await ask('east')).toEqual([{ address: f.entries.east, ttl: TTL_S }]);
    expect(await ask('west')).toEqual([{ address: f.entries.west, ttl: TTL_S }]);
  });

  it('a drained region answers by weight from the next query on, and the record written back is the deployed one exactly', async () => {
    const deployed = readGeoRecord(f.zoneDb, f.config);
    expect(deployed).toBe(renderGeoLua(f.config));
    const share = async (n: number) => {
      let east = 0;
      for (let i = 0; i < n; i++) if ((await ask('east'))[0]?.address === f.entries.east) east += 1;
      return east / n;
    };
    const measured: Record<number, number> = {};
    for (const percent of [50, 0]) {
      updateGeoRecord(f.zoneDb, f.config, { addresses: [f.entries.east], percent });
      // no cache: the very next answer follows the rewritten record
      measured[percent] = await share(200);
    }
    updateGeoRecord(f.zoneDb, f.config);
    measured[100] = await share(50);
    console.log(`[pdns] east's clients answered east, east drained to 50 %: ${measured[50]}, to 0 %: ${measured[0]}, restored: ${measured[100]}`);
    // 200 draws at p = 0.5: outside 0.35..0.65 with probability < 1e-4
    expect(measured[50]).toBeGreaterThan(0.35);
    expect(measured[50]).toBeLessThan(0.65);
    expect(measured[0]).toBe(0);
    expect(measured[100]).toBe(1);
    // west's clients never listed east first: their answer never changed
    expect((await ask('west'))[0]!.address).toBe(f.entries.west);
    expect(readGeoRecord(f.zoneDb, f.config)).toBe(deployed);
  }, 30_000);

  it('answers the other region once a region stops serving, within a few health checks', async () => {
    const t0 = performance.now();
    await f.kill('east');
    let answer = f.entries.east;
    while (answer === f.entries.east && performance.now() - t0 < 15_000) {
      answer = (await ask('east'))[0]!.address;
      if (answer === f.entries.east) await new Promise((r) => setTimeout(r, 25));
    }
    const ms = performance.now() - t0;
    console.log(`[pdns] east down -> east's clients answered west after ${ms.toFixed(0)} ms (health check every ${PDNS_HEALTH_INTERVAL_S} s)`);
    expect(answer).toBe(f.entries.west);
    // ifurlup's checks run every interval with a 2 s timeout for a dead one: beyond that is not the check
    expect(ms).toBeLessThan((PDNS_HEALTH_INTERVAL_S + 2) * 1000 + 2_000);
    // west's own clients never moved
    expect((await ask('west'))[0]!.address).toBe(f.entries.west);
  }, 30_000);

  it('answers east again once it is back (failback)', async () => {
    await f.revive('east');
    await expect.poll(async () => (await ask('east'))[0]?.address, { timeout: 10_000, interval: 100 }).toBe(f.entries.east);
  }, 15_000);

  it('with every region down a view answers one candidate at random (why readiness asks 8 times in a row), and its own every time once back', async () => {
    await Promise.all([f.kill('east'), f.kill('west')]);
    const eastView = async () => (await ask('east')).map((a) => a.address);
    try {
      // east's own check has failed once its view answers west
      await expect.poll(async () => (await eastView())[0], { timeout: 10_000, interval: 100 }).toBe(f.entries.west);
      await expect.poll(async () => (await eastView())[0], { timeout: 10_000, interval: 100 }).toBe(f.entries.west);
      const seen = new Set<string>();
      for (let i = 0; i < 40; i++) for (const a of await eastView()) seen.add(a);
      // one at a time, both over 40 answers (all 40 alike: 2 in 10^12)
      expect([...seen].sort()).toEqual([f.entries.east, f.entries.west].sort());
    } finally {
      await Promise.all([f.revive('east'), f.revive('west')]);
    }
    // back: each view answers its own region, FIRST_CHOICE_SAMPLES times in a row (once is not
    // enough: while a check is pending a view may answer its own region by chance)
    const ownInARow = async (r: 'east' | 'west') => {
      for (let i = 0; i < FIRST_CHOICE_SAMPLES; i++) if ((await ask(r))[0]?.address !== f.entries[r]) return false;
      return true;
    };
    for (const r of ['east', 'west'] as const) await expect.poll(() => ownInARow(r), { timeout: 10_000, interval: 100 }).toBe(true);
  }, 30_000);
});
