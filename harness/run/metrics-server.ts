// The harness's own /metrics for the whole run: the load engine's series (k6 names) and the
// fault gauge. It outlives the load so Prometheus scrapes the final counts before collection.
import { createServer, type Server } from 'node:http';
import { Registry } from 'prom-client';
import type { Endpoint } from '../topology/plan.ts';
import { faultRegistry } from '../metrics/fault-gauge.ts';
import { envError } from '../errors.ts';

export interface RunMetrics {
  /** the engine registers its metrics here */
  engine: Registry;
  close(): Promise<void>;
}

export async function serveRunMetrics(listen: Endpoint): Promise<RunMetrics> {
  const engine = new Registry();
  // Concatenated at each scrape: the engine registers its metrics only when the load starts.
  const server: Server = createServer((req, res) => {
    if (req.url !== '/metrics') {
      res.writeHead(404).end();
      return;
    }
    Promise.all([engine.metrics(), faultRegistry.metrics()]).then(
      (parts) => res.writeHead(200, { 'content-type': engine.contentType }).end(parts.filter((p) => p.trim()).join('\n')),
      (e: Error) => res.writeHead(500).end(e.message),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (e) => reject(envError(`cannot serve the run's metrics on ${listen.host}:${listen.port}: ${e.message}`, 'is another process using that address? bench down removes earlier runs')));
    server.listen(listen.port, listen.host, () => resolve());
  });
  return {
    engine,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
