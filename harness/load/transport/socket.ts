// The engine's own HTTP/1.1 client on net.Socket, for loopback targets: keep-alive connections,
// one request in flight per connection, requests written as one latin1 string (or a prebuilt
// Buffer), answers read into one shared buffer (net's `onread`: no Buffer, no stream 'data' event
// per read) and parsed in place (parser.ts). It does what the engine needs and nothing more:
// no redirects, no pipelining, no TLS, and one kind of retry only: a GET on a reused connection
// the server had already closed (see StaleKeepAliveError).
import { connect as netConnect, type LookupFunction, type Socket } from 'node:net';
import { getSystemErrorName } from 'node:util';
import { HttpParseError, ResponseParser } from './parser.ts';
import type { PreparedRequest, ResponseHandler, Transport } from './types.ts';

/** The server closed the connection before the answer was complete. */
export class ConnectionClosedError extends Error {
  readonly code = 'BENCH_SOCKET_CLOSED';
}

/**
 * A reused idle connection was closed (or reset) before any byte of the answer: the server (or a
 * balancer on the path) had timed it out as idle while the request was on its way. That is the
 * client's race, not the system's failure: a GET is sent again once on a fresh connection; any
 * other request fails with this error, counted as its own kind (`stale_keepalive`).
 */
export class StaleKeepAliveError extends Error {
  readonly code = 'BENCH_STALE_KEEPALIVE';
}

// Every read lands here and is parsed before the next one: one buffer serves every connection.
const READ_BUFFER_BYTES = 64 * 1024;
/**
 * An idle connection is not reused past the server's announced idle timeout less this margin, nor
 * past DEFAULT_IDLE_MS in any case: a request sent as the server closes its end would fail through
 * no fault of the server's. The cap applies even under a longer announcement, because the
 * announcement may come from behind a balancer: Fastify says `timeout=72` through HAProxy, whose
 * own `timeout http-keep-alive` is 10 s and sends no announcement.
 */
const IDLE_MARGIN_MS = 1000;
/**
 * Below the shortest keep-alive timeout on any path of the reference system (HAProxy 10 s, nginx
 * 75 s, Fastify 72 s; socket.test.ts reads them from the rendered configs), with room for timers
 * that fire late on a loaded machine.
 */
export const DEFAULT_IDLE_MS = 5_000;

/** Settings of a SocketTransport beyond its origin and connection cap. */
export interface SocketTransportOptions {
  /** the longest an idle connection is reused; default DEFAULT_IDLE_MS */
  idleMs?: number;
  /** the source address every connection binds (a client region's loopback address, which the
   *  geo DNS routes on); default: the system's choice */
  localAddress?: string;
  /** how the origin's host name becomes an address, per new connection (a client region's geo
   *  resolver: harness/load/geo-dns.ts geoLookup); default: the system resolver */
  lookup?: LookupFunction;
  /** read each answer's serving region (X-Bench-Region) and hand it to onResponse; default false:
   *  a load without client regions does not look for the header */
  servingRegion?: boolean;
}

/**
 * Writing on the socket's TCP handle directly, as net.Socket's own Writable does underneath, but
 * without its per-write machinery (Writable state, a WriteWrap and a callback per write, an
 * after-write nextTick): a request is one small write that the kernel takes whole, so one reused
 * request object serves every write. Measured with `npm run bench:engine` (docs/LOAD-ENGINE.md).
 * The handle API is Node's internal stream binding (process.binding('stream_wrap'), a
 * documentation-only deprecation): when it is missing or changes shape, socket.write is used.
 */
interface WriteReq {
  /** called by the binding when a write the kernel did not take at once completes */
  oncomplete: (this: WriteReq, status: number) => void;
  /** while such a write is pending: its connection, and its bytes kept alive */
  conn: Conn | null;
  data: string | Buffer | null;
}
interface StreamHandle {
  writeBuffer(req: WriteReq, data: Buffer): number;
  writeLatin1String(req: WriteReq, data: string): number;
}
interface StreamBinding {
  WriteWrap: new () => WriteReq;
  streamBaseState: Int32Array;
  kLastWriteWasAsync: number;
}

