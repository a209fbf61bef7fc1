// PostgreSQL: a primary (initdb) or a streaming replica (pg_basebackup from its primary, through
// the replica->primary edge so a drill can cut replication). Runs as the `postgres` system user
// (the server refuses root), started as `postgres -D <data>` directly so the recorded pid is the
// server's own. Layout of the service directory:
//   <dir>/postgresql.conf, <dir>/pg_hba.conf   rendered here (`-c config_file=`): a replica's
//                      base backup copies the data directory, never these
//   <dir>/.s.PGSQL.<port>                       the unix socket
//   <dir>/data/                                  the cluster
import { chown, stat, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { BenchError } from '../../harness/errors.ts';
import { resolveBinary } from '../../harness/runtime/binaries.ts';
import { runCommand } from '../../harness/runtime/process.ts';
import { waitFor } from '../../harness/runtime/wait.ts';
import { PG_MIN_MAX_CONNECTIONS, pgMaxConnections, type PlannedService } from '../../harness/topology/plan.ts';
import { APP_POOL_SIZE, PG_CREDENTIALS } from '../app/config.ts';
import type { NativeContext, Requirement, ServiceRecipe } from './types.ts';

/** The system user every PostgreSQL runs as. */
export const PG_USER = 'postgres';

/** Newest first: initdb and postgres must come from the same directory (one server version). */
const PG_BIN_DIRS = ['17', '16', '15', '14', '13'].map((v) => `/usr/lib/postgresql/${v}/bin`);

const requirement = (binary: string): Requirement => ({ binary, paths: PG_BIN_DIRS, debianPackage: 'postgresql-15' });

export const pgDataDir = (serviceDir: string) => join(serviceDir, 'data');

/** sun_path is 108 bytes including the NUL; postgres fails obscurely beyond it. */
const MAX_SOCKET_PATH = 107;

function pgConfigOf(service: PlannedService) {
  if (service.config.kind !== 'postgres') throw new Error(`${service.name} is not a postgres service`);
  return service.config.postgres;
}

export const PG_CONFIG_FILE = 'postgresql.conf';
export const PG_HBA_FILE = 'pg_hba.conf';

/**
 * The server's whole configuration (anything not named here keeps its built-in default). Pure.
 *
 * fsync and synchronous_commit stay on: the drills count acknowledged writes and check them after
 * a kill or a failover, and a commit must cost what it costs in production (a WAL flush), or the
 * latency a phase shows is flattering. initdb --no-sync only skips syncing the fresh template
 * files, which each run recreates anyway.
 */
export function renderPostgresConf(input: { name: string; ip: string; port: number; socketDir: string; maxConnections?: number }): string {
  return [
    `# Written by bench (targets/services/postgres.ts) for ${input.name}.`,
    `hba_file = '${join(input.socketDir, PG_HBA_FILE)}'`,
    `listen_addresses = '${input.ip}'`,
    `port = ${input.port}`,
    `unix_socket_directories = '${input.socketDir}'`,
    // the socket trusts every local user (pg_hba): only the server's own user may reach it
    'unix_socket_permissions = 0700',
    // a walreceiver without application_name uses cluster_name: pg_stat_replication names the replica
    `cluster_name = '${input.name}'`,
    // every app pool that may land here fits (pgMaxConnections), or a pool waits for nothing
    `max_connections = ${input.maxConnections ?? PG_MIN_MAX_CONNECTIONS}`,
    'shared_buffers = 64MB',
    'wal_level = replica',
    'max_wal_senders = 10',
    'max_replication_slots = 10',
    // a replica that was SIGKILLed or cut off for a while can catch up without a slot
    'wal_keep_size = 256MB',
    'hot_standby = on',
    'hot_standby_feedback = on',
    'fsync = on',
    'synchronous_commit = on',
    'full_page_writes = on',
    'logging_collector = off',
    "log_line_prefix = '%m [%p] %q%u@%d '",
    "timezone = 'UTC'",
    "lc_messages = 'C'",
    '',
  ].join('\n');
}

/**
 * Client authentication: the local socket trusts (only root and postgres can reach the service
 * directory); TCP from loopback asks user `bench` for its password (scram-sha-256), for queries
 * and for replication. Everything else is refused.
 */
export function renderPgHba(): string {
  return [
    '# Written by bench (targets/services/postgres.ts).',
    '# TYPE  DATABASE     USER      ADDRESS        METHOD',
    'local   all          all                      trust',
    'local   replication  all                      trust',
    `host    all          ${PG_CREDENTIALS.user}     127.0.0.0/8    scram-sha-256`,
    `host    replication  ${PG_CREDENTIALS.user}     127.0.0.0/8    scram-sha-256`,
    '',
  ].join('\n');
}

/** Writes a file owned like `ownerOf` (the server reads it as postgres). */
async function writeOwned(file: string, text: string, ownerOf: string): Promise<void> {
  await writeFile(file, text, { mode: 0o644 });
  const st = await stat(ownerOf);
  await chown(file, st.uid, st.gid).catch(() => {});
}

function confInput(ctx: NativeContext) {
  const socket = join(ctx.dir, `.s.PGSQL.${ctx.service.address.port}`);
  if (socket.length > MAX_SOCKET_PATH) {
    throw new BenchError('environment', `the socket path ${socket} is longer than ${MAX_SOCKET_PATH} bytes`, 'set BENCH_STATE_DIR to a shorter directory');
  }
  return {
    name: ctx.service.name,
    ip: ctx.service.address.host,
    port: ctx.service.address.port,
    socketDir: ctx.dir,
    maxConnections: pgMaxConnections(ctx.plan.services, ctx.service.name, APP_POOL_SIZE),
  };
}

/** A superuser connection over the service's own unix socket (no password, no proxy). */
export function socketClientConfig(ctx: Pick<NativeContext, 'dir' | 'service'>, database = 'postgres'): pg.ClientConfig {
  return { host: ctx.dir, port: ctx.service.address.port, user: PG_USER, database };
}

async function preparePrimary(ctx: NativeContext): Promise<void> {
  const data = pgDataDir(ctx.dir);
  ctx.progress(`${ctx.service.name}: initdb`);
  await runCommand(ctx.bin('initdb'), ['-D', data, '-U', PG_USER, '--auth=trust', '--no-sync', '-E', 'UTF8', '--locale=C'], {
    user: PG_USER,
    cwd: ctx.dir,
    timeoutMs: 120_000,
    signal: ctx.signal,
  });
  await writeConfig(ctx);
}

/** The instance's own postgresql.conf and pg_hba.conf, readable by the server. */
async function writeConfig(ctx: NativeContext): Promise<void> {
  await writeOwned(join(ctx.dir, PG_CONFIG_FILE), renderPostgresConf(confInput(ctx)), ctx.dir);
  await writeOwned(join(ctx.dir, PG_HBA_FILE), renderPgHba(), ctx.dir);
}

async function prepareReplica(ctx: NativeContext, primary: string): Promise<void> {
  const data = pgDataDir(ctx.dir);
  const from = ctx.reach(primary);
  ctx.progress(`${ctx.service.name}: pg_basebackup from ${primary} (${from.host}:${from.port})`);
  // -R writes primary_conninfo (with this password) and standby.signal; -c fast checkpoints now
  // instead of waiting for the next one.
  await runCommand(
    ctx.bin('pg_basebackup'),
    ['-h', from.host, '-p', String(from.port), '-U', PG_CREDENTIALS.user, '-D', data, '-R', '-X', 'stream', '-c', 'fast', '--no-sync'],
    { user: PG_USER, cwd: ctx.dir, env: { PGPASSWORD: PG_CREDENTIALS.password, PGCONNECT_TIMEOUT: '10' }, timeoutMs: 300_000, signal: ctx.signal },
  );
  await writeConfig(ctx);
}

/** Creates role and database `bench` (idempotent); replicas receive them through replication.
 *  Also run by Patroni's leader (targets/services/patroni.ts), whose server Patroni starts. */
export async function createBenchRole(ctx: NativeContext): Promise<void> {
  const { user, password, database } = PG_CREDENTIALS;
  const client = new pg.Client(socketClientConfig(ctx));
  await client.connect();
  try {
    const role = await client.query('SELECT 1 FROM pg_roles WHERE rolname = $1', [user]);
    if (role.rowCount === 0) await client.query(`CREATE ROLE ${user} LOGIN REPLICATION PASSWORD '${password}'`);
    // the exporters connect as bench and read pg_stat_* views
    await client.query(`GRANT pg_monitor TO ${user}`);
    const db = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [database]);
    if (db.rowCount === 0) await client.query(`CREATE DATABASE ${database} OWNER ${user}`);
  } finally {
    await client.end();
  }
}

