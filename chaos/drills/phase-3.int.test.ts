// Drills on a real phase 3 (HAProxy, three app servers, a PostgreSQL primary and a replica, the
// sessions Redis, every edge through Toxiproxy): a dead app server costs (almost) nothing, and a
// dead primary is failed over with no acknowledged write lost (under --replication sync).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { toxiproxyClient } from '../../harness/runtime/toxiproxy-client.ts';
import { PG_CREDENTIALS } from '../../targets/app/config.ts';
import type { DrillResult } from '../../reports/schema.ts';
import { runDrill } from '../run-drill.ts';
import { dbPrimaryFailure } from './db-primary-failure.ts';
import { drillTiming } from './index.ts';
import { deployPhase, type TestDeployment } from '../testing/deploy.ts';

async function onPrimary<T>(d: TestDeployment, service: string, fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const at = d.plan.services.find((s) => s.name === service)!.address;
  const c = new pg.Client({ host: at.host, port: at.port, ...PG_CREDENTIALS });
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
}

describe('phase 3 drills', () => {
  let d: TestDeployment;
  beforeAll(async () => {
    d = await deployPhase('chaos-p3', 3, { appServers: 3, replicas: 1 }, { users: 2000, rate: 60 });
  }, 240_000);
  afterAll(async () => {
    if (d) expect(await d.dispose()).toEqual([]);
  });

  it('dead-server: under 1% errors, the victim back in rotation after its restart', async () => {
    // The tail counts from when the revert completed (the restarted victim ready, which takes up to
    // ~4.5 s on a 0.2-core app host): 10 s leave the balancer's checks (rise 2 x 500 ms) time to see it back.
    const out = await runDrill({ deployment: d.deployment, drill: 'dead-server', load: d.load, atS: 5, durationS: 6, tailS: 10 });
    const r = out.drill;
    console.log(`phase 3 dead-server: ${JSON.stringify({ pass: r.pass, detect: r.timeToDetectS, recover: r.timeToRecoverS, errors: r.errorsDuringFault, figures: r.figures, reasons: r.reasons })}`);
    expect(r.figures.errorRateDuringFault as number).toBeLessThan(0.01);
    expect(r.figures.victimBackInRotationS).not.toBeNull();
    expect(r.figures.victimBackInRotationS as number).toBeLessThan(5);
    expect(out.faults[0]).toMatchObject({ name: 'kill', target: 'app-3' });
    expect(r.writes!.lost).toBe(0);
    expect(r.pass).toBe(true);
  }, 90_000);

  // The other drills that make sense here: each must hold its hypothesis on this fleet.
  // A partitioned app server answers 503 (its store is unreachable) until the balancer's health
  // checks take it out: about a second of its share of the traffic, measured, not hidden.
  const expectations: Record<string, (r: DrillResult) => void> = {
    // the requests the hung server had accepted wait for HAProxy's timeout server (2 s), then are
    // replayed on another server (retry-on response-timeout, redispatch): nothing fails
    'hung-server': (r) => {
      expect(r.figures.errorRateDuringFault as number).toBeLessThan(0.01);
      expect(r.figures.victimBackInRotationS as number).toBeLessThan(3);
      expect(r.pass).toBe(true);
    },
    'replica-loss': (r) => expect(r.pass).toBe(true),
    'slow-database': (r) => expect(r.pass).toBe(true),
    'network-partition': (r) => {
      expect(r.figures.errorRateDuringFault as number).toBeLessThan(0.05);
      if (r.timeToRecoverS !== null) expect(r.timeToRecoverS).toBeLessThanOrEqual(3);
      expect(r.pass).toBe(true);
    },
  };
  for (const [drill, durationS] of [['hung-server', 5], ['replica-loss', 5], ['network-partition', 5], ['slow-database', 5]] as const) {
    it(`${drill} holds its hypothesis`, async () => {
      await onPrimary(d, 'pg-primary', (c) => c.query('DELETE FROM users WHERE id > $1', [d.load.users]));
      const out = await runDrill({ deployment: d.deployment, drill, load: d.load, atS: 5, durationS, tailS: 6 });
      const r = out.drill;
      console.log(`phase 3 ${drill}: ${JSON.stringify({ codes: out.load.results.statusCodes, pass: r.pass, detect: r.timeToDetectS, recover: r.timeToRecoverS, errors: r.errorsDuringFault, p99: [r.latencyBeforeP99, r.latencyDuringP99], figures: r.figures, reasons: r.reasons })}`);
      // the seconds the verdict's detect and recover come from: [t, completed, failed, p99 ms]
      console.log(`phase 3 ${drill} seconds: ${JSON.stringify(out.load.results.series.filter((p) => p.t >= 4).map((p) => [p.t, p.requests, p.errors, p.p99 === null ? null : Math.round(p.p99)]))}`);
      expect(out.faults.every((w) => w.endS !== null)).toBe(true);
      expect(r.writes!.lost).toBe(0);
      expect(r.reasons).toEqual(expect.arrayContaining([expect.stringMatching(/requests failed during the fault/)]));
      expectations[drill]!(r);
    }, 90_000);
  }
});

