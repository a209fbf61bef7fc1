import { describe, expect, it } from 'vitest';
import { failoverAction, mostAdvanced } from '../actions/failover.ts';
import { faultContext } from '../fault-runner.ts';
import { FakeToxiproxy, fakeDeployment, planOf } from '../testing/fakes.ts';
import { longestGap } from './db-primary-failure.ts';
import { drills, drillsByPhase, drillsFor, drillTiming, validateDrill } from './index.ts';
import { shardShare } from './shard-outage.ts';
import { newDrillState } from './types.ts';
import { usageLine as usage } from '../../harness/testing/usage-error.ts';


const timing = (name: string, o: { target?: string; params?: string[] } = {}) => drillTiming(drills.get(name)!, { users: 1000, ...o });

describe('drill registry and phase validation', () => {
  it('has the drills of the issue', () => {
    expect([...drills.keys()].sort()).toEqual(
      ['backlog-drain', 'broker-outage', 'cache-outage', 'cdn-outage', 'datacenter-outage', 'db-primary-failure', 'dead-server', 'hung-server', 'network-partition', 'poison-message', 'region-evacuation', 'region-partition', 'replica-loss', 'service-down', 'shard-outage', 'slow-consumer', 'slow-database', 'wan-degradation', 'worker-crash'].sort(),
    );
  });
  it('an unknown drill lists them all', () => {
    expect(usage(() => validateDrill('meteor', planOf(3)))).toMatch(/unknown drill meteor — drills: dead-server, hung-server, db-primary-failure/);
  });
  it('a drill that does not apply says why and lists the valid ones', () => {
    expect(usage(() => validateDrill('replica-loss', planOf(1)))).toMatch(/drill replica-loss does not apply to phase 1: it kills a read replica, and phase 1 keeps its users in SQLite: there is no PostgreSQL store — drills for phase 1: dead-server, hung-server$/);
    expect(usage(() => validateDrill('shard-outage', planOf(4)))).toMatch(/drills for phase 4: .*cache-outage, cdn-outage/);
  });
  it('every built phase offers dead-server; phase 5 offers all but the microservices drills, which phase 6 offers', () => {
    for (let p = 1; p <= 6; p++) expect(drillsFor(planOf(p)).map((d) => d.name)).toContain('dead-server');
    const five = drillsFor(planOf(5)).map((d) => d.name);
    const microservices = ['broker-outage', 'worker-crash', 'poison-message', 'service-down', 'backlog-drain', 'slow-consumer'];
    // and the regions' drill, which phase 7 offers
    expect([...drills.keys()].filter((n) => !five.includes(n))).toEqual([...microservices, 'datacenter-outage', 'region-partition', 'region-evacuation', 'wan-degradation']);
    expect(drillsFor(planOf(7)).map((d) => d.name)).toContain('datacenter-outage');
    expect(drillsFor(planOf(6)).map((d) => d.name)).toEqual(expect.arrayContaining(microservices));
  });
});

