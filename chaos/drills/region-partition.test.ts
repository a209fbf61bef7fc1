import { describe, expect, it } from 'vitest';
import { planOf } from '../testing/fakes.ts';
import { clientRegionFigures, cutOf, firstPrimaryAmong, lastAccepted, regionPartition, splitBrain, type RolePoll, type WriteAttempt } from './region-partition.ts';
import { newDrillState } from './types.ts';
import { namedRegion } from './lookup.ts';
import { WRITE_REGION } from './datacenter-outage.ts';
import { LatencyHistogram } from '../../harness/load/histogram.ts';
import type { LoadOutcome } from '../../harness/load/types.ts';

const poll = (tS: number, e: string, w: string, u: string): RolePoll => ({ tS, roles: { 'us-east': e, 'us-west': w, eu: u } as RolePoll['roles'] });
const write = (router: string, sentS: number, atS: number, member: string | null, id: number | null = member ? Math.round(atS * 10) : null): WriteAttempt => ({ router, sentS, atS, member, id, token: `t-${router}-${sentS}` });

describe('region-partition', () => {
  const p7 = planOf(7);

  it('cuts every proxied edge between the region and the other data centers, and its replication proxy; nothing inside a region', () => {
    const cut = cutOf(p7, 'eu');
    expect(cut).toContain('pg-router-eu->pg-us-east');
    expect(cut).toContain('pg-router-us-west->pg-eu');
    expect(cut).toContain('pg-eu->etcd-us-west');
    expect(cut).toContain('pg-us-east->etcd-eu');
    expect(cut).toContain('replication->pg-eu');
    expect(cut).not.toContain('pg-router-eu->pg-eu');
    expect(cut).not.toContain('pg-eu->etcd-eu');
    expect(cut.some((e) => e.includes('us-east') && e.includes('us-west'))).toBe(false);
    // each cross-region edge of eu's is cut: the same as a partition of eu from both others
    expect(cut.filter((e) => e.startsWith('pg-router-') && e.endsWith('->pg-eu'))).toEqual(['pg-router-us-east->pg-eu', 'pg-router-us-west->pg-eu']);
  });

  it('schedules one fault, on the leader\'s region by default, a named one when given; refuses an unknown region', () => {
    const [item, ...rest] = regionPartition.schedule(p7, { atS: 15, durationS: 30, params: [], users: 100 }, newDrillState());
    expect(rest).toEqual([]);
    expect([item!.fault.name, item!.fault.target]).toEqual(['region-partition', 'write-region']);
    const named = regionPartition.schedule(p7, { atS: 15, durationS: 30, params: [], users: 100, target: 'us-west' }, newDrillState())[0]!;
    expect(named.fault.target).toBe('us-west');
    expect(() => namedRegion(p7, 'ap-south', 'region-partition', WRITE_REGION)).toThrow(/ap-south is not a region of this deployment \(drill region-partition\)/);
  });

  it('applies only with three regions or more behind a geo DNS, through Toxiproxy', () => {
    expect(regionPartition.applies(p7).ok).toBe(true);
    const a = regionPartition.applies(planOf(5));
    expect(a.ok).toBe(false);
    expect(a.ok ? '' : a.reason).toMatch(/no geo DNS/);
  });

  it('sees no split brain in a clean failover: the old leader stops, then the new one starts', () => {
    const polls = [poll(0, 'primary', 'replica', 'replica'), poll(5, 'primary', 'replica', 'replica'), poll(9, 'replica', 'replica', 'replica'), poll(12, 'replica', 'primary', 'replica')];
    const writes = [
      write('us-east', 0, 0.05, 'us-east'),
      write('us-east', 8, 8.05, 'us-east'),
      write('us-west', 0, 1, null),
      write('us-west', 12, 12.1, 'us-west'),
      write('eu', 12.5, 12.7, 'us-west'),
      // a slow answer from the old leader, sent before the new one's first write: not a proof
      write('us-east', 11.9, 12.3, null),
    ];
    const sb = splitBrain(polls, writes);
    expect(sb).toEqual({ twoPrimaryPolls: [], interleaved: null });
    expect(lastAccepted(polls, writes, 'us-east')).toEqual({ writeS: 8.05, primaryS: 5 });
    expect(firstPrimaryAmong(polls, ['us-west', 'eu'])).toEqual({ tS: 12, region: 'us-west' });
  });

  it('NEGATIVE CONTROL: reports split brain when two members answer /primary in one round', () => {
    const polls = [poll(0, 'primary', 'replica', 'replica'), poll(11, 'primary', 'primary', 'replica'), poll(12, 'replica', 'primary', 'replica')];
    expect(splitBrain(polls, []).twoPrimaryPolls).toEqual([11]);
  });

  it('NEGATIVE CONTROL: reports split brain when two members acknowledge writes in strict alternation', () => {
    const writes = [
      write('us-east', 10, 10.1, 'us-east'),
      write('us-west', 10.5, 10.6, 'us-west'),
      write('us-east', 11, 11.1, 'us-east'),
    ];
    expect(splitBrain([], writes).interleaved).toEqual({ a: 'us-east', b: 'us-west', atS: 11.1 });
    // the same acknowledgements overlapping in time prove nothing: each commit lies in [sent, answered]
    const overlapping = [write('us-east', 10, 10.6, 'us-east'), write('us-west', 10.5, 10.7, 'us-west'), write('us-east', 10.65, 11, 'us-east')];
    expect(splitBrain([], overlapping).interleaved).toBeNull();
  });
});

describe('clientRegionFigures', () => {
  const hdr = (ms: number, n: number) => {
    const h = new LatencyHistogram(2);
    for (let i = 0; i < n; i++) h.recordMs(ms);
    return h.encode();
  };
  // a client region at 10 ms before a fault at 2 s, 300 ms inside it (2..4), 10 ms after
  const seconds = [0, 1, 2, 3, 4, 5].map((t) => ({ t, ok: { eu: 10 }, errors: 0, hdr: hdr(t >= 2 && t < 4 ? 300 : 10, 10) }));
  const load = { results: { regions: { eu: { source: '127.0.0.1', requests: 60, errors: 0, latencyMs: { p50: 10, p90: 300, p95: 300, p99: 300, max: 300, mean: 103 }, dns: { queries: 0, failures: 0, changes: [] }, seconds } } } } as unknown as LoadOutcome;
  it("gives each client region's p50/p99 before and during the drill's fault window, from merged histograms", () => {
    const f = clientRegionFigures({ load, windows: [{ name: 'wan-degradation', target: 'x5', startS: 2, endS: 4 }] });
    expect(f['requests.eu']).toBe(60);
    expect(f['p50BeforeMs.eu']).toBeCloseTo(10, 0);
    expect(f['p99BeforeMs.eu']).toBeCloseTo(10, 0);
    expect(f['p50DuringMs.eu']).toBeCloseTo(300, -1);
    expect(f['p99DuringMs.eu']).toBeCloseTo(300, -1);
  });
  it('without a fault window, no before/during figures (not zeros)', () => {
    const f = clientRegionFigures({ load, windows: [] });
    expect(f['p99Ms.eu']).toBe(300);
    expect(Object.keys(f).some((k) => k.includes('Before') || k.includes('During'))).toBe(false);
  });
});