// "No acknowledged write is lost" is what synchronous replication promises, so the drill that
// asserts it runs on a deployment that has it. Under async (the default) a write acknowledged in
// the replication lag before the kill is lost at the promotion: this test, on async, lost 1 of 858
// (and 4 and 1 in 2 of 6 runs before); write-loss.int.test.ts makes that loss happen on purpose.
describe('phase 3 db-primary-failure under --replication sync', () => {
  let d: TestDeployment;
  beforeAll(async () => {
    d = await deployPhase('chaos-p3s', 3, { appServers: 3, replicas: 1, replication: 'sync' }, { users: 2000, rate: 60 });
  }, 240_000);
  afterAll(async () => {
    if (d) expect(await d.dispose()).toEqual([]);
  });

  it('db-primary-failure: the replica is promoted, writes resume, no acknowledged write is lost', async () => {
    // The engine numbers sign-ups users+1, users+2... in every load: the last drill's would collide.
    await onPrimary(d, 'pg-primary', (c) => c.query('DELETE FROM users WHERE id > $1', [d.load.users]));
    // The verdict judges the seconds after the allowed outage (outageAllowedS from the kill): the
    // tail covers it and 10 s more, so the recovered service is judged on a real sample.
    const outageAllowedS = dbPrimaryFailure.hypothesis(d.plan, drillTiming(dbPrimaryFailure, { atS: 5, users: d.load.users })).outageAllowedS!;
    const tailS = outageAllowedS + 10;
    const out = await runDrill({ deployment: d.deployment, drill: 'db-primary-failure', load: d.load, atS: 5, tailS });
    const r = out.drill;
    console.log(`phase 3 db-primary-failure: ${JSON.stringify({ endpoints: Object.fromEntries(Object.entries(out.load.results.endpoints).map(([k, e]) => [k, [e.requests, e.errors]])), codes: out.load.results.statusCodes, kinds: out.load.results.errorKinds, pass: r.pass, detect: r.timeToDetectS, recover: r.timeToRecoverS, errors: r.errorsDuringFault, writes: r.writes, figures: r.figures, reasons: r.reasons })}`);
    expect(out.faults.map((w) => w.name)).toEqual(['kill', 'failover']);
    expect(r.figures.newPrimary).toBe('pg-primary-replica-1');
    expect(r.figures.writeOutageS).not.toBeNull();
    expect(r.figures.writeOutageS as number).toBeLessThan(10);
    expect(r.writes!.acknowledged).toBeGreaterThan(100);
    expect(r.writes!.lost).toBe(0);
    expect(r.timeToRecoverS!).toBeLessThan(10);
    // judged on at least 10 s after the allowed outage
    expect(out.load.results.durationS - (out.faults[0]!.startS + outageAllowedS)).toBeGreaterThanOrEqual(10);
    expect(r.pass).toBe(true);
    // the apps' write edges now lead to the promoted replica, which accepts writes
    const replica = d.plan.services.find((s) => s.name === 'pg-primary-replica-1')!.address;
    const proxies = await toxiproxyClient(d.plan.toxiproxy!.api).listProxies();
    for (const name of ['app-1->pg-primary', 'app-2->pg-primary', 'app-3->pg-primary']) {
      expect(proxies.find((p) => p.name === name)!.upstream).toBe(`${replica.host}:${replica.port}`);
    }
    const promoted = await onPrimary(d, 'pg-primary-replica-1', (c) => c.query('SELECT pg_is_in_recovery() AS r'));
    expect(promoted.rows[0].r).toBe(false);
  }, 150_000);
});
