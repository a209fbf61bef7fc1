// etcd + Patroni through the native runtime, on the real servers: three regions, each an etcd
// member and a Patroni-managed PostgreSQL 15. The cluster comes up with one leader; killing the
// leader's host (Patroni and, through the wrapper, its PostgreSQL) makes another member writable
// with no step of the harness's, and the time that takes is measured, straight to the member and
// through a pg-router (HAProxy checking Patroni's REST API), the address apps would use. Every
// member's WAL stream runs through its replication proxy in Toxiproxy; holding a leader's back
// before killing it loses what it acknowledged meanwhile (the RPO negative control).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import pg from 'pg';
import { createNativeRuntime } from '../../harness/runtime/native.ts';
import { tryConnect } from '../../harness/runtime/wait.ts';
import { processesMentioning, testRoot, type TestRoot } from '../../harness/runtime/testing/run-helpers.ts';
import { toxiproxyClient } from '../../harness/runtime/toxiproxy-client.ts';
import type { Deployment } from '../../harness/runtime/types.ts';
import { plan, serviceOf, type DeployPlan } from '../../harness/topology/plan.ts';
import type { Service, Topology } from '../../harness/topology/types.ts';
import { PG_CREDENTIALS } from '../app/config.ts';
import { replicationLag } from '../regions/lag.ts';
import { waitForEtcdQuorum } from './etcd.ts';
import { patroniLeads, patroniRole, replicationProxyName } from './patroni.ts';

const regions = ['us-east', 'us-west', 'eu'];
const etcds = regions.map((r) => `etcd-${r}`);
const members = regions.map((r) => `pg-${r}`);
const TTL_S = 10;

const topology: Topology = {
  phase: 0,
  title: 'patroni over etcd, three regions',
  regions: regions.map((name) => ({ name, wanLatencyMs: 0 })),
  hosts: regions.flatMap((r) => [
    { name: `etcd-host-${r}`, size: { cpus: 0.25, memoryMb: 256 }, region: r },
    { name: `db-host-${r}`, size: { cpus: 0.5, memoryMb: 512 }, region: r },
  ]).concat([{ name: 'app-host-us-west', size: { cpus: 0.25, memoryMb: 128 }, region: 'us-west' }]),
  services: [
    ...regions.map((r): Service => ({ name: `etcd-${r}`, kind: 'etcd', host: `etcd-host-${r}`, role: 'dcs', dependsOn: [], config: { kind: 'etcd', etcd: { members: etcds } } })),
    ...regions.map((r): Service => ({
      name: `pg-${r}`,
      kind: 'patroni',
      host: `db-host-${r}`,
      role: 'db',
      dependsOn: etcds,
      config: { kind: 'patroni', patroni: { scope: 'bench', etcd: etcds, ttlSeconds: TTL_S } },
    })),
    { name: 'router', kind: 'pg-router', host: 'app-host-us-west', role: 'db-route', dependsOn: members, config: { kind: 'pg-router', pgRouter: { members, route: 'primary' } } },
  ],
  entry: 'pg-us-east',
};

async function write(p: DeployPlan, member: string, id: number, timeoutMs = 2_000): Promise<void> {
  const { host, port } = serviceOf(p, member).address;
  const c = new pg.Client({ host, port, ...PG_CREDENTIALS, connectionTimeoutMillis: timeoutMs, query_timeout: timeoutMs });
  c.on('error', () => {});
  await c.connect();
  try {
    await c.query('INSERT INTO failover (id) VALUES ($1)', [id]);
  } finally {
    await c.end().catch(() => {});
  }
}

async function count(p: DeployPlan, member: string): Promise<number> {
  const { host, port } = serviceOf(p, member).address;
  const c = new pg.Client({ host, port, ...PG_CREDENTIALS });
  await c.connect();
  try {
    return Number((await c.query('SELECT count(*) AS n FROM failover')).rows[0].n);
  } finally {
    await c.end();
  }
}

const roles = (p: DeployPlan) => Promise.all(members.map(async (m) => [m, await patroniRole(serviceOf(p, m))] as const));

