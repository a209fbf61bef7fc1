// The Postgres store on a real server: it logs in once per pooled connection, at start, and never
// again while the server stays up (a new connection costs a login, SCRAM-SHA-256 on the harness's
// servers: ~20 ms of a 0.2-core app's CPU each). A query the server refused (a duplicate id) gives
// its connection back to the pool instead of closing it; the pool is full before the first request.
import { connect, createServer, type Socket } from 'node:net';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DbObserver } from '../metrics.ts';
import { ensureStoreSchema } from './index.ts';
import { createPostgresStore, pgConnection } from './postgres.ts';
import { DuplicateIdError, StoreUnavailableError, type UserStore } from './types.ts';
import { waitUntil } from '../testing/fixture-util.ts';
import { startPostgres, type StartedPostgres } from '../testing/pg-fixture.ts';

const APP = 'bench-app:conn-reuse';
const POOL = 3;
const observer: DbObserver = { query() {}, replicaLag() {} };
let primary: StartedPostgres;
let store: UserStore;
let admin: pg.Client;

beforeAll(async () => {
  primary = await startPostgres({ name: 'pg-primary' });
  const config = { kind: 'postgres' as const, strategy: 'range' as const, poolSize: POOL, shards: [{ name: 'main', range: [0, null] as [number, null], primary: primary.endpoint, replicas: [] }] };
  await ensureStoreSchema(config, 5_000);
  store = createPostgresStore(config, observer, APP);
  admin = new pg.Client(pgConnection(primary.endpoint));
  await admin.connect();
});

afterAll(async () => {
  await admin?.end().catch(() => {});
  await store?.close();
  await primary?.stop();
});

/** the server-side sessions of the store's pool: one pid and start time per connection */
const sessions = async () =>
  (await admin.query<{ pid: number; started: string }>(`SELECT pid, backend_start::text AS started FROM pg_stat_activity WHERE application_name = $1 ORDER BY pid`, [APP])).rows;

describe('postgres store connections', () => {
  it('opens the whole pool at start, without waiting for load', async () => {
    await waitUntil('the pool to open its connections', 10_000, async () => (await sessions()).length === POOL);
    expect(await sessions()).toHaveLength(POOL);
  });

  it('keeps its connections after a duplicate id (409) and under concurrent reads: no new login', async () => {
    await store.create({ id: 42, name: 'a', email: 'a@bench.test' });
    const before = await sessions();
    expect(before).toHaveLength(POOL);
    await Promise.all(Array.from({ length: 20 }, () => store.get(42)));
    for (let i = 0; i < 3; i++) await expect(store.create({ id: 42, name: 'b', email: 'b@bench.test' })).rejects.toBeInstanceOf(DuplicateIdError);
    expect(await store.get(42)).toMatchObject({ id: 42, name: 'a' });
    expect(await sessions()).toEqual(before);
  });
});

describe('a connection cut under a query', () => {
  it('fails that query as unavailable and the process lives on; the next query gets a new connection', async () => {
    // A relay in front of the server whose sockets the test destroys: the link ends without a
    // word from PostgreSQL, as when Toxiproxy turns an edge off. pg's client then emits 'error'
    // while checked out for the query; with no listener that crashed the process (vitest reports
    // the unhandled error and fails the file).
    const links = new Set<Socket>();
    const relay = createServer((down) => {
      const up = connect(primary.endpoint.port, primary.endpoint.host);
      links.add(down).add(up);
      down.pipe(up).pipe(down);
      const drop = () => (down.destroy(), up.destroy());
      down.on('error', drop).on('close', drop);
      up.on('error', drop).on('close', drop);
    });
    await new Promise<void>((r) => relay.listen(0, '127.0.0.1', r));
    const port = (relay.address() as { port: number }).port;
    const config = { kind: 'postgres' as const, strategy: 'range' as const, poolSize: 2, shards: [{ name: 'main', range: [0, null] as [number, null], primary: { ...primary.endpoint, host: '127.0.0.1', port }, replicas: [] }] };
    const cut = createPostgresStore(config, observer, 'bench-app:cut');
    const locker = new pg.Client(pgConnection(primary.endpoint));
    await locker.connect();
    try {
      await cut.create({ id: 7001, name: 'c', email: 'c@bench.test' });
      // hold the query in flight: the row's table is locked, the read waits for it
      await locker.query('BEGIN');
      await locker.query('LOCK TABLE users IN ACCESS EXCLUSIVE MODE');
      const pending = cut.get(7001);
      await waitUntil('the read to wait on the lock', 5_000, async () => (await admin.query("SELECT 1 FROM pg_stat_activity WHERE application_name = 'bench-app:cut' AND wait_event_type = 'Lock'")).rowCount === 1);
      for (const l of links) l.destroy();
      await expect(pending).rejects.toBeInstanceOf(StoreUnavailableError);
      await locker.query('ROLLBACK');
      expect(await cut.get(7001)).toMatchObject({ id: 7001, name: 'c' });
    } finally {
      await locker.end().catch(() => {});
      await cut.close();
      relay.close();
    }
  });
});

describe("postgres store with openPools: 'later' (the app: pools open once it is listening)", () => {
  const LATER = 'bench-app:pools-later';
  const laterSessions = async () => (await admin.query(`SELECT pid FROM pg_stat_activity WHERE application_name = $1`, [LATER])).rows.length;

  it('prepare() ensures the schema over the connection its health probe then keeps: one login at start', async () => {
    const probes = async () => (await admin.query<{ pid: number }>(`SELECT pid FROM pg_stat_activity WHERE application_name = 'bench-app-probe'`)).rows.map((r) => r.pid);
    // the schema made anew by prepare (the table owns its id sequence: both go)
    await admin.query('DROP TABLE users');
    const endpoint = primary.endpoint;
    const config = { kind: 'postgres' as const, strategy: 'range' as const, poolSize: POOL, shards: [{ name: 'main', range: [0, null] as [number, null], primary: endpoint, replicas: [] }] };
    const later = createPostgresStore(config, observer, LATER, { openPools: 'later' });
    try {
      expect(await probes()).toEqual([]);
      await later.prepare(2_000);
      expect((await admin.query(`SELECT to_regclass('users') IS NOT NULL AS made`)).rows).toEqual([{ made: true }]);
      const [pid] = await probes();
      expect(pid).toBeGreaterThan(0);
      expect(await later.health()).toMatchObject({ ok: true });
      expect(await probes()).toEqual([pid]);
      expect(await laterSessions()).toBe(0);
    } finally {
      await later.close();
    }
  });

  it('serves before its pools are opened (a connection on demand), then opens them to their size', async () => {
    const config = { kind: 'postgres' as const, strategy: 'range' as const, poolSize: POOL, shards: [{ name: 'main', range: [0, null] as [number, null], primary: primary.endpoint, replicas: [] }] };
    const later = createPostgresStore(config, observer, LATER, { openPools: 'later' });
    try {
      // nothing opened at creation: give a fill that would have started the time to log in
      await new Promise((r) => setTimeout(r, 500));
      expect(await laterSessions()).toBe(0);
      await later.create({ id: 77, name: 'l', email: 'l@bench.test' });
      expect(await later.get(77)).toMatchObject({ id: 77, name: 'l' });
      expect(await laterSessions()).toBe(1);
      later.openPools();
      later.openPools(); // once: a second call opens nothing more
      await waitUntil('the pool to open its connections', 10_000, async () => (await laterSessions()) === POOL);
      await new Promise((r) => setTimeout(r, 300));
      expect(await laterSessions()).toBe(POOL);
    } finally {
      await later.close();
    }
  });
});
