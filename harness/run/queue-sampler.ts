// Samples the broker's jobs queue once a second during a run's load and after it until the queue
// drained (bounded): the backlog a burst leaves and how fast the consumers eat it, straight from the
// broker. Started only when the topology has a broker (a service of kind `rabbitmq` or `kafka`),
// the reader picked by that kind: nothing here knows which phase it runs. Kafka's reader (the
// consumer group's lag) is in kafka-lag.ts; RabbitMQ's is below.
//
// What RabbitMQ 3.10 gives, measured on a real broker: a passive queue.declare answers the ready
// count at that instant; the per-queue Prometheus series (`rabbitmq_queue_messages_ready` /
// `_unacked`) are refreshed at each quorum-queue tick, every 5 s by default (50 messages published a
// second showed as 250 for five scrapes in a row), which the recipe sets to 1 s
// (targets/services/rabbitmq.ts QUORUM_TICK_MS). So `ready` comes from a passive declare, `unacked`
// (at most prefetch x consumers) from the per-queue series, and the ack rate from
// `rabbitmq_global_messages_acknowledged_total`, a counter read live at each scrape, which RabbitMQ
// keeps per queue type, not per queue: every queue of phase 6 is a quorum queue, so it counts the
// notifications' acks with the jobs'.
import amqp from 'amqplib';
import type { DeployPlan, Endpoint } from '../topology/plan.ts';
import type { Burst } from '../load/traffic-model.ts';
import { amqpUrl, rabbitmqMetricsEndpoint } from '../../targets/services/rabbitmq.ts';
import { JOBS_QUEUE } from '../../targets/microservices/rabbitmq-broker.ts';
import { KAFKA_GROUPS, KAFKA_TOPICS } from '../../targets/microservices/kafka-broker.ts';
import { backlogSection, counterRate } from './backlog.ts';
import { KafkaLagReader } from './kafka-lag.ts';
import type { QueueSample, QueueSection } from './results.ts';

/** One reading of a broker's queue; null: not answered (a gap, never a zero). */
export interface BacklogReading {
  ready: number | null;
  unacked: number | null;
  /** a counter of acks (its rate is the ack rate) */
  acked: number | null;
}

/** Reads one broker's jobs queue. */
export interface BacklogReader {
  readonly queue: string;
  /** where the figures come from, in words (results.json's queue.source) */
  readonly source: string;
  /** false: the broker has no unacked state (Kafka), so the depth is `ready` alone and `unacked`
   *  is always null; true: a null `unacked` is a missing reading and leaves the depth null */
  readonly unackedExists: boolean;
  read(): Promise<BacklogReading>;
  close(): Promise<void>;
}

/** The queue a run's backlog is read from, and where its broker answers. */
export interface QueueTarget {
  queue: string;
  amqp: Endpoint;
  metrics: Endpoint;
}

/** Where the harness reaches a service's side port: Deployment.sideAddress (under Docker, the port
 *  published for it); by default the service's own address with that port (native). */
export type SideAddress = (service: string, port: number) => Endpoint;

/** The first broker of the plan (a `rabbitmq` service) and its jobs queue; null: no broker. */
export function queueTargetOf(plan: Pick<DeployPlan, 'services'>, side?: SideAddress): QueueTarget | null {
  const broker = plan.services.find((s) => s.kind === 'rabbitmq');
  if (!broker) return null;
  const native = rabbitmqMetricsEndpoint(broker.address);
  return { queue: JOBS_QUEUE, amqp: broker.address, metrics: side ? side(broker.name, native.port) : native };
}

/** The sampler of the plan's first broker, by its kind; null: the topology has no broker. */
export function queueSamplerFor(plan: Pick<DeployPlan, 'services'>, side?: SideAddress): QueueSampler | null {
  const broker = plan.services.find((s) => s.kind === 'rabbitmq' || s.kind === 'kafka');
  if (!broker) return null;
  if (broker.kind === 'kafka') return new QueueSampler(new KafkaLagReader(broker.address, KAFKA_TOPICS.jobs.topic, KAFKA_GROUPS.jobs));
  return new QueueSampler(queueTargetOf(plan, side)!);
}

