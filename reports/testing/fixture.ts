// A realistic, deterministic Results for tests: a phase-3 run (LB, three app servers, a primary and
// a replica, a session store) under 400 req/s for 60 s, with app-2 killed from 20 s to 30 s, two
// objectives (latency passes, error rate fails) and one drill. Every call returns a fresh object,
// so a test may mutate what it gets.
import { Results, SCHEMA_VERSION, type SeriesPoint } from '../schema.ts';

export interface FixtureOptions {
  /** seconds of load (and of series points), default 60 */
  durationS?: number;
  /** the fault window [start, end] in seconds; null: no fault, default [20, 30] */
  fault?: [number, number] | null;
  /** traffic model scale factor, default 1 */
  scaleFactor?: number;
  /** the generator fell behind its schedule, default false */
  saturated?: boolean;
}

/** A deterministic wobble in [-1, 1]: tests must not depend on Math.random. */
const wobble = (t: number, k: number) => Math.sin(t * 1.7 + k) * 0.6 + Math.sin(t * 0.37 + k * 2.1) * 0.4;
const round = (n: number, d = 2) => Math.round(n * 10 ** d) / 10 ** d;

/** Builds the fixture; see the file comment for what it holds. */
export function buildResults(options: FixtureOptions = {}): Results {
  const durationS = options.durationS ?? 60;
  const fault = options.fault === undefined ? ([20, 30] as [number, number]) : options.fault;
  const scaleFactor = options.scaleFactor ?? 1;
  const steady = 400;
  const inFault = (t: number) => fault !== null && t >= fault[0] && t < fault[1];
  // The first two seconds of the fault: HAProxy has not yet marked app-2 down.
  const faultOnset = (t: number) => fault !== null && t >= fault[0] && t < fault[0] + 2;

  const series: SeriesPoint[] = [];
  for (let t = 0; t < durationS; t++) {
    const targetRate = t < 5 ? Math.round((steady * (t + 1)) / 5) : steady;
    const dropped = faultOnset(t) ? 6 + (t - (fault?.[0] ?? 0)) * 3 : 0;
    const errors = faultOnset(t) ? 14 - (t - (fault?.[0] ?? 0)) * 4 : inFault(t) ? (t % 3 === 0 ? 1 : 0) : 0;
    const requests = Math.max(0, Math.round(targetRate - dropped + wobble(t, 1) * 3));
    const base = inFault(t) ? 2.4 : 1;
    series.push({
      t,
      requests,
      errors,
      dropped,
      targetRate,
      p50: round(4.1 * (inFault(t) ? 1.3 : 1) + wobble(t, 2) * 0.3),
      p95: round(11.8 * base + wobble(t, 3) * 0.8),
      p99: round((faultOnset(t) ? 180 : 24.5 * base) + wobble(t, 4) * 1.5),
    });
  }
  const sum = (f: (p: SeriesPoint) => number) => series.reduce((a, p) => a + f(p), 0);
  const requests = sum((p) => p.requests);
  const errors = sum((p) => p.errors);
  const dropped = sum((p) => p.dropped);

  const split: Array<[string, number, number]> = [
    // endpoint, share of requests, latency scale
    ['GET /api/users/:id', 0.7, 1],
    ['PUT /api/users/:id', 0.08, 1.6],
    ['POST /api/users', 0.04, 1.8],
    ['POST /api/login', 0.03, 2.2],
    ['GET /api/me', 0.03, 0.9],
    ['GET /static/:asset', 0.12, 0.5],
  ];
  const endpoints: Results['load']['endpoints'] = {};
  let assigned = 0;
  let assignedErrors = 0;
  split.forEach(([name, share, scale], i) => {
    const last = i === split.length - 1;
    const n = last ? requests - assigned : Math.round(requests * share);
    const e = last ? errors - assignedErrors : Math.round(errors * share);
    assigned += n;
    assignedErrors += e;
    endpoints[name] = {
      requests: n,
      errors: e,
      latencyMs: {
        p50: round(4.1 * scale),
        p90: round(9.6 * scale),
        p95: round(12.9 * scale),
        p99: round(31.4 * scale),
        p999: round(171 * scale),
        max: round(402 * scale),
        mean: round(5.6 * scale),
      },
    };
  });

  const peakRps = 400 / scaleFactor;
  const users = 50_000 / scaleFactor;
  const hosts = [
    { name: 'lb-host', ip: '127.7.1.1', cpus: 0.25, memoryMb: 256, region: 'local' },
    { name: 'app-host-1', ip: '127.7.2.1', cpus: 0.25, memoryMb: 512, region: 'local' },
    { name: 'app-host-2', ip: '127.7.3.1', cpus: 0.25, memoryMb: 512, region: 'local' },
    { name: 'app-host-3', ip: '127.7.4.1', cpus: 0.25, memoryMb: 512, region: 'local' },
    { name: 'db-primary-host', ip: '127.7.5.1', cpus: 0.5, memoryMb: 1024, region: 'local' },
    { name: 'db-replica-host-1', ip: '127.7.6.1', cpus: 0.5, memoryMb: 1024, region: 'local' },
    { name: 'sessions-host', ip: '127.7.7.1', cpus: 0.25, memoryMb: 256, region: 'local' },
    { name: 'control', ip: '127.7.0.1', cpus: 0.5, memoryMb: 1024, region: 'local' },
  ];
  const services = [
    { name: 'lb', kind: 'haproxy', host: 'lb-host', role: 'lb', address: '127.7.1.1:8000' },
    { name: 'app-1', kind: 'app', host: 'app-host-1', role: 'app', address: '127.7.2.1:8080' },
    { name: 'app-2', kind: 'app', host: 'app-host-2', role: 'app', address: '127.7.3.1:8080' },
    { name: 'app-3', kind: 'app', host: 'app-host-3', role: 'app', address: '127.7.4.1:8080' },
    { name: 'pg-primary', kind: 'postgres', host: 'db-primary-host', role: 'primary', address: '127.7.5.1:5432' },
    { name: 'pg-primary-exporter', kind: 'postgres-exporter', host: 'db-primary-host', role: 'exporter', address: '127.7.5.1:9187' },
    { name: 'pg-replica-1', kind: 'postgres', host: 'db-replica-host-1', role: 'replica', address: '127.7.6.1:5432' },
    { name: 'pg-replica-1-exporter', kind: 'postgres-exporter', host: 'db-replica-host-1', role: 'exporter', address: '127.7.6.1:9187' },
    { name: 'sessions', kind: 'redis', host: 'sessions-host', role: 'sessions', address: '127.7.7.1:6379' },
    { name: 'toxiproxy', kind: 'toxiproxy', host: 'control', role: 'proxy', address: '127.7.0.1:8474' },
    { name: 'prometheus', kind: 'prometheus', host: 'control', role: 'metrics', address: '127.7.0.1:9090' },
  ];
  const edges = [
    ...['app-1', 'app-2', 'app-3'].map((a) => ({ name: `lb->${a}`, proxied: true })),
    ...['app-1', 'app-2', 'app-3'].flatMap((a) => [
      { name: `${a}->pg-primary`, proxied: true },
      { name: `${a}->pg-replica-1`, proxied: true },
      { name: `${a}->sessions`, proxied: true },
    ]),
    { name: 'pg-replica-1->pg-primary', proxied: true },
    { name: 'pg-primary-exporter->pg-primary', proxied: false },
    { name: 'pg-replica-1-exporter->pg-replica-1', proxied: false },
  ];

  const ts = (step: number, f: (t: number) => number, offset = 0): Array<[number, number]> => {
    const out: Array<[number, number]> = [];
    for (let t = offset; t < durationS; t += step) out.push([t, round(f(t), 4)]);
    return out;
  };
  const backendRate = (name: string) => (t: number) =>
    name === 'app-2' && inFault(t) ? 0 : round((steady / (fault && inFault(t) ? 2 : 3)) * (1 + wobble(t, name.charCodeAt(name.length - 1)) * 0.04), 1);

  const startedMs = Date.parse('2025-03-14T09:26:53.000Z');
  const results: Results = {
    schemaVersion: SCHEMA_VERSION,
    tool: { name: 'bench', version: '0.1.0' },
    runId: 'r-20250314-092653-p3',
    startedAt: new Date(startedMs).toISOString(),
    finishedAt: new Date(startedMs + (durationS + 9) * 1000).toISOString(),
    config: {
      phase: 3,
      users,
      durationS,
      rate: null,
      seed: 42,
      runtime: 'native',
      options: { appServers: 3, replicas: 1 },
      chaos: fault ? ['app-server-kill'] : [],
    },
    topology: { phase: 3, title: 'Load balancer + read replicas', hosts, services, edges },
    trafficModel: {
      users,
      dailyActiveShare: 0.2,
      requestsPerActiveUserPerDay: 40,
      peakToAverage: 3,
      averageRps: round(peakRps / 3, 1),
      peakRps,
      machineCapRps: 400,
      targetRps: 400,
      scaleFactor,
      overridden: false,
      derivation: [
        `${users} users × 20% daily active = ${users * 0.2} active users/day`,
        `× 40 requests each = ${users * 8} requests/day`,
        `÷ 86,400 s = ${round(peakRps / 3, 1)} req/s on average`,
        `× 3 peak-to-average = ${peakRps} req/s at peak`,
        scaleFactor < 1 ? `capped at the machine's 400 req/s: scale factor ${scaleFactor}` : 'within the machine cap of 400 req/s',
      ],
    },
    load: {
      driver: 'embedded',
      workload: 'mixed',
      stages: [
        { durationS: 5, targetRate: 400 },
        { durationS: durationS - 5, targetRate: 400 },
      ],
      durationS,
      totals: {
        requests,
        ok: requests - errors,
        errors,
        dropped,
        throughputRps: round(requests / durationS, 2),
        errorRate: errors / requests,
      },
      latencyMs: { p50: 4.3, p90: 10.2, p95: 14.1, p99: 42.1, p999: 184.6, max: 611.2, mean: 6.2 },
      endpoints,
      statusCodes: { '200': requests - errors - 300, '201': 300, '502': errors - 4, '503': 4 },
      errorKinds: { 'http 502': errors - 4, 'http 503': 4 },
      series,
      generator: { saturated: options.saturated ?? false, maxLagMs: options.saturated ? 212 : 3.1, peakRssMb: 96 },
    },
    server: { appRequests: requests - 12 },
    // Named as harness/metrics/tiers.ts names them.
    tiers: {
      app: {
        requestsTotal: requests - 12,
        'requests.app-1': Math.round((requests - 12) * 0.39),
        'requests.app-2': Math.round((requests - 12) * 0.22),
        'requests.app-3': Math.round((requests - 12) * 0.39),
        errors5xx: 0,
        latencyP50Ms: 2.1,
        latencyP99Ms: 11.8,
      },
      lb: { responses: requests - 12, 'responses.app-1': 9031, 'responses.app-2': 5094, 'responses.app-3': 9031, responses5xx: errors, retries: 57, redispatches: 41 },
      db: { queriesTotal: 19_412, 'qps.primary.main': 48.2, 'qps.replica.main': 275.3, 'maxReplicaLagS.pg-replica-1': 0.31 },
      sessions: { 'create.ok': 1_384, 'get.ok': 1_380, 'get.miss': 4 },
    },
    // Named as harness/metrics/tiers.ts reportQueries names them: one chart per group.
    prometheus: {
      'lb.rps.app-1': ts(1, backendRate('app-1')),
      'lb.rps.app-2': ts(1, backendRate('app-2')),
      'lb.rps.app-3': ts(1, backendRate('app-3')),
      'db.replicaLagS.pg-replica-1': ts(2, (t) => (inFault(t) ? 0.25 : 0.02) + Math.abs(wobble(t, 5)) * 0.05),
      'cache.hitRatio': ts(5, (t) => Math.min(0.97, 0.4 + t * 0.02)),
      'db.qps.primary.main': ts(1, (t) => (t < 5 ? 10 * (t + 1) : 48) * (1 + wobble(t, 6) * 0.05), 0.5),
      'db.qps.replica.main': ts(1, (t) => (t < 5 ? 55 * (t + 1) : 275) * (1 + wobble(t, 7) * 0.05), 0.5),
    },
    faults: fault
      ? [{ name: 'kill', target: 'app-2', startS: fault[0], endS: fault[1], detail: 'SIGKILL, restarted after 10 s' }]
      : [],
    drills: fault
      ? [
          {
            name: 'app-server-kill',
            hypothesis: 'killing one of 3 app servers costs (almost) no errors: HAProxy retries and redispatches',
            timeToDetectS: 1.0,
            timeToRecoverS: 9.5,
            errorsDuringFault: errors,
            latencyBeforeP99: 24.8,
            latencyDuringP99: 182.3,
            writes: { acknowledged: 1840, present: 1840, lost: 0, unacknowledgedPresent: 2, lostIds: [] },
            figures: { 'requests retried': 57, 'killed backend': 'app-2', 'health check fall': null },
            pass: true,
            reasons: ['0 of 1,840 acknowledged writes lost', 'detected in 1.0 s (limit 5 s)', `${errors} errors during the fault (limit 100)`],
          },
        ]
      : [],
    objectives: [
      { name: 'p99 latency', description: 'p99 < 100 ms', threshold: 100, actual: 42.1, pass: true },
      { name: 'error rate', description: 'error rate < 0.1%', threshold: 0.001, actual: round(errors / requests, 5), pass: errors / requests < 0.001 },
    ],
    timings: { deploy: 4.21, seed: 2.08, load: durationS, collect: 0.84, teardown: 1.32 },
    notes: ['every edge went through Toxiproxy', 'seeded 50,000 users with COPY in 2.1 s'],
    verdict: 'fail',
  };
  results.verdict = results.objectives.every((o) => o.pass) && results.drills.every((d) => d.pass) ? 'pass' : 'fail';
  // The fixture must stay valid against the schema it stands for: fail loudly here, not in a test.
  return Results.parse(results);
}