function loadStreamBinding(): StreamBinding | null {
  try {
    const b = (process as unknown as { binding(name: string): Partial<StreamBinding> }).binding('stream_wrap');
    if (typeof b.WriteWrap === 'function' && b.streamBaseState !== undefined && typeof b.kLastWriteWasAsync === 'number') return b as StreamBinding;
  } catch {
    // not this Node: socket.write below
  }
  return null;
}

const binding = loadStreamBinding();
/** true when requests are written on the handle directly (else through socket.write) */
export const DIRECT_WRITES = binding !== null;

function newWriteReq(b: StreamBinding): WriteReq {
  const req = new b.WriteWrap();
  req.conn = null;
  req.data = null;
  req.oncomplete = onAsyncWriteDone;
  return req;
}

function onAsyncWriteDone(this: WriteReq, status: number): void {
  const c = this.conn;
  this.conn = null;
  this.data = null;
  if (status < 0 && c !== null) c.socket.destroy(writeError(status));
}

// What net.Socket reports for a failed write (code EPIPE, ECONNRESET, ...), so errorKind reads it alike.
function writeError(status: number): Error {
  const code = getSystemErrorName(status);
  return Object.assign(new Error(`write ${code}`), { errno: status, code, syscall: 'write' });
}

// The request object of the next direct write: replaced once a write keeps it (the kernel took part).
let spareReq: WriteReq | null = binding ? newWriteReq(binding) : null;

/** True for a GET request: safe to send again when its connection turned out stale. */
function isGet(wire: string | Buffer): boolean {
  return typeof wire === 'string' ? wire.startsWith('GET ') : wire.length > 4 && wire[0] === 0x47 && wire[1] === 0x45 && wire[2] === 0x54 && wire[3] === 0x20;
}

/** One keep-alive connection carrying at most one request. */
class Conn {
  readonly socket: Socket;
  readonly parser: ResponseParser;
  /** the request on the wire */
  cur: ResponseHandler | null = null;
  connected = false;
  dead = false;
  /** idle connections are not reused from this time on (performance.now() ms) */
  idleUntil = Infinity;
  /** opened ahead of the schedule (warmUp): its first request already reuses an idle connection */
  warm = false;
  /** answers completed on this connection */
  private served = 0;
  /** the request on the wire was sent on a connection that had been idle (reused or warmed) */
  private reused = false;
  /** some byte of the current answer arrived */
  private gotBytes = false;
  private wire: string | Buffer | null = null;
  private err: Error | null = null;

