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
import { z } from 'zod';
import { BenchError } from '../../harness/errors.ts';
import { resolveBinary } from '../../harness/runtime/binaries.ts';
import { runCommand } from '../../harness/runtime/process.ts';
import { waitFor } from '../../harness/runtime/wait.ts';
import { PG_MIN_MAX_CONNECTIONS, pgMaxConnections, type Endpoint, type PlannedService } from '../../harness/topology/plan.ts';
import { APP_POOL_SIZE, PG_CREDENTIALS } from '../app/config.ts';
import type { ComponentKind, NativeContext, NativeLaunch, Requirement } from './types.ts';

/** A primary, or a replica streaming from the primary it names. */
const postgresConfig = z
  .object({
    kind: z.literal('postgres'),
    postgres: z
      .object({
        role: z.enum(['primary', 'replica']),
        primary: z.string().optional(),
        /** a primary whose commits wait until ANY 1 replica has flushed them (--replication sync) */
        synchronous: z.boolean().optional(),
      })
      .strict(),
  })
  .strict()
  .refine((c) => c.postgres.role === 'primary' || !!c.postgres.primary, 'a replica names its primary')
  .refine((c) => c.postgres.role === 'primary' || !c.postgres.synchronous, 'only a primary is synchronous');
declare module '../../harness/topology/types.ts' {
  interface ServiceConfigs {
    postgres: Omit<z.infer<typeof postgresConfig>, 'kind'>;
  }
}
/** What a PostgreSQL service's config says. */
export type PostgresConfig = z.infer<typeof postgresConfig>['postgres'];

/** The system user every PostgreSQL runs as. */
export const PG_USER = 'postgres';

/** Newest first: initdb and postgres must come from the same directory (one server version). */
export const PG_BIN_DIRS = ['17', '16', '15', '14', '13'].map((v) => `/usr/lib/postgresql/${v}/bin`);

/** Where the official image (postgres:15) keeps the server's binaries. */
const PG_IMAGE_BIN = '/usr/lib/postgresql/15/bin';

const requirement = (binary: string, doctor?: Requirement['doctor']): Requirement => ({
  binary,
  paths: PG_BIN_DIRS,
  debianPackage: 'postgresql-15',
  inImage: `${PG_IMAGE_BIN}/${binary}`,
  ...(doctor ? { doctor } : {}),
});

/** Every binary of the kind; doctor lists the server and pg_basebackup (initdb and pg_ctl come with the server). */
const PG_REQUIREMENTS: Requirement[] = [
  requirement('postgres', { name: 'PostgreSQL 15', neededFor: 'phases 2-7 (databases)', versionArgs: ['--version'] }),
  requirement('initdb'),
  requirement('pg_basebackup', { name: 'pg_basebackup', neededFor: 'read replicas (phase 3+)', versionArgs: ['--version'] }),
  requirement('pg_ctl'),
];

export const pgDataDir = (serviceDir: string) => join(serviceDir, 'data');

/** sun_path is 108 bytes including the NUL; postgres fails obscurely beyond it. */
const MAX_SOCKET_PATH = 107;

