// RabbitMQ behind the broker seam (broker.ts): phase 6's exchanges and queues, publisher
// confirms, and a connection that comes back by itself. Every process
// declares what it uses at start (declaring is idempotent when the arguments agree), so the
// start order of services and broker does not matter beyond the broker being up.
//
// Queues are quorum queues: x-delivery-limit is a property of the queue (the broker counts
// deliveries, including those returned by a dead consumer's connection), and a message past it
// goes to the dead-letter exchange. Classic queues have no such count (only a redelivered flag).
import amqp from 'amqplib';
import { amqpUrl } from '../services/rabbitmq.ts';
import { JOBS_DELIVERY_LIMIT, NOTIFICATIONS_DELIVERY_LIMIT, type Broker, type BrokerOptions, type Stream } from './broker.ts';

export { JOBS_DELIVERY_LIMIT };

export const PAYMENTS_EXCHANGE = 'payments';
export const PAYMENT_COMPLETED = 'payment.completed';
export const NOTIFICATIONS_QUEUE = 'notifications.payment-completed';
export const JOBS_EXCHANGE = 'jobs';
export const JOBS_ROUTING_KEY = 'video';
export const JOBS_QUEUE = 'jobs.video';
export const JOBS_DLX = 'jobs.dlx';
export const JOBS_DEAD_QUEUE = 'jobs.dead';

/**
 * The jobs queue: quorum, the delivery limit, and at-least-once dead-lettering (the default,
 * at-most-once, may drop a message on its way to the dead-letter queue: the ledger would count
 * it lost). At-least-once requires x-overflow reject-publish; there is no length limit to reach.
 */
export const JOBS_QUEUE_ARGS = {
  'x-queue-type': 'quorum',
  'x-delivery-limit': JOBS_DELIVERY_LIMIT,
  'x-dead-letter-exchange': JOBS_DLX,
  'x-dead-letter-strategy': 'at-least-once',
  'x-overflow': 'reject-publish',
} as const;

/** Declares every exchange and queue of phase 6 (idempotent). */
export async function declareTopology(ch: amqp.Channel): Promise<void> {
  await ch.assertExchange(PAYMENTS_EXCHANGE, 'topic', { durable: true });
  await ch.assertExchange(JOBS_DLX, 'fanout', { durable: true });
  await ch.assertQueue(NOTIFICATIONS_QUEUE, { durable: true, arguments: { 'x-queue-type': 'quorum', 'x-delivery-limit': NOTIFICATIONS_DELIVERY_LIMIT, 'x-dead-letter-exchange': JOBS_DLX } });
  await ch.bindQueue(NOTIFICATIONS_QUEUE, PAYMENTS_EXCHANGE, PAYMENT_COMPLETED);
  await ch.assertExchange(JOBS_EXCHANGE, 'direct', { durable: true });
  await ch.assertQueue(JOBS_QUEUE, { durable: true, arguments: JOBS_QUEUE_ARGS });
  await ch.bindQueue(JOBS_QUEUE, JOBS_EXCHANGE, JOBS_ROUTING_KEY);
  await ch.assertQueue(JOBS_DEAD_QUEUE, { durable: true, arguments: { 'x-queue-type': 'quorum' } });
  await ch.bindQueue(JOBS_DEAD_QUEUE, JOBS_DLX, '');
}

/**
 * Acks (or nacks back to the queue) a delivery. A channel that closed meanwhile throws here; the
 * broker has already returned the message to the queue then, so there is nothing left to do.
 */
export function settle(ch: amqp.Channel, msg: amqp.Message, ok: boolean): void {
  try {
    if (ok) ch.ack(msg);
    else ch.nack(msg, false, true);
  } catch {
    // channel closed: the delivery is redelivered to the next consumer
  }
}

export interface BrokerSessionOptions {
  url: string;
  /** called on every (re)connection with a fresh connection: declare, consume */
  onConnect(conn: amqp.ChannelModel): Promise<void>;
  log(line: string): void;
  /** first pause before reconnecting; doubles up to 2 s */
  retryMs?: number;
}

/**
 * A connection that reconnects after the broker goes away (the broker-outage drill) until
 * close(). Consumers are re-created by onConnect; unacked messages of the old connection are
 * returned to the queue by the broker, which is what makes ack-after-effect safe.
 */
export class BrokerSession {
  private conn: amqp.ChannelModel | null = null;
  private closed = false;
  private attempt = 0;
  constructor(private readonly o: BrokerSessionOptions) {}

