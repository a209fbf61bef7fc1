// The process entry as the runtime starts it: from the prebuilt bundle (node <bundle>/start.cjs,
// the native modules through NODE_PATH), and the old way, node --import tsx targets/app/server.ts.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { appStart } from '../services/app.ts';
import { ensureBundle, type AppBundle } from './bundle.ts';
import { PG_CREDENTIALS } from './config.ts';
import { startPostgres } from './testing/pg-fixture.ts';
import { freePort, spawnTracked, stopChild, testHost, waitUntil } from './testing/fixture-util.ts';

const host = testHost();

const repo = resolve(import.meta.dirname, '../..');
const dir = mkdtempSync(join(tmpdir(), 'bench-server-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let bundle: AppBundle;
beforeAll(async () => {
  // a private cache: this test builds from the checkout as it is, whatever .tools holds
  bundle = await ensureBundle({ repoRoot: repo, cacheDir: join(dir, 'bundles') });
}, 60_000);

it("the app's bundle has pg's Cloudflare probe patched out", () => {
  const code = readFileSync(bundle.bundle, 'utf8');
  expect(code).toMatch(/function isCloudflareRuntime\(\)\{return!1\}/);
});

it("the app's bundle loads node:http2 only on use (fastify's http2 option, never set)", () => {
  const code = readFileSync(bundle.bundle, 'utf8');
  expect(code).not.toMatch(/http2\s*=\s*require\("node:http2"\)/);
  expect(code).toMatch(/require\("node:http2"\)\.createServer\(/);
});

const ways = {
  bundle: () => appStart(repo, bundle, 'tsx'),
  tsx: () => appStart(repo, null, 'tsx'),
};

describe.each(Object.keys(ways) as Array<keyof typeof ways>)('server.ts from %s', (way) => {
  const start = () => ways[way]();

  it('starts from BENCH_APP_CONFIG, serves, and exits 0 on SIGTERM', async () => {
    const port = await freePort(host);
    const config = { name: 'app-p', listen: { host, port }, store: { kind: 'sqlite', path: join(dir, `${way}.db`) }, sessions: { kind: 'memory' }, cache: null };
    const { args, env } = start();
    if (way === 'bundle') expect(args).toEqual([bundle.file]);
    const child = spawnTracked(process.execPath, args, { cwd: repo, env: { ...process.env, ...env, BENCH_APP_CONFIG: JSON.stringify(config) }, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    try {
      const base = `http://${host}:${port}`;
      await waitUntil('the app', 10_000, async () => (await fetch(`${base}/healthz`)).status === 200);
      const created = await fetch(`${base}/api/users`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: 'P', email: 'p@x' }) });
      expect(created.status).toBe(201);
      expect(created.headers.get('x-served-by')).toBe('app-p');
      expect(stderr).toContain(`app-p: listening on http://${host}:${port}`);
      const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
      child.kill('SIGTERM');
      expect(await exited).toBe(0);
    } finally {
      await stopChild(child, 'SIGKILL');
    }
  });

  it('exits 2 with one line on a bad config', async () => {
    const { args, env } = start();
    const child = spawn(process.execPath, args, { cwd: repo, env: { ...process.env, ...env, BENCH_APP_CONFIG: '{"name":"x","listen":{"host":"127.0.0.1","port":1}}' }, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    const code = await new Promise<number | null>((r) => child.once('exit', (c) => r(c)));
    expect(code).toBe(2);
    expect(stderr.trim().split('\n')).toHaveLength(1);
    expect(stderr).toMatch(/^bench-app: invalid BENCH_APP_CONFIG: store: .* — fix the JSON/);
  });
});

describe('server.ts from the bundle, on Postgres', () => {
  // readiness stays honest while the pools' logins and the validators wait until after listening:
  // the first requests after the first 200 of /healthz are served, validated, and stored
  it('creates the schema, writes and reads a user through the bundled pg client', async () => {
    await using server = await startPostgres();
    const port = await freePort(host);
    const config = {
      name: 'app-pg',
      listen: { host, port },
      store: { kind: 'postgres', strategy: 'range', shards: [{ name: 'main', range: [0, null], primary: server.endpoint, replicas: [] }] },
      sessions: { kind: 'memory' },
      cache: null,
    };
    const { args, env } = appStart(repo, bundle, 'tsx');
    const child = spawnTracked(process.execPath, args, { cwd: repo, env: { ...process.env, ...env, BENCH_APP_CONFIG: JSON.stringify(config) }, stdio: ['ignore', 'ignore', 'pipe'] });
    try {
      const base = `http://${host}:${port}`;
      await waitUntil('the app', 10_000, async () => (await fetch(`${base}/healthz`)).status === 200);
      const post = (body: unknown) => fetch(`${base}/api/users`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
      // at once, before the app's warm-up (pools, validators) has run
      const [created, ...rest] = await Promise.all([post({ name: 'Q', email: 'q@x' }), post({ name: 'R', email: 'r@x' }), post({ email: 'no-name@x' }), fetch(`${base}/api/users/abc`)]);
      expect(created.status).toBe(201);
      expect(rest.map((r) => r.status)).toEqual([201, 400, 400]);
      const { id } = ((await created.json()) as { data: { id: number } }).data;
      const read = await fetch(`${base}/api/users/${id}`);
      expect(read.status).toBe(200);
      expect(await read.json()).toMatchObject({ source: 'database', data: { id, name: 'Q' } });
      // the row is in the server, not in some in-memory stand-in
      const c = new pg.Client({ host: server.endpoint.host, port: server.endpoint.port, ...PG_CREDENTIALS });
      await c.connect();
      try {
        expect((await c.query('SELECT name FROM users WHERE id = $1', [id])).rows).toEqual([{ name: 'Q' }]);
        // then, once listening for a while, its pool opens to its size (10) in the background
        const pooled = async () => (await c.query(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = 'bench-app:app-pg'`)).rows[0].n as number;
        await waitUntil('the pool to open', 15_000, async () => (await pooled()) === 10);
      } finally {
        await c.end();
      }
    } finally {
      await stopChild(child, 'SIGKILL');
    }
  }, 60_000);
});
