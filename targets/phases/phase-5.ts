// Phase 5 — phase 4 with the user data split over K shards by user id, each shard a primary with
// its own replicas. The shard map is the app's own arithmetic (targets/app/store/shard-router.ts),
// so the phase, the app and the seeder can never disagree about where a user lives.
import type { ShardSpec } from '../../harness/topology/types.ts';
import { shardRanges } from '../app/store/shard-router.ts';
import { checkHostCount, fleetTopology, primaryWithReplicas, type DbTier } from './fleet.ts';
import { appServersParam, choiceOf, definePhase, intOf, replicasParam, shardsParam, shardStrategyParam, withDefault } from './params.ts';
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

/** K shards named a, b, ...: per shard a primary 'pg-shard-a' on 'db-host-shard-a' and its replicas. */
export function shardedTier(o: { users: number; shards: number; replicas: number; shardStrategy: 'range' | 'hash' }): DbTier {
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

export const phase5 = definePhase({
  phase: 5,
  title: TITLE,
  usersRange: [1_000_000, 10_000_000],
  architecture: 'phase 4 + DB sharding by user_id range (or hash), each shard a primary with replicas',
  shows: 'write capacity grows with shards; a shard outage hurts only its users',
  built: true,
  // one replica per shard: 2 shards x (primary + replica) already means four PostgreSQL servers on 2 cores
  params: [appServersParam, withDefault(replicasParam, 1), shardsParam, shardStrategyParam],
  build: (o) => {
    const db = shardedTier({ users: o.users, shards: intOf(o, shardsParam), replicas: intOf(o, replicasParam), shardStrategy: choiceOf(o, shardStrategyParam) });
    return checkHostCount(withCacheAndEdge(fleetTopology({ phase: 5, title: TITLE, appServers: intOf(o, appServersParam), db })));
  },
});
