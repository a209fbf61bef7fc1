// Cache-aside against a real Postgres and a real Redis: miss then hit, invalidation on write, and a
// Redis outage that degrades to the database instead of failing requests.
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp, type BuiltApp } from './app.ts';
import { REDIS_PASSWORD, validateAppConfig } from './config.ts';
import { seededUser, seedPostgres } from './seed.ts';
import { waitUntil } from './testing/fixture-util.ts';
import { metricSum } from './testing/metrics-text.ts';
import { startPostgres, type StartedPostgres } from './testing/pg-fixture.ts';
import { startRedis, type StartedRedis } from './testing/redis-fixture.ts';

let pg: StartedPostgres;
let redis: StartedRedis;
let app: BuiltApp;
let probe: Redis;

beforeAll(async () => {
  [pg, redis] = await Promise.all([startPostgres({ name: 'pg-primary' }), startRedis({ name: 'cache' })]);
  await seedPostgres([{ name: 'main', range: [0, null], primary: pg.endpoint }], 'range', 1_000, 3);
  app = await buildApp(
    validateAppConfig({
      name: 'app-c',
      listen: { host: '127.0.0.1', port: 0 },
      store: { kind: 'postgres', strategy: 'range', shards: [{ name: 'main', range: [0, null], primary: pg.endpoint, replicas: [] }] },
      sessions: { kind: 'memory' },
      cache: { redis: redis.endpoint, ttlSeconds: 3600 },
    }),
    { log: () => {} },
  );
  probe = new Redis({ host: redis.endpoint.host, port: redis.endpoint.port, password: REDIS_PASSWORD, lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
  probe.on('error', () => {});
  await probe.connect();
});

afterAll(async () => {
  probe?.disconnect();
  await app?.close();
  await Promise.all([pg?.stop(), redis?.stop()]);
});

const get = (id: number) => app.fastify.inject({ method: 'GET', url: `/api/users/${id}` });
const metrics = async () => (await app.fastify.inject({ method: 'GET', url: '/metrics' })).body;

describe('cache-aside', () => {
  it('answers from the database first, then from the cache, with a 3600 s TTL', async () => {
    const first = await get(10);
    expect(first.statusCode).toBe(200);
    expect(first.json()).toEqual({ source: 'database', data: expect.objectContaining({ id: 10, name: seededUser(3, 10).name }) });
    const second = await get(10);
    expect(second.json()).toEqual({ source: 'cache', data: first.json().data });
    const ttl = await probe.ttl('user_profile_10');
    expect(ttl).toBeGreaterThan(3590);
    expect(ttl).toBeLessThanOrEqual(3600);
    const m = await metrics();
    expect(metricSum(m, 'cache_requests_total', { result: 'hit' })).toBe(1);
    expect(metricSum(m, 'cache_requests_total', { result: 'miss' })).toBe(1);
  });

  it('does not cache an absent user', async () => {
    expect((await get(50_000)).statusCode).toBe(404);
    expect(await probe.exists('user_profile_50000')).toBe(0);
  });

  it('invalidates the cached profile on PUT', async () => {
    await get(20);
    expect((await get(20)).json().source).toBe('cache');
    const put = await app.fastify.inject({ method: 'PUT', url: '/api/users/20', payload: { name: 'Changed Name' } });
    expect(put.statusCode).toBe(200);
    expect(await probe.exists('user_profile_20')).toBe(0);
    const after = await get(20);
    expect(after.json()).toMatchObject({ source: 'database', data: { id: 20, name: 'Changed Name' } });
    expect((await get(20)).json()).toMatchObject({ source: 'cache', data: { name: 'Changed Name' } });
  });

  it('keeps answering from the database while Redis is dead, and uses it again when it is back', async () => {
    await redis.kill();
    const t0 = performance.now();
    for (let id = 30; id < 50; id++) {
      const res = await get(id);
      expect(res.statusCode).toBe(200);
      expect(res.json().source).toBe('database');
    }
    const put = await app.fastify.inject({ method: 'PUT', url: '/api/users/30', payload: { name: 'While Down' } });
    expect(put.statusCode).toBe(200);
    // 21 requests with Redis dead: no request waited for a reconnect
    expect(performance.now() - t0).toBeLessThan(2_000);
    const m = await metrics();
    expect(metricSum(m, 'cache_requests_total', { result: 'error' })).toBeGreaterThan(0);
    expect(metricSum(m, 'cache_invalidations_total', { result: 'error' })).toBe(1);
    expect((await app.fastify.inject({ method: 'GET', url: '/healthz' })).statusCode).toBe(200);

    await redis.restart();
    await waitUntil('the app to use the restarted cache', 5_000, async () => (await get(31)).json().source === 'cache');
  });

  it('skips a hung Redis instead of waiting for it on every request', async () => {
    expect((await get(60)).json().source).toBe('database');
    redis.signal('SIGSTOP');
    try {
      const t0 = performance.now();
      for (let id = 60; id < 100; id++) expect((await get(id)).statusCode).toBe(200);
      // 40 reads; without the breaker each would wait out the 100 ms command timeout
      expect(performance.now() - t0).toBeLessThan(1_500);
    } finally {
      redis.signal('SIGCONT');
    }
    await waitUntil('the app to use the resumed cache', 5_000, async () => (await get(60)).json().source === 'cache');
  });

  it('counts exactly the requests it answered over real HTTP', async () => {
    const address = await app.fastify.listen({ host: '127.0.0.1', port: 0 });
    const before = metricSum(await metrics(), 'http_requests_total', { server: 'app-c' });
    const paths = Array.from({ length: 300 }, (_, i) => (i % 5 === 0 ? '/static/logo.png' : i % 7 === 0 ? '/api/me' : `/api/users/${1 + (i % 40)}`));
    let answered = 0;
    for (let i = 0; i < paths.length; i += 20) {
      await Promise.all(
        paths.slice(i, i + 20).map(async (p) => {
          const res = await fetch(address + p);
          await res.arrayBuffer();
          answered += 1;
        }),
      );
    }
    await fetch(address + '/healthz').then((r) => r.arrayBuffer());
    const after = metricSum(await metrics(), 'http_requests_total', { server: 'app-c' });
    expect(answered).toBe(300);
    expect(after - before).toBe(300);
  });

  it('reports 503 on /healthz once its database is gone, while cached profiles still answer', async () => {
    expect((await get(40)).statusCode).toBe(200);
    expect((await get(40)).json().source).toBe('cache');
    await pg.stop();
    await waitUntil('/healthz to say 503', 2_000, async () => (await app.fastify.inject({ method: 'GET', url: '/healthz' })).statusCode === 503);
    const health = (await app.fastify.inject({ method: 'GET', url: '/healthz' })).json();
    expect(health).toMatchObject({ status: 'down', name: 'app-c', checks: { 'main primary': false, 'redis cache': true } });
    expect((await get(40)).json().source).toBe('cache');
    const down = await get(41);
    expect(down.statusCode).toBe(503);
    expect(down.json().error).toMatch(/database shard main unavailable/);
  });
});
