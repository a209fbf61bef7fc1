// A phase-6 stack for integration tests: one PostgreSQL and one broker (RabbitMQ, or Kafka) started by the native
// runtime from their recipes (no proxies), and the services spawned from the prebuilt bundle as
// real processes, so a test can SIGKILL a worker. One database holds every service's tables
// (their names do not overlap): the tests are about the broker path, not about isolation.
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import amqp from 'amqplib';
import pg from 'pg';
import { createNativeRuntime } from '../../../harness/runtime/native.ts';
import { testRoot, type TestRoot } from '../../../harness/runtime/testing/run-helpers.ts';
import type { Deployment, StartedService } from '../../../harness/runtime/types.ts';
import { plan, type Endpoint } from '../../../harness/topology/plan.ts';
import type { Topology } from '../../../harness/topology/types.ts';
import { PG_CREDENTIALS } from '../../app/config.ts';
import { ensureBundle } from '../../app/bundle.ts';
import { amqpUrl } from '../../services/rabbitmq.ts';
import { kafkaClient } from '../../services/kafka-client.ts';
import type { BrokerKind } from '../broker.ts';
import { KAFKA_GROUPS, KAFKA_TOPICS } from '../kafka-broker.ts';
import { declareTopology, JOBS_DEAD_QUEUE, JOBS_QUEUE, NOTIFICATIONS_QUEUE } from '../rabbitmq-broker.ts';
import { JOBS_SCHEMA, NOTIFICATION_SCHEMA, PAYMENT_SCHEMA } from '../schema.ts';
import type { MsConfigInput } from '../config.ts';
import { MS_ENTRY, msLaunch, msReady } from '../launch.ts';

const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));

const topology = (broker: BrokerKind): Topology => ({
  phase: 0,
  title: 'phase-6 broker path',
  regions: [{ name: 'local', wanLatencyMs: 0 }],
  hosts: [
    { name: 'db-host', size: { cpus: 0.5, memoryMb: 512 }, region: 'local' },
    { name: 'broker-host', size: { cpus: 0.5, memoryMb: 512 }, region: 'local' },
  ],
  services: [
    { name: 'ms-db', kind: 'postgres', host: 'db-host', role: 'primary', dependsOn: [], config: { kind: 'postgres', postgres: { role: 'primary' } } },
    broker === 'kafka'
      ? { name: 'broker', kind: 'kafka', host: 'broker-host', role: 'broker', dependsOn: [], config: { kind: 'kafka' } }
      : { name: 'broker', kind: 'rabbitmq', host: 'broker-host', role: 'broker', dependsOn: [], config: { kind: 'rabbitmq' } },
  ],
  entry: 'broker',
});

/** Kafka has no purge: the groups are waited out and deleted, the topics deleted, waited out, and
 *  created again with the partitions the services expect. The groups matter: a member SIGKILLed
 *  by the previous test stays in its group until its session times out, and the rebalance that
 *  evicts it would land in the middle of the next test (a commit refused during a rebalance is
 *  fetched again: the negative control's early commits would not stick). */
async function resetKafka(at: Endpoint): Promise<void> {
  const admin = kafkaClient(at, 'stack-reset').admin();
  await admin.connect();
  try {
    const groups = Object.values(KAFKA_GROUPS);
    const groupsDeadline = Date.now() + 30_000;
    while ((await admin.describeGroups(groups)).groups.some((g) => g.members.length > 0)) {
      if (Date.now() > groupsDeadline) throw new Error('Kafka consumer groups still have members after 30 s');
      await new Promise((r) => setTimeout(r, 200));
    }
    // a group that never existed is no error here
    await admin.deleteGroups(groups).catch(() => {});
    const topics = Object.values(KAFKA_TOPICS);
    const names = topics.map((t) => t.topic);
    const existing = (await admin.listTopics()).filter((t) => names.includes(t));
    if (existing.length > 0) await admin.deleteTopics({ topics: existing, timeout: 15_000 });
    const deadline = Date.now() + 30_000;
    while ((await admin.listTopics()).some((t) => names.includes(t))) {
      if (Date.now() > deadline) throw new Error('Kafka topics not deleted in 30 s');
      await new Promise((r) => setTimeout(r, 200));
    }
    for (let attempt = 0; ; attempt++) {
      try {
        await admin.createTopics({ topics: topics.map((t) => ({ topic: t.topic, numPartitions: t.partitions, replicationFactor: 1 })), waitForLeaders: true });
        break;
      } catch (e) {
        // a deletion still settling in the controller
        if (attempt >= 50) throw e;
        await new Promise((r) => setTimeout(r, 200));
      }
    }
  } finally {
    await admin.disconnect();
  }
}

