// Phase 3 as containers, offline images: HAProxy over two app servers, sessions in Redis, a
// PostgreSQL primary and a streaming replica (pg_basebackup through its Toxiproxy edge), the
// exporters and the run's Prometheus scraping inside the network. The dead-server drill runs
// unchanged against it: a container kill behind the balancer costs (almost) nothing.
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runDrill } from '../../../chaos/run-drill.ts';
import { seedUsers } from '../../run/seed.ts';
import { endpointUrl, plan, type DeployPlan } from '../../topology/plan.ts';
import { PG_CREDENTIALS, REDIS_PASSWORD } from '../../../targets/app/config.ts';
import { redisPing } from '../../../targets/services/redis.ts';
import { phase3 } from '../../../targets/phases/phase-3.ts';
import { testRoot, type TestRoot } from '../testing/run-helpers.ts';
import type { Deployment } from '../types.ts';
import { connectDocker } from './client.ts';
import { createDockerRuntime } from './docker.ts';
import { labelFilters } from './labels.ts';
import { useTestDaemon } from './testing/dockerd.ts';

const daemon = await useTestDaemon();
const options = { users: 1000, appServers: 2, replicas: 1, shards: 1, shardStrategy: 'range' as const };

describe.skipIf(!daemon.available)('docker runtime, offline images: phase 3', () => {
  let t: TestRoot;
  let p: DeployPlan;
  let d: Deployment;

  beforeAll(async () => {
    t = await testRoot('dk3');
    p = plan(phase3.topology(options), { runId: `dk3-${process.pid}`, slot: t.slot, proxies: true, prometheus: true });
    const log: string[] = [];
    const t0 = performance.now();
    d = await createDockerRuntime({ images: 'local', socketPath: daemon.socketPath, stateRoot: t.root, graceMs: 2_000 }).up(p, { runDir: join(t.root, 'run'), progress: (l) => log.push(l) });
    const up = (performance.now() - t0) / 1000;
    await seedUsers(d, options.users, 7, () => {});
    console.log(`docker phase 3 (${p.services.length} containers) up in ${up.toFixed(1)} s, seeded in ${((performance.now() - t0) / 1000 - up).toFixed(1)} s:\n  ${log.join('\n  ')}`);
  }, 90_000);

  afterAll(async () => {
    await d?.down();
    if (p) expect((await connectDocker(daemon.socketPath).listContainers({ all: true, filters: labelFilters(p.runId) })).length).toBe(0);
    await t?.dispose();
  }, 60_000);

  it('the replica streams from the primary through the Toxiproxy edge', async () => {
    const at = d.service('pg-primary').address;
    const c = new pg.Client({ host: at.host, port: at.port, ...PG_CREDENTIALS });
    await c.connect();
    try {
      const r = await c.query('SELECT application_name, state, client_addr FROM pg_stat_replication');
      expect(r.rows).toHaveLength(1);
      expect(r.rows[0]).toMatchObject({ application_name: 'pg-primary-replica-1', state: 'streaming' });
    } finally {
      await c.end();
    }
  });

  it('the balancer spreads requests over both app containers', async () => {
    const lb = endpointUrl(d.service('lb').address);
    const servedBy = new Set<string>();
    for (let i = 0; i < 6; i++) {
      const res = await fetch(`${lb}/api/users/${i + 1}`, { signal: AbortSignal.timeout(2_000) });
      expect(res.status).toBe(200);
      servedBy.add(res.headers.get('x-served-by') ?? '?');
    }
    expect([...servedBy].sort()).toEqual(['app-1', 'app-2']);
  });

  it('the sessions Redis refuses a client without the run\'s password, which nothing in the run directory holds', async () => {
    const redis = p.services.find((x) => x.kind === 'redis')!;
    await expect(redisPing(d.service(redis.name).address, 2_000, null)).rejects.toThrow(/NOAUTH/);
    await redisPing(d.service(redis.name).address, 2_000);
    const kept = await readdir(join(t.root, 'run'), { recursive: true, withFileTypes: true });
    const files = kept.filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name));
    expect(files).toContain(join(t.root, 'run', 'config', redis.name, 'container.json'));
    for (const f of files) expect(await readFile(f, 'utf8'), f).not.toContain(REDIS_PASSWORD);
  });

  it("Prometheus scrapes every tier inside the network (the engine's target is on the gateway)", async () => {
    const url = `${endpointUrl(d.plan.prometheus!.address)}/api/v1/targets`;
    let targets: { labels: Record<string, string>; health: string; scrapeUrl: string }[] = [];
    // a target is 'unknown' until its first scrape (1 s interval), and the list is empty until
    // Prometheus has read its config's targets (a CI run asked 14 ms after the deploy: none yet)
    for (let i = 0; i < 40; i++) {
      targets = ((await (await fetch(url)).json()) as { data: { activeTargets: typeof targets } }).data.activeTargets;
      const tiers = targets.filter((x) => x.labels.job !== 'bench');
      if (tiers.length > 0 && tiers.every((x) => x.health === 'up')) break;
      await new Promise((r) => setTimeout(r, 250));
    }
    const jobs = new Set(targets.filter((x) => x.health === 'up').map((x) => x.labels.job));
    expect([...jobs].sort()).toEqual(['app', 'haproxy', 'postgres', 'redis', 'toxiproxy']);
    expect(targets.find((x) => x.labels.job === 'haproxy')!.scrapeUrl).toBe('http://lb:8404/metrics');
    expect(targets.find((x) => x.labels.job === 'bench')!.scrapeUrl).toMatch(/^http:\/\/\d+\.\d+\.\d+\.1:9464\/metrics$/);
  }, 20_000);

  it('dead-server: a killed app container costs under 1% errors and rejoins the rotation', async () => {
    const lb = endpointUrl(d.service('lb').address);
    const out = await runDrill({
      deployment: d,
      drill: 'dead-server',
      load: { targets: { api: lb, static: lb }, users: options.users, seed: 7, rate: 40, timeoutMs: 2_000 },
      atS: 4,
      durationS: 5,
      tailS: 6,
    });
    const r = out.drill;
    console.log(`docker phase 3 dead-server: ${JSON.stringify({ pass: r.pass, errors: r.errorsDuringFault, figures: r.figures, writes: r.writes, reasons: r.reasons })}`);
    expect(out.faults[0]).toMatchObject({ name: 'kill', target: 'app-2' });
    expect(r.figures.errorRateDuringFault as number).toBeLessThan(0.01);
    expect(r.figures.victimBackInRotationS).not.toBeNull();
    expect(r.writes!.lost).toBe(0);
    expect(d.service('app-2').isRunning()).toBe(true);
  }, 80_000);
});
