// Kafka as the recipe starts it, through the native runtime: a KRaft node that answers metadata
// on the host's address only (clients and controller), takes an idempotent acks=all produce and
// gives it back to a consumer group that commits after processing, and leaves nothing running
// after down() (checked by the JVM's own pid). Its JMX exporter agent answers kafka_* series on the
// prometheus side port, and the lag reader (harness/run/kafka-lag.ts) sees a group's lag rise while
// nothing consumes and fall to 0 once a consumer committed.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createConnection } from 'node:net';
import { createNativeRuntime } from '../../harness/runtime/native.ts';
import { procStat } from '../../harness/runtime/process.ts';
import { testRoot, type TestRoot } from '../../harness/runtime/testing/run-helpers.ts';
import type { Deployment } from '../../harness/runtime/types.ts';
import { plan, type DeployPlan, type Endpoint } from '../../harness/topology/plan.ts';
import type { Topology } from '../../harness/topology/types.ts';
import { KafkaLagReader } from '../../harness/run/kafka-lag.ts';
import { KNOWN_METRICS } from '../../dashboards/metrics.ts';
import { kafkaClient, kafkaPing, kafkaSidePorts } from './kafka.ts';

const topology: Topology = {
  phase: 0,
  title: 'kafka alone',
  regions: [{ name: 'local', wanLatencyMs: 0 }],
  hosts: [{ name: 'broker-host', size: { cpus: 1, memoryMb: 768 }, region: 'local' }],
  services: [{ name: 'broker', kind: 'kafka', host: 'broker-host', role: 'broker', dependsOn: [], config: { kind: 'kafka' } }],
  entry: 'broker',
};

let t: TestRoot;
let p: DeployPlan;
let dep: Deployment | undefined;
let at: Endpoint;
let startSeconds = 0;

/** A live process (a zombie waiting for its parent counts as gone). */
const isAlive = (pid: number) => { const s = procStat(pid); return s !== null && s.state !== 'Z'; };

/** true when something accepts TCP at host:port within 1 s. */
function accepts(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createConnection({ host, port });
    const done = (ok: boolean) => { s.destroy(); resolve(ok); };
    s.once('connect', () => done(true));
    s.once('error', () => done(false));
    s.setTimeout(1_000, () => done(false));
  });
}

beforeAll(async () => {
  t = await testRoot('kafka');
  p = plan(topology, { runId: `kafka-${process.pid}`, slot: t.slot, proxies: false, prometheus: false });
  const t0 = performance.now();
  dep = await createNativeRuntime({ stateRoot: t.root }).up(p, { runDir: join(t.root, 'run'), progress: () => {} });
  startSeconds = (performance.now() - t0) / 1000;
  at = p.services.find((s) => s.name === 'broker')!.address;
}, 180_000);

afterAll(async () => {
  await dep?.down();
  await t?.dispose();
});

