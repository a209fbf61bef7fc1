// The process faults on real processes, through the native runtime: two Redis servers on two
// hosts with a Toxiproxy edge between them. kill, hang, stop and host-down are applied, their
// effect is checked with PING, and after revert everything answers again and nothing is left.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { createNativeRuntime } from '../../harness/runtime/native.ts';
import { readState, type RunState } from '../../harness/runtime/state.ts';
import { survivors, testRoot, type TestRoot } from '../../harness/runtime/testing/run-helpers.ts';
import { toxiproxyClient } from '../../harness/runtime/toxiproxy-client.ts';
import type { Deployment } from '../../harness/runtime/types.ts';
import { plan, type DeployPlan } from '../../harness/topology/plan.ts';
import type { Topology } from '../../harness/topology/types.ts';
import { redisPing } from '../../targets/services/redis.ts';
import { faultContext } from '../fault-runner.ts';
import { chaosToxiproxy } from '../toxiproxy.ts';
import { makeFault } from './index.ts';
import type { FaultContext } from './types.ts';

const topology: Topology = {
  phase: 3,
  title: 'process faults',
  regions: [{ name: 'local', wanLatencyMs: 0 }],
  hosts: [
    { name: 'cache-host', size: { cpus: 0.5, memoryMb: 256 }, region: 'local' },
    { name: 'other-host', size: { cpus: 0.5, memoryMb: 256 }, region: 'local' },
  ],
  services: [
    { name: 'redis', kind: 'redis', host: 'cache-host', role: 'cache', dependsOn: [], config: { kind: 'redis' } },
    // a replica-like neighbour: its edge redis-b->redis is what host-down must cut
    { name: 'redis-b', kind: 'redis', host: 'other-host', role: 'cache', dependsOn: ['redis'], config: { kind: 'redis' } },
  ],
  entry: 'redis',
};

const pong = async (p: DeployPlan, name: string, timeoutMs = 500) => {
  try {
    await redisPing(p.services.find((s) => s.name === name)!.address, timeoutMs);
    return 'PONG';
  } catch (e) {
    return (e as NodeJS.ErrnoException).code ?? (e as Error).message;
  }
};

describe('process faults (native runtime, real Redis)', () => {
  let t: TestRoot;
  let p: DeployPlan;
  let dep: Deployment;
  let ctx: FaultContext;
  let state: RunState;

  beforeAll(async () => {
    t = await testRoot('chaos-proc');
    p = plan(topology, { runId: `chaos-proc-${process.pid}`, slot: t.slot, proxies: true, prometheus: false });
    dep = await createNativeRuntime({ stateRoot: t.root, graceMs: 2_000 }).up(p, { runDir: join(t.root, 'run'), progress: () => {} });
    ctx = faultContext({ deployment: dep, plan: p, toxiproxy: chaosToxiproxy(p.toxiproxy!.api) });
  }, 60_000);

  afterAll(async () => {
    state = (await readState(p.runId, { root: t.root }))!;
    await dep?.down();
    if (state) expect(survivors(state)).toEqual([]);
    await t?.dispose();
  });

  it('kill: SIGKILL, refused while down, a new process after revert', async () => {
    const svc = dep.service('redis');
    const before = svc.id;
    const a = await makeFault('kill', 'redis', [], p).apply(ctx);
    expect(svc.isRunning()).toBe(false);
    expect(await pong(p, 'redis')).toBe('ECONNREFUSED');
    await a.revert();
    expect(svc.isRunning()).toBe(true);
    expect(svc.id).not.toBe(before);
    expect(await pong(p, 'redis')).toBe('PONG');
  });

  it('hang: SIGSTOP leaves the port open and silent; SIGCONT brings the same process back', async () => {
    const svc = dep.service('redis');
    const before = svc.id;
    const a = await makeFault('hang', 'redis', [], p).apply(ctx);
    expect(await pong(p, 'redis', 400)).toBe('no PONG in time');
    await a.revert();
    expect(await pong(p, 'redis')).toBe('PONG');
    expect(svc.id).toBe(before);
  });

  it('stop: graceful stop, then start', async () => {
    const a = await makeFault('stop', 'redis', [], p).apply(ctx);
    expect(dep.service('redis').isRunning()).toBe(false);
    expect(await pong(p, 'redis')).toBe('ECONNREFUSED');
    await a.revert();
    expect(await pong(p, 'redis')).toBe('PONG');
  });

  it('host-down: the host\'s services die and its edges are cut; revert restores both', async () => {
    const api = toxiproxyClient(p.toxiproxy!.api);
    const a = await makeFault('host-down', 'cache-host', [], p).apply(ctx);
    expect(await pong(p, 'redis')).toBe('ECONNREFUSED');
    expect(await pong(p, 'redis-b')).toBe('PONG');
    expect((await api.getProxy('redis-b->redis')).enabled).toBe(false);
    await a.revert();
    expect((await api.getProxy('redis-b->redis')).enabled).toBe(true);
    expect(await pong(p, 'redis')).toBe('PONG');
    // through the edge, too
    const edge = p.edges.find((e) => e.name === 'redis-b->redis')!.listen;
    await redisPing(edge, 1_000);
  });
});
