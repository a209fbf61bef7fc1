// A primary with a streaming replica: reads go to the replica, a user's reads go to the primary
// for 2 s after a write to that user (also when another app server took the write), replica lag
// is reported, and a dead replica costs no errors.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp, type BuiltApp } from './app.ts';
import { validateAppConfig } from './config.ts';
import { seedPostgres } from './seed.ts';
import { waitUntil } from './testing/fixture-util.ts';
import { metricSum } from './testing/metrics-text.ts';
import { startPostgres, startReplica, type StartedPostgres } from './testing/pg-fixture.ts';
import { startRedis, type StartedRedis } from './testing/redis-fixture.ts';

let primary: StartedPostgres;
let replica: StartedPostgres;
let redis: StartedRedis;
const apps: Record<string, BuiltApp> = {};

beforeAll(async () => {
  [primary, redis] = await Promise.all([startPostgres({ name: 'pg-primary' }), startRedis({ name: 'redis' })]);
  await seedPostgres([{ name: 'main', range: [0, null], primary: primary.endpoint }], 'range', 1_000, 5);
  replica = await startReplica(primary, { name: 'pg-replica-1' });
  const store = { kind: 'postgres', strategy: 'range', shards: [{ name: 'main', range: [0, null], primary: primary.endpoint, replicas: [replica.endpoint] }] };
  const sessions = { kind: 'redis', redis: redis.endpoint };
  const cache = { redis: redis.endpoint, ttlSeconds: 3600 };
  const make = async (name: string, withCache: boolean, readYourWritesMs?: number) => {
    const config = { name, listen: { host: '127.0.0.1', port: 0 }, store, sessions, cache: withCache ? cache : null, readYourWritesMs };
    apps[name] = await buildApp(validateAppConfig(config), { log: () => {} });
  };
  // app-3's own window is short so that the test of its end stays short
  await Promise.all([make('app-1', true), make('app-2', true), make('app-3', false, 400)]);
});

afterAll(async () => {
  for (const a of Object.values(apps)) await a.close();
  await Promise.all([replica?.stop(), redis?.stop()]);
  await primary?.stop();
});

const text = async (app: string) => (await apps[app].fastify.inject({ method: 'GET', url: '/metrics' })).body;
const reads = async (app: string, role: 'primary' | 'replica') => metricSum(await text(app), 'db_queries_total', { role });
const get = (app: string, id: number) => apps[app].fastify.inject({ method: 'GET', url: `/api/users/${id}` });
const put = (app: string, id: number, name: string) => apps[app].fastify.inject({ method: 'PUT', url: `/api/users/${id}`, payload: { name } });

describe('reads over replicas', () => {
  it('reads from the replica', async () => {
    const [r0, p0] = [await reads('app-3', 'replica'), await reads('app-3', 'primary')];
    for (let id = 1; id <= 5; id++) expect((await get('app-3', id)).statusCode).toBe(200);
    expect((await reads('app-3', 'replica')) - r0).toBe(5);
    expect((await reads('app-3', 'primary')) - p0).toBe(0);
  });

  it('reads a user from the primary right after a write to it, on the same and on another app server', async () => {
    expect((await put('app-1', 7, 'Written On One')).statusCode).toBe(200);
    // app-2 finds app-1's mark in the same MGET as its cache lookup, and fills the cache from the primary
    let p0 = await reads('app-2', 'primary');
    expect((await get('app-2', 7)).json()).toMatchObject({ source: 'database', data: { name: 'Written On One' } });
    expect((await reads('app-2', 'primary')) - p0).toBe(1);
    expect((await get('app-1', 7)).json()).toMatchObject({ source: 'cache', data: { name: 'Written On One' } });
    // app-3 has no cache: it asks the sessions' Redis for the mark
    p0 = await reads('app-3', 'primary');
    expect((await get('app-3', 7)).json()).toMatchObject({ data: { name: 'Written On One' } });
    expect((await reads('app-3', 'primary')) - p0).toBe(1);
    // other users still read from the replica
    const r0 = await reads('app-3', 'replica');
    await get('app-3', 8);
    expect((await reads('app-3', 'replica')) - r0).toBe(1);
  });

  it('returns to the replica once the window has passed', async () => {
    await put('app-3', 9, 'Later');
    const p0 = await reads('app-3', 'primary');
    await get('app-3', 9);
    expect((await reads('app-3', 'primary')) - p0).toBe(1);
    // the window itself is what is tested here: wait it out
    await new Promise((r) => setTimeout(r, 450));
    const r0 = await reads('app-3', 'replica');
    expect((await get('app-3', 9)).json().data.name).toBe('Later');
    expect((await reads('app-3', 'replica')) - r0).toBe(1);
  });

  it('reports replica lag, 0 once caught up', async () => {
    await waitUntil('a lag sample', 3_000, async () => /replica_lag_seconds\{shard="main",replica="pg-replica-1"\} 0\n/.test(await text('app-3')));
    const health = (await apps['app-3'].fastify.inject({ method: 'GET', url: '/healthz' })).json();
    expect(health.checks).toMatchObject({ 'main primary': true, 'main replica pg-replica-1': true });
  });

  it('falls back to the primary when the replica dies, without errors', async () => {
    await replica.stop();
    const t0 = performance.now();
    for (let id = 100; id < 120; id++) expect((await get('app-3', id)).statusCode).toBe(200);
    expect(performance.now() - t0).toBeLessThan(3_000);
    await waitUntil('the lag poll to see the dead replica', 3_000, async () => /replica_lag_seconds\{shard="main",replica="pg-replica-1"\} nan/i.test(await text('app-3')));
    // /healthz answers from a state up to 250 ms old, which the last test's read may have left
    // from before the poll (a CI run read the replica healthy 192 ms into this test): wait for
    // the next state, and the app stays healthy on its primary all along
    const statuses: number[] = [];
    await waitUntil('/healthz to report the dead replica', 3_000, async () => {
      const health = await apps['app-3'].fastify.inject({ method: 'GET', url: '/healthz' });
      statuses.push(health.statusCode);
      return health.json().checks['main replica pg-replica-1'] === false;
    });
    expect(new Set(statuses)).toEqual(new Set([200]));
  });
});
