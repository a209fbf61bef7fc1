// The socket transport's response parser on hand-written responses, whole and split at every byte.
import { describe, expect, it } from 'vitest';
import { HttpParseError, ResponseParser } from './parser.ts';

interface Parsed {
  status: number;
  keepAlive: boolean;
  sid: string | null;
  /** index just past the response in the concatenated input */
  end: number;
}

/** Feeds `chunks` in order; returns the response once complete, or null if it never completes. */
function feed(chunks: string[], wantSid = false): Parsed | null {
  const p = new ResponseParser();
  p.begin(wantSid);
  let offset = 0;
  for (const c of chunks) {
    // Each read lands in a bigger buffer at an offset, as the socket's shared buffer would hold it.
    const buf = Buffer.alloc(c.length + 7, 0x7a);
    buf.write(c, 3, 'latin1');
    const at = p.execute(buf, 3, 3 + c.length);
    if (at >= 0) return { status: p.status, keepAlive: p.keepAlive, sid: p.sid, end: offset + at - 3 };
    offset += c.length;
  }
  return null;
}

/** Every way of cutting s in two, plus one byte at a time. */
function splits(s: string): string[][] {
  const out: string[][] = [[s], [...s]];
  for (let i = 1; i < s.length; i++) out.push([s.slice(0, i), s.slice(i)]);
  return out;
}

const CL = 'HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 5\r\nConnection: keep-alive\r\n\r\nhello';
const CHUNKED =
  'HTTP/1.1 201 Created\r\nTransfer-Encoding: chunked\r\n\r\n' + '5\r\nhello\r\n' + '1a;ext=1\r\nabcdefghijklmnopqrstuvwxyz\r\n' + '0\r\nX-Trailer: t\r\n\r\n';

