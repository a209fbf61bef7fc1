// Kafka behind the broker seam (broker.ts). A stream is a topic; a consumer is a consumer group
// member; "settled" is a committed offset.
//
// - publish: the idempotent producer (one request in flight, so retries neither reorder nor
//   duplicate), acks=all: resolved only once the partition's in-sync replicas hold the batch;
// - consume: eachMessage, up to `prefetch` partitions at once, and the offset committed only after
//   the handler settled the delivery (after the side effect). A consumer that dies leaves its
//   offsets uncommitted: the group rebalances after its session timeout and another member
//   fetches those messages again;
// - Kafka has no delivery limit: a failed delivery is handed to the handler again by this
//   process, counted per message, and past the consumer's limit it is published to jobs.dead
//   (acks=all) and only then committed. The count is this process's: a consumer that dies resets
//   it (the new owner starts again from 1), which can only delay a dead-lettering, never lose a job.
//
// Topics are created by whoever starts first (creating one that exists is not an error), with
// partitions >= the most workers phase 6 declares, so that every worker can own one.
import type { Consumer, Producer } from 'kafkajs';
import { kafkaClient } from '../services/kafka-client.ts';
import { JOBS_DELIVERY_LIMIT, NOTIFICATIONS_DELIVERY_LIMIT, type Broker, type BrokerOptions, type ConsumerSpec, type OutMessage, type Stream } from './broker.ts';

/** The most workers phase 6 allows (its --workers max): the jobs topic has a partition for each. */
export const KAFKA_JOBS_PARTITIONS = 16;

export const KAFKA_TOPICS: Readonly<Record<Stream, { topic: string; partitions: number }>> = {
  'payment.completed': { topic: 'payment.completed', partitions: 4 },
  jobs: { topic: 'jobs.video', partitions: KAFKA_JOBS_PARTITIONS },
  'jobs.dead': { topic: 'jobs.dead', partitions: 1 },
};
/** The consumer group of each stream: every process consuming a stream shares its work. */
export const KAFKA_GROUPS: Readonly<Record<Stream, string>> = { 'payment.completed': 'notifications', jobs: 'workers', 'jobs.dead': 'uploads-dead' };
/** Deliveries after the first before a message is dead-lettered (null: retried until it succeeds). */
const LIMITS: Readonly<Record<Stream, number | null>> = { 'payment.completed': NOTIFICATIONS_DELIVERY_LIMIT, jobs: JOBS_DELIVERY_LIMIT, 'jobs.dead': null };

/** A member the broker has not heard from in this time is dead: its partitions move. The broker's
 *  floor is 3 s (kafka.ts); 6 s keeps a worker busy hashing from being taken for dead. */
