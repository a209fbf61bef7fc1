// The backlog of a Kafka run, read the way Kafka defines it: a consumer group's lag, the log-end
// offset of each partition of the jobs topic minus the offset the workers' group committed there,
// summed. The broker keeps no count of "ready" messages and no "unacked" state (a delivered
// message is just one past the committed offset until its consumer commits), so `ready` is the lag
// and `unacked` is null by nature, not for want of a reading. The ack rate is the rate of the
// group's committed offsets: a commit is Kafka's ack (the workers commit after the side effect,
// targets/microservices/kafka-broker.ts). Both come from the admin API (ListOffsets, OffsetFetch)
// at each reading: live, not a scraped gauge. The broker's JMX has no consumer-lag bean at all
// (only the consumers' clients carry one), so Prometheus cannot give this figure.
import type { Admin } from 'kafkajs';
import type { Endpoint } from '../topology/plan.ts';
import { kafkaClient } from '../../targets/services/kafka-client.ts';
import type { BacklogReader, BacklogReading } from './queue-sampler.ts';

export const KAFKA_QUEUE_SOURCE =
  'Kafka: ready = the consumer group\'s lag (log-end offsets from ListOffsets minus the group\'s committed offsets, summed over the partitions; live); ' +
  'unacked = null (Kafka has no delivered-but-unacked state); ack rate = the rate of the group\'s committed offsets';

/** What ListOffsets answers for a partition (kafkajs fetchTopicOffsets): `high` is the log end. */
export interface PartitionEnds {
  partition: number;
  high: string;
  low: string;
}

/** What OffsetFetch answers for a partition ("-1": the group never committed there). */
export interface PartitionCommit {
  partition: number;
  offset: string;
}

/**
 * The group's lag and its committed total from the topic's log ends and its commits. A partition
 * the group never committed on counts from its log start (the workers subscribe from the
 * beginning, so everything still in the log is theirs to consume); a commit below the log start
 * (retention deleted what it had not consumed) counts from the log start too: those messages are
 * gone, not waiting. `committed` is a counter of messages consumed past the log start: its rate is
 * the ack rate. Pure.
 */
export function groupLag(ends: readonly PartitionEnds[], commits: readonly PartitionCommit[]): { lag: number; committed: number } {
  const byPartition = new Map(commits.map((c) => [c.partition, Number(c.offset)]));
  let lag = 0;
  let committed = 0;
  for (const e of ends) {
    const high = Number(e.high);
    const low = Number(e.low);
    const c = byPartition.get(e.partition);
    const from = c === undefined || c < low ? low : Math.min(c, high);
    lag += high - from;
    committed += from - low;
  }
  return { lag, committed };
}

/**
 * The lag of `group` on `topic` at `at`, one admin connection for the whole run (opened again
 * after a failed reading). A reading the broker did not answer within its bound is all nulls.
 */
export class KafkaLagReader implements BacklogReader {
  readonly unackedExists = false;
  readonly source = KAFKA_QUEUE_SOURCE;
  private admin: Admin | null = null;

  constructor(
    readonly at: Endpoint,
    readonly queue: string,
    readonly group: string,
    private readonly timeoutMs = 2500,
  ) {}

  async read(): Promise<BacklogReading> {
    try {
      if (!this.admin) {
        const admin = kafkaClient(this.at, 'bench-lag', { connectionTimeoutMs: this.timeoutMs, requestTimeoutMs: this.timeoutMs, retries: 2 }).admin();
        this.admin = admin;
        await admin.connect();
      }
      // one after the other: side by side, the group-coordinator lookup raced the metadata refresh
      // of the offsets request and found an empty broker pool
      const ends = await this.admin.fetchTopicOffsets(this.queue);
      const commits = await this.admin.fetchOffsets({ groupId: this.group, topics: [this.queue] });
      const { lag, committed } = groupLag(ends, commits.find((t) => t.topic === this.queue)?.partitions ?? []);
      return { ready: lag, unacked: null, acked: committed };
    } catch {
      // the topic not created yet, its leader or the group's coordinator not settled yet (seen
      // for a second after a topic's creation), or the broker down: a gap; the next reading
      // connects again
      await this.close();
      return { ready: null, unacked: null, acked: null };
    }
  }

  async close(): Promise<void> {
    const admin = this.admin;
    this.admin = null;
    await admin?.disconnect().catch(() => {});
  }
}
