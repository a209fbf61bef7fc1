// prometheus-redis-exporter beside each Redis: keyspace hits/misses, commands, memory, redis_up.
// Like every exporter, it reaches its Redis directly, never through a Toxiproxy edge.
import { z } from 'zod';
import { waitFor } from '../../harness/runtime/wait.ts';
import { REDIS_PASSWORD } from '../app/config.ts';
import type { ComponentKind, NativeContext } from './types.ts';

/** The Redis it watches, by service name. */
const redisExporterConfig = z.object({ kind: z.literal('redis-exporter'), target: z.string().min(1) }).strict();
declare module '../../harness/topology/types.ts' {
  interface ServiceConfigs {
    'redis-exporter': Omit<z.infer<typeof redisExporterConfig>, 'kind'>;
  }
}

function targetOf(ctx: NativeContext): string {
  if (ctx.service.config.kind !== 'redis-exporter') throw new Error(`${ctx.service.name} is not a redis-exporter`);
  return ctx.service.config.target;
}

export const redisExporter: ComponentKind = {
  kind: 'redis-exporter',
  config: redisExporterConfig,
  ports: { main: 9121 },
  tier: 'instrument',
  requires: [
    {
      binary: 'prometheus-redis-exporter',
      debianPackage: 'prometheus-redis-exporter',
      inImage: '/redis_exporter',
      doctor: { name: 'redis exporter', neededFor: 'cache metrics', versionArgs: ['--version'] },
    },
  ],
  image: { official: 'oliver006/redis_exporter:v1.58.0' },
  // labelled as the Redis it watches, so `{service="redis"}` finds its figures
  scrape: { job: 'redis', labelAsTarget: true },
  figures: [
    { tier: 'redis', name: 'keyspaceHits', metrics: ['redis_keyspace_hits_total'] },
    { tier: 'redis', name: 'keyspaceMisses', metrics: ['redis_keyspace_misses_total'] },
    { tier: 'redis', name: 'commands', metrics: ['redis_commands_processed_total'] },
  ],
  launch(ctx) {
    const { host, port } = ctx.service.address;
    const target = ctx.reach(targetOf(ctx));
    return {
      command: ctx.bin('prometheus-redis-exporter'),
      // Go flag syntax (single dash); it listens on every interface unless told otherwise.
      args: ['-web.listen-address', `${host}:${port}`, '-redis.addr', `redis://${target.host}:${target.port}`],
      // the exporter's -redis.password flag defaults to $REDIS_PASSWORD: the environment keeps the
      // run's password off the command line (launch.json and container.json redact it)
      env: { REDIS_PASSWORD },
      cwd: ctx.dir,
    };
  },
  async ready(ctx) {
    const { host, port } = ctx.service.address;
    // /metrics answers 200 even when Redis is unreachable; redis_up 1 proves the address works.
    await waitFor.http(`http://${host}:${port}/metrics`, { status: 200, body: /^redis_up 1$/m, timeoutMs: 15_000, signal: ctx.signal });
  },
};
