import { describe, expect, it } from 'vitest';
import type { RegionResults } from '../../harness/run/results.ts';
import { planOf } from '../testing/fakes.ts';
import { evacuatedRegion, evacuationFigures, evacuationProblems, regionEvacuation, servedShare, stepPeriodS, STEPS } from './region-evacuation.ts';
import { newDrillState } from './types.ts';

/** A client region's seconds: [t, ok by serving region, errors]. */
const seconds = (xs: Array<[number, Record<string, number>, number]>) => xs.map(([t, ok, errors]) => ({ t, ok, errors, hdr: null }));
const region = (xs: Array<[number, Record<string, number>, number]>): RegionResults[string] => ({
  source: '127.1.0.100',
  requests: 0,
  errors: 0,
  latencyMs: null,
  dns: { queries: 0, failures: 0, changes: [] },
  seconds: seconds(xs),
});

describe('region-evacuation', () => {
  const p7 = planOf(7);
  const t = (o: { durationS?: number; params?: string[]; target?: string } = {}) => ({ atS: 10, durationS: 30, params: [], users: 100, ...o });

  it('schedules one fault on a region without the leader (picked at the fault), or the one named', () => {
    const [item, ...rest] = regionEvacuation.schedule(p7, t(), newDrillState());
    expect(rest).toEqual([]);
    expect([item!.fault.name, item!.fault.target, item!.startS, item!.durationS]).toEqual(['region-evacuation', 'replica-region', 10, 30]);
    expect(item!.fault.describe()).toBe("the geo DNS's answers for a region without the Patroni leader stepped down 100 -> 75 -> 50 -> 25 -> 0 %, every 6 s");
    expect(regionEvacuation.schedule(p7, t({ target: 'eu', params: ['step=5s'] }), newDrillState())[0]!.fault.describe()).toMatch(/^the geo DNS's answers for eu stepped down .* every 5 s$/);
    expect(() => evacuatedRegion(p7, { target: 'ap-south' })).toThrow(/ap-south is not a region of this deployment \(drill region-evacuation\)/);
    expect(regionEvacuation.hypothesis(p7, t()).maxErrorRate).toBe(0.001);
  });

  it('steps every period, default the duration over five; every step must start inside the fault', () => {
    expect(STEPS).toEqual([75, 50, 25, 0]);
    expect(stepPeriodS(t())).toBe(6);
    expect(stepPeriodS(t({ params: ['step=5s'] }))).toBe(5);
    expect(stepPeriodS(t({ params: ['step=4'] }))).toBe(4);
    expect(() => stepPeriodS(t({ params: ['step=8s'] }))).toThrow(/^region-evacuation: 4 steps of 8 s do not fit in the fault's 30 s/);
    expect(() => stepPeriodS(t({ params: ['step=never'] }))).toThrow(/^region-evacuation: step=never is not a duration above 0$/);
  });

  it('applies only where regions stand behind a geo DNS', () => {
    expect(regionEvacuation.applies(p7).ok).toBe(true);
    const p5 = regionEvacuation.applies(planOf(5));
    expect(p5.ok ? '' : p5.reason).toMatch(/phase 5 has no geo DNS \(run phase 7\)$/);
  });

  it('share of the completed requests, failures counted; null when nothing completed', () => {
    expect(servedShare(seconds([[0, { a: 3, b: 1 }, 0], [1, { a: 1 }, 1]]), 'a')).toBe(0.667);
    expect(servedShare(seconds([[0, {}, 0]]), 'a')).toBeNull();
  });

  it('per step: the served shares, errors and DNS answers naming the region; drained once the others serve >= 95 % to the end', () => {
    // us-west evacuated; steps at 10, 15, 20, 25 s; the fault ends at 35 s
    const steps = [75, 50, 25, 0].map((percent, i) => ({ percent, fromS: 10 + 5 * i }));
    const westClients: Array<[number, Record<string, number>, number]> = [];
    const eastClients: Array<[number, Record<string, number>, number]> = [];
    for (let s = 0; s < 40; s++) {
      // us-west's own clients: all at home before, then moving; from 27 s all elsewhere
      const home = s < 10 ? 10 : s < 15 ? 8 : s < 20 ? 5 : s < 27 ? 2 : 0;
      westClients.push([s, { 'us-west': home, 'us-east': 10 - home }, 0]);
      eastClients.push([s, { 'us-east': 10 }, s === 22 ? 1 : 0]);
    }
    const regions = { 'us-west': region(westClients), 'us-east': region(eastClients) };
    const answers = [
      { atS: 1, loadS: 11, client: 'us-west', evacuated: true },
      { atS: 2, loadS: 12, client: 'us-west', evacuated: false },
      { atS: 2, loadS: 12, client: 'us-east', evacuated: false },
      { atS: 16, loadS: 26, client: 'us-west', evacuated: false },
      { atS: 16, loadS: 26, client: 'us-west', evacuated: null },
    ];
    const f = evacuationFigures(regions, 'us-west', ['us-east', 'eu'], steps, 35, answers);
    expect(f['servedShare.before']).toBe(0.5);
    expect(f['ownServedShare.before']).toBe(1);
    expect(f['ownServedShare.1']).toBe(0.8);
    expect(f['servedShare.2']).toBe(0.25);
    expect(f['stepErrors.3']).toBe(1);
    expect(f['stepErrors.2']).toBe(0);
    expect(f['weight.4']).toBe(0);
    expect(f['dnsShare.1']).toBe(0.333);
    expect(f['dnsOwnShare.1']).toBe(0.5);
    // the unanswered query counts nowhere
    expect(f['dnsOwnShare.4']).toBe(0);
    expect(f['dnsShare.2']).toBeNull();
    // from 27 s us-west serves nothing: drained 17 s after the first step
    expect(f.drainedS).toBe(17);
    // never drained: null, not the fault's length
    const stuck = evacuationFigures({ 'us-west': region(westClients.map(([s, , e]) => [s, { 'us-west': 10 }, e])) }, 'us-west', ['us-east'], steps, 35, []);
    expect(stuck.drainedS).toBeNull();
  });

  it('fails a region never drained, any failed request, a DNS that still answers it at 0 %, and a region that had nothing to drain', () => {
    const good = { 'servedShare.before': 0.33, drainedS: 12, 'stepErrors.1': 0, 'stepErrors.4': 0, 'dnsShare.4': 0 };
    expect(evacuationProblems(good, 'us-west')).toEqual([]);
    expect(evacuationProblems({ ...good, drainedS: null }, 'us-west')).toEqual(['us-west still served 5 % or more of the requests at the end of the evacuation']);
    expect(evacuationProblems({ ...good, 'stepErrors.2': 3 }, 'us-west')).toEqual(['3 requests failed during the evacuation: a planned drain must cost none']);
    expect(evacuationProblems({ ...good, 'dnsShare.4': 0.1 }, 'us-west')).toEqual(["the geo DNS still answered us-west at 0 % (10 % of the probe's answers)"]);
    // drained from the first second because it never served: not a pass
    expect(evacuationProblems({ ...good, 'servedShare.before': 0, drainedS: 0 }, 'us-west')[0]).toMatch(/^us-west served none of the requests before the evacuation: there was nothing to drain/);
  });
});
