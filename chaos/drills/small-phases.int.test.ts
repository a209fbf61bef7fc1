// Drills on phases 1 and 2, deployed for real: the monolith's single point of failure, and a
// drill interrupted in the middle (AbortController, as Ctrl-C) that must leave no toxic and no
// process behind.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BenchError } from '../../harness/errors.ts';
import { toxiproxyClient } from '../../harness/runtime/toxiproxy-client.ts';
import { runDrill } from '../run-drill.ts';
import { deployPhase, type TestDeployment } from '../testing/deploy.ts';

describe('dead-server on phase 1: the single point of failure', () => {
  let d: TestDeployment;
  beforeAll(async () => {
    d = await deployPhase('chaos-p1', 1, {}, { users: 1000, rate: 40 });
  }, 120_000);
  afterAll(async () => {
    if (d) expect(await d.dispose()).toEqual([]);
  });

  it('fails its hypothesis as expected, detects at once, recovers after the restart, loses no write', async () => {
    const out = await runDrill({ deployment: d.deployment, drill: 'dead-server', load: d.load, atS: 4, durationS: 4, tailS: 6 });
    const r = out.drill;
    expect(r.pass).toBe(false);
    expect(r.figures.expected).toBe('fail');
    expect(r.reasons.join('\n')).toMatch(/single point of failure/);
    expect(r.errorsDuringFault).toBeGreaterThan(100);
    expect(r.timeToDetectS).not.toBeNull();
    expect(r.timeToDetectS!).toBeLessThan(1.5);
    expect(r.timeToRecoverS).not.toBeNull();
    expect(r.timeToRecoverS!).toBeGreaterThanOrEqual(3);
    expect(r.timeToRecoverS!).toBeLessThan(10);
    expect(out.faults).toHaveLength(1);
    expect(out.faults[0]).toMatchObject({ name: 'kill', target: 'app' });
    expect(out.faults[0]!.startS).toBeCloseTo(4, 0);
    expect(out.faults[0]!.endS!).toBeGreaterThan(8);
    expect(r.writes).not.toBeNull();
    expect(r.writes!.acknowledged).toBeGreaterThan(10);
    expect(r.writes!.lost).toBe(0);
    expect(d.deployment.service('app').isRunning()).toBe(true);
    console.log(`phase 1 dead-server: detect ${r.timeToDetectS} s, recover ${r.timeToRecoverS} s, ${r.errorsDuringFault} failed, writes ${JSON.stringify(r.writes)}`);
  }, 60_000);
});

describe('phase 2: a drill aborted in the middle leaves nothing behind', () => {
  let d: TestDeployment;
  beforeAll(async () => {
    d = await deployPhase('chaos-p2', 2, {}, { users: 1000, rate: 40 });
  }, 120_000);
  afterAll(async () => {
    if (d) expect(await d.dispose()).toEqual([]);
  });

  async function abortAt(drill: string, ms: number, extra: { atS: number; durationS: number }) {
    const ac = new AbortController();
    const timer = setTimeout(() => ac.abort(), ms);
    const err = await runDrill({ deployment: d.deployment, drill, load: d.load, ...extra, tailS: 30, signal: ac.signal }).catch((e: unknown) => e);
    clearTimeout(timer);
    return err;
  }

  it('slow-database: interrupted with the toxics on, throws interrupted and leaves no toxic', async () => {
    const api = toxiproxyClient(d.plan.toxiproxy!.api);
    const err = await abortAt('slow-database', 3_500, { atS: 1, durationS: 60 });
    expect(err).toBeInstanceOf(BenchError);
    expect((err as BenchError).code).toBe('interrupted');
    const proxies = await api.listProxies();
    expect(proxies.flatMap((p) => p.toxics)).toEqual([]);
    expect(proxies.every((p) => p.enabled)).toBe(true);
  }, 60_000);

  it('dead-server: interrupted while the app is dead, the app is started again', async () => {
    const err = await abortAt('dead-server', 3_500, { atS: 1, durationS: 60 });
    expect((err as BenchError).code).toBe('interrupted');
    for (const s of d.deployment.services.values()) expect([s.name, s.isRunning()]).toEqual([s.name, true]);
    const entry = d.load.targets.api;
    expect((await fetch(`${entry}/healthz`)).status).toBe(200);
  }, 60_000);
});
