// Toxiproxy on the control host: one proxy per proxied edge of the plan, named after the edge
// ("app->pg-primary"), so every drill can slow, cut or partition any link between tiers. The
// proxies come from a config file read at startup, so a Toxiproxy that a drill killed and the
// runtime restarted has all its edges again.
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { hostPort, toxiproxyClient, type ProxySpec, type ToxiproxyClient } from '../../harness/runtime/toxiproxy-client.ts';
import { waitFor } from '../../harness/runtime/wait.ts';
import type { DeployPlan } from '../../harness/topology/plan.ts';
import type { TopologyToxic } from '../../harness/topology/types.ts';
import { applyBaseline, type BaselineApi } from '../regions/latency.ts';
import type { ComponentKind } from './types.ts';

/** The Toxiproxy release `bench setup` builds (Debian does not package it). */
export const TOXIPROXY_VERSION = 'v2.12.0';

const toxiproxyConfig = z.object({ kind: z.literal('toxiproxy') }).strict();
declare module '../../harness/topology/types.ts' {
  interface ServiceConfigs {
    toxiproxy: Omit<z.infer<typeof toxiproxyConfig>, 'kind'>;
  }
}

export const TOXIPROXY_CONFIG_FILE = 'toxiproxy.json';

/** The topology's toxics whose edge or client listener has a proxy in this plan. Pure. */
export function topologyToxics(plan: DeployPlan): TopologyToxic[] {
  const proxied = new Set(proxySpecs(plan).map((p) => p.name));
  return (plan.topology.toxics ?? []).filter((t) => proxied.has(t.proxy));
}

/** The part of the Toxiproxy API applyBaseline uses. */
export const baselineApiOf = (api: ToxiproxyClient): BaselineApi => ({ listProxies: () => api.listProxies(), addToxic: async (proxy, t) => void (await api.addToxic(proxy, t)) });

/** One proxy per proxied edge and per client listener of the plan. Pure. */
export function proxySpecs(plan: Pick<DeployPlan, 'edges' | 'listeners'>): ProxySpec[] {
  return [...plan.edges, ...(plan.listeners ?? [])].filter((e) => e.proxied).map((e) => ({ name: e.name, listen: hostPort(e.listen), upstream: hostPort(e.upstream), enabled: true }));
}

export const toxiproxyRecipe: ComponentKind = {
  kind: 'toxiproxy',
  config: toxiproxyConfig,
  ports: { main: 8474 },
  tier: 'instrument',
  requires: [
    {
      binary: 'toxiproxy-server',
      // not packaged by Debian: `bench setup` builds it into .tools/bin
      debianPackage: '',
      inImage: '/toxiproxy',
      doctor: {
        name: 'Toxiproxy',
        neededFor: 'every network edge; chaos drills',
        versionArgs: ['-version'],
        install: { kind: 'go', module: `github.com/Shopify/toxiproxy/v2/cmd/server@${TOXIPROXY_VERSION}`, binary: 'server', buildName: 'toxiproxy-server' },
      },
    },
  ],
  image: { official: `ghcr.io/shopify/toxiproxy:${TOXIPROXY_VERSION.slice(1)}` },
  // it serves /metrics on its API port (started with -proxy-metrics)
  scrape: { job: 'toxiproxy' },
  async prepare(ctx) {
    await writeFile(join(ctx.dir, TOXIPROXY_CONFIG_FILE), JSON.stringify(proxySpecs(ctx.plan), null, 2) + '\n');
  },
  launch(ctx) {
    const { host, port } = ctx.service.address;
    return {
      command: ctx.bin('toxiproxy-server'),
      // -proxy-metrics: per-proxy byte counters on the API's /metrics for Prometheus;
      // -seed: toxics with a toxicity below 1 pick the same connections in every run
      args: ['-host', host, '-port', String(port), '-config', join(ctx.dir, TOXIPROXY_CONFIG_FILE), '-proxy-metrics', '-seed', '1'],
      cwd: ctx.dir,
      // info logs every client connection: under load that is a line per request
      env: { LOG_LEVEL: 'warn' },
    };
  },
  async ready(ctx) {
    const api = toxiproxyClient(ctx.service.address);
    await waitFor.http(`${api.url}/version`, { timeoutMs: 15_000, signal: ctx.signal });
    // The config file is loaded before the API listens: once it answers, the proxies are final.
    // One whose listen address was taken is missing (the log says why).
    const have = new Set((await api.listProxies()).map((p) => p.name));
    const missing = proxySpecs(ctx.plan).filter((p) => !have.has(p.name));
    if (missing.length > 0) {
      throw new Error(`proxies not created: ${missing.map((p) => `${p.name} on ${p.listen}`).join(', ')} (is another run holding these addresses? run: bench down)`);
    }
    // The topology's own toxics (phase 7's WAN baseline) before any client connects through the
    // proxies; also after a restart, which starts Toxiproxy without them (the config file holds
    // proxies only). A toxic already there is kept.
    await applyBaseline(baselineApiOf(api), topologyToxics(ctx.plan));
  },
};
