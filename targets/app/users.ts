// The users API logic between the routes and the store: cache-aside reads, cache invalidation on
// writes, and read-your-writes over lagging replicas.
//
// Read-your-writes: after a write on user X, X's reads go to the primary for `rywMs` (2 s). The
// mark is kept in this process, and in Redis (`ryw:<id>`, PX rywMs) when the app has one, so that
// a write through app-1 steers the next read through app-2 too. The cache lookup and the mark are
// one MGET, so the mark costs no extra round trip when a cache is configured. The window also
// protects the cache: the read that refills user_profile_<id> after an invalidation reads the
// primary, not a replica that may not have the write yet (which would cache the old row for an hour).
import type { AppMetrics } from './metrics.ts';
import type { GuardedRedis } from './redis.ts';
import type { NewUser, User, UserPatch, UserStore } from './store/types.ts';

export const cacheKey = (id: number) => `user_profile_${id}`;
export const rywKey = (id: number) => `ryw:${id}`;

export type ReadResult = { source: 'cache' | 'database'; data: User };

export interface UsersOptions {
  store: UserStore;
  metrics: AppMetrics;
  /** cache-aside for reads, null when the phase has no cache */
  cache: { redis: GuardedRedis; ttlSeconds: number } | null;
  /** where read-your-writes marks are shared between app servers (the cache's or the sessions' Redis) */
  shared: GuardedRedis | null;
  rywMs: number;
  log: (line: string) => void;
  now?: () => number;
}

/** Process-local marks: user id -> until when its reads go to the primary. */
class RecentWrites {
  private readonly until = new Map<number, number>();
  private marks = 0;

  constructor(
    private readonly windowMs: number,
    private readonly now: () => number,
  ) {}

  mark(id: number): void {
    const now = this.now();
    this.until.set(id, now + this.windowMs);
    // sweep now and then so a write-heavy run does not grow the map without bound
    if (++this.marks % 1_000 === 0) for (const [k, t] of this.until) if (t <= now) this.until.delete(k);
  }

  has(id: number): boolean {
    const t = this.until.get(id);
    if (t === undefined) return false;
    if (t > this.now()) return true;
    this.until.delete(id);
    return false;
  }
}

/** The users API over a store, a cache and read-your-writes marks. */
export function createUsers(o: UsersOptions) {
  const now = o.now ?? Date.now;
  const recent = new RecentWrites(o.rywMs, now);
  const cache = o.cache;
  const ryw = o.rywMs > 0;

  /** Marks the write for read-your-writes and drops the cached profile; one round trip to Redis. */
  const afterWrite = async (id: number, invalidate: boolean) => {
    const replicaRead = ryw && o.store.readsFromReplica(id);
    if (replicaRead) recent.mark(id);
    const shared = replicaRead ? o.shared : null;
    const viaCache = invalidate ? cache : null;
    const jobs: Promise<unknown>[] = [];
    if (viaCache && shared === viaCache.redis) {
      jobs.push(
        viaCache.redis.run(async (r) => {
          // exec() resolves with per-command errors rather than rejecting: surface them
          const results = await r.multi().set(rywKey(id), '1', 'PX', o.rywMs).del(cacheKey(id)).exec();
          const failed = results ? results.find(([err]) => err) : [new Error('transaction discarded')];
          if (failed) throw failed[0];
        }),
      );
    } else {
      if (shared) jobs.push(shared.run((r) => r.set(rywKey(id), '1', 'PX', o.rywMs)));
      if (viaCache) jobs.push(viaCache.redis.run((r) => r.del(cacheKey(id))));
    }
    if (jobs.length === 0) return;
    const failed = (await Promise.allSettled(jobs)).find((r) => r.status === 'rejected');
    // A failed invalidation leaves a stale profile until the TTL (or until Redis, if it restarted
    // empty, comes back): the classic price of cache-aside without a write-through path.
    if (viaCache) o.metrics.cacheInvalidation(failed ? 'error' : 'ok');
    if (failed) o.log(`after a write: redis: ${(failed.reason as Error).message}`);
  };

  return {
    /** Cache-aside read: cache hit, else the database (primary within the write window), then fill. */
    async read(id: number): Promise<ReadResult | null> {
      const replicaRead = ryw && o.store.readsFromReplica(id);
      let primary = replicaRead && recent.has(id);
      // another app server may have taken the write: look for its mark in the shared Redis
      const askShared = replicaRead && !primary ? o.shared : null;
      const sharedMark = (r: GuardedRedis) => r.run((c) => c.exists(rywKey(id))).then((n) => n > 0, () => false);
      if (cache) {
        const markWithLookup = askShared === cache.redis;
        try {
          const [hit, mark] = markWithLookup
            ? await cache.redis.run((r) => r.mget(cacheKey(id), rywKey(id)))
            : [await cache.redis.run((r) => r.get(cacheKey(id))), null];
          if (hit) {
            o.metrics.cache('hit');
            return { source: 'cache', data: JSON.parse(hit) as User };
          }
          o.metrics.cache('miss');
          if (mark) primary = true;
        } catch {
          o.metrics.cache('error');
        }
        if (askShared && !markWithLookup) primary ||= await sharedMark(askShared);
      } else if (askShared) {
        primary = await sharedMark(askShared);
      }
      const user = await o.store.get(id, { primary });
      if (!user) return null;
      if (cache) {
        // not awaited: the answer does not wait for the fill; commands on one connection stay in
        // order, so a read issued after this one still sees the value
        cache.redis.run((r) => r.set(cacheKey(id), JSON.stringify(user), 'EX', cache.ttlSeconds)).catch(() => {});
      }
      return { source: 'database', data: user };
    },

    async create(input: NewUser): Promise<User> {
      const user = await o.store.create(input);
      // a new id has no cached profile (absent users are not cached), so only the mark is needed
      await afterWrite(user.id, false);
      return user;
    },

    async update(id: number, patch: UserPatch): Promise<User | null> {
      const user = await o.store.update(id, patch);
      if (user) await afterWrite(id, true);
      return user;
    },
  };
}

export type Users = ReturnType<typeof createUsers>;
