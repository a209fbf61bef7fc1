// The engine's own HTTP/1.1 client on net.Socket, for loopback targets: keep-alive connections,
// one request in flight per connection, requests written as one latin1 string (or a prebuilt
// Buffer), answers read into one shared buffer (net's `onread`: no Buffer, no stream 'data' event
// per read) and parsed in place (parser.ts). It does what the engine needs and nothing more:
// no redirects, no retries, no pipelining, no TLS.
import { connect as netConnect, type Socket } from 'node:net';
import { HttpParseError, ResponseParser } from './parser.ts';
import type { PreparedRequest, ResponseHandler, Transport } from './types.ts';

/** The server closed the connection before the answer was complete. */
export class ConnectionClosedError extends Error {
  readonly code = 'BENCH_SOCKET_CLOSED';
}

// Every read lands here and is parsed before the next one: one buffer serves every connection.
const READ_BUFFER_BYTES = 64 * 1024;
/**
 * An idle connection is not reused past the server's announced idle timeout less this margin, nor
 * past DEFAULT_IDLE_MS without an announcement (undici's rules): a request sent as the server
 * closes its end would fail through no fault of the server's.
 */
const IDLE_MARGIN_MS = 1000;
const DEFAULT_IDLE_MS = 10_000;

/** One keep-alive connection carrying at most one request. */
class Conn {
  readonly socket: Socket;
  readonly parser = new ResponseParser();
  /** the request on the wire */
  cur: ResponseHandler | null = null;
  connected = false;
  dead = false;
  /** idle connections are not reused from this time on (performance.now() ms) */
  idleUntil = Infinity;
  private err: Error | null = null;

  constructor(
    private readonly pool: SocketTransport,
    host: string,
    port: number,
  ) {
    this.socket = netConnect({
      host,
      port,
      noDelay: true,
      keepAlive: true,
      keepAliveInitialDelay: 60_000,
      onread: { buffer: pool.readBuffer, callback: (n: number, buf: Uint8Array) => this.onRead(n, buf) },
    });
    this.socket.once('connect', () => (this.connected = true));
    this.socket.on('error', (e: Error) => {
      if (this.err === null) this.err = e;
    });
    this.socket.once('close', () => this.onClose());
  }

  send(wire: string | Buffer, h: ResponseHandler): void {
    this.cur = h;
    h.link = this;
    this.parser.begin(h.wantSid);
    // A socket still connecting buffers the write until it is connected.
    if (typeof wire === 'string') this.socket.write(wire, 'latin1');
    else this.socket.write(wire);
  }

  /** Drops the request on the wire without calling it back, and the connection with it. */
  abort(): void {
    if (this.cur) this.cur.link = null;
    this.cur = null;
    this.kill();
  }

  private onRead(n: number, buf: Uint8Array): boolean {
    const h = this.cur;
    if (h === null) {
      // Bytes nobody asked for: the connection's framing is lost.
      this.kill();
      return false;
    }
    let end: number;
    try {
      end = this.parser.execute(buf, 0, n);
    } catch (err) {
      this.fail(err as HttpParseError);
      return false;
    }
    if (end < 0) return true;
    // Bytes past the answer, with nothing else asked, break the framing too: drop the connection.
    this.complete(h, this.parser.keepAlive && end === n);
    return true;
  }

  private complete(h: ResponseHandler, reuse: boolean): void {
    const status = this.parser.status;
    const sid = this.parser.sid;
    const hintS = this.parser.keepAliveTimeoutS;
    this.cur = null;
    h.link = null;
    const idleMs = hintS >= 0 ? hintS * 1000 - IDLE_MARGIN_MS : DEFAULT_IDLE_MS;
    // Released before the callback, so whatever the engine sends next may take this connection.
    if (reuse && !this.dead && idleMs > 0) {
      this.idleUntil = performance.now() + idleMs;
      this.pool.release(this);
    } else this.kill();
    h.onResponse(status, sid);
  }

  private fail(err: Error): void {
    const h = this.cur;
    this.cur = null;
    this.kill();
    if (h) {
      h.link = null;
      h.onFailure(err);
    }
  }

  /** Closes the connection now and forgets it. */
  kill(): void {
    if (this.dead) return;
    this.dead = true;
    this.pool.forget(this);
    this.socket.destroy();
  }

  private onClose(): void {
    const h = this.cur;
    if (!this.dead) {
      this.dead = true;
      this.pool.forget(this);
    }
    if (h === null) return;
    if (this.parser.endOfStream()) this.complete(h, false);
    else this.fail(this.err ?? new ConnectionClosedError('the server closed the connection before answering'));
  }
}

