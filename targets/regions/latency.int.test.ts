// The WAN baseline on the real toxiproxy-server: a cross-region edge pays the pair's latency both
// ways; a fault's latency adds to it and its revert leaves it; the faults' reset (chaos/toxiproxy.ts)
// clears what faults left and keeps the baseline, where Toxiproxy's own POST /reset (the negative
// control) would take it away.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer, request, type Server } from 'node:http';
import { fileURLToPath } from 'node:url';
import { resolveBinary } from '../../harness/runtime/binaries.ts';
import { allocateSlot, releaseSlot } from '../../harness/runtime/state.ts';
import { toxiproxyClient, type ToxiproxyClient } from '../../harness/runtime/toxiproxy-client.ts';
import { waitFor } from '../../harness/runtime/wait.ts';
import { plan, type DeployPlan, type Endpoint } from '../../harness/topology/plan.ts';
import type { Topology } from '../../harness/topology/types.ts';
import { makeFault } from '../../chaos/faults/index.ts';
import { faultContext } from '../../chaos/fault-runner.ts';
import { fakeDeployment } from '../../chaos/testing/fakes.ts';
import { chaosToxiproxy } from '../../chaos/toxiproxy.ts';
import { fakeKind, fakeService, withKinds } from '../services/testing/fake-kind.ts';
import { proxySpecs } from '../services/toxiproxy.ts';
import { applyBaseline, baselineToxics, crossRegionEdges, DEFAULT_ONE_WAY_MS, isBaselineToxic } from './latency.ts';

const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
const bin = resolveBinary({ binary: 'toxiproxy-server', debianPackage: '' }, repoRoot);

/** a client in us-east reaching a server in eu (WAN) and one in us-east (LAN) */
const topology: Topology = {
  phase: 0,
  title: 'wan baseline',
  regions: [{ name: 'us-east', wanLatencyMs: 0 }, { name: 'eu', wanLatencyMs: 0 }],
  hosts: [
    { name: 'client-host', size: { cpus: 1, memoryMb: 256 }, region: 'us-east' },
    { name: 'eu-host', size: { cpus: 1, memoryMb: 256 }, region: 'eu' },
    { name: 'east-host', size: { cpus: 1, memoryMb: 256 }, region: 'us-east' },
  ],
  services: [
    { name: 'web-eu', kind: 'nginx', host: 'eu-host', role: 'origin', dependsOn: [], config: { kind: 'nginx', nginx: { origin: 'web-eu' } } },
    { name: 'web-east', kind: 'nginx', host: 'east-host', role: 'origin', dependsOn: [], config: { kind: 'nginx', nginx: { origin: 'web-east' } } },
    fakeService('client', { name: 'client', host: 'client-host', role: 'client', dependsOn: ['web-eu', 'web-east'] }),
  ],
  entry: 'client',
};

/** The best of three GETs on fresh connections (the machine's noise only ever adds). */
async function bestMs(at: Endpoint): Promise<number> {
  let best = Infinity;
  for (let i = 0; i < 3; i++) {
    best = Math.min(best, await new Promise<number>((resolve, reject) => {
      const t0 = performance.now();
      const req = request({ host: at.host, port: at.port, path: '/', agent: false, timeout: 3_000 }, (res) => {
        res.resume();
        res.on('end', () => resolve(performance.now() - t0));
      });
      req.on('timeout', () => req.destroy(new Error('timeout')));
      req.on('error', reject);
      req.end();
    }));
  }
  return best;
}