  constructor(
    private readonly pool: SocketTransport,
    host: string,
    port: number,
  ) {
    this.parser = new ResponseParser(pool.servingRegion);
    this.socket = netConnect({
      host,
      port,
      ...(pool.localAddress !== undefined ? { localAddress: pool.localAddress } : {}),
      ...(pool.lookup !== undefined ? { lookup: pool.lookup } : {}),
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
    this.wire = wire;
    this.reused = this.served > 0 || this.warm;
    this.gotBytes = false;
    this.parser.begin(h.wantSid);
    const handle = (this.socket as unknown as { _handle: StreamHandle | null })._handle;
    if (binding !== null && this.connected && handle !== null) {
      const req = spareReq!;
      const err = typeof wire === 'string' ? handle.writeLatin1String(req, wire) : handle.writeBuffer(req, wire);
      if (err !== 0) {
        // as socket.write would: the socket fails with the error ('error', then 'close': onClose)
        this.socket.destroy(writeError(err));
        return;
      }
      if (binding.streamBaseState[binding.kLastWriteWasAsync] !== 0) {
        // The kernel took part of it; libuv writes the rest when the socket drains, in order with
        // any later write, and calls req.oncomplete. This object stays with that write.
        req.conn = this;
        req.data = wire;
        spareReq = newWriteReq(binding);
        this.pool.partialWrites++;
      }
      return;
    }
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
    if (n > 0) this.gotBytes = true;
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
    const region = this.parser.region;
    const hintS = this.parser.keepAliveTimeoutS;
    this.cur = null;
    this.wire = null;
    this.served++;
    h.link = null;
    const idleMs = Math.min(hintS >= 0 ? hintS * 1000 - IDLE_MARGIN_MS : Infinity, this.pool.idleMs);
    // Released before the callback, so whatever the engine sends next may take this connection.
    if (reuse && !this.dead && idleMs > 0) {
      this.idleUntil = performance.now() + idleMs;
      this.pool.release(this);
    } else this.kill();
    h.onResponse(status, sid, region);
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
    if (h !== null && this.reused && !this.gotBytes && this.wire !== null) {
      // closed or reset before any byte of the answer, on a connection that had been idle
      const wire = this.wire;
      this.cur = null;
      this.wire = null;
      h.link = null;
      this.dead = true;
      this.pool.stale(this, wire, h);
      return;
    }
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
  /** the longest an idle connection is reused (ms) */
  readonly idleMs: number;
  /** the source address of every connection; undefined: the system's choice */
  readonly localAddress: string | undefined;
  /** resolves the origin's host name per new connection; undefined: the system resolver */
  readonly lookup: LookupFunction | undefined;
  /** its connections read the serving region of each answer */
  readonly servingRegion: boolean;
  /** GETs sent again on a fresh connection after a stale one (StaleKeepAliveError) */
  staleRetries = 0;
  /** other requests failed by a stale connection */
  staleFailures = 0;
  /** direct writes the kernel took only part of at once (the rest went when the socket drained) */
  partialWrites = 0;
  /** connections open or opening, busy or idle */
  private open = 0;
  /** sends that found no connection (the engine's accounting should make this rare) */
  private waiting: Array<{ wire: string | Buffer; h: ResponseHandler }> = [];
  private closed = false;

  /** origin: http://host:port */
  constructor(
    origin: string,
    readonly connections: number,
    options: SocketTransportOptions = {},
  ) {
    this.idleMs = options.idleMs ?? DEFAULT_IDLE_MS;
    this.localAddress = options.localAddress;
    this.lookup = options.lookup;
    this.servingRegion = options.servingRegion ?? false;
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
            if (c.connected && !c.dead) {
              // a warmed connection idles like any other: the server's idle timeout runs from now
              c.warm = true;
              c.idleUntil = performance.now() + this.idleMs;
              this.idle.push(c);
            }
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
  forget(c: Conn, handOff = true): void {
    if (!this.all.delete(c)) return;
    this.open--;
    const i = this.idle.lastIndexOf(c);
    if (i >= 0) this.idle.splice(i, 1);
    if (handOff) this.handOff();
  }

  /** A request waiting for a connection takes a freed slot. */
  private handOff(): void {
    if (!this.closed && this.waiting.length > 0 && this.open < this.connections) {
      const w = this.waiting.shift()!;
      this.openConn().send(w.wire, w.h);
    }
  }

  /**
   * A reused connection died before any byte of its answer (StaleKeepAliveError): a GET goes out
   * again, once, on a fresh connection in the same slot (a fresh connection is never stale, so it
   * cannot be retried twice); anything else fails as stale_keepalive.
   */
  stale(c: Conn, wire: string | Buffer, h: ResponseHandler): void {
    c.socket.destroy();
    this.forget(c, false);
    if (!this.closed && isGet(wire)) {
      this.staleRetries++;
      this.openConn().send(wire, h);
      return;
    }
    this.staleFailures++;
    this.handOff();
    h.onFailure(new StaleKeepAliveError('the server closed an idle connection as the request was sent on it'));
  }
}
