// Redis as the recipe starts it, through the native runtime: it refuses a client without the
// run's password (NOAUTH), keeps that password in a 0600 file and off every command line and kept
// file, its exporter still reads it (redis_up 1), and the app logs in and keeps sessions in it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { readdir, readFile, stat } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { createNativeRuntime } from '../../harness/runtime/native.ts';
import { testRoot, type TestRoot } from '../../harness/runtime/testing/run-helpers.ts';
import type { Deployment } from '../../harness/runtime/types.ts';
import { plan, type DeployPlan, type Endpoint } from '../../harness/topology/plan.ts';
import type { Topology } from '../../harness/topology/types.ts';
import { buildApp } from '../app/app.ts';
import { REDIS_PASSWORD, validateAppConfig } from '../app/config.ts';
import { seedSqlite } from '../app/seed.ts';
import { REDIS_CONFIG_FILE, redisPing } from './redis.ts';

const topology: Topology = {
  phase: 0,
  title: 'redis with a password',
  regions: [{ name: 'local', wanLatencyMs: 0 }],
  hosts: [{ name: 'cache-host', size: { cpus: 0.25, memoryMb: 256 }, region: 'local' }],
  services: [{ name: 'sessions', kind: 'redis', host: 'cache-host', role: 'sessions', dependsOn: [], config: { kind: 'redis' } }],
  entry: 'sessions',
};

/** Sends raw RESP commands on a fresh connection and returns the first `lines` reply lines. */
function raw(at: Endpoint, commands: string, lines: number): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const s = connect(at);
    let reply = '';
    const timer = setTimeout(() => {
      s.destroy();
      reject(new Error(`no reply in time: ${JSON.stringify(reply)}`));
    }, 2_000);
    s.on('data', (d) => {
      reply += d.toString();
      const got = reply.split('\r\n');
      if (got.length > lines) {
        clearTimeout(timer);
        s.destroy();
        resolve(got.slice(0, lines));
      }
    });
    s.once('error', reject);
    s.write(commands);
  });
}

let t: TestRoot;
let p: DeployPlan;
let dep: Deployment | undefined;
let redis: Endpoint;

beforeAll(async () => {
  t = await testRoot('redis');
  p = plan(topology, { runId: `redis-${process.pid}`, slot: t.slot, proxies: false, prometheus: true });
  dep = await createNativeRuntime({ stateRoot: t.root }).up(p, { runDir: join(t.root, 'run'), progress: () => {} });
  redis = p.services.find((s) => s.name === 'sessions')!.address;
}, 60_000);

afterAll(async () => {
  await dep?.down();
  await t?.dispose();
});

describe('redis recipe: requirepass', () => {
  it('refuses a client without the password (NOAUTH) and one with a wrong password', async () => {
    expect(await raw(redis, 'SET k v\r\n', 1)).toEqual([expect.stringMatching(/^-NOAUTH /)]);
    expect(await raw(redis, 'AUTH nope\r\nGET k\r\n', 2)).toEqual([expect.stringMatching(/^-WRONGPASS /), expect.stringMatching(/^-NOAUTH /)]);
    await expect(redisPing(redis, 1_000, null)).rejects.toThrow(/NOAUTH/);
    await expect(redisPing(redis, 1_000, 'wrong-password')).rejects.toThrow(/WRONGPASS/);
    // the recipe's own check authenticates with the run's password
    await redisPing(redis, 1_000);
    expect(await raw(redis, `AUTH ${REDIS_PASSWORD}\r\nSET k v\r\n`, 2)).toEqual(['+OK', '+OK']);
  });

  it('keeps the password in a 0600 file, off the command line and out of the kept launch files', async () => {
    const conf = join(dep!.service('sessions').dir!, REDIS_CONFIG_FILE);
    expect((await stat(conf)).mode & 0o777).toBe(0o600);
    expect(await readFile(conf, 'utf8')).toContain(`requirepass "${REDIS_PASSWORD}"`);
    const pid = Number(dep!.service('sessions').id);
    // redis-server retitles itself, so /proc shows "redis-server ip:port"; the kept launch shows the args
    expect(await readFile(`/proc/${pid}/cmdline`, 'utf8')).not.toContain(REDIS_PASSWORD);
    expect(JSON.parse(await readFile(join(t.root, 'run', 'config', 'sessions', 'launch.json'), 'utf8')).args[0]).toBe(conf);
    const exporter = p.services.find((s) => s.kind === 'redis-exporter')!;
    const exporterCmdline = await readFile(`/proc/${dep!.service(exporter.name).id}/cmdline`, 'utf8');
    expect(exporterCmdline).not.toContain(REDIS_PASSWORD);
    // nothing the run directory keeps (launch.json, copied configs, logs) holds it
    const kept = await readdir(join(t.root, 'run'), { recursive: true, withFileTypes: true });
    const files = kept.filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name));
    expect(files).toContain(join(t.root, 'run', 'config', 'sessions', 'launch.json'));
    expect(files).toContain(join(t.root, 'run', 'config', exporter.name, 'launch.json'));
    for (const f of files) expect(await readFile(f, 'utf8'), f).not.toContain(REDIS_PASSWORD);
  });

  it('its exporter authenticates (redis_up 1)', async () => {
    const exporter = p.services.find((s) => s.kind === 'redis-exporter')!.address;
    const text = await (await request(`http://${exporter.host}:${exporter.port}/metrics`)).body.text();
    expect(text).toMatch(/^redis_up 1$/m);
  });

  it('the app logs in and reads its session back through it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'bench-redis-app-'));
    try {
      await seedSqlite(join(dir, 'users.db'), 10, 1);
      const app = await buildApp(
        validateAppConfig({
          name: 'app-1',
          listen: { host: '127.0.0.1', port: 0 },
          store: { kind: 'sqlite', path: join(dir, 'users.db') },
          sessions: { kind: 'redis', redis: { name: 'sessions', ...redis } },
          cache: null,
        }),
        { log: () => {} },
      );
      try {
        const health = await app.fastify.inject({ method: 'GET', url: '/healthz' });
        expect(health.json().checks['redis sessions']).toBe(true);
        const login = await app.fastify.inject({ method: 'POST', url: '/api/login', payload: { id: 3 } });
        expect(login.statusCode).toBe(200);
        const cookie = String(login.headers['set-cookie']).split(';')[0]!;
        const me = await app.fastify.inject({ method: 'GET', url: '/api/me', headers: { cookie } });
        expect(me.statusCode).toBe(200);
        expect(me.json().user.id).toBe(3);
        const key = `session:${cookie.slice('sid='.length)}`;
        expect(await raw(redis, `AUTH ${REDIS_PASSWORD}\r\nEXISTS ${key}\r\n`, 2)).toEqual(['+OK', ':1']);
      } finally {
        await app.close();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
