// The queue tier (phase 6): RabbitMQ through its rabbitmq_prometheus plugin (per-object metrics
// are on: targets/services/rabbitmq.ts), Kafka (--broker kafka) through its JMX exporter agent
// (targets/services/kafka.ts), and the services' own counters (bench_ms_*): the outbox relays'
// confirmed publishes and the workers' side effects, so a backlog can be read from both ends
// (accepted vs done). A run has one broker: the other's panels are empty.
import type { Dashboard } from '@grafana/grafana-foundation-sdk/dashboard';
import { benchDashboard, finalize, RATE, row, stat, timeseries } from './common.ts';

/** bench / queue (RabbitMQ or Kafka, workers) */
export function queueDashboard(): Dashboard {
  return finalize(
    benchDashboard({
      uid: 'bench-queue',
      title: 'bench / queue (RabbitMQ or Kafka, workers)',
      description: 'Backlog, flow, redeliveries and dead-lettering of the jobs queue (rabbitmq_prometheus), Kafka\'s topics and partitions (JMX exporter), and the outbox relays and workers (bench_ms_*).',
      tags: ['queue', 'rabbitmq', 'kafka'],
    })
      .withRow(row('Backlog'))
      .withPanel(stat({ title: 'Jobs backlog', unit: 'short', w: 8, queries: [{ expr: 'sum(rabbitmq_queue_messages{queue="jobs.video"})' }] }))
      .withPanel(stat({ title: 'Dead-lettered jobs', unit: 'short', w: 8, queries: [{ expr: 'sum(rabbitmq_global_messages_dead_lettered_delivery_limit_total)' }] }))
      .withPanel(stat({ title: 'Workers consuming', unit: 'short', w: 8, queries: [{ expr: 'sum(rabbitmq_queue_consumers{queue="jobs.video"})' }] }))
      .withPanel(
        timeseries({
          title: 'Messages per queue',
          description: 'A burst is absorbed when the backlog rises and drains again; a backlog that only grows means the workers cannot keep up.',
          unit: 'short',
          queries: [{ expr: 'sum by (queue) (rabbitmq_queue_messages)', legend: '{{queue}}' }],
        }),
      )
      .withPanel(
        timeseries({
          title: 'Ready vs unacknowledged',
          description: 'Unacknowledged: held by workers (at most workers x prefetch).',
          unit: 'short',
          stack: true,
          queries: [
            { expr: 'sum(rabbitmq_queue_messages_ready)', legend: 'ready' },
            { expr: 'sum(rabbitmq_queue_messages_unacked)', legend: 'unacked (being worked on)' },
          ],
        }),
      )
      .withRow(row('Flow'))
      .withPanel(
        timeseries({
          title: 'Published, confirmed, delivered, acknowledged',
          description: 'Published above acknowledged for long: the workers cannot keep up.',
          unit: 'short',
          queries: [
            { expr: `sum(rate(rabbitmq_global_messages_received_total[${RATE}]))`, legend: 'published/s' },
            { expr: `sum(rate(rabbitmq_global_messages_confirmed_total[${RATE}]))`, legend: 'confirmed/s' },
            { expr: `sum(rate(rabbitmq_global_messages_delivered_total[${RATE}]))`, legend: 'delivered/s' },
            { expr: `sum(rate(rabbitmq_global_messages_acknowledged_total[${RATE}]))`, legend: 'acknowledged/s' },
          ],
        }),
      )
      .withPanel(
        timeseries({
          title: 'Accepted vs done (services)',
          description: 'Uploads answered 202, outbox rows confirmed by the broker, and side effects applied by the workers.',
          unit: 'short',
          queries: [
            { expr: `sum(rate(bench_ms_jobs_accepted_total[${RATE}]))`, legend: 'accepted/s' },
            { expr: `sum(rate(bench_ms_outbox_published_total[${RATE}]))`, legend: 'relayed/s' },
            { expr: `sum(rate(bench_ms_worker_effects_total[${RATE}]))`, legend: 'done/s' },
          ],
        }),
      )
      .withRow(row('Kafka (--broker kafka)'))
      .withPanel(stat({ title: 'Kafka under-replicated partitions', description: 'Non-zero on one node means a broken broker: no replica count above 1 can be declared.', unit: 'short', w: 8, queries: [{ expr: 'sum(kafka_server_replicamanager_underreplicatedpartitions)' }] }))
      .withPanel(stat({ title: 'Kafka offline partitions', unit: 'short', w: 8, queries: [{ expr: 'sum(kafka_controller_offlinepartitionscount)' }] }))
      .withPanel(stat({ title: 'Kafka partitions', unit: 'short', w: 8, queries: [{ expr: 'sum(kafka_server_replicamanager_partitioncount)' }] }))
      .withPanel(
        timeseries({
          title: 'Kafka messages in per topic',
          description: 'Appended to each topic\'s log (acks=all: once the in-sync replicas hold them).',
          unit: 'short',
          queries: [{ expr: `sum by (topic) (rate(kafka_server_brokertopicmetrics_messagesinpersec_total{topic!=""}[${RATE}]))`, legend: '{{topic}}/s' }],
        }),
      )
      .withPanel(
        timeseries({
          title: 'Kafka jobs log-end offset',
          description: 'The end of the jobs topic\'s log, summed over its partitions. The consumer group\'s lag (the backlog) is not a broker figure, so not in Prometheus: bench samples it through the admin API into results.json\'s queue section.',
          unit: 'short',
          queries: [{ expr: 'sum(kafka_log_logendoffset{topic="jobs.video"})', legend: 'jobs.video' }],
        }),
      )
      .withPanel(
        timeseries({
          title: 'Kafka requests by API',
          description: 'OffsetCommit is the workers\' acks (they commit after the side effect); Fetch their polling; Produce the relays.',
          unit: 'short',
          queries: [{ expr: `sum by (request) (rate(kafka_network_requestmetrics_requests_total{request=~"Produce|Fetch|OffsetCommit|OffsetFetch|JoinGroup|Heartbeat"}[${RATE}]))`, legend: '{{request}}/s' }],
        }),
      )
      .withPanel(
        timeseries({
          title: 'Kafka bytes in and out',
          unit: 'bytes',
          queries: [
            { expr: `sum(rate(kafka_server_brokertopicmetrics_bytesinpersec_total{topic=""}[${RATE}]))`, legend: 'in/s' },
            { expr: `sum(rate(kafka_server_brokertopicmetrics_bytesoutpersec_total{topic=""}[${RATE}]))`, legend: 'out/s' },
          ],
        }),
      )
      .withRow(row('Failures'))
      .withPanel(
        timeseries({
          title: 'Redeliveries, failures and dead-lettering',
          description: 'Redelivered: a worker died holding the message or nacked it. Dead-lettered: past x-delivery-limit. Skipped: a redelivery of a job already done (idempotence at work).',
          unit: 'short',
          queries: [
            { expr: `sum(rate(rabbitmq_global_messages_redelivered_total[${RATE}]))`, legend: 'redelivered/s' },
            { expr: `sum(rate(rabbitmq_global_messages_dead_lettered_delivery_limit_total[${RATE}]))`, legend: 'dead-lettered/s' },
            { expr: `sum(rate(bench_ms_worker_failed_total[${RATE}]))`, legend: 'worker failures/s' },
            { expr: `sum(rate(bench_ms_worker_skipped_total[${RATE}]))`, legend: 'skipped (already done)/s' },
          ],
        }),
      )
      .withPanel(
        timeseries({
          title: 'Consumers per queue',
          unit: 'short',
          queries: [{ expr: 'sum by (queue) (rabbitmq_queue_consumers)', legend: '{{queue}}' }],
        }),
      ),
  );
}
