// The sampler's pure parts: which broker and queue a plan gives, the plugin's text as RabbitMQ 3.10
// prints it (lines copied from a real broker), and readings turned into samples.
import { describe, expect, it } from 'vitest';
import { parseQueueMetrics, queueSamplerFor, queueTargetOf, toSeries } from './queue-sampler.ts';
import { groupLag, KAFKA_QUEUE_SOURCE, KafkaLagReader } from './kafka-lag.ts';
import { JOBS_QUEUE } from '../../targets/microservices/rabbitmq-broker.ts';

const METRICS = [
  '# TYPE rabbitmq_queue_messages_unacked gauge',
  'rabbitmq_queue_messages_ready{vhost="/",queue="jobs.video"} 250',
  'rabbitmq_queue_messages_unacked{vhost="/",queue="notifications.payment-completed"} 9',
  'rabbitmq_queue_messages_unacked{vhost="/",queue="jobs.video"} 4',
  'rabbitmq_global_messages_acknowledged_total{protocol="amqp091",queue_type="rabbit_classic_queue"} 7',
  'rabbitmq_global_messages_acknowledged_total{protocol="amqp091",queue_type="rabbit_quorum_queue"} 120',
  'rabbitmq_global_messages_acknowledged_total{protocol="amqp091",queue_type="rabbit_stream_queue"} 0',
].join('\n');

describe('parseQueueMetrics', () => {
  it("reads the queue's unacked and the quorum queues' acks", () => {
    expect(parseQueueMetrics(METRICS, 'jobs.video')).toEqual({ unacked: 4, acked: 120 });
  });

  it('says null for a series the text does not hold (before the first statistics tick)', () => {
    expect(parseQueueMetrics('rabbitmq_build_info{rabbitmq_version="3.10.8"} 1\n', 'jobs.video')).toEqual({ unacked: null, acked: null });
  });
});

describe('queueTargetOf', () => {
  it('finds the broker by kind; none without one', () => {
    const broker = { name: 'broker', kind: 'rabbitmq', address: { host: '127.9.3.1', port: 5672 } };
    const t = queueTargetOf({ services: [{ name: 'api', kind: 'app', address: { host: '127.9.2.1', port: 8000 } }, broker] as never });
    expect(t).toEqual({ queue: JOBS_QUEUE, amqp: { host: '127.9.3.1', port: 5672 }, metrics: { host: '127.9.3.1', port: 15692 } });
    expect(queueTargetOf({ services: [] })).toBeNull();
  });

  it("reads the metrics where the deployment says the broker's side port is (Docker: its published port)", () => {
    const broker = { name: 'broker', kind: 'rabbitmq', address: { host: '127.0.0.1', port: 40001 } };
    const asked: [string, number][] = [];
    const t = queueTargetOf({ services: [broker] as never }, (name, port) => (asked.push([name, port]), { host: '127.0.0.1', port: 40002 }));
    expect(asked).toEqual([['broker', 15692]]);
    expect(t!.metrics).toEqual({ host: '127.0.0.1', port: 40002 });
    expect(t!.amqp).toEqual({ host: '127.0.0.1', port: 40001 });
  });
});

describe('toSeries', () => {
  it('times samples from the load start, sums depth, derives the ack rate, keeps gaps null', () => {
    const s = toSeries(
      [
        { atMs: 9_000, ready: 1, unacked: 0, acked: 10 },
        { atMs: 10_000, ready: 5, unacked: 2, acked: 20 },
        { atMs: 11_000, ready: null, unacked: 2, acked: null },
        { atMs: 12_000, ready: 9, unacked: 2, acked: 50 },
        { atMs: 13_000, ready: 3, unacked: 1, acked: 70 },
      ],
      10_000,
    );
    expect(s).toEqual([
      { t: 0, ready: 5, unacked: 2, depth: 7, ackRate: 10 },
      { t: 1, ready: null, unacked: 2, depth: null, ackRate: null },
      { t: 2, ready: 9, unacked: 2, depth: 11, ackRate: null },
      { t: 3, ready: 3, unacked: 1, depth: 4, ackRate: 20 },
    ]);
  });
});

describe('queueSamplerFor', () => {
  const app = { name: 'api', kind: 'app', address: { host: '127.9.2.1', port: 8000 } };
  it("picks the reader by the broker's kind", () => {
    const rabbit = queueSamplerFor({ services: [app, { name: 'broker', kind: 'rabbitmq', address: { host: '127.9.3.1', port: 5672 } }] as never })!;
    expect(rabbit.reader.queue).toBe(JOBS_QUEUE);
    expect(rabbit.reader.unackedExists).toBe(true);
    const kafka = queueSamplerFor({ services: [app, { name: 'broker', kind: 'kafka', address: { host: '127.9.3.1', port: 9092 } }] as never })!;
    expect(kafka.reader).toBeInstanceOf(KafkaLagReader);
    expect(kafka.reader).toMatchObject({ queue: 'jobs.video', group: 'workers', at: { host: '127.9.3.1', port: 9092 }, unackedExists: false, source: KAFKA_QUEUE_SOURCE });
    expect(queueSamplerFor({ services: [app] as never })).toBeNull();
  });
});

describe('groupLag', () => {
  const ends = [
    { partition: 0, low: '0', high: '10' },
    { partition: 1, low: '5', high: '8' },
    { partition: 2, low: '0', high: '0' },
  ];
  it('sums log end minus committed offset over the partitions; the committed total counts from each log start', () => {
    expect(groupLag(ends, [{ partition: 0, offset: '4' }, { partition: 1, offset: '8' }, { partition: 2, offset: '-1' }])).toEqual({ lag: 6, committed: 7 });
  });
  it('a partition never committed on lags from its log start (the workers read from the beginning)', () => {
    expect(groupLag(ends, [{ partition: 0, offset: '-1' }])).toEqual({ lag: 13, committed: 0 });
    expect(groupLag(ends, [])).toEqual({ lag: 13, committed: 0 });
  });
  it('a commit below the log start (retention took the rest) lags from the log start, not below it', () => {
    expect(groupLag([{ partition: 0, low: '5', high: '9' }], [{ partition: 0, offset: '2' }])).toEqual({ lag: 4, committed: 0 });
  });
  it('everything committed is no lag', () => {
    expect(groupLag(ends, [{ partition: 0, offset: '10' }, { partition: 1, offset: '8' }, { partition: 2, offset: '0' }])).toEqual({ lag: 0, committed: 13 });
  });
});

describe('toSeries without an unacked state (Kafka)', () => {
  it('the depth is the lag; unacked stays null; the ack rate is the committed offsets per second', () => {
    const readings = [
      { atMs: 1_000, ready: 0, unacked: null, acked: 0 },
      { atMs: 2_000, ready: 40, unacked: null, acked: 10 },
      { atMs: 3_000, ready: null, unacked: null, acked: null },
      { atMs: 4_000, ready: 5, unacked: null, acked: 55 },
    ];
    const kafka = toSeries(readings, 1_000, false);
    expect(kafka.map((s) => s.depth)).toEqual([0, 40, null, 5]);
    expect(kafka.map((s) => s.unacked)).toEqual([null, null, null, null]);
    expect(kafka.map((s) => s.ackRate)).toEqual([null, 10, null, null]);
    // the same readings from a broker that has unacked: a null unacked is a missing reading
    expect(toSeries(readings, 1_000, true).map((s) => s.depth)).toEqual([null, null, null, null]);
  });
});
