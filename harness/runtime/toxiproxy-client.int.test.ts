// The Toxiproxy client against the real server: proxies, enabling, toxics, reset.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer, connect, type Server } from 'node:net';
import { fileURLToPath } from 'node:url';
import { resolveBinary } from './binaries.ts';
import { toxiproxyClient, ToxiproxyError, type ToxiproxyClient } from './toxiproxy-client.ts';
import { waitFor } from './wait.ts';

const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
const bin = resolveBinary({ binary: 'toxiproxy-server', debianPackage: '' }, repoRoot);
const host = '127.251.0.1';

/** Round trip of one line through `port`, in ms. */
function echoOnce(port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const s = connect({ host, port }, () => s.write('ping\n'));
    s.once('data', () => {
      s.destroy();
      resolve(performance.now() - t0);
    });
    s.once('error', reject);
    s.once('close', () => reject(new Error('closed')));
  });
}

describe.skipIf(!bin)('toxiproxy client (real server)', () => {
  let server: ChildProcess;
  let echo: Server;
  let api: ToxiproxyClient;

  beforeAll(async () => {
    echo = createServer((s) => s.pipe(s));
    await new Promise<void>((r) => echo.listen(20999, host, () => r()));
    server = spawn(bin!, ['-host', host, '-port', '18474'], { stdio: 'ignore', env: { ...process.env, LOG_LEVEL: 'warn' } });
    api = toxiproxyClient({ host, port: 18474 });
    await waitFor.http(`${api.url}/version`, { timeoutMs: 10_000 });
  });

  afterAll(async () => {
    server?.kill('SIGKILL');
    await new Promise<void>((r) => echo.close(() => r()));
  });

  it('creates a proxy named after an edge and relays through it', async () => {
    await api.createProxy({ name: 'app->echo', listen: `${host}:21000`, upstream: `${host}:20999` });
    expect((await api.listProxies()).map((p) => [p.name, p.enabled])).toEqual([['app->echo', true]]);
    expect(await echoOnce(21000)).toBeLessThan(500);
  });

  it('adds latency and removes it', async () => {
    await api.addToxic('app->echo', { name: 'slow', type: 'latency', attributes: { latency: 300 } });
    expect((await api.getProxy('app->echo')).toxics.map((t) => t.name)).toEqual(['slow']);
    expect(await echoOnce(21000)).toBeGreaterThanOrEqual(290);
    await api.removeToxic('app->echo', 'slow');
    expect(await echoOnce(21000)).toBeLessThan(200);
  });

  it('cuts an edge and resetAll restores it', async () => {
    await api.setEnabled('app->echo', false);
    await expect(echoOnce(21000)).rejects.toThrow();
    await api.resetAll();
    expect((await api.getProxy('app->echo')).enabled).toBe(true);
    expect(await echoOnce(21000)).toBeLessThan(500);
  });

  it('populates in one call and reports a missing proxy as a 404', async () => {
    const made = await api.populate([{ name: 'a->b', listen: `${host}:21001`, upstream: `${host}:20999` }]);
    expect(made.map((p) => p.name)).toEqual(['a->b']);
    const err = await api.setEnabled('nope', false).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ToxiproxyError);
    expect((err as ToxiproxyError).status).toBe(404);
  });
});
