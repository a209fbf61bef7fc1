// Every Toxiproxy fault against the real toxiproxy-server, with a real upstream (a small HTTP
// server in the test): each one is applied, its effect is measured through the proxy, it is
// reverted, and GET /proxies shows nothing left.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { request, createServer, type Server } from 'node:http';
import { fileURLToPath } from 'node:url';
import { resolveBinary } from '../../harness/runtime/binaries.ts';
import { allocateSlot, releaseSlot } from '../../harness/runtime/state.ts';
import { toxiproxyClient, type ToxiproxyClient } from '../../harness/runtime/toxiproxy-client.ts';
import { waitFor } from '../../harness/runtime/wait.ts';
import { plan, type DeployPlan, type Endpoint } from '../../harness/topology/plan.ts';
import type { Topology } from '../../harness/topology/types.ts';
import { proxySpecs } from '../../targets/services/toxiproxy.ts';
import { fakeKind, fakeService, withKinds } from '../../targets/services/testing/fake-kind.ts';
import { faultContext, FaultRunner } from '../fault-runner.ts';
import { fakeDeployment } from '../testing/fakes.ts';
import { chaosToxiproxy } from '../toxiproxy.ts';
import { makeFault } from './index.ts';
import type { FaultContext } from './types.ts';

const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
const bin = resolveBinary({ binary: 'toxiproxy-server', debianPackage: '' }, repoRoot) ?? '/tmp/tpbuild/bin/server';
const BODY = 64_000;

/** client -> web and client -> web-2, on three hosts: two edges to break, two hosts to partition. */
const topology: Topology = {
  phase: 2,
  title: 'toxiproxy faults',
  regions: [{ name: 'local', wanLatencyMs: 0 }],
  hosts: [
    { name: 'client-host', size: { cpus: 1, memoryMb: 256 }, region: 'local' },
    { name: 'web-host', size: { cpus: 1, memoryMb: 256 }, region: 'local' },
    { name: 'web-host-2', size: { cpus: 1, memoryMb: 256 }, region: 'local' },
  ],
  services: [
    { name: 'web', kind: 'nginx', host: 'web-host', role: 'origin', dependsOn: [], config: { kind: 'nginx', nginx: { origin: 'web' } } },
    { name: 'web-2', kind: 'nginx', host: 'web-host-2', role: 'origin', dependsOn: [], config: { kind: 'nginx', nginx: { origin: 'web' } } },
    fakeService('worker', { name: 'client', host: 'client-host', role: 'client', dependsOn: ['web', 'web-2'] }),
  ],
  entry: 'client',
};

interface Fetched {
  ms: number;
  status: number;
  bytes: number;
  error?: string;
}

