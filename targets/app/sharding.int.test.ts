// Two Postgres shards: range routing with the classic 0–500,000 / 500,001–1,000,000 split, each
// request touching only its user's shard, seeding by COPY, determinism, and reading writes back.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp, type BuiltApp } from './app.ts';
import { validateAppConfig, type PostgresStoreConfig } from './config.ts';
import { readBackUsers, seededUser, seedPostgres } from './seed.ts';
import { shardIndexFor, shardRanges } from './store/shard-router.ts';
import { metricSum } from './testing/metrics-text.ts';
import { startPostgres, type StartedPostgres } from './testing/pg-fixture.ts';

let a: StartedPostgres;
let b: StartedPostgres;
let app: BuiltApp;
let store: PostgresStoreConfig;
const USERS = 1_000_000;

beforeAll(async () => {
  [a, b] = await Promise.all([startPostgres({ name: 'pg-a' }), startPostgres({ name: 'pg-b' })]);
  const [ra, rb] = shardRanges(USERS, 2);
  store = {
    kind: 'postgres',
    strategy: 'range',
    users: USERS,
    shards: [
      { name: 'a', range: ra, primary: a.endpoint, replicas: [] },
      { name: 'b', range: rb, primary: b.endpoint, replicas: [] },
    ],
  };
  app = await buildApp(validateAppConfig({ name: 'app-s', listen: { host: '127.0.0.1', port: 0 }, store, sessions: { kind: 'memory' }, cache: null }), { log: () => {} });
});

afterAll(async () => {
  await app?.close();
  await Promise.all([a?.stop(), b?.stop()]);
});

const queries = async (shard: string) =>
  metricSum((await app.fastify.inject({ method: 'GET', url: '/metrics' })).body, 'db_queries_total', { shard });

describe('a range-sharded store', () => {
  it('seeds 1e6 users by COPY, each shard holding exactly its half', async () => {
    const progress: number[] = [];
    const r = await seedPostgres(store.shards, 'range', USERS, 42, (done) => progress.push(done));
    expect(r.rows).toBe(USERS);
    expect(r.perShard).toEqual({ a: 500_000, b: 500_000 });
    expect(progress.at(-1)).toBe(USERS);
    const [sa] = await a.query<{ n: string; lo: string; hi: string }>('SELECT count(*) n, min(id) lo, max(id) hi FROM users');
    const [sb] = await b.query<{ n: string; lo: string; hi: string }>('SELECT count(*) n, min(id) lo, max(id) hi FROM users');
    expect(sa).toEqual({ n: '500000', lo: '1', hi: '500000' });
    expect(sb).toEqual({ n: '500000', lo: '500001', hi: '1000000' });
    const [row] = await b.query<{ name: string }>('SELECT name FROM users WHERE id = 500001');
    expect(row.name).toBe(seededUser(42, 500_001).name);
  });

  it('writes user 500,000 to shard a and 500,001 to shard b', async () => {
    await a.query('DELETE FROM users WHERE id IN (500000, 500001)');
    await b.query('DELETE FROM users WHERE id IN (500000, 500001)');
    for (const id of [500_000, 500_001]) {
      const res = await app.fastify.inject({ method: 'POST', url: '/api/users', payload: { id, name: `User ${id}`, email: `u${id}@example.com` } });
      expect(res.statusCode).toBe(201);
    }
    expect((await a.query('SELECT id FROM users WHERE id IN (500000, 500001)')).map((r) => Number(r.id))).toEqual([500_000]);
    expect((await b.query('SELECT id FROM users WHERE id IN (500000, 500001)')).map((r) => Number(r.id))).toEqual([500_001]);
    const dup = await app.fastify.inject({ method: 'POST', url: '/api/users', payload: { id: 500_001, name: 'x', email: 'x@x' } });
    expect(dup.statusCode).toBe(409);
    const noId = await app.fastify.inject({ method: 'POST', url: '/api/users', payload: { name: 'x', email: 'x@x' } });
    expect(noId.statusCode).toBe(400);
    expect(noId.json().error).toMatch(/give the user id/);
  });

  it('reads and updates a user on its own shard only', async () => {
    for (const [id, mine, other] of [[123, 'a', 'b'], [777_777, 'b', 'a']] as const) {
      const [m0, o0] = [await queries(mine), await queries(other)];
      expect((await app.fastify.inject({ method: 'GET', url: `/api/users/${id}` })).statusCode).toBe(200);
      const put = await app.fastify.inject({ method: 'PUT', url: `/api/users/${id}`, payload: { email: `new${id}@example.com` } });
      expect(put.json().data.email).toBe(`new${id}@example.com`);
      expect((await queries(mine)) - m0).toBe(2);
      expect((await queries(other)) - o0).toBe(0);
    }
  });

  it('sends sign-ups above the last range to the last shard', async () => {
    expect((await app.fastify.inject({ method: 'POST', url: '/api/users', payload: { id: 1_000_001, name: 'New', email: 'n@x' } })).statusCode).toBe(201);
    expect(await b.query('SELECT id FROM users WHERE id = 1000001')).toHaveLength(1);
  });

  it('reads acknowledged writes back from the primaries', async () => {
    const back = await readBackUsers(store, [500_000, 500_001, 1_000_001, 2_000_000]);
    expect(Object.fromEntries(back)).toEqual({ 500000: 'User 500000', 500001: 'User 500001', 1000001: 'New' });
  });

  it('seeds a hash-sharded store deterministically: same seed, same rows; each id on its hash shard', async () => {
    const shards = [
      { name: 'a', range: [0, null] as [number, null], primary: a.endpoint },
      { name: 'b', range: [0, null] as [number, null], primary: b.endpoint },
    ];
    const digest = async () =>
      Promise.all(
        [a, b].map(async (s) => (await s.query<{ n: string; h: string }>("SELECT count(*) n, md5(string_agg(id || name || email || created_at::text, ',' ORDER BY id)) h FROM users"))[0]),
      );
    const r = await seedPostgres(shards, 'hash', 20_000, 9);
    const first = await digest();
    await seedPostgres(shards, 'hash', 20_000, 9);
    expect(await digest()).toEqual(first);
    expect(Number(first[0].n) + Number(first[1].n)).toBe(20_000);
    expect(r.perShard.a).toBe(Number(first[0].n));
    const ids = (await b.query('SELECT id FROM users ORDER BY random() LIMIT 50')).map((x) => Number(x.id));
    for (const id of ids) expect(shardIndexFor(id, 'hash', [[0, null], [0, null]])).toBe(1);
    await seedPostgres(shards, 'hash', 20_000, 10);
    expect((await digest())[0].h).not.toBe(first[0].h);
  });
});
