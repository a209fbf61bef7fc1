// A throwaway PostgreSQL 15 for one test: initdb as the `postgres` user into a temp dir, listening
// on a loopback address and a free port, role and database bench/bench created, fsync off. Also a
// streaming replica of it (pg_basebackup -R). Not the runtime's recipe (targets/services/): only
// what the app's integration tests need.
import { execFile, type ChildProcess } from 'node:child_process';
import { appendFileSync, chownSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { PG_CREDENTIALS, type DbEndpoint } from '../config.ts';
import { freePort, spawnTracked, testHost, stopChild, trackDir, untrackDir, waitUntil } from './fixture-util.ts';

const run = promisify(execFile);
export const PG_BIN = '/usr/lib/postgresql/15/bin';

/** uid and gid of the `postgres` system user (initdb and the server refuse to run as root). */
function postgresUser(): { uid: number; gid: number } {
  const line = readFileSync('/etc/passwd', 'utf8')
    .split('\n')
    .find((l) => l.startsWith('postgres:'));
  if (!line) throw new Error('no postgres user: install postgresql-15');
  const [, , uid, gid] = line.split(':');
  return { uid: Number(uid), gid: Number(gid) };
}

export interface StartedPostgres extends AsyncDisposable {
  endpoint: DbEndpoint;
  dir: string;
  readonly pid: number;
  /** runs SQL as bench on database bench */
  query<R extends pg.QueryResultRow = pg.QueryResultRow>(sql: string, values?: unknown[]): Promise<R[]>;
  /** fast shutdown (SIGINT), then removes the data directory */
  stop(): Promise<void>;
}

export interface PostgresOptions {
  /** loopback address to listen on, default this worker's testHost() */
  host?: string;
  name?: string;
}

async function startServer(dataDir: string, endpoint: DbEndpoint, user: { uid: number; gid: number }): Promise<ChildProcess> {
  const child = spawnTracked(join(PG_BIN, 'postgres'), ['-D', dataDir], {
    uid: user.uid,
    gid: user.gid,
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', LANG: 'C.UTF-8' },
  });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => {
    if (stderr.length < 20_000) stderr += d.toString();
  });
  try {
    await waitUntil(`postgres on ${endpoint.host}:${endpoint.port}`, 15_000, async () => {
      if (child.exitCode !== null) throw new Error(`postgres exited ${child.exitCode}: ${stderr.trim().split('\n').slice(-3).join(' | ')}`);
      const c = new pg.Client({ host: endpoint.host, port: endpoint.port, user: 'postgres', database: 'postgres', connectionTimeoutMillis: 500 });
      c.on('error', () => {});
      try {
        await c.connect();
        await c.query('SELECT 1');
        return true;
      } finally {
        await c.end().catch(() => {});
      }
    });
  } catch (e) {
    await stopChild(child, 'SIGKILL');
    throw e;
  }
  return child;
}

function handle(dir: string, endpoint: DbEndpoint, child: ChildProcess): StartedPostgres {
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    await stopChild(child, 'SIGINT');
    rmSync(dir, { recursive: true, force: true });
    untrackDir(dir);
  };
  return {
    endpoint,
    dir,
    pid: child.pid!,
    async query(sql, values) {
      const c = new pg.Client({ host: endpoint.host, port: endpoint.port, ...PG_CREDENTIALS, connectionTimeoutMillis: 2_000 });
      c.on('error', () => {});
      await c.connect();
      try {
        return (await c.query(sql, values)).rows;
      } finally {
        await c.end().catch(() => {});
      }
    },
    stop,
    [Symbol.asyncDispose]: stop,
  };
}

const serverConf = (endpoint: DbEndpoint, dir: string) => `
listen_addresses = '${endpoint.host}'
port = ${endpoint.port}
unix_socket_directories = '${dir}'
fsync = off
synchronous_commit = off
full_page_writes = off
wal_level = replica
max_wal_senders = 5
hot_standby = on
shared_buffers = 64MB
max_connections = 60
logging_collector = off
log_min_messages = warning
`;

/** Starts a primary with role and database bench/bench; ~1.5 s. */
export async function startPostgres(options: PostgresOptions = {}): Promise<StartedPostgres> {
  const host = options.host ?? testHost();
  const user = postgresUser();
  const dir = trackDir(mkdtempSync(join(tmpdir(), 'bench-pg-')));
  chownSync(dir, user.uid, user.gid);
  const dataDir = join(dir, 'data');
  try {
    await run(join(PG_BIN, 'initdb'), ['-D', dataDir, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--locale=C', '--no-sync'], { uid: user.uid, gid: user.gid, env: { PATH: process.env.PATH ?? '/usr/bin:/bin' } });
    const endpoint: DbEndpoint = { name: options.name, host, port: await freePort(host) };
    appendFileSync(join(dataDir, 'postgresql.conf'), serverConf(endpoint, dir));
    writeFileSync(join(dataDir, 'pg_hba.conf'), 'local all all trust\nhost all all 127.0.0.0/8 trust\nhost replication all 127.0.0.0/8 trust\n');
    const child = await startServer(dataDir, endpoint, user);
    const h = handle(dir, endpoint, child);
    const c = new pg.Client({ host, port: endpoint.port, user: 'postgres', database: 'postgres' });
    await c.connect();
    try {
      await c.query(`CREATE ROLE ${PG_CREDENTIALS.user} LOGIN PASSWORD '${PG_CREDENTIALS.password}'`);
      await c.query(`CREATE DATABASE ${PG_CREDENTIALS.database} OWNER ${PG_CREDENTIALS.user}`);
    } catch (e) {
      await h.stop();
      throw e;
    } finally {
      await c.end();
    }
    return h;
  } catch (e) {
    rmSync(dir, { recursive: true, force: true });
    throw e;
  }
}

/** Starts a streaming replica of `primary` (pg_basebackup -R -X stream); ~1 s. */
export async function startReplica(primary: StartedPostgres, options: PostgresOptions = {}): Promise<StartedPostgres> {
  const host = options.host ?? primary.endpoint.host;
  const user = postgresUser();
  const dir = trackDir(mkdtempSync(join(tmpdir(), 'bench-pg-replica-')));
  chownSync(dir, user.uid, user.gid);
  const dataDir = join(dir, 'data');
  try {
    await run(
      join(PG_BIN, 'pg_basebackup'),
      ['-h', primary.endpoint.host, '-p', String(primary.endpoint.port), '-U', 'postgres', '-D', dataDir, '-R', '-X', 'stream', '-c', 'fast'],
      { uid: user.uid, gid: user.gid, env: { PATH: process.env.PATH ?? '/usr/bin:/bin' } },
    );
    const endpoint: DbEndpoint = { name: options.name, host, port: await freePort(host) };
    // the copied postgresql.conf carries the primary's port and socket dir: later lines win
    appendFileSync(join(dataDir, 'postgresql.conf'), serverConf(endpoint, dir));
    const child = await startServer(dataDir, endpoint, user);
    return handle(dir, endpoint, child);
  } catch (e) {
    rmSync(dir, { recursive: true, force: true });
    throw e;
  }
}
