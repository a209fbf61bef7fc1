// Phase 4 on real servers: cache-aside in its own Redis (database, then cache; a write sends the
// next read to the database with the new value; a stopped cache costs no failed read) and the CDN
// edge (a static asset is MISS then HIT, and the edge log gives the hit ratio).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { edgeCounts } from '../../harness/run/collect.ts';
import { createUsers, deployPhase, http, type PhaseUnderTest } from './testing/deploy.ts';

let ph: PhaseUnderTest;
let lb = '';

beforeAll(async () => {
  ph = await deployPhase(4, { users: 20, appServers: 2, replicas: 1, shards: 1, shardStrategy: 'range' }, 'ph4');
  lb = ph.url('lb');
  await createUsers(lb, Array.from({ length: 20 }, (_, i) => i + 1));
}, 90_000);

afterAll(async () => {
  await ph?.dispose();
}, 60_000);

describe('phase 4: cache and CDN', () => {
  it('the first GET of a user answers from the database, the next from the cache, on any app server', async () => {
    const first = await http('GET', `${lb}/api/users/5`);
    expect(first.status).toBe(200);
    expect(first.body).toMatchObject({ source: 'database', data: { id: 5, name: 'user 5' } });
    // round robin: the next two reads are served by both app servers, and both find the shared cache
    const servedBy = new Set<string>();
    for (let i = 0; i < 2; i++) {
      const again = await http('GET', `${lb}/api/users/5`);
      expect(again.body).toMatchObject({ source: 'cache', data: { id: 5, name: 'user 5' } });
      servedBy.add(String(again.headers['x-served-by']));
    }
    expect(servedBy.size).toBe(2);
  });

  it('a PUT makes the next GET come from the database with the new value', async () => {
    await http('GET', `${lb}/api/users/6`);
    expect((await http('GET', `${lb}/api/users/6`)).body).toMatchObject({ source: 'cache' });
    const put = await http('PUT', `${lb}/api/users/6`, { name: 'renamed six' });
    expect(put.status).toBe(200);
    expect((await http('GET', `${lb}/api/users/6`)).body).toMatchObject({ source: 'database', data: { name: 'renamed six' } });
    expect((await http('GET', `${lb}/api/users/6`)).body).toMatchObject({ source: 'cache', data: { name: 'renamed six' } });
  });

  it('a static asset is MISS then HIT at the edge, and the edge log counts it', async () => {
    const cdn = ph.url('cdn');
    const first = await http('GET', `${cdn}/static/logo.png`);
    expect(first.status).toBe(200);
    expect(first.headers['x-cache-status']).toBe('MISS');
    const second = await http('GET', `${cdn}/static/logo.png`);
    expect(second.headers['x-cache-status']).toBe('HIT');
    // API requests through the edge pass uncached
    const api = await http('GET', `${cdn}/api/users/7`);
    expect(api.status).toBe(200);
    expect(api.headers['x-cache-status']).toBeUndefined();
    expect(await edgeCounts(ph.dep.service('cdn'))).toEqual({ hits: 1, misses: 1, other: 0, ratio: 0.5 });
  });

  it('with the cache Redis stopped, GETs still succeed from the database', async () => {
    const cache = ph.dep.service('redis-cache');
    await cache.stop();
    try {
      expect(cache.isRunning()).toBe(false);
      for (const id of [5, 6, 8, 9, 10, 11]) {
        const res = await http('GET', `${lb}/api/users/${id}`);
        expect(res.status).toBe(200);
        expect(res.body).toMatchObject({ source: 'database', data: { id } });
      }
      // sessions live in the other Redis: logging in still works while the cache is down
      expect((await http('POST', `${lb}/api/login`, { id: 5 })).status).toBe(200);
    } finally {
      await cache.start();
    }
  }, 30_000);
});
