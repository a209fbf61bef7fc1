// A lean HTTP/1.1 response parser for the socket transport: status line, Content-Length, chunked
// bodies, Connection: close, read-until-close bodies, and the `sid` cookie of a login. It reads
// bytes in place (the socket reads into one shared buffer) and keeps nothing but counters between
// reads; only a response head split across reads is copied. Bodies are skipped, never decoded:
// the engine needs the status, not the content.

/** A response the parser cannot read (the connection must be dropped). */
export class HttpParseError extends Error {
  readonly code = 'BENCH_HTTP_PARSE';
}

// A head larger than this is refused (nginx's default large_client_header_buffers is 8 kB a line).
const MAX_HEAD_BYTES = 64 * 1024;

const enum S {
  HEAD,
  BODY_LENGTH,
  BODY_CLOSE,
  CHUNK_SIZE,
  CHUNK_EXT,
  CHUNK_SIZE_LF,
  CHUNK_DATA,
  CHUNK_DATA_CR,
  CHUNK_DATA_LF,
  TRAILER_LINE_START,
  TRAILER_LINE,
  TRAILER_END_LF,
  DONE,
}

const CR = 13;
const LF = 10;

function lit(s: string): Uint8Array {
  return Uint8Array.from(s, (c) => c.charCodeAt(0));
}
const CONTENT_LENGTH = lit('content-length');
const TRANSFER_ENCODING = lit('transfer-encoding');
const CONNECTION = lit('connection');
const SET_COOKIE = lit('set-cookie');
const KEEP_ALIVE = lit('keep-alive');
// the app's REGION_HEADER (targets/app/config.ts), lower-cased: read only by a parser built to
const SERVING_REGION = lit('x-bench-region');
// compared with | 0x20 as the names are: 'http/1.' matches exactly the bytes HTTP/1.
const HTTP_1 = lit('http/1.');
const SID_RE = /(?:^|;\s*)sid=([^;]*)/;

/** One response at a time: begin(), then execute() on each read until it returns >= 0. */
export class ResponseParser {
  /** the final status (1xx answers are skipped) */
  status = 0;
  /** false when the server said Connection: close (or spoke HTTP/1.0 without keep-alive) */
  keepAlive = true;
  /** the value of the `sid` cookie (when asked for) */
  sid: string | null = null;
  /** the server's idle timeout from `Keep-Alive: timeout=N` (seconds), or -1 */
  keepAliveTimeoutS = -1;
  /** the serving region the answer named (X-Bench-Region), when the parser was built to read it */
  region: string | null = null;
  private wantSid = false;
  private state = S.DONE;
  private remaining = 0;
  private carry: Buffer | null = null;

  /** wantRegion: read each answer's serving region (phase 7's client regions only: every other
   *  load skips the header without a comparison). */
  constructor(private readonly wantRegion = false) {}

  /** Expects a new response; wantSid: look for a Set-Cookie `sid`. */
  begin(wantSid: boolean): void {
    this.wantSid = wantSid;
    this.status = 0;
    this.keepAlive = true;
    this.sid = null;
    this.keepAliveTimeoutS = -1;
    this.region = null;
    this.state = S.HEAD;
    this.remaining = 0;
    this.carry = null;
  }

  /** true between begin() and the end of that response */
  get busy(): boolean {
    return this.state !== S.DONE;
  }