export interface MsProcess {
  name: string;
  child: ChildProcess;
  listen: Endpoint;
  /** stderr so far */
  log(): string;
  kill(sig?: NodeJS.Signals): Promise<void>;
}

export interface Stack {
  db: Endpoint;
  broker: Endpoint;
  pool: pg.Pool;
  /** the broker as the runtime started it: stop() and start() for an outage */
  brokerService(): StartedService;
  spawn(name: string, role: MsConfigInput['role'], extra?: Partial<MsConfigInput>): Promise<MsProcess>;
  /** every spawned process still alive, killed (SIGKILL) by pid */
  killAll(): Promise<void>;
  /** empties the tables and the queues (every service stopped first) */
  reset(): Promise<void>;
  dispose(): Promise<void>;
}

export async function startStack(name: string, brokerKind: BrokerKind = 'rabbitmq'): Promise<Stack> {
  const t: TestRoot = await testRoot(name);
  const p = plan(topology(brokerKind), { runId: `${name}-${process.pid}`, slot: t.slot, proxies: false, prometheus: false });
  let dep: Deployment | undefined;
  try {
    dep = await createNativeRuntime({ stateRoot: t.root }).up(p, { runDir: join(t.root, 'run'), progress: () => {} });
  } catch (e) {
    await t.dispose();
    throw e;
  }
  const db = p.services.find((s) => s.name === 'ms-db')!.address;
  const broker = p.services.find((s) => s.name === 'broker')!.address;
  const pool = new pg.Pool({ host: db.host, port: db.port, user: PG_CREDENTIALS.user, password: PG_CREDENTIALS.password, database: PG_CREDENTIALS.database, max: 4 });
  pool.on('error', () => {});
  const bundle = await ensureBundle({ repoRoot, entry: MS_ENTRY });
  const procs = new Set<MsProcess>();
  let nextHost = 100;

  const kill = (proc: MsProcess, sig: NodeJS.Signals) =>
    new Promise<void>((resolve) => {
      if (proc.child.exitCode !== null || proc.child.signalCode !== null) return resolve();
      proc.child.once('exit', () => resolve());
      process.kill(proc.child.pid!, sig);
    });

  return {
    db,
    broker,
    pool,
    brokerService: () => dep!.service('broker'),
    async spawn(svc, role, extra = {}) {
      const listen = { host: `127.${t.slot}.${nextHost++}.1`, port: 8100 };
      const config: MsConfigInput = { name: svc, role, listen, db: { ...db }, broker: { ...broker, kind: brokerKind }, relayIdleMs: 20, ...extra };
      const launch = msLaunch([bundle.file], config);
      const child = spawn(launch.command, launch.args, { env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...launch.env }, stdio: ['ignore', 'ignore', 'pipe'] });
      let err = '';
      child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
      const proc: MsProcess = { name: svc, child, listen, log: () => err, kill: (sig = 'SIGKILL') => kill(proc, sig) };
      procs.add(proc);
      child.once('exit', () => procs.delete(proc));
      const exited = new AbortController();
      child.once('exit', () => exited.abort(new Error(`${svc} exited: ${err}`)));
      await msReady(listen, { signal: exited.signal });
      return proc;
    },
    async killAll() {
      await Promise.all([...procs].map((proc) => kill(proc, 'SIGKILL')));
    },
    async reset() {
      await pool.query(PAYMENT_SCHEMA + NOTIFICATION_SCHEMA + JOBS_SCHEMA);
      await pool.query('TRUNCATE job_effects, job_outbox, jobs, payment_outbox, payments, notifications');
      if (brokerKind === 'kafka') return resetKafka(broker);
      const conn = await amqp.connect(amqpUrl(broker));
      try {
        const ch = await conn.createChannel();
        await declareTopology(ch);
        for (const q of [JOBS_QUEUE, JOBS_DEAD_QUEUE, NOTIFICATIONS_QUEUE]) await ch.purgeQueue(q);
      } finally {
        await conn.close();
      }
    },
    async dispose() {
      await Promise.all([...procs].map((proc) => kill(proc, 'SIGKILL')));
      await pool.end().catch(() => {});
      await dep?.down();
      await t.dispose();
    },
  };
}
