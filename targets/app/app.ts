// The reference app: one Fastify server answering the users API, logins, static assets, health and
// metrics, over the store, cache and session store its config names. buildApp() does not listen,
// so tests drive it with fastify.inject(); server.ts is the process entry.
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { ASSET_CACHE_CONTROL, directoryAssets, lazyGeneratedAssets, type AssetSource } from './assets.ts';
import { DEFAULT_PROBE_TIMEOUT_MS, REGION_HEADER, type AppRuntimeConfig } from './config.ts';
import { createMetrics, type AppMetrics } from './metrics.ts';
import { loadRedisDriver, RedisPool, RedisUnavailableError } from './redis.ts';
import { memorySessions, redisSessions, sessionIdOf, type SessionStore } from './sessions.ts';
import { openStore } from './store/index.ts';
import { DuplicateIdError, IdRequiredError, StoreUnavailableError, type StoreHealth, type UserStore } from './store/types.ts';
import { createUsers, type Users } from './users.ts';
import { lazyValidators, noResponseSerializers } from './validators.ts';

export const DEFAULT_RYW_MS = 2_000;
/** /healthz answers from a state at most this old, so HAProxy checks cost the DB almost nothing */
export const HEALTH_MAX_AGE_MS = 250;
/** what a probe may take on top of the store's own probe deadline before it counts as failed */
const HEALTH_PROBE_SLACK_MS = 50;
/**
 * How long /healthz waits for a probe in flight before it answers the last known state instead:
 * under HAProxy's check timeout (its `inter`, 500 ms), so that a probe slower than a check (a
 * primary across a slowed WAN) is not a failed check. A probe that fails is seen by the next one.
 */
export const HEALTH_ANSWER_WAIT_MS = 300;
const REDIS_CONNECT_WAIT_MS = 2_000;
/** routes that the request counter leaves out: the harness compares it with the load engine's count */
const UNCOUNTED = new Set(['/metrics', '/healthz', '/livez']);

export interface BuildOptions {
  /** where the app's own lines go (default: stderr, prefixed with the app's name) */
  log?: (line: string) => void;
}

export interface BuiltApp {
  fastify: FastifyInstance;
  metrics: AppMetrics;
  store: UserStore;
  users: Users;
  sessions: SessionStore;
  /** closes the server, the pools and the Redis connections */
  close(): Promise<void>;
  /**
   * What readiness does not need, done once the app is listening: the route validators not
   * compiled yet (they compile on first use otherwise) and the store's pools opened to their size.
   */
  warm(): void;
}

/** Drops a line if one starting alike was logged less than a second ago (no spam during an outage). */
function rateLimited(log: (line: string) => void, intervalMs = 1_000): (line: string) => void {
  const last = new Map<string, number>();
  return (line) => {
    const key = line.slice(0, 48);
    const now = Date.now();
    if ((last.get(key) ?? 0) + intervalMs > now) return;
    if (last.size > 1_000) last.clear();
    last.set(key, now);
    log(line);
  };
}

const idParams = {
  type: 'object',
  required: ['id'],
  properties: { id: { type: 'string', pattern: '^[0-9]{1,15}$' } },
} as const;
const name = { type: 'string', minLength: 1, maxLength: 200 } as const;
const email = { type: 'string', minLength: 3, maxLength: 320 } as const;
const id = { type: 'integer', minimum: 0, maximum: Number.MAX_SAFE_INTEGER } as const;

class HttpError extends Error {
  constructor(
    readonly statusCode: number,
    message: string,
  ) {
    super(message);
  }
}

