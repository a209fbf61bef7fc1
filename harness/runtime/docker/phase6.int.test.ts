// Phase 6 as containers, offline images, one describe per broker. The microservices and the
// workers run from the checkout's bundle, every edge through the Toxiproxy container; the broker
// is the host's rabbitmq-server and epmd from the mounted /usr, or Kafka from the jars setup
// assembled (.tools/kafka) on the host's Java, with its JMX exporter published on 127.0.0.1.
// Both: an upload through the gateway is done (GET /api/jobs/:id), the queue's figures are
// readable by the run's sampler, and teardown leaves no container, network or volume of the run.
// RabbitMQ also: a payment is notified once, and a cut worker-1->broker edge leaves worker-2 to
// drain the queue (the workers reach the broker only through their proxies). Kafka's case is kept
// short (CI runs both).
import { randomUUID } from 'node:crypto';
import { PassThrough } from 'node:stream';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { drainJobs, readJobObservations, readNotificationObservations } from '../../../chaos/ledger-read.ts';
import { checkLedger } from '../../../chaos/ledger.ts';
import { endpointUrl, plan, serviceOf, type DeployPlan } from '../../topology/plan.ts';
import { toxiproxyClient } from '../toxiproxy-client.ts';
import { PG_CREDENTIALS } from '../../../targets/app/config.ts';
import { History, submitUpload } from '../../../targets/microservices/client.ts';
import { phase6 } from '../../../targets/phases/phase-6.ts';
import { createUsers, http } from '../../../targets/phases/testing/deploy.ts';
import { testRoot, type TestRoot } from '../testing/run-helpers.ts';
import type { Deployment } from '../types.ts';
import { connectDocker } from './client.ts';
import { createDockerRuntime, isDockerDeployment } from './docker.ts';
import { labelFilters } from './labels.ts';
import { useTestDaemon } from './testing/dockerd.ts';
import { queueSamplerFor, type BacklogReading } from '../../run/queue-sampler.ts';
import { KAFKA_TOPICS } from '../../../targets/microservices/kafka-broker.ts';
import { kafkaSidePorts } from '../../../targets/services/kafka.ts';

const daemon = await useTestDaemon();
const brokers = [
  { broker: 'rabbitmq', name: 'RabbitMQ', id: 'dk6' },
  { broker: 'kafka', name: 'Kafka', id: 'dk6k' },
] as const;

