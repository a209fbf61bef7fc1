// Redis as a cache or a session store: no persistence (a restarted cache starts cold, as a real
// one that lost its host does), bound to its host's loopback address only.
import { connect } from 'node:net';
import { waitFor } from '../../harness/runtime/wait.ts';
import type { Endpoint } from '../../harness/topology/plan.ts';
import type { ServiceRecipe } from './types.ts';

/** The command line of one Redis. Pure. */
export function redisArgs(address: Endpoint, dir: string): string[] {
  return [
    '--bind', address.host,
    '--port', String(address.port),
    '--save', '',
    '--appendonly', 'no',
    // it binds one loopback address and has no password: protected mode would refuse the app
    '--protected-mode', 'no',
    // a replica link otherwise waits 5 s before the first sync
    '--repl-diskless-sync-delay', '0',
    '--dir', dir,
    '--daemonize', 'no',
    '--logfile', '',
  ];
}

/** Sends PING on a fresh connection; resolves on +PONG. */
export function redisPing(address: Endpoint, timeoutMs = 1_000): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: address.host, port: address.port });
    let reply = '';
    const done = (err?: Error) => {
      clearTimeout(timer);
      socket.destroy();
      if (err) reject(err);
      else resolve();
    };
    const timer = setTimeout(() => done(new Error('no PONG in time')), timeoutMs);
    socket.once('connect', () => socket.write('PING\r\n'));
    socket.on('data', (d: Buffer) => {
      reply += d.toString();
      if (!reply.includes('\r\n')) return;
      // "-LOADING" while a replica loads its dataset: not ready yet
      done(reply.startsWith('+PONG') ? undefined : new Error(`PING answered ${reply.trim()}`));
    });
    socket.once('error', (e) => done(e));
  });
}

export const redisRecipe: ServiceRecipe = {
  kind: 'redis',
  requires: [{ binary: 'redis-server', debianPackage: 'redis-server' }],
  launch(ctx) {
    return { command: ctx.bin('redis-server'), args: redisArgs(ctx.service.address, ctx.dir), cwd: ctx.dir };
  },
  async ready(ctx) {
    await waitFor.until(`PING -> PONG at ${ctx.service.address.host}:${ctx.service.address.port}`, async (left) => {
      await redisPing(ctx.service.address, Math.min(left, 1_000));
      return true;
    }, { timeoutMs: 15_000, signal: ctx.signal });
  },
};
