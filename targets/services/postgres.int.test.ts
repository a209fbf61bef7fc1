// PostgreSQL through the native runtime: a primary and a streaming replica (its base backup and
// its WAL stream both go through the replica->primary Toxiproxy edge), then a promotion.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import pg from 'pg';
import { createNativeRuntime } from '../../harness/runtime/native.ts';
import { testRoot, type TestRoot } from '../../harness/runtime/testing/run-helpers.ts';
import { toxiproxyClient } from '../../harness/runtime/toxiproxy-client.ts';
import type { Deployment } from '../../harness/runtime/types.ts';
import { plan, type DeployPlan } from '../../harness/topology/plan.ts';
import type { Topology } from '../../harness/topology/types.ts';
import { PG_CREDENTIALS } from '../app/config.ts';
import { promote } from './postgres.ts';

const topology: Topology = {
  phase: 0,
  title: 'primary and replica',
  regions: [{ name: 'local', wanLatencyMs: 0 }],
  hosts: [
    { name: 'db-1', size: { cpus: 0.5, memoryMb: 512 }, region: 'local' },
    { name: 'db-2', size: { cpus: 0.5, memoryMb: 512 }, region: 'local' },
  ],
  services: [
    { name: 'pg-primary', kind: 'postgres', host: 'db-1', role: 'primary', dependsOn: [], config: { kind: 'postgres', postgres: { role: 'primary' } } },
    {
      name: 'pg-replica',
      kind: 'postgres',
      host: 'db-2',
      role: 'replica',
      dependsOn: ['pg-primary'],
      config: { kind: 'postgres', postgres: { role: 'replica', primary: 'pg-primary' } },
    },
  ],
  entry: 'pg-primary',
};

async function query(p: DeployPlan, service: string, sql: string, params: unknown[] = []) {
  const { host, port } = p.services.find((s) => s.name === service)!.address;
  const c = new pg.Client({ host, port, ...PG_CREDENTIALS });
  await c.connect();
  try {
    return (await c.query(sql, params)).rows;
  } finally {
    await c.end();
  }
}

describe('postgres primary + streaming replica', () => {
  let t: TestRoot;
  let dep: Deployment;
  let p: DeployPlan;

  beforeAll(async () => {
    t = await testRoot('pg');
    p = plan(topology, { runId: `pg-${process.pid}`, slot: t.slot, proxies: true, prometheus: false });
    dep = await createNativeRuntime({ stateRoot: t.root }).up(p, { runDir: join(t.root, 'run'), progress: () => {} });
  }, 120_000);

  afterAll(async () => {
    await dep?.down();
    await t?.dispose();
  });

  it('streams a row written on the primary to the replica', async () => {
    await query(p, 'pg-primary', 'CREATE TABLE drill (id int PRIMARY KEY, v text)');
    await query(p, 'pg-primary', 'INSERT INTO drill VALUES (1, $1)', ['streamed']);
    expect(await query(p, 'pg-replica', 'SELECT pg_is_in_recovery() AS r')).toEqual([{ r: true }]);
    await expect.poll(async () => (await query(p, 'pg-replica', 'SELECT v FROM drill WHERE id = 1').catch(() => []))[0]?.v, { timeout: 5_000, interval: 50 }).toBe('streamed');
    // the replica names itself to the primary (cluster_name) and streams through its edge
    const senders = await query(p, 'pg-primary', 'SELECT application_name, state FROM pg_stat_replication');
    expect(senders).toEqual([{ application_name: 'pg-replica', state: 'streaming' }]);
    const edge = (await toxiproxyClient(p.toxiproxy!.api).listProxies()).map((x) => x.name);
    expect(edge).toContain('pg-replica->pg-primary');
  });

  it('keeps its unix socket to its own user: socket 0700 in a 0700 directory of its own', async () => {
    expect(await query(p, 'pg-primary', 'SHOW unix_socket_permissions')).toEqual([{ unix_socket_permissions: '0700' }]);
    const dir = join(t.root, 'runs', p.runId, 'pg-primary');
    const socket = await stat(join(dir, `.s.PGSQL.${p.services.find((s) => s.name === 'pg-primary')!.address.port}`));
    expect(socket.mode & 0o777).toBe(0o700);
    expect((await stat(dir)).mode & 0o777).toBe(0o700);
    expect(await query(p, 'pg-primary', 'SHOW max_connections')).toEqual([{ max_connections: '100' }]);
  });

  it('asks for the run\'s random password: the old constant is refused, the password file is 0600', async () => {
    const { host, port } = p.services.find((s) => s.name === 'pg-primary')!.address;
    const c = new pg.Client({ host, port, ...PG_CREDENTIALS, password: 'bench' });
    await expect(c.connect()).rejects.toThrow(/password authentication failed/);
    await c.end().catch(() => {});
    const file = join(t.root, 'runs', p.runId, 'pg-password');
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    expect((await readFile(file, 'utf8')).trim()).toBe(PG_CREDENTIALS.password);
    // the kept copies of configs and command lines do not carry it
    for (const svc of ['pg-primary', 'pg-replica']) {
      expect(await readFile(join(t.root, 'run', 'config', svc, 'launch.json'), 'utf8')).not.toContain(PG_CREDENTIALS.password);
    }
  });

  it('refuses writes on the replica until promote() makes it a primary', async () => {
    await expect(query(p, 'pg-replica', 'INSERT INTO drill VALUES (2, $1)', ['early'])).rejects.toThrow(/read-only/);
    const t0 = performance.now();
    await promote(dep.service('pg-replica'));
    await query(p, 'pg-replica', 'INSERT INTO drill VALUES (2, $1)', ['after promotion']);
    const ms = performance.now() - t0;
    expect(await query(p, 'pg-replica', 'SELECT pg_is_in_recovery() AS r')).toEqual([{ r: false }]);
    expect(ms).toBeLessThan(10_000);
  }, 30_000);
});
