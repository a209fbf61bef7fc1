// The socket client against a real HAProxy with a short `timeout http-keep-alive`, in front of a
// Node server that announces Fastify's `Keep-Alive: timeout=72`: the announcement passes through,
// HAProxy closes first. A request sent on a connection HAProxy has just timed out is retried (GET)
// or counted as stale_keepalive (anything else); an idle limit below HAProxy's avoids the race.
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveBinary } from '../../runtime/binaries.ts';
import { waitFor } from '../../runtime/wait.ts';
import { haproxyRecipe, renderHaproxyConfig } from '../../../targets/services/haproxy.ts';
import { errorKind } from '../engine.ts';
import { Aggregation } from '../aggregation.ts';
import { SocketTransport } from './socket.ts';
import type { ResponseHandler } from './types.ts';

const IP = '127.215.1.1';
const LB = { host: IP, port: 18300 };
const APP = { host: IP, port: 18301 };
const STATS = 18302;
const KEEP_ALIVE_MS = 1000;

let app: Server;
let haproxy: ChildProcess | null = null;
let dir = '';
const transports: SocketTransport[] = [];

beforeAll(async () => {
  app = createServer((_req, res) => res.end('ok'));
  // Fastify's default: the answer says Keep-Alive: timeout=72
  app.keepAliveTimeout = 72_000;
  await new Promise<void>((r) => app.listen(APP.port, APP.host, r));
  dir = await mkdtemp(join(tmpdir(), 'socket-haproxy-'));
  const cfg = renderHaproxyConfig({ listen: LB, statsPort: STATS, servers: [{ name: 'app-1', address: APP }] }).replace(
    /timeout http-keep-alive \d+s/,
    `timeout http-keep-alive ${KEEP_ALIVE_MS}ms`,
  );
  expect(cfg).toContain(`timeout http-keep-alive ${KEEP_ALIVE_MS}ms`);
  await writeFile(join(dir, 'haproxy.cfg'), cfg);
  const bin = resolveBinary(haproxyRecipe.requires[0]!, process.cwd(), process.env.PATH);
  if (!bin) throw new Error('haproxy is not installed (run: bench setup)');
  haproxy = spawn(bin, ['-db', '-f', join(dir, 'haproxy.cfg')], { stdio: 'ignore' });
  await waitFor.http(`http://${IP}:${STATS}/metrics`, { status: 200, timeoutMs: 10_000 });
  await waitFor.http(`http://${LB.host}:${LB.port}/`, { status: 200, timeoutMs: 10_000 });
}, 30_000);

afterAll(async () => {
  await Promise.all(transports.map((t) => t.close()));
  if (haproxy?.pid) {
    const gone = new Promise((r) => haproxy!.once('exit', r));
    haproxy.kill('SIGTERM');
    await gone;
  }
  await new Promise((r) => app?.close(r));
  if (dir) await rm(dir, { recursive: true, force: true });
});

type Outcome = { status: number } | { err: Error };

function send(t: SocketTransport, method: 'GET' | 'PUT'): Promise<Outcome> {
  return new Promise((resolve) => {
    const h: ResponseHandler = { wantSid: false, link: null, onResponse: (status) => resolve({ status }), onFailure: (err) => resolve({ err }) };
    t.send(t.prepare(method, '/api/users/1', method === 'PUT' ? '{"name":"a"}' : null, null), h);
  });
}

/**
 * One request, then the connection idles past HAProxy's keep-alive timeout while the event loop is
 * busy (as under load), so the close has reached the kernel and not yet the client; then the next
 * request goes out on it.
 */
async function afterBusyIdle(t: SocketTransport, method: 'GET' | 'PUT'): Promise<Outcome> {
  expect(await send(t, 'GET')).toEqual({ status: 200 });
  await new Promise((r) => setTimeout(r, 300));
  const until = performance.now() + KEEP_ALIVE_MS + 300;
  while (performance.now() < until) {
    /* the harness's event loop is busy: HAProxy's FIN waits unread */
  }
  return send(t, method);
}

describe('SocketTransport through HAProxy (timeout http-keep-alive 1 s)', () => {
  it('a GET on a connection HAProxy just closed is sent again on a fresh one and succeeds', async () => {
    const t = new SocketTransport(`http://${LB.host}:${LB.port}`, 2, { idleMs: 10_000 });
    transports.push(t);
    expect(await afterBusyIdle(t, 'GET')).toEqual({ status: 200 });
    expect(t.staleRetries).toBe(1);
    expect(t.staleFailures).toBe(0);
  });

  it('a PUT on such a connection is not sent twice: it fails as stale_keepalive, not as the system\'s error', async () => {
    const t = new SocketTransport(`http://${LB.host}:${LB.port}`, 2, { idleMs: 10_000 });
    transports.push(t);
    const r = await afterBusyIdle(t, 'PUT');
    expect('err' in r && errorKind(r.err)).toBe('stale_keepalive');
    expect(t.staleFailures).toBe(1);
    // counted as the engine counts it: its own figure, in neither errors nor the rates
    const agg = new Aggregation(['update'], undefined, () => 1, () => {});
    agg.start(0);
    agg.finished(0, 0, 'err' in r ? errorKind(r.err) : null, -1, 100);
    expect(agg.results([0], 1).totals).toMatchObject({ requests: 0, errors: 0, staleKeepalive: 1, failRate: null });
  });

  it('with an idle limit below HAProxy\'s keep-alive timeout the race never happens', async () => {
    const t = new SocketTransport(`http://${LB.host}:${LB.port}`, 2, { idleMs: KEEP_ALIVE_MS / 2 });
    transports.push(t);
    expect(await afterBusyIdle(t, 'PUT')).toEqual({ status: 200 });
    expect(t.staleRetries + t.staleFailures).toBe(0);
  });
});