/** How long the sampler waits after the load for the queue to empty (a bound, not a target). */
export const DEFAULT_DRAIN_BOUND_S = 60;

/**
 * One reading may take this long; a slower broker leaves that reading's figures null. Longer than
 * the period on purpose: a reading in flight skips the next tick instead of piling up, and on a
 * saturated machine (a phase-6 run at 250 req/s on two cores) readings took over 0.9 s: a late
 * figure, timed by when it was asked, says more than a gap.
 */
const READ_TIMEOUT_MS = 2500;

export const QUEUE_SOURCE =
  'RabbitMQ: ready from a passive queue.declare (live), unacked from rabbitmq_queue_messages_unacked (refreshed at each quorum tick, 1 s), ' +
  'ack rate from rabbitmq_global_messages_acknowledged_total of quorum queues (all of the broker\'s queues, not only this one)';

export interface FinishOptions {
  /** wall-clock ms the measured load started at (LoadOutcome.startedAtMs) */
  loadStartMs: number;
  durationS: number;
  burst: Burst | null;
  /** default DEFAULT_DRAIN_BOUND_S */
  drainBoundS?: number;
  signal?: AbortSignal;
}

interface Reading extends BacklogReading {
  atMs: number;
}

/**
 * Once a second from start() until finish(): a reading of the queue. Never throws: a second the
 * broker did not answer is a sample of nulls (a broker outage shows as a gap, not as zeros).
 */
export class QueueSampler {
  private readonly readings: Reading[] = [];
  private timer: NodeJS.Timeout | null = null;
  private inFlight: Promise<void> | null = null;
  private stopped = false;
  readonly reader: BacklogReader;

  /** a RabbitMQ target, or any broker's reader */
  constructor(
    target: QueueTarget | BacklogReader,
    private readonly periodMs = 1000,
  ) {
    this.reader = 'read' in target ? target : new RabbitQueueReader(target);
  }

  start(): void {
    if (this.timer) return;
    const tick = () => {
      if (this.stopped || this.inFlight) return;
      this.inFlight = this.read().finally(() => (this.inFlight = null));
    };
    tick();
    this.timer = setInterval(tick, this.periodMs);
  }

  /**
   * Keeps sampling after the load until the depth was 0 twice in a row (the unacked figure lags
   * by up to a quorum tick) or the bound passed, then stops and returns the section.
   */
  async finish(o: FinishOptions): Promise<QueueSection> {
    const boundS = o.drainBoundS ?? DEFAULT_DRAIN_BOUND_S;
    const endMs = o.loadStartMs + o.durationS * 1000;
    const deadline = Date.now() + boundS * 1000;
    let drained = false;
    while (!o.signal?.aborted) {
      const after = this.readings.filter((r) => r.atMs >= endMs);
      const last2 = after.slice(-2);
      if (last2.length === 2 && last2.every((r) => r.ready === 0 && (r.unacked === 0 || !this.reader.unackedExists))) {
        drained = true;
        break;
      }
      if (Date.now() >= deadline) break;
      await sleep(Math.min(this.periodMs, Math.max(0, deadline - Date.now())));
    }
    const lastMs = this.readings.at(-1)?.atMs ?? endMs;
    await this.stop();
    return backlogSection({
      queue: this.reader.queue,
      source: this.reader.source,
      series: toSeries(this.readings, o.loadStartMs, this.reader.unackedExists),
      durationS: o.durationS,
      burst: o.burst,
      afterLoad: { boundS, sampledS: Math.max(0, Math.round((lastMs - endMs) / 100) / 10), drained },
    });
  }

  /** Stops sampling and closes the broker connection (idempotent). */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.inFlight;
    await this.reader.close();
  }

  private async read(): Promise<void> {
    const atMs = Date.now();
    const r = await this.reader.read();
    if (this.stopped) return;
    this.readings.push({ atMs, ...r });
  }
}

/** RabbitMQ's jobs queue: ready from a passive declare, unacked and acks from the plugin's scrape. */
class RabbitQueueReader implements BacklogReader {
  readonly unackedExists = true;
  readonly source = QUEUE_SOURCE;
  readonly queue: string;
  private conn: amqp.ChannelModel | null = null;
  private connecting: Promise<amqp.ChannelModel | null> | null = null;

