// Phase 5 on real servers, sharded for 1,000,000 users over 2 shards (only the rows the test needs
// are created): user 500,000 lives on shard a and 500,001 on shard b, a user's reads and writes
// touch only its shard, and a shard outage hurts only that shard's users.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { serviceOf } from '../../harness/topology/plan.ts';
import { PG_CREDENTIALS } from '../app/config.ts';
import { metricSum } from '../app/testing/metrics-text.ts';
import { createUsers, deployPhase, http, type PhaseUnderTest } from './testing/deploy.ts';

let ph: PhaseUnderTest;
let lb = '';

beforeAll(async () => {
  ph = await deployPhase(5, { users: 1_000_000, appServers: 1, replicas: 1, shards: 2, shardStrategy: 'range' }, 'ph5');
  lb = ph.url('lb');
  await createUsers(lb, [1, 500_000, 500_001, 1_000_000]);
}, 90_000);

afterAll(async () => {
  await ph?.dispose();
}, 60_000);

/** The ids present on a server, read directly (not through the app). */
async function idsOn(service: string): Promise<number[]> {
  const a = serviceOf(ph.plan, service).address;
  const c = new pg.Client({ host: a.host, port: a.port, ...PG_CREDENTIALS, connectionTimeoutMillis: 2000 });
  await c.connect();
  try {
    return (await c.query<{ id: string }>('SELECT id FROM users ORDER BY id')).rows.map((r) => Number(r.id));
  } finally {
    await c.end();
  }
}

/** Database queries the (only) app ran, per shard. */
async function queriesByShard(): Promise<{ a: number; b: number }> {
  const text = (await http<string>('GET', `${ph.url('app-1')}/metrics`)).body;
  return { a: metricSum(text, 'db_queries_total', { shard: 'a' }), b: metricSum(text, 'db_queries_total', { shard: 'b' }) };
}

describe('phase 5: sharding', () => {
  it('user 500,000 is on shard a and 500,001 on shard b, replicas included', async () => {
    expect(await idsOn('pg-shard-a')).toEqual([1, 500_000]);
    expect(await idsOn('pg-shard-b')).toEqual([500_001, 1_000_000]);
    await expect.poll(() => idsOn('pg-shard-a-replica-1'), { timeout: 5_000 }).toEqual([1, 500_000]);
    await expect.poll(() => idsOn('pg-shard-b-replica-1'), { timeout: 5_000 }).toEqual([500_001, 1_000_000]);
  });

  it.each([
    [500_000, 'a', 'b'],
    [500_001, 'b', 'a'],
  ] as const)('reads and writes of user %i touch only shard %s', async (id, own, other) => {
    const before = await queriesByShard();
    const put = await http('PUT', `${lb}/api/users/${id}`, { name: `moved ${id}` });
    expect(put.status).toBe(200);
    // right after the write the read goes to the database (read-your-writes), not the cache
    const get = await http('GET', `${lb}/api/users/${id}`);
    expect(get.body).toMatchObject({ source: 'database', data: { id, name: `moved ${id}` } });
    const after = await queriesByShard();
    expect(after[own] - before[own]).toBeGreaterThanOrEqual(2);
    expect(after[other] - before[other]).toBe(0);
  });

  it('with shard b down, shard a users are served and only shard b users fail', async () => {
    await ph.dep.service('pg-shard-b').stop();
    const a = await http('PUT', `${lb}/api/users/500000`, { name: 'still here' });
    expect(a.status).toBe(200);
    const b = await http('PUT', `${lb}/api/users/500001`, { name: 'nowhere to go' });
    expect(b.status).toBeGreaterThanOrEqual(500);
  }, 30_000);
});
