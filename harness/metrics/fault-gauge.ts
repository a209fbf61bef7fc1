// bench_fault_active{fault,target}: 1 while a fault is injected, 0 after. Dashboards shade fault
// windows with it. It lives on a registry of its own; whatever serves the `bench` scrape target
// (plan.engineMetrics) must expose it, merged with the engine's registry (Registry.merge).
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Gauge, Registry } from 'prom-client';

export const FAULT_METRIC = 'bench_fault_active';

/** A fault gauge on its own registry: `set` flips a fault on or off. */
export function createFaultGauge() {
  const registry = new Registry();
  const gauge = new Gauge({
    name: FAULT_METRIC,
    help: '1 while bench injects this fault into this target, 0 once it is lifted',
    labelNames: ['fault', 'target'] as const,
    registers: [registry],
  });
  return {
    registry,
    set(fault: string, target: string, active: boolean) {
      gauge.set({ fault, target }, active ? 1 : 0);
    },
    /** forgets every fault (a new run in the same process) */
    clear() {
      gauge.reset();
    },
  };
}

export type FaultGauge = ReturnType<typeof createFaultGauge>;

/** The process's fault gauge: the chaos code sets it, the `bench` target serves it. */
export const faultGauge: FaultGauge = createFaultGauge();
/** The registry holding bench_fault_active; merge it into the engine's (Registry.merge([a, b])). */
export const faultRegistry: Registry = faultGauge.registry;

/** Marks a fault active (1) or lifted (0) on `target`. */
export function setFault(fault: string, target: string, active: boolean): void {
  faultGauge.set(fault, target, active);
}

/** Serves `registries` (merged) at http://host:port/metrics; for when the engine does not run its
 *  own server, or in tests. Resolves once listening; port 0 picks a free port (see `url`). */
export async function serveRegistries(listen: { host: string; port: number }, registries: Registry[]): Promise<{ url: string; close(): Promise<void> }> {
  const merged = registries.length === 1 ? registries[0]! : Registry.merge(registries);
  const server: Server = createServer((req, res) => {
    if (req.url !== '/metrics') {
      res.writeHead(404).end();
      return;
    }
    merged.metrics().then(
      (text) => res.writeHead(200, { 'content-type': merged.contentType }).end(text),
      (e: Error) => res.writeHead(500).end(e.message),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(listen.port, listen.host, () => resolve());
  });
  return {
    // the bound port, so port 0 (any free port) works
    url: `http://${listen.host}:${(server.address() as AddressInfo).port}/metrics`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