export const postgresRecipe: ServiceRecipe = {
  kind: 'postgres',
  requires: ['postgres', 'initdb', 'pg_basebackup', 'pg_ctl'].map(requirement),

  async prepare(ctx) {
    const config = pgConfigOf(ctx.service);
    if (config.role === 'replica') {
      if (!config.primary) throw new BenchError('internal', `replica ${ctx.service.name} names no primary`);
      await prepareReplica(ctx, config.primary);
    } else {
      await preparePrimary(ctx);
    }
  },

  launch(ctx) {
    return {
      command: ctx.bin('postgres'),
      args: ['-D', pgDataDir(ctx.dir), '-c', `config_file=${join(ctx.dir, PG_CONFIG_FILE)}`],
      cwd: ctx.dir,
      user: PG_USER,
      // SIGINT is the "fast" shutdown: it does not wait for clients to disconnect as SIGTERM does
      stopSignal: 'SIGINT',
    };
  },

  async ready(ctx) {
    await waitFor.port(ctx.service.address, { timeoutMs: 60_000, signal: ctx.signal });
    // A standby (standby.signal present) must be in recovery; after a promotion it is a primary.
    const standby = existsSync(join(pgDataDir(ctx.dir), 'standby.signal'));
    await waitFor.sql(socketClientConfig(ctx), {
      query: 'SELECT pg_is_in_recovery() AS recovering',
      check: (rows) => rows[0]?.recovering === standby,
      timeoutMs: 60_000,
      signal: ctx.signal,
    });
  },

  async afterStart(ctx) {
    if (pgConfigOf(ctx.service).role === 'primary') await createBenchRole(ctx);
  },
};

const repoRoot = fileURLToPath(new URL('../../', import.meta.url));

/**
 * Promotes a replica to a primary (`pg_ctl promote -w`): resolves once it accepts writes.
 * `target` is the replica's NativeContext or its StartedService (native runtime: `dir`).
 */
export async function promote(target: { dir?: string; bin?: (name: string) => string }, opts: { timeoutMs?: number; signal?: AbortSignal } = {}): Promise<void> {
  if (!target.dir) throw new BenchError('internal', 'promote needs the replica directory (native runtime)');
  const pgCtl = target.bin?.('pg_ctl') ?? resolveBinary(requirement('pg_ctl'), repoRoot);
  if (!pgCtl) throw new BenchError('environment', 'pg_ctl not found', 'run: bench setup');
  const timeoutS = Math.ceil((opts.timeoutMs ?? 30_000) / 1000);
  await runCommand(pgCtl, ['promote', '-D', pgDataDir(target.dir), '-w', '-t', String(timeoutS)], {
    user: PG_USER,
    cwd: target.dir,
    timeoutMs: (timeoutS + 5) * 1000,
    signal: opts.signal,
  });
}
