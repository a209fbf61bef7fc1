// Phase 6's services as one component kind: the payment service, the notification service, the
// uploads API and the workers are one bundle (targets/microservices/server.ts) started in a role.
// Its config names the services it talks to; the launch resolves them to the addresses this
// service reaches them at (their Toxiproxy edges when proxies are on).
import { join } from 'node:path';
import { z } from 'zod';
import { ensureBundle, findBundle } from '../app/bundle.ts';
import { WORKER_CRASH_FILE, type MsConfigInput } from '../microservices/config.ts';
import { MS_ENTRY, msLaunch, msReady } from '../microservices/launch.ts';
import { APP_IMAGE_ROOT, tsxLoaderUrl } from './app.ts';
import type { ComponentKind, NativeContext } from './types.ts';

const microserviceConfig = z
  .object({
    kind: z.literal('microservice'),
    microservice: z
      .object({
        role: z.enum(['payment', 'notification', 'uploads', 'worker']),
        /** the PostgreSQL service that holds this service's tables */
        db: z.string().min(1),
        /** the broker service */
        broker: z.string().min(1),
        /** its kind: which side of the broker seam the service uses (targets/microservices/broker.ts) */
        brokerKind: z.enum(['rabbitmq', 'kafka']).optional(),
        worker: z.object({ prefetch: z.number().int().min(1).optional(), idempotent: z.boolean().optional() }).strict().optional(),
      })
      .strict(),
  })
  .strict();
declare module '../../harness/topology/types.ts' {
  interface ServiceConfigs {
    microservice: Omit<z.infer<typeof microserviceConfig>, 'kind'>;
  }
}

/** The service's runtime config from its topology entry: names resolved to addresses. Pure given ctx. */
export function msRuntimeConfig(ctx: Pick<NativeContext, 'service' | 'reach' | 'dir'>): MsConfigInput {
  const s = ctx.service;
  if (s.config.kind !== 'microservice') throw new Error(`${s.name} is not a microservice`);
  const m = s.config.microservice;
  const at = (name: string) => {
    const e = ctx.reach(name);
    return { host: e.host, port: e.port };
  };
  // a worker's crash switch lives in its own directory (the same path in its container): the
  // worker-crash drill arms one start of it there (chaos/drills/worker-crash.ts)
  const worker = m.role === 'worker' ? { ...m.worker, crashFile: join(ctx.dir, WORKER_CRASH_FILE) } : m.worker;
  return { name: s.name, role: m.role, listen: { host: s.address.host, port: s.address.port }, db: at(m.db), broker: { ...at(m.broker), kind: m.brokerKind ?? 'rabbitmq' }, ...(worker ? { worker } : {}) };
}

export const microserviceRecipe: ComponentKind = {
  kind: 'microservice',
  config: microserviceConfig,
  ports: { main: 8090 },
  tier: 'app',
  // node itself: the runtime's own executable
  requires: [],
  // the app's image (built from this checkout, harness/runtime/docker/images.ts ensureAppImage):
  // it holds the whole checkout, the microservices' entry among it
  image: { official: 'bench/app:latest' },
  scrape: { job: 'microservices' },
  async prepare(ctx) {
    const b = await ensureBundle({ repoRoot: ctx.repoRoot, entry: MS_ENTRY });
    if (b.built) ctx.progress(`${ctx.service.name}: microservices bundle built in ${b.seconds.toFixed(2)} s (${b.dir})`);
  },
  launch(ctx) {
    // looked up at every (re)start, like the app: sources edited since prepare have no bundle,
    // and then the service runs the TypeScript as it is now through tsx (slower, never stale)
    const b = findBundle({ repoRoot: ctx.repoRoot, entry: MS_ENTRY });
    const args = b ? [b.file] : ['--import', tsxLoaderUrl(), join(ctx.repoRoot, MS_ENTRY)];
    return { ...msLaunch(args, msRuntimeConfig(ctx)), cwd: ctx.repoRoot };
  },
  async ready(ctx) {
    await msReady(ctx.service.address, { timeoutMs: 60_000, signal: ctx.signal });
  },
  docker: {
    async process(ctx, { native, toProcess }) {
      if (ctx.mode === 'local') return toProcess(microserviceRecipe.launch(native));
      // the app's image: the bundle this machine built is mounted read-only and finds the image's
      // node_modules through NODE_PATH; without one, the image's tsx runs the sources
      const b = findBundle({ repoRoot: ctx.repoRoot, entry: MS_ENTRY });
      const launch = msLaunch(b ? [b.file] : ['--import', 'tsx', join(APP_IMAGE_ROOT, MS_ENTRY)], msRuntimeConfig(native));
      return {
        image: ctx.image('microservice'),
        command: 'node',
        args: launch.args,
        env: { ...launch.env, NODE_ENV: 'production', ...(b ? { NODE_PATH: join(APP_IMAGE_ROOT, 'node_modules') } : {}) },
        cwd: APP_IMAGE_ROOT,
        readOnly: b ? [b.dir] : [],
      };
    },
  },
};
