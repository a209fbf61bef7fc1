// The Postgres store of phases 2–5: one or more shards, each a primary (writes, and reads inside a
// user's read-your-writes window) and read replicas (every other read). One small pg.Pool per
// server. A replica that fails is skipped for a moment (Breaker) and its reads go to the primary,
// so losing a replica costs latency, not errors.
import pg from 'pg';
import { Breaker } from '../breaker.ts';
import { DEFAULT_PROBE_TIMEOUT_MS, PG_CREDENTIALS, type DbEndpoint, type PostgresStoreConfig, type ShardRuntime } from '../config.ts';
import type { DbObserver, DbOp, DbRole } from '../metrics.ts';
import { createShardRouter } from './shard-router.ts';
import { DuplicateIdError, IdRequiredError, StoreUnavailableError, type NewUser, type StoreHealth, type User, type UserPatch, type UserStore } from './types.ts';

const DEFAULT_POOL_SIZE = 10;
/**
 * How long a pooled connection may sit idle before it is closed (HikariCP's default idle timeout).
 * It was 30 s, with connections opened on demand: every rise of the load above its level of the
 * last 30 s logged in again, and a login
 * (SCRAM-SHA-256 on the harness's servers) costs ~20 ms of a 0.2-core app's CPU, ~0.1 s of its
 * quota, at the very moment the load grows. A phase 3 app has three pools (primary and two
 * replicas), so it paid this three times per step up of a capacity search.
 */
const IDLE_TIMEOUT_MS = 600_000;
const DEFAULT_STATEMENT_TIMEOUT_MS = 5_000;
/** a replica slower than this for one read is treated as failing: the read goes to the primary */
const REPLICA_READ_TIMEOUT_MS = 1_000;
const REPLICA_BREAKER_MS = 1_000;
const LAG_POLL_MS = 1_000;
/** retries of a sequence-assigned insert that met an id someone gave explicitly */
const SEQUENCE_RETRIES = 5;

const USER_COLUMNS = 'id, name, email, created_at';

interface Row {
  id: string | number;
  name: string;
  email: string;
  created_at: Date | string;
}

const toUser = (r: Row): User => ({
  id: Number(r.id),
  name: r.name,
  email: r.email,
  createdAt: r.created_at instanceof Date ? r.created_at.toISOString() : String(r.created_at),
});

const UNREACHABLE_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'EPIPE']);
const UNREACHABLE_MESSAGES = ['timeout exceeded when trying to connect', 'Connection terminated', 'Query read timeout', 'connection error'];

/**
 * True when an error says the server is down, unreachable or overloaded rather than that the
 * query was wrong: SQLSTATE class 08 (connection), 57P (shutdown, starting up), 57014 (statement
 * timeout), 53300 (too many connections), socket errors, and pg's own timeouts.
 */
export function isUnavailable(e: unknown): boolean {
  const code = (e as { code?: unknown })?.code;
  if (typeof code === 'string') {
    if (UNREACHABLE_CODES.has(code) || code.startsWith('08') || code.startsWith('57P') || code === '57014' || code === '53300') return true;
  }
  const message = (e as Error)?.message ?? '';
  return UNREACHABLE_MESSAGES.some((m) => message.includes(m));
}

/**
 * True when the server answered a query with an error that leaves the session usable (a SQLSTATE
 * such as 23505, a unique violation), so the connection may go back to the pool; false for
 * everything that may leave it in an unknown state (an unavailable server, a client-side timeout
 * while the server may still be running the query, a socket error), which closes it.
 */
export function keepsConnection(e: unknown): boolean {
  const code = (e as { code?: unknown })?.code;
  return typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code) && !isUnavailable(e);
}

/** A readable label for a server: its service name when the config gives one, else host:port. */
export const endpointLabel = (e: DbEndpoint) => e.name ?? `${e.host}:${e.port}`;

/** Connection settings for a Postgres of the reference system. */
export function pgConnection(e: DbEndpoint): pg.ClientConfig {
  return { host: e.host, port: e.port, ...PG_CREDENTIALS };
}

// Two apps starting at once would both run CREATE TABLE IF NOT EXISTS and one could fail on the
// catalog's unique index: serialise on an advisory lock held for the transaction.
const SCHEMA_LOCK = 7_270_001;
const SCHEMA_SQL = `
  CREATE SEQUENCE IF NOT EXISTS users_id_seq;
  CREATE TABLE IF NOT EXISTS users (
    id bigint PRIMARY KEY DEFAULT nextval('users_id_seq'),
    name text NOT NULL,
    email text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
  );
  ALTER SEQUENCE users_id_seq OWNED BY users.id;`;

