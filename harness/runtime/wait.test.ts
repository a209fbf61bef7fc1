// The readiness checks against in-process servers: they succeed as soon as the thing is there,
// fail by their deadline with a message naming what they waited for, and stop on abort.
import { afterEach, describe, expect, it } from 'vitest';
import { createServer, type Server } from 'node:net';
import { createServer as createHttp } from 'node:http';
import { appendFile, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { waitFor, WaitAbortedError, WaitTimeoutError } from './wait.ts';

const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of closers.splice(0)) await c();
});

function listen(server: Server | ReturnType<typeof createHttp>, host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve) => server.listen(0, host, () => resolve((server.address() as { port: number }).port)));
}

describe('waitFor.port', () => {
  it('resolves once a port starts accepting, polling without a fixed sleep', async () => {
    const probe = createServer();
    const port = await listen(probe);
    await new Promise<void>((r) => probe.close(() => r()));
    const server = createServer((s) => s.destroy());
    closers.push(() => new Promise((r) => server.close(() => r())));
    setTimeout(() => server.listen(port, '127.0.0.1'), 150);
    const t0 = performance.now();
    await waitFor.port({ host: '127.0.0.1', port }, { timeoutMs: 3_000 });
    expect(performance.now() - t0).toBeLessThan(1_000);
  });

  it('fails by its deadline naming the endpoint and the last error', async () => {
    const err = await waitFor.port({ host: '127.0.0.1', port: 1 }, { timeoutMs: 200 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WaitTimeoutError);
    expect((err as Error).message).toMatch(/timed out after 0\.\d s waiting for TCP 127\.0\.0\.1:1 \(last: .*ECONNREFUSED/);
  });

  it('stops when its signal aborts', async () => {
    const ac = new AbortController();
    setTimeout(() => ac.abort(new Error('Ctrl-C')), 50);
    const err = await waitFor.port({ host: '127.0.0.1', port: 1 }, { timeoutMs: 10_000, signal: ac.signal }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WaitAbortedError);
    expect((err as Error).message).toMatch(/stopped waiting for TCP 127\.0\.0\.1:1: Ctrl-C/);
  });
});

describe('waitFor.http', () => {
  it('waits for the expected status and body', async () => {
    let calls = 0;
    const server = createHttp((_, res) => {
      calls += 1;
      res.writeHead(calls < 3 ? 503 : 200).end(calls < 3 ? 'starting' : 'ok ready');
    });
    const port = await listen(server);
    closers.push(() => new Promise((r) => server.close(() => r())));
    await waitFor.http(`http://127.0.0.1:${port}/healthz`, { status: 200, body: /ready/, timeoutMs: 3_000 });
    expect(calls).toBe(3);
  });

  it('reports the status it kept getting', async () => {
    const server = createHttp((_, res) => res.writeHead(500).end());
    const port = await listen(server);
    closers.push(() => new Promise((r) => server.close(() => r())));
    // 2 s, not less: on a busy machine the first fetch alone (undici loading) can take a few hundred ms
    await expect(waitFor.http(`http://127.0.0.1:${port}/`, { timeoutMs: 2_000 })).rejects.toThrow(/GET http:\/\/127\.0\.0\.1:\d+\/ -> 2xx \(last: status 500\)/);
  });
});

describe('waitFor.log', () => {
  it('finds a line that appears later, in a file that did not exist yet', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'wait-'));
    closers.push(() => rm(dir, { recursive: true, force: true }));
    const file = join(dir, 'x.log');
    setTimeout(() => void writeFile(file, 'booting\n').then(() => appendFile(file, 'ready to accept connections\n')), 100);
    expect(await waitFor.log(file, /ready to accept/, { timeoutMs: 3_000 })).toBe('ready to accept connections');
    await expect(waitFor.log(file, /never/, { timeoutMs: 100 })).rejects.toThrow(/waiting for \/never\/ in .*x\.log/);
  });
});
