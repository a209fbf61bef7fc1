// The reference app (targets/app/server.ts) as a process: the topology's AppConfig, with every
// service name resolved to the address this app reaches it at (its Toxiproxy edge when proxies
// are on), becomes the AppRuntimeConfig JSON in BENCH_APP_CONFIG. It starts from the prebuilt
// bundle (targets/app/bundle.ts), built by prepare when the sources have none yet.
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { z } from 'zod';
import { waitFor } from '../../harness/runtime/wait.ts';
import type { Endpoint, PlannedService } from '../../harness/topology/plan.ts';
import type { AppConfig } from '../../harness/topology/types.ts';
import { APP_ENTRY, ensureBundle, findBundle, type AppBundle } from '../app/bundle.ts';
import { APP_POOL_SIZE, CONFIG_ENV, PG_CREDENTIALS, PG_PASSWORD_ENV, REDIS_PASSWORD, REDIS_PASSWORD_ENV, validateAppConfig, type AppRuntimeConfig, type DbEndpoint } from '../app/config.ts';
import type { ComponentKind, NativeContext } from './types.ts';

/** Its store, sessions and cache (harness/topology/types.ts AppConfig, which the phases build
 *  typed). Checked here only as an object: appRuntimeConfig translates it and validateAppConfig
 *  checks the result in full, one shape in one place. */
const appConfigSchema = z
  .object({
    kind: z.literal('app'),
    app: z.custom<AppConfig>((v) => typeof v === 'object' && v !== null && !Array.isArray(v), 'an app config is an object'),
  })
  .strict();
declare module '../../harness/topology/types.ts' {
  interface ServiceConfigs {
    app: Omit<z.infer<typeof appConfigSchema>, 'kind'>;
  }
}

/** The app's sources in its official image (bench/app, built from this checkout). */
export const APP_IMAGE_ROOT = '/app';

/** The SQLite file of a monolith, in its service directory. */
export const SQLITE_FILE = 'app.sqlite';

/** The part of a NativeContext the translation needs. */
export type AppContext = Pick<NativeContext, 'service' | 'dir' | 'reach'>;

/** Translates a service's AppConfig into the app's runtime config (validated). Pure. */
export function appRuntimeConfig(ctx: AppContext): AppRuntimeConfig {
  const s: PlannedService = ctx.service;
  if (s.config.kind !== 'app') throw new Error(`${s.name} is not an app service`);
  const app = s.config.app;
  const at = (name: string): DbEndpoint => ({ name, ...pick(ctx.reach(name)) });
  let store: AppRuntimeConfig['store'];
  if (app.store.kind === 'sqlite') {
    store = { kind: 'sqlite', path: join(ctx.dir, SQLITE_FILE) };
  } else {
    const shards = app.store.shards;
    // The phase computed the ranges from the user count: the last range ends at it.
    const last = shards.at(-1)?.range[1];
    store = {
      kind: 'postgres',
      strategy: app.store.strategy,
      ...(last != null ? { users: last } : {}),
      shards: shards.map((sh) => ({ name: sh.name, range: sh.range, primary: at(sh.primary), replicas: sh.replicas.map(at) })),
      // what PostgreSQL's max_connections was sized for (a phase may open fewer: phase 7's
      // active-active, whose apps open six pools each)
      poolSize: Math.min(app.store.poolSize ?? APP_POOL_SIZE, APP_POOL_SIZE),
      ...(app.store.probeTimeoutMs !== undefined ? { probeTimeoutMs: app.store.probeTimeoutMs } : {}),
    };
  }
  return validateAppConfig({
    name: s.name,
    listen: pick(s.address),
    store,
    sessions: app.sessions.kind === 'memory' ? { kind: 'memory' } : { kind: 'redis', redis: at(app.sessions.service) },
    cache: app.cache ? { redis: at(app.cache.service), ttlSeconds: app.cache.ttlSeconds } : null,
    ...(app.region !== undefined ? { region: app.region } : {}),
  });
}

const pick = (e: Endpoint): Endpoint => ({ host: e.host, port: e.port });

/** tsx's ESM loader as a file URL, for `node --import` (no reliance on the cwd's node_modules). */
export function tsxLoaderUrl(): string {
  return pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
}

/** How node starts the app: arguments and the environment they need. */
export interface AppStart {
  args: string[];
  env: Record<string, string>;
  /** the bundle it runs, or null when it runs the TypeScript through tsx */
  bundle: AppBundle | null;
}

/**
 * The app's command line in a checkout at `root`: the bundle when `bundle` is given (its native
 * externals found through NODE_PATH), else the TypeScript entry through tsx (`tsxImport`: what
 * `--import` loads). Pure.
 */
export function appStart(root: string, bundle: AppBundle | null, tsxImport: string): AppStart {
  if (bundle) return { args: [bundle.file], env: { NODE_PATH: join(root, 'node_modules') }, bundle };
  return { args: ['--import', tsxImport, join(root, APP_ENTRY)], env: {}, bundle: null };
}

/** The app's environment: its runtime config and the run's passwords (never on its command line). */
function appEnv(ctx: AppContext, start: AppStart): Record<string, string> {
  return { [CONFIG_ENV]: JSON.stringify(appRuntimeConfig(ctx)), [PG_PASSWORD_ENV]: PG_CREDENTIALS.password, [REDIS_PASSWORD_ENV]: REDIS_PASSWORD, NODE_ENV: 'production', ...start.env };
}

export const appRecipe: ComponentKind = {
  kind: 'app',
  config: appConfigSchema,
  ports: { main: 8080 },
  tier: 'app',
  // node itself: the runtime's own executable (process.execPath)
  requires: [],
  // built from this checkout (harness/runtime/docker/images.ts ensureAppImage), not pulled
  image: { official: 'bench/app:latest' },
  // The app labels its DB metrics with the database's role (primary/replica): its own labels
  // must win over the target's role="app", or Prometheus renames them exported_role.
  scrape: { job: 'app', honorLabels: true },
  async prepare(ctx) {
    const b = await ensureBundle({ repoRoot: ctx.repoRoot });
    if (b.built) ctx.progress(`${ctx.service.name}: app bundle built in ${b.seconds.toFixed(2)} s (${b.dir})`);
  },
  launch(ctx) {
    // looked up at every (re)start: sources edited since prepare have no bundle, and then the
    // app starts from the TypeScript as it is now (slower, never stale)
    const start = appStart(ctx.repoRoot, findBundle({ repoRoot: ctx.repoRoot }), tsxLoaderUrl());
    return {
      command: process.execPath,
      args: start.args,
      cwd: ctx.repoRoot,
      env: appEnv(ctx, start),
    };
  },
  async ready(ctx) {
    const { host, port } = ctx.service.address;
    await waitFor.http(`http://${host}:${port}/healthz`, { status: 200, timeoutMs: 30_000, signal: ctx.signal });
  },
  docker: {
    async process(ctx, { native, toProcess }) {
      if (ctx.mode === 'local') return toProcess(appRecipe.launch(native));
      // the image holds the checkout at /app with its production node_modules (tsx among them);
      // the bundle the recipe's prepare built on this machine is mounted read-only and finds the
      // image's native modules through NODE_PATH (tsx runs the sources when there is none)
      const start = appStart(APP_IMAGE_ROOT, findBundle({ repoRoot: ctx.repoRoot }), 'tsx');
      return {
        image: ctx.image('app'),
        command: 'node',
        args: start.args,
        env: appEnv(native, start),
        cwd: APP_IMAGE_ROOT,
        readOnly: start.bundle ? [start.bundle.dir] : [],
      };
    },
  },
};
