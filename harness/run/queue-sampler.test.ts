// The sampler's pure parts: which broker and queue a plan gives, the plugin's text as RabbitMQ 3.10
// prints it (lines copied from a real broker), and readings turned into samples.
import { describe, expect, it } from 'vitest';
import { parseQueueMetrics, queueTargetOf, toSeries } from './queue-sampler.ts';
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
