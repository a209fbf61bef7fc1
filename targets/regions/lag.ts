// Replication lag between two regions' databases, in bytes and seconds, measured from both ends.
// Bytes: the leader's current WAL position against what the replica has replayed. Seconds: the
// leader's replay_lag for the replica (pg_stat_replication: from the leader flushing WAL to the
// replica confirming it replayed it, what a write waits to be visible there, which a slow WAN
// stretches), whatever the write rate. A replica whose link is cut has no row there at all, exactly
// when the lag matters: then the seconds are the age of the newest transaction it replayed while it
// is behind. (That age alone was the old measure, and it is mostly the time since the last commit:
// at a few writes a second it hid a 5x slower WAN behind the gaps between commits.)
import pg from 'pg';
import type { Endpoint } from '../../harness/topology/plan.ts';

export interface ReplicationLag {
  /** WAL bytes the leader wrote that the replica has not replayed */
  bytes: number;
  /** the leader's replay_lag for the replica while it streams; without a stream, how old the newest
   *  transaction the replica replayed is when it is behind, 0 when caught up. null when neither is
   *  known (no stream and nothing replayed yet). */
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

/**
 * The lag of `replica` behind `leader`, each reached at its own address. `replicaName` is the
 * replica's application_name on the leader (a Patroni member's name): without it, only the
 * replica's own answers count.
 */
export async function replicationLag(leader: Endpoint, replica: Endpoint, credentials: Credentials, replicaName?: string): Promise<ReplicationLag> {
  const { lsn, replay_lag_s } = await one<{ lsn: string; replay_lag_s: number | null }>(
    leader,
    credentials,
    `SELECT pg_current_wal_lsn()::text AS lsn,
            (SELECT EXTRACT(EPOCH FROM replay_lag)::float8 FROM pg_stat_replication
              WHERE application_name = $1 AND state = 'streaming' ORDER BY backend_start DESC LIMIT 1) AS replay_lag_s`,
    [replicaName ?? null],
  );
  const r = await one<{ bytes: string | null; replayed_at: Date | null; now: Date }>(
    replica,
    credentials,
    'SELECT pg_wal_lsn_diff($1::pg_lsn, pg_last_wal_replay_lsn())::text AS bytes, pg_last_xact_replay_timestamp() AS replayed_at, now() AS now',
    [lsn],
  );
  return lagFrom(r.bytes, r.replayed_at, r.now, replay_lag_s);
}

/** The lag from the replica's answers and the leader's replay_lag for it (null: no stream, or
 *  nothing measured lately). Pure. */
export function lagFrom(bytesText: string | null, replayedAt: Date | null, now: Date, replayLagS: number | null = null): ReplicationLag {
  const bytes = Math.max(0, Number(bytesText ?? 0));
  if (replayLagS !== null && Number.isFinite(replayLagS)) return { bytes, seconds: Math.max(0, replayLagS) };
  if (bytes === 0) return { bytes, seconds: 0 };
  return { bytes, seconds: replayedAt === null ? null : Math.max(0, (now.getTime() - replayedAt.getTime()) / 1000) };
}
