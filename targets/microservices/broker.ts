// The broker seam of phase 6: the smallest interface the services need from a message broker,
// whichever it is (rabbitmq-broker.ts, kafka-broker.ts). Streams are named by what flows in them;
// each implementation maps them onto its own objects (exchanges and queues; topics).
//
// The contract every implementation keeps, and the ledger relies on:
// - publish() resolves only once the broker holds every message durably (publisher confirms;
//   acks=all with the idempotent producer); anything else rejects, and the relay keeps its rows;
// - a delivery is settled by its handler after the side effect: ack() = done, nack() = failed;
// - a failed delivery comes again until its consumer's delivery limit, then goes to 'jobs.dead';
// - a consumer that dies with deliveries unsettled: those are delivered again to another one.
import type { Endpoint } from '../../harness/topology/plan.ts';

export type BrokerKind = 'rabbitmq' | 'kafka';
export const BROKER_KINDS: readonly BrokerKind[] = ['rabbitmq', 'kafka'];

/** payment.completed (payment -> notification), the jobs (uploads -> workers), the jobs given up on */
export type Stream = 'payment.completed' | 'jobs' | 'jobs.dead';

/** deliveries of one job before it is dead-lettered: the first one plus this many redeliveries */
export const JOBS_DELIVERY_LIMIT = 3;
/** the same for a payment's notification (a database that stays down, not a poison message) */
export const NOTIFICATIONS_DELIVERY_LIMIT = 20;

export interface OutMessage {
  /** what consumers deduplicate on (the job or payment id); Kafka's key */
  id: string;
  body: Buffer;
}

export interface Delivery {
  body: Buffer;
  /** the broker says it delivered this message before (a failure, a dead consumer) */
  redelivered: boolean;
  /** the side effect is committed */
  ack(): void;
  /** it failed: deliver it again, or dead-letter it past the consumer's delivery limit */
  nack(): void;
}

export interface ConsumerSpec {
  stream: Stream;
  /** deliveries held unsettled at once */
  prefetch: number;
  /** called for each delivery; settles it later with ack() or nack() */
  handle(d: Delivery): void;
}

export interface Broker {
  /** Connects (retrying until close()) and starts the consumers; resolves once the first
   *  connection is set up. Reconnects on its own after that. */
  start(): Promise<void>;
  /** true while the broker is reachable (the consumers' /health) */
  readonly connected: boolean;
  /** true when publish() may be tried now (the relay waits otherwise) */
  readonly canPublish: boolean;
  /** publishes `messages` to `stream`; resolves when the broker confirmed all of them */
  publish(stream: Stream, messages: readonly OutMessage[], timeoutMs: number): Promise<void>;
  close(): Promise<void>;
}

export interface BrokerOptions {
  kind: BrokerKind;
  at: Endpoint;
  /** the process's name: Kafka's client id */
  name: string;
  /** does this process publish (payment, uploads)? a consumer-only process opens no producer */
  publishes: boolean;
  consumers: ConsumerSpec[];
  log(line: string): void;
}
