// Which shard owns a user id. Pure, shared by the app, the seeder and the phase definitions.

export type ShardStrategy = 'range' | 'hash';

/** An inclusive id range [lo, hi]; hi = null is open-ended. */
export type IdRange = [number, number | null];

/**
 * Splits ids 0..users into k contiguous inclusive ranges of (nearly) equal size, the classic
 * "0–500,000 → A, 500,001–1,000,000 → B" for users = 1e6 and k = 2. The last range ends at
 * `users`; ids above it still go to the last shard (see shardIndexFor), which is where sign-ups
 * (ids users+1, users+2, ...) land: the newest shard fills up, as in real range sharding.
 */
export function shardRanges(users: number, k: number): [number, number][] {
  if (!Number.isInteger(users) || users < 0) throw new RangeError(`users must be a non-negative integer, got ${users}`);
  if (!Number.isInteger(k) || k < 1) throw new RangeError(`shard count must be a positive integer, got ${k}`);
  if (k > users + 1) throw new RangeError(`cannot split ${users} users into ${k} non-empty shards`);
  const ranges: [number, number][] = [];
  let lo = 0;
  for (let i = 0; i < k; i++) {
    // hi_i = floor(users * (i+1) / k), but never below lo so every range is non-empty
    const hi = i === k - 1 ? users : Math.max(lo, Math.floor((users * (i + 1)) / k));
    ranges.push([lo, hi]);
    lo = hi + 1;
  }
  return ranges;
}

/** FNV-1a (32 bit) of the id's decimal digits: stable across processes, languages and restarts. */
export function stableHash(id: number): number {
  const s = String(id);
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** The index of the shard that owns `id` among `ranges` (in order) under `strategy`. */
export function shardIndexFor(id: number, strategy: ShardStrategy, ranges: readonly IdRange[]): number {
  const k = ranges.length;
  if (k === 0) throw new RangeError('no shards');
  if (strategy === 'hash') return stableHash(id) % k;
  for (let i = 0; i < k; i++) {
    const [lo, hi] = ranges[i];
    // below the first range (or in a gap, which a validated config has not) goes to the next shard
    if (id < lo) return i;
    if (hi === null || id <= hi) return i;
  }
  return k - 1;
}

/** A router over named shards: `shardFor(id)` gives the owning shard. */
export function createShardRouter<S extends { range: IdRange }>(strategy: ShardStrategy, shards: readonly S[]) {
  const ranges = shards.map((s) => s.range);
  return {
    strategy,
    shards,
    indexFor: (id: number) => shardIndexFor(id, strategy, ranges),
    shardFor: (id: number): S => shards[shardIndexFor(id, strategy, ranges)],
  };
}

export type ShardRouter<S extends { range: IdRange }> = ReturnType<typeof createShardRouter<S>>;
