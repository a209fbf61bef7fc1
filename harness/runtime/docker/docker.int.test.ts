// The Docker runtime on a real daemon, offline images (no registry here): phase 2 up with every
// edge through Toxiproxy, requests through the published loopback port, a container kill and a
// start again (the dead-server fault's mechanism), pause/unpause, teardown leaving nothing; and
// the one-line failures of check() and up().
import { createServer, type Server } from 'node:net';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type Docker from 'dockerode';
import { BenchError } from '../../errors.ts';
import { seedUsers } from '../../run/seed.ts';
import { plan, type DeployPlan } from '../../topology/plan.ts';
import { phase2 } from '../../../targets/phases/phase-2.ts';
import { testRoot, type TestRoot } from '../testing/run-helpers.ts';
import { toxiproxyClient } from '../toxiproxy-client.ts';
import type { Deployment } from '../types.ts';
import { connectDocker } from './client.ts';
import { createDockerRuntime, dockerAnswers, isDockerDeployment } from './docker.ts';
import { labelFilters } from './labels.ts';
import { useTestDaemon } from './testing/dockerd.ts';

const daemon = await useTestDaemon();
const options = { users: 200, appServers: 1, replicas: 0, shards: 1, shardStrategy: 'range' as const };

/** What Docker still holds of a run, by its labels. */
async function leftovers(docker: Docker, runId: string) {
  const filters = labelFilters(runId);
  return {
    containers: (await docker.listContainers({ all: true, filters })).length,
    networks: (await docker.listNetworks({ filters })).length,
    volumes: ((await docker.listVolumes({ filters })).Volumes ?? []).length,
  };
}

function freePort(): Promise<number> {
  const srv = createServer();
  return new Promise((resolve) => srv.listen(0, '127.0.0.1', () => {
    const { port } = srv.address() as { port: number };
    srv.close(() => resolve(port));
  }));
}

async function get(url: string, timeoutMs = 2_000): Promise<{ status: number; body: string } | { error: string }> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
    return { status: res.status, body: await res.text() };
  } catch (e) {
    return { error: (e as Error).name };
  }
}

