// Opens the user store a config names.
import type { StoreRuntimeConfig } from '../config.ts';
import type { DbObserver } from '../metrics.ts';
import { createPostgresStore, ensureSchema as ensurePostgresSchema } from './postgres.ts';
import { createSqliteStore, ensureSchema as ensureSqliteSchema } from './sqlite.ts';
import type { UserStore } from './types.ts';

/** The store of a config; `app` names its Postgres connections. */
export function openStore(config: StoreRuntimeConfig, observer: DbObserver, app?: string): UserStore {
  return config.kind === 'sqlite' ? createSqliteStore(config.path, observer) : createPostgresStore(config, observer, app);
}

/** Ensures the users schema on every primary of a store (on the file for SQLite). */
export async function ensureStoreSchema(config: StoreRuntimeConfig, timeoutMs = 5_000): Promise<void> {
  if (config.kind === 'sqlite') return ensureSqliteSchema(config.path);
  await Promise.all(config.shards.map((s) => ensurePostgresSchema(s.primary, timeoutMs)));
}
