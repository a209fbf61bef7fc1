// Redis clients for the cache, the sessions and the read-your-writes marks. A Redis outage must cost
// a request at most ~100 ms, never hang it: short command timeout, no offline queue (a command
// while disconnected fails at once), no per-command retries, a reconnect every second at most, and
// a breaker that skips Redis for a moment after a failure.
import type { Redis } from 'ioredis';
import { Breaker } from './breaker.ts';
import { REDIS_PASSWORD, type DbEndpoint } from './config.ts';

let RedisDriver: typeof Redis | null = null;

/** Loads ioredis, once; before the first GuardedRedis. Apps without Redis never pay its module init. */
export async function loadRedisDriver(): Promise<void> {
  RedisDriver ??= (await import('ioredis')).Redis;
}

const COMMAND_TIMEOUT_MS = 100;
const CONNECT_TIMEOUT_MS = 500;
const BREAKER_MS = 500;

/** Thrown instead of calling Redis while its breaker is open. */
export class RedisUnavailableError extends Error {
  constructor(label: string) {
    super(`redis ${label} is unavailable`);
    this.name = 'RedisUnavailableError';
  }
}

/** One Redis connection behind a breaker. Contract: `run` may be called concurrently. */
export class GuardedRedis {
  readonly client: Redis;
  readonly breaker = new Breaker(BREAKER_MS);
  readonly label: string;

  constructor(endpoint: DbEndpoint, log: (line: string) => void) {
    this.label = endpoint.name ?? `${endpoint.host}:${endpoint.port}`;
    if (!RedisDriver) throw new Error('loadRedisDriver() must be awaited before a GuardedRedis is made');
    this.client = new RedisDriver({
      host: endpoint.host,
      port: endpoint.port,
      // every Redis of a run has requirepass (targets/services/redis.ts); AUTH on every (re)connect
      password: REDIS_PASSWORD,
      commandTimeout: COMMAND_TIMEOUT_MS,
      connectTimeout: CONNECT_TIMEOUT_MS,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      retryStrategy: (times) => Math.min(100 * times, 1_000),
      lazyConnect: true,
    });
    // ioredis emits 'error' on every failed reconnect: say it once per outage, not once a second
    let down = false;
    this.client.on('error', (e: Error) => {
      if (!down) log(`redis ${this.label}: ${e.message} (retrying every second, requests skip it meanwhile)`);
      down = true;
    });
    this.client.on('ready', () => {
      if (down) log(`redis ${this.label}: reconnected`);
      down = false;
    });
  }

  /** Connects, waiting at most `timeoutMs`; false when Redis did not answer (the app runs degraded). */
  async connect(timeoutMs: number): Promise<boolean> {
    const ready = new Promise<boolean>((resolve) => {
      if (this.client.status === 'ready') return resolve(true);
      this.client.once('ready', () => resolve(true));
    });
    this.client.connect().catch(() => {});
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(false), timeoutMs);
    });
    try {
      return await Promise.race([ready, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  get ready(): boolean {
    return this.client.status === 'ready';
  }

  /** Runs commands unless the breaker is open; a failure opens it. */
  async run<T>(fn: (r: Redis) => Promise<T>): Promise<T> {
    if (this.breaker.isOpen()) throw new RedisUnavailableError(this.label);
    try {
      const value = await fn(this.client);
      this.breaker.succeed();
      return value;
    } catch (e) {
      this.breaker.fail();
      throw e;
    }
  }

  async close(): Promise<void> {
    this.client.disconnect();
  }
}

/** One GuardedRedis per distinct address, so the cache and the sessions share a connection when they share a server. */
export class RedisPool {
  private readonly byAddress = new Map<string, GuardedRedis>();

  constructor(private readonly log: (line: string) => void) {}

  get(endpoint: DbEndpoint): GuardedRedis {
    const key = `${endpoint.host}:${endpoint.port}`;
    let r = this.byAddress.get(key);
    if (!r) {
      r = new GuardedRedis(endpoint, this.log);
      this.byAddress.set(key, r);
    }
    return r;
  }

  all(): GuardedRedis[] {
    return [...this.byAddress.values()];
  }

  async close(): Promise<void> {
    await Promise.all(this.all().map((r) => r.close()));
  }
}