  /** Connects (retrying) and returns once the first onConnect succeeded. */
  async start(): Promise<void> {
    await this.connectLoop();
  }

  /** true while a connection is open */
  get connected(): boolean {
    return this.conn !== null;
  }

  private connecting: Promise<void> | null = null;

  /** One reconnection loop at a time: a close during onConnect must not start a second one. */
  private connectLoop(): Promise<void> {
    this.connecting ??= this.connectUntilUp().finally(() => {
      this.connecting = null;
    });
    return this.connecting;
  }

  private async connectUntilUp(): Promise<void> {
    while (!this.closed) {
      try {
        const conn = await amqp.connect(this.o.url, { timeout: 3_000 });
        conn.on('error', () => {});
        conn.on('close', () => {
          if (this.conn !== conn) return;
          this.conn = null;
          if (!this.closed) {
            this.o.log('broker connection closed; reconnecting');
            void this.connectLoop();
          }
        });
        this.conn = conn;
        await this.o.onConnect(conn);
        // closed while onConnect ran: its close handler found this loop running; go round again
        if (this.conn !== conn) throw new Error('connection closed while setting up');
        this.attempt = 0;
        return;
      } catch (e) {
        this.conn?.close().catch(() => {});
        this.conn = null;
        const wait = Math.min(2_000, (this.o.retryMs ?? 100) * 2 ** this.attempt++);
        if (this.attempt === 1 || this.attempt % 10 === 0) this.o.log(`broker: ${(e as Error).message}; retrying in ${wait} ms`);
        await new Promise((r) => setTimeout(r, wait));
      }
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.conn?.close().catch(() => {});
    this.conn = null;
  }
}

/** Where each stream is published (exchange, routing key) and consumed (queue). */
const PUBLISH_TO: Record<Stream, { exchange: string; routingKey: string }> = {
  'payment.completed': { exchange: PAYMENTS_EXCHANGE, routingKey: PAYMENT_COMPLETED },
  jobs: { exchange: JOBS_EXCHANGE, routingKey: JOBS_ROUTING_KEY },
  'jobs.dead': { exchange: JOBS_DLX, routingKey: '' },
};
const CONSUME_FROM: Record<Stream, string> = { 'payment.completed': NOTIFICATIONS_QUEUE, jobs: JOBS_QUEUE, 'jobs.dead': JOBS_DEAD_QUEUE };

/**
 * waitForConfirms with a deadline: a channel that dies in the middle of a batch may never settle
 * its callbacks, and a relay stuck there would hold its rows (and a transaction) forever.
 */
function confirmedWithin(ch: amqp.ConfirmChannel, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no publisher confirm in ${ms} ms`)), ms);
  });
  return Promise.race([ch.waitForConfirms(), deadline]).finally(() => clearTimeout(timer));
}

/**
 * The seam's RabbitMQ: on every (re)connection, the topology declared, a confirm channel for a
 * publisher, and each consumer on the declaring channel with its prefetch. The delivery limit
 * and the dead-lettering are the queues' own (quorum queues count deliveries).
 */
export function rabbitBroker(o: BrokerOptions): Broker {
  let confirm: amqp.ConfirmChannel | null = null;
  const session = new BrokerSession({
    url: amqpUrl(o.at),
    log: o.log,
    async onConnect(conn) {
      const ch = await conn.createChannel();
      ch.on('error', () => {});
      await declareTopology(ch);
      if (o.publishes) {
        const c = await conn.createConfirmChannel();
        c.on('error', () => {});
        c.on('close', () => {
          if (confirm === c) confirm = null;
        });
        confirm = c;
      }
      for (const spec of o.consumers) {
        await ch.prefetch(spec.prefetch);
        await ch.consume(CONSUME_FROM[spec.stream], (msg) => {
          if (!msg) return;
          spec.handle({ body: msg.content, redelivered: msg.fields.redelivered, ack: () => settle(ch, msg, true), nack: () => settle(ch, msg, false) });
        });
      }
    },
  });
  return {
    start: () => session.start(),
    get connected() {
      return session.connected;
    },
    get canPublish() {
      return confirm !== null;
    },
    async publish(stream, messages, timeoutMs) {
      const ch = confirm;
      if (!ch) throw new Error('no broker connection');
      const to = PUBLISH_TO[stream];
      for (const m of messages) ch.publish(to.exchange, to.routingKey, m.body, { persistent: true, messageId: m.id, contentType: 'application/json' });
      await confirmedWithin(ch, timeoutMs);
    },
    close: () => session.close(),
  };
}
