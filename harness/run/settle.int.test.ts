// Settling on real servers: phase 3 with one replica whose replication edge is held back by a
// Toxiproxy latency toxic. settle() must wait until the replica replayed to the primary's LSN as
// it was when settling started, and fail with one line, in bounded time, when the edge is cut.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { BenchError } from '../errors.ts';
import { resolveRunConfig } from './config.ts';
import { deployTarget, type Deployed } from './lifecycle.ts';
import { bytesBehind, settle } from './settle.ts';
import { serviceOf } from '../topology/plan.ts';
import { toxiproxyClient } from '../runtime/toxiproxy-client.ts';
import { pgConnection } from '../../targets/app/store/postgres.ts';
import { reapAll } from '../runtime/state.ts';

let stateRoot: string;
let outRoot: string;
let deployed: Deployed | null = null;
const lines: string[] = [];
const savedStateDir = process.env.BENCH_STATE_DIR;

beforeAll(async () => {
  stateRoot = await mkdtemp(join(tmpdir(), 'b-settle-'));
  outRoot = await mkdtemp(join(tmpdir(), 'b-settle-out-'));
  process.env.BENCH_STATE_DIR = stateRoot;
  const config = resolveRunConfig({ phase: '3', users: '2000', appServers: '1', replicas: '1', prometheus: false, out: join(outRoot, 'run') });
  deployed = await deployTarget(config, { progress: (l) => lines.push(l), write: () => {}, isTTY: false, signal: new AbortController().signal, cwd: outRoot });
}, 120_000);

afterAll(async () => {
  await deployed?.deployment.down();
  await reapAll({});
  if (savedStateDir === undefined) delete process.env.BENCH_STATE_DIR;
  else process.env.BENCH_STATE_DIR = savedStateDir;
  await rm(stateRoot, { recursive: true, force: true });
  await rm(outRoot, { recursive: true, force: true });
}, 60_000);

async function sql<T extends pg.QueryResultRow>(name: string, text: string): Promise<T[]> {
  const c = new pg.Client(pgConnection(serviceOf(deployed!.plan, name).address));
  await c.connect();
  try {
    return (await c.query<T>(text)).rows;
  } finally {
    await c.end();
  }
}

/** WAL the replica must replay: 20,000 more users on the primary, ids far above the seed's. */
async function writeOnPrimary(from: number): Promise<string> {
  await sql('pg-primary', `INSERT INTO users (id, name, email) SELECT i, 'settle-' || i, 'settle' || i || '@bench.test' FROM generate_series(${from}, ${from + 19_999}) i`);
  return (await sql<{ lsn: string }>('pg-primary', 'SELECT pg_current_wal_lsn()::text AS lsn'))[0]!.lsn;
}

const replicaLsn = async () => (await sql<{ lsn: string }>('pg-primary-replica-1', 'SELECT pg_last_wal_replay_lsn()::text AS lsn'))[0]!.lsn;
const edge = 'pg-primary-replica-1->pg-primary';

describe('settle (real servers)', () => {
  it('the deployment settled after seeding: ANALYZE, CHECKPOINT and the replica waited for, with timings', () => {
    const text = lines.join('\n');
    expect(text).toMatch(/settle: ANALYZE users on pg-primary \(\d+\.\d s\); CHECKPOINT on pg-primary \(\d+\.\d s\)/);
    expect(text).toMatch(/settle: waiting for 1 replica\(s\) to replay to their primary's LSN: pg-primary-replica-1 → pg-primary \d+\/[0-9A-F]+ \(/);
    expect(text).toMatch(/settled in \d+\.\d s/);
    expect(deployed!.timings.settle).toBeGreaterThanOrEqual(0);
  });

  it('the bench role may CHECKPOINT over TCP (pg_checkpoint): settle needs no superuser socket under Docker', async () => {
    await expect(sql('pg-primary', 'CHECKPOINT')).resolves.toEqual([]);
    // replicas got the grant through replication: a restartpoint as bench
    await expect(sql('pg-primary-replica-1', 'CHECKPOINT')).resolves.toEqual([]);
  });

  it('waits for a replica held back on its replication edge, until it replayed to the primary\'s LSN', async () => {
    const tox = toxiproxyClient(deployed!.plan.toxiproxy!.api);
    await tox.addToxic(edge, { name: 'hold', type: 'latency', stream: 'downstream', attributes: { latency: 1500, jitter: 0 } });
    try {
      const target = await writeOnPrimary(100_000_000);
      // the negative control of the wait: right now the replica is behind
      expect(bytesBehind(target, await replicaLsn())).toBeGreaterThan(0);
      const seen: string[] = [];
      const t0 = performance.now();
      const report = await settle(deployed!.deployment, { timeoutMs: 30_000, progress: (l) => seen.push(l) });
      const tookS = (performance.now() - t0) / 1000;
      expect(bytesBehind(target, await replicaLsn())).toBe(0);
      expect(report.replicas).toHaveLength(1);
      expect(report.replicas[0]!.behindBytes).toBeGreaterThan(0);
      // the toxic holds every byte of WAL 1.5 s: the wait cannot have been shorter
      expect(report.replicas[0]!.caughtUpS).toBeGreaterThanOrEqual(1.2);
      expect(tookS).toBeGreaterThanOrEqual(1.2);
      expect(seen.join('\n')).toMatch(/pg-primary-replica-1 caught up in \d+\.\d s/);
    } finally {
      await tox.removeToxic(edge, 'hold');
    }
  }, 60_000);

  it('a replica that cannot catch up fails the settle in bounded time, with one line', async () => {
    const tox = toxiproxyClient(deployed!.plan.toxiproxy!.api);
    await tox.setEnabled(edge, false);
    try {
      await writeOnPrimary(200_000_000);
      const t0 = performance.now();
      // 8 s: the primary's own ANALYZE and CHECKPOINT come out of the same budget, and take
      // seconds on a busy machine; the replica's wait is what must run out
      const err = await settle(deployed!.deployment, { timeoutMs: 8_000, progress: () => {} }).catch((e: unknown) => e);
      const tookS = (performance.now() - t0) / 1000;
      expect(err).toBeInstanceOf(BenchError);
      expect((err as BenchError).exitCode).toBe(3);
      expect((err as BenchError).oneLine()).toMatch(/^settle: pg-primary-replica-1 did not replay to pg-primary's LSN \d+\/[0-9A-F]+ within 8\.0 s \(replayed \d+\/[0-9A-F]+, [\d.]+ [kM]?B behind\) — see pg-primary-replica-1's log/);
      expect((err as BenchError).oneLine()).not.toMatch(/\n/);
      expect(tookS).toBeLessThan(20);
    } finally {
      await tox.setEnabled(edge, true);
    }
  }, 60_000);
});