  constructor(readonly target: QueueTarget) {
    this.queue = target.queue;
  }

  async read(): Promise<BacklogReading> {
    const [ready, scraped] = await Promise.all([this.readyCount(), this.scrape()]);
    return { ready, unacked: scraped?.unacked ?? null, acked: scraped?.acked ?? null };
  }

  async close(): Promise<void> {
    const conn = this.conn ?? (await this.connecting);
    this.conn = null;
    await conn?.close().catch(() => {});
  }

  /** Messages ready in the queue right now (passive declare: it never creates the queue). */
  private async readyCount(): Promise<number | null> {
    const conn = await this.connection();
    if (!conn) return null;
    let ch: amqp.Channel | null = null;
    try {
      ch = await withTimeout(conn.createChannel(), READ_TIMEOUT_MS);
      // a passive declare of a missing queue closes the channel with 404: handled, not thrown at the process
      ch.on('error', () => {});
      const q = await withTimeout(ch.checkQueue(this.target.queue), READ_TIMEOUT_MS);
      return q.messageCount;
    } catch {
      return null;
    } finally {
      await ch?.close().catch(() => {});
    }
  }

  /** One connection for the whole run, opened again after the broker dropped it. */
  private async connection(): Promise<amqp.ChannelModel | null> {
    if (this.conn) return this.conn;
    this.connecting ??= amqp
      .connect(amqpUrl(this.target.amqp), { timeout: READ_TIMEOUT_MS })
      .then((c) => {
        c.on('error', () => {});
        c.on('close', () => {
          if (this.conn === c) this.conn = null;
        });
        this.conn = c;
        return c;
      })
      .catch(() => null)
      .finally(() => (this.connecting = null));
    return this.connecting;
  }

  private async scrape(): Promise<{ unacked: number | null; acked: number | null } | null> {
    const { host, port } = this.target.metrics;
    try {
      const res = await fetch(`http://${host}:${port}/metrics`, { signal: AbortSignal.timeout(READ_TIMEOUT_MS) });
      if (!res.ok) return null;
      return parseQueueMetrics(await res.text(), this.target.queue);
    } catch {
      return null;
    }
  }
}

/**
 * From the plugin's /metrics text: the queue's unacked count and the acks counted on quorum queues.
 * null for a series the text does not hold (the per-queue one appears only after the queue's first
 * tick). Pure.
 */
export function parseQueueMetrics(text: string, queue: string): { unacked: number | null; acked: number | null } {
  let unacked: number | null = null;
  let acked: number | null = null;
  const queueLabel = `queue="${queue}"`;
  for (const line of text.split('\n')) {
    if (line.startsWith('rabbitmq_queue_messages_unacked{') && line.includes(queueLabel)) {
      unacked = valueOf(line);
    } else if (line.startsWith('rabbitmq_global_messages_acknowledged_total{') && line.includes('queue_type="rabbit_quorum_queue"')) {
      const v = valueOf(line);
      if (v !== null) acked = (acked ?? 0) + v;
    }
  }
  return { unacked, acked };
}

function valueOf(line: string): number | null {
  const v = Number(line.slice(line.lastIndexOf(' ') + 1));
  return Number.isFinite(v) ? v : null;
}

/** Readings -> results.json's samples: t from the load's start, depth = ready + unacked (ready alone
 *  for a broker without an unacked state: `unackedExists` false), the ack rate from consecutive
 *  counters. Readings before the load started are left out. Pure. */
export function toSeries(readings: readonly Reading[], loadStartMs: number, unackedExists = true): QueueSample[] {
  const out: QueueSample[] = [];
  let prev: { t: number; value: number } | null = null;
  for (const r of readings) {
    const t = Math.round((r.atMs - loadStartMs) / 100) / 10;
    const cur = r.acked === null ? null : { t, value: r.acked };
    const ackRate = counterRate(prev, cur);
    prev = cur;
    if (t < 0) continue;
    const depth = !unackedExists ? r.ready : r.ready !== null && r.unacked !== null ? r.ready + r.unacked : null;
    out.push({ t, ready: r.ready, unacked: r.unacked, depth, ackRate });
  }
  return out;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout;
  return Promise.race([
    p,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}
