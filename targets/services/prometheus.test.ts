// The command lines of the Prometheus and exporter recipes (pure: no process is started here;
// harness/metrics/*.int.test.ts start them for real).
import { describe, expect, it } from 'vitest';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { plan, reach, serviceOf, type DeployPlan } from '../../harness/topology/plan.ts';
import type { Topology } from '../../harness/topology/types.ts';
import { prometheus } from './prometheus.ts';
import { postgresExporter } from './postgres-exporter.ts';
import { redisExporter } from './redis-exporter.ts';
import type { NativeContext } from './types.ts';
import { PG_CREDENTIALS } from '../app/config.ts';

const topology: Topology = {
  phase: 0,
  title: 't',
  regions: [{ name: 'local', wanLatencyMs: 0 }],
  hosts: [
    { name: 'db-host', size: { cpus: 0.5, memoryMb: 512 }, region: 'local' },
    { name: 'cache-host', size: { cpus: 0.25, memoryMb: 256 }, region: 'local' },
  ],
  services: [
    { name: 'pg', kind: 'postgres', host: 'db-host', role: 'primary', dependsOn: [], config: { kind: 'postgres', postgres: { role: 'primary' } } },
    { name: 'cache', kind: 'redis', host: 'cache-host', role: 'cache', dependsOn: [], config: { kind: 'redis' } },
  ],
  entry: 'pg',
};

const ctxOf = (p: DeployPlan, name: string, dir = '/run/x'): NativeContext => ({
  plan: p,
  service: serviceOf(p, name),
  dir,
  repoRoot: '/repo',
  bin: (b) => `/usr/bin/${b}`,
  reach: (to) => reach(p, name, to),
  progress: () => {},
  signal: new AbortController().signal,
});

// Proxies on: the exporters must still reach their targets directly.
const p = plan(topology, { runId: 'r1', slot: 9, proxies: true, prometheus: true });

describe('exporter recipes', () => {
  it('postgres-exporter listens on its host address and reaches its database directly', () => {
    const l = postgresExporter.launch(ctxOf(p, 'pg-exporter'));
    expect(l.command).toBe('/usr/bin/prometheus-postgres-exporter');
    expect(l.args).toContain('--web.listen-address=127.9.1.1:9187');
    expect(l.env).toEqual({ DATA_SOURCE_NAME: `postgresql://bench:${PG_CREDENTIALS.password}@127.9.1.1:5432/bench?sslmode=disable` });
  });

  it('redis-exporter listens on its host address and reaches its Redis directly', () => {
    const l = redisExporter.launch(ctxOf(p, 'cache-exporter'));
    expect(l.command).toBe('/usr/bin/prometheus-redis-exporter');
    expect(l.args).toEqual(['-web.listen-address', '127.9.2.1:9121', '-redis.addr', 'redis://127.9.2.1:6379']);
  });

  it('refuse a service of another kind', () => {
    expect(() => redisExporter.launch(ctxOf(p, 'pg-exporter'))).toThrow(/not a redis-exporter/);
  });
});

describe('prometheus recipe', () => {
  it('writes the generated config and starts on the control host with its flags', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'bench-prom-recipe-'));
    try {
      const ctx = ctxOf(p, 'prometheus', dir);
      await prometheus.prepare!(ctx);
      expect(await readFile(join(dir, 'prometheus.yml'), 'utf8')).toContain('job_name: "postgres"');
      const l = prometheus.launch(ctx);
      expect(l.args).toEqual([
        `--config.file=${dir}/prometheus.yml`,
        `--storage.tsdb.path=${dir}/data`,
        '--web.listen-address=127.9.0.1:9090',
        '--storage.tsdb.retention.time=1d',
      ]);
      // the remote-write receiver only when the k6 driver needs it; never the lifecycle API
      const k6 = plan(topology, { runId: 'r1', slot: 9, proxies: true, prometheus: true, remoteWrite: true });
      const withRw = prometheus.launch(ctxOf(k6, 'prometheus', dir)).args;
      expect(withRw).toContain('--web.enable-remote-write-receiver');
      for (const args of [l.args, withRw]) expect(args).not.toContain('--web.enable-lifecycle');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