describe.skipIf(!daemon.available)('docker runtime, offline images: phase 2', () => {
  const docker = connectDocker(daemon.socketPath);
  let t: TestRoot;
  let p: DeployPlan;
  let d: Deployment;
  const log: string[] = [];
  let upSeconds = 0;

  beforeAll(async () => {
    t = await testRoot('dk2');
    p = plan(phase2.topology(options), { runId: `dk2-${process.pid}`, slot: t.slot, proxies: true, prometheus: false });
    const runtime = createDockerRuntime({ images: 'local', socketPath: daemon.socketPath, stateRoot: t.root, graceMs: 2_000 });
    await runtime.check(p);
    const t0 = performance.now();
    d = await runtime.up(p, { runDir: join(t.root, 'run'), progress: (l) => log.push(l) });
    upSeconds = (performance.now() - t0) / 1000;
    console.log(`docker phase 2 up in ${upSeconds.toFixed(1)} s:\n  ${log.join('\n  ')}`);
  }, 90_000);

  afterAll(async () => {
    await d?.down();
    await t?.dispose();
  }, 60_000);

  it('runs one labelled container per service, sized like its host, in a namespace published on 127.0.0.1 only', async () => {
    expect(d.runtime).toBe('docker');
    expect([...d.services.keys()]).toEqual(p.order);
    for (const s of p.services) {
      const info = await docker.getContainer(d.service(s.name).id).inspect();
      expect(info.Name).toBe(`/bench-${p.runId}-${s.name}`);
      expect(info.State.Running).toBe(true);
      expect(info.Config.Labels).toMatchObject({ 'bench.managed': 'true', 'bench.run': p.runId, 'bench.service': s.name, 'bench.role': 'service' });
      const host = p.hosts.find((h) => h.name === s.host)!;
      expect(info.HostConfig.NanoCpus).toBe(host.size.cpus * 1e9);
      expect(info.HostConfig.Memory).toBe(host.size.memoryMb * 1024 * 1024);
      // the network identity (alias, published ports) belongs to the service's holder container
      const holder = await docker.getContainer(`bench-${p.runId}-${s.name}-net`).inspect();
      expect(info.HostConfig.NetworkMode).toBe(`container:${holder.Id}`);
      expect(holder.Config.Labels).toMatchObject({ 'bench.run': p.runId, 'bench.service': s.name, 'bench.role': 'net' });
      expect(Object.keys(holder.NetworkSettings.Networks)).toEqual([`bench-${p.runId}`]);
      expect(holder.NetworkSettings.Networks[`bench-${p.runId}`]!.Aliases).toContain(s.name);
      const bindings = Object.values(holder.HostConfig.PortBindings as Record<string, { HostIp: string }[]>).flat();
      expect(bindings.length).toBeGreaterThan(0);
      for (const b of bindings) expect(b.HostIp).toBe('127.0.0.1');
    }
    expect(await leftovers(docker, p.runId)).toEqual({ containers: 6, networks: 1, volumes: 3 });
  });

  it('gives the harness the host view and the containers the network view', () => {
    const app = d.plan.services.find((s) => s.name === 'app')!;
    expect(app.address.host).toBe('127.0.0.1');
    expect(d.service('app').address).toEqual(app.address);
    expect(d.plan.toxiproxy!.api.host).toBe('127.0.0.1');
    expect(isDockerDeployment(d)).toBe(true);
    if (!isDockerDeployment(d)) return;
    expect(d.networkAddress('pg-primary')).toEqual({ host: 'pg-primary', port: 5432 });
    expect(d.plan.edges.find((e) => e.name === 'app->pg-primary')!.listen.host).toBe('toxiproxy');
  });

  it('seeds through the published port and serves users through it, every query over the Toxiproxy edge', async () => {
    await seedUsers(d, options.users, 7, () => {});
    const app = d.service('app').address;
    const url = `http://${app.host}:${app.port}/api/users/17`;
    const ok = await get(url);
    expect(ok).toMatchObject({ status: 200 });
    expect(JSON.parse((ok as { body: string }).body).data.id).toBe(17);
    // cut the app's edge to its database: the request fails, so it went through the proxy
    const tp = toxiproxyClient(d.plan.toxiproxy!.api);
    await tp.setEnabled('app->pg-primary', false);
    try {
      // the app opens new connections now (a DNS lookup of 'toxiproxy' on Docker's embedded
      // resolver, then a refused connect): it answers 503 within its own connect bound (3 s), so
      // the test waits longer than that
      const cut = await get(`http://${app.host}:${app.port}/api/users/18`, 10_000);
      // no answer at all: the app's log says why (it once showed the app crashed by the cut)
      const why = 'status' in cut ? '' : `${JSON.stringify(cut)}; the app's log ends: ${(await readFile(d.service('app').logFile, 'utf8')).slice(-1500)}`;
      expect('status' in cut ? cut.status : 0, why).toBeGreaterThanOrEqual(500);
    } finally {
      await tp.setEnabled('app->pg-primary', true);
    }
    const back = await get(`http://${app.host}:${app.port}/api/users/18`);
    expect(back).toMatchObject({ status: 200 });
  });

  it('kill: the container dies at once and starts again on the same published port', async () => {
    const app = d.service('app');
    const url = `http://${app.address.host}:${app.address.port}/healthz`;
    const id = app.id;
    await app.signal('SIGKILL');
    expect(app.isRunning()).toBe(false);
    expect((await docker.getContainer(id).inspect()).State.Status).toBe('exited');
    // its network holder keeps the address: a request is refused at once, as by a dead process
    // on a live host, instead of hanging on an address that vanished
    const t1 = performance.now();
    expect(await get(url)).toHaveProperty('error');
    expect(performance.now() - t1).toBeLessThan(500);
    const t0 = performance.now();
    await app.start();
    console.log(`docker app started again in ${((performance.now() - t0) / 1000).toFixed(2)} s`);
    expect(app.isRunning()).toBe(true);
    expect(app.id).toBe(id);
    expect(await get(url)).toMatchObject({ status: 200 });
    const text = await readFile(app.logFile, 'utf8');
    expect(text).toMatch(/docker kill --signal SIGKILL/);
    expect(text.match(/app: listening on/g)!.length).toBeGreaterThanOrEqual(2);
  }, 60_000);

  it('SIGSTOP pauses (requests hang), SIGCONT resumes; stop then start', async () => {
    const app = d.service('app');
    const url = `http://${app.address.host}:${app.address.port}/healthz`;
    await app.signal('SIGSTOP');
    expect(app.isRunning()).toBe(false);
    expect((await docker.getContainer(app.id).inspect()).State.Paused).toBe(true);
    expect(await get(url)).toEqual({ error: 'TimeoutError' });
    await app.signal('SIGCONT');
    expect(app.isRunning()).toBe(true);
    expect(await get(url)).toMatchObject({ status: 200 });
    await app.stop();
    expect(app.isRunning()).toBe(false);
    await app.start();
    expect(await get(url)).toMatchObject({ status: 200 });
  }, 60_000);

  it('down removes every container, the network and the volumes, and the data; the logs stay', async () => {
    // the data lives under the state root (never under --out), marked as the harness's own
    const dataDir = join(t.root, 'runs', p.runId);
    expect(existsSync(join(t.root, 'run', 'data'))).toBe(false);
    expect(existsSync(join(dataDir, '.bench-run'))).toBe(true);
    expect(existsSync(join(dataDir, 'pg-primary', 'data', 'PG_VERSION'))).toBe(true);
    await d.down();
    expect(await leftovers(docker, p.runId)).toEqual({ containers: 0, networks: 0, volumes: 0 });
    expect(existsSync(dataDir)).toBe(false);
    expect(existsSync(join(t.root, 'run', 'logs', 'pg-primary.log'))).toBe(true);
    await d.down(); // idempotent
  }, 60_000);
});