describe('each drill schedules against a real phase plan', () => {
  const cases: Array<[string, number, Array<[string, string, number | null]>]> = [
    ['dead-server', 1, [['kill', 'app', 20]]],
    ['dead-server', 3, [['kill', 'app-3', 20]]],
    ['hung-server', 3, [['hang', 'app-3', 10]]],
    ['replica-loss', 3, [['kill', 'pg-primary-replica-1', 20]]],
    ['db-primary-failure', 3, [['kill', 'pg-primary', null], ['failover', 'pg-primary->pg-primary-replica-1|pg-primary-replica-2', 0]]], // two replicas: the most advanced one at the kill is promoted
    ['cache-outage', 4, [['kill', 'redis-cache', 20]]],
    ['cdn-outage', 4, [['kill', 'cdn', 20]]],
    ['shard-outage', 5, [['kill', 'pg-shard-b', 20]]],
    ['slow-database', 2, [['latency', 'app->db', 20]]],
    ['worker-crash', 6, [['kill', 'worker-1', 10]]],
    ['poison-message', 6, [['poison-uploads', 'lb', 10]]],
    ['service-down', 6, [['kill', 'payment', 10]]],
    ['backlog-drain', 6, [['stop', 'workers', 15]]],
    ['slow-consumer', 6, [['latency', 'worker->db', 15]]],
    ['datacenter-outage', 7, [['region-down', 'write-region', 30]]],
    ['region-partition', 7, [['region-partition', 'write-region', 30]]],
    ['region-evacuation', 7, [['region-evacuation', 'replica-region', 30]]],
    ['wan-degradation', 7, [['wan-degradation', 'x5', 30]]],
    ['network-partition', 3, [['partition', 'app-host-3|db-host-primary+db-host-primary-replica-1+db-host-primary-replica-2+cache-host', 20]]],
  ];
  for (const [name, phase, expected] of cases) {
    it(`${name} on phase ${phase}`, () => {
      const plan = planOf(phase);
      const d = validateDrill(name, plan);
      const s = d.schedule(plan, timing(name), newDrillState());
      expect(s.map((x) => [x.fault.name, x.fault.target, x.durationS])).toEqual(expected);
      expect(s.every((x) => x.startS === d.defaults.atS)).toBe(true);
      const h = d.hypothesis(plan, timing(name));
      expect(h.maxErrorRate).toBeGreaterThan(0);
      expect(h.text.length).toBeGreaterThan(20);
    });
  }

  it('dead-server on phase 1 expects to fail and says why; on phase 3 it expects to hold', () => {
    const d = drills.get('dead-server')!;
    expect(d.hypothesis(planOf(1), timing('dead-server')).expectedFailure).toMatch(/single point of failure/);
    expect(d.hypothesis(planOf(3), timing('dead-server')).expectedFailure).toBeUndefined();
  });

  it('targets are validated with the valid ones listed', () => {
    const p3 = planOf(3);
    expect(usage(() => drills.get('dead-server')!.schedule(p3, timing('dead-server', { target: 'lb' }), newDrillState()))).toMatch(/lb is not an app server .*app-1, app-2, app-3/);
    expect(usage(() => drills.get('replica-loss')!.schedule(p3, timing('replica-loss', { target: 'pg-primary' }), newDrillState()))).toMatch(/not a read replica/);
    // what a drill needs is judged by validateDrill (applies()) before schedule() is called
    expect(usage(() => validateDrill('replica-loss', planOf(3, { replicas: 0 })))).toMatch(/has none.*--replicas 1/);
    expect(usage(() => validateDrill('db-primary-failure', planOf(3, { replicas: 0 })))).toMatch(/promotes a replica of a sharded PostgreSQL store, and no shard of phase 3 has one/);
    expect(usage(() => drills.get('db-primary-failure')!.schedule(planOf(3, { replicas: 0 }), timing('db-primary-failure'), newDrillState()))).toMatch(/needs a sharded PostgreSQL store/);
    expect(usage(() => drills.get('cdn-outage')!.schedule(planOf(4), timing('cdn-outage', { target: 'moon' }), newDrillState()))).toMatch(/neither edge nor origin/);
    expect(usage(() => validateDrill('shard-outage', planOf(5, { shards: 1 })))).toMatch(/two shards or more/);
    const p6 = planOf(6);
    expect(usage(() => drills.get('worker-crash')!.schedule(p6, timing('worker-crash', { target: 'payment-1' }), newDrillState()))).toMatch(/payment-1 is not a worker .*worker-1/);
    expect(usage(() => drills.get('service-down')!.schedule(p6, timing('service-down', { target: 'uploads' }), newDrillState()))).toMatch(/not a service it can kill/);
    for (const rate of ['0', '-1', 'lots', '500']) expect(usage(() => drills.get('poison-message')!.schedule(p6, timing('poison-message', { params: [rate] }), newDrillState()))).toMatch(/poison uploads per second must be a number/);
  });

  it('backlog-drain stops every worker; slow-consumer slows every worker -> jobs database edge, with the latency given', () => {
    const p6 = planOf(6);
    const [b] = drills.get('backlog-drain')!.schedule(p6, timing('backlog-drain'), newDrillState());
    expect(b!.fault.describe()).toBe('graceful stop of worker-1, worker-2');
    const [s] = drills.get('slow-consumer')!.schedule(p6, timing('slow-consumer', { params: ['1s'] }), newDrillState());
    expect(s!.fault.describe()).toBe('latency 1000 ms on worker-1->jobs-db, worker-2->jobs-db');
    expect(drills.get('slow-consumer')!.hypothesis(p6, timing('slow-consumer')).text).toMatch(/500 ms longer/);
    expect(usage(() => drills.get('slow-consumer')!.schedule(p6, timing('slow-consumer', { params: ['fast'] }), newDrillState()))).toMatch(/latency "fast" is not a duration/);
    expect(usage(() => drills.get('backlog-drain')!.schedule(p6, timing('backlog-drain', { target: 'worker-1' }), newDrillState()))).toMatch(/it stops every worker/);
  });

  it('slow-database covers every app -> database edge, with the latency given', () => {
    const p3 = planOf(3);
    const [s] = drills.get('slow-database')!.schedule(p3, timing('slow-database', { params: ['250ms'] }), newDrillState());
    expect(s!.fault.describe()).toBe('latency 250 ms ± 25 ms on 9 app -> database edges');
  });

  it('cdn-outage:origin cuts the edge from its origin and expects no failure', () => {
    const p4 = planOf(4);
    const d = drills.get('cdn-outage')!;
    const [s] = d.schedule(p4, timing('cdn-outage', { target: 'origin' }), newDrillState());
    expect(s!.fault.describe()).toBe('edge-down on cdn->lb');
    expect(d.hypothesis(p4, timing('cdn-outage', { target: 'origin' })).maxErrorRate).toBe(0.01);
    expect(d.hypothesis(p4, timing('cdn-outage')).maxErrorRate).toBeCloseTo(0.12 + 0.01);
  });

  it('shard-outage probes one cold id per shard, inside its range', () => {
    const p5 = planOf(5, { users: 1000, shards: 2 });
    const probes = drills.get('shard-outage')!.probes!(p5, timing('shard-outage'));
    expect(probes.map((p) => [p.name, p.path])).toEqual([
      ['health', '/healthz'],
      ['write shard a', '/api/users/500'],
      ['write shard b', '/api/users/1000'],
    ]);
    expect(shardShare(p5, { name: 'b', primary: 'x', replicas: [], range: [501, null] }, 1000)).toBeCloseTo(0.5);
  });
});