function pgConfigOf(service: PlannedService): PostgresConfig {
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
export function renderPostgresConf(input: { name: string; ip: string; port: number; socketDir: string; maxConnections?: number; synchronous?: boolean }): string {
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
    // --replication sync: a commit is acknowledged only once one replica (any: replicas are named
    // by cluster_name) has flushed its WAL too, so a failover to the most advanced replica loses
    // no acknowledged write. Unset (async), what the replica has not received at a crash is lost.
    ...(input.synchronous ? ["synchronous_standby_names = 'ANY 1 (*)'"] : []),
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
  return pgHbaLines().join('\n');
}

function pgHbaLines(): string[] {
  return [
    '# Written by bench (targets/services/postgres.ts).',
    '# TYPE  DATABASE     USER      ADDRESS        METHOD',
    'local   all          all                      trust',
    'local   replication  all                      trust',
    `host    all          ${PG_CREDENTIALS.user}     127.0.0.0/8    scram-sha-256`,
    `host    replication  ${PG_CREDENTIALS.user}     127.0.0.0/8    scram-sha-256`,
    '',
  ];
}

/** pg_hba.conf for Docker: the same rules, plus the run's network (containers, and the bridge's
 *  gateway, where connections through a published port come from). Pure. */
export function renderDockerPgHba(subnet: string): string {
  const { user } = PG_CREDENTIALS;
  return [
    renderPgHba().trimEnd(),
    '# The run\'s Docker network: other containers, and the gateway (published ports arrive from it).',
    `host    all          ${user}     ${subnet}    scram-sha-256`,
    `host    replication  ${user}     ${subnet}    scram-sha-256`,
    '',
  ].join('\n');
}

/** Writes a file owned like `ownerOf` (the server reads it as postgres). */
async function writeOwned(file: string, text: string, ownerOf: string): Promise<void> {
  await writeFile(file, text, { mode: 0o644 });
  const st = await stat(ownerOf);
  await chown(file, st.uid, st.gid).catch(() => {});
}

/** sun_path is 108 bytes: a socket path beyond it fails obscurely inside postgres, so both runtimes check it first. */
function checkSocketPath(ctx: NativeContext): void {
  const socket = join(ctx.dir, `.s.PGSQL.${ctx.service.address.port}`);
  if (socket.length > MAX_SOCKET_PATH) {
    throw new BenchError('environment', `the socket path ${socket} is longer than ${MAX_SOCKET_PATH} bytes`, 'set BENCH_STATE_DIR to a shorter directory');
  }
}

function confInput(ctx: NativeContext) {
  return {
    name: ctx.service.name,
    ip: ctx.service.address.host,
    port: ctx.service.address.port,
    socketDir: ctx.dir,
    maxConnections: pgMaxConnections(ctx.plan.services, ctx.service.name, APP_POOL_SIZE),
    synchronous: pgConfigOf(ctx.service).synchronous === true,
  };
}

/**
 * The step that makes the data directory, as one launch both runtimes run (natively, or in a
 * one-off container of the image): initdb for a primary; for a replica pg_basebackup from its
 * primary through the replica->primary edge, so replication goes through Toxiproxy and a drill
 * can cut it (-R writes that address and this password into primary_conninfo, and
 * standby.signal; -c fast checkpoints now instead of waiting for the next one).
 */
export function dataDirStep(ctx: NativeContext): { step: 'initdb' | 'pg_basebackup'; launch: NativeLaunch; timeoutMs: number } {
  const config = pgConfigOf(ctx.service);
  const data = pgDataDir(ctx.dir);
  if (config.role === 'replica') {
    if (!config.primary) throw new BenchError('internal', `replica ${ctx.service.name} names no primary`);
    const from = ctx.reach(config.primary);
    ctx.progress(`${ctx.service.name}: pg_basebackup from ${config.primary} (${from.host}:${from.port})`);
    return {
      step: 'pg_basebackup',
      launch: {
        command: ctx.bin('pg_basebackup'),
        args: ['-h', from.host, '-p', String(from.port), '-U', PG_CREDENTIALS.user, '-D', data, '-R', '-X', 'stream', '-c', 'fast', '--no-sync'],
        env: { PGPASSWORD: PG_CREDENTIALS.password, PGCONNECT_TIMEOUT: '10' },
        user: PG_USER,
        cwd: ctx.dir,
      },
      timeoutMs: 300_000,
    };
  }
  ctx.progress(`${ctx.service.name}: initdb`);
  return {
    step: 'initdb',
    launch: { command: ctx.bin('initdb'), args: ['-D', data, '-U', PG_USER, '--auth=trust', '--no-sync', '-E', 'UTF8', '--locale=C'], user: PG_USER, cwd: ctx.dir },
    timeoutMs: 120_000,
  };
}

/** The instance's own postgresql.conf and pg_hba.conf, readable by the server. */
async function writeConfig(ctx: NativeContext, hba: string): Promise<void> {
  await writeOwned(join(ctx.dir, PG_CONFIG_FILE), renderPostgresConf(confInput(ctx)), ctx.dir);
  await writeOwned(join(ctx.dir, PG_HBA_FILE), hba, ctx.dir);
}

/**
 * Ready: the port accepts, then the server answers over its unix socket in the state its data
 * directory says (a standby, standby.signal present, must be in recovery; after a promotion it is
 * a primary). `socket` is the service as the server sees itself (its socket is named after the
 * port it listens on, which Docker publishes under another number).
 */
async function waitReady(dir: string, port: Endpoint, socket: PlannedService, signal: AbortSignal): Promise<void> {
  await waitFor.port(port, { timeoutMs: 60_000, signal });
  const standby = existsSync(join(pgDataDir(dir), 'standby.signal'));
  await waitFor.sql(socketClientConfig({ dir, service: socket }), {
    query: 'SELECT pg_is_in_recovery() AS recovering',
    check: (rows) => rows[0]?.recovering === standby,
    timeoutMs: 60_000,
    signal,
  });
}

/** A superuser connection over the service's own unix socket (no password, no proxy). */
export function socketClientConfig(ctx: Pick<NativeContext, 'dir' | 'service'>, database = 'postgres'): pg.ClientConfig {
  return { host: ctx.dir, port: ctx.service.address.port, user: PG_USER, database };
}

/** Creates role and database `bench` (idempotent); replicas receive them through replication.
 *  Also run by Patroni's leader (targets/services/patroni.ts), whose server Patroni starts. */
export async function createBenchRole(ctx: NativeContext): Promise<void> {
  const { user, password, database } = PG_CREDENTIALS;
  const client = new pg.Client(socketClientConfig(ctx));
  // a server that dies here fails the step (the query rejects), never the harness's process
  client.on('error', () => {});
  await client.connect();
  try {
    // A synchronous primary starts before its replicas, which clone it as this role: its commits
    // would wait for a standby that cannot exist yet. These few are acknowledged locally.
    await client.query('SET synchronous_commit = local');
    const role = await client.query('SELECT 1 FROM pg_roles WHERE rolname = $1', [user]);
    if (role.rowCount === 0) await client.query(`CREATE ROLE ${user} LOGIN REPLICATION PASSWORD '${password}'`);
    // the exporters connect as bench and read pg_stat_* views
    await client.query(`GRANT pg_monitor TO ${user}`);
    // settle's CHECKPOINT as bench where the harness has no superuser socket (Docker); the role
    // exists from PostgreSQL 15
    const cp = await client.query("SELECT 1 FROM pg_roles WHERE rolname = 'pg_checkpoint'");
    if (cp.rowCount === 1) await client.query(`GRANT pg_checkpoint TO ${user}`);
    const db = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [database]);
    if (db.rowCount === 0) await client.query(`CREATE DATABASE ${database} OWNER ${user}`);
  } finally {
    await client.end();
  }
}

