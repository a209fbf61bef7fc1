import { describe, expect, it } from 'vitest';
import { plan } from '../topology/plan.ts';
import type { Topology } from '../topology/types.ts';
import { phase2 } from '../../targets/phases/phase-2.ts';
import { inParallel, startWaves } from './native.ts';

const opts = { users: 1000, appServers: 1, replicas: 0, shards: 1, shardStrategy: 'range' as const };

describe('start waves', () => {
  it('phase 2: the instruments the plan puts first, the database, the app, then the exporters', () => {
    const p = plan(phase2.topology(opts), { runId: 'r', slot: 2, proxies: true, prometheus: true });
    const first = p.order.slice(0, p.order.indexOf('pg-primary'));
    expect(first).toContain('toxiproxy');
    expect(startWaves(p)).toEqual([first, ['pg-primary'], ['app'], ['pg-primary-exporter']]);
  });

  it('independent services share a wave; a service waits for all it depends on', () => {
    const svc = (name: string, dependsOn: string[] = []) => ({ name, kind: 'redis' as const, host: 'h', role: 'x', dependsOn, config: { kind: 'redis' as const } });
    const t: Topology = {
      phase: 0,
      title: 't',
      regions: [{ name: 'local', wanLatencyMs: 0 }],
      hosts: [{ name: 'h', size: { cpus: 1, memoryMb: 64 }, region: 'local' }],
      services: [svc('lb', ['a1', 'a2']), svc('a1', ['db', 'cache']), svc('a2', ['db']), svc('db'), svc('replica', ['db']), svc('cache')],
      entry: 'lb',
    };
    const p = plan(t, { runId: 'r', slot: 2, proxies: false, prometheus: false });
    const waves = startWaves(p);
    expect(waves).toEqual([['db', 'cache'], ['a1', 'a2', 'replica'], ['lb']]);
    expect(waves.flat().sort()).toEqual([...p.order].sort());
  });
});

describe('inParallel', () => {
  it('runs at most `limit` at once and all of them', async () => {
    let running = 0;
    let peak = 0;
    const done: number[] = [];
    await inParallel([1, 2, 3, 4, 5], 2, async (n) => {
      running += 1;
      peak = Math.max(peak, running);
      await new Promise((r) => setTimeout(r, 10));
      running -= 1;
      done.push(n);
    });
    expect(peak).toBe(2);
    expect(done.sort()).toEqual([1, 2, 3, 4, 5]);
  });

  it('throws the first failure, after what was in flight, and starts nothing new', async () => {
    const started: number[] = [];
    const err = await inParallel([1, 2, 3, 4], 2, async (n) => {
      started.push(n);
      if (n === 1) throw new Error('first');
      await new Promise((r) => setTimeout(r, 20));
      if (n === 2) throw new Error('second');
    }).catch((e: Error) => e.message);
    expect(err).toBe('first');
    expect(started).toEqual([1, 2]);
  });
});
