// The broker's topology for phase 6 and a connection that comes back by itself. Every process
// declares what it uses at start (declaring is idempotent when the arguments agree), so the
// start order of services and broker does not matter beyond the broker being up.
//
// Queues are quorum queues: x-delivery-limit is a property of the queue (the broker counts
// deliveries, including those returned by a dead consumer's connection), and a message past it
// goes to the dead-letter exchange. Classic queues have no such count (only a redelivered flag).
import amqp from 'amqplib';

export const PAYMENTS_EXCHANGE = 'payments';
export const PAYMENT_COMPLETED = 'payment.completed';
export const NOTIFICATIONS_QUEUE = 'notifications.payment-completed';
export const JOBS_EXCHANGE = 'jobs';
export const JOBS_ROUTING_KEY = 'video';
export const JOBS_QUEUE = 'jobs.video';
export const JOBS_DLX = 'jobs.dlx';
export const JOBS_DEAD_QUEUE = 'jobs.dead';
/** deliveries of one job before it is dead-lettered: the first one plus this many redeliveries */
export const JOBS_DELIVERY_LIMIT = 3;

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
  await ch.assertQueue(NOTIFICATIONS_QUEUE, { durable: true, arguments: { 'x-queue-type': 'quorum', 'x-delivery-limit': 20, 'x-dead-letter-exchange': JOBS_DLX } });
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