/** Docker adds start-up and image work to a step: every step gets the longest native bound. */
const CONTAINER_STEP_TIMEOUT_MS = 300_000;

export const postgresRecipe: ComponentKind = {
  kind: 'postgres',
  config: postgresConfig,
  ports: { main: 5432 },
  tier: 'data',
  requires: PG_REQUIREMENTS,
  // the image's postgres user: the server refuses root
  image: { official: 'postgres:15', users: { [PG_USER]: '999:999' } },
  exporter: 'postgres-exporter',

  async prepare(ctx) {
    checkSocketPath(ctx);
    const { launch, timeoutMs } = dataDirStep(ctx);
    await runCommand(launch.command, launch.args, { user: launch.user, cwd: launch.cwd, env: launch.env, timeoutMs, signal: ctx.signal });
    await writeConfig(ctx, renderPgHba());
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
    await waitReady(ctx.dir, ctx.service.address, ctx.service, ctx.signal);
  },

  async afterStart(ctx) {
    if (pgConfigOf(ctx.service).role === 'primary') await createBenchRole(ctx);
  },

  // the same steps in containers: the data directory step in a one-off container of the image,
  // pg_hba admitting the run's network, the socket named after the container port
  docker: {
    async prepare(ctx, { native, runStep }) {
      checkSocketPath(native);
      const { step, launch } = dataDirStep(native);
      await runStep(step, launch, CONTAINER_STEP_TIMEOUT_MS);
      await writeConfig(native, renderDockerPgHba(ctx.network.subnet));
    },
    async ready(ctx) {
      await waitReady(ctx.dir, ctx.service.address, ctx.inside, ctx.signal);
    },
    async afterStart(ctx) {
      await postgresRecipe.afterStart!({ ...ctx, service: ctx.inside });
    },
  },
};

const repoRoot = fileURLToPath(new URL('../../', import.meta.url));

/**
 * Promotes a replica to a primary (`pg_ctl promote -w`): resolves once it accepts writes.
 * `target` is the replica's NativeContext or its StartedService (native runtime: `dir`).
 */
export async function promote(target: { dir?: string; bin?: (name: string) => string }, opts: { timeoutMs?: number; signal?: AbortSignal } = {}): Promise<void> {
  if (!target.dir) throw new BenchError('internal', 'promote needs the replica directory (native runtime)');
  const pgCtl = target.bin?.('pg_ctl') ?? resolveBinary(PG_REQUIREMENTS.find((r) => r.binary === 'pg_ctl')!, repoRoot);
  if (!pgCtl) throw new BenchError('environment', 'pg_ctl not found', 'run: bench setup');
  const timeoutS = Math.ceil((opts.timeoutMs ?? 30_000) / 1000);
  await runCommand(pgCtl, ['promote', '-D', pgDataDir(target.dir), '-w', '-t', String(timeoutS)], {
    user: PG_USER,
    cwd: target.dir,
    timeoutMs: (timeoutS + 5) * 1000,
    signal: opts.signal,
  });
}
