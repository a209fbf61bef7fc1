// The notification service: consumes payment.completed and records one notification per
// payment, idempotent by payment id (a relay that publishes twice, or a redelivery, adds nothing).
import type pg from 'pg';
import { applyOnce } from './effects.ts';
import type { Metrics } from './http.ts';
import type { ServiceParts } from './main.ts';

export function notificationService(pool: pg.Pool): ServiceParts {
  const n = { recorded: 0, skipped: 0, failed: 0 };
  const metrics: Metrics = {
    notifications_recorded_total: { help: 'notifications written', type: 'counter', value: () => n.recorded },
    notifications_skipped_total: { help: 'deliveries of a payment already notified', type: 'counter', value: () => n.skipped },
    notifications_failed_total: { help: 'deliveries that failed and were nacked', type: 'counter', value: () => n.failed },
  };
  return {
    routes: [],
    metrics,
    consumers: [{
      stream: 'payment.completed',
      prefetch: 32,
      handle(d) {
        const { paymentId } = JSON.parse(d.body.toString()) as { paymentId: string };
        applyOnce(
          pool,
          paymentId,
          true,
          async (c) => (await c.query('SELECT 1 FROM notifications WHERE payment_id = $1 LIMIT 1', [paymentId])).rowCount! > 0,
          async (c) => {
            await c.query('INSERT INTO notifications (payment_id) VALUES ($1)', [paymentId]);
          },
        )
          .then((applied) => {
            if (applied) n.recorded += 1;
            else n.skipped += 1;
            d.ack();
          })
          .catch(() => {
            n.failed += 1;
            d.nack();
          });
      },
    }],
    close: async () => {},
  };
}