for (const { broker, name, id } of brokers) describe.skipIf(!daemon.available)(`docker runtime, offline images: phase 6 with ${name}`, () => {
  const options = { users: 1_000, appServers: 1, replicas: 0, shards: 1, shardStrategy: 'range' as const, broker };
  let t: TestRoot;
  let p: DeployPlan;
  let d: Deployment;
  let lb = '';
  const pools: pg.Pool[] = [];
  /** every upload of this file: the ledger's history */
  const jobs = new History();

  /** A pool on a service database at its published port (not through its proxy). */
  function db(name: string): pg.Pool {
    const a = d.service(name).address;
    const pool = new pg.Pool({ host: a.host, port: a.port, ...PG_CREDENTIALS, max: 2 });
    pool.on('error', () => {});
    pools.push(pool);
    return pool;
  }

  beforeAll(async () => {
    t = await testRoot(id);
    p = plan(phase6.topology(options), { runId: `${id}-${process.pid}`, slot: t.slot, proxies: true, prometheus: false });
    const log: string[] = [];
    const t0 = performance.now();
    try {
      d = await createDockerRuntime({ images: 'local', socketPath: daemon.socketPath, stateRoot: t.root, graceMs: 2_000 }).up(p, { runDir: join(t.root, 'run'), progress: (l) => log.push(l) });
    } finally {
      console.log(`docker phase 6 with ${name} (${p.services.length} containers) up in ${((performance.now() - t0) / 1000).toFixed(1)} s:\n  ${log.join('\n  ')}`);
    }
    lb = endpointUrl(d.service('lb').address);
    await createUsers(lb, [7]);
  }, 100_000);

  afterAll(async () => {
    await Promise.all(pools.map((x) => x.end().catch(() => {})));
    await d?.down();
    if (p) {
      const docker = connectDocker(daemon.socketPath);
      const filters = labelFilters(p.runId);
      expect((await docker.listContainers({ all: true, filters })).length).toBe(0);
      expect((await docker.listNetworks({ filters })).length).toBe(0);
      expect(((await docker.listVolumes({ filters })).Volumes ?? []).length).toBe(0);
    }
    await t?.dispose();
  }, 60_000);

  it('the broker and the services run in containers: the plan has no service left outside', () => {
    const kinds = new Set(p.services.map((s) => s.kind));
    expect(kinds.has(broker)).toBe(true);
    expect(kinds.has('microservice')).toBe(true);
    // every service is reached at a port published on loopback
    for (const s of p.services) expect(d.service(s.name).address.host).toBe('127.0.0.1');
  });

  it('an upload through the gateway is done (GET /api/jobs/:id)', async () => {
    const jobId = randomUUID();
    const up = await http<{ jobId: string }>('POST', `${lb}/api/videos`, { id: jobId, sizeKb: 128 });
    jobs.record(jobId, up.status);
    expect(up.status).toBe(202);
    const t0 = performance.now();
    let status = '';
    for (const deadline = Date.now() + 30_000; Date.now() < deadline && status !== 'done'; await new Promise((r) => setTimeout(r, 200))) {
      const job = await http<{ status: string }>('GET', `${lb}/api/jobs/${jobId}`);
      expect(job.status).toBe(200);
      status = job.body.status;
    }
    expect(status).toBe('done');
    console.log(`docker phase 6 with ${name}: an upload done ${((performance.now() - t0) / 1000).toFixed(1)} s after its 202`);
  }, 40_000);

  it("the queue's figures are readable where the run's sampler reads them (the upload acked, nothing waiting)", async () => {
    const sampler = queueSamplerFor(d.plan, (s, port) => d.sideAddress(s, port))!;
    let last: BacklogReading = { ready: null, unacked: null, acked: null };
    try {
      // RabbitMQ's ack counter is refreshed at each quorum tick (1 s); Kafka's at the workers' commit
      const settled = (r: BacklogReading) => r.ready === 0 && (r.acked ?? 0) >= 1 && (broker === 'kafka' || r.unacked === 0);
      for (const deadline = Date.now() + 15_000; Date.now() < deadline && !settled(last); await new Promise((r) => setTimeout(r, 500))) {
        last = await sampler.reader.read();
      }
    } finally {
      await sampler.reader.close();
    }
    expect(last.ready).toBe(0);
    expect(last.acked).toBeGreaterThanOrEqual(1);
    // Kafka has no delivered-but-unacked state: null by nature, not a missing reading
    if (broker === 'kafka') expect(last.unacked).toBeNull();
    else expect(last.unacked).toBe(0);
  }, 30_000);

  if (broker === 'kafka') it("Kafka's JMX exporter answers on its port published on 127.0.0.1, with the jobs topic's figures", async () => {
    const at = d.sideAddress('broker', kafkaSidePorts.prometheus);
    expect(at.host).toBe('127.0.0.1');
    const res = await fetch(`http://${at.host}:${at.port}/metrics`, { signal: AbortSignal.timeout(10_000) });
    expect(res.status).toBe(200);
    const text = await res.text();
    // the upload's message went into the jobs topic (a Meter's count: a counter)
    const m = new RegExp(`^kafka_server_brokertopicmetrics_messagesinpersec_total\\{topic="${KAFKA_TOPICS.jobs.topic.replace('.', '\\.')}",?\\} (\\S+)$`, 'm').exec(text);
    expect(m, 'the jobs topic has a messages-in series').not.toBeNull();
    expect(Number(m![1])).toBeGreaterThanOrEqual(1);
    expect(text).toMatch(/^kafka_server_replicamanager_underreplicatedpartitions(\{[^}]*\})? 0\.0$/m);
  }, 20_000);

  if (broker === 'kafka') it("Kafka's listeners and exporter are bound to the container's address on the run network, never to every interface", async () => {
    const dep = d;
    if (!isDockerDeployment(dep)) throw new Error('not a Docker deployment');
    const docker = connectDocker(daemon.socketPath);
    // the host's ss (mounted /usr) inside the broker's network namespace
    const exec = await docker.getContainer(dep.service('broker').id).exec({ Cmd: ['ss', '-ltnH'], AttachStdout: true, AttachStderr: true });
    const stream = await exec.start({ hijack: true, stdin: false });
    const out = new PassThrough();
    const chunks: Buffer[] = [];
    out.on('data', (c: Buffer) => chunks.push(c));
    docker.modem.demuxStream(stream, out, out);
    await new Promise((r) => stream.on('end', r));
    // Java's sockets are dual-stack: an IPv4 address shows as [::ffff:a.b.c.d]
    const listening = Buffer.concat(chunks).toString('utf8').trim().split('\n').map((l) => l.trim().split(/\s+/)[3]!.replace(/^\[::ffff:(.+)\]/, '$1'));
    const byPort = new Map(listening.map((a) => [Number(a.slice(a.lastIndexOf(':') + 1)), a.slice(0, a.lastIndexOf(':'))]));
    // the service's container lives in its network holder's namespace: the holder has the address
    const [holder] = await docker.listContainers({ filters: { label: [`bench.run=${p.runId}`, 'bench.service=broker', 'bench.role=net'] } });
    const ip = holder?.NetworkSettings.Networks[dep.network.name]?.IPAddress;
    console.log(`docker phase 6 with Kafka: the broker's container (${ip}) listens on ${listening.join(', ')}`);
    expect(ip).toMatch(/^\d+\.\d+\.\d+\.\d+$/);
    for (const port of [9092, kafkaSidePorts.controller, kafkaSidePorts.prometheus]) expect(byPort.get(port), `port ${port} in ${listening.join(', ')}`).toBe(ip);
    expect(listening.filter((a) => /^(0\.0\.0\.0|\*|\[::\]):/.test(a))).toEqual([]);
  }, 20_000);

  if (broker === 'rabbitmq') it('a payment through the gateway is notified once', async () => {
    const payId = randomUUID();
    const pay = await http('POST', `${lb}/api/payments`, { id: payId, userId: 7, amountCents: 250 });
    expect(pay.status).toBe(201);
    expect(pay.headers['x-served-by']).toBe('payment-1');
    const notes = db('notifications-db');
    let notified = 0;
    for (const deadline = Date.now() + 30_000; Date.now() < deadline && notified === 0; await new Promise((r) => setTimeout(r, 200))) {
      notified = (await readNotificationObservations(notes)).effects.get(payId) ?? 0;
    }
    expect(notified).toBe(1);
  }, 40_000);

  if (broker === 'rabbitmq') it('a cut worker-1->broker edge in the Toxiproxy container: worker-2 drains the queue, nothing is lost', async () => {
    const toxi = toxiproxyClient(d.plan.toxiproxy!.api);
    await toxi.setEnabled('worker-1->broker', false);
    try {
      const cut = new History();
      for (let i = 0; i < 20; i++) jobs.ops.push(await submitUpload(serviceOf(d.plan, 'lb').address, cut, { sizeKb: 128 }));
      expect(cut.count('ok')).toBe(20);
      const jobsDb = db('jobs-db');
      const drain = await drainJobs(jobsDb, 60_000);
      expect(drain).toMatchObject({ pending: 0, unsent: 0 });
      const by = await jobsDb.query<{ worker: string; n: string }>('SELECT worker, count(*) AS n FROM job_effects WHERE job_id = ANY($1::uuid[]) GROUP BY worker', [cut.ops.map((o) => o.id)]);
      console.log(`docker phase 6: with worker-1 cut off the broker: ${by.rows.map((r) => `${r.worker} ${r.n}`).join(', ')}, drained in ${drain.seconds.toFixed(1)} s`);
      expect(by.rows.map((r) => r.worker)).toEqual(['worker-2']);
      // the whole history of this file: the first test's upload and these
      expect(checkLedger(jobs.ops, await readJobObservations(jobsDb), { idempotent: true })).toMatchObject({ verdict: 'PASS', lost: 0, unexpected: 0, duplicated: 0, done: 21 });
    } finally {
      await toxi.setEnabled('worker-1->broker', true);
    }
  }, 90_000);
});
