// The engine's transport on undici (a Pool per origin, pipelining 1): the fallback to the socket
// transport, and what the engine used first.
import { connect as netConnect, type Socket } from 'node:net';
import { buildConnector, Pool } from 'undici';
import type { Dispatcher } from 'undici';
import type { PreparedRequest, ResponseHandler, Transport } from './types.ts';
import { DEFAULT_IDLE_MS } from './socket.ts';

const JSON_HEADERS = ['content-type', 'application/json'];

// The undici handler of one request. The legacy handler methods (onConnect/onHeaders/onData/
// onComplete/onError) are undici 7's internal interface: the newer onRequestStart/onResponse*
// methods are adapted onto them at a cost of an object and a header parse per request.
class Exchange implements Dispatcher.DispatchHandler {
  status = 0;
  sid: string | null = null;
  abortFn: ((err?: Error) => void) | null = null;
  aborted: Error | null = null;

  constructor(readonly h: ResponseHandler) {}

  onConnect(abort: (err?: Error) => void): void {
    this.abortFn = abort;
    if (this.aborted) abort(this.aborted);
  }

  onHeaders(statusCode: number, rawHeaders: Buffer[]): boolean {
    if (statusCode < 200) return true; // 1xx: the final status follows
    this.status = statusCode;
    if (this.h.wantSid) this.sid = findSessionCookie(rawHeaders);
    return true;
  }

  onData(): boolean {
    return true;
  }

  onComplete(): void {
    if (this.aborted) return;
    this.h.link = null;
    // client regions need the socket transport (engine.ts): no serving region read here
    this.h.onResponse(this.status, this.sid, null);
  }

  onError(err: Error): void {
    if (this.aborted) return;
    this.h.link = null;
    this.h.onFailure(err);
  }
}

function findSessionCookie(raw: Buffer[]): string | null {
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i];
    if (name.length !== 10 || name.toString('latin1').toLowerCase() !== 'set-cookie') continue;
    const m = /(?:^|;\s*)sid=([^;]*)/.exec(raw[i + 1].toString('latin1'));
    if (m) return m[1];
  }
  return null;
}

/** undici Pool for one origin, its connections handed TCP sockets opened by warmUp() first. */
export class UndiciTransport implements Transport {
  readonly pool: Pool;
  /** TCP connections opened by warmUp() before the schedule starts, handed to undici first */
  private spare: Socket[] = [];

  constructor(
    readonly url: string,
    readonly connections: number,
    timeoutMs: number,
  ) {
    const connector = buildConnector({ timeout: timeoutMs });
    this.pool = new Pool(url, {
      connections,
      pipelining: 1,
      // The engine enforces its own timeout from the intended send time; undici's are a backstop.
      headersTimeout: timeoutMs + 1000,
      bodyTimeout: timeoutMs + 1000,
      // the socket client's idle limit, also over a longer announcement (a balancer may close first)
      keepAliveTimeout: DEFAULT_IDLE_MS,
      keepAliveMaxTimeout: DEFAULT_IDLE_MS,
      connect: (opts, callback) => {
        const socket = this.takeSpare();
        // undici expects the callback after connect() returns, as from a 'connect' event.
        if (socket) queueMicrotask(() => callback(null, socket));
        else connector(opts, callback);
      },
    });
  }

  prepare(method: string, path: string, body: string | null, cookie: string | null): PreparedRequest {
    // undici does not modify dispatch options, so one prepared request may be sent many times.
    const opts: Dispatcher.DispatchOptions =
      body !== null ? { path, method: method as Dispatcher.HttpMethod, headers: JSON_HEADERS, body } : cookie !== null ? { path, method: method as Dispatcher.HttpMethod, headers: ['cookie', cookie] } : { path, method: method as Dispatcher.HttpMethod };
    return opts as unknown as PreparedRequest;
  }

  send(req: PreparedRequest, h: ResponseHandler): void {
    const x = new Exchange(h);
    h.link = x;
    // dispatch() reports synchronous failures through onError, so nothing throws here.
    this.pool.dispatch(req as unknown as Dispatcher.DispatchOptions, x);
  }

  abort(h: ResponseHandler, err: Error): void {
    const x = h.link;
    if (!(x instanceof Exchange)) return;
    h.link = null;
    x.aborted = err;
    // Aborting destroys the connection, as it must: the answer may still be on its way.
    x.abortFn?.(err);
  }

  async warmUp(n: number, timeoutMs: number): Promise<number> {
    const { hostname, port } = new URL(this.url);
    const host = hostname.startsWith('[') ? hostname.slice(1, -1) : hostname;
    const open = (): Promise<Socket | null> =>
      new Promise((resolve) => {
        const socket = netConnect({ host, port: Number(port || 80) });
        socket.on('error', () => resolve(null));
        socket.setTimeout(timeoutMs, () => {
          socket.destroy();
          resolve(null);
        });
        socket.once('connect', () => {
          socket.setTimeout(0);
          // what undici's own connector sets
          socket.setNoDelay(true);
          socket.setKeepAlive(true, 60_000);
          resolve(socket);
        });
      });
    const sockets = await Promise.all(Array.from({ length: n }, open));
    for (const s of sockets) if (s) this.spare.push(s);
    return this.spare.length;
  }

  private takeSpare(): Socket | null {
    for (let s = this.spare.pop(); s; s = this.spare.pop()) {
      if (!s.destroyed && s.readyState === 'open') return s;
    }
    return null;
  }

  async close(): Promise<void> {
    for (const s of this.spare) s.destroy();
    this.spare = [];
    await this.pool.destroy().catch(() => undefined);
  }
}
