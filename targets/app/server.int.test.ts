// The process entry as the runtime starts it: node --import tsx targets/app/server.ts.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { freePort, spawnTracked, stopChild, waitUntil } from './testing/fixture-util.ts';

const repo = resolve(import.meta.dirname, '../..');
const dir = mkdtempSync(join(tmpdir(), 'bench-server-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const args = ['--import', 'tsx', 'targets/app/server.ts'];

describe('server.ts', () => {
  it('starts from BENCH_APP_CONFIG, serves, and exits 0 on SIGTERM', async () => {
    const port = await freePort('127.0.0.1');
    const config = { name: 'app-p', listen: { host: '127.0.0.1', port }, store: { kind: 'sqlite', path: join(dir, 'u.db') }, sessions: { kind: 'memory' }, cache: null };
    const child = spawnTracked(process.execPath, args, { cwd: repo, env: { ...process.env, BENCH_APP_CONFIG: JSON.stringify(config) }, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    try {
      const base = `http://127.0.0.1:${port}`;
      await waitUntil('the app', 10_000, async () => (await fetch(`${base}/healthz`)).status === 200);
      const created = await fetch(`${base}/api/users`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: 'P', email: 'p@x' }) });
      expect(created.status).toBe(201);
      expect(created.headers.get('x-served-by')).toBe('app-p');
      expect(stderr).toContain(`app-p: listening on http://127.0.0.1:${port}`);
      const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
      child.kill('SIGTERM');
      expect(await exited).toBe(0);
    } finally {
      await stopChild(child, 'SIGKILL');
    }
  });

  it('exits 2 with one line on a bad config', async () => {
    const child = spawn(process.execPath, args, { cwd: repo, env: { ...process.env, BENCH_APP_CONFIG: '{"name":"x","listen":{"host":"127.0.0.1","port":1}}' }, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    const code = await new Promise<number | null>((r) => child.once('exit', (c) => r(c)));
    expect(code).toBe(2);
    expect(stderr.trim().split('\n')).toHaveLength(1);
    expect(stderr).toMatch(/^bench-app: invalid BENCH_APP_CONFIG: store: .* — fix the JSON/);
  });
});
