import { describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { plan, reach, serviceOf, type DeployPlan } from '../../harness/topology/plan.ts';
import type { Topology } from '../../harness/topology/types.ts';
import { phase1 } from '../phases/phase-1.ts';
import { phase2 } from '../phases/phase-2.ts';
import { phase7Topology, regionFront, WAN_PROBE_TIMEOUT_MS } from '../phases/phase-7.ts';
import { DEFAULT_REGIONS } from '../regions/latency.ts';
import { appRuntimeConfig, appStart, tsxLoaderUrl } from './app.ts';

const opts = { users: 1000, appServers: 1, replicas: 0, shards: 1, shardStrategy: 'range' as const };
const ctxOf = (p: DeployPlan, name: string) => ({ service: serviceOf(p, name), dir: `/tmp/bench/runs/${p.runId}/${name}`, reach: (to: string) => reach(p, name, to) });

describe('AppConfig -> AppRuntimeConfig', () => {
  it('phase 1: SQLite in the service directory, listening on its own host address', () => {
    const p = plan(phase1.topology(opts), { runId: 'r', slot: 9, proxies: true, prometheus: false });
    expect(appRuntimeConfig(ctxOf(p, 'app'))).toEqual({
      name: 'app',
      listen: { host: '127.9.1.1', port: 8080 },
      store: { kind: 'sqlite', path: join('/tmp/bench/runs/r/app', 'app.sqlite') },
      sessions: { kind: 'memory' },
      cache: null,
    });
  });

  it('phase 2: the database at its Toxiproxy edge on the control host, or direct without proxies', () => {
    const proxied = plan(phase2.topology(opts), { runId: 'r', slot: 9, proxies: true, prometheus: false });
    const c = appRuntimeConfig(ctxOf(proxied, 'app'));
    expect(c.listen).toEqual({ host: '127.9.1.1', port: 8080 });
    expect(c.store).toEqual({
      kind: 'postgres',
      strategy: 'range',
      shards: [{ name: 'main', range: [0, null], primary: { name: 'pg-primary', host: '127.9.0.1', port: 20000 }, replicas: [] }],
      poolSize: 10,
    });
    const direct = plan(phase2.topology(opts), { runId: 'r', slot: 9, proxies: false, prometheus: false });
    const d = appRuntimeConfig(ctxOf(direct, 'app'));
    expect(d.store.kind === 'postgres' && d.store.shards[0]!.primary).toEqual({ name: 'pg-primary', host: '127.9.2.1', port: 5432 });
    // no probe deadline of its own on one site: the app's default (DEFAULT_PROBE_TIMEOUT_MS)
    expect(d.store.kind === 'postgres' && d.store.probeTimeoutMs).toBeUndefined();
  });

  it("phase 7: the WAN's probe deadline reaches the app's runtime config", () => {
    const p = plan(phase7Topology({ regions: DEFAULT_REGIONS, appServers: 1 }), { runId: 'r', slot: 9, proxies: true, prometheus: false });
    const c = appRuntimeConfig(ctxOf(p, regionFront('eu').app(1)));
    expect(c.store.kind === 'postgres' && c.store.probeTimeoutMs).toBe(WAN_PROBE_TIMEOUT_MS);
  });

  it('shards, replicas, Redis sessions and cache: every name resolved through its own edge', () => {
    const t: Topology = {
      phase: 5,
      title: 'sharded',
      regions: [{ name: 'local', wanLatencyMs: 0 }],
      hosts: ['app', 'a', 'ar', 'b', 'cache'].map((name) => ({ name, size: { cpus: 0.25, memoryMb: 256 }, region: 'local' })),
      services: [
        { name: 'pg-a', kind: 'postgres', host: 'a', role: 'primary', dependsOn: [], config: { kind: 'postgres', postgres: { role: 'primary' } } },
        { name: 'pg-a-r1', kind: 'postgres', host: 'ar', role: 'replica', dependsOn: ['pg-a'], config: { kind: 'postgres', postgres: { role: 'replica', primary: 'pg-a' } } },
        { name: 'pg-b', kind: 'postgres', host: 'b', role: 'primary', dependsOn: [], config: { kind: 'postgres', postgres: { role: 'primary' } } },
        { name: 'redis', kind: 'redis', host: 'cache', role: 'cache', dependsOn: [], config: { kind: 'redis' } },
        {
          name: 'app-1',
          kind: 'app',
          host: 'app',
          role: 'app',
          dependsOn: ['pg-a', 'pg-a-r1', 'pg-b', 'redis'],
          config: {
            kind: 'app',
            app: {
              store: {
                kind: 'postgres',
                strategy: 'range',
                shards: [
                  { name: 'a', primary: 'pg-a', replicas: ['pg-a-r1'], range: [0, 500_000] },
                  { name: 'b', primary: 'pg-b', replicas: [], range: [500_001, 1_000_000] },
                ],
              },
              sessions: { kind: 'redis', service: 'redis' },
              cache: { service: 'redis', ttlSeconds: 3600 },
            },
          },
        },
      ],
      entry: 'app-1',
    };
    const p = plan(t, { runId: 'r', slot: 4, proxies: true, prometheus: false });
    const c = appRuntimeConfig(ctxOf(p, 'app-1'));
    const edge = (to: string) => ({ name: to, ...reach(p, 'app-1', to) });
    expect(c.store).toEqual({
      kind: 'postgres',
      strategy: 'range',
      users: 1_000_000,
      shards: [
        { name: 'a', range: [0, 500_000], primary: edge('pg-a'), replicas: [edge('pg-a-r1')] },
        { name: 'b', range: [500_001, 1_000_000], primary: edge('pg-b'), replicas: [] },
      ],
      poolSize: 10,
    });
    expect(c.sessions).toEqual({ kind: 'redis', redis: edge('redis') });
    expect(c.cache).toEqual({ redis: edge('redis'), ttlSeconds: 3600 });
    for (const e of [edge('pg-a'), edge('pg-a-r1'), edge('pg-b'), edge('redis')]) expect(e.host).toBe(p.controlIp);
  });

  it('finds tsx ESM loader as a file URL', () => {
    expect(tsxLoaderUrl()).toMatch(/^file:\/\/\/.*node_modules\/tsx\/dist\/loader\.mjs$/);
  });
});

describe('appStart', () => {
  const bundle = { key: 'k', dir: '/c/k', file: '/c/k/start.cjs', bundle: '/c/k/server.cjs', built: false, seconds: 0 };

  it('runs the bundle with the checkout\'s node_modules on NODE_PATH (for the native modules)', () => {
    expect(appStart('/repo', bundle, 'file:///tsx.mjs')).toEqual({ args: ['/c/k/start.cjs'], env: { NODE_PATH: '/repo/node_modules' }, bundle });
    expect(appStart('/app', bundle, 'tsx').env).toEqual({ NODE_PATH: '/app/node_modules' });
  });

  it('without a bundle, the TypeScript entry through tsx', () => {
    expect(appStart('/repo', null, 'file:///tsx.mjs')).toEqual({ args: ['--import', 'file:///tsx.mjs', '/repo/targets/app/server.ts'], env: {}, bundle: null });
  });
});
