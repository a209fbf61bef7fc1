// The exporters and the run's Prometheus through the native runtime, on a real PostgreSQL and
// Redis: the recipes start, pass their readiness checks (pg_up 1, redis_up 1), Prometheus scrapes
// them under the watched service's name, and the database and cache figures read back.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import pg from 'pg';
import { Redis } from 'ioredis';
import { plan, serviceOf, endpointUrl, type DeployPlan } from '../topology/plan.ts';
import type { Topology } from '../topology/types.ts';
import { createNativeRuntime } from '../runtime/native.ts';
import { testRoot, type TestRoot } from '../runtime/testing/run-helpers.ts';
import type { Deployment } from '../runtime/types.ts';
import { PG_CREDENTIALS, REDIS_PASSWORD } from '../../targets/app/config.ts';
import { flush, instant, waitForScrape } from './query.ts';
import { collectTiers } from './tiers.ts';

const topology: Topology = {
  phase: 0,
  title: 'exporters',
  regions: [{ name: 'local', wanLatencyMs: 0 }],
  hosts: [
    { name: 'db-host', size: { cpus: 0.5, memoryMb: 1024 }, region: 'local' },
    { name: 'cache-host', size: { cpus: 0.25, memoryMb: 256 }, region: 'local' },
  ],
  services: [
    { name: 'pg-primary', kind: 'postgres', host: 'db-host', role: 'primary', dependsOn: [], config: { kind: 'postgres', postgres: { role: 'primary' } } },
    { name: 'cache', kind: 'redis', host: 'cache-host', role: 'cache', dependsOn: [], config: { kind: 'redis' } },
  ],
  entry: 'pg-primary',
};

let t: TestRoot;
let p: DeployPlan;
let dep: Deployment | undefined;
let base = '';
const now = () => Date.now() / 1000;

beforeAll(async () => {
  t = await testRoot('exp');
  p = plan(topology, { runId: `exp-${process.pid}`, slot: t.slot, proxies: false, prometheus: true });
  const t0 = Date.now();
  dep = await createNativeRuntime({ stateRoot: t.root }).up(p, { runDir: join(t.root, 'run'), progress: () => {} });
  console.log(`up (postgres, redis, 2 exporters, prometheus) in ${Date.now() - t0} ms`);
  base = endpointUrl(p.prometheus!.address);
}, 60_000);

afterAll(async () => {
  await dep?.down();
  await t?.dispose();
});

describe('exporters (real PostgreSQL and Redis, native runtime)', () => {
  it('start from their recipes and are scraped under the watched service', async () => {
    expect(p.order).toEqual(['prometheus', 'pg-primary', 'cache', 'pg-primary-exporter', 'cache-exporter']);
    expect(await waitForScrape(base, 'postgres', { timeoutMs: 10_000 })).toBe(1);
    expect(await waitForScrape(base, 'redis', { timeoutMs: 5_000 })).toBe(1);
    const up = await instant(base, `pg_up{run="${p.runId}"}`);
    expect(up.map((s) => [s.metric.service, s.metric.role, s.value[1]])).toEqual([['pg-primary', 'primary', 1]]);
    const rup = await instant(base, `redis_up{service="cache"}`);
    expect(rup[0]?.value[1]).toBe(1);
  });

  it('collects commits and keyspace misses over the window', async () => {
    await flush(base, now(), { timeoutMs: 5_000 });
    const startS = now();
    const db = serviceOf(p, 'pg-primary').address;
    const client = new pg.Client({ host: db.host, port: db.port, user: PG_CREDENTIALS.user, password: PG_CREDENTIALS.password, database: PG_CREDENTIALS.database });
    await client.connect();
    for (let i = 0; i < 25; i++) await client.query('SELECT 1');
    await client.end();
    const cache = serviceOf(p, 'cache').address;
    const redis = new Redis({ host: cache.host, port: cache.port, password: REDIS_PASSWORD, lazyConnect: true, maxRetriesPerRequest: 1 });
    await redis.connect();
    for (let i = 0; i < 10; i++) await redis.get(`absent-${i}`);
    await redis.set('present', 'x');
    for (let i = 0; i < 4; i++) await redis.get('present');
    redis.disconnect();
    const endS = now();
    await flush(base, endS, { timeoutMs: 5_000 });
    const r = await collectTiers(base, p, { startS, endS });
    console.log(JSON.stringify(r.tiers));
    expect(r.notes).toEqual([]);
    // each SELECT is a transaction; the exporter's own scrapes of the bench database add a few
    expect(r.tiers.db?.['commits.pg-primary']).toBeGreaterThanOrEqual(25);
    expect(r.tiers.db?.['rowsFetched.pg-primary']).toBeGreaterThanOrEqual(0);
    expect(r.tiers.redis).toMatchObject({ 'keyspaceMisses.cache': 10, 'keyspaceHits.cache': 4 });
    expect(r.tiers.redis?.['commands.cache']).toBeGreaterThanOrEqual(15);
    expect(r.tiers.app).toBeUndefined();
    expect(r.appRequests).toBeNull();
  });
});
