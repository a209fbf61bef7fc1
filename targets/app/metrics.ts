// The app's Prometheus metrics, on a registry of its own (two apps in one test process must not
// share counters). Names and labels are a contract with dashboards/ and the run's queries.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export type DbRole = 'primary' | 'replica';
export type DbOp = 'get' | 'insert' | 'update';
export type CacheResult = 'hit' | 'miss' | 'error';

/** What the stores report to: one call per query they run for a request. */
export interface DbObserver {
  query(role: DbRole, shard: string, op: DbOp, seconds: number): void;
  replicaLag(shard: string, replica: string, seconds: number): void;
}

/** Creates the app's registry and its metrics; `server` is the app's name. */
export function createMetrics(server: string) {
  const registry = new Registry();
  // prom-client's default metrics (process CPU and memory, heap, event loop lag, GC) are registered
  // at the first scrape, not at start: registering them cost ~10 ms of CPU, 50 ms of a 0.2-CPU
  // app's start. Nothing is lost: the CPU and memory figures are read from the process at each
  // scrape; only the event loop and GC histograms start at the first scrape, before any load.
  let defaults = false;
  const httpRequests = new Counter({
    name: 'http_requests_total',
    help: 'HTTP requests answered, by route pattern (not /metrics nor /healthz)',
    labelNames: ['route', 'method', 'status', 'server'] as const,
    registers: [registry],
  });
  const httpDuration = new Histogram({
    name: 'http_request_duration_seconds',
    help: 'Time from request received to response sent',
    labelNames: ['route', 'method', 'server'] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [registry],
  });
  const dbDuration = new Histogram({
    name: 'db_query_duration_seconds',
    help: 'Database query time as seen by the app',
    labelNames: ['role', 'shard', 'op'] as const,
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [registry],
  });
  const dbQueries = new Counter({
    name: 'db_queries_total',
    help: 'Database queries run for requests (health probes and lag polls not included)',
    labelNames: ['role', 'shard'] as const,
    registers: [registry],
  });
  const cacheRequests = new Counter({
    name: 'cache_requests_total',
    help: 'Cache-aside lookups of user profiles',
    labelNames: ['result'] as const,
    registers: [registry],
  });
  const cacheInvalidations = new Counter({
    name: 'cache_invalidations_total',
    help: 'Deletions of a cached profile after a write; an error leaves it stale until its TTL',
    labelNames: ['result'] as const,
    registers: [registry],
  });
  const sessionOps = new Counter({
    name: 'session_ops_total',
    help: 'Session store operations',
    labelNames: ['op', 'result'] as const,
    registers: [registry],
  });
  const replicaLag = new Gauge({
    name: 'replica_lag_seconds',
    help: 'now() - pg_last_xact_replay_timestamp() on each replica, 0 when all received WAL is replayed, NaN when unreachable',
    labelNames: ['shard', 'replica'] as const,
    registers: [registry],
  });
  const db: DbObserver = {
    query(role, shard, op, seconds) {
      dbDuration.observe({ role, shard, op }, seconds);
      dbQueries.inc({ role, shard });
    },
    replicaLag(shard, replica, seconds) {
      replicaLag.set({ shard, replica }, seconds);
    },
  };
  return {
    registry,
    db,
    /** the registry's text, the default metrics registered at the first call */
    scrape(): Promise<string> {
      if (!defaults) {
        collectDefaultMetrics({ register: registry });
        defaults = true;
      }
      return registry.metrics();
    },
    request(route: string, method: string, status: number, seconds: number) {
      httpRequests.inc({ route, method, status: String(status), server });
      httpDuration.observe({ route, method, server }, seconds);
    },
    cache(result: CacheResult) {
      cacheRequests.inc({ result });
    },
    cacheInvalidation(result: 'ok' | 'error') {
      cacheInvalidations.inc({ result });
    },
    session(op: 'create' | 'get', result: 'ok' | 'miss' | 'error') {
      sessionOps.inc({ op, result });
    },
  };
}

export type AppMetrics = ReturnType<typeof createMetrics>;
