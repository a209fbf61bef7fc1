// prometheus-redis-exporter beside each Redis: keyspace hits/misses, commands, memory, redis_up.
// Like every exporter, it reaches its Redis directly, never through a Toxiproxy edge.
import { waitFor } from '../../harness/runtime/wait.ts';
import { REDIS_PASSWORD } from '../app/config.ts';
import type { NativeContext, ServiceRecipe } from './types.ts';

function targetOf(ctx: NativeContext): string {
  if (ctx.service.config.kind !== 'redis-exporter') throw new Error(`${ctx.service.name} is not a redis-exporter`);
  return ctx.service.config.target;
}

export const redisExporter: ServiceRecipe = {
  kind: 'redis-exporter',
  requires: [{ binary: 'prometheus-redis-exporter', debianPackage: 'prometheus-redis-exporter' }],
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