export const KAFKA_SESSION_TIMEOUT_MS = 6_000;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function withDeadline<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no answer in ${ms} ms`)), ms);
  });
  return Promise.race([p, deadline]).finally(() => clearTimeout(timer));
}

export function kafkaBroker(o: BrokerOptions): Broker {
  const kafka = kafkaClient(o.at, o.name, { retries: 8 });
  let producer: Producer | null = null;
  const consumers: Consumer[] = [];
  const joined = new Set<Consumer>();
  let started = false;
  let closed = false;

  async function ensureTopics(): Promise<void> {
    const admin = kafka.admin();
    await admin.connect();
    try {
      const wanted = Object.values(KAFKA_TOPICS);
      // several services start at once: a topic another one created meanwhile is no error
      await admin.createTopics({ topics: wanted.map((t) => ({ topic: t.topic, numPartitions: t.partitions, replicationFactor: 1 })), waitForLeaders: true }).catch(() => false);
      const have = new Set(await admin.listTopics());
      const missing = wanted.filter((t) => !have.has(t.topic)).map((t) => t.topic);
      if (missing.length > 0) throw new Error(`topics not created: ${missing.join(', ')}`);
    } finally {
      await admin.disconnect().catch(() => {});
    }
  }

  async function publish(stream: Stream, messages: readonly OutMessage[], timeoutMs: number): Promise<void> {
    if (!producer) throw new Error('no Kafka producer');
    const sent = producer.send({ topic: KAFKA_TOPICS[stream].topic, acks: -1, timeout: timeoutMs, messages: messages.map((m) => ({ key: m.id, value: m.body })) });
    await withDeadline(sent, timeoutMs, 'Kafka produce (acks=all)');
  }

  async function startConsumer(spec: ConsumerSpec): Promise<void> {
    const c = kafka.consumer({
      groupId: KAFKA_GROUPS[spec.stream],
      sessionTimeout: KAFKA_SESSION_TIMEOUT_MS,
      heartbeatInterval: 1_000,
      rebalanceTimeout: 15_000,
      maxWaitTimeInMs: 1_000,
      allowAutoTopicCreation: false,
      // the broker-outage drill: keep coming back, whatever the error was
      retry: { retries: 8, initialRetryTime: 100, maxRetryTime: 2_000, restartOnFailure: async () => !closed },
    });
    consumers.push(c);
    c.on(c.events.GROUP_JOIN, () => joined.add(c));
    c.on(c.events.CRASH, (e) => {
      joined.delete(c);
      o.log(`kafka consumer ${KAFKA_GROUPS[spec.stream]}: ${e.payload.error.message}${e.payload.restart ? '; restarting' : ''}`);
    });
    c.on(c.events.DISCONNECT, () => joined.delete(c));
    const limit = LIMITS[spec.stream];
    await c.connect();
    await c.subscribe({ topic: KAFKA_TOPICS[spec.stream].topic, fromBeginning: true });
    await c.run({
      autoCommit: false,
      partitionsConsumedConcurrently: spec.prefetch,
      eachMessage: async ({ topic, partition, message, heartbeat }) => {
        const body = message.value ?? Buffer.alloc(0);
        for (let failures = 0; ; ) {
          // the handler settles once; an ack before the work (the negative control) commits at once
          const ok = await new Promise<boolean>((resolve) => spec.handle({ body, redelivered: failures > 0, ack: () => resolve(true), nack: () => resolve(false) }));
          if (ok) break;
          failures += 1;
          if (limit !== null && failures > limit) {
            await publish('jobs.dead', [{ id: message.key?.toString() ?? `${topic}/${partition}/${message.offset}`, body }], 10_000);
            break;
          }
          await sleep(Math.min(1_000, 50 * failures));
          await heartbeat();
        }
        await c.commitOffsets([{ topic, partition, offset: (BigInt(message.offset) + 1n).toString() }]);
      },
    });
  }

  async function connectOnce(): Promise<void> {
    await ensureTopics();
    // read here, not when the broker is made: the role declares its consumers after that
    if (o.publishes || o.consumers.some((c) => LIMITS[c.stream] !== null)) {
      const p = kafka.producer({ idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: false });
      await p.connect();
      producer = p;
    }
    for (const spec of o.consumers) await startConsumer(spec);
  }

  async function teardown(): Promise<void> {
    await Promise.all(consumers.splice(0).map((c) => c.disconnect().catch(() => {})));
    joined.clear();
    const p = producer;
    producer = null;
    await p?.disconnect().catch(() => {});
  }

  return {
    async start() {
      for (let attempt = 0; !closed; attempt++) {
        try {
          await connectOnce();
          started = true;
          return;
        } catch (e) {
          await teardown();
          const wait = Math.min(2_000, 100 * 2 ** attempt);
          if (attempt === 0 || attempt % 10 === 0) o.log(`broker: ${(e as Error).message}; retrying in ${wait} ms`);
          await sleep(wait);
        }
      }
    },
    get connected() {
      // a consumer counts once it joined its group; a publisher-only process once it started
      return started && (consumers.length === 0 || consumers.every((c) => joined.has(c)));
    },
    get canPublish() {
      return producer !== null;
    },
    publish,
    async close() {
      closed = true;
      await teardown();
    },
  };
}
