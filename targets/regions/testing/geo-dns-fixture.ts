// A geo DNS on the real PowerDNS for integration tests: the server (through the native runtime,
// in a private state root and a reserved slot), two "regions" that are plain HTTP listeners on
// their own loopback addresses (what the server's health checks probe), and a client source
// address per region. Killing a region closes its listener and every open connection.
import { createServer, type Server } from 'node:http';
import { readFileSync } from 'node:fs';
import type { Socket } from 'node:net';
import { join } from 'node:path';
import { createNativeRuntime } from '../../../harness/runtime/native.ts';
import { waitFor } from '../../../harness/runtime/wait.ts';
import { testRoot, type TestRoot } from '../../../harness/runtime/testing/run-helpers.ts';
import type { Deployment } from '../../../harness/runtime/types.ts';
import { plan, serviceOf, type DeployPlan, type Endpoint } from '../../../harness/topology/plan.ts';
import type { Topology } from '../../../harness/topology/types.ts';
import { everyViewAnswersFirstChoice, FIRST_CHOICE_SAMPLES, PDNS_DB_FILE, type PdnsConfig } from '../../services/pdns.ts';

export const GEO_NAME = 'api.bench.test';
const HEALTH_PORT = 18080;

export interface GeoDnsFixture {
  plan: DeployPlan;
  dns: Endpoint;
  /** region -> the address the DNS answers for it */
  entries: Record<'east' | 'west', string>;
  /** region -> a client source address inside that region's view */
  sources: Record<'east' | 'west', string>;
  /** requests the regions served (not the health checks), in order */
  served: Served[];
  /** the server's zone database (targets/services/pdns.ts updateGeoRecord rewrites its record) */
  zoneDb: string;
  /** the geo record's config, with addresses */
  config: PdnsConfig;
  /**
   * What to print when a test fails: the server's health-check verdicts (its UP/DOWN lines, with
   * the error) and when each region's listener last answered a check. A flip nobody asked for
   * (a CI run answered east's clients with west 9 ms after both answered their own) is then
   * explained by the run that met it.
   */
  healthReport(): string;
  kill(region: 'east' | 'west'): Promise<void>;
  revive(region: 'east' | 'west'): Promise<void>;
  dispose(): Promise<void>;
}

/** A request a region's listener answered, other than the DNS's health checks: where it came from. */
export interface Served {
  region: 'east' | 'west';
  /** the client's source address */
  from: string;
}

/** region -> when its listener answered the server's last health checks (ISO times, newest last) */
type CheckTimes = Record<'east' | 'west', string[]>;

function listen(host: string, region: 'east' | 'west', served: Served[], checks: CheckTimes): Promise<{ server: Server; sockets: Set<Socket> }> {
  const sockets = new Set<Socket>();
  const server = createServer((req, res) => {
    if (req.url !== '/health') served.push({ region, from: req.socket.remoteAddress ?? '' });
    else checks[region] = [...checks[region].slice(-4), new Date().toISOString()];
    res.end('ok');
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(HEALTH_PORT, host, () => resolve({ server, sockets }));
  });
}

export async function startGeoDns(name: string, ttlSeconds: number): Promise<GeoDnsFixture> {
  const t: TestRoot = await testRoot(name);
  const prefix = `127.${t.slot}`;
  const entries = { east: `${prefix}.200.1`, west: `${prefix}.201.1` };
  const sources = { east: `${prefix}.210.5`, west: `${prefix}.211.5` };
  const pdns: PdnsConfig = {
    zone: 'bench.test',
    name: 'api',
    ttlSeconds,
    health: { port: HEALTH_PORT, path: '/health' },
    views: [
      { name: 'east', clients: [`${prefix}.210.0/24`], prefer: [[entries.east], [entries.west]] },
      { name: 'west', clients: [`${prefix}.211.0/24`], prefer: [[entries.west], [entries.east]] },
    ],
  };
  const topology: Topology = {
    phase: 0,
    title: 'geo dns',
    regions: [{ name: 'global', wanLatencyMs: 0 }],
    hosts: [{ name: 'dns', size: { cpus: 0.25, memoryMb: 256 }, region: 'global' }],
    services: [{ name: 'geo-dns', kind: 'pdns', host: 'dns', role: 'dns', dependsOn: [], config: { kind: 'pdns', pdns } }],
    entry: 'geo-dns',
  };
  const p = plan(topology, { runId: `${name}-${process.pid}`, slot: t.slot, proxies: false, prometheus: false });
  const served: Served[] = [];
  const checks: CheckTimes = { east: [], west: [] };
  const servers = { east: await listen(entries.east, 'east', served, checks), west: await listen(entries.west, 'west', served, checks) };
  let dep: Deployment | undefined;
  try {
    dep = await createNativeRuntime({ stateRoot: t.root }).up(p, { runDir: join(t.root, 'run'), progress: () => {} });
  } catch (err) {
    for (const s of Object.values(servers)) s.server.close();
    await t.dispose();
    throw err;
  }
  // Until a candidate's first health check has passed PowerDNS counts it down, and with every
  // candidate down it answers one of them at random (targets/services/pdns.ts): wait until each
  // view answers its own region FIRST_CHOICE_SAMPLES times in a row. Asked once, as before, the
  // wait passed by chance before any check had, and two CI runs met random answers in the tests.
  const dnsAt = serviceOf(p, 'geo-dns').address;
  try {
    await waitFor.until(`the geo DNS answering each region with its own, ${FIRST_CHOICE_SAMPLES} times in a row`, async () => ((await everyViewAnswersFirstChoice(dnsAt, pdns)) ? true : undefined), { timeoutMs: 15_000 });
  } catch (err) {
    await dep.down();
    for (const s of Object.values(servers)) s.server.close();
    await t.dispose();
    throw err;
  }
  const close = (r: 'east' | 'west') =>
    new Promise<void>((resolve) => {
      const { server, sockets } = servers[r];
      server.close(() => resolve());
      for (const s of sockets) s.destroy();
    });
  return {
    plan: p,
    dns: serviceOf(p, 'geo-dns').address,
    entries,
    sources,
    served,
    zoneDb: join(dep.service('geo-dns').dataDir, PDNS_DB_FILE),
    config: pdns,
    healthReport() {
      let log = '';
      try {
        log = readFileSync(join(t.root, 'run', 'logs', 'geo-dns.log'), 'utf8');
      } catch (e) {
        log = `(no server log: ${(e as Error).message})`;
      }
      const verdicts = log.split('\n').filter((l) => l.includes('LUA record monitoring') || l.startsWith('('));
      return [`geo DNS health checks at ${new Date().toISOString()}:`, ...verdicts, `checks answered: east ${checks.east.join(' ')}; west ${checks.west.join(' ')}`].join('\n  ');
    },
    kill: close,
    async revive(r) {
      servers[r] = await listen(entries[r], r, served, checks);
    },
    async dispose() {
      await dep?.down();
      await Promise.all((['east', 'west'] as const).filter((r) => servers[r].server.listening).map(close));
      await t.dispose();
    },
  };
}
