// The rendered nginx.conf on the real nginx: accepted by `nginx -t`, a static asset is MISS then
// HIT, the cached copy outlives the origin, API requests pass through uncached, and the edge log
// gives the hit ratio.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { EDGE_LOG_FILE, NGINX_CONFIG_FILE, edgeHitRatio, nginxArgs, nginxRecipe, renderNginxConfig } from './nginx.ts';
import type { NativeContext } from './types.ts';

const EDGE = { host: '127.214.1.1', port: 8081 };
const ORIGIN = { host: '127.214.2.1', port: 18000 };

let dir = '';
let origin: Server;
let originHits = 0;
let nginx: ChildProcess | undefined;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'nginx-int-'));
  origin = createServer((req, res) => {
    originHits++;
    // what an app may well send: the edge must cache anyway and never pass the cookie on
    res.setHeader('Set-Cookie', 'sid=secret');
    res.setHeader('Cache-Control', 'no-cache');
    res.end(`origin:${req.url}`);
  });
  await new Promise<void>((r) => origin.listen(ORIGIN.port, ORIGIN.host, r));
});

afterAll(async () => {
  if (nginx && nginx.exitCode === null && nginx.signalCode === null) {
    const exited = new Promise((r) => nginx!.once('exit', r));
    nginx.kill('SIGTERM');
    await Promise.race([exited, new Promise((r) => setTimeout(r, 3000))]);
    if (nginx.exitCode === null && nginx.signalCode === null) nginx.kill('SIGKILL');
  }
  origin?.close();
  await rm(dir, { recursive: true, force: true });
});

const get = async (path: string) => {
  const res = await request(`http://${EDGE.host}:${EDGE.port}${path}`, { headersTimeout: 5000 });
  return { status: res.statusCode, cache: res.headers['x-cache-status'], cookie: res.headers['set-cookie'], body: await res.body.text() };
};

describe('nginx edge on the real binary', () => {
  it('the rendered config passes nginx -t, and a broken one does not', async () => {
    await mkdir(join(dir, 'cache'), { recursive: true });
    await mkdir(join(dir, 'tmp'), { recursive: true });
    await writeFile(join(dir, NGINX_CONFIG_FILE), renderNginxConfig({ dir, listen: EDGE, origin: ORIGIN, user: userInfo().username }));
    const ok = spawnSync('nginx', ['-t', ...nginxArgs(dir)], { encoding: 'utf8', timeout: 10_000 });
    expect(ok.stderr).toContain('test is successful');
    expect(ok.status).toBe(0);
    await writeFile(join(dir, 'bad.conf'), 'events {}\nhttp { server { location / { proxy_cache nowhere; } } }\n');
    expect(spawnSync('nginx', ['-t', '-e', 'stderr', '-p', dir, '-c', join(dir, 'bad.conf')], { timeout: 10_000 }).status).not.toBe(0);
  });

  it('MISS then HIT for a static asset, served from cache when the origin is gone; API uncached', async () => {
    const launch = nginxRecipe.launch({ dir, bin: () => 'nginx' } as unknown as NativeContext);
    nginx = spawn(launch.command, launch.args, { cwd: launch.cwd, stdio: ['ignore', 'ignore', 'pipe'] });
    await nginxRecipe.ready({ service: { name: 'cdn', address: EDGE }, signal: AbortSignal.timeout(10_000) } as unknown as NativeContext);

    const first = await get('/static/app.js');
    expect(first).toMatchObject({ status: 200, cache: 'MISS', body: 'origin:/static/app.js' });
    expect(first.cookie).toBeUndefined();
    const second = await get('/static/app.js');
    expect(second).toMatchObject({ status: 200, cache: 'HIT', body: 'origin:/static/app.js' });
    expect(originHits).toBe(1);

    const api = await get('/api/users/1');
    expect(api.status).toBe(200);
    expect(api.cache).toBeUndefined();
    await get('/api/users/1');
    expect(originHits).toBe(3);

    await new Promise((r) => origin.close(r));
    origin.closeAllConnections();
    expect(await get('/static/app.js')).toMatchObject({ status: 200, cache: 'HIT' });
    expect((await get('/api/users/1')).status).toBe(502);

    // 1 MISS + 2 HIT on /static/; API requests are not in the edge log
    expect(await edgeHitRatio(join(dir, EDGE_LOG_FILE))).toEqual({ hits: 2, misses: 1, other: 0, ratio: 2 / 3 });
  });
});
