// Redis as a cache or a session store: no persistence (a restarted cache starts cold, as a real
// one that lost its host does), bound to its host's loopback address only, and a password
// (requirepass) drawn per run: anyone on a shared machine can reach a loopback port.
import { writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { join } from 'node:path';
import { z } from 'zod';
import { waitFor } from '../../harness/runtime/wait.ts';
import type { Endpoint } from '../../harness/topology/plan.ts';
import { REDIS_PASSWORD } from '../app/config.ts';
import type { ComponentKind } from './types.ts';

/** A Redis takes no config of its own: a cache and a session store differ only by their role. */
const redisConfig = z.object({ kind: z.literal('redis') }).strict();
declare module '../../harness/topology/types.ts' {
  interface ServiceConfigs {
    redis: Omit<z.infer<typeof redisConfig>, 'kind'>;
  }
}

/**
 * The config file the recipe writes into the service's directory (mode 0600): it holds the
 * password. Not `*.conf`: the runtimes copy a service's config files (*.conf, *.cfg, ...) into the
 * run directory beside the results, and this one must stay where only its owner can read it.
 */
export const REDIS_CONFIG_FILE = 'requirepass.secret';

/** redis.conf: only the password. It lives in a file, never on the command line, which any
 *  user of the machine can read in /proc/<pid>/cmdline. Pure. */
export function renderRedisConfig(password: string): string {
  // redis.conf takes a quoted string; the run's passwords are base64url, so no quote can occur
  if (!/^[A-Za-z0-9_-]+$/.test(password)) throw new Error('renderRedisConfig: the password must be base64url');
  return ['# rendered by targets/services/redis.ts; mode 0600', `requirepass "${password}"`, ''].join('\n');
}

/** The command line of one Redis, after its config file's path. Pure. */
export function redisArgs(address: Endpoint, dir: string): string[] {
  return [
    '--bind', address.host,
    '--port', String(address.port),
    '--save', '',
    '--appendonly', 'no',
    // a replica link otherwise waits 5 s before the first sync
    '--repl-diskless-sync-delay', '0',
    '--dir', dir,
    '--daemonize', 'no',
    '--logfile', '',
  ];
}

/**
 * Sends AUTH (when given a password) and PING on a fresh connection; resolves on +PONG. A Redis
 * without that password answers AUTH with an error, which rejects: the check proves the password.
 */
export function redisPing(address: Endpoint, timeoutMs = 1_000, password: string | null = REDIS_PASSWORD): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: address.host, port: address.port });
    const expected = password === null ? 1 : 2;
    let reply = '';
    const done = (err?: Error) => {
      clearTimeout(timer);
      socket.destroy();
      if (err) reject(err);
      else resolve();
    };
    const timer = setTimeout(() => done(new Error('no PONG in time')), timeoutMs);
    socket.once('connect', () => {
      // the password as a RESP bulk string: no inline-command parsing of its characters
      const auth = password === null ? '' : `*2\r\n$4\r\nAUTH\r\n$${Buffer.byteLength(password)}\r\n${password}\r\n`;
      socket.write(`${auth}PING\r\n`);
    });
    socket.on('data', (d: Buffer) => {
      reply += d.toString();
      const lines = reply.split('\r\n');
      const first = lines[0]!;
      if (lines.length > 1 && first.startsWith('-')) return done(new Error(`${password === null ? 'PING' : 'AUTH'} answered ${first}`));
      if (lines.length <= expected) return;
      const pong = lines[expected - 1]!;
      // "-LOADING" while a replica loads its dataset: not ready yet
      done(pong.startsWith('+PONG') ? undefined : new Error(`PING answered ${pong}`));
    });
    socket.once('error', (e) => done(e));
  });
}

export const redisRecipe: ComponentKind = {
  kind: 'redis',
  config: redisConfig,
  ports: { main: 6379 },
  tier: 'cache',
  requires: [
    {
      binary: 'redis-server',
      debianPackage: 'redis-server',
      inImage: '/usr/local/bin/redis-server',
      doctor: { name: 'Redis', neededFor: 'sessions and cache (phase 3+)', versionArgs: ['--version'] },
    },
  ],
  image: { official: 'redis:7' },
  exporter: 'redis-exporter',
  async prepare(ctx) {
    // 0600, owned by the harness's user, who runs redis-server natively; in a container Redis
    // runs as root (harness/runtime/docker/kinds.ts), which reads it without it being shared
    await writeFile(join(ctx.dir, REDIS_CONFIG_FILE), renderRedisConfig(REDIS_PASSWORD), { mode: 0o600 });
  },
  launch(ctx) {
    return { command: ctx.bin('redis-server'), args: [join(ctx.dir, REDIS_CONFIG_FILE), ...redisArgs(ctx.service.address, ctx.dir)], cwd: ctx.dir };
  },
  async ready(ctx) {
    await waitFor.until(`PING -> PONG at ${ctx.service.address.host}:${ctx.service.address.port}`, async (left) => {
      await redisPing(ctx.service.address, Math.min(left, 1_000));
      return true;
    }, { timeoutMs: 15_000, signal: ctx.signal });
  },
};
