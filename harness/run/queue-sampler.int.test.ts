// The queue sampler on a real RabbitMQ (one broker, started by its recipe through the native
// runtime): phase 6's jobs queue as the services declare it, a publisher paced by the open-model
// schedule with a --burst (withBurst + ArrivalSchedule, as a run builds it), and a consumer that
// acks at a fixed pace below the burst's rate. The backlog must rise during the burst and its drain
// time must be measured, close to what the two rates predict.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import amqp from 'amqplib';
import { createNativeRuntime } from '../runtime/native.ts';
import { testRoot, type TestRoot } from '../runtime/testing/run-helpers.ts';
import type { Deployment } from '../runtime/types.ts';
import { plan, type DeployPlan } from '../topology/plan.ts';
import type { Topology } from '../topology/types.ts';
import { amqpUrl } from '../../targets/services/rabbitmq.ts';
import { declareTopology, JOBS_EXCHANGE, JOBS_ROUTING_KEY } from '../../targets/microservices/rabbitmq-broker.ts';
import { ArrivalSchedule } from '../load/scheduler.ts';
import { withBurst, type Burst } from '../load/traffic-model.ts';
import { parseQueueMetrics, QueueSampler, queueTargetOf } from './queue-sampler.ts';

const topology: Topology = {
  phase: 0,
  title: 'rabbitmq for the queue sampler',
  regions: [{ name: 'local', wanLatencyMs: 0 }],
  hosts: [{ name: 'broker-host', size: { cpus: 0.5, memoryMb: 512 }, region: 'local' }],
  services: [{ name: 'broker', kind: 'rabbitmq', host: 'broker-host', role: 'broker', dependsOn: [], config: { kind: 'rabbitmq' } }],
  entry: 'broker',
};

let t: TestRoot;
let p: DeployPlan;
let dep: Deployment | undefined;

beforeAll(async () => {
  t = await testRoot('qsmp');
  p = plan(topology, { runId: `qsmp-${process.pid}`, slot: t.slot, proxies: false, prometheus: false });
  dep = await createNativeRuntime({ stateRoot: t.root }).up(p, { runDir: join(t.root, 'run'), progress: () => {} });
}, 150_000);

afterAll(async () => {
  await dep?.down();
  await t?.dispose();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('queue sampler on a real RabbitMQ', () => {
  it('sees the backlog a burst leaves and measures its drain', async () => {
    const target = queueTargetOf(p)!;
    const conn = await amqp.connect(amqpUrl(target.amqp));
    conn.on('error', () => {});
    const sampler = new QueueSampler(target);
    try {
      const pub = await conn.createConfirmChannel();
      await declareTopology(pub);
      // 10 jobs/s, 6x from t=10 s for 10 s: 60/s against a consumer acking 30/s, so the backlog
      // grows ~30/s during the burst (~300) and drains at ~20/s after it (~15 s).
      const durationS = 40;
      const burst: Burst = { factor: 6, startS: 10, lengthS: 10 };
      const schedule = new ArrivalSchedule(withBurst([{ durationS: 0, targetRate: 10 }, { durationS, targetRate: 10 }], burst));

      const sub = await conn.createChannel();
      // a small prefetch, as phase 6's workers take: the backlog waits as ready messages (read live),
      // not as unacked ones (a figure RabbitMQ refreshes every 5 s)
      await sub.prefetch(10);
      const held: amqp.ConsumeMessage[] = [];
      await sub.consume(target.queue, (m) => void (m && held.push(m)), { noAck: false });
      // 3 acks every 100 ms: the consumer's pace, whatever arrives
      const acker = setInterval(() => {
        for (let i = 0; i < 3 && held.length > 0; i++) sub.ack(held.shift()!);
      }, 100);

      // the per-queue series appears at the broker's first statistics tick after the declare (<= 5 s)
      const seriesBy = Date.now() + 15_000;
      while (Date.now() < seriesBy) {
        const text = await (await fetch(`http://${target.metrics.host}:${target.metrics.port}/metrics`)).text();
        if (parseQueueMetrics(text, target.queue).unacked !== null) break;
        await sleep(500);
      }
      sampler.start();
      const loadStartMs = Date.now();
      let sent = 0;
      while (Date.now() - loadStartMs < durationS * 1000) {
        const due = Math.floor(schedule.countAt((Date.now() - loadStartMs) / 1000));
        for (; sent < due; sent++) pub.publish(JOBS_EXCHANGE, JOBS_ROUTING_KEY, Buffer.from(String(sent)), { persistent: true });
        await sleep(50);
      }
      for (; sent < schedule.totalRequests; sent++) pub.publish(JOBS_EXCHANGE, JOBS_ROUTING_KEY, Buffer.from(String(sent)), { persistent: true });
      await pub.waitForConfirms();
      const q = await sampler.finish({ loadStartMs, durationS, burst, drainBoundS: 45 });
      clearInterval(acker);

      const at = (from: number, to: number) => q.series.filter((s) => s.t >= from && s.t < to && s.depth !== null);
      const fmt = (xs: typeof q.series) => xs.map((s) => `${s.t}:${s.ready}+${s.unacked}`).join(' ');
      console.log(`sent ${sent}; peak ${q.peakDepth} at ${q.peakAtS}s; pre-burst ${q.preBurstDepth}; drain ${q.drainS}s (${q.drainNote}); slope ${q.slope.perS}; after load ${JSON.stringify(q.afterLoad)}`);
      console.log(`ready+unacked: ${fmt(q.series)}`);
      console.log(`ack rate: ${q.series.map((s) => s.ackRate).join(' ')}`);

      expect(sent).toBe(schedule.totalRequests); // 10 x 30 + 60 x 10 = 900
      expect(q.series.length).toBeGreaterThanOrEqual(30);
      expect(q.series.filter((s) => s.t < durationS && s.depth === null)).toEqual([]);
      // before the burst the consumer keeps up; during it the backlog climbs
      const before = at(3, 10);
      expect(before.length).toBeGreaterThanOrEqual(4);
      expect(Math.max(...before.map((s) => s.depth!))).toBeLessThanOrEqual(40);
      expect(q.peakDepth!).toBeGreaterThanOrEqual(150);
      expect(q.peakAtS!).toBeGreaterThanOrEqual(15);
      expect(q.peakAtS!).toBeLessThanOrEqual(26);
      // the drain is measured, near the ~15 s the rates predict (the machine's stalls slow the acks)
      expect(q.drainNote).toBeNull();
      expect(q.drainS!).toBeGreaterThanOrEqual(5);
      expect(q.drainS!).toBeLessThanOrEqual(35);
      expect(q.afterLoad.drained).toBe(true);
      // the consumers' pace is seen from the broker's counter: ~30 acks/s while a backlog is there
      const draining = q.series.filter((s) => s.t >= 22 && s.t < 20 + q.drainS! && s.ackRate !== null).map((s) => s.ackRate!);
      expect(draining.length).toBeGreaterThanOrEqual(3);
      const mean = draining.reduce((a, b) => a + b, 0) / draining.length;
      expect(mean).toBeGreaterThan(15);
      // (each rate is timed by when its scrape started, so one second may read a few acks high)
      expect(mean).toBeLessThanOrEqual(36);
    } finally {
      await sampler.stop();
      await conn.close().catch(() => {});
    }
  }, 150_000);
});