  /**
   * Reads buf[start, end). Returns the index just past the response when it completed in this
   * read (bytes after it are not part of it), or -1 when it needs more. Throws HttpParseError.
   */
  execute(buf: Uint8Array, start: number, end: number): number {
    let p = start;
    while (p < end) {
      switch (this.state) {
        case S.HEAD: {
          if (this.carry !== null) {
            // The head was split across reads: join and start over on the joined bytes.
            const joined = Buffer.concat([this.carry, buf.subarray(p, end)]);
            this.carry = null;
            const at = this.execute(joined, 0, joined.length);
            // Positions in `joined` map back onto buf: what preceded p there came from the carry.
            return at < 0 ? -1 : p + (at - (joined.length - (end - p)));
          }
          const headEnd = this.parseHead(buf, p, end);
          if (headEnd < 0) {
            if (end - p > MAX_HEAD_BYTES) throw new HttpParseError('response head too large');
            this.carry = Buffer.from(buf.subarray(p, end));
            return -1;
          }
          p = headEnd;
          break;
        }
        case S.BODY_LENGTH: {
          const n = Math.min(end - p, this.remaining);
          this.remaining -= n;
          p += n;
          if (this.remaining === 0) this.state = S.DONE;
          break;
        }
        case S.BODY_CLOSE:
          return -1;
        case S.CHUNK_SIZE: {
          const c = buf[p++];
          const d = hexDigit(c);
          if (d >= 0) {
            if (this.remaining > 0xfffffffffff) throw new HttpParseError('chunk size too large');
            this.remaining = this.remaining * 16 + d;
          } else if (c === CR) this.state = S.CHUNK_SIZE_LF;
          else if (c === 0x3b /* ; */ || c === 0x20 || c === 0x09) this.state = S.CHUNK_EXT;
          else throw new HttpParseError('bad chunk size');
          break;
        }
        case S.CHUNK_EXT:
          if (buf[p++] === CR) this.state = S.CHUNK_SIZE_LF;
          break;
        case S.CHUNK_SIZE_LF:
          if (buf[p++] !== LF) throw new HttpParseError('bad chunk size line');
          this.state = this.remaining === 0 ? S.TRAILER_LINE_START : S.CHUNK_DATA;
          break;
        case S.CHUNK_DATA: {
          const n = Math.min(end - p, this.remaining);
          this.remaining -= n;
          p += n;
          if (this.remaining === 0) this.state = S.CHUNK_DATA_CR;
          break;
        }
        case S.CHUNK_DATA_CR:
          if (buf[p++] !== CR) throw new HttpParseError('chunk not followed by CRLF');
          this.state = S.CHUNK_DATA_LF;
          break;
        case S.CHUNK_DATA_LF:
          if (buf[p++] !== LF) throw new HttpParseError('chunk not followed by CRLF');
          this.state = S.CHUNK_SIZE;
          break;
        case S.TRAILER_LINE_START:
          if (buf[p++] === CR) this.state = S.TRAILER_END_LF;
          else this.state = S.TRAILER_LINE;
          break;
        case S.TRAILER_LINE:
          if (buf[p++] === LF) this.state = S.TRAILER_LINE_START;
          break;
        case S.TRAILER_END_LF:
          if (buf[p++] !== LF) throw new HttpParseError('bad end of chunked body');
          this.state = S.DONE;
          break;
        case S.DONE:
          return p;
      }
      if (this.state === S.DONE) return p;
    }
    return this.state === S.DONE ? p : -1;
  }

  /** The connection closed: true when that ends the response (a body read until close). */
  endOfStream(): boolean {
    if (this.state !== S.BODY_CLOSE) return false;
    this.state = S.DONE;
    this.keepAlive = false;
    return true;
  }

