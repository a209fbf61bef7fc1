// The app's whole configuration: one JSON document in the environment variable BENCH_APP_CONFIG.
// It is the AppConfig of harness/topology/types.ts with every service name resolved to an address
// (through its Toxiproxy edge when proxies are on), plus where to listen. Validated once at start.
//
// Postgres: the app and the seeder connect as user `bench`, database `bench`, with a password
// drawn at random by each harness process (so per run), which the app receives in
// BENCH_PG_PASSWORD. The runtime's postgres recipe (targets/services/postgres.ts) creates that
// role and database on every primary; replicas inherit them through replication.
//
// Redis: every Redis of a run (the sessions store, the cache) has `requirepass` with a password
// drawn the same way, which the app and the Redis exporter receive in BENCH_REDIS_PASSWORD and
// REDIS_PASSWORD; the redis recipe (targets/services/redis.ts) writes it into a 0600 config file.
import { randomBytes } from 'node:crypto';
import * as z from 'zod';
import { BenchError } from '../../harness/errors.ts';

/** The header naming the region that served an answer (phase 7; harness/load/transport/parser.ts
 *  reads it, lower-cased, when the load has client regions). */
export const REGION_HEADER = 'X-Bench-Region';

/** The environment variable the harness gives a process (the app) the run's Postgres password in. */
export const PG_PASSWORD_ENV = 'BENCH_PG_PASSWORD';

/** The environment variable the harness gives a process (the app) the run's Redis password in. */
export const REDIS_PASSWORD_ENV = 'BENCH_REDIS_PASSWORD';

/**
 * A run's password: the one this process was given in `name` (the app, started by the harness),
 * else a fresh random one (the harness: every run gets its own). Never a constant, which anyone
 * on the machine could use to connect over loopback.
 */
function runPassword(name: string, env: NodeJS.ProcessEnv = process.env): string {
  const given = env[name];
  if (given !== undefined && given !== '') return given;
  const drawn = randomBytes(18).toString('base64url');
  // children spawned with this process's environment (test fixtures' apps, a seeding child)
  // connect with the same password as the servers this process creates
  env[name] = drawn;
  return drawn;
}

/** Credentials every Postgres of the reference system is created with. */
export const PG_CREDENTIALS = { user: 'bench', password: runPassword(PG_PASSWORD_ENV), database: 'bench' } as const;

/** The `requirepass` of every Redis of the reference system (the default user). */
export const REDIS_PASSWORD: string = runPassword(REDIS_PASSWORD_ENV);

/** The environment variable the harness gives a process (a phase-6 service) the broker's password in. */
export const RABBITMQ_PASSWORD_ENV = 'BENCH_RABBITMQ_PASSWORD';

/** The password of the per-run RabbitMQ account (targets/services/rabbitmq.ts creates it; never guest). */
export const RABBITMQ_PASSWORD: string = runPassword(RABBITMQ_PASSWORD_ENV);

/** `text` with the run's passwords replaced: for configs and command lines kept in the run directory. */
export function redactSecrets(text: string): string {
  let out = text;
  for (const secret of [PG_CREDENTIALS.password, REDIS_PASSWORD, RABBITMQ_PASSWORD]) out = out.split(secret).join('<redacted>');
  return out;
}

/**
 * Connections per pool (one pool per primary and per replica) the runtime gives every app: the
 * PostgreSQL recipe sizes max_connections from it (pgMaxConnections in harness/topology/plan.ts).
 */
export const APP_POOL_SIZE = 10;
/**
 * How long the app's probe of a primary (SELECT 1 on its own connection, and its login) may take
 * before /healthz says down, by default: a database on the same site answers in a few ms.
 */
export const DEFAULT_PROBE_TIMEOUT_MS = 400;

/** The environment variable the app reads its configuration from. */
export const CONFIG_ENV = 'BENCH_APP_CONFIG';

const port = z.number().int().min(1).max(65_535);
const host = z.string().min(1);

/** A network address; `name` (the service name, e.g. 'pg-a-replica-1') labels metrics. */
const endpointSchema = z.object({ name: z.string().min(1).optional(), host, port });

const shardSchema = z.object({
  name: z.string().min(1),
  /** inclusive [lo, hi]; hi = null is open. Ignored under 'hash' (the order of shards is what counts). */
  range: z.tuple([z.number().int().min(0), z.number().int().min(0).nullable()]),
  primary: endpointSchema,
  replicas: z.array(endpointSchema),
});

const storeSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('sqlite'), path: z.string().min(1) }),
  z.object({
    kind: z.literal('postgres'),
    strategy: z.enum(['range', 'hash']),
    /** informational: the seeded user count the shard map was computed for */
    users: z.number().int().min(0).optional(),
    shards: z.array(shardSchema).min(1),
    /** connections per pool (one pool per primary and per replica); default 10 */
    poolSize: z.number().int().min(1).max(100).optional(),
    /** server-side statement_timeout in ms; default 5000 */
    statementTimeoutMs: z.number().int().min(1).optional(),
    /** the health probe's deadline in ms (DEFAULT_PROBE_TIMEOUT_MS); more across a WAN */
    probeTimeoutMs: z.number().int().min(50).max(10_000).optional(),
  }),
]);

export const appRuntimeConfigSchema = z
  .object({
    /** the service name, e.g. 'app-2': a label on metrics and the X-Served-By header */
    name: z.string().min(1),
    listen: z.object({ host, port: z.number().int().min(0).max(65_535) }),
    store: storeSchema,
    sessions: z.discriminatedUnion('kind', [
      z.object({ kind: z.literal('memory') }),
      z.object({ kind: z.literal('redis'), redis: endpointSchema }),
    ]),
    cache: z.object({ redis: endpointSchema, ttlSeconds: z.number().int().min(1) }).nullable(),
    /** serve the files of this directory under /static instead of the generated assets */
    staticDir: z.string().min(1).optional(),
    /** phase 7: the data center it serves in, named on every answer (REGION_HEADER in app.ts) */
    region: z.string().min(1).optional(),
    /** how long a user's reads go to the primary after a write to that user; default 2000 */
    readYourWritesMs: z.number().int().min(0).optional(),
  })
  .superRefine((c, ctx) => {
    if (c.store.kind !== 'postgres') return;
    const names = new Set<string>();
    for (const s of c.store.shards) {
      if (names.has(s.name)) ctx.addIssue({ code: 'custom', message: `shard ${s.name} declared twice` });
      names.add(s.name);
      if (s.range[1] !== null && s.range[1] < s.range[0]) {
        ctx.addIssue({ code: 'custom', message: `shard ${s.name} has an empty range [${s.range[0]}, ${s.range[1]}]` });
      }
    }
    if (c.store.strategy === 'range') {
      const shards = c.store.shards;
      for (let i = 1; i < shards.length; i++) {
        const prevHi = shards[i - 1].range[1];
        if (prevHi === null || shards[i].range[0] !== prevHi + 1) {
          ctx.addIssue({
            code: 'custom',
            message: `range shards must be ordered and contiguous: ${shards[i].name} starts at ${shards[i].range[0]}, expected ${prevHi === null ? '(previous range is open)' : prevHi + 1}`,
          });
        }
      }
    }
  });

/** An address a service listens on; `name` (its service name) labels metrics when given. */
export type DbEndpoint = z.infer<typeof endpointSchema>;
/** One shard as the app sees it: its id range, its primary and read replicas, resolved. */
export type ShardRuntime = z.infer<typeof shardSchema>;
export type StoreRuntimeConfig = z.infer<typeof storeSchema>;
export type PostgresStoreConfig = Extract<StoreRuntimeConfig, { kind: 'postgres' }>;
/** The app's configuration: the topology's AppConfig with addresses instead of service names. */
export type AppRuntimeConfig = z.infer<typeof appRuntimeConfigSchema>;

/** Validates a parsed config; throws a one-line BenchError('usage') naming every problem. */
export function validateAppConfig(value: unknown): AppRuntimeConfig {
  const result = appRuntimeConfigSchema.safeParse(value);
  if (result.success) return result.data;
  const problems = result.error.issues.map((i) => (i.path.length ? `${i.path.join('.')}: ${i.message}` : i.message));
  throw new BenchError('usage', `invalid ${CONFIG_ENV}: ${problems.join('; ')}`, 'fix the JSON the runtime passes to the app (type AppRuntimeConfig in targets/app/config.ts)');
}

/** Parses and validates the JSON text of BENCH_APP_CONFIG. */
export function parseAppConfig(text: string | undefined): AppRuntimeConfig {
  if (text === undefined || text.trim() === '') {
    throw new BenchError('usage', `${CONFIG_ENV} is not set`, 'pass the app its AppRuntimeConfig as JSON in that variable');
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    throw new BenchError('usage', `${CONFIG_ENV} is not JSON (${(e as Error).message})`, 'pass the app its AppRuntimeConfig as JSON in that variable');
  }
  return validateAppConfig(value);
}
