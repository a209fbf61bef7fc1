import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { staticAssets } from '../../loadtests/workloads.ts';
import { buildApp, type BuiltApp } from './app.ts';
import { REGION_HEADER, validateAppConfig } from './config.ts';
import { seededUser, seedSqlite } from './seed.ts';
import { metricSum } from './testing/metrics-text.ts';

let dir: string;
let app: BuiltApp;
const logs: string[] = [];

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'bench-app-test-'));
  const path = join(dir, 'users.db');
  await seedSqlite(path, 100, 7);
  app = await buildApp(
    validateAppConfig({ name: 'app-t', listen: { host: '127.0.0.1', port: 0 }, store: { kind: 'sqlite', path }, sessions: { kind: 'memory' }, cache: null }),
    { log: (l) => logs.push(l) },
  );
});

afterAll(async () => {
  await app?.close();
  rmSync(dir, { recursive: true, force: true });
});

const inject = (method: 'GET' | 'POST' | 'PUT', url: string, body?: unknown, headers: Record<string, string> = {}) =>
  app.fastify.inject({ method, url, payload: body as object | undefined, headers });

describe('the app on SQLite', () => {
  it('reads seeded users from the database, with no cache always source database', async () => {
    for (let i = 0; i < 2; i++) {
      const res = await inject('GET', '/api/users/42');
      expect(res.statusCode).toBe(200);
      expect(res.headers['x-served-by']).toBe('app-t');
      // no region in its config (phases 1-6): no region header
      expect(res.headers['x-bench-region']).toBeUndefined();
      const u = seededUser(7, 42);
      expect(res.json()).toEqual({ source: 'database', data: { id: 42, name: u.name, email: u.email, createdAt: u.createdAt } });
    }
    expect((await inject('GET', '/api/users/100000')).statusCode).toBe(404);
    expect((await inject('GET', '/api/users/abc')).statusCode).toBe(400);
  });

  it('creates with and without an id, and refuses a duplicate with 409', async () => {
    const auto = await inject('POST', '/api/users', { name: 'Auto', email: 'auto@example.com' });
    expect(auto.statusCode).toBe(201);
    expect(auto.json().data.id).toBe(101); // after the 100 seeded users
    const given = await inject('POST', '/api/users', { id: 5_000, name: 'Given', email: 'g@example.com' });
    expect(given.statusCode).toBe(201);
    expect(given.json().data).toMatchObject({ id: 5_000, name: 'Given' });
    const dup = await inject('POST', '/api/users', { id: 5_000, name: 'Again', email: 'a@example.com' });
    expect(dup.statusCode).toBe(409);
    expect((await inject('POST', '/api/users', { name: 'no email' })).statusCode).toBe(400);
  });

  it('updates a user and answers 404 for an unknown one', async () => {
    const res = await inject('PUT', '/api/users/7', { name: 'Renamed' });
    expect(res.statusCode).toBe(200);
    expect(res.json().data).toMatchObject({ id: 7, name: 'Renamed', email: seededUser(7, 7).email });
    expect((await inject('GET', '/api/users/7')).json().data.name).toBe('Renamed');
    expect((await inject('PUT', '/api/users/999999', { name: 'x' })).statusCode).toBe(404);
    expect((await inject('PUT', '/api/users/7', {})).statusCode).toBe(400);
  });

  it('logs in with a cookie or a bearer token; /api/me needs a valid session', async () => {
    expect((await inject('POST', '/api/login', { id: 999_999 })).statusCode).toBe(404);
    const login = await inject('POST', '/api/login', { id: 3 });
    expect(login.statusCode).toBe(200);
    const cookie = String(login.headers['set-cookie']);
    expect(cookie).toMatch(/^sid=[A-Za-z0-9_-]{20,}; Path=\/; HttpOnly$/);
    const token = login.json().token as string;
    expect(cookie).toContain(token);
    const me = await inject('GET', '/api/me', undefined, { cookie: `theme=dark; ${cookie.split(';')[0]}` });
    expect(me.statusCode).toBe(200);
    expect(me.json().user.id).toBe(3);
    expect((await inject('GET', '/api/me', undefined, { authorization: `Bearer ${token}` })).json().user.id).toBe(3);
    expect((await inject('GET', '/api/me')).statusCode).toBe(401);
    expect((await inject('GET', '/api/me', undefined, { cookie: 'sid=forged' })).statusCode).toBe(401);
  });

  it('serves every static asset at its size, cacheable, with a stable ETag and 304', async () => {
    for (const a of staticAssets) {
      const res = await inject('GET', `/static/${a.path}`);
      expect(res.statusCode).toBe(200);
      expect(res.rawPayload.length).toBe(a.bytes);
      expect(res.headers['content-type']).toContain(a.type);
      expect(res.headers['cache-control']).toBe('public, max-age=300');
      const etag = String(res.headers.etag);
      expect(etag).toMatch(/^"[0-9a-f]+"$/);
      const again = await inject('GET', `/static/${a.path}`, undefined, { 'if-none-match': etag });
      expect(again.statusCode).toBe(304);
      expect(again.rawPayload.length).toBe(0);
    }
    expect((await inject('GET', '/static/missing.js')).statusCode).toBe(404);
  });

  it('is healthy while its file answers', async () => {
    const res = await inject('GET', '/healthz');
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ status: 'ok', name: 'app-t', checks: { sqlite: true } });
  });

  it('is live while its process answers (/livez asks nothing behind it)', async () => {
    const res = await inject('GET', '/livez');
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ status: 'live', name: 'app-t' });
  });

  it('counts every request but /metrics and /healthz, by route pattern', async () => {
    const before = metricSum((await inject('GET', '/metrics')).body, 'http_requests_total');
    const reqs = [
      () => inject('GET', '/api/users/1'),
      () => inject('GET', '/api/users/2'),
      () => inject('GET', '/api/users/9999999'),
      () => inject('GET', '/static/app.css'),
      () => inject('GET', '/api/me'),
      () => inject('GET', '/no/such/route'),
      () => inject('PUT', '/api/users/1', { email: 'one@example.com' }),
    ];
    for (const r of reqs) await r();
    await inject('GET', '/healthz');
    await inject('GET', '/livez');
    const text = (await inject('GET', '/metrics')).body;
    expect(metricSum(text, 'http_requests_total') - before).toBe(reqs.length);
    expect(metricSum(text, 'http_requests_total', { route: '/api/users/:id', method: 'GET', status: '404', server: 'app-t' })).toBeGreaterThanOrEqual(1);
    expect(metricSum(text, 'http_requests_total', { route: 'unmatched', status: '404' })).toBe(1);
    expect(metricSum(text, 'http_requests_total', { route: '/healthz' })).toBe(0);
    expect(metricSum(text, 'http_requests_total', { route: '/metrics' })).toBe(0);
    expect(text).not.toMatch(/route="\/api\/users\/1"/);
    expect(metricSum(text, 'db_queries_total', { role: 'primary', shard: 'sqlite' })).toBeGreaterThan(0);
    expect(metricSum(text, 'process_cpu_seconds_total')).toBeGreaterThan(0);
    expect(metricSum(text, 'session_ops_total', { op: 'create', result: 'ok' })).toBe(1);
  });
});

describe('an app of a region (phase 7)', () => {
  it('names its region on every answer, errors included, for the load to count by serving region', async () => {
    const path = join(dir, 'users.db');
    const eu = await buildApp(validateAppConfig({ name: 'app-eu-1', listen: { host: '127.0.0.1', port: 0 }, store: { kind: 'sqlite', path }, sessions: { kind: 'memory' }, cache: null, region: 'eu' }), { log: () => {} });
    try {
      expect(REGION_HEADER.toLowerCase()).toBe('x-bench-region');
      expect((await eu.fastify.inject({ method: 'GET', url: '/api/users/42' })).headers['x-bench-region']).toBe('eu');
      expect((await eu.fastify.inject({ method: 'GET', url: '/api/users/abc' })).headers['x-bench-region']).toBe('eu');
    } finally {
      await eu.close();
    }
  });
});
