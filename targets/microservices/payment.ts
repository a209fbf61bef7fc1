// The payment service: POST /api/payments writes the payment and its outbox row in one
// transaction and answers 201; its relay publishes payment.completed with confirms. The broker
// being down never fails a payment: the outbox holds it until the relay can publish.
import type pg from 'pg';
import type { Broker } from './broker.ts';
import { PAYMENT_COMPLETED } from './rabbitmq-broker.ts';
import { badRequest, clientId, type Metrics, type Route } from './http.ts';
import { inTransaction } from './effects.ts';
import { startRelay } from './relay.ts';
import type { ServiceParts } from './main.ts';

export function paymentService(pool: pg.Pool, broker: Broker, relayIdleMs: number, log: (l: string) => void): ServiceParts {
  let accepted = 0;
  const routes: Route[] = [
    {
      method: 'POST',
      path: /^\/api\/payments$/,
      async handler(_req, body) {
        const b = (body ?? {}) as Record<string, unknown>;
        const id = clientId(b.id);
        const userId = Number(b.userId);
        const amount = Number(b.amountCents);
        if (!Number.isSafeInteger(userId) || userId < 1) throw badRequest('userId must be a positive integer');
        if (!Number.isSafeInteger(amount) || amount < 1) throw badRequest('amountCents must be a positive integer');
        await inTransaction(pool, async (c) => {
          // a retried request with the same id is the same payment: 201 again, one outbox row
          const ins = await c.query('INSERT INTO payments (id, user_id, amount_cents) VALUES ($1, $2, $3) ON CONFLICT (id) DO NOTHING', [id, userId, amount]);
          if (ins.rowCount === 1) {
            await c.query('INSERT INTO payment_outbox (payment_id, routing_key, body) VALUES ($1, $2, $3)', [id, PAYMENT_COMPLETED, { paymentId: id, userId, amountCents: amount, at: Date.now() }]);
          }
        });
        accepted += 1;
        return { status: 201, body: { paymentId: id } };
      },
    },
  ];
  const relay = startRelay(pool, broker, { table: 'payment_outbox', stream: 'payment.completed', messageId: (b) => String(b.paymentId) }, relayIdleMs, log);
  const metrics: Metrics = {
    payments_accepted_total: { help: 'payments answered 201', type: 'counter', value: () => accepted },
    outbox_published_total: { help: 'outbox rows published and confirmed', type: 'counter', value: () => relay.stats.published },
  };
  return { routes, metrics, close: () => relay.stop() };
}
