// Replication lag between two regions' databases, in bytes and seconds, measured from both ends:
// the leader's current WAL position against what the replica has replayed. From pg_stat_replication
// alone a replica whose link is cut has no row at all: exactly when the lag matters.
import pg from 'pg';
import type { Endpoint } from '../../harness/topology/plan.ts';

export interface ReplicationLag {
  /** WAL bytes the leader wrote that the replica has not replayed */
  bytes: number;
  /** how old the newest transaction the replica replayed is, when it is behind; 0 when caught up.
   *  null when the replica never replayed a transaction (a fresh cluster). */
  seconds: number | null;
}

export type Credentials = Pick<pg.ClientConfig, 'user' | 'password' | 'database'>;

async function one<T>(at: Endpoint, credentials: Credentials, sql: string, params: unknown[] = []): Promise<T> {
  const c = new pg.Client({ host: at.host, port: at.port, ...credentials, connectionTimeoutMillis: 2_000, query_timeout: 2_000 });
  c.on('error', () => {});
  await c.connect();
  try {
    return (await c.query(sql, params)).rows[0] as T;
  } finally {
    await c.end().catch(() => {});
  }
}

/** The lag of `replica` behind `leader`, each reached at its own address. */
export async function replicationLag(leader: Endpoint, replica: Endpoint, credentials: Credentials): Promise<ReplicationLag> {
  const { lsn } = await one<{ lsn: string }>(leader, credentials, 'SELECT pg_current_wal_lsn()::text AS lsn');
  const r = await one<{ bytes: string | null; replayed_at: Date | null; now: Date }>(
    replica,
    credentials,
    'SELECT pg_wal_lsn_diff($1::pg_lsn, pg_last_wal_replay_lsn())::text AS bytes, pg_last_xact_replay_timestamp() AS replayed_at, now() AS now',
    [lsn],
  );
  return lagFrom(r.bytes, r.replayed_at, r.now);
}

/** The lag from the replica's answers. Pure. */
export function lagFrom(bytesText: string | null, replayedAt: Date | null, now: Date): ReplicationLag {
  const bytes = Math.max(0, Number(bytesText ?? 0));
  if (bytes === 0) return { bytes, seconds: 0 };
  return { bytes, seconds: replayedAt === null ? null : Math.max(0, (now.getTime() - replayedAt.getTime()) / 1000) };
}
