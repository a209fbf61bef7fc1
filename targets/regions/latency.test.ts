// The latency table, its overrides and the baseline toxics, pure (the real Toxiproxy:
// latency.int.test.ts).
import { describe, expect, it } from 'vitest';
import { usageLine } from '../../harness/testing/usage-error.ts';
import type { DeployPlan } from '../../harness/topology/plan.ts';
import { baselineToxics, crossRegionEdges, DEFAULT_ONE_WAY_MS, DEFAULT_REGIONS, formatLatencyTable, oneWayMs, parseLatencyOverrides, replicationBaseline, wanTable } from './latency.ts';

describe('latency table', () => {
  it('holds the documented defaults in either order, 0 inside a region', () => {
    expect(oneWayMs(DEFAULT_ONE_WAY_MS, 'us-east', 'us-west')).toBe(30);
    expect(oneWayMs(DEFAULT_ONE_WAY_MS, 'us-west', 'us-east')).toBe(30);
    expect(oneWayMs(DEFAULT_ONE_WAY_MS, 'eu', 'us-east')).toBe(40);
    expect(oneWayMs(DEFAULT_ONE_WAY_MS, 'us-west', 'eu')).toBe(40);
    expect(oneWayMs(DEFAULT_ONE_WAY_MS, 'eu', 'eu')).toBe(0);
  });
  it('a pair it lacks is a usage error that says how to give it', () => {
    expect(usageLine(() => oneWayMs(DEFAULT_ONE_WAY_MS, 'eu', 'ap'))).toMatch(/no WAN latency between eu and ap/);
  });
  it('overrides pairs and adds new ones', () => {
    const t = parseLatencyOverrides('eu:us-west=70ms, ap:eu=90');
    expect(oneWayMs(t, 'us-west', 'eu')).toBe(70);
    expect(oneWayMs(t, 'eu', 'ap')).toBe(90);
    expect(oneWayMs(t, 'us-east', 'eu')).toBe(40);
    expect(oneWayMs(DEFAULT_ONE_WAY_MS, 'us-west', 'eu')).toBe(40);
  });
  it('refuses bad overrides in one line', () => {
    expect(usageLine(() => parseLatencyOverrides('eu=70'))).toMatch(/--wan-latency eu=70 is not <region>:<region>=<ms>/);
    expect(usageLine(() => parseLatencyOverrides('eu:eu=7'))).toMatch(/is not <region>:<region>=<ms>/);
    expect(usageLine(() => parseLatencyOverrides('eu:us-east=7,us-east:eu=8'))).toMatch(/names us-east:eu twice/);
  });
  it('spells the default table as --wan-latency takes it, and reads it back unchanged', () => {
    const text = formatLatencyTable(DEFAULT_ONE_WAY_MS);
    expect(text).toBe('us-east:us-west=30ms,eu:us-east=40ms,eu:us-west=40ms');
    expect(wanTable(text, DEFAULT_REGIONS)).toEqual(DEFAULT_ONE_WAY_MS);
  });
  it("a deployment's table: overrides over the default, only its own regions, above 0 and at most 500 ms", () => {
    const t = wanTable('us-west:eu=70ms', DEFAULT_REGIONS);
    expect([oneWayMs(t, 'eu', 'us-west'), oneWayMs(t, 'eu', 'us-east'), oneWayMs(t, 'us-east', 'us-west')]).toEqual([70, 40, 30]);
    expect(wanTable('', DEFAULT_REGIONS)).toEqual(DEFAULT_ONE_WAY_MS);
    expect(usageLine(() => wanTable('ap:eu=90', DEFAULT_REGIONS))).toMatch(/--wan-latency ap:eu=90: no region ap in this deployment \(us-east, us-west, eu\)/);
    expect(usageLine(() => wanTable('us-east:eu=0ms', DEFAULT_REGIONS))).toMatch(/above 0 and at most 500 ms/);
    expect(usageLine(() => wanTable('us-east:eu=501', DEFAULT_REGIONS))).toMatch(/above 0 and at most 500 ms/);
    expect(wanTable('us-east:eu=500', DEFAULT_REGIONS).get('eu|us-east')).toBe(500);
    // a region the default table lacks has no pair: said, with how to give it
    expect(usageLine(() => wanTable('', ['us-east', 'ap']))).toMatch(/no WAN latency between us-east and ap/);
  });
});

describe('baseline toxics', () => {
  const p = {
    hosts: [
      { name: 'a', region: 'us-east' },
      { name: 'b', region: 'eu' },
      { name: 'c', region: 'us-east' },
    ],
    services: [
      { name: 'app-east', host: 'a' },
      { name: 'pg-eu', host: 'b' },
      { name: 'pg-east', host: 'c' },
    ],
    edges: [
      { name: 'app-east->pg-eu', from: 'app-east', to: 'pg-eu', proxied: true },
      { name: 'app-east->pg-east', from: 'app-east', to: 'pg-east', proxied: true },
      { name: 'app-east->pg-eu-direct', from: 'app-east', to: 'pg-eu', proxied: false },
    ],
  } as unknown as DeployPlan;

  it('only proxied edges that cross regions get one, on each direction', () => {
    expect(crossRegionEdges(p)).toEqual([{ proxy: 'app-east->pg-eu', from: 'us-east', to: 'eu' }]);
    expect(baselineToxics(crossRegionEdges(p), DEFAULT_ONE_WAY_MS)).toEqual([
      { proxy: 'app-east->pg-eu', name: 'baseline.wan.upstream', type: 'latency', stream: 'upstream', toxicity: 1, attributes: { latency: 40, jitter: 0 } },
      { proxy: 'app-east->pg-eu', name: 'baseline.wan.downstream', type: 'latency', stream: 'downstream', toxicity: 1, attributes: { latency: 40, jitter: 0 } },
    ]);
  });
});

describe('replication baseline', () => {
  it("gives each member's proxy its nearest other member's one-way latency, none inside one region", () => {
    const members = [
      { proxy: 'r->a', region: 'us-east' },
      { proxy: 'r->b', region: 'us-west' },
      { proxy: 'r->c', region: 'eu' },
      { proxy: 'r->d', region: 'eu' },
    ];
    const ms = (p: string) => replicationBaseline(members, parseLatencyOverrides('us-east:eu=45')).filter((t) => t.proxy === p).map((t) => `${t.stream}:${t.attributes.latency}`);
    expect(ms('r->a')).toEqual(['upstream:30', 'downstream:30']);
    expect(ms('r->b')).toEqual(['upstream:30', 'downstream:30']);
    // eu's nearest other region is us-west (40) now that us-east is 45; its fellow eu member does not count
    expect(ms('r->c')).toEqual(['upstream:40', 'downstream:40']);
    expect(replicationBaseline([{ proxy: 'r->x', region: 'eu' }, { proxy: 'r->y', region: 'eu' }], DEFAULT_ONE_WAY_MS)).toEqual([]);
  });
});
