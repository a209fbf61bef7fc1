// The latency table, its overrides and the baseline toxics, pure (the real Toxiproxy:
// latency.int.test.ts).
import { describe, expect, it } from 'vitest';
import { usageLine } from '../../harness/testing/usage-error.ts';
import type { DeployPlan } from '../../harness/topology/plan.ts';
import { baselineToxics, crossRegionEdges, DEFAULT_ONE_WAY_MS, oneWayMs, parseLatencyOverrides } from './latency.ts';

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
