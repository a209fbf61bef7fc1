// The native runtime on real servers: phases 1 and 2 with Toxiproxy edges, a SIGKILLed service
// started again, teardown that leaves nothing, failures that clean up, and a SIGKILLed harness
// whose leftovers the reaper removes.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { BenchError } from '../errors.ts';
import { plan, reach, type DeployPlan } from '../topology/plan.ts';
import { phase1 } from '../../targets/phases/phase-1.ts';
import { phase2 } from '../../targets/phases/phase-2.ts';
import { fakeKind, fakeService, withKinds } from '../../targets/services/testing/fake-kind.ts';
import type { ServiceRecipe } from '../../targets/services/types.ts';
import type { PhaseOptions, Topology } from '../topology/types.ts';
import { cpuQuota } from './cgroups.ts';
import { createNativeRuntime } from './native.ts';
import { isSameProcess } from './process.ts';
import { listRuns, reapAll, readState, runDataDir, type RunState } from './state.ts';
import { toxiproxyClient } from './toxiproxy-client.ts';
import { processesMentioning, survivors, testRoot, type TestRoot } from './testing/run-helpers.ts';
import { PG_CREDENTIALS } from '../../targets/app/config.ts';
import type { Deployment } from './types.ts';

const options: PhaseOptions = { users: 1000, appServers: 1, replicas: 0, shards: 1, shardStrategy: 'range' };
const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
const lines: string[] = [];
const progress = (l: string) => lines.push(l);

async function healthz(p: DeployPlan): Promise<number> {
  const entry = p.services.find((s) => s.name === p.topology.entry)!.address;
  const res = await fetch(`http://${entry.host}:${entry.port}/healthz`, { signal: AbortSignal.timeout(5_000) });
  await res.text();
  return res.status;
}

/** Everything recorded is gone and no process mentions the run's data directory. */
function expectNothingLeft(state: RunState) {
  expect(survivors(state)).toEqual([]);
  expect(processesMentioning(state.dataDir)).toEqual([]);
  expect(existsSync(state.dataDir)).toBe(false);
  for (const c of state.cgroups) expect(existsSync(c)).toBe(false);
}

