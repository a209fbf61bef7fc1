// A component kind is one module plus one registry line: a fake kind registered in a test
// registry shows up in every table derived from the registry (plan ports and exporters, the
// plan's config check, doctor, scrape jobs, tier figures, the report's rows), and a registry
// without it knows nothing of it (the negative control of each).
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { plan, sidePortsOf, validateTopology } from '../../harness/topology/plan.ts';
import type { Topology } from '../../harness/topology/types.ts';
import { components } from '../../harness/env/components.ts';
import { scrapeJobs } from '../../harness/metrics/prometheus-config.ts';
import { kindFigures } from '../../harness/metrics/tiers.ts';
import { OFFICIAL_BINARIES, OFFICIAL_IMAGES, officialUsers } from '../../harness/runtime/docker/images.ts';
import { IMAGE_KINDS } from '../../harness/runtime/docker/kinds.ts';
import { renderTopologySvg, tierOfKind } from '../../reports/topology.ts';
import { kinds } from './index.ts';
import { fakeKind, fakeService, withKinds } from './testing/fake-kind.ts';

const queue = fakeKind('queue', {
  config: z.object({ kind: z.literal('queue'), queue: z.object({ durable: z.boolean() }) }),
  ports: { main: 5673, side: { admin: 15673 } },
  tier: 'cache',
  requires: [{ binary: 'queue-server', debianPackage: 'queue-server-pkg', inImage: '/opt/queue/bin/queue-server', doctor: { name: 'Queue', neededFor: 'the fake phase', versionArgs: ['--version'] } }],
  scrape: { job: 'queue', sidePort: 'admin', metricsPath: '/metrics/queue' },
  figures: [{ tier: 'queue', name: 'published', metrics: ['queue_published_total'] }],
  exporter: 'queue-exporter' as never,
});
const queueExporter = fakeKind('queue-exporter', {
  config: z.object({ kind: z.literal('queue-exporter'), target: z.string() }),
  ports: { main: 9419 },
  tier: 'instrument',
  scrape: { job: 'queue-exporter', labelAsTarget: true },
});
const withQueue = withKinds(queue, queueExporter);

const topology = (config: object = { kind: 'queue', queue: { durable: true } }): Topology => ({
  phase: 0,
  title: 'a fake kind',
  regions: [{ name: 'local', wanLatencyMs: 0 }],
  hosts: [{ name: 'mq-host', size: { cpus: 0.5, memoryMb: 256 }, region: 'local' }],
  services: [{ ...fakeService('queue', { name: 'mq', host: 'mq-host', role: 'broker', dependsOn: [] }), config: config as never }],
  entry: 'mq',
});
const opts = { runId: 'r', slot: 9, proxies: false, prometheus: true, kinds: withQueue };

describe('a kind is one module plus one registry line', () => {
  it('plan: its port, its side ports, its exporter beside it', () => {
    const p = plan(topology(), opts);
    expect(p.services.find((s) => s.name === 'mq')!.address).toEqual({ host: '127.9.1.1', port: 5673 });
    expect(sidePortsOf('queue', withQueue)).toEqual({ admin: 15673 });
    const exporter = p.services.find((s) => s.name === 'mq-exporter')!;
    expect(exporter).toMatchObject({ kind: 'queue-exporter', host: 'mq-host', dependsOn: ['mq'], config: { kind: 'queue-exporter', target: 'mq' }, address: { port: 9419 } });
    // without Prometheus, no exporter
    expect(plan(topology(), { ...opts, prometheus: false }).services.map((s) => s.name)).toEqual(['mq']);
  });

  it("plan: the kind's schema checks each service's config; an unregistered kind is refused", () => {
    expect(validateTopology(topology(), withQueue)).toEqual([]);
    expect(validateTopology(topology({ kind: 'queue', queue: { durable: 'yes' } }), withQueue).join()).toMatch(/^service mq: queue\.durable /);
    expect(validateTopology(topology(), kinds)).toEqual(['service mq is of unknown kind queue']);
    expect(() => plan(topology(), { ...opts, kinds })).toThrow(/unknown kind queue/);
  });

  it('doctor and setup: its binaries with their package', () => {
    // required when a built phase deploys the kind; optional (doctor lists it, setup --all installs it) when none does
    const row = components(withQueue, new Set([queue.kind])).find((c) => c.binary === 'queue-server');
    expect(row).toMatchObject({ name: 'Queue', required: true, versionArgs: ['--version'], install: { kind: 'apt', packages: ['queue-server-pkg'] } });
    expect(components(withQueue).find((c) => c.binary === 'queue-server')).toMatchObject({ name: 'Queue', required: false });
    expect(components(kinds).some((c) => c.binary === 'queue-server')).toBe(false);
  });

  it('Prometheus: its job on its side port, its exporter labelled as what it watches', () => {
    const p = plan(topology(), opts);
    const jobs = scrapeJobs(p, withQueue);
    expect(jobs.find((j) => j.job === 'queue')).toMatchObject({ metricsPath: '/metrics/queue', targets: [{ address: '127.9.1.1:15673', labels: { service: 'mq', role: 'broker' } }] });
    expect(jobs.find((j) => j.job === 'queue-exporter')).toMatchObject({ targets: [{ address: '127.9.1.1:9419', labels: { service: 'mq', role: 'broker' } }] });
    expect(scrapeJobs(p, kinds).map((j) => j.job)).toEqual(['bench']);
  });

  it('tier figures and the report: its counters and its row', () => {
    expect(kindFigures(withQueue)).toContainEqual({ job: 'queue', tier: 'queue', name: 'published', metrics: ['queue_published_total'], labels: {} });
    expect(kindFigures(kinds).some((f) => f.job === 'queue')).toBe(false);
    expect(tierOfKind('queue', withQueue)).toBe(tierOfKind('redis'));
    // unknown to a registry: drawn with the apps
    expect(tierOfKind('queue', kinds)).toBe(tierOfKind('app'));
    const drawing: never = {
      phase: 0,
      title: 't',
      hosts: [
        { name: 'app-host', ip: '127.9.1.1', cpus: 1, memoryMb: 256, region: 'local' },
        { name: 'mq-host', ip: '127.9.2.1', cpus: 1, memoryMb: 256, region: 'local' },
      ],
      services: [
        { name: 'app', kind: 'app', host: 'app-host', role: 'app', address: '127.9.1.1:8080' },
        { name: 'mq', kind: 'queue', host: 'mq-host', role: 'broker', address: '127.9.2.1:5673' },
      ],
      edges: [{ name: 'app->mq', proxied: false }],
    } as never;
    const y = (svg: string, host: string) => Number(new RegExp(`data-host="${host}">\\s*<rect x="[\\d.]+" y="([\\d.]+)"`).exec(svg)![1]);
    // a cache-tier kind is drawn below the apps; unknown to the registry, beside them
    const known = renderTopologySvg(drawing, withQueue);
    expect(y(known, 'mq-host')).toBeGreaterThan(y(known, 'app-host'));
    const unknown = renderTopologySvg(drawing, kinds);
    expect(y(unknown, 'mq-host')).toBe(y(unknown, 'app-host'));
  });
});