/** Creates the users table (and its id sequence) on one primary if missing. */
export async function ensureSchema(primary: DbEndpoint, timeoutMs = 5_000): Promise<void> {
  const client = new pg.Client({ ...pgConnection(primary), connectionTimeoutMillis: timeoutMs, query_timeout: timeoutMs });
  client.on('error', () => {});
  await client.connect();
  try {
    await client.query('BEGIN');
    await client.query('SELECT pg_advisory_xact_lock($1)', [SCHEMA_LOCK]);
    await client.query(SCHEMA_SQL);
    await client.query('COMMIT');
  } catch (e) {
    await client.query('ROLLBACK').catch(() => {});
    throw e;
  } finally {
    await client.end().catch(() => {});
  }
}

/**
 * One dedicated connection for health probes and lag polls, so that a busy pool never makes a
 * healthy server look dead (a probe waiting behind 10 slow queries would time out).
 */
class Probe {
  private client: pg.Client | null = null;

  constructor(
    private readonly endpoint: DbEndpoint,
    private readonly timeoutMs: number,
  ) {}

  private async connected(connectTimeoutMs: number): Promise<pg.Client> {
    if (!this.client) {
      const c = new pg.Client({ ...pgConnection(this.endpoint), connectionTimeoutMillis: connectTimeoutMs, query_timeout: this.timeoutMs, application_name: 'bench-app-probe' });
      c.on('error', () => this.drop(c));
      this.client = c;
      await c.connect();
    }
    return this.client;
  }

  async query<R extends pg.QueryResultRow>(sql: string): Promise<R[]> {
    try {
      const res = await (await this.connected(this.timeoutMs)).query<R>(sql);
      return res.rows;
    } catch (e) {
      if (this.client) this.drop(this.client);
      throw e;
    }
  }

  /**
   * ensureSchema over this probe's own connection (`timeoutMs` for the login and each statement),
   * which then stays for the health probes: at start, one SCRAM login instead of two (a login is
   * ~20 ms of CPU, 0.1 s of a 0.2-core app's start).
   */
  async ensureSchema(timeoutMs: number): Promise<void> {
    try {
      const c = await this.connected(timeoutMs);
      const q = (text: string, values: unknown[] = []) => c.query({ text, values, query_timeout: timeoutMs } as pg.QueryConfig);
      await q('BEGIN');
      try {
        await q('SELECT pg_advisory_xact_lock($1)', [SCHEMA_LOCK]);
        await q(SCHEMA_SQL);
        await q('COMMIT');
      } catch (e) {
        await q('ROLLBACK');
        throw e;
      }
    } catch (e) {
      // whatever state the session is in, the next probe starts from a new one
      if (this.client) this.drop(this.client);
      throw e;
    }
  }

  private drop(c: pg.Client): void {
    if (this.client === c) this.client = null;
    c.end().catch(() => {});
  }

  async close(): Promise<void> {
    const c = this.client;
    this.client = null;
    if (c) await c.end().catch(() => {});
  }
}

interface Server {
  label: string;
  pool: pg.Pool;
  probe: Probe;
  breaker: Breaker;
}

interface Shard {
  spec: ShardRuntime;
  primary: Server;
  replicas: Server[];
  /** round-robin cursor over the replicas */
  next: number;
}

/**
 * A connection that ends without a word from the server (a cut link, a partition, a proxy turned
 * off) makes its pg client emit 'error'. The pool listens only while the client is idle; a client
 * checked out for a query had no listener, and the unhandled 'error' crashed the whole process (a
 * Docker test caught it: one cut of the app's database edge killed the app). The query itself is
 * rejected either way (and its connection is then dropped, not pooled): the listeners only keep
 * the process alive.
 */
export function survivesLostConnections(pool: pg.Pool): void {
  pool.on('error', () => {});
  pool.on('connect', (client) => client.on('error', () => {}));
}

export interface PostgresStoreOptions {
  /**
   * 'now' (default): every pool opens to its size in the background at once. 'later': only when
   * openPools() is called — the app calls it once it is listening, so that ten SCRAM logins per
   * pool do not share a 0.2-CPU host with its start (a request before then opens what it needs).
   */
  openPools?: 'now' | 'later';
}