describe('native runtime: phase 1', () => {
  let t: TestRoot;
  let dep: Deployment;
  let p: DeployPlan;
  let recorded: RunState;

  beforeAll(async () => {
    t = await testRoot('p1');
    p = plan(phase1.topology(options), { runId: `p1-${process.pid}`, slot: t.slot, proxies: true, prometheus: false });
    dep = await createNativeRuntime({ stateRoot: t.root }).up(p, { runDir: join(t.root, 'run'), progress });
    recorded = (await readState(p.runId, { root: t.root }))!;
  }, 90_000);

  afterAll(async () => {
    await dep?.down();
    await t?.dispose();
  });

  it('answers /healthz at the entry and records every process with its start time', async () => {
    expect(await healthz(p)).toBe(200);
    expect(recorded.services.map((s) => s.name)).toEqual(['toxiproxy', 'app']);
    for (const s of recorded.services) expect(isSameProcess(s.pid, s.startTime)).toBe(true);
    expect(await readFile(join(t.root, 'run', 'logs', 'app.log'), 'utf8')).toMatch(/listening on http:\/\/127\./);
  });

  it('a SIGKILLed app is recorded as an exit, not an error, and starts again', async () => {
    const app = dep.service('app');
    const oldPid = app.id;
    await app.signal('SIGKILL');
    await expect.poll(() => app.isRunning(), { timeout: 5_000 }).toBe(false);
    await expect(healthz(p)).rejects.toThrow();
    await app.start();
    expect(app.isRunning()).toBe(true);
    expect(app.id).not.toBe(oldPid);
    expect(await healthz(p)).toBe(200);
    const state = (await readState(p.runId, { root: t.root }))!;
    expect(String(state.services.find((s) => s.name === 'app')!.pid)).toBe(app.id);
    expect(await readFile(app.logFile, 'utf8')).toMatch(/killed by SIGKILL/);
  }, 30_000);

  it('SIGSTOP hangs the app and SIGCONT resumes it', async () => {
    const app = dep.service('app');
    await app.signal('SIGSTOP');
    expect(app.isRunning()).toBe(false);
    await expect(fetch(`http://${app.address.host}:${app.address.port}/healthz`, { signal: AbortSignal.timeout(500) })).rejects.toThrow();
    await app.signal('SIGCONT');
    expect(app.isRunning()).toBe(true);
    expect(await healthz(p)).toBe(200);
  }, 15_000);

  it('a SIGSTOPped app that is SIGKILLed is down once it exited, and start() launches a new process', async () => {
    // region-partition restarts a frozen Patroni this way. Before, the kill left the service
    // marked stopped: isRunning() said false at once, before the exit, and start() resumed the
    // dead process (SIGCONT, then waited for its readiness) instead of launching one.
    const app = dep.service('app');
    const oldPid = app.id;
    await app.signal('SIGSTOP');
    await app.signal('SIGKILL');
    await expect.poll(() => app.isRunning(), { timeout: 5_000 }).toBe(false);
    await app.start();
    expect(app.isRunning()).toBe(true);
    expect(app.id).not.toBe(oldPid);
    expect(await healthz(p)).toBe(200);
  }, 30_000);

  it('down() leaves no process, no data, no cgroup and no state file; a second down() is a no-op', async () => {
    const state = (await readState(p.runId, { root: t.root }))!;
    await dep.down();
    await dep.down();
    expectNothingLeft(state);
    expect(await readState(p.runId, { root: t.root })).toBeNull();
    // logs stay for the reader
    expect(existsSync(join(t.root, 'run', 'logs', 'app.log'))).toBe(true);
  }, 30_000);
});

describe('native runtime: phase 2 through Toxiproxy', () => {
  let t: TestRoot;
  let dep: Deployment;
  let p: DeployPlan;

  beforeAll(async () => {
    t = await testRoot('p2');
    p = plan(phase2.topology(options), { runId: `p2-${process.pid}`, slot: t.slot, proxies: true, prometheus: false });
    dep = await createNativeRuntime({ stateRoot: t.root }).up(p, { runDir: join(t.root, 'run'), progress });
  }, 120_000);

  afterAll(async () => {
    await dep?.down();
    await t?.dispose();
  });

  it('serves /healthz with the database reached through its edge', async () => {
    expect(await healthz(p)).toBe(200);
    const proxies = await toxiproxyClient(p.toxiproxy!.api).listProxies();
    expect(proxies.map((x) => x.name)).toEqual(['app->pg-primary']);
    // the app reaches the database at the proxy, not directly
    expect(reach(p, 'app', 'pg-primary').host).toBe(p.controlIp);
  });

  it('creates role and database bench, reachable with its password through the proxy', async () => {
    const edge = reach(p, 'app', 'pg-primary');
    const c = new pg.Client({ host: edge.host, port: edge.port, user: PG_CREDENTIALS.user, password: PG_CREDENTIALS.password, database: PG_CREDENTIALS.database });
    await c.connect();
    try {
      const r = await c.query('SELECT current_user AS u, pg_is_in_recovery() AS rec');
      expect(r.rows[0]).toEqual({ u: 'bench', rec: false });
    } finally {
      await c.end();
    }
    // and a wrong password is refused
    const bad = new pg.Client({ host: edge.host, port: edge.port, user: 'bench', password: 'nope', database: 'bench' });
    await expect(bad.connect()).rejects.toThrow(/password authentication failed/);
  });

  it('a SIGKILLed postgres (whole process group) restarts with crash recovery', async () => {
    const db = dep.service('pg-primary');
    await db.signal('SIGKILL');
    await expect.poll(() => db.isRunning(), { timeout: 5_000 }).toBe(false);
    await db.start();
    expect(db.isRunning()).toBe(true);
    expect(await readFile(db.logFile, 'utf8')).toMatch(/database system was interrupted|not properly shut down/);
  }, 60_000);

  it('runs the services of each host in that host cgroup, when cgroups are writable', async () => {
    const state = (await readState(p.runId, { root: t.root }))!;
    if (state.cgroups.length === 0) return; // host sizes not enforced here (see the progress line)
    const db = state.services.find((s) => s.name === 'pg-primary')!;
    for (const dir of db.cgroups) {
      const procs = (await readFile(join(dir, 'cgroup.procs'), 'utf8')).trim().split('\n').map(Number);
      expect(procs).toContain(db.pid);
    }
    // the host's CPU quota holds once the deployment is up (the start-up ran unthrottled)
    const quota = cpuQuota(p.hosts.find((h) => h.name === p.services.find((s) => s.name === 'pg-primary')!.host)!.size.cpus);
    const v2 = db.cgroups.find((d) => existsSync(join(d, 'cpu.max')));
    const v1 = db.cgroups.find((d) => existsSync(join(d, 'cpu.cfs_quota_us')));
    if (v2) expect((await readFile(join(v2, 'cpu.max'), 'utf8')).trim()).toBe(`${quota.quotaUs} ${quota.periodUs}`);
    else expect((await readFile(join(v1!, 'cpu.cfs_quota_us'), 'utf8')).trim()).toBe(String(quota.quotaUs));
    expect(dep.sizesEnforced?.()).toMatchObject({ [p.services.find((s) => s.name === 'pg-primary')!.host]: true });
    expect(lines.some((l) => l.startsWith('host sizes are not enforced'))).toBe(false);
  });

  it('down() stops postgres and its backends, and leaves nothing', async () => {
    const state = (await readState(p.runId, { root: t.root }))!;
    expect(processesMentioning(state.dataDir).length).toBeGreaterThan(0);
    await dep.down();
    expectNothingLeft(state);
  }, 30_000);
});