describe('patroni over etcd: three regions', () => {
  let t: TestRoot;
  let dep: Deployment;
  let p: DeployPlan;
  let runDir: string;

  beforeAll(async () => {
    t = await testRoot('pat');
    p = plan(topology, { runId: `pat-${process.pid}`, slot: t.slot, proxies: true, prometheus: false });
    runDir = join(t.root, 'runs', p.runId);
    const t0 = performance.now();
    dep = await createNativeRuntime({ stateRoot: t.root }).up(p, { runDir: join(t.root, 'run'), progress: () => {} });
    console.log(`[patroni] 3 etcd + 3 patroni members up in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  }, 240_000);

  afterAll(async () => {
    await dep?.down();
    // the wrapper's point: no PostgreSQL outlives its Patroni, after a kill or a teardown
    expect(processesMentioning(runDir)).toEqual([]);
    await t?.dispose();
  }, 60_000);

  it('the router sends every connection to the leader from the moment it is ready (HAProxy starts every server UP until its first check)', async () => {
    // first thing after the deploy: before the router waited for its first checks, 2 of 3 servers
    // (the replicas) took connections for ~0.3 s
    const landed: boolean[] = [];
    for (let i = 0; i < 10; i++) {
      const { host, port } = serviceOf(p, 'router').address;
      const c = new pg.Client({ host, port, ...PG_CREDENTIALS, connectionTimeoutMillis: 2_000 });
      await c.connect();
      landed.push((await c.query('SELECT pg_is_in_recovery() AS r')).rows[0].r as boolean);
      await c.end();
    }
    expect(landed).toEqual(Array(10).fill(false));
  });

  it('comes up with an etcd quorum, one leader and two streaming replicas', async () => {
    await waitForEtcdQuorum(serviceOf(p, 'etcd-eu'));
    await expect.poll(async () => (await roles(p)).map(([, r]) => r).sort(), { timeout: 30_000, interval: 250 }).toEqual(['primary', 'replica', 'replica']);
    const leader = (await roles(p)).find(([, r]) => r === 'primary')![0];
    const { host, port } = serviceOf(p, leader).address;
    const c = new pg.Client({ host, port, ...PG_CREDENTIALS });
    await c.connect();
    await c.query('CREATE TABLE failover (id int PRIMARY KEY)');
    const senders = (await c.query("SELECT application_name FROM pg_stat_replication WHERE state = 'streaming' ORDER BY 1")).rows.map((r) => r.application_name);
    await c.end();
    expect(senders).toEqual(members.filter((m) => m !== leader).sort());
    await write(p, leader, 1);
    await write(p, 'router', 2);
    for (const m of members.filter((x) => x !== leader)) await expect.poll(() => count(p, m).catch(() => -1), { timeout: 10_000, interval: 100 }).toBe(2);
  }, 60_000);

  it("the lag's seconds are the leader's replay_lag: 300 ms more on the WAL stream shows in them under writes (under 300 ms without)", async () => {
    const leader = (await roles(p)).find(([, r]) => r === 'primary')![0];
    const replicas = members.filter((m) => m !== leader);
    const tp = toxiproxyClient(p.toxiproxy!.api);
    let id = 10;
    // the median of each replica's seconds over writes 50 ms apart
    const underWrites = async () => {
      const seen: Record<string, number[]> = Object.fromEntries(replicas.map((r) => [r, []]));
      for (let k = 0; k < 12; k++) {
        await write(p, leader, id++);
        await new Promise((r) => setTimeout(r, 50));
        for (const r of replicas) {
          const lag = await replicationLag(serviceOf(p, leader).address, serviceOf(p, r).address, PG_CREDENTIALS, r);
          if (lag.seconds !== null) seen[r]!.push(lag.seconds);
        }
      }
      return Object.fromEntries(replicas.map((r) => [r, [...seen[r]!].sort((a, b) => a - b)[Math.floor(seen[r]!.length / 2)] ?? null]));
    };
    const without = await underWrites();
    const toxic = { name: 'test-wal-latency', type: 'latency' as const, stream: 'downstream' as const, toxicity: 1, attributes: { latency: 300, jitter: 0 } };
    await tp.addToxic(replicationProxyName(leader), toxic);
    let withToxic: Record<string, number | null>;
    try {
      withToxic = await underWrites();
    } finally {
      await tp.removeToxic(replicationProxyName(leader), toxic.name);
    }
    console.log(`[patroni] lag seconds (median under writes) behind ${leader}: ${JSON.stringify(without)} without, ${JSON.stringify(withToxic)} with 300 ms on the WAL stream`);
    for (const r of replicas) {
      expect(without[r]).not.toBeNull();
      expect(without[r]!).toBeLessThan(0.3);
      expect(withToxic[r]!).toBeGreaterThanOrEqual(0.3);
    }
    for (const r of replicas) await expect.poll(() => count(p, r).catch(() => -1), { timeout: 10_000, interval: 100 }).toBe(await count(p, leader));
  }, 60_000);

  it('kills the leader host and another member accepts writes without a step of the harness', async () => {
    const leader = (await roles(p)).find(([, r]) => r === 'primary')![0];
    const leaderPg = serviceOf(p, leader).address;
    const t0 = performance.now();
    await dep.service(leader).signal('SIGKILL');
    // the wrapper kills the orphaned PostgreSQL within a few of its 0.2 s polls
    await expect.poll(() => tryConnect(leaderPg, 200).then(() => 'open', () => 'closed'), { timeout: 3_000, interval: 50 }).toBe('closed');
    const survivors = members.filter((m) => m !== leader);
    let id = 100;
    let writable: string | null = null;
    while (writable === null && performance.now() - t0 < 40_000) {
      for (const m of survivors) {
        if (await write(p, m, id++, 500).then(() => true, () => false)) {
          writable = m;
          break;
        }
      }
      if (writable === null) await new Promise((r) => setTimeout(r, 100));
    }
    const seconds = (performance.now() - t0) / 1000;
    let routed: number | null = null;
    while (routed === null && performance.now() - t0 < 45_000) {
      if (await write(p, 'router', id++, 500).then(() => true, () => false)) routed = (performance.now() - t0) / 1000;
      else await new Promise((r) => setTimeout(r, 100));
    }
    console.log(`[patroni] leader ${leader} killed -> ${writable} writable after ${seconds.toFixed(2)} s, through the router after ${routed?.toFixed(2)} s (ttl ${TTL_S} s)`);
    expect(routed).not.toBeNull();
    expect(routed!).toBeLessThan(2 * TTL_S + 5);
    expect(writable).not.toBeNull();
    // the leader key outlives its holder by up to the ttl; more than twice that is not Patroni's doing
    expect(seconds).toBeLessThan(2 * TTL_S + 5);
    expect(await patroniRole(serviceOf(p, writable!))).toBe('primary');
    expect(await patroniLeads(serviceOf(p, writable!))).toBe(true);
    // the killed leader gives no answer: not known, never "no longer leads"
    expect(await patroniLeads(serviceOf(p, leader), 300)).toBeNull();
    // a member that answers and does not lead: false
    for (const m of survivors.filter((x) => x !== writable)) expect(await patroniLeads(serviceOf(p, m))).toBe(false);
    // the row written before the kill survived the failover (it had replicated)
    await expect.poll(() => count(p, writable!), { timeout: 5_000 }).toBeGreaterThanOrEqual(4);
  }, 90_000);

  it('negative control: what the leader acknowledged while its WAL was held back is lost in the failover (RPO > 0)', async () => {
    const alive = await roles(p);
    const leader = alive.find(([, r]) => r === 'primary')![0];
    const replica = alive.find(([, r]) => r === 'replica')![0];
    const before = await count(p, leader);
    await expect.poll(() => count(p, replica).catch(() => -1), { timeout: 10_000, interval: 100 }).toBe(before);
    await expect.poll(async () => (await replicationLag(serviceOf(p, leader).address, serviceOf(p, replica).address, PG_CREDENTIALS)).bytes, { timeout: 10_000, interval: 100 }).toBe(0);
    const tp = toxiproxyClient(p.toxiproxy!.api);
    // the WAL stream goes through the leader's replication proxy: cut it, as a dead WAN link would
    await tp.setEnabled(replicationProxyName(leader), false);
    const acked: { id: number; at: number }[] = [];
    for (let id = 1_000; id < 1_020; id++) {
      await write(p, leader, id);
      acked.push({ id, at: performance.now() });
    }
    // the lag shows the held-back WAL in bytes while the leader lives
    const lag = await replicationLag(serviceOf(p, leader).address, serviceOf(p, replica).address, PG_CREDENTIALS);
    console.log(`[patroni] lag of ${replica} behind ${leader} with the WAL held back: ${lag.bytes} bytes, ${lag.seconds} s`);
    expect(lag.bytes).toBeGreaterThan(0);
    const killedAt = performance.now();
    await dep.service(leader).signal('SIGKILL');
    await expect.poll(() => patroniRole(serviceOf(p, replica)), { timeout: 2 * TTL_S * 1000 + 5_000, interval: 250 }).toBe('primary');
    const { host, port } = serviceOf(p, replica).address;
    const c = new pg.Client({ host, port, ...PG_CREDENTIALS });
    await c.connect();
    const kept = new Set((await c.query('SELECT id FROM failover WHERE id >= 1000')).rows.map((r) => r.id as number));
    await c.end();
    const lost = acked.filter((w) => !kept.has(w.id));
    const oldestAgeMs = lost.length ? killedAt - lost[0]!.at : null;
    console.log(`[patroni] RPO with the WAL held back: ${lost.length} of ${acked.length} acknowledged writes lost, the oldest acknowledged ${oldestAgeMs?.toFixed(0)} ms before the leader died`);
    expect(lost.length).toBeGreaterThan(0);
    // what had replicated before the cut survived
    expect(await count(p, replica)).toBeGreaterThanOrEqual(before);
    await tp.setEnabled(replicationProxyName(leader), true);
  }, 60_000);
});