describe('ResponseParser', () => {
  it('reads a Content-Length body, whole or split anywhere', () => {
    for (const chunks of splits(CL)) {
      expect(feed(chunks)).toEqual({ status: 200, keepAlive: true, sid: null, end: CL.length });
    }
  });

  it('reads a chunked body with extensions and trailers split across packets', () => {
    for (const chunks of splits(CHUNKED)) {
      expect(feed(chunks)).toEqual({ status: 201, keepAlive: true, sid: null, end: CHUNKED.length });
    }
  });

  it('waits for the last chunk: a chunked body cut short never completes', () => {
    expect(feed([CHUNKED.slice(0, -2)])).toBeNull();
    expect(feed(['HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhel'])).toBeNull();
  });

  it('completes at the head for Content-Length: 0, 204 and 304 (whatever they announce)', () => {
    const zero = 'HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n';
    expect(feed([zero])).toEqual({ status: 200, keepAlive: true, sid: null, end: zero.length });
    const noContent = 'HTTP/1.1 204 No Content\r\nDate: x\r\n\r\n';
    expect(feed([noContent])).toEqual({ status: 204, keepAlive: true, sid: null, end: noContent.length });
    const notModified = 'HTTP/1.1 304 Not Modified\r\nContent-Length: 1500\r\nETag: "a"\r\n\r\n';
    expect(feed([notModified])).toEqual({ status: 304, keepAlive: true, sid: null, end: notModified.length });
  });

  it('stops at the end of the response and says where (bytes after it are not its own)', () => {
    const twice = CL + CL;
    expect(feed([twice])?.end).toBe(CL.length);
  });

  it('skips 1xx answers and reports the final status', () => {
    const r = 'HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\nHTTP/1.1 404 Not Found\r\nContent-Length: 2\r\n\r\nno';
    for (const chunks of splits(r)) expect(feed(chunks)).toEqual({ status: 404, keepAlive: true, sid: null, end: r.length });
  });

  it('honours Connection: close and HTTP/1.0 without keep-alive', () => {
    expect(feed(['HTTP/1.1 200 OK\r\nconnection: Close\r\ncontent-length: 1\r\n\r\nx'])?.keepAlive).toBe(false);
    expect(feed(['HTTP/1.1 200 OK\r\nConnection: upgrade, close\r\nContent-Length: 1\r\n\r\nx'])?.keepAlive).toBe(false);
    expect(feed(['HTTP/1.0 200 OK\r\nContent-Length: 1\r\n\r\nx'])?.keepAlive).toBe(false);
    expect(feed(['HTTP/1.0 200 OK\r\nConnection: Keep-Alive\r\nContent-Length: 1\r\n\r\nx'])?.keepAlive).toBe(true);
    expect(feed(['HTTP/1.1 200 OK\r\nCONNECTION: KEEP-ALIVE\r\nContent-Length: 1\r\n\r\nx'])?.keepAlive).toBe(true);
  });

  it("reads the server's idle timeout from Keep-Alive", () => {
    const parse = (h: string) => {
      const p = new ResponseParser();
      p.begin(false);
      const b = Buffer.from(`HTTP/1.1 200 OK\r\n${h}Content-Length: 0\r\n\r\n`, 'latin1');
      expect(p.execute(b, 0, b.length)).toBe(b.length);
      return p.keepAliveTimeoutS;
    };
    expect(parse('Keep-Alive: timeout=5\r\n')).toBe(5);
    expect(parse('keep-alive: max=100, timeout=72\r\n')).toBe(72);
    expect(parse('Keep-Alive: max=100\r\n')).toBe(-1);
    expect(parse('')).toBe(-1);
  });

  it('reads a body without a length until the connection closes', () => {
    const p = new ResponseParser();
    p.begin(false);
    const buf = Buffer.from('HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nsome body', 'latin1');
    expect(p.execute(buf, 0, buf.length)).toBe(-1);
    expect(p.execute(Buffer.from('more'), 0, 4)).toBe(-1);
    expect(p.endOfStream()).toBe(true);
    expect(p.status).toBe(200);
    expect(p.keepAlive).toBe(false);
    // a close in the middle of a framed body does not complete it
    const q = new ResponseParser();
    q.begin(false);
    q.execute(Buffer.from(CL.slice(0, -2), 'latin1'), 0, CL.length - 2);
    expect(q.endOfStream()).toBe(false);
  });

  it('finds the sid cookie of a login only when asked', () => {
    const r = 'HTTP/1.1 200 OK\r\nSet-Cookie: theme=dark\r\nset-cookie: a=1; sid=s42; Path=/; HttpOnly\r\nContent-Length: 2\r\n\r\n{}';
    for (const chunks of splits(r)) expect(feed(chunks, true)?.sid).toBe('s42');
    expect(feed([r], false)?.sid).toBeNull();
    expect(feed(['HTTP/1.1 200 OK\r\nSet-Cookie: sid=abc\r\nContent-Length: 0\r\n\r\n'], true)?.sid).toBe('abc');
    expect(feed(['HTTP/1.1 200 OK\r\nSet-Cookie: nosid=abc\r\nContent-Length: 0\r\n\r\n'], true)?.sid).toBeNull();
  });

  it('reads only the headers it knows, however close a name comes, and keeps nothing of a 1xx', () => {
    // nginx's head, with names of the same length and first letter as the ones read
    const r =
      'HTTP/1.1 100 Continue\r\nKeep-Alive: timeout=1\r\nX-Bench-Region: us\r\nSet-Cookie: sid=early\r\n\r\n' +
      'HTTP/1.1 200 OK\r\nServer: nginx/1.22.1\r\nContent-Lengtx: 99\r\nConnectiox: close\r\nTransfer-Encodinx: chunked\r\n' +
      'Keep-Alivx: timeout=3\r\nSet-Cookiz: sid=nope\r\nX-Bench-Regiox: eu\r\nContent-Length: 2\r\nAccept-Ranges: bytes\r\n\r\nok';
    for (const chunks of splits(r)) {
      const p = new ResponseParser(true);
      p.begin(true);
      let at = -1;
      let offset = 0;
      for (const c of chunks) {
        const buf = Buffer.from(c, 'latin1');
        at = p.execute(buf, 0, buf.length);
        if (at >= 0) break;
        offset += c.length;
      }
      expect([offset + at, p.status, p.keepAlive, p.keepAliveTimeoutS, p.region, p.sid]).toEqual([r.length, 200, true, -1, null, null]);
    }
    // negative control: the real names are read
    const real = 'HTTP/1.1 200 OK\r\nKeep-Alive: timeout=3\r\nX-Bench-Region: eu\r\nSet-Cookie: sid=s1\r\nConnection: close\r\nContent-Length: 0\r\n\r\n';
    const p = new ResponseParser(true);
    p.begin(true);
    expect(p.execute(Buffer.from(real, 'latin1'), 0, real.length)).toBe(real.length);
    expect([p.keepAlive, p.keepAliveTimeoutS, p.region, p.sid]).toEqual([false, 3, 'eu', 's1']);
  });

  it('refuses what is not HTTP/1.x, a bad length, bad chunk framing, and a head that never ends', () => {
    const bad = [
      'SSH-2.0-OpenSSH\r\n\r\n',
      'HTTP/1.1 2x0 OK\r\n\r\n',
      'HTTP/1.1 200 OK\r\nContent-Length: 1x\r\n\r\n',
      'HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n',
      'HTTP/1.1 200 OK\r\nBroken header\r\n\r\n',
      'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n',
      'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabX\r\n',
    ];
    for (const b of bad) expect(() => feed([b]), b).toThrow(HttpParseError);
    const p = new ResponseParser();
    p.begin(false);
    const junk = Buffer.alloc(70 * 1024, 0x61);
    expect(() => p.execute(junk, 0, junk.length)).toThrow(/too large/);
  });

  it("reads the serving region (X-Bench-Region) only when built to, at every split; a 1xx's is dropped", () => {
    const res = 'HTTP/1.1 200 OK\r\nX-Served-By: app-eu-1\r\nx-bench-region:  eu \r\nContent-Length: 2\r\n\r\nok';
    for (const chunks of splits(res)) {
      const p = new ResponseParser(true);
      p.begin(false);
      let done = -1;
      for (const c of chunks) {
        const buf = Buffer.from(c, 'latin1');
        done = p.execute(buf, 0, buf.length);
      }
      expect([done >= 0, p.region]).toEqual([true, 'eu']);
    }
    const off = new ResponseParser();
    off.begin(false);
    off.execute(Buffer.from(res, 'latin1'), 0, res.length);
    expect([off.status, off.region]).toEqual([200, null]);
    // the next answer names none: not the previous one's
    const on = new ResponseParser(true);
    on.begin(false);
    on.execute(Buffer.from(res, 'latin1'), 0, res.length);
    on.begin(false);
    on.execute(Buffer.from(CL, 'latin1'), 0, CL.length);
    expect([on.status, on.region]).toEqual([200, null]);
  });
});
