// The socket transport against raw TCP servers on 127.0.0.1 that answer byte by byte as a test
// needs: keep-alive reuse, closes and resets mid-answer, refused connections, aborts.
import { createServer, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { errorKind } from '../engine.ts';
import { plan, reach, serviceOf } from '../../topology/plan.ts';
import { phase3 } from '../../../targets/phases/phase-3.ts';
import { haproxyInputFor, renderHaproxyConfig } from '../../../targets/services/haproxy.ts';
import { renderNginxConfig } from '../../../targets/services/nginx.ts';
import { DEFAULT_IDLE_MS, DIRECT_WRITES, SocketTransport, type SocketTransportOptions } from './socket.ts';
import type { ResponseHandler } from './types.ts';

type Outcome = { status: number; sid: string | null } | { err: Error };

interface Fixture {
  url: string;
  server: Server;
  /** every request's raw bytes, in arrival order */
  requests: string[];
  /** connections accepted */
  accepted: () => number;
}

const servers: Server[] = [];
const transports: SocketTransport[] = [];

afterEach(async () => {
  await Promise.all(transports.splice(0).map((t) => t.close()));
  for (const s of servers.splice(0)) await new Promise((r) => s.close(r));
});

/** A server that hands each complete request (head + Content-Length body) to `answer`. */
async function serve(answer: (socket: Socket, request: string, n: number) => void): Promise<Fixture> {
  const requests: string[] = [];
  const sockets = new Set<Socket>();
  let accepted = 0;
  const server = createServer((socket) => {
    accepted++;
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    let pending = '';
    socket.setEncoding('latin1');
    socket.on('data', (chunk: string) => {
      pending += chunk;
      for (;;) {
        const headEnd = pending.indexOf('\r\n\r\n');
        if (headEnd < 0) return;
        const len = Number(/content-length: (\d+)/i.exec(pending.slice(0, headEnd))?.[1] ?? 0);
        if (pending.length < headEnd + 4 + len) return;
        const request = pending.slice(0, headEnd + 4 + len);
        pending = pending.slice(request.length);
        requests.push(request);
        answer(socket, request, requests.length);
      }
    });
  });
  const close = server.close.bind(server);
  server.close = ((cb?: (err?: Error) => void) => {
    for (const s of sockets) s.destroy();
    return close(cb);
  }) as typeof server.close;
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  servers.push(server);
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server, requests, accepted: () => accepted };
}

function transport(url: string, connections = 4, options: SocketTransportOptions = {}): SocketTransport {
  const t = new SocketTransport(url, connections, options);
  transports.push(t);
  return t;
}

function handler(wantSid = false): { h: ResponseHandler; done: Promise<Outcome> } {
  let settle!: (o: Outcome) => void;
  const done = new Promise<Outcome>((r) => (settle = r));
  let calls = 0;
  const h: ResponseHandler = {
    wantSid,
    link: null,
    onResponse(status, sid) {
      if (++calls > 1) throw new Error('handler called twice');
      settle({ status, sid });
    },
    onFailure(err) {
      if (++calls > 1) throw new Error('handler called twice');
      settle({ err });
    },
  };
  return { h, done };
}

function get(t: SocketTransport, path = '/x', wantSid = false): Promise<Outcome> {
  const { h, done } = handler(wantSid);
  t.send(t.prepare('GET', path, null, null), h);
  return done;
}

function put(t: SocketTransport, path = '/x'): Promise<Outcome> {
  const { h, done } = handler();
  t.send(t.prepare('PUT', path, '{"name":"a"}', null), h);
  return done;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function waitFor(cond: () => boolean, timeoutMs = 2000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 5));
  }
}

const ok = (body = 'hello', extra = '') => `HTTP/1.1 200 OK\r\nContent-Length: ${body.length}\r\n${extra}\r\n${body}`;

