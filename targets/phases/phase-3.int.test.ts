// Phase 3 on real servers (HAProxy, 2 app servers, Redis sessions, a primary and a replica, every
// edge through Toxiproxy): requests spread over the fleet, a session works on every server, a
// write reaches the replica, and a SIGKILLed app server costs under 1% of the requests.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { runLoad } from '../../harness/load/engine.ts';
import { serviceOf } from '../../harness/topology/plan.ts';
import { workloads } from '../../loadtests/workloads.ts';
import { PG_CREDENTIALS } from '../app/config.ts';
import { createUsers, deployPhase, http, type PhaseUnderTest } from './testing/deploy.ts';

const USERS = 40;
let ph: PhaseUnderTest;
let lb = '';

beforeAll(async () => {
  ph = await deployPhase(3, { users: USERS, appServers: 2, replicas: 1, shards: 1, shardStrategy: 'range' }, 'ph3');
  lb = ph.url('lb');
  await createUsers(lb, Array.from({ length: USERS }, (_, i) => i + 1));
}, 90_000);

afterAll(async () => {
  await ph?.dispose();
}, 60_000);

describe('phase 3: load balancer and stateless fleet', () => {
  it('spreads requests over every app server, round robin', async () => {
    const seen = new Map<string, number>();
    for (let i = 0; i < 20; i++) {
      const res = await http('GET', `${lb}/api/users/${(i % USERS) + 1}`);
      expect(res.status).toBe(200);
      const by = String(res.headers['x-served-by']);
      seen.set(by, (seen.get(by) ?? 0) + 1);
    }
    expect([...seen.keys()].sort()).toEqual(['app-1', 'app-2']);
    for (const n of seen.values()) expect(n).toBe(10);
  });

  it('a session created through one server is valid on the other', async () => {
    const login = await http('POST', `${lb}/api/login`, { id: 3 });
    expect(login.status).toBe(200);
    const cookie = String(login.headers['set-cookie']).split(';')[0]!;
    expect(cookie).toMatch(/^sid=./);
    const other = login.headers['x-served-by'] === 'app-1' ? 'app-2' : 'app-1';
    // straight to the other server, bypassing the balancer: only a shared session store can answer
    const me = await http('GET', `${ph.url(other)}/api/me`, undefined, { cookie });
    expect(me.headers['x-served-by']).toBe(other);
    expect(me.status).toBe(200);
    expect(me.body).toMatchObject({ user: { id: 3 } });
    expect((await http('GET', `${ph.url(other)}/api/me`, undefined, { cookie: 'sid=forged' })).status).toBe(401);
  });

  it('a write goes to the primary and is readable on the replica after its lag', async () => {
    const name = `written ${Date.now()}`;
    const put = await http('PUT', `${lb}/api/users/9`, { name });
    expect(put.status).toBe(200);
    const query = async (service: string) => {
      const a = serviceOf(ph.plan, service).address;
      const c = new pg.Client({ host: a.host, port: a.port, ...PG_CREDENTIALS, connectionTimeoutMillis: 2000 });
      await c.connect();
      try {
        return (await c.query<{ name: string; in_recovery: boolean }>('SELECT name, pg_is_in_recovery() AS in_recovery FROM users WHERE id = 9')).rows[0];
      } finally {
        await c.end();
      }
    };
    expect(await query('pg-primary')).toEqual({ name, in_recovery: false });
    const t0 = Date.now();
    await expect.poll(() => query('pg-primary-replica-1'), { timeout: 5_000, interval: 20 }).toEqual({ name, in_recovery: true });
    // on loopback the lag is milliseconds; 5 s would mean replication is broken, not slow
    expect(Date.now() - t0).toBeLessThan(5_000);
  });

  it('a SIGKILLed app server during load costs under 1% of the requests', async () => {
    const victim = ph.dep.service('app-2');
    const killAt = setTimeout(() => void victim.signal('SIGKILL'), 2_000);
    let outcome;
    try {
      outcome = await runLoad({
        targets: { api: lb, static: lb },
        workload: workloads['read-heavy']!,
        users: USERS,
        // stages ramp linearly from the previous rate: 1 s up to 120 req/s, then 5 s at it
        stages: [{ durationS: 1, targetRate: 120 }, { durationS: 5, targetRate: 120 }],
        seed: 3,
        timeoutMs: 5_000,
      });
    } finally {
      clearTimeout(killAt);
    }
    expect(victim.isRunning()).toBe(false);
    const t = outcome.results.totals;
    expect(t.requests, JSON.stringify(t)).toBeGreaterThan(500);
    expect(t.errorRate, JSON.stringify({ ...t, statusCodes: outcome.results.statusCodes, errorKinds: outcome.results.errorKinds })).toBeLessThan(0.01);
    // the survivor took the traffic: the balancer still answers from app-1
    expect((await http('GET', `${lb}/api/users/1`)).headers['x-served-by']).toBe('app-1');
  }, 40_000);
});