  // Reads the status line and the headers from buf[start], up to the blank line, in one pass over
  // the bytes (a search for the head's end first, then a parse, read every byte twice: ~5% of the
  // engine's CPU went to the two); sets the body state and returns the index just past the blank
  // line, or -1 when the head is not complete before `end` (the caller keeps the bytes and calls
  // again with more). A 1xx answer goes back to reading a head.
  private parseHead(buf: Uint8Array, start: number, end: number): number {
    // "HTTP/1.x SSS reason"
    const sl = indexOfLf(buf, start, end);
    if (sl === end) return -1;
    if (sl - start < 12 || !nameIs(buf, start, HTTP_1) || buf[start + 8] !== 0x20) {
      throw new HttpParseError('not an HTTP/1.x status line');
    }
    const minor = buf[start + 7] - 0x30;
    const s0 = buf[start + 9] - 0x30;
    const s1 = buf[start + 10] - 0x30;
    const s2 = buf[start + 11] - 0x30;
    if (s0 < 1 || s0 > 5 || s1 < 0 || s1 > 9 || s2 < 0 || s2 > 9) throw new HttpParseError('bad status code');
    const status = s0 * 100 + s1 * 10 + s2;
    let keepAlive = minor >= 1;
    let contentLength = -1;
    let chunked = false;
    // what this head names, kept only once it is complete
    let sid: string | null = null;
    let region: string | null = null;
    let hintS = -1;
    // Header lines, each buf[ls, le) with le at its LF, until the blank line (CR LF).
    let ls = sl + 1;
    for (;;) {
      if (ls + 1 >= end) return -1;
      if (buf[ls] === CR && buf[ls + 1] === LF) break;
      // the name: up to the colon (a line without one is refused once it is complete)
      let colon = ls;
      while (colon < end && buf[colon] !== 0x3a && buf[colon] !== LF) colon++;
      if (colon === end) return -1;
      if (buf[colon] === LF) throw new HttpParseError('header line without a colon');
      const nameLen = colon - ls;
      const le = indexOfLf(buf, colon, end);
      if (le === end) return -1;
      // Only the names the engine reads have their value trimmed and looked at.
      const c0 = buf[ls] | 0x20;
      const wanted =
        (nameLen === 14 && (c0 === 0x63 /* content-length */ || (this.wantRegion && c0 === 0x78))) /* x-bench-region */ ||
        (nameLen === 17 && c0 === 0x74) /* transfer-encoding */ ||
        (nameLen === 10 && (c0 === 0x63 /* connection */ || c0 === 0x6b /* keep-alive */ || (this.wantSid && c0 === 0x73))) /* set-cookie */;
      if (wanted) {
        const lineEnd = buf[le - 1] === CR ? le - 1 : le;
        let vs = colon + 1;
        while (vs < lineEnd && (buf[vs] === 0x20 || buf[vs] === 0x09)) vs++;
        let ve = lineEnd;
        while (ve > vs && (buf[ve - 1] === 0x20 || buf[ve - 1] === 0x09)) ve--;
        if (nameLen === 14 && nameIs(buf, ls, CONTENT_LENGTH)) {
          let n = 0;
          if (ve === vs) throw new HttpParseError('empty Content-Length');
          for (let i = vs; i < ve; i++) {
            const d = buf[i] - 0x30;
            if (d < 0 || d > 9) throw new HttpParseError('bad Content-Length');
            n = n * 10 + d;
          }
          if (contentLength >= 0 && contentLength !== n) throw new HttpParseError('conflicting Content-Length');
          contentLength = n;
        } else if (nameLen === 17 && nameIs(buf, ls, TRANSFER_ENCODING)) {
          // chunked must be the last coding (RFC 9112 6.3)
          chunked = /(?:^|,)\s*chunked\s*$/i.test(latin1(buf, vs, ve));
        } else if (nameLen === 10 && nameIs(buf, ls, CONNECTION)) {
          // "keep-alive" on every answer of a keep-alive server: compared in place, no string
          if (ve - vs === 10 && nameIs(buf, vs, KEEP_ALIVE)) keepAlive = true;
          else {
            const v = latin1(buf, vs, ve).toLowerCase();
            if (/(?:^|,)\s*close\s*(?:,|$)/.test(v)) keepAlive = false;
            else if (/(?:^|,)\s*keep-alive\s*(?:,|$)/.test(v)) keepAlive = true;
          }
        } else if (nameLen === 10 && nameIs(buf, ls, KEEP_ALIVE)) {
          const m = /(?:^|[,;\s])timeout\s*=\s*(\d+)/i.exec(latin1(buf, vs, ve));
          if (m) hintS = Number(m[1]);
        } else if (this.wantSid && sid === null && nameLen === 10 && nameIs(buf, ls, SET_COOKIE)) {
          const m = SID_RE.exec(latin1(buf, vs, ve));
          if (m) sid = m[1];
        } else if (this.wantRegion && nameLen === 14 && ve > vs && nameIs(buf, ls, SERVING_REGION)) {
          region = latin1(buf, vs, ve);
        }
      }
      ls = le + 1;
    }
    const headEnd = ls + 2;
    if (status < 200) {
      // An interim answer (100 Continue, 103 Early Hints): the final one follows, with its own headers.
      this.state = S.HEAD;
      return headEnd;
    }
    this.status = status;
    this.sid = sid;
    this.region = region;
    this.keepAliveTimeoutS = hintS;
    // Once a close was announced the connection is spent, even if it became "keep-alive" again.
    this.keepAlive = this.keepAlive && keepAlive;
    if (status === 204 || status === 304) {
      this.state = S.DONE;
    } else if (chunked) {
      this.remaining = 0;
      this.state = S.CHUNK_SIZE;
    } else if (contentLength >= 0) {
      this.remaining = contentLength;
      this.state = contentLength === 0 ? S.DONE : S.BODY_LENGTH;
    } else {
      // No length: the body runs until the server closes the connection.
      this.keepAlive = false;
      this.state = S.BODY_CLOSE;
    }
    return headEnd;
  }
}

function indexOfLf(buf: Uint8Array, start: number, end: number): number {
  for (let i = start; i < end; i++) if (buf[i] === LF) return i;
  return end;
}

// ASCII case-insensitive: `| 0x20` lowercases letters and leaves '-' as it is.
function nameIs(buf: Uint8Array, at: number, name: Uint8Array): boolean {
  for (let i = 0; i < name.length; i++) if ((buf[at + i] | 0x20) !== name[i]) return false;
  return true;
}

function hexDigit(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  const l = c | 0x20;
  if (l >= 0x61 && l <= 0x66) return l - 0x61 + 10;
  return -1;
}

function latin1(buf: Uint8Array, start: number, end: number): string {
  return Buffer.from(buf.buffer, buf.byteOffset + start, end - start).toString('latin1');
}
