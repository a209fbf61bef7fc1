// Phase 5 — phase 4 with the user data split over K shards by user id, each shard a primary with
// its own replicas. The shard map is the app's own arithmetic (targets/app/store/shard-router.ts),
// so the phase, the app and the seeder can never disagree about where a user lives.
import { BenchError } from '../../harness/errors.ts';
import type { PhaseDefinition, PhaseOptions, ShardSpec } from '../../harness/topology/types.ts';
import { shardRanges } from '../app/store/shard-router.ts';
import type { DbTier } from './phase-3.ts';
import { checkFleetOptions, checkHostCount, fleetTopology, primaryWithReplicas } from './phase-3.ts';
import { withCacheAndEdge } from './phase-4.ts';

/** Shard names in order: a..z, then aa, ab, ... (spreadsheet columns, lower case). */
export function shardName(index: number): string {
  let n = index + 1;
  let name = '';
  while (n > 0) {
    const r = (n - 1) % 26;
    name = String.fromCharCode(97 + r) + name;
    n = Math.floor((n - 1) / 26);
  }
  return name;
}

/**
 * The range each of K shards owns for `users` users: [0, 500000] and [500001, null] for 1e6 users
 * and 2 shards. The last range is open because ids above `users` (sign-ups during a run) go to
 * the last shard.
 */
export function shardSpecRanges(users: number, k: number): [number, number | null][] {
  return shardRanges(users, k).map(([lo, hi], i, all): [number, number | null] => [lo, i === all.length - 1 ? null : hi]);
}

/** Checks the sharding options; throws a one-line usage error naming the flag. */
export function checkShardOptions(o: Pick<PhaseOptions, 'users' | 'shards' | 'shardStrategy'>): void {
  if (!Number.isInteger(o.users) || o.users < 1) {
    throw new BenchError('usage', `--users ${o.users}: a sharded phase needs a whole number of at least 1 user`, 'use --users 1e6');
  }
  if (!Number.isInteger(o.shards) || o.shards < 1) {
    throw new BenchError('usage', `--shards ${o.shards}: a sharded phase needs a whole number of at least 1 shard`, 'use --shards 2');
  }
  if (o.shards > o.users) {
    throw new BenchError('usage', `--shards ${o.shards} with --users ${o.users}: more shards than users leaves shards with no user`, `use --shards ${o.users} or fewer, or more --users`);
  }
  if (o.shardStrategy !== 'range' && o.shardStrategy !== 'hash') {
    throw new BenchError('usage', `--shard-strategy ${String(o.shardStrategy)}: unknown strategy`, 'use --shard-strategy range or --shard-strategy hash');
  }
}

/** K shards named a, b, ...: per shard a primary 'pg-shard-a' on 'db-host-shard-a' and its replicas. */
export function shardedTier(o: Pick<PhaseOptions, 'users' | 'shards' | 'replicas' | 'shardStrategy'>): DbTier {
  const ranges = shardSpecRanges(o.users, o.shards);
  const tier: DbTier = { strategy: o.shardStrategy, shards: [], hosts: [], services: [] };
  ranges.forEach((range, i) => {
    const name = shardName(i);
    const primary = `pg-shard-${name}`;
    const part = primaryWithReplicas({ primary, host: `db-host-shard-${name}` }, o.replicas);
    // under 'hash' the ranges are not used for routing; they stay as the range map the seeder splits by
    const shard: ShardSpec = { name, primary, replicas: part.replicaNames, range };
    tier.shards.push(shard);
    tier.hosts.push(...part.hosts);
    tier.services.push(...part.services);
  });
  return tier;
}

const TITLE = 'Sharding';

export const phase5: PhaseDefinition = {
  phase: 5,
  title: TITLE,
  usersRange: [1_000_000, 10_000_000],
  architecture: 'phase 4 + DB sharding by user_id range (or hash), each shard a primary with replicas',
  shows: 'write capacity grows with shards; a shard outage hurts only its users',
  built: true,
  // one replica per shard: 2 shards x (primary + replica) already means four PostgreSQL servers on 2 cores
  defaults: { appServers: 3, replicas: 1, shards: 2 },
  topology: (o) => {
    checkFleetOptions(5, o);
    checkShardOptions(o);
    return checkHostCount(withCacheAndEdge(fleetTopology({ phase: 5, title: TITLE, appServers: o.appServers, db: shardedTier(o) })));
  },
};