describe('native runtime: failures clean up', () => {
  let t: TestRoot;
  beforeAll(async () => {
    t = await testRoot('fail');
  });
  afterAll(async () => {
    await t?.dispose();
  });

  const small: Topology = {
    phase: 0,
    title: 'failing',
    regions: [{ name: 'local', wanLatencyMs: 0 }],
    hosts: [{ name: 'h1', size: { cpus: 0.25, memoryMb: 256 }, region: 'local' }],
    services: [
      { name: 'cache', kind: 'redis', host: 'h1', role: 'cache', dependsOn: [], config: { kind: 'redis' } },
      fakeService('worker', { name: 'broken', host: 'h1', role: 'x', dependsOn: ['cache'] }),
    ],
    entry: 'cache',
  };
  const broken: ServiceRecipe = fakeKind('worker', {
    requires: [{ binary: 'sh', debianPackage: 'dash' }],
    launch: (ctx) => ({ command: ctx.bin('sh'), args: ['-c', 'echo "config error: no such thing" >&2; exit 3'] }),
    ready: async (ctx) => {
      await new Promise((_, reject) => ctx.signal.addEventListener('abort', () => reject(new Error('aborted'))));
    },
  });

  it('a process that exits before it is ready fails up() with its log tail, and what started is torn down', async () => {
    const p = plan(small, { runId: `fail-${process.pid}`, slot: t.slot, proxies: false, prometheus: false, kinds: withKinds(broken) });
    const rt = createNativeRuntime({ stateRoot: t.root, recipes: withKinds(broken) });
    const err = await rt.up(p, { runDir: join(t.root, 'run-fail'), progress }).then(() => null, (e: unknown) => e);
    expect(err).toBeInstanceOf(BenchError);
    expect((err as BenchError).code).toBe('environment');
    expect((err as BenchError).message).toMatch(/broken exited with code 3 before it was ready/);
    expect((err as BenchError).message).toMatch(/config error: no such thing/);
    expect(await readState(p.runId, { root: t.root })).toBeNull();
    expect(processesMentioning(runDataDir(p.runId, t.root))).toEqual([]);
  }, 30_000);

  it('an aborted up() tears down and says it was interrupted', async () => {
    const p = plan(small, { runId: `abort-${process.pid}`, slot: t.slot, proxies: false, prometheus: false, kinds: withKinds(broken) });
    const hang: ServiceRecipe = { ...broken, launch: (ctx) => ({ command: ctx.bin('sh'), args: ['-c', 'sleep 30'] }) };
    const rt = createNativeRuntime({ stateRoot: t.root, recipes: withKinds(hang) });
    const ac = new AbortController();
    const seen: string[] = [];
    const up = rt.up(p, { runDir: join(t.root, 'run-abort'), progress: (l) => {
      seen.push(l);
      if (l.startsWith('cache: ready')) setTimeout(() => ac.abort(), 200);
    }, signal: ac.signal });
    const err = await up.then(() => null, (e: unknown) => e);
    expect((err as BenchError).code).toBe('interrupted');
    expect(await readState(p.runId, { root: t.root })).toBeNull();
    expect(processesMentioning(runDataDir(p.runId, t.root))).toEqual([]);
    expect(processesMentioning('sleep 30').filter((x) => x.cmdline === 'sh -c sleep 30')).toEqual([]);
  }, 30_000);

  it('check() names every missing binary with its package in one error', async () => {
    const p = plan(small, { runId: 'check', slot: t.slot, proxies: true, prometheus: false, kinds: withKinds(broken) });
    const rt = createNativeRuntime({ stateRoot: t.root, env: { PATH: '/nonexistent' }, repoRoot: '/nonexistent', recipes: withKinds(broken) });
    const err = await rt.check(p).then(() => null, (e: unknown) => e);
    expect((err as BenchError).code).toBe('environment');
    expect((err as BenchError).message).toMatch(/redis-server \(Debian package redis-server\)/);
    expect((err as BenchError).message).toMatch(/toxiproxy-server \(not in Debian/);
    expect((err as BenchError).hint).toMatch(/run: bench setup/);
  });
});

describe('reaper: a harness killed with SIGKILL', () => {
  let t: TestRoot;
  beforeAll(async () => {
    t = await testRoot('reap');
  });
  afterAll(async () => {
    await reapAll({ root: t.root });
    await t?.dispose();
  });

  it('leaves processes that reapAll({ onlyDead }) finds and removes', async () => {
    const fixture = join(repoRoot, 'harness', 'runtime', 'testing', 'hold-phase.ts');
    const child = spawn(process.execPath, ['--import', 'tsx', fixture, '2', String(t.slot), t.root, join(t.root, 'run')], {
      cwd: repoRoot,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const runId = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`fixture not up in time: ${stderr}`)), 90_000);
      createInterface({ input: child.stdout }).once('line', (l) => {
        clearTimeout(timer);
        resolve((JSON.parse(l) as { runId: string }).runId);
      });
      child.once('exit', (code) => reject(new Error(`fixture exited ${code}: ${stderr}`)));
    });
    const state = (await readState(runId, { root: t.root }))!;
    expect(state.services.map((s) => s.name)).toEqual(['toxiproxy', 'pg-primary', 'app']);
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));
    // the services outlive their harness
    expect(survivors(state).length).toBe(3);
    const [run] = await listRuns({ root: t.root });
    expect(run).toMatchObject({ runId, harnessAlive: false, stale: false });
    const reaped = await reapAll({ root: t.root, onlyDead: true });
    expect(reaped.map(String)).toEqual([runId]);
    expect(reaped[0]!.killed).toEqual(expect.arrayContaining(state.services.map((s) => s.pid)));
    expectNothingLeft(state);
    expect(await listRuns({ root: t.root })).toEqual([]);
  }, 120_000);
});
