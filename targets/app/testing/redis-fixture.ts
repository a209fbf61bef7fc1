// A throwaway redis-server for one test: loopback address, free port, no persistence, and the
// run's password (requirepass in a 0600 config file), as the redis recipe starts every Redis.
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REDIS_PASSWORD, type DbEndpoint } from '../config.ts';
import { REDIS_CONFIG_FILE, renderRedisConfig } from '../../services/redis.ts';
import { freePort, spawnTracked, testHost, stopChild, trackDir, untrackDir, waitUntil } from './fixture-util.ts';

export interface StartedRedis extends AsyncDisposable {
  endpoint: DbEndpoint;
  readonly pid: number;
  /** SIGKILL: the abrupt outage a drill would cause */
  kill(): Promise<void>;
  /** SIGSTOP / SIGCONT: a hung server that accepts connections and never answers */
  signal(sig: 'SIGSTOP' | 'SIGCONT'): void;
  /** starts it again on the same address (empty: nothing is persisted) */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

/** Sends AUTH and PING over a raw socket; true on +PONG. */
function ping(endpoint: DbEndpoint): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(endpoint.port, endpoint.host);
    const done = (ok: boolean) => {
      s.destroy();
      resolve(ok);
    };
    s.setTimeout(500, () => done(false));
    s.once('error', () => done(false));
    let reply = '';
    s.on('data', (d) => {
      reply += d.toString();
      if (reply.split('\r\n').length > 2) done(reply.startsWith('+OK\r\n+PONG'));
    });
    s.write(`AUTH ${REDIS_PASSWORD}\r\nPING\r\n`);
  });
}

/** Starts redis-server on `host` (default: this worker's testHost()); ~50 ms. */
export async function startRedis(options: { host?: string; name?: string } = {}): Promise<StartedRedis> {
  const host = options.host ?? testHost();
  const dir = trackDir(mkdtempSync(join(tmpdir(), 'bench-redis-')));
  const endpoint: DbEndpoint = { name: options.name, host, port: await freePort(host) };
  let child: ChildProcess | null = null;
  const config = join(dir, REDIS_CONFIG_FILE);
  writeFileSync(config, renderRedisConfig(REDIS_PASSWORD), { mode: 0o600 });
  const start = async () => {
    const c = spawnTracked('redis-server', [config, '--bind', host, '--port', String(endpoint.port), '--save', '', '--appendonly', 'no', '--dir', dir, '--loglevel', 'warning'], { stdio: 'ignore' });
    child = c;
    await waitUntil(`redis on ${host}:${endpoint.port}`, 5_000, async () => {
      if (c.exitCode !== null) throw new Error(`redis-server exited ${c.exitCode}`);
      return ping(endpoint);
    });
  };
  await start();
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    if (child) await stopChild(child, 'SIGTERM');
    rmSync(dir, { recursive: true, force: true });
    untrackDir(dir);
  };
  return {
    endpoint,
    get pid() {
      return child?.pid ?? 0;
    },
    async kill() {
      if (child) await stopChild(child, 'SIGKILL');
    },
    signal(sig) {
      child?.kill(sig);
    },
    async restart() {
      if (child) await stopChild(child, 'SIGKILL');
      await start();
    },
    stop,
    [Symbol.asyncDispose]: stop,
  };
}