describe.skipIf(!daemon.available)('docker runtime: one clear line per failure', () => {
  const small = () => plan(phase2.topology(options), { runId: `dkf-${process.pid}`, slot: 251, proxies: false, prometheus: false });

  it('no daemon: says where it looked and what to do', async () => {
    const err = await createDockerRuntime({ socketPath: '/tmp/bench-no-such-docker.sock' }).check(small()).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BenchError);
    expect((err as BenchError).oneLine()).toBe('Docker daemon not reachable at /tmp/bench-no-such-docker.sock — start Docker or use --runtime native');
    expect((err as BenchError).exitCode).toBe(3);
  });

  it('an image that is not here and cannot be pulled: names it and offers --images local', async () => {
    const rt = createDockerRuntime({ images: 'official', socketPath: daemon.socketPath, officialImages: { postgres: 'registry.invalid/bench/none:0' } });
    const err = (await rt.check(small()).catch((e: unknown) => e)) as BenchError;
    expect(err).toBeInstanceOf(BenchError);
    expect(err.oneLine()).toMatch(/^image registry\.invalid\/bench\/none:0 is not on this machine and cannot be pulled \(.+\) — .*--images local/);
    expect(err.oneLine()).not.toContain('\n');
  });

  it('--grafana with offline images is refused up front, with what to do', async () => {
    const p = plan(phase2.topology(options), { runId: `dkg-${process.pid}`, slot: 251, proxies: false, prometheus: true });
    const err = (await createDockerRuntime({ images: 'local', socketPath: daemon.socketPath, grafana: true }).check(p).catch((e: unknown) => e)) as BenchError;
    expect(err.oneLine()).toBe('--grafana runs the official Grafana image, and --images local pulls nothing — drop --grafana, or use --images official');
    expect(err.exitCode).toBe(2);
  });

  it('dockerAnswers tells auto whether to pick Docker', async () => {
    expect(await dockerAnswers(daemon.socketPath)).toBe(true);
    expect(await dockerAnswers('/tmp/bench-no-such-docker.sock')).toBe(false);
  });

  it('Ctrl-C while starting: throws interrupted and leaves nothing behind', async () => {
    const t = await testRoot('dkint');
    const p = plan(phase2.topology(options), { runId: `dkint-${process.pid}`, slot: t.slot, proxies: true, prometheus: false });
    const ac = new AbortController();
    try {
      const rt = createDockerRuntime({ images: 'local', socketPath: daemon.socketPath, stateRoot: t.root });
      // abort once the database is being prepared: containers, a volume and the network exist
      const progress = (l: string) => {
        if (l.includes('initdb')) ac.abort();
      };
      const err = (await rt.up(p, { runDir: join(t.root, 'run'), progress, signal: ac.signal }).catch((e: unknown) => e)) as BenchError;
      expect(ac.signal.aborted).toBe(true);
      expect(err).toBeInstanceOf(BenchError);
      expect(err.code).toBe('interrupted');
      expect(await leftovers(connectDocker(daemon.socketPath), p.runId)).toEqual({ containers: 0, networks: 0, volumes: 0 });
    } finally {
      await t.dispose();
    }
  }, 60_000);

  it('a port conflict: one line naming the service and port, and nothing left behind', async () => {
    const held: Server = createServer();
    const port = await new Promise<number>((r) => held.listen(0, '127.0.0.1', () => r((held.address() as { port: number }).port)));
    const t = await testRoot('dkf');
    const p = plan(phase2.topology(options), { runId: `dkf-${process.pid}`, slot: t.slot, proxies: false, prometheus: false });
    try {
      // the first port picked (pg-primary's, first in the plan) is the taken one
      let calls = 0;
      const pickPort = async () => (calls++ === 0 ? port : freePort());
      const rt = createDockerRuntime({ images: 'local', socketPath: daemon.socketPath, stateRoot: t.root, pickPort });
      const err = (await rt.up(p, { runDir: join(t.root, 'run'), progress: () => {} }).catch((e: unknown) => e)) as BenchError;
      expect(err).toBeInstanceOf(BenchError);
      expect(err.oneLine()).toMatch(new RegExp(`^cannot publish pg-primary on 127\\.0\\.0\\.1:${port}: the port is taken .* — `));
      expect(await leftovers(connectDocker(daemon.socketPath), p.runId)).toEqual({ containers: 0, networks: 0, volumes: 0 });
    } finally {
      held.close();
      await t.dispose();
    }
  }, 60_000);
});