/** HTTP/1.1 on net.Socket for one origin (see the file comment). */
export class SocketTransport implements Transport {
  readonly readBuffer = Buffer.allocUnsafe(READ_BUFFER_BYTES);
  private readonly host: string;
  private readonly port: number;
  /** the Host header */
  private readonly authority: string;
  private readonly idle: Conn[] = [];
  /** connections open or opening, busy or idle */
  private open = 0;
  /** sends that found no connection (the engine's accounting should make this rare) */
  private waiting: Array<{ wire: string | Buffer; h: ResponseHandler }> = [];
  private closed = false;

  /** origin: http://host:port */
  constructor(
    origin: string,
    readonly connections: number,
  ) {
    const u = new URL(origin);
    this.host = u.hostname.startsWith('[') ? u.hostname.slice(1, -1) : u.hostname;
    this.port = Number(u.port || 80);
    this.authority = u.host;
  }

  prepare(method: string, path: string, body: string | null, cookie: string | null): PreparedRequest {
    let s = `${method} ${path} HTTP/1.1\r\nHost: ${this.authority}\r\n`;
    if (cookie !== null) s += `Cookie: ${cookie}\r\n`;
    if (body === null) return (s + '\r\n') as unknown as PreparedRequest;
    // The engine's JSON is ASCII (ids, generated names) and goes out as a latin1 string; anything
    // else is encoded as UTF-8, its length counted in bytes.
    const bytes = Buffer.byteLength(body, 'utf8');
    s += `Content-Type: application/json\r\nContent-Length: ${bytes}\r\n\r\n${body}`;
    return (bytes === body.length ? s : Buffer.from(s, 'utf8')) as unknown as PreparedRequest;
  }

  /** A request sent many times (a static asset): encoded once. */
  prebuilt(method: string, path: string): PreparedRequest {
    return Buffer.from(this.prepare(method, path, null, null) as unknown as string, 'latin1') as unknown as PreparedRequest;
  }

  send(req: PreparedRequest, h: ResponseHandler): void {
    const wire = req as unknown as string | Buffer;
    let c = this.idle.pop();
    if (c !== undefined) {
      const now = performance.now();
      while (c !== undefined && (c.dead || c.idleUntil <= now)) {
        c.kill();
        c = this.idle.pop();
      }
    }
    if (c === undefined) {
      if (this.open >= this.connections || this.closed) {
        this.waiting.push({ wire, h });
        h.link = this.waiting;
        return;
      }
      c = this.openConn();
    }
    c.send(wire, h);
  }

  abort(h: ResponseHandler, _err: Error): void {
    const link = h.link;
    if (link instanceof Conn) link.abort();
    else if (link === this.waiting) {
      const i = this.waiting.findIndex((w) => w.h === h);
      if (i >= 0) this.waiting.splice(i, 1);
      h.link = null;
    }
  }

  async warmUp(n: number, timeoutMs: number): Promise<number> {
    const opening: Promise<void>[] = [];
    for (let i = 0; i < n && this.open < this.connections; i++) {
      const c = this.openConn();
      opening.push(
        new Promise<void>((resolve) => {
          const timer = setTimeout(() => {
            c.kill();
            resolve();
          }, timeoutMs);
          const settle = () => {
            clearTimeout(timer);
            if (c.connected && !c.dead) this.idle.push(c);
            resolve();
          };
          c.socket.once('connect', settle);
          c.socket.once('close', settle);
        }),
      );
    }
    await Promise.all(opening);
    return this.idle.length;
  }

  async close(): Promise<void> {
    this.closed = true;
    this.waiting = [];
    const conns = [...this.all];
    for (const c of conns) c.abort();
    this.idle.length = 0;
    await Promise.all(conns.map((c) => (c.socket.closed ? undefined : new Promise((r) => c.socket.once('close', r)))));
  }

  // Every open connection, so close() finds the busy ones too.
  private readonly all = new Set<Conn>();

  private openConn(): Conn {
    this.open++;
    const c = new Conn(this, this.host, this.port);
    this.all.add(c);
    return c;
  }

  /** A connection finished its request and stays open for the next. */
  release(c: Conn): void {
    const w = this.waiting.length > 0 ? this.waiting.shift() : undefined;
    if (w !== undefined) c.send(w.wire, w.h);
    else this.idle.push(c);
  }

  /** A connection is gone (closed by either side). */
  forget(c: Conn): void {
    if (!this.all.delete(c)) return;
    this.open--;
    const i = this.idle.lastIndexOf(c);
    if (i >= 0) this.idle.splice(i, 1);
    // A request waiting for a connection takes the freed slot.
    if (!this.closed && this.waiting.length > 0 && this.open < this.connections) {
      const w = this.waiting.shift()!;
      this.openConn().send(w.wire, w.h);
    }
  }
}
