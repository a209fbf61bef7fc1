// Sessions shared through Redis between two app servers (phase 3 on), against the in-memory
// sessions of a stateful app (phases 1–2), and a session store outage.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp, type BuiltApp } from './app.ts';
import { REDIS_PASSWORD, validateAppConfig } from './config.ts';
import { seedSqlite } from './seed.ts';
import { startRedis, type StartedRedis } from './testing/redis-fixture.ts';

let dir: string;
let redis: StartedRedis;
const apps: BuiltApp[] = [];

async function app(name: string, sessions: 'memory' | 'redis'): Promise<BuiltApp> {
  const a = await buildApp(
    validateAppConfig({
      name,
      listen: { host: '127.0.0.1', port: 0 },
      store: { kind: 'sqlite', path: join(dir, 'users.db') },
      sessions: sessions === 'redis' ? { kind: 'redis', redis: redis.endpoint } : { kind: 'memory' },
      cache: null,
    }),
    { log: () => {} },
  );
  apps.push(a);
  return a;
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'bench-sessions-'));
  await seedSqlite(join(dir, 'users.db'), 100, 1);
  redis = await startRedis({ name: 'sessions' });
});

afterAll(async () => {
  for (const a of apps) await a.close();
  await redis?.stop();
  rmSync(dir, { recursive: true, force: true });
});

const login = (a: BuiltApp, id: number) => a.fastify.inject({ method: 'POST', url: '/api/login', payload: { id } });
const me = (a: BuiltApp, cookie: string) => a.fastify.inject({ method: 'GET', url: '/api/me', headers: { cookie } });

describe('sessions', () => {
  it('a login on one app server is valid on another when sessions live in Redis', async () => {
    const [a, b] = [await app('app-1', 'redis'), await app('app-2', 'redis')];
    const res = await login(a, 8);
    expect(res.statusCode).toBe(200);
    const cookie = String(res.headers['set-cookie']).split(';')[0];
    const other = await me(b, cookie);
    expect(other.statusCode).toBe(200);
    expect(other.headers['x-served-by']).toBe('app-2');
    expect(other.json().user.id).toBe(8);
    const probe = new Redis({ host: redis.endpoint.host, port: redis.endpoint.port, password: REDIS_PASSWORD });
    try {
      const ttl = await probe.ttl(`session:${cookie.slice('sid='.length)}`);
      expect(ttl).toBeGreaterThan(1790);
      expect(ttl).toBeLessThanOrEqual(1800);
    } finally {
      probe.disconnect();
    }
  });

  it('a login is only valid on the server that took it when sessions live in memory', async () => {
    const [a, b] = [await app('app-m1', 'memory'), await app('app-m2', 'memory')];
    const cookie = String((await login(a, 9)).headers['set-cookie']).split(';')[0];
    expect((await me(a, cookie)).statusCode).toBe(200);
    expect((await me(b, cookie)).statusCode).toBe(401);
  });

  it('answers 503 quickly, not a hang, while the session store is down', async () => {
    const a = await app('app-3', 'redis');
    const cookie = String((await login(a, 10)).headers['set-cookie']).split(';')[0];
    await redis.kill();
    const t0 = performance.now();
    expect((await login(a, 10)).statusCode).toBe(503);
    expect((await me(a, cookie)).statusCode).toBe(503);
    expect(performance.now() - t0).toBeLessThan(1_000);
    const text = (await a.fastify.inject({ method: 'GET', url: '/metrics' })).body;
    expect(text).toMatch(/session_ops_total\{op="create",result="error"\} 1/);
    expect(text).toMatch(/session_ops_total\{op="get",result="error"\} 1/);
  });
});
