import { describe, expect, it } from 'vitest';
import { plan, serviceOf } from './plan.ts';
import { appStoreOf, storeLocation, storeOf } from './stores.ts';
import type { Topology } from './types.ts';
import { phases } from '../../targets/phases/index.ts';

const topologyOf = (n: number, o: Record<string, number | string> = {}): Topology => phases.get(n)!.topology({ users: 1_000_000, ...o });
const planOf = (t: Topology) => plan(t, { runId: 'r', slot: 7, proxies: true, prometheus: false });

describe('storeOf: where store S lives', () => {
  it('sqlite: the monolith owns the users store, kept in its own directory', () => {
    const p = planOf(topologyOf(1));
    expect(storeOf(p, 'users')).toEqual({ name: 'users', kind: 'sqlite', owners: ['app'] });
    expect(storeLocation(p, storeOf(p, 'users')!, (s) => `/run/x/${s}`)).toEqual({ kind: 'sqlite', path: '/run/x/app/app.sqlite' });
    expect(() => storeLocation(p, storeOf(p, 'users')!, () => undefined)).toThrow(/cannot find the SQLite file of store users/);
  });

  it('one shard: every id on one primary and its replicas, owned by every app server', () => {
    const t = topologyOf(3, { appServers: 2, replicas: 1 });
    expect(storeOf(t, 'users')).toEqual({
      name: 'users',
      kind: 'postgres',
      owners: ['app-1', 'app-2'],
      strategy: 'range',
      shards: [{ name: 'main', primary: 'pg-primary', replicas: ['pg-primary-replica-1'], range: [0, null] }],
    });
    const p = planOf(t);
    const loc = storeLocation(p, storeOf(p, 'users')!, () => undefined);
    if (loc.kind !== 'postgres') throw new Error('phase 3 stores in postgres');
    // the harness reaches the database by its own address, not through the app's proxied edge
    expect(loc.shards[0]!.primary).toEqual({ name: 'pg-primary', host: serviceOf(p, 'pg-primary').address.host, port: serviceOf(p, 'pg-primary').address.port });
    expect(loc.shards[0]!.replicas.map((r) => r.name)).toEqual(['pg-primary-replica-1']);
  });

  it('two shards: the range map, and a failover names the new primary', () => {
    const p = planOf(topologyOf(5, { shards: 2, replicas: 1 }));
    const users = storeOf(p, 'users')!;
    if (users.kind !== 'postgres') throw new Error('phase 5 stores in postgres');
    expect(users.shards.map((s) => [s.name, s.primary, s.range])).toEqual([
      ['a', 'pg-shard-a', [0, 500_000]],
      ['b', 'pg-shard-b', [500_001, null]],
    ]);
    const loc = storeLocation(p, users, () => undefined, new Map([['b', 'pg-shard-b-replica-1']]));
    if (loc.kind !== 'postgres') throw new Error('postgres');
    expect(loc.shards.map((s) => s.primary.name)).toEqual(['pg-shard-a', 'pg-shard-b-replica-1']);
    expect(loc.shards[1]!.primary.port).toBe(serviceOf(p, 'pg-shard-b-replica-1').address.port);
  });

  it('a store the topology does not keep is null', () => {
    expect(storeOf(topologyOf(5), 'payments')).toBeNull();
    expect(storeOf({ ...topologyOf(1), stores: undefined }, 'users')).toBeNull();
  });

  it("every app's store config is derived from the topology's store", () => {
    for (const n of [1, 2, 3, 4, 5]) {
      const t = topologyOf(n);
      const users = storeOf(t, 'users')!;
      const apps = t.services.filter((s) => s.config.kind === 'app');
      expect(apps.map((a) => a.name)).toEqual(users.owners);
      for (const a of apps) expect(a.config.kind === 'app' && a.config.app.store).toEqual(appStoreOf(users));
    }
  });
});