describe('SocketTransport', () => {
  it('writes the request as HTTP/1.1 with Host, cookie, JSON body and its length', async () => {
    const f = await serve((s) => s.write(ok()));
    const t = transport(f.url);
    const { h, done } = handler();
    t.send(t.prepare('POST', '/api/login', '{"id":7}', 'sid=s1'), h);
    expect(await done).toEqual({ status: 200, sid: null });
    const host = f.url.slice('http://'.length);
    expect(f.requests[0]).toBe(`POST /api/login HTTP/1.1\r\nHost: ${host}\r\nCookie: sid=s1\r\nContent-Type: application/json\r\nContent-Length: 8\r\n\r\n{"id":7}`);
    await get(t, '/a');
    expect(f.requests[1]).toBe(`GET /a HTTP/1.1\r\nHost: ${host}\r\n\r\n`);
    // a body beyond ASCII goes out as UTF-8 with its length in bytes
    const u = handler();
    t.send(t.prepare('PUT', '/api/users/1', '{"name":"é"}', null), u.h);
    await u.done;
    expect(Buffer.from(f.requests[2], 'latin1').toString('utf8')).toBe(`PUT /api/users/1 HTTP/1.1\r\nHost: ${host}\r\nContent-Type: application/json\r\nContent-Length: 13\r\n\r\n{"name":"é"}`);
  });

  it('writes on the handle directly; a request the kernel cannot take at once still arrives whole, and the next after it', async () => {
    // this Node has the stream binding: the direct path is the one under test
    expect(DIRECT_WRITES).toBe(true);
    // the server reads nothing for 300 ms, so 16 MB cannot fit the socket buffers: the write is
    // left to libuv to finish, with its bytes kept alive
    const received: Array<{ bytes: number; head: string }> = [];
    const server = createServer((socket) => {
      socket.pause();
      socket.on('error', () => undefined);
      let buf = Buffer.alloc(0);
      setTimeout(() => socket.resume(), 300);
      socket.on('data', (chunk: Buffer) => {
        buf = Buffer.concat([buf, chunk]);
        for (;;) {
          const headEnd = buf.indexOf('\r\n\r\n');
          if (headEnd < 0) return;
          const len = Number(/content-length: (\d+)/i.exec(buf.subarray(0, headEnd).toString('latin1'))?.[1] ?? 0);
          if (buf.length < headEnd + 4 + len) return;
          received.push({ bytes: headEnd + 4 + len, head: buf.subarray(0, headEnd).toString('latin1').split('\r\n')[0]! });
          buf = buf.subarray(headEnd + 4 + len);
          socket.write(ok());
        }
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    servers.push(server);
    const t = transport(`http://127.0.0.1:${(server.address() as AddressInfo).port}`, 2);
    expect(await t.warmUp(2, 2000)).toBe(2); // connected: the next sends go on the handle
    const body = `"${'x'.repeat(16 * 1024 * 1024)}"`;
    // two at once, on two connections: two writes pending together, each with its own request
    // object (with one shared, tried on a copy, Node aborts: the binding asserts the object is free)
    const big = [handler(), handler()];
    for (const b of big) t.send(t.prepare('POST', '/big', body, null), b.h);
    expect(t.partialWrites).toBe(2);
    expect(await Promise.all(big.map((b) => b.done))).toEqual([{ status: 200, sid: null }, { status: 200, sid: null }]);
    expect(await get(t, '/after')).toEqual({ status: 200, sid: null });
    // negative control: a small request went out whole at once
    expect(t.partialWrites).toBe(2);
    expect(received.map((r) => r.head)).toEqual(['POST /big HTTP/1.1', 'POST /big HTTP/1.1', 'GET /after HTTP/1.1']);
    expect(received.slice(0, 2).every((r) => r.bytes > body.length)).toBe(true);
  });

  it('keeps the connection alive: sequential requests share one, concurrent ones open more up to the cap', async () => {
    const f = await serve((s) => setTimeout(() => s.write(ok()), 20));
    const t = transport(f.url, 2);
    for (let i = 0; i < 3; i++) expect(await get(t)).toEqual({ status: 200, sid: null });
    expect(f.accepted()).toBe(1);
    const all = await Promise.all([get(t), get(t), get(t), get(t)]);
    expect(all.every((o) => 'status' in o && o.status === 200)).toBe(true);
    // two on the wire at a time: the other two waited for a free connection, none was opened past 2
    expect(f.accepted()).toBe(2);
    expect(f.requests.length).toBe(7);
  });

  it('warms up connections without sending a request', async () => {
    const f = await serve((s) => s.write(ok()));
    const t = transport(f.url, 8);
    expect(await t.warmUp(3, 1000)).toBe(3);
    await waitFor(() => f.accepted() === 3);
    expect(f.requests.length).toBe(0);
    await get(t);
    expect(f.accepted()).toBe(3);
  });

  it('reads a chunked answer a server writes in pieces, and a login cookie', async () => {
    const f = await serve((s) => {
      s.write('HTTP/1.1 200 OK\r\nSet-Cookie: sid=s9; Path=/\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nab');
      setTimeout(() => s.write('cd\r\n'), 10);
      setTimeout(() => s.write('0\r\n\r\n'), 20);
    });
    const t = transport(f.url);
    expect(await get(t, '/login', true)).toEqual({ status: 200, sid: 's9' });
    // the connection is reusable after a chunked answer
    expect(await get(t, '/again', true)).toEqual({ status: 200, sid: 's9' });
    expect(f.accepted()).toBe(1);
  });

  it('answers 204 and 304 without a body, then reuses the connection', async () => {
    const f = await serve((s, _r, n) => s.write(n === 1 ? 'HTTP/1.1 204 No Content\r\n\r\n' : n === 2 ? 'HTTP/1.1 304 Not Modified\r\nContent-Length: 99\r\n\r\n' : ok('', '')));
    const t = transport(f.url);
    expect(await get(t)).toEqual({ status: 204, sid: null });
    expect(await get(t)).toEqual({ status: 304, sid: null });
    expect(await get(t)).toEqual({ status: 200, sid: null });
    expect(f.accepted()).toBe(1);
  });

  it('opens a new connection after a server that closes after its answer (announced or not)', async () => {
    const f = await serve((s, _r, n) => {
      if (n === 1) s.end(ok('x', 'Connection: close\r\n'));
      else s.end(ok('y')); // keep-alive on paper, then closed
    });
    const t = transport(f.url);
    expect(await get(t)).toEqual({ status: 200, sid: null });
    expect(await get(t)).toEqual({ status: 200, sid: null });
    // let the silent close land before the next request
    await new Promise((r) => setTimeout(r, 50));
    expect(await get(t)).toEqual({ status: 200, sid: null });
    expect(f.accepted()).toBe(3);
    expect(f.requests.length).toBe(3);
  });

  it("does not reuse a connection past the server's announced idle timeout (less a margin)", async () => {
    // timeout=1 leaves no time once the 1 s margin is taken off: every request gets a new connection
    const f = await serve((s) => s.write(ok('x', 'Keep-Alive: timeout=1\r\n')));
    const t = transport(f.url);
    expect(await get(t)).toEqual({ status: 200, sid: null });
    expect(await get(t)).toEqual({ status: 200, sid: null });
    expect(f.accepted()).toBe(2);
    const g = await serve((s) => s.write(ok('x', 'Keep-Alive: timeout=5\r\n')));
    const u = transport(g.url);
    await get(u);
    await get(u);
    expect(g.accepted()).toBe(1);
  });

  it('caps the idle time even when the server announces a longer one (a balancer may close first)', async () => {
    // Fastify says timeout=72 through HAProxy, which closes idle client connections after 10 s
    const f = await serve((s) => s.write(ok('x', 'Keep-Alive: timeout=72\r\n')));
    const t = transport(f.url, 4, { idleMs: 100 });
    await get(t);
    await get(t);
    expect(f.accepted()).toBe(1);
    await sleep(200);
    await get(t);
    expect(f.accepted()).toBe(2);
  });

  it('gives warmed connections an idle limit too', async () => {
    const f = await serve((s) => s.write(ok()));
    const t = transport(f.url, 4, { idleMs: 100 });
    expect(await t.warmUp(1, 1000)).toBe(1);
    await waitFor(() => f.accepted() === 1);
    await sleep(200);
    expect(await get(t)).toEqual({ status: 200, sid: null });
    // the warmed connection had idled past the limit: a new one carried the request
    expect(f.accepted()).toBe(2);
    expect(t.staleRetries).toBe(0);
  });

  it('sends a GET again, once, on a fresh connection when a reused one closes before any byte', async () => {
    // the server times the idle connection out just as the second request arrives on it
    const f = await serve((s, _r, n) => (n === 2 ? s.destroy() : s.write(ok())));
    const t = transport(f.url);
    expect(await get(t)).toEqual({ status: 200, sid: null });
    expect(await get(t)).toEqual({ status: 200, sid: null });
    expect(f.accepted()).toBe(2);
    expect(f.requests.length).toBe(3);
    expect(t.staleRetries).toBe(1);
  });

  it('fails anything but a GET on a stale reused connection as stale_keepalive, not sent twice', async () => {
    const f = await serve((s, _r, n) => (n === 2 ? s.destroy() : s.write(ok())));
    const t = transport(f.url);
    expect(await put(t)).toEqual({ status: 200, sid: null });
    const stale = await put(t);
    expect('err' in stale && errorKind(stale.err)).toBe('stale_keepalive');
    expect(f.requests.length).toBe(2);
    expect(t.staleFailures).toBe(1);
    // a warmed connection counts as reused: its first request may meet the same race
    const g = await serve((s) => s.destroy());
    const u = transport(g.url);
    await u.warmUp(1, 1000);
    const warmStale = await put(u);
    expect('err' in warmStale && errorKind(warmStale.err)).toBe('stale_keepalive');
  });

  it('a fresh connection closed before any byte is the server\'s failure: connection_closed, no retry', async () => {
    const f = await serve((s) => s.destroy());
    const t = transport(f.url);
    const r = await get(t);
    expect('err' in r && errorKind(r.err)).toBe('connection_closed');
    expect(f.requests.length).toBe(1);
    expect(t.staleRetries).toBe(0);
    // and a GET whose retry meets a dead server fails as the system's failure, not stale
    const g = await serve((s, _r, n) => (n === 1 ? s.write(ok()) : s.destroy()));
    const u = transport(g.url);
    await get(u);
    const again = await get(u);
    expect('err' in again && errorKind(again.err)).toBe('connection_closed');
    expect(g.requests.length).toBe(3);
  });

  it("keeps its default idle limit below every keep-alive timeout of the reference system's configs", () => {
    const p = plan(phase3.topology({ users: 1000, appServers: 2, replicas: 0, shards: 1, shardStrategy: 'range' }), { runId: 'r', slot: 5, proxies: true, prometheus: false });
    const lb = serviceOf(p, 'lb');
    const haproxy = renderHaproxyConfig(haproxyInputFor(lb, (to) => reach(p, 'lb', to)));
    const nginx = renderNginxConfig({ dir: '/x', listen: { host: '127.5.9.1', port: 8081 }, origin: { host: '127.5.0.1', port: 1 } });
    const seconds = (cfg: string, re: RegExp) => Number(re.exec(cfg)?.[1]);
    const limits = [seconds(haproxy, /timeout http-keep-alive (\d+)s/), seconds(haproxy, /timeout client (\d+)s/), seconds(nginx, /keepalive_timeout (\d+)s/), 72 /* Fastify's default keepAliveTimeout */];
    for (const s of limits) {
      expect(s).toBeGreaterThan(0);
      expect(DEFAULT_IDLE_MS).toBeLessThan(s * 1000 - 1000);
    }
  });

  it('reads an answer without a length until the server closes', async () => {
    const f = await serve((s) => s.end('HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nuntil the end'));
    const t = transport(f.url);
    expect(await get(t)).toEqual({ status: 200, sid: null });
  });

  it('fails a request when the server closes or resets mid-answer, and names the failure', async () => {
    const f = await serve((s, _r, n) => {
      s.write('HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\npartial');
      if (n === 1) setTimeout(() => s.end(), 10);
      else setTimeout(() => s.resetAndDestroy(), 10);
    });
    const t = transport(f.url);
    const closed = await get(t);
    expect('err' in closed && errorKind(closed.err)).toBe('connection_closed');
    const reset = await get(t);
    expect('err' in reset && errorKind(reset.err)).toBe('connection_reset');
  });

  it('fails with connection_refused when nothing listens', async () => {
    const f = await serve(() => undefined);
    const url = f.url;
    await new Promise((r) => f.server.close(r));
    servers.length = 0;
    const t = transport(url);
    const o = await get(t);
    expect('err' in o && errorKind(o.err)).toBe('connection_refused');
  });

  it('fails a response it cannot parse and drops the connection', async () => {
    const f = await serve((s, _r, n) => s.write(n === 1 ? 'HTTX/1.1 200 OK\r\n\r\n' : ok()));
    const t = transport(f.url);
    const bad = await get(t);
    expect('err' in bad && errorKind(bad.err)).toBe('other');
    expect(await get(t)).toEqual({ status: 200, sid: null });
    expect(f.accepted()).toBe(2);
  });

  it('aborts a request on the wire: its connection closes and its handler is never called', async () => {
    let serverSawClose!: () => void;
    const closedOnServer = new Promise<void>((r) => (serverSawClose = r));
    // the first request is never answered, the next ones are
    const f = await serve((s, _r, n) => (n === 1 ? s.once('close', serverSawClose) : s.write(ok())));
    const t = transport(f.url);
    const { h, done } = handler();
    t.send(t.prepare('GET', '/hang', null, null), h);
    await new Promise((r) => setTimeout(r, 30));
    expect(f.requests.length).toBe(1);
    t.abort(h, new Error('timed out'));
    await closedOnServer;
    const settled = await Promise.race([done.then(() => 'called'), new Promise((r) => setTimeout(() => r('not called'), 50))]);
    expect(settled).toBe('not called');
    // the slot is free again
    expect(await get(t)).toEqual({ status: 200, sid: null });
    expect(f.accepted()).toBe(2);
  });
});