describe('kafka recipe', () => {
  it('answers metadata as node 1, on the host address only (clients and controller)', async () => {
    console.log(`kafka ready in ${startSeconds.toFixed(1)} s (prepare + start)`);
    expect(await kafkaPing(at)).toEqual([1]);
    expect(at.host).toMatch(/^127\.\d+\.\d+\.1$/);
    expect(await accepts(at.host, kafkaSidePorts.controller)).toBe(true);
    expect(await accepts('127.0.0.1', at.port)).toBe(false);
    expect(await accepts('127.0.0.1', kafkaSidePorts.controller)).toBe(false);
  });

  it('an idempotent acks=all produce reaches a group consumer that commits after processing', async () => {
    const kafka = kafkaClient(at, 'kafka-int');
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic: 'work', numPartitions: 2, replicationFactor: 1 }], waitForLeaders: true });
    await admin.disconnect();
    const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    const sent = Array.from({ length: 20 }, (_, i) => `job-${i}`);
    const acks = await producer.send({ topic: 'work', acks: -1, messages: sent.map((v) => ({ key: v, value: v })) });
    expect(acks.every((a) => a.errorCode === 0)).toBe(true);
    await producer.disconnect();

    const consumer = kafka.consumer({ groupId: 'g', sessionTimeout: 10_000 });
    const seen: string[] = [];
    await consumer.connect();
    await consumer.subscribe({ topic: 'work', fromBeginning: true });
    await consumer.run({
      autoCommit: false,
      eachMessage: async ({ topic, partition, message }) => {
        seen.push(message.value!.toString());
        await consumer.commitOffsets([{ topic, partition, offset: (BigInt(message.offset) + 1n).toString() }]);
      },
    });
    const deadline = Date.now() + 30_000;
    while (seen.length < sent.length && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    await consumer.disconnect();
    expect([...seen].sort()).toEqual([...sent].sort());

    // the commits are the group's: a new member of the group starts after them (nothing redelivered)
    const admin2 = kafka.admin();
    await admin2.connect();
    const offsets = await admin2.fetchOffsets({ groupId: 'g', topics: ['work'] });
    await admin2.disconnect();
    const committed = offsets[0]!.partitions.reduce((n, q) => n + Number(q.offset), 0);
    expect(committed).toBe(sent.length);
  }, 60_000);

  it("the JMX exporter agent answers kafka_* series on the host address's prometheus port only", async () => {
    const res = await fetch(`http://${at.host}:${kafkaSidePorts.prometheus}/metrics`, { signal: AbortSignal.timeout(10_000) });
    expect(res.status).toBe(200);
    const text = await res.text();
    // the topic 'work' of the test before took 20 messages: the per-topic counter and log-end offsets show them
    expect(text).toMatch(/^kafka_server_replicamanager_underreplicatedpartitions(\{[^}]*\})? 0\.0$/m);
    expect(text).toMatch(/^kafka_server_brokertopicmetrics_messagesinpersec_total\{topic="work",?\} 20\.0$/m);
    expect(text).toMatch(/^kafka_network_requestmetrics_requests_total\{request="Produce",/m);
    expect(text).toMatch(/^kafka_log_logendoffset\{partition="\d+",topic="work",?\} \d+/m);
    expect(await accepts('127.0.0.1', kafkaSidePorts.prometheus)).toBe(false);
    // every Kafka name the dashboards use is one the agent exports
    const names = new Set(text.split('\n').filter((l) => l && !l.startsWith('#')).map((l) => l.split(/[{ ]/)[0]));
    const used = Object.entries(KNOWN_METRICS).filter(([, m]) => m.source === 'kafka').map(([n]) => n);
    expect(used.length).toBeGreaterThan(0);
    expect(used.filter((n) => !names.has(n))).toEqual([]);
  }, 30_000);

  it("the lag reader sees a group's lag rise while nothing consumes and fall to 0 after a consumer commits", async () => {
    const kafka = kafkaClient(at, 'kafka-lag-int');
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic: 'lagged', numPartitions: 3, replicationFactor: 1 }], waitForLeaders: true });
    await admin.disconnect();
    const reader = new KafkaLagReader(at, 'lagged', 'lag-group');
    const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
    const consumer = kafka.consumer({ groupId: 'lag-group', sessionTimeout: 10_000 });
    try {
      // right after its creation the topic's leader may not answer ListOffsets yet: the reader says
      // null (a gap) until it does
      const deadline0 = Date.now() + 15_000;
      let first = await reader.read();
      while (first.ready === null && Date.now() < deadline0) {
        await new Promise((r) => setTimeout(r, 250));
        first = await reader.read();
      }
      expect(first).toEqual({ ready: 0, unacked: null, acked: 0 });
      await producer.connect();
      await producer.send({ topic: 'lagged', acks: -1, messages: Array.from({ length: 15 }, (_, i) => ({ key: `k${i}`, value: `v${i}` })) });
      expect(await reader.read()).toEqual({ ready: 15, unacked: null, acked: 0 });
      await producer.send({ topic: 'lagged', acks: -1, messages: Array.from({ length: 10 }, (_, i) => ({ key: `m${i}`, value: `w${i}` })) });
      expect(await reader.read()).toEqual({ ready: 25, unacked: null, acked: 0 });

      let seen = 0;
      await consumer.connect();
      await consumer.subscribe({ topic: 'lagged', fromBeginning: true });
      await consumer.run({
        autoCommit: false,
        eachMessage: async ({ topic, partition, message }) => {
          await consumer.commitOffsets([{ topic, partition, offset: (BigInt(message.offset) + 1n).toString() }]);
          seen += 1;
        },
      });
      const deadline = Date.now() + 30_000;
      let last = await reader.read();
      while (last.ready !== 0 && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 250));
        last = await reader.read();
      }
      expect(seen).toBe(25);
      expect(last).toEqual({ ready: 0, unacked: null, acked: 25 });
    } finally {
      await consumer.disconnect().catch(() => {});
      await producer.disconnect().catch(() => {});
      await reader.close();
    }
  }, 60_000);

  it('down() stops the JVM by its pid; nothing answers after', async () => {
    const pid = Number(dep!.service('broker').id);
    expect(pid).toBeGreaterThan(0);
    // the JVM itself: the launcher's shell exec'd it
    expect(readFileSync(`/proc/${pid}/comm`, 'utf8').trim()).toBe('java');
    expect(isAlive(pid)).toBe(true);
    await dep!.down();
    dep = undefined;
    expect(isAlive(pid)).toBe(false);
    expect(await accepts(at.host, at.port)).toBe(false);
    expect(await accepts(at.host, kafkaSidePorts.controller)).toBe(false);
    expect(await accepts(at.host, kafkaSidePorts.prometheus)).toBe(false);
  }, 60_000);
});
