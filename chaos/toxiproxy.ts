// Adapts the runtime's Toxiproxy client (harness/runtime/toxiproxy-client.ts) to what the faults
// need: removing a toxic that is already gone is success, and a proxy can be repointed. Its reset
// keeps the topology's baseline toxics (the WAN latency of targets/regions/latency.ts): Toxiproxy's
// own POST /reset would take the regions' distances away with the faults.
import { ToxiproxyError, toxiproxyClient, type ToxiproxyClient } from '../harness/runtime/toxiproxy-client.ts';
import type { Endpoint } from '../harness/topology/plan.ts';
import { isBaselineToxic } from '../targets/regions/latency.ts';
import type { ProxyState, ToxiproxyApi } from './faults/types.ts';

/** The chaos view of a Toxiproxy server, from a client or from its API address. */
export function chaosToxiproxy(client: ToxiproxyClient | Endpoint | string): ToxiproxyApi {
  const c = typeof client === 'object' && 'listProxies' in client ? client : toxiproxyClient(client);
  return {
    listProxies: async () => (await c.listProxies()) as unknown as ProxyState[],
    setEnabled: async (proxy, enabled) => void (await c.setEnabled(proxy, enabled)),
    addToxic: async (proxy, t) =>
      void (await c.addToxic(proxy, { name: t.name, type: t.type, stream: t.stream, toxicity: t.toxicity, attributes: t.attributes as never })),
    removeToxic: async (proxy, toxic) => {
      try {
        await c.removeToxic(proxy, toxic);
      } catch (err) {
        if (err instanceof ToxiproxyError && err.status === 404) return;
        throw err;
      }
    },
    // Toxiproxy closes the proxy's open connections when its upstream changes, so clients
    // reconnect to the new upstream at once. The runtime's client has no call for it: PATCH here.
    setUpstream: async (proxy, upstream) => {
      const res = await fetch(`${c.url}/proxies/${encodeURIComponent(proxy)}`, {
        method: 'PATCH',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ upstream }),
        signal: AbortSignal.timeout(5_000),
      });
      if (!res.ok) throw new ToxiproxyError(`toxiproxy PATCH /proxies/${proxy}: ${res.status} ${(await res.text()).trim()}`, res.status);
      await res.arrayBuffer().catch(() => {});
    },
    resetAll: async () => {
      const proxies = await c.listProxies();
      if (!proxies.some((p) => p.toxics.some((t) => isBaselineToxic(t.name)))) return c.resetAll();
      // every proxy enabled and every toxic but the baseline removed: what POST /reset does, minus it
      for (const p of proxies) {
        if (!p.enabled) await c.setEnabled(p.name, true);
        for (const t of p.toxics) if (!isBaselineToxic(t.name)) await c.removeToxic(p.name, t.name).catch((err) => {
          if (!(err instanceof ToxiproxyError && err.status === 404)) throw err;
        });
      }
    },
  };
}