describe('failover action', () => {
  it('waits for the dead primary, promotes the replica, repoints every edge to it except its own', async () => {
    const plan = planOf(3);
    const deployment = fakeDeployment(plan);
    const tp = new FakeToxiproxy(plan);
    const ctx = faultContext({ deployment, plan, toxiproxy: tp });
    const state = newDrillState();
    const promoted: string[] = [];
    const shard = { name: 'main', primary: 'pg-primary', replicas: ['pg-primary-replica-1', 'pg-primary-replica-2'], range: [0, null] as [number, null] };
    // both received as far: a tie goes to the first
    const f = failoverAction(plan, { shard, detectMs: 5, state, promote: async (svc) => void promoted.push(svc.name), receivedLsn: async () => 0x3000060n });
    deployment.fake.get('pg-primary')!.running = false;
    await f.apply(ctx);
    const r1 = plan.services.find((s) => s.name === 'pg-primary-replica-1')!.address;
    expect(promoted).toEqual(['pg-primary-replica-1']);
    expect(tp.calls.filter((c) => c.startsWith('upstream')).sort()).toEqual(
      ['app-1->pg-primary', 'app-2->pg-primary', 'app-3->pg-primary', 'pg-primary-replica-2->pg-primary'].map((e) => `upstream ${e} ${r1.host}:${r1.port}`),
    );
    expect(state.primaries.get('main')).toBe('pg-primary-replica-1');
    expect(state.figures.newPrimary).toBe('pg-primary-replica-1');
  });

  it('promotes the replica that received the most WAL, and repoints the other one at it', async () => {
    const plan = planOf(3);
    const deployment = fakeDeployment(plan);
    const tp = new FakeToxiproxy(plan);
    const state = newDrillState();
    const promoted: string[] = [];
    const shard = { name: 'main', primary: 'pg-primary', replicas: ['pg-primary-replica-1', 'pg-primary-replica-2'], range: [0, null] as [number, null] };
    const lsns: Record<string, bigint> = { 'pg-primary-replica-1': 0x3000060n, 'pg-primary-replica-2': 0x3000f28n };
    const f = failoverAction(plan, { shard, detectMs: 5, state, promote: async (svc) => void promoted.push(svc.name), receivedLsn: async (n) => lsns[n]! });
    deployment.fake.get('pg-primary')!.running = false;
    await f.apply(faultContext({ deployment, plan, toxiproxy: tp }));
    const r2 = plan.services.find((s) => s.name === 'pg-primary-replica-2')!.address;
    expect(promoted).toEqual(['pg-primary-replica-2']);
    expect(tp.calls.filter((c) => c.startsWith('upstream')).sort()).toEqual(
      ['app-1->pg-primary', 'app-2->pg-primary', 'app-3->pg-primary', 'pg-primary-replica-1->pg-primary'].map((e) => `upstream ${e} ${r2.host}:${r2.port}`),
    );
    expect(state.figures).toMatchObject({ newPrimary: 'pg-primary-replica-2', replicaLsns: 'pg-primary-replica-1 0/3000060, pg-primary-replica-2 0/3000F28' });
  });

  it('mostAdvanced: a replica that cannot say is never chosen over one that can', async () => {
    const down = async (n: string) => (n === 'a' ? null : n === 'b' ? 5n : Promise.reject(new Error('refused')));
    expect(await mostAdvanced(['a', 'b', 'c'], down)).toEqual({ name: 'b', lsns: { a: null, b: '0/5', c: null } });
    expect((await mostAdvanced(['x', 'y'], async () => null)).name).toBe('x');
  });

  it('refuses a shard without a replica', () => {
    const plan = planOf(3);
    expect(() => failoverAction(plan, { shard: { name: 'main', primary: 'pg-primary', replicas: [], range: [0, null] }, detectMs: 0, state: newDrillState() })).toThrow(/no replica to promote/);
  });
});

describe('write outage', () => {
  it('is the longest silence between acknowledged writes that ends after the kill', () => {
    expect(longestGap([1, 2, 8, 9, 9.5, 12.5, 13], 8.5)).toEqual({ gapS: 3, fromS: 9.5, toS: 12.5 });
    expect(longestGap([1], 0)).toBeNull();
  });
});
