import { describe, expect, it } from 'vitest';
import { usageLine } from '../../harness/testing/usage-error.ts';
import { plan } from '../../harness/topology/plan.ts';
import { haproxyInputFor, renderHaproxyConfig } from '../services/haproxy.ts';
import { msRuntimeConfig } from '../services/microservice.ts';
import { phases } from './index.ts';
import { PHASE6_WORKERS, phase6 } from './phase-6.ts';

const def = phases.get(6)!;
const topology = def.topology({ users: 1e6, shardStrategy: 'range', ...def.defaults });
const p = plan(topology, { runId: 'p6', slot: 9, proxies: true, prometheus: true });

describe('phase 6', () => {
  it('is built, and its hosts fit the 2-core machine', () => {
    expect(def).toBe(phase6);
    expect(def.built).toBe(true);
    const cpus = topology.hosts.reduce((a, h) => a + h.size.cpus, 0);
    expect(cpus).toBeLessThanOrEqual(2);
    expect(topology.services.filter((s) => s.kind === 'microservice' && s.role === 'worker')).toHaveLength(PHASE6_WORKERS);
  });

  it('declares --workers and --broker: N workers; the broker kind the services are told', () => {
    const three = def.topology({ users: 1000, workers: 3 });
    expect(three.services.filter((s) => s.kind === 'microservice' && s.role === 'worker').map((s) => s.name)).toEqual(['worker-1', 'worker-2', 'worker-3']);
    const kafka = def.topology({ users: 1000, broker: 'kafka' });
    expect(kafka.services.filter((s) => s.name === 'broker').map((s) => s.kind)).toEqual(['kafka']);
    expect(kafka.services.filter((s) => s.kind === 'rabbitmq')).toEqual([]);
    for (const s of kafka.services.filter((x) => x.kind === 'microservice')) expect(s.config.kind === 'microservice' && s.config.microservice.brokerKind).toBe('kafka');
    expect(kafka.hosts.reduce((a, h) => a + h.size.cpus, 0)).toBeLessThanOrEqual(2);
    expect(def.topology({ users: 1000 }).services.find((s) => s.name === 'broker')!.kind).toBe('rabbitmq');
    expect(usageLine(() => def.topology({ users: 1000, broker: 'sqs' }))).toBe('--broker sqs: unknown broker — use --broker rabbitmq');
    expect(usageLine(() => def.topology({ users: 1000, workers: 0 }))).toBe('--workers 0: phase 6 needs a whole number of at least 1 worker — use --workers 2');
  });

  it('declares --idempotent-workers: idempotent by default; false reaches every worker, and only the workers', () => {
    const workerIdempotence = (t: typeof topology) =>
      t.services.filter((s) => s.kind === 'microservice').map((s) => [s.name, s.config.kind === 'microservice' ? s.config.microservice.worker?.idempotent : 'n/a']);
    expect(workerIdempotence(topology).every(([, v]) => v === undefined)).toBe(true);
    const not = def.topology({ users: 1000, idempotentWorkers: 'false' });
    expect(workerIdempotence(not)).toEqual([['payment-1', undefined], ['notification-1', undefined], ['uploads-1', undefined], ['worker-1', false], ['worker-2', false]]);
    expect(usageLine(() => def.topology({ users: 1000, idempotentWorkers: 'maybe' }))).toBe('--idempotent-workers maybe: --idempotent-workers takes true or false — use --idempotent-workers false');
  });

  it('gives each service its own PostgreSQL, and sends every edge through Toxiproxy', () => {
    const dbOf = (name: string) => {
      const s = topology.services.find((x) => x.name === name)!;
      return s.config.kind === 'microservice' ? s.config.microservice.db : null;
    };
    expect([dbOf('payment-1'), dbOf('notification-1'), dbOf('uploads-1'), dbOf('worker-1')]).toEqual(['payments-db', 'notifications-db', 'jobs-db', 'jobs-db']);
    const edges = p.edges.map((e) => e.name);
    for (const e of ['lb->app-1', 'lb->payment-1', 'lb->uploads-1', 'payment-1->payments-db', 'payment-1->broker', 'notification-1->broker', 'worker-1->jobs-db', 'worker-2->broker']) {
      expect(edges).toContain(e);
    }
    for (const e of p.edges.filter((x) => !x.from.endsWith('-exporter'))) expect(e.listen.host).toBe(p.controlIp);
  });

  it('resolves a service config to the addresses it reaches (its Toxiproxy edges)', () => {
    const svc = p.services.find((s) => s.name === 'worker-1')!;
    const reach = (to: string) => p.edges.find((e) => e.from === 'worker-1' && e.to === to)!.listen;
    const c = msRuntimeConfig({ service: svc, reach, dir: '/run/x/worker-1' });
    expect(c).toMatchObject({ name: 'worker-1', role: 'worker', listen: svc.address, db: reach('jobs-db'), broker: { ...reach('broker'), kind: 'rabbitmq' } });
    // the worker-crash drill's switch, in the worker's own directory; other roles have none
    expect(c.worker?.crashFile).toBe('/run/x/worker-1/crash-after-effects');
    const uploads = p.services.find((s) => s.name === 'uploads-1')!;
    expect(msRuntimeConfig({ service: uploads, reach: (to) => p.edges.find((e) => e.from === 'uploads-1' && e.to === to)!.listen, dir: '/run/x/uploads-1' }).worker).toBeUndefined();
  });

  it('routes the gateway by path, before the users fleet, and checks the services on /health', () => {
    const lb = p.services.find((s) => s.name === 'lb')!;
    const reach = (to: string) => p.edges.find((e) => e.from === 'lb' && e.to === to)!.listen;
    const cfg = renderHaproxyConfig(haproxyInputFor(lb, reach)).split('\n');
    const at = (line: string) => cfg.findIndex((l) => l.trim() === line);
    expect(at('acl route_payments path_beg /api/payments')).toBeGreaterThan(0);
    expect(at('acl route_uploads path_beg /api/videos /api/jobs')).toBeGreaterThan(0);
    // the first matching use_backend wins: the routes come before the POST rule of the users fleet
    expect(at('use_backend svc_payments if route_payments')).toBeLessThan(at('use_backend app_once if !idempotent'));
    expect(at('use_backend svc_uploads if route_uploads')).toBeLessThan(at('use_backend app_once if !idempotent'));
    const backend = cfg.slice(at('backend svc_uploads'));
    expect(backend).toContain('    option httpchk GET /health');
    expect(backend.find((l) => l.includes('server uploads-1'))).toContain(`${reach('uploads-1').host}:${reach('uploads-1').port}`);
  });
});
