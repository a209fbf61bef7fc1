import { describe, expect, it } from 'vitest';
import { drillLookup } from './drills/index.ts';
import { parseSchedule, rejectPastEnd, resolveSchedule } from './schedule.ts';
import { planOf } from './testing/fakes.ts';
import { usageLine as usage } from '../harness/testing/usage-error.ts';


describe('schedule grammar', () => {
  it('parses name, target, parameters, start and length', () => {
    expect(parseSchedule('latency:app-1->pg-primary:200ms:jitter=20ms@10s+20s')).toEqual([
      { text: 'latency:app-1->pg-primary:200ms:jitter=20ms@10s+20s', name: 'latency', target: 'app-1->pg-primary', params: ['200ms', 'jitter=20ms'], atS: 10, durationS: 20 },
    ]);
    expect(parseSchedule('dead-server@30s')[0]).toMatchObject({ name: 'dead-server', target: undefined, atS: 30, durationS: null });
    expect(parseSchedule('dead-server')[0]).toMatchObject({ atS: null, durationS: null });
    expect(parseSchedule('kill:app-2@1m30s+500ms')[0]).toMatchObject({ atS: 90, durationS: 0.5 });
    expect(parseSchedule('kill:app-2@45')[0]).toMatchObject({ atS: 45 });
  });

  it('splits entries on commas and across flags, keeps partition targets whole', () => {
    const e = parseSchedule(['kill:app-1@5s, hang:app-2@6s', 'partition:app-host-1+app-host-2|db-host-primary@7s+3s']);
    expect(e.map((x) => x.name)).toEqual(['kill', 'hang', 'partition']);
    expect(e[2]).toMatchObject({ target: 'app-host-1+app-host-2|db-host-primary', atS: 7, durationS: 3 });
  });

  it('refuses malformed entries with the grammar in the hint', () => {
    expect(usage(() => parseSchedule('kill:app@soon'))).toMatch(/start "soon" is not a time/);
    expect(usage(() => parseSchedule('kill:app@1s+0s'))).toMatch(/length must be positive/);
    expect(usage(() => parseSchedule('Kill@1s'))).toMatch(/no valid name.*name\[:target\]/);
    expect(usage(() => parseSchedule('kill::x@1s'))).toMatch(/empty target/);
  });

  it('resolves faults and drills against the plan', () => {
    const plan = planOf(3);
    const s = resolveSchedule(parseSchedule('dead-server:app-2@30s+5s,latency:lb->app-1:50ms@10s'), plan, drillLookup(1000));
    expect(s.map((x) => [x.fault.name, x.fault.target, x.startS, x.durationS])).toEqual([
      ['latency', 'lb->app-1', 10, null],
      ['kill', 'app-2', 30, 5],
    ]);
    // a drill without a time takes its own defaults
    const d = resolveSchedule(parseSchedule('dead-server'), plan, drillLookup(1000));
    expect(d[0]).toMatchObject({ startS: 10, durationS: 20 });
  });

  it('explains what is wrong: no time, unknown name, invalid target, drill in the wrong phase', () => {
    const plan = planOf(3);
    expect(usage(() => resolveSchedule(parseSchedule('kill:app-1'), plan))).toMatch(/needs a start time — add @<time>, e.g. kill:app-1@30s/);
    expect(usage(() => resolveSchedule(parseSchedule('meteor@1s'), plan, drillLookup(1000)))).toMatch(/unknown fault or drill "meteor".*faults: latency.*drills: dead-server/);
    expect(usage(() => resolveSchedule(parseSchedule('kill:app-7@1s'), plan))).toMatch(/no service app-7/);
    expect(usage(() => resolveSchedule(parseSchedule('cache-outage@1s'), plan, drillLookup(1000)))).toMatch(/drill cache-outage does not apply to phase 3: it kills the read cache/);
  });

  it('refuses a fault that starts at or after the load ends, and accepts one just before', () => {
    const plan = planOf(3);
    const late = resolveSchedule(parseSchedule('kill:app-1@90s,latency:lb->app-1:50ms@10s'), plan);
    expect(usage(() => rejectPastEnd(late, 60))).toMatch(/chaos kill on app-1 at 90 s starts after the load ends \(60 s\)/);
    expect(usage(() => rejectPastEnd(resolveSchedule(parseSchedule('kill:app-1@60s'), plan), 60))).toMatch(/after the load ends/);
    // a drill's default start (10 s) counts too
    expect(usage(() => rejectPastEnd(resolveSchedule(parseSchedule('dead-server'), plan, drillLookup(1000)), 8))).toMatch(/kill on app-3 at 10 s/);
    expect(() => rejectPastEnd(resolveSchedule(parseSchedule('kill:app-1@59s'), plan), 60)).not.toThrow();
  });
});
