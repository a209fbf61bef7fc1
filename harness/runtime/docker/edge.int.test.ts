// The CDN edge's hit ratio under the Docker runtime, offline images: phase 4 as containers, a
// static asset MISS then HIT through the edge, and the edge's access log (written by nginx inside
// its container) read back through the runtime's service handle, the way the run's collect step
// reads it. Before the runtime could read a service's files, this figure was silently missing
// under --runtime docker.
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { collectServerView, edgeCounts, serverBaseline } from '../../run/collect.ts';
import { endpointUrl, plan, type DeployPlan } from '../../topology/plan.ts';
import { phase4 } from '../../../targets/phases/phase-4.ts';
import { EDGE_LOG_FILE } from '../../../targets/services/nginx.ts';
import { testRoot, type TestRoot } from '../testing/run-helpers.ts';
import type { Deployment } from '../types.ts';
import { connectDocker } from './client.ts';
import { createDockerRuntime } from './docker.ts';
import { labelFilters } from './labels.ts';
import { useTestDaemon } from './testing/dockerd.ts';

const daemon = await useTestDaemon();
const options = { users: 20, appServers: 1, replicas: 0, shards: 1, shardStrategy: 'range' as const };

describe.skipIf(!daemon.available)('docker runtime, offline images: the CDN edge of phase 4', () => {
  let t: TestRoot;
  let p: DeployPlan;
  let d: Deployment;

  beforeAll(async () => {
    t = await testRoot('dk4');
    p = plan(phase4.topology(options), { runId: `dk4-${process.pid}`, slot: t.slot, proxies: false, prometheus: false });
    const log: string[] = [];
    const t0 = performance.now();
    d = await createDockerRuntime({ images: 'local', socketPath: daemon.socketPath, stateRoot: t.root, graceMs: 2_000 }).up(p, { runDir: join(t.root, 'run'), progress: (l) => log.push(l) });
    console.log(`docker phase 4 (${p.services.length} containers) up in ${((performance.now() - t0) / 1000).toFixed(1)} s:\n  ${log.join('\n  ')}`);
  }, 120_000);

  afterAll(async () => {
    await d?.down();
    if (p) expect((await connectDocker(daemon.socketPath).listContainers({ all: true, filters: labelFilters(p.runId) })).length).toBe(0);
    await t?.dispose();
  }, 60_000);

  it('the edge log, read through the runtime, counts a MISS then a HIT; the server view has the ratio', async () => {
    const edge = d.service('cdn');
    // the directory the container writes in is this machine's, at the same path
    expect(edge.dataDir).toBe(join(t.root, 'runs', p.runId, 'cdn'));
    const before = await serverBaseline(d, d.plan, { apps: false });
    expect(before.edges.get('cdn')).toEqual({ hits: 0, misses: 0 });
    const startMs = Date.now();
    const cdn = endpointUrl(edge.address);
    const first = await fetch(`${cdn}/static/logo.png`, { signal: AbortSignal.timeout(5_000) });
    expect(first.status).toBe(200);
    expect(first.headers.get('x-cache-status')).toBe('MISS');
    await first.arrayBuffer();
    const second = await fetch(`${cdn}/static/logo.png`, { signal: AbortSignal.timeout(5_000) });
    expect(second.headers.get('x-cache-status')).toBe('HIT');
    await second.arrayBuffer();
    // nginx writes its access log line after the response: wait for both lines
    let counts = await edgeCounts(edge);
    for (let i = 0; i < 40 && counts.hits + counts.misses < 2; i++) {
      await new Promise((r) => setTimeout(r, 50));
      counts = await edgeCounts(edge);
    }
    expect(counts).toEqual({ hits: 1, misses: 1, other: 0, ratio: 0.5 });
    // the log's third field is $upstream_cache_status
    expect((await edge.readFile(EDGE_LOG_FILE))!.split('\n').filter(Boolean).map((l) => l.split(' ')[2])).toEqual(['MISS', 'HIT']);
    const view = await collectServerView(d, d.plan, { startMs, endMs: Date.now() }, null, before);
    expect(view.tiers.edge).toEqual({ 'hits.cdn': 1, 'misses.cdn': 1, 'hitRatio.cdn': 0.5 });
  }, 30_000);

  it('a file the service never wrote reads as null, and nothing outside its directory is readable', async () => {
    const edge = d.service('cdn');
    expect(await edge.readFile('no-such.log')).toBeNull();
    await expect(edge.readFile('../app-1/app.db')).rejects.toThrow(/not a file inside/);
  });
});
