import { describe, expect, it } from 'vitest';
import { BenchError } from '../../harness/errors.ts';
import { faultContext } from '../fault-runner.ts';
import { FakeToxiproxy, fakeDeployment, planOf } from '../testing/fakes.ts';
import { faultKind, faultKinds, makeFault, registry } from './index.ts';

function setup(phase = 3) {
  const plan = planOf(phase);
  const deployment = fakeDeployment(plan);
  const tp = new FakeToxiproxy(plan);
  const ctx = faultContext({ deployment, plan, toxiproxy: tp });
  return { plan, deployment, tp, ctx };
}

describe('registry', () => {
  it('holds every fault of the issue, once', () => {
    expect([...faultKinds.keys()].sort()).toEqual(
      ['bandwidth', 'edge-down', 'hang', 'host-down', 'kill', 'latency', 'limit-data', 'partition', 'reset-peer', 'slicer', 'slow-close', 'stop', 'timeout'].sort(),
    );
  });
  it('refuses a duplicate name', () => {
    expect(() => registry('fault', [{ name: 'a' }, { name: 'a' }])).toThrow(/fault a registered twice/);
  });
  it('lists every fault for an unknown one', () => {
    expect(() => faultKind('meteor')).toThrow(BenchError);
    try {
      faultKind('meteor');
    } catch (e) {
      expect((e as BenchError).oneLine()).toMatch(/unknown fault meteor — faults: latency, bandwidth/);
    }
  });
});

describe('toxic faults', () => {
  const cases: Array<[string, Record<string, string | number>, string, Record<string, number>, string[]]> = [
    ['latency', { latency: '150ms', jitter: '20ms' }, 'latency', { latency: 150, jitter: 20 }, ['downstream']],
    ['bandwidth', { rate: '50KB/s' }, 'bandwidth', { rate: 50 }, ['downstream']],
    ['timeout', {}, 'timeout', { timeout: 0 }, ['upstream', 'downstream']],
    ['reset-peer', { timeout: '10ms' }, 'reset_peer', { timeout: 10 }, ['downstream']],
    ['slow-close', {}, 'slow_close', { delay: 1000 }, ['downstream']],
    ['slicer', { size: 100, variation: 10, delay: '2ms' }, 'slicer', { average_size: 100, size_variation: 10, delay: 2000 }, ['downstream']],
    ['limit-data', { bytes: '2KB' }, 'limit_data', { bytes: 2000 }, ['downstream']],
  ];
  for (const [name, params, type, attributes, streams] of cases) {
    it(`${name}: adds a ${type} toxic with Toxiproxy's attributes and removes it on revert`, async () => {
      const { plan, tp, ctx } = setup();
      const f = makeFault(name, 'app-1->pg-primary', params, plan);
      const applied = await f.apply(ctx);
      const toxics = tp.proxies.get('app-1->pg-primary')!.toxics;
      expect(toxics.map((t) => t.stream).sort()).toEqual([...streams].sort());
      for (const t of toxics) {
        expect(t.type).toBe(type);
        expect(t.attributes).toEqual(attributes);
        expect(t.name.startsWith('bench.')).toBe(true);
      }
      await applied.revert();
      await applied.revert(); // idempotent
      expect(tp.leftovers()).toEqual([]);
      expect(tp.calls.filter((c) => c.startsWith('remove')).length).toBe(streams.length);
    });
  }

  it('covers every edge a pattern matches, and undoes a partial apply', async () => {
    const { plan, tp, ctx } = setup();
    tp.failAddOn = 'app-3->pg-primary';
    const f = makeFault('latency', 'app-*->pg-primary', {}, plan);
    await expect(f.apply(ctx)).rejects.toThrow(/refused on app-3/);
    expect(tp.leftovers()).toEqual([]);
  });

  it('validates parameters against each other', () => {
    const plan = planOf(3);
    expect(() => makeFault('latency', 'app-1->redis', { latency: '10ms', jitter: '20ms' }, plan)).toThrow(/jitter 20 ms exceeds latency 10 ms/);
    expect(() => makeFault('slicer', 'app-1->redis', { size: 10, variation: 10 }, plan)).toThrow(/variation 10 must be less than size 10/);
  });
});

