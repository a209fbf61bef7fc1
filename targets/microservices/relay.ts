// The transactional outbox's relay: rows written with the business row in one transaction are
// published with publisher confirms, and only a confirmed row is marked sent. A crash between the
// confirm and the mark publishes the row again (at-least-once): consumers are idempotent by id.
// Several replicas of a service may relay at once: FOR UPDATE SKIP LOCKED gives each its rows.
import type pg from 'pg';
import type { Broker, Stream } from './broker.ts';
import { inTransaction } from './effects.ts';

export interface OutboxSpec {
  /** the outbox table: id bigserial, body jsonb, sent_at timestamptz */
  table: 'payment_outbox' | 'job_outbox';
  stream: Stream;
  /** the id the consumers deduplicate on, taken from the body */
  messageId(body: Record<string, unknown>): string;
}

export interface RelayStats {
  published: number;
  /** confirm latencies (ms) of batches, newest last, bounded */
  confirmMs: number[];
}

const BATCH = 100;
/** a batch not confirmed in this time is rolled back and published again (a duplicate at worst) */
const CONFIRM_TIMEOUT_MS = 10_000;

/**
 * Publishes one batch of unsent rows and marks them sent. Returns how many rows it sent (0: none
 * waiting). Throws when the broker did not confirm: the transaction rolls back, the rows stay unsent.
 */
export async function relayOnce(pool: pg.Pool, broker: Broker, spec: OutboxSpec, stats: RelayStats): Promise<number> {
  const sent = await inTransaction(pool, async (client) => {
    const { rows } = await client.query<{ id: string; body: Record<string, unknown> }>(
      `SELECT id, body FROM ${spec.table} WHERE sent_at IS NULL ORDER BY id LIMIT ${BATCH} FOR UPDATE SKIP LOCKED`,
    );
    if (rows.length === 0) return 0;
    const t0 = performance.now();
    await broker.publish(spec.stream, rows.map((r) => ({ id: spec.messageId(r.body), body: Buffer.from(JSON.stringify(r.body)) })), CONFIRM_TIMEOUT_MS);
    stats.confirmMs.push(performance.now() - t0);
    if (stats.confirmMs.length > 1_000) stats.confirmMs.splice(0, stats.confirmMs.length - 1_000);
    await client.query(`UPDATE ${spec.table} SET sent_at = clock_timestamp() WHERE id = ANY($1::bigint[])`, [rows.map((r) => r.id)]);
    return rows.length;
  });
  // counted once committed: a batch rolled back stays unsent, and is not counted
  stats.published += sent;
  return sent;
}

/** Relays until stop(): tight while rows wait, every idleMs when none do, backing off on errors. */
export function startRelay(pool: pg.Pool, broker: Broker, spec: OutboxSpec, idleMs: number, log: (l: string) => void): { stats: RelayStats; stop(): Promise<void> } {
  const stats: RelayStats = { published: 0, confirmMs: [] };
  let stopped = false;
  let errors = 0;
  const loop = (async () => {
    while (!stopped) {
      const ready = broker.canPublish;
      let sent = 0;
      if (ready) {
        try {
          sent = await relayOnce(pool, broker, spec, stats);
          errors = 0;
        } catch (e) {
          if (errors++ % 20 === 0) log(`relay ${spec.table}: ${(e as Error).message}`);
        }
      }
      if (sent === 0) await new Promise((r) => setTimeout(r, ready && errors === 0 ? idleMs : Math.min(1_000, idleMs * 2 ** Math.min(errors, 5))));
    }
  })();
  return {
    stats,
    async stop() {
      stopped = true;
      await loop;
    },
  };
}