describe('the registered kinds', () => {
  it('give each Docker table from their modules, every binary listed once', () => {
    expect(OFFICIAL_IMAGES.redis).toBe('redis:7');
    expect(OFFICIAL_IMAGES.postgres).toBe('postgres:15');
    expect(OFFICIAL_IMAGES.pause).toBe('registry.k8s.io/pause:3.9');
    expect(OFFICIAL_BINARIES['redis-server']).toBe('/usr/local/bin/redis-server');
    expect(OFFICIAL_BINARIES.pg_basebackup).toBe('/usr/lib/postgresql/15/bin/pg_basebackup');
    expect(officialUsers()).toEqual({ postgres: '999:999', rabbitmq: '999:999' });
    // phase 6 runs in Docker with RabbitMQ or Kafka (docs/DOCKER.md); phase 7's kinds run natively
    // only so far (docs/PHASE-7.md): no image, and no Docker table has them
    expect(OFFICIAL_IMAGES.rabbitmq).toBe('rabbitmq:3.10.25');
    expect(OFFICIAL_IMAGES.kafka).toBe('apache/kafka:4.1.1');
    expect(OFFICIAL_BINARIES['kafka-java']).toBe('/opt/kafka/bin/kafka-run-class.sh');
    expect(OFFICIAL_IMAGES.microservice).toBe(OFFICIAL_IMAGES.app);
    const nativeOnly = [...kinds.values()].filter((k) => !k.image).map((k) => k.kind);
    expect(nativeOnly).toEqual(['etcd', 'patroni', 'pg-router', 'pdns']);
    for (const k of nativeOnly) expect(IMAGE_KINDS.has(k)).toBe(false);
    for (const k of [...kinds.values()].filter((x) => x.image)) {
      expect(IMAGE_KINDS.has(k.kind)).toBe(true);
      // a kind that runs in Docker says where each of its binaries is in its image
      for (const r of k.requires) expect(r.inImage, `${k.kind}: ${r.binary}`).toMatch(/^\//);
    }
    expect(IMAGE_KINDS.has('no-such-kind')).toBe(false);
    const binaries = [...kinds.values()].flatMap((k) => k.requires.map((r) => r.binary));
    expect(new Set(binaries).size).toBe(binaries.length);
  });

  it('list the servers doctor reports, in their order, and nothing else lists them', () => {
    expect(components().map((c) => c.name)).toEqual([
      'PostgreSQL 15', 'pg_basebackup', 'Redis', 'HAProxy', 'nginx', 'Prometheus', 'postgres exporter', 'redis exporter', 'Toxiproxy',
      'etcd', 'Patroni', 'PowerDNS', 'RabbitMQ', 'Kafka 4.1.1', 'Java',
      'Go', 'wrk', 'Chromium', 'Docker engine', 'k6',
    ]);
  });
});