/** Builds the app of a config: connects its stores (Redis waits at most 2 s), registers the routes. */
export async function buildApp(config: AppRuntimeConfig, options: BuildOptions = {}): Promise<BuiltApp> {
  const log = rateLimited(options.log ?? ((line) => process.stderr.write(`${config.name}: ${line}\n`)));
  const metrics = createMetrics(config.name);

  const store = await openStore(config.store, metrics.db, `bench-app:${config.name}`);
  // the schema check starts now and overlaps with loading ioredis and connecting to Redis
  // (best effort: the seeder also ensures the schema, and a shard that is down at start must not
  // keep the app from serving the others)
  const prepared = store.prepare(2_000).catch((e) => log(`schema: ${(e as Error).message} (continuing)`));
  // ioredis is loaded only by an app that uses Redis (its module init: ~10 ms of CPU)
  if (config.cache || config.sessions.kind === 'redis') await loadRedisDriver();
  const redis = new RedisPool(log);
  const cacheRedis = config.cache ? redis.get(config.cache.redis) : null;
  const sessionRedis = config.sessions.kind === 'redis' ? redis.get(config.sessions.redis) : null;
  await Promise.all([
    prepared,
    ...redis.all().map(async (r) => {
      if (!(await r.connect(REDIS_CONNECT_WAIT_MS))) log(`redis ${r.label}: not ready after ${REDIS_CONNECT_WAIT_MS} ms (continuing degraded)`);
    }),
  ]);
  const sessions = sessionRedis ? redisSessions(sessionRedis) : memorySessions();
  const users = createUsers({
    store,
    metrics,
    cache: cacheRedis && config.cache ? { redis: cacheRedis, ttlSeconds: config.cache.ttlSeconds } : null,
    shared: cacheRedis ?? sessionRedis,
    rywMs: config.readYourWritesMs ?? DEFAULT_RYW_MS,
    log,
  });
  const assets: AssetSource = config.staticDir ? directoryAssets(config.staticDir) : lazyGeneratedAssets();

  // health: a cached state, refreshed by at most one probe at a time and at most every 250 ms.
  // A probe counts as failed after the store's probe deadline (more across a WAN: phase 7), and
  // /healthz never waits longer than HEALTH_ANSWER_WAIT_MS for one once a state is known: a slow
  // primary is not a dead one until the deadline says so. The state answered is at most the
  // deadline old.
  const probeBudgetMs = (config.store.kind === 'postgres' ? (config.store.probeTimeoutMs ?? DEFAULT_PROBE_TIMEOUT_MS) : DEFAULT_PROBE_TIMEOUT_MS) + HEALTH_PROBE_SLACK_MS;
  let health: { state: StoreHealth; at: number } | null = null;
  let probing: Promise<StoreHealth> | null = null;
  const currentHealth = async (): Promise<StoreHealth> => {
    if (health && Date.now() - health.at < HEALTH_MAX_AGE_MS) return health.state;
    probing ??= (async () => {
      let timer: NodeJS.Timeout | undefined;
      const budget = new Promise<StoreHealth>((resolve) => {
        timer = setTimeout(() => resolve({ ok: false, checks: { timeout: false } }), probeBudgetMs);
      });
      try {
        const state = await Promise.race([store.health(), budget]);
        health = { state, at: Date.now() };
        return state;
      } finally {
        clearTimeout(timer);
        probing = null;
      }
    })();
    const known = health;
    if (!known) return probing;
    let waited: NodeJS.Timeout | undefined;
    const lastKnown = new Promise<StoreHealth>((resolve) => {
      waited = setTimeout(() => resolve(known.state), HEALTH_ANSWER_WAIT_MS);
    });
    try {
      return await Promise.race([probing, lastKnown]);
    } finally {
      clearTimeout(waited);
    }
  };

  const validators = lazyValidators();
  const fastify = Fastify({
    logger: false,
    bodyLimit: 64 * 1024,
    return503OnClosing: true,
    // checking our few fixed route schemas against JSON Schema's meta-schema compiled that
    // meta-schema at every start (~40 ms of CPU, 0.2 s on a 0.2-CPU host); the route schemas
    // are still compiled (strict mode rejects unknown keywords) and app tests exercise them
    ajv: { customOptions: { validateSchema: false } },
    // the same validators, compiled on first use or by precompile() once listening; no response
    // schemas, so no serializer compiler loaded (validators.ts)
    schemaController: { compilersFactory: { buildValidator: validators.buildValidator, buildSerializer: noResponseSerializers } },
  });

  const region = config.region;
  fastify.addHook('onRequest', async (_req, reply) => {
    reply.header('X-Served-By', config.name);
    // the load counts successes by serving region from this (phase 7's traffic-shift curve)
    if (region !== undefined) reply.header(REGION_HEADER, region);
  });
  fastify.addHook('onResponse', async (req, reply) => {
    const route = req.routeOptions.url ?? 'unmatched';
    if (UNCOUNTED.has(route)) return;
    metrics.request(route, req.method, reply.statusCode, reply.elapsedTime / 1000);
  });
  fastify.setErrorHandler(async (err: Error & { statusCode?: number; validation?: unknown }, _req, reply) => {
    if (err instanceof HttpError) return reply.code(err.statusCode).send({ error: err.message });
    if (err instanceof DuplicateIdError) return reply.code(409).send({ error: err.message });
    if (err instanceof IdRequiredError) return reply.code(400).send({ error: err.message });
    if (err instanceof RedisUnavailableError) return reply.code(503).send({ error: err.message });
    if (err instanceof StoreUnavailableError) {
      log(`unavailable: ${err.message}`);
      return reply.code(503).send({ error: err.message });
    }
    if (err.validation || (err.statusCode && err.statusCode < 500)) {
      return reply.code(err.statusCode ?? 400).send({ error: err.message });
    }
    log(`error: ${err.message}`);
    return reply.code(err.statusCode ?? 500).send({ error: err.message });
  });
  fastify.setNotFoundHandler(async (req, reply) => reply.code(404).send({ error: `no route ${req.method} ${req.url}` }));

  fastify.get('/healthz', async (_req, reply) => {
    const state = await currentHealth();
    const checks: Record<string, boolean> = { ...state.checks };
    for (const r of redis.all()) checks[`redis ${r.label}`] = r.ready;
    return reply.code(state.ok ? 200 : 503).send({ status: state.ok ? 'ok' : 'down', name: config.name, checks });
  });

  // liveness: the process answers; nothing behind it is asked (a region-level check's question)
  fastify.get('/livez', async (_req, reply) => reply.code(200).send({ status: 'live', name: config.name }));

  fastify.get('/metrics', async (_req, reply) => {
    const text = await metrics.scrape();
    return reply.type(metrics.registry.contentType).send(text);
  });

  const userId = (req: FastifyRequest) => Number((req.params as { id: string }).id);

  fastify.get('/api/users/:id', { schema: { params: idParams } }, async (req) => {
    const result = await users.read(userId(req));
    if (!result) throw new HttpError(404, `user ${userId(req)} not found`);
    return result;
  });

  fastify.post(
    '/api/users',
    { schema: { body: { type: 'object', required: ['name', 'email'], properties: { id, name, email } } } },
    async (req, reply) => {
      const body = req.body as { id?: number; name: string; email: string };
      const data = await users.create(body);
      return reply.code(201).send({ data });
    },
  );

  fastify.put(
    '/api/users/:id',
    { schema: { params: idParams, body: { type: 'object', minProperties: 1, properties: { name, email } } } },
    async (req) => {
      const data = await users.update(userId(req), req.body as { name?: string; email?: string });
      if (!data) throw new HttpError(404, `user ${userId(req)} not found`);
      return { data };
    },
  );

  fastify.post(
    '/api/login',
    { schema: { body: { type: 'object', required: ['id'], properties: { id } } } },
    async (req, reply) => {
      const { id: uid } = req.body as { id: number };
      const found = await users.read(uid);
      if (!found) throw new HttpError(404, `user ${uid} not found`);
      let token: string;
      try {
        token = await sessions.create(uid);
        metrics.session('create', 'ok');
      } catch (e) {
        metrics.session('create', 'error');
        throw e instanceof RedisUnavailableError ? e : new HttpError(503, `session store unavailable: ${(e as Error).message}`);
      }
      reply.header('Set-Cookie', `sid=${token}; Path=/; HttpOnly`);
      return { token, userId: uid };
    },
  );

  fastify.get('/api/me', async (req) => {
    const sid = sessionIdOf(req.headers);
    if (!sid) throw new HttpError(401, 'no session: log in with POST /api/login');
    let uid: number | null;
    try {
      uid = await sessions.get(sid);
    } catch (e) {
      metrics.session('get', 'error');
      throw e instanceof RedisUnavailableError ? e : new HttpError(503, `session store unavailable: ${(e as Error).message}`);
    }
    metrics.session('get', uid === null ? 'miss' : 'ok');
    if (uid === null) throw new HttpError(401, 'session unknown or expired: log in again');
    const found = await users.read(uid);
    if (!found) throw new HttpError(401, `the session's user ${uid} no longer exists`);
    return { user: found.data };
  });

  fastify.get('/static/:asset', async (req: FastifyRequest, reply: FastifyReply) => {
    const asset = assets.get((req.params as { asset: string }).asset);
    if (!asset) throw new HttpError(404, `no asset ${(req.params as { asset: string }).asset}`);
    reply.header('Cache-Control', ASSET_CACHE_CONTROL).header('ETag', asset.etag);
    if (req.headers['if-none-match'] === asset.etag) return reply.code(304).send();
    return reply.type(asset.type).send(asset.body);
  });

  fastify.addHook('onClose', async () => {
    await Promise.all([store.close(), redis.close()]);
  });
  await fastify.ready();

  return {
    fastify,
    metrics,
    store,
    users,
    sessions,
    close: () => fastify.close(),
    warm: () => {
      store.openPools();
      // a schema Ajv refuses: its route answers 500 (the app tests call every route)
      validators.precompile().catch((e: Error) => log(`route schemas: ${e.message}`));
    },
  };
}