describe('WAN baseline toxics (real toxiproxy-server)', () => {
  let slot: number;
  let p: DeployPlan;
  let server: ChildProcess;
  const upstreams: Server[] = [];
  let api: ToxiproxyClient;
  let wan: Endpoint;
  let lan: Endpoint;
  const WAN_MS = DEFAULT_ONE_WAY_MS.get('eu|us-east')!;

  beforeAll(async () => {
    if (!bin) throw new Error('toxiproxy-server not found: run bench setup');
    slot = await allocateSlot({ runId: 'regions-latency-int' });
    p = plan(topology, { runId: 'regions-latency', slot, proxies: true, prometheus: false, kinds: withKinds(fakeKind('client')) });
    for (const name of ['web-eu', 'web-east']) {
      const at = p.services.find((s) => s.name === name)!.address;
      const srv = createServer((_req, res) => res.end('ok'));
      await new Promise<void>((r) => srv.listen(at.port, at.host, () => r()));
      upstreams.push(srv);
    }
    const tp = p.toxiproxy!.api;
    server = spawn(bin!, ['-host', tp.host, '-port', String(tp.port)], { stdio: 'ignore', env: { ...process.env, LOG_LEVEL: 'warn' } });
    api = toxiproxyClient(tp);
    await waitFor.http(`${api.url}/version`, { timeoutMs: 10_000 });
    await api.populate(proxySpecs(p));
    wan = p.edges.find((e) => e.name === 'client->web-eu')!.listen;
    lan = p.edges.find((e) => e.name === 'client->web-east')!.listen;
  }, 30_000);

  afterAll(async () => {
    server?.kill('SIGKILL');
    await Promise.all(upstreams.map((s) => new Promise<void>((r) => (s.closeAllConnections(), s.close(() => r())))));
    if (slot) await releaseSlot(slot);
  });

  const baselineOn = async () => (await api.listProxies()).flatMap((x) => x.toxics.filter((t) => isBaselineToxic(t.name)).map((t) => `${x.name}:${t.name}`)).sort();

  it('puts the pair latency on the cross-region edge only, both ways', async () => {
    const toxics = baselineToxics(crossRegionEdges(p), DEFAULT_ONE_WAY_MS);
    await applyBaseline(chaosToxiproxy(api), toxics);
    await applyBaseline(chaosToxiproxy(api), toxics); // a second apply adds nothing
    expect(await baselineOn()).toEqual(['client->web-eu:baseline.wan.downstream', 'client->web-eu:baseline.wan.upstream']);
    const w = await bestMs(wan);
    const l = await bestMs(lan);
    console.log(`[wan] us-east -> eu GET ${w.toFixed(1)} ms (one way ${WAN_MS} ms), us-east -> us-east ${l.toFixed(1)} ms`);
    expect(w).toBeGreaterThanOrEqual(2 * WAN_MS);
    expect(l).toBeLessThan(WAN_MS);
  });

  it('a latency fault adds to the baseline and its revert leaves the baseline', async () => {
    const ctx = faultContext({ deployment: fakeDeployment(p), plan: p, toxiproxy: chaosToxiproxy(api) });
    const applied = await makeFault('latency', 'client->web-eu', ['100ms'], p).apply(ctx);
    expect(await bestMs(wan)).toBeGreaterThanOrEqual(2 * WAN_MS + 100);
    await applied.revert();
    expect(await baselineOn()).toHaveLength(2);
    const w = await bestMs(wan);
    expect(w).toBeGreaterThanOrEqual(2 * WAN_MS);
    expect(w).toBeLessThan(2 * WAN_MS + 100);
  });

  it("the faults' reset clears what faults left and keeps the baseline", async () => {
    const chaos = chaosToxiproxy(api);
    await chaos.addToxic('client->web-eu', { name: 'bench.left-over.upstream', type: 'latency', stream: 'upstream', toxicity: 1, attributes: { latency: 500 } });
    await chaos.setEnabled('client->web-east', false);
    await chaos.resetAll();
    const proxies = await api.listProxies();
    expect(proxies.flatMap((x) => x.toxics.filter((t) => !isBaselineToxic(t.name)).map((t) => t.name))).toEqual([]);
    expect(proxies.filter((x) => !x.enabled).map((x) => x.name)).toEqual([]);
    expect(await baselineOn()).toHaveLength(2);
    expect(await bestMs(wan)).toBeGreaterThanOrEqual(2 * WAN_MS);
  });

  it("negative control: Toxiproxy's own reset takes the baseline away", async () => {
    await api.resetAll();
    expect(await baselineOn()).toEqual([]);
    expect(await bestMs(wan)).toBeLessThan(2 * WAN_MS);
  });
});