/** A UserStore over Postgres shards. `app` names the connections (application_name). */
export function createPostgresStore(config: PostgresStoreConfig, observer: DbObserver, app = 'bench-app', options: PostgresStoreOptions = {}): UserStore {
  const poolSize = config.poolSize ?? DEFAULT_POOL_SIZE;
  const statementTimeout = config.statementTimeoutMs ?? DEFAULT_STATEMENT_TIMEOUT_MS;
  const probeTimeout = config.probeTimeoutMs ?? DEFAULT_PROBE_TIMEOUT_MS;
  const server = (e: DbEndpoint): Server => {
    const pool = new pg.Pool({
      ...pgConnection(e),
      max: poolSize,
      idleTimeoutMillis: IDLE_TIMEOUT_MS,
      // also bounds the wait for a free connection: an overloaded pool fails after this
      connectionTimeoutMillis: 3_000,
      statement_timeout: statementTimeout,
      // a hung server (SIGSTOP, a partition) never answers: the client gives up a little after the server would
      query_timeout: statementTimeout + 1_000,
      application_name: app,
    });
    survivesLostConnections(pool);
    return { label: endpointLabel(e), pool, probe: new Probe(e, probeTimeout), breaker: new Breaker(REPLICA_BREAKER_MS) };
  };
  const shards: (Shard & { range: ShardRuntime['range'] })[] = config.shards.map((spec) => ({
    spec,
    range: spec.range,
    primary: server(spec.primary),
    replicas: spec.replicas.map(server),
    next: 0,
  }));
  const router = createShardRouter(config.strategy, shards);
  // Open every pool to its size now, in the background, as HikariCP does by default (minimumIdle =
  // maximumPoolSize): the logins happen while the app starts, not under the first surge of load.
  // Best effort: a server that is down is logged into later, on demand, as before.
  const fill = async (s: Server) => {
    const opened = await Promise.allSettled(Array.from({ length: poolSize }, () => s.pool.connect()));
    for (const c of opened) if (c.status === 'fulfilled') c.value.release();
  };
  let opened = false;
  const openPools = () => {
    if (opened) return;
    opened = true;
    for (const shard of shards) for (const s of [shard.primary, ...shard.replicas]) void fill(s).catch(() => {});
  };
  if ((options.openPools ?? 'now') === 'now') openPools();

  const run = async (shard: Shard, role: DbRole, s: Server, op: DbOp, text: string, values: unknown[], timeoutMs?: number) => {
    const t0 = performance.now();
    try {
      // query_timeout per query is supported by pg at runtime but missing from its types
      const q = { text, values, ...(timeoutMs ? { query_timeout: timeoutMs } : {}) } as pg.QueryConfig;
      // Not pool.query(): it closes the connection after ANY error, so every 409 (a duplicate id)
      // cost a new connection and its SCRAM-SHA-256 login (4,096 PBKDF2 rounds): measured ~20 ms
      // of a 0.2-core app's CPU each (scripts/app-cost.ts, docs/CAPACITY.md).
      const client = await s.pool.connect();
      let broken: Error | undefined;
      // pg-pool removes its own 'error' listener while a client is checked out, and pg emits
      // 'error' on a connection that ends unexpectedly: a server that cuts sessions (phase 7's
      // routers on a leader change) would crash the app with an unhandled 'error' event. The
      // query fails with the same error; the connection is released broken.
      const onError = (e: Error) => (broken ??= e);
      client.on('error', onError);
      try {
        return await client.query<Row>(q);
      } catch (e) {
        if (!keepsConnection(e)) broken = e as Error;
        throw e;
      } finally {
        client.removeListener('error', onError);
        client.release(broken);
      }
    } catch (e) {
      throw isUnavailable(e) ? new StoreUnavailableError(role === 'primary' ? shard.spec.name : `${shard.spec.name} (replica ${s.label})`, e) : e;
    } finally {
      observer.query(role, shard.spec.name, op, (performance.now() - t0) / 1000);
    }
  };

  const pickReplica = (shard: Shard): Server | null => {
    const n = shard.replicas.length;
    for (let i = 0; i < n; i++) {
      const r = shard.replicas[(shard.next + i) % n];
      if (!r.breaker.isOpen()) {
        shard.next = (shard.next + i + 1) % n;
        return r;
      }
    }
    return null;
  };

  const insert = async (shard: Shard, user: NewUser): Promise<User> => {
    if (user.id !== undefined) {
      try {
        const res = await run(shard, 'primary', shard.primary, 'insert', `INSERT INTO users (id, name, email) VALUES ($1, $2, $3) RETURNING ${USER_COLUMNS}`, [user.id, user.name, user.email]);
        return toUser(res.rows[0]);
      } catch (e) {
        if ((e as { code?: string }).code === '23505') throw new DuplicateIdError(user.id);
        throw e;
      }
    }
    for (let attempt = 0; ; attempt++) {
      try {
        const res = await run(shard, 'primary', shard.primary, 'insert', `INSERT INTO users (name, email) VALUES ($1, $2) RETURNING ${USER_COLUMNS}`, [user.name, user.email]);
        return toUser(res.rows[0]);
      } catch (e) {
        // the sequence handed out an id a client had already given explicitly: take the next one
        if ((e as { code?: string }).code !== '23505' || attempt >= SEQUENCE_RETRIES) throw e;
      }
    }
  };

  let lagTimer: NodeJS.Timeout | null = null;
  let polling = false;
  const replicaHealth = new Map<string, boolean>();
  const pollLag = async () => {
    if (polling) return;
    polling = true;
    try {
      await Promise.all(
        shards.flatMap((shard) =>
          shard.replicas.map(async (r) => {
            try {
              // A replay timestamp alone goes stale when the primary is idle (nothing to replay,
              // yet now() keeps moving): report 0 when everything received has been replayed.
              const rows = await r.probe.query<{ lag: number | string | null }>(
                `SELECT CASE WHEN pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn() THEN 0
                        ELSE COALESCE(EXTRACT(EPOCH FROM now() - pg_last_xact_replay_timestamp()), 0) END AS lag`,
              );
              observer.replicaLag(shard.spec.name, r.label, Math.max(0, Number(rows[0]?.lag ?? 0)));
              replicaHealth.set(`${shard.spec.name} replica ${r.label}`, true);
            } catch {
              observer.replicaLag(shard.spec.name, r.label, Number.NaN);
              replicaHealth.set(`${shard.spec.name} replica ${r.label}`, false);
            }
          }),
        ),
      );
    } finally {
      polling = false;
    }
  };
  if (shards.some((s) => s.replicas.length > 0)) {
    lagTimer = setInterval(() => void pollLag(), LAG_POLL_MS);
    lagTimer.unref();
    void pollLag();
  }

  return {
    kind: 'postgres',
    readsFromReplica: (id) => router.shardFor(id).replicas.length > 0,
    async get(id, options = {}) {
      const shard = router.shardFor(id);
      const sql = `SELECT ${USER_COLUMNS} FROM users WHERE id = $1`;
      const replica = options.primary ? null : pickReplica(shard);
      if (replica) {
        try {
          const res = await run(shard, 'replica', replica, 'get', sql, [id], REPLICA_READ_TIMEOUT_MS);
          replica.breaker.succeed();
          return res.rows[0] ? toUser(res.rows[0]) : null;
        } catch {
          replica.breaker.fail();
        }
      }
      const res = await run(shard, 'primary', shard.primary, 'get', sql, [id]);
      return res.rows[0] ? toUser(res.rows[0]) : null;
    },
    async create(user) {
      if (user.id === undefined && shards.length > 1) throw new IdRequiredError();
      return insert(user.id === undefined ? shards[0] : router.shardFor(user.id), user);
    },
    async update(id, patch: UserPatch) {
      const shard = router.shardFor(id);
      const res = await run(
        shard,
        'primary',
        shard.primary,
        'update',
        `UPDATE users SET name = COALESCE($1, name), email = COALESCE($2, email) WHERE id = $3 RETURNING ${USER_COLUMNS}`,
        [patch.name ?? null, patch.email ?? null, id],
      );
      return res.rows[0] ? toUser(res.rows[0]) : null;
    },
    async health(): Promise<StoreHealth> {
      const checks: Record<string, boolean> = {};
      await Promise.all(
        shards.map(async (shard) => {
          checks[`${shard.spec.name} primary`] = await shard.primary.probe.query('SELECT 1').then(
            () => true,
            () => false,
          );
        }),
      );
      const ok = shards.some((s) => checks[`${s.spec.name} primary`]);
      for (const [k, v] of replicaHealth) checks[k] = v;
      return { ok, checks };
    },
    openPools,
    async prepare(timeoutMs) {
      await Promise.all(shards.map((s) => s.primary.probe.ensureSchema(timeoutMs)));
    },
    async close() {
      if (lagTimer) clearInterval(lagTimer);
      const servers = shards.flatMap((s) => [s.primary, ...s.replicas]);
      await Promise.all(servers.flatMap((s) => [s.pool.end().catch(() => {}), s.probe.close()]));
    },
  };
}
