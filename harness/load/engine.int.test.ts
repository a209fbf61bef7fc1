// The engine against a real nginx behind a real Toxiproxy latency toxic of 200 ms: at 400 req/s
// the load needs ~80 connections at once. The engine used to size its connections to the rate (20
// at 400 req/s, 35 at the flagship's 694), which carries at most 100 req/s at 200 ms: the rest
// queued inside the generator and the client saw seconds where the server took 200 ms. Now it
// opens a connection whenever a request is due and every open one is busy; a cap set below what
// the latency needs (the negative control) still queues, and the results say so (limited).
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { workloads } from '../../loadtests/workloads.ts';
import { resolveBinary } from '../runtime/binaries.ts';
import { toxiproxyClient, type ToxiproxyClient } from '../runtime/toxiproxy-client.ts';
import { waitFor } from '../runtime/wait.ts';
import { runLoad } from './engine.ts';
import type { LoadOptions } from './types.ts';

const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
const toxiproxyBin = resolveBinary({ binary: 'toxiproxy-server', debianPackage: '' }, repoRoot);
const nginxBin = resolveBinary({ binary: 'nginx', debianPackage: 'nginx' }, repoRoot);
const IP = '127.216.1.1';
const NGINX = 18410;
const PROXY = 18411;
const API = 18412;
const RATE = 400;
const SECONDS = 4;
const TOXIC_MS = 200;

let dir = '';
let nginx: ChildProcess | null = null;
let toxiproxy: ChildProcess | null = null;
let api: ToxiproxyClient;

async function stop(child: ChildProcess | null): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const gone = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  await gone;
}

function options(over: Partial<LoadOptions> = {}): LoadOptions {
  const url = `http://${IP}:${PROXY}`;
  return {
    targets: { api: url, static: url },
    workload: workloads.static,
    users: 1000,
    stages: [{ durationS: 0, targetRate: RATE }, { durationS: SECONDS, targetRate: RATE }],
    seed: 7,
    timeoutMs: 3000,
    ...over,
  };
}

describe.skipIf(!toxiproxyBin || !nginxBin)('the engine against nginx behind a 200 ms Toxiproxy latency toxic', () => {
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'engine-int-'));
    await writeFile(
      join(dir, 'nginx.conf'),
      [
        'worker_processes 1;',
        'daemon off;',
        `pid ${dir}/nginx.pid;`,
        `error_log ${dir}/error.log warn;`,
        'events { worker_connections 4096; }',
        'http {',
        '  access_log off;',
        `  client_body_temp_path ${dir}/body;`,
        `  proxy_temp_path ${dir}/proxy;`,
        `  fastcgi_temp_path ${dir}/fastcgi;`,
        `  uwsgi_temp_path ${dir}/uwsgi;`,
        `  scgi_temp_path ${dir}/scgi;`,
        `  server { listen ${IP}:${NGINX}; location / { return 200 'ok'; } }`,
        '}',
        '',
      ].join('\n'),
    );
    nginx = spawn(nginxBin!, ['-p', dir, '-c', join(dir, 'nginx.conf'), '-e', join(dir, 'error.log')], { stdio: 'ignore' });
    toxiproxy = spawn(toxiproxyBin!, ['-host', IP, '-port', String(API)], { stdio: 'ignore', env: { ...process.env, LOG_LEVEL: 'warn' } });
    api = toxiproxyClient({ host: IP, port: API });
    await waitFor.http(`http://${IP}:${NGINX}/`, { status: 200, timeoutMs: 10_000 });
    await waitFor.http(`${api.url}/version`, { timeoutMs: 10_000 });
    await api.createProxy({ name: 'engine->nginx', listen: `${IP}:${PROXY}`, upstream: `${IP}:${NGINX}` });
    await api.addToxic('engine->nginx', { name: 'slow', type: 'latency', attributes: { latency: TOXIC_MS } });
  }, 30_000);

  afterAll(async () => {
    await stop(toxiproxy);
    await stop(nginx);
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('sends at the scheduled rate and measures ~the toxic, not a growing queue', async () => {
    const r = (await runLoad(options())).results;
    expect(r.totals.requests).toBe(RATE * SECONDS);
    expect(r.totals.dropped).toBe(0);
    expect(r.totals.errors).toBe(0);
    expect(r.latencyMs.p50!).toBeGreaterThanOrEqual(TOXIC_MS - 5);
    expect(r.latencyMs.p50!).toBeLessThan(TOXIC_MS + 100);
    expect(r.latencyMs.p99!).toBeLessThan(TOXIC_MS * 3);
    // every whole second after the first answered about the scheduled rate (a queue would cap it at 100)
    for (const p of r.series.slice(1, SECONDS)) expect(p.requests).toBeGreaterThan(RATE * 0.85);
    expect(r.generator.limited).toBe(false);
    expect(r.generator.saturated).toBe(false);
  }, 30_000);

  it('negative control: the old rate-sized cap (20 connections at 400 req/s) queues in the engine, and the results say so', async () => {
    const r = (await runLoad(options(), { connections: 20 })).results;
    // 20 connections carry 100 req/s at 200 ms: the wait inside the generator grows by ~0.75 s a second
    expect(r.latencyMs.p99!).toBeGreaterThan(1500);
    expect(r.generator.maxLagMs).toBeGreaterThan(1500);
    expect(r.generator.limited).toBe(true);
  }, 30_000);
});