describe('edge faults', () => {
  it('edge-down disables the proxy and enables it again', async () => {
    const { plan, tp, ctx } = setup();
    const a = await makeFault('edge-down', 'lb->app-2', {}, plan).apply(ctx);
    expect(tp.proxies.get('lb->app-2')!.enabled).toBe(false);
    await a.revert();
    expect(tp.proxies.get('lb->app-2')!.enabled).toBe(true);
  });

  it('overlapping partition and edge-down: the edge comes back only when both are reverted', async () => {
    const { plan, tp, ctx } = setup();
    const part = await makeFault('partition', 'app-host-1|db-host-primary', {}, plan).apply(ctx);
    const down = await makeFault('edge-down', 'app-1->pg-primary', {}, plan).apply(ctx);
    await part.revert();
    expect(tp.proxies.get('app-1->pg-primary')!.enabled).toBe(false);
    await down.revert();
    expect(tp.proxies.get('app-1->pg-primary')!.enabled).toBe(true);
    expect(tp.leftovers()).toEqual([]);
  });

  it('partition disables exactly the crossing edges, both directions', async () => {
    const { plan, tp, ctx } = setup();
    const a = await makeFault('partition', 'lb-host|app-host-1+app-host-2', {}, plan).apply(ctx);
    expect(tp.leftovers().sort()).toEqual(['lb->app-1:disabled', 'lb->app-2:disabled']);
    await a.revert();
    expect(tp.leftovers()).toEqual([]);
  });
});

describe('process faults', () => {
  it('kill sends SIGKILL and starts the service again on revert (not with restart=false)', async () => {
    const { plan, deployment, ctx } = setup();
    const a = await makeFault('kill', 'app-2', {}, plan).apply(ctx);
    const svc = deployment.fake.get('app-2')!;
    expect(svc.signals).toEqual(['SIGKILL']);
    expect(svc.isRunning()).toBe(false);
    await a.revert();
    await a.revert();
    expect(svc.starts).toBe(1);
    const b = await makeFault('kill', 'app-3', { restart: 'false' }, plan).apply(ctx);
    await b.revert();
    expect(deployment.fake.get('app-3')!.starts).toBe(0);
  });

  it('hang sends SIGSTOP then SIGCONT', async () => {
    const { plan, deployment, ctx } = setup();
    const a = await makeFault('hang', 'app-1', {}, plan).apply(ctx);
    await a.revert();
    expect(deployment.fake.get('app-1')!.signals).toEqual(['SIGSTOP', 'SIGCONT']);
  });

  it('stop is graceful and starts again', async () => {
    const { plan, deployment, ctx } = setup();
    const a = await makeFault('stop', 'redis', {}, plan).apply(ctx);
    const svc = deployment.fake.get('redis')!;
    expect(svc.stops).toBe(1);
    await a.revert();
    expect(svc.starts).toBe(1);
  });

  it('host-down kills every service of the host and cuts its edges; revert restores both', async () => {
    const { plan, deployment, tp, ctx } = setup();
    const a = await makeFault('host-down', 'app-host-2', {}, plan).apply(ctx);
    expect(deployment.fake.get('app-2')!.signals).toEqual(['SIGKILL']);
    expect(tp.leftovers().sort()).toEqual(
      ['app-2->pg-primary', 'app-2->pg-primary-replica-1', 'app-2->pg-primary-replica-2', 'app-2->redis', 'lb->app-2'].map((e) => `${e}:disabled`).sort(),
    );
    await a.revert();
    expect(tp.leftovers()).toEqual([]);
    expect(deployment.fake.get('app-2')!.starts).toBe(1);
    expect(deployment.fake.get('app-1')!.signals).toEqual([]);
  });

  it('a kill inside a host-down does not restart the service before the host is back', async () => {
    const { plan, deployment, ctx } = setup();
    const host = await makeFault('host-down', 'app-host-1', {}, plan).apply(ctx);
    const k = await makeFault('kill', 'app-1', {}, plan).apply(ctx);
    await k.revert();
    expect(deployment.fake.get('app-1')!.starts).toBe(0);
    await host.revert();
    expect(deployment.fake.get('app-1')!.starts).toBe(1);
  });
});
