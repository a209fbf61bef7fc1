// The rendered haproxy.cfg on the real HAProxy: accepted by `haproxy -c`, spreads requests over
// its servers, and a SIGKILLed server costs (almost) no failed requests.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer, connect, type Server } from 'node:net';
import { request } from 'undici';
import { HAPROXY_CONFIG_FILE, HAPROXY_STATS_PORT, haproxyRecipe, renderHaproxyConfig } from './haproxy.ts';
import type { NativeContext } from './types.ts';

const IP = '127.213.1.1';
const LB = { host: IP, port: 8000 };
const STATS = HAPROXY_STATS_PORT;
const apps = [1, 2, 3].map((i) => ({ name: `app-${i}`, address: { host: `127.213.${i + 1}.1`, port: 18080 } }));
// HAProxy reaches each app through a TCP relay, as it reaches them through Toxiproxy in a run: the
// relay accepts even when the app is dead and then hangs up, which HAProxy sees as an empty response
const backends = apps.map((a, i) => ({ name: a.name, address: { host: IP, port: 18100 + i } }));

// a stand-in app: /healthz and an X-Served-By header, in a process of its own so it can be SIGKILLed;
// app-2 answers 503 under /unavailable/ (as an app cut off from its database does) while its
// health check still passes, so only a replay can hide that 503 from the client
const appSource = (name: string, host: string, port: number) => `
  require('node:http').createServer((req, res) => {
    res.setHeader('X-Served-By', ${JSON.stringify(name)});
    req.resume();
    if (req.url.startsWith('/unavailable/') && ${JSON.stringify(name)} === 'app-2') res.statusCode = 503;
    res.end(req.url === '/healthz' ? 'ok' : 'hello');
  }).listen(${port}, ${JSON.stringify(host)}, () => console.log('listening'));`;

const children: ChildProcess[] = [];
const relays: Server[] = [];

function relay(listen: { host: string; port: number }, upstream: { host: string; port: number }): Promise<void> {
  const server = createServer((client) => {
    const up = connect(upstream);
    client.pipe(up).pipe(client);
    up.on('error', () => client.destroy());
    client.on('error', () => up.destroy());
    up.on('close', () => client.destroy());
  });
  relays.push(server);
  return new Promise((resolve) => server.listen(listen.port, listen.host, resolve));
}
let dir = '';

function startChild(command: string, args: string[]): Promise<ChildProcess> {
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.stdout!.once('data', () => resolve(child));
  });
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'haproxy-int-'));
  await Promise.all(apps.map((a) => startChild(process.execPath, ['-e', appSource(a.name, a.address.host, a.address.port)])));
  await Promise.all(apps.map((a, i) => relay(backends[i]!.address, a.address)));
});

afterAll(async () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  for (const r of relays) r.close();
  await rm(dir, { recursive: true, force: true });
});

describe('haproxy recipe on the real binary', () => {
  it('the rendered config passes haproxy -c', async () => {
    const file = join(dir, HAPROXY_CONFIG_FILE);
    await writeFile(file, renderHaproxyConfig({ listen: LB, statsPort: STATS, servers: backends }));
    const check = spawnSync('haproxy', ['-c', '-f', file], { encoding: 'utf8', timeout: 10_000 });
    expect(check.stderr + check.stdout).toContain('Configuration file is valid');
    expect(check.status).toBe(0);
    // a broken config is refused: the check above can fail
    await writeFile(join(dir, 'bad.cfg'), 'frontend x\n    bind 127.213.1.1:1\n    use_backend nowhere\n');
    expect(spawnSync('haproxy', ['-c', '-f', join(dir, 'bad.cfg')], { timeout: 10_000 }).status).not.toBe(0);
  });

  it('balances round robin, exports metrics, and loses no request when a server is SIGKILLed', async () => {
    const launch = haproxyRecipe.launch({ dir, bin: () => 'haproxy' } as unknown as NativeContext);
    const lb = spawn(launch.command, launch.args, { cwd: launch.cwd, stdio: ['ignore', 'ignore', 'pipe'] });
    children.push(lb);
    const ctx = { service: { name: 'lb', address: LB }, signal: AbortSignal.timeout(10_000) } as unknown as NativeContext;
    // the recipe's readiness: /metrics on the stats port and the main port accepting
    await haproxyRecipe.ready(ctx);
    // wait until all three servers passed their checks (rise 2 x 500 ms)
    const deadline = Date.now() + 5000;
    let up = 0;
    while (Date.now() < deadline) {
      const m = await (await request(`http://${IP}:${STATS}/metrics`)).body.text();
      up = m.split('\n').filter((l) => l.startsWith('haproxy_server_status{proxy="app",') && l.includes('state="UP"') && l.trim().endsWith(' 1')).length;
      if (up === 3) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(up).toBe(3);

    const seen = new Map<string, number>();
    for (let i = 0; i < 30; i++) {
      const res = await request(`http://${LB.host}:${LB.port}/`);
      await res.body.text();
      const by = String(res.headers['x-served-by']);
      seen.set(by, (seen.get(by) ?? 0) + 1);
    }
    expect([...seen.entries()].sort()).toEqual([['app-1', 10], ['app-2', 10], ['app-3', 10]]);

    // A 503 is replayed on another server for the idempotent methods, never for a POST: app-2's
    // 503s reach the client for POST only (round robin: exactly one request in three)
    const statuses = async (method: 'GET' | 'PUT' | 'DELETE' | 'POST') => {
      const out = new Map<string, number>();
      for (let i = 0; i < 30; i++) {
        const res = await request(`http://${LB.host}:${LB.port}/unavailable/${i}`, { method, body: method === 'POST' || method === 'PUT' ? '{}' : undefined });
        await res.body.text();
        const key = `${res.statusCode} ${String(res.headers['x-served-by'])}`;
        out.set(key, (out.get(key) ?? 0) + 1);
      }
      return [...out.entries()].sort();
    };
    for (const method of ['GET', 'PUT', 'DELETE'] as const) {
      const got = await statuses(method);
      expect(got.every(([k]) => k.startsWith('200 ') && !k.endsWith('app-2')), `${method}: ${JSON.stringify(got)}`).toBe(true);
    }
    expect(await statuses('POST')).toEqual([['200 app-1', 10], ['200 app-3', 10], ['503 app-2', 10]]);

    // 8 workers in a bounded loop for ~2 s; app-2 is SIGKILLed after 300 ms
    const victim = children[1]!;
    let ok = 0;
    let failed = 0;
    const until = Date.now() + 2000;
    setTimeout(() => victim.kill('SIGKILL'), 300);
    await Promise.all(
      Array.from({ length: 8 }, async () => {
        for (let n = 0; n < 5000 && Date.now() < until; n++) {
          try {
            const res = await request(`http://${LB.host}:${LB.port}/`, { headersTimeout: 5000 });
            await res.body.text();
            if (res.statusCode === 200) ok++;
            else failed++;
          } catch {
            failed++;
          }
        }
      }),
    );
    expect(victim.signalCode).toBe('SIGKILL');
    expect(ok).toBeGreaterThan(200);
    expect(failed / (ok + failed)).toBeLessThan(0.01);
    lb.kill('SIGTERM');
  }, 30_000);
});
