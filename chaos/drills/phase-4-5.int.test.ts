// Drills on a real phase 4 (cache-aside Redis and a CDN edge) and phase 5 (two shards): a dead
// cache fails no read, a dead CDN edge fails only static assets, a dead shard fails only its users.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runDrill } from '../run-drill.ts';
import { deployPhase, type TestDeployment } from '../testing/deploy.ts';

const summary = (name: string, out: Awaited<ReturnType<typeof runDrill>>) => {
  const r = out.drill;
  console.log(`${name}: ${JSON.stringify({ codes: out.load.results.statusCodes, pass: r.pass, detect: r.timeToDetectS, recover: r.timeToRecoverS, errors: r.errorsDuringFault, p99: [r.latencyBeforeP99, r.latencyDuringP99], writes: r.writes, figures: r.figures, reasons: r.reasons })}`);
};

describe('phase 4 drills', () => {
  let d: TestDeployment;
  beforeAll(async () => {
    d = await deployPhase('chaos-p4', 4, { appServers: 2, replicas: 1 }, { users: 2000, rate: 60 });
  }, 240_000);
  afterAll(async () => {
    if (d) expect(await d.dispose()).toEqual([]);
  });

  it('cache-outage: no read fails while the cache is dead', async () => {
    const out = await runDrill({ deployment: d.deployment, drill: 'cache-outage', load: d.load, atS: 5, durationS: 6, tailS: 6 });
    summary('phase 4 cache-outage', out);
    const r = out.drill;
    expect(out.load.results.endpoints.read!.requests).toBeGreaterThan(500);
    expect(r.figures.failedReads).toBe(0);
    expect(out.faults[0]).toMatchObject({ name: 'kill', target: 'redis-cache' });
    expect(d.deployment.service('redis-cache').isRunning()).toBe(true);
    expect(r.pass).toBe(true);
  }, 90_000);

  it('cdn-outage: only static assets fail while the edge is dead, the API does not notice', async () => {
    const out = await runDrill({ deployment: d.deployment, drill: 'cdn-outage', load: d.load, atS: 5, durationS: 5, tailS: 6 });
    summary('phase 4 cdn-outage', out);
    const r = out.drill;
    expect(r.figures.apiErrors).toBe(0);
    expect(r.figures.staticErrors as number).toBeGreaterThan(0);
    expect(r.timeToDetectS!).toBeLessThan(1.5);
    expect(r.pass).toBe(true);
  }, 90_000);
});

describe('phase 5 drills', () => {
  let d: TestDeployment;
  beforeAll(async () => {
    d = await deployPhase('chaos-p5', 5, { appServers: 2, replicas: 0, shards: 2 }, { users: 2000, rate: 60 });
  }, 240_000);
  afterAll(async () => {
    if (d) expect(await d.dispose()).toEqual([]);
  });

  it('shard-outage: only the dead shard fails its writes; its blast radius is its id range', async () => {
    const out = await runDrill({ deployment: d.deployment, drill: 'shard-outage', load: d.load, atS: 5, durationS: 5, tailS: 6 });
    summary('phase 5 shard-outage', out);
    const r = out.drill;
    expect(r.figures.blastRadiusShards).toBe('b');
    expect(r.figures.blastRadiusIds).toBe('1001–…');
    expect(r.figures.blastRadiusShare).toBe(0.5);
    // measured by the engine per shard: only b's requests failed, and the failed share stayed within
    // b's measured share of the requests x the write share + 1%
    expect(r.figures['errors.a']).toBe(0);
    expect(r.figures['errors.b'] as number).toBeGreaterThan(0);
    expect(r.figures.victimRequestShare as number).toBeGreaterThan(0.3);
    expect(r.figures.victimRequestShare as number).toBeLessThan(0.7);
    expect(r.figures.failRateDuringOutage as number).toBeGreaterThan(0);
    expect(r.figures.failRateDuringOutage as number).toBeLessThanOrEqual(r.figures.errorBound as number);
    expect(r.figures['probeFailures.a']).toBe(0);
    expect(r.figures['probeFailures.b'] as number).toBeGreaterThan(0);
    expect(r.writes!.lost).toBe(0);
    // detected at the first failed write, recovered once the restarted primary takes writes again
    expect(r.timeToDetectS!).toBeLessThan(1.5);
    expect(r.timeToRecoverS!).toBeGreaterThan(4);
    expect(r.pass).toBe(true);
  }, 90_000);
});
