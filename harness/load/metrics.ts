// The engine's live metrics for Prometheus, named as k6's Prometheus remote-write output names
// them, so one dashboard reads either driver. Served over plain HTTP on a loopback address.
//
// Names (label `name` is the request kind of loadtests/workloads.ts):
//   k6_http_reqs_total{name, method, status}      counter; status "0" = no HTTP answer (k6's convention)
//   k6_http_req_duration_seconds{name, method}    histogram (classic buckets), latency from the
//                                                 intended send time; k6 writes the same name when
//                                                 K6_PROMETHEUS_RW_TREND_AS_NATIVE_HISTOGRAM=true
//   k6_http_req_failed_rate{name}                 gauge: failed / all over the last completed second
//   k6_dropped_iterations_total                   counter: due but not sent (in-flight cap)
//   k6_vus                                        gauge: requests in flight (the open model's "VUs")
//   bench_generator_lag_seconds                   gauge: the scheduler's largest lag in the last second
// The histogram was picked over k6's default p99 gauges because Prometheus can then compute any
// quantile over any window: histogram_quantile(0.99, sum by (le) (rate(k6_http_req_duration_seconds_bucket[30s]))).
import { createServer, type Server } from 'node:http';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';

/** Seconds; from 1 ms (a loopback hit) to 10 s (past the default 5 s timeout). */
export const DURATION_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/**
 * The engine's metrics. Counts are batched in memory and pushed at each scrape (prom-client's
 * collect hook) and once a second; gauges are set once a second, k6_vus at each scrape.
 */
export class EngineMetrics {
  readonly registry: Registry;
  private readonly reqs: Counter<'name' | 'method' | 'status'>;
  private readonly duration: Histogram<'name' | 'method'>;
  private readonly failedRate: Gauge<'name'>;
  private readonly dropped: Counter;
  private readonly vus: Gauge;
  private readonly lag: Gauge;
  // "kind method status" -> count since the last flush: one Map update per request instead of a
  // label hash per prom-client call.
  private readonly pendingReqs = new Map<string, number>();
  private readonly secondTotals = new Map<string, { all: number; failed: number }>();
  private pendingDropped = 0;
  private readonly durationChildren = new Map<string, Histogram.Internal<'name' | 'method'>>();

  /** `registry`: register into the caller's registry (one the harness serves for the whole run) */
  constructor(kinds: readonly string[], inFlight: () => number, registry: Registry = new Registry()) {
    this.registry = registry;
    const registers = [this.registry];
    const flushCounts = () => this.flushCounts();
    this.reqs = new Counter({
      name: 'k6_http_reqs_total',
      help: 'HTTP requests completed, by request kind, method and status',
      labelNames: ['name', 'method', 'status'],
      registers,
      collect: flushCounts,
    });
    this.duration = new Histogram({
      name: 'k6_http_req_duration_seconds',
      help: 'HTTP request latency from the intended send time (coordinated-omission free)',
      labelNames: ['name', 'method'],
      buckets: DURATION_BUCKETS,
      registers,
    });
    this.failedRate = new Gauge({ name: 'k6_http_req_failed_rate', help: 'Share of failed requests over the last completed second', labelNames: ['name'], registers });
    this.dropped = new Counter({ name: 'k6_dropped_iterations_total', help: 'Requests due but not sent because the in-flight cap was reached', registers, collect: flushCounts });
    this.vus = new Gauge({
      name: 'k6_vus',
      help: 'Requests in flight',
      registers,
      collect() {
        this.set(inFlight());
      },
    });
    this.lag = new Gauge({ name: 'bench_generator_lag_seconds', help: 'Largest lag of the generator behind its schedule in the last second', registers });
    for (const k of kinds) this.failedRate.set({ name: k }, 0);
    this.dropped.inc(0);
  }

  /** Counts one completed request; durationS is undefined when no latency applies (refused, reset). */
  request(kind: string, method: string, status: number, failed: boolean, durationS: number | undefined): void {
    const key = `${kind} ${method} ${status}`;
    this.pendingReqs.set(key, (this.pendingReqs.get(key) ?? 0) + 1);
    let t = this.secondTotals.get(kind);
    if (!t) this.secondTotals.set(kind, (t = { all: 0, failed: 0 }));
    t.all++;
    if (failed) t.failed++;
    if (durationS !== undefined) {
      const childKey = `${kind} ${method}`;
      let child = this.durationChildren.get(childKey);
      if (!child) this.durationChildren.set(childKey, (child = this.duration.labels({ name: kind, method })));
      child.observe(durationS);
    }
  }

  droppedOne(): void {
    this.pendingDropped++;
  }

  /** Closes a second: pushes the batched counts and sets the per-second gauges. */
  second(inFlight: number, lagMs: number): void {
    this.flushCounts();
    for (const [name, t] of this.secondTotals) this.failedRate.set({ name }, t.all === 0 ? 0 : t.failed / t.all);
    for (const t of this.secondTotals.values()) t.all = t.failed = 0;
    this.vus.set(inFlight);
    this.lag.set(lagMs / 1000);
  }

  private flushCounts(): void {
    for (const [key, n] of this.pendingReqs) {
      const [name, method, status] = key.split(' ');
      this.reqs.inc({ name, method, status }, n);
    }
    this.pendingReqs.clear();
    if (this.pendingDropped > 0) this.dropped.inc(this.pendingDropped);
    this.pendingDropped = 0;
  }
}

/** Serves registry at GET /metrics on host:port; resolves once listening. */
export async function serveMetrics(registry: Registry, host: string, port: number): Promise<Server> {
  const server = createServer((req, res) => {
    if (req.method === 'GET' && (req.url === '/metrics' || req.url?.startsWith('/metrics?'))) {
      registry.metrics().then(
        (body) => {
          res.writeHead(200, { 'content-type': registry.contentType });
          res.end(body);
        },
        (err: unknown) => {
          res.writeHead(500, { 'content-type': 'text/plain' });
          res.end(String(err));
        },
      );
      return;
    }
    res.writeHead(404, { 'content-type': 'text/plain' });
    res.end('not found: try /metrics\n');
  });
  // A scrape must not keep the process alive after the run.
  server.keepAliveTimeout = 1000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return server;
}

/** Closes the metrics server, dropping idle scrape connections. */
export async function closeMetrics(server: Server): Promise<void> {
  await new Promise<void>((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}