/** One GET on a fresh connection through `at`, bounded by `timeoutMs`. */
function get(at: Endpoint, timeoutMs = 3_000): Promise<Fetched> {
  return new Promise((resolve) => {
    const t0 = performance.now();
    let bytes = 0;
    const done = (r: Omit<Fetched, 'ms'>) => resolve({ ms: performance.now() - t0, ...r });
    const req = request({ host: at.host, port: at.port, path: '/', agent: false, timeout: timeoutMs }, (res) => {
      res.on('data', (c: Buffer) => (bytes += c.length));
      res.on('end', () => done({ status: res.statusCode ?? 0, bytes }));
      res.on('error', (e) => done({ status: res.statusCode ?? 0, bytes, error: e.message }));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', (e) => done({ status: 0, bytes, error: (e as NodeJS.ErrnoException).code ?? e.message }));
    req.end();
  });
}

describe('Toxiproxy faults (real toxiproxy-server)', () => {
  let slot: number;
  let p: DeployPlan;
  let server: ChildProcess;
  let upstreams: Server[] = [];
  let api: ToxiproxyClient;
  let ctx: FaultContext;
  let edge: Endpoint;

  beforeAll(async () => {
    slot = await allocateSlot({ runId: 'chaos-toxiproxy-int' });
    p = plan(topology, { runId: 'chaos-tp', slot, proxies: true, prometheus: false, kinds: withKinds(fakeKind('worker')) });
    for (const name of ['web', 'web-2']) {
      const at = p.services.find((s) => s.name === name)!.address;
      const srv = createServer((_req, res) => res.writeHead(200, { 'content-type': 'text/plain' }).end('x'.repeat(BODY)));
      await new Promise<void>((r) => srv.listen(at.port, at.host, () => r()));
      upstreams.push(srv);
    }
    const tp = p.toxiproxy!.api;
    server = spawn(bin, ['-host', tp.host, '-port', String(tp.port)], { stdio: 'ignore', env: { ...process.env, LOG_LEVEL: 'warn' } });
    api = toxiproxyClient(tp);
    await waitFor.http(`${api.url}/version`, { timeoutMs: 10_000 });
    await api.populate(proxySpecs(p));
    ctx = faultContext({ deployment: fakeDeployment(p), plan: p, toxiproxy: chaosToxiproxy(api) });
    edge = p.edges.find((e) => e.name === 'client->web')!.listen;
  }, 30_000);

  afterAll(async () => {
    server?.kill('SIGKILL');
    await Promise.all(upstreams.map((s) => new Promise<void>((r) => (s.closeAllConnections(), s.close(() => r())))));
    if (slot) await releaseSlot(slot);
  });

  /** Nothing of ours left: no toxic on any proxy, every proxy enabled. */
  async function expectClean() {
    const proxies = await api.listProxies();
    expect(proxies.flatMap((x) => x.toxics.map((t) => `${x.name}:${t.name}`))).toEqual([]);
    expect(proxies.filter((x) => !x.enabled).map((x) => x.name)).toEqual([]);
    const ok = await get(edge);
    expect([ok.status, ok.bytes]).toEqual([200, BODY]);
  }

  it('the proxy relays the upstream before any fault', async () => {
    const r = await get(edge);
    expect([r.status, r.bytes]).toEqual([200, BODY]);
    expect(r.ms).toBeLessThan(500);
  });

  it('latency (with jitter) delays the answer, and goes away', async () => {
    const a = await makeFault('latency', 'client->web', ['300ms', 'jitter=20ms'], p).apply(ctx);
    const proxy = (await api.getProxy('client->web')).toxics;
    expect(proxy.map((t) => [t.type, t.attributes])).toEqual([['latency', { latency: 300, jitter: 20 }]]);
    expect((await get(edge)).ms).toBeGreaterThanOrEqual(270);
    await a.revert();
    expect((await get(edge)).ms).toBeLessThan(250);
    await expectClean();
  });

  it('bandwidth slows a 64 KB answer to the rate', async () => {
    const a = await makeFault('bandwidth', 'client->web', ['64KB/s'], p).apply(ctx);
    const r = await get(edge);
    expect(r.bytes).toBe(BODY);
    expect(r.ms).toBeGreaterThanOrEqual(700); // 64 KB at 64 KB/s: ~1 s
    await a.revert();
    await expectClean();
  });

  it('timeout black-holes the edge: no answer until reverted', async () => {
    const a = await makeFault('timeout', 'client->web', [], p).apply(ctx);
    const r = await get(edge, 800);
    expect(r.status).toBe(0);
    expect(r.error).toMatch(/timeout|ECONNRESET|socket hang up/);
    await a.revert();
    await expectClean();
  });

  it('reset-peer resets the connection', async () => {
    const a = await makeFault('reset-peer', 'client->web', [], p).apply(ctx);
    const r = await get(edge);
    expect(r.status === 0 || r.bytes < BODY).toBe(true);
    expect(r.error).toBeDefined();
    await a.revert();
    await expectClean();
  });

  it('slow-close holds a closing connection open', async () => {
    const a = await makeFault('slow-close', 'client->web', ['1s'], p).apply(ctx);
    const t = (await api.getProxy('client->web')).toxics;
    expect(t.map((x) => [x.type, x.stream, x.attributes])).toEqual([['slow_close', 'downstream', { delay: 1000 }]]);
    // the answer itself still arrives whole
    expect((await get(edge)).bytes).toBe(BODY);
    await a.revert();
    await expectClean();
  });

  it('slicer cuts the answer into small delayed chunks that still add up', async () => {
    const a = await makeFault('slicer', 'client->web', ['1000', '100', '1ms'], p).apply(ctx);
    const r = await get(edge);
    expect([r.status, r.bytes]).toEqual([200, BODY]);
    expect(r.ms).toBeGreaterThanOrEqual(30); // ~64 chunks, 1 ms apart
    await a.revert();
    await expectClean();
  });

  it('limit-data closes the connection after the byte budget', async () => {
    const a = await makeFault('limit-data', 'client->web', ['10KB'], p).apply(ctx);
    const r = await get(edge);
    expect(r.bytes).toBeLessThan(BODY);
    await a.revert();
    await expectClean();
  });

  it('edge-down refuses connections until reverted', async () => {
    const a = await makeFault('edge-down', 'client->web', [], p).apply(ctx);
    const r = await get(edge);
    expect(r.error).toBe('ECONNREFUSED');
    await a.revert();
    await expectClean();
  });

  it('partition cuts only the edges that cross, and heals', async () => {
    const a = await makeFault('partition', 'client-host|web-host-2', [], p).apply(ctx);
    expect((await api.listProxies()).map((x) => [x.name, x.enabled]).sort()).toEqual([
      ['client->web', true],
      ['client->web-2', false],
    ]);
    const other = p.edges.find((e) => e.name === 'client->web-2')!.listen;
    expect((await get(other)).error).toBe('ECONNREFUSED');
    expect((await get(edge)).status).toBe(200);
    await a.revert();
    await expectClean();
  });

  it('a FaultRunner disposed mid-window reverts every toxic it applied', async () => {
    const runner = new FaultRunner({ ctx });
    runner.start(
      [
        { fault: makeFault('latency', 'client->*', ['100ms'], p), startS: 0, durationS: 60 },
        { fault: makeFault('edge-down', 'client->web-2', [], p), startS: 0, durationS: 60 },
      ],
      Date.now(),
    );
    await expect.poll(async () => (await api.listProxies()).flatMap((x) => x.toxics).length, { timeout: 5_000 }).toBe(2);
    await runner[Symbol.asyncDispose]();
    expect(runner.errors).toEqual([]);
    expect(runner.windows.every((w) => w.endS !== null)).toBe(true);
    await expectClean();
  });
});
