import { describe, expect, it } from 'vitest';
import { planOf } from '../testing/fakes.ts';
import { datacenterOutage, failedRegion, firstAnswer } from './datacenter-outage.ts';
import { newDrillState } from './types.ts';

describe('datacenter-outage', () => {
  const p7 = planOf(7);

  it('takes the named region down as one fault, every host of it but the control host, and reads the writes through a survivor', () => {
    const state = newDrillState();
    const [item, ...rest] = datacenterOutage.schedule(p7, { atS: 15, durationS: 30, params: [], users: 100, target: 'eu' }, state);
    expect(rest).toEqual([]);
    expect([item!.fault.name, item!.fault.target, item!.startS, item!.durationS]).toEqual(['region-down', 'eu', 15, 30]);
    expect(item!.fault.describe()).toBe('region eu down: dcs-eu, db-eu, route-eu, sessions-eu, app-eu-1, lb-eu');
    expect(state.primaries.get('main')).toBe('pg-router-us-east');
    // us-east's hosts exclude the harness's control host, which the plan files under the first region
    expect(datacenterOutage.schedule(p7, { atS: 15, durationS: 30, params: [], users: 100, target: 'us-east' }, newDrillState())[0]!.fault.describe()).toBe(
      'region us-east down: dcs-us-east, db-us-east, route-us-east, sessions-us-east, app-us-east-1, lb-us-east',
    );
    // unnamed: the write region, picked at the fault (the leader moves between deployments)
    const dflt = datacenterOutage.schedule(p7, { atS: 15, durationS: 30, params: [], users: 100 }, newDrillState())[0]!;
    expect([dflt.fault.target, dflt.fault.describe()]).toEqual(['write-region', "the write region (the Patroni leader's) down, every host of it"]);
    expect(datacenterOutage.hypothesis(p7, { atS: 15, durationS: 30, params: [], users: 100 }).text).toMatch(/^every host of the write region \(where the Patroni leader is at the fault\) dies at once/);
  });

  it('refuses a region the deployment does not have, naming its regions', () => {
    expect(() => failedRegion(p7, { target: 'ap-south' })).toThrow(/ap-south is not a region of this deployment \(drill datacenter-outage\)/);
  });

  it('applies only where regions stand behind a geo DNS', () => {
    expect(datacenterOutage.applies(p7).ok).toBe(true);
    const p5 = datacenterOutage.applies(planOf(5));
    expect(p5.ok ? '' : p5.reason).toMatch(/^it takes a whole region down behind a geo DNS, and phase 5 has no geo DNS \(run phase 7\)$/);
  });

  it("reads convergence and failback off a client region's DNS answer changes", () => {
    const changes = [
      { atS: -0.01, address: '127.1.12.1' },
      { atS: 16.2, address: null },
      { atS: 17.0, address: '127.1.15.1' },
      { atS: 59.8, address: '127.1.12.1' },
    ];
    // a failed lookup is not an answer of another region
    expect(firstAnswer(changes, 15, '127.1.12.1', 'other')).toBe(17.0);
    expect(firstAnswer(changes, 45, '127.1.12.1', 'own')).toBe(59.8);
    // a pinned client never moves: no convergence (null, not 0)
    expect(firstAnswer([{ atS: 0, address: '127.1.12.1' }], 15, '127.1.12.1', 'other')).toBeNull();
  });
});
