// The queue tier (phase 6): RabbitMQ through its rabbitmq_prometheus plugin. Placeholders until
// phase 6 is built; per-queue series need per-object metrics (/metrics/per-object, or
// prometheus.return_per_object_metrics = true).
import type { Dashboard } from '@grafana/grafana-foundation-sdk/dashboard';
import { benchDashboard, finalize, RATE, row, timeseries } from './common.ts';

const PLACEHOLDER = 'Phase 6 (queue and workers) is not built yet: this panel stays empty until it is.';

/** bench / queue (RabbitMQ) */
export function queueDashboard(): Dashboard {
  return finalize(
    benchDashboard({
      uid: 'bench-queue',
      title: 'bench / queue (RabbitMQ)',
      description: `${PLACEHOLDER} Backlog, consumers and message rates of the background-job queue.`,
      tags: ['queue', 'rabbitmq'],
    })
      .withRow(row('Backlog'))
      .withPanel(
        timeseries({
          title: 'Messages per queue',
          description: `${PLACEHOLDER} A burst is absorbed when the backlog rises and drains again.`,
          unit: 'short',
          queries: [{ expr: 'sum by (queue) (rabbitmq_queue_messages)', legend: '{{queue}}' }],
        }),
      )
      .withPanel(
        timeseries({
          title: 'Ready vs unacknowledged',
          description: PLACEHOLDER,
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
          title: 'Published, delivered, acknowledged',
          description: `${PLACEHOLDER} Published above acknowledged for long: the workers cannot keep up.`,
          unit: 'short',
          queries: [
            { expr: `sum(rate(rabbitmq_global_messages_received_total[${RATE}]))`, legend: 'published/s' },
            { expr: `sum(rate(rabbitmq_global_messages_delivered_total[${RATE}]))`, legend: 'delivered/s' },
            { expr: `sum(rate(rabbitmq_global_messages_acknowledged_total[${RATE}]))`, legend: 'acknowledged/s' },
          ],
        }),
      )
      .withPanel(
        timeseries({
          title: 'Consumers per queue',
          description: PLACEHOLDER,
          unit: 'short',
          queries: [{ expr: 'sum by (queue) (rabbitmq_queue_consumers)', legend: '{{queue}}' }],
        }),
      ),
  );
}
