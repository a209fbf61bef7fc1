// The app's /healthz against a real PostgreSQL behind a relay that slows or swallows the server's
// answers, as a degraded WAN or a hung primary would: a slow primary is not a dead one until the
// probe's deadline says so, /healthz never keeps a balancer's check waiting for a slow probe, and
// a hung primary is still found.
import { createServer, connect, type Server, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp, HEALTH_ANSWER_WAIT_MS, type BuiltApp } from './app.ts';
import { validateAppConfig } from './config.ts';
import { startPostgres, type StartedPostgres } from './testing/pg-fixture.ts';
import { testHost, waitUntil } from './testing/fixture-util.ts';

let pg: StartedPostgres;
let relay: Server;
let relayPort = 0;
/** added to every chunk the server sends back; null: the chunk is swallowed (a hung primary) */
let delayMs: number | null = 0;
const links = new Set<Socket>();

beforeAll(async () => {
  pg = await startPostgres({ name: 'health' });
  relay = createServer((down) => {
    const up = connect(pg.endpoint.port, pg.endpoint.host);
    links.add(down).add(up);
    down.pipe(up);
    up.on('data', (chunk: Buffer) => {
      const d = delayMs;
      if (d === null) return;
      if (d === 0) down.write(chunk);
      else setTimeout(() => down.writable && down.write(chunk), d);
    });
    const drop = () => (down.destroy(), up.destroy(), links.delete(down), links.delete(up));
    down.on('error', drop).on('close', drop);
    up.on('error', drop).on('close', drop);
  });
  await new Promise<void>((r) => relay.listen(0, testHost(), r));
  relayPort = (relay.address() as { port: number }).port;
}, 30_000);

afterAll(async () => {
  for (const l of links) l.destroy();
  relay?.close();
  await pg?.stop();
});

async function appWith(probeTimeoutMs?: number): Promise<BuiltApp> {
  const primary = { name: 'main', host: testHost(), port: relayPort };
  const store = { kind: 'postgres' as const, strategy: 'range' as const, poolSize: 1, ...(probeTimeoutMs ? { probeTimeoutMs } : {}), shards: [{ name: 'main', range: [0, null] as [number, null], primary, replicas: [] }] };
  return buildApp(validateAppConfig({ name: 'app-h', listen: { host: testHost(), port: 0 }, store, sessions: { kind: 'memory' }, cache: null }), { log: () => {} });
}

/** /healthz every 100 ms for `ms`: each status and how long it took to answer. */
async function checks(app: BuiltApp, ms: number): Promise<Array<{ status: number; tookMs: number }>> {
  const out: Array<{ status: number; tookMs: number }> = [];
  const end = Date.now() + ms;
  while (Date.now() < end) {
    const t0 = performance.now();
    const res = await app.fastify.inject({ method: 'GET', url: '/healthz' });
    out.push({ status: res.statusCode, tookMs: performance.now() - t0 });
    await new Promise((r) => setTimeout(r, 100));
  }
  return out;
}

describe('/healthz over a slow link to its primary', () => {
  it('with a 1 s probe deadline, a primary 600 ms away stays healthy and no check waits past the answer wait', async () => {
    delayMs = 0;
    const app = await appWith(1_000);
    try {
      await waitUntil('the first 200', 5_000, async () => (await app.fastify.inject({ method: 'GET', url: '/healthz' })).statusCode === 200);
      delayMs = 600;
      const seen = await checks(app, 3_000);
      console.log(`[health] 1 s deadline, +600 ms: ${seen.length} checks, statuses ${[...new Set(seen.map((c) => c.status))].join(',')}, slowest ${Math.max(...seen.map((c) => c.tookMs)).toFixed(0)} ms`);
      expect(seen.every((c) => c.status === 200)).toBe(true);
      expect(Math.max(...seen.map((c) => c.tookMs))).toBeLessThan(HEALTH_ANSWER_WAIT_MS + 150);
    } finally {
      delayMs = 0;
      await app.close();
    }
  });

  it('the control: with the single-site deadline (400 ms) the same link makes it say down', async () => {
    delayMs = 0;
    const app = await appWith();
    try {
      await waitUntil('the first 200', 5_000, async () => (await app.fastify.inject({ method: 'GET', url: '/healthz' })).statusCode === 200);
      delayMs = 600;
      const seen = await checks(app, 3_000);
      console.log(`[health] 400 ms deadline, +600 ms: statuses ${seen.map((c) => c.status).join(',')}`);
      expect(seen.some((c) => c.status === 503)).toBe(true);
    } finally {
      delayMs = 0;
      await app.close();
    }
  });

  it('a hung primary (answers swallowed) is found within the deadline plus one check', async () => {
    delayMs = 0;
    const app = await appWith(1_000);
    try {
      await waitUntil('the first 200', 5_000, async () => (await app.fastify.inject({ method: 'GET', url: '/healthz' })).statusCode === 200);
      delayMs = null;
      const t0 = Date.now();
      await waitUntil('/healthz to say 503', 3_000, async () => (await app.fastify.inject({ method: 'GET', url: '/healthz' })).statusCode === 503);
      const foundMs = Date.now() - t0;
      console.log(`[health] hung primary found after ${foundMs} ms`);
      // the probe's deadline (1 s + 50 ms slack), the 250 ms a state is reused, one poll
      expect(foundMs).toBeLessThan(1_600);
    } finally {
      delayMs = 0;
      await app.close();
    }
  });
});
