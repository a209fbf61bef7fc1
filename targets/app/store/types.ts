// The contract between the HTTP layer and a user store (SQLite, or Postgres with shards and replicas).

/** A user as the API returns it. */
export interface User {
  id: number;
  name: string;
  email: string;
  /** ISO 8601 */
  createdAt: string;
}

export interface NewUser {
  /** omitted: the database assigns one (single-shard stores only) */
  id?: number;
  name: string;
  email: string;
}

export interface UserPatch {
  name?: string;
  email?: string;
}

/** Thrown by create() when the id exists: the API answers 409. */
export class DuplicateIdError extends Error {
  constructor(readonly id: number) {
    super(`user ${id} already exists`);
    this.name = 'DuplicateIdError';
  }
}

/** Thrown by create() without an id on a store that needs one: the API answers 400. */
export class IdRequiredError extends Error {
  constructor() {
    super('this store is sharded: give the user id');
    this.name = 'IdRequiredError';
  }
}

/** The database that owns the request's data cannot be reached (or timed out): the API answers 503. */
export class StoreUnavailableError extends Error {
  constructor(
    readonly shard: string,
    cause: unknown,
  ) {
    super(`database shard ${shard} unavailable: ${(cause as Error)?.message ?? String(cause)}`, { cause });
    this.name = 'StoreUnavailableError';
  }
}

/** The last probe of each backing server, by a readable name ('sqlite', 'shard a primary'). */
export interface StoreHealth {
  /** the app can serve some users: at least one shard's primary answered */
  ok: boolean;
  checks: Record<string, boolean>;
}

/** What a store can do. Contract: every method may be called concurrently. */
export interface UserStore {
  readonly kind: 'sqlite' | 'postgres';
  /** true when the user's reads would normally go to a replica (so read-your-writes matters) */
  readsFromReplica(id: number): boolean;
  /** `primary: true` forces the read to the primary (read-your-writes window) */
  get(id: number, options?: { primary?: boolean }): Promise<User | null>;
  create(user: NewUser): Promise<User>;
  /** null when the user does not exist */
  update(id: number, patch: UserPatch): Promise<User | null>;
  /** probes every primary with a cheap query on a connection of its own */
  health(): Promise<StoreHealth>;
  /**
   * Ensures the schema the store needs on every server that takes writes, bounded by `timeoutMs`
   * per server (Postgres: through the connection its health probe then keeps; SQLite: done at open).
   */
  prepare(timeoutMs: number): Promise<void>;
  /** opens the connections a store keeps ready, in the background, once (a no-op where there are none) */
  openPools(): void;
  close(): Promise<void>;
}
