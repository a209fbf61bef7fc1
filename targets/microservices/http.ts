// The microservices' HTTP surface on node:http: small (no framework to load at 0.1 CPU), JSON in
// and out, /health and a Prometheus /metrics on every service.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';

export type Handler = (req: IncomingMessage, body: unknown, params: string[]) => Promise<{ status: number; body?: unknown }>;

export interface Route {
  method: 'GET' | 'POST';
  /** matched against the path; capture groups become params */
  path: RegExp;
  handler: Handler;
}

/** Counters and gauges a service exposes, by metric name (one sample each, no labels). */
export type Metrics = Record<string, { help: string; type: 'counter' | 'gauge'; value: () => number }>;

/** Prometheus text for `metrics`, each name prefixed bench_ms_ and labelled with the service. Pure. */
export function renderMetrics(service: string, metrics: Metrics): string {
  const out: string[] = [];
  for (const [name, m] of Object.entries(metrics)) {
    out.push(`# HELP bench_ms_${name} ${m.help}`, `# TYPE bench_ms_${name} ${m.type}`, `bench_ms_${name}{service="${service}"} ${m.value()}`);
  }
  return out.join('\n') + '\n';
}

const MAX_BODY = 64 * 1024;

function readBody(req: IncomingMessage): Promise<unknown> {
  return new Promise((resolve, reject) => {
    let size = 0;
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY) {
        reject(Object.assign(new Error('body too large'), { status: 413 }));
        req.destroy();
      } else chunks.push(c);
    });
    req.on('end', () => {
      if (chunks.length === 0) return resolve(undefined);
      try {
        resolve(JSON.parse(Buffer.concat(chunks).toString('utf8')));
      } catch {
        reject(Object.assign(new Error('body is not JSON'), { status: 400 }));
      }
    });
    req.on('error', reject);
  });
}

function send(res: ServerResponse, status: number, body: unknown, name: string): void {
  const text = typeof body === 'string' ? body : JSON.stringify(body ?? {});
  res.writeHead(status, { 'content-type': typeof body === 'string' ? 'text/plain; version=0.0.4' : 'application/json', 'x-served-by': name });
  res.end(text);
}

/** An HTTP server with `routes`, /health (from `healthy`) and /metrics. */
export function serve(name: string, routes: Route[], metrics: Metrics, healthy: () => boolean): Server {
  return createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0]!;
    if (req.method === 'GET' && path === '/health') return send(res, healthy() ? 200 : 503, { ok: healthy() }, name);
    if (req.method === 'GET' && path === '/metrics') return send(res, 200, renderMetrics(name, metrics), name);
    const route = routes.find((r) => r.method === req.method && r.path.test(path));
    if (!route) return send(res, 404, { error: 'not found' }, name);
    const params = route.path.exec(path)!.slice(1);
    readBody(req)
      .then((body) => route.handler(req, body, params))
      .then((r) => send(res, r.status, r.body, name))
      .catch((e: Error & { status?: number }) => send(res, e.status ?? 503, { error: e.message }, name));
  });
}

/** A 400 for the handler to throw. */
export function badRequest(message: string): Error {
  return Object.assign(new Error(message), { status: 400 });
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** The client's id for the operation (so an unanswered request can be found later), or a new one. */
export function clientId(value: unknown): string {
  if (value === undefined) return crypto.randomUUID();
  if (typeof value !== 'string' || !UUID.test(value)) throw badRequest('id must be a UUID');
  return value.toLowerCase();
}
