// Opens the user store a config names.
import type { StoreRuntimeConfig } from '../config.ts';
import type { DbObserver } from '../metrics.ts';
import type { UserStore } from './types.ts';

// Each driver is imported by the config that uses it: an app on Postgres never loads
// better-sqlite3's native addon, a monolith on SQLite never loads pg (CPU at every start).

/**
 * The store of a config; `app` names its Postgres connections. Its pools open when openPools() is
 * called (the app: once listening), not during the start.
 */
export async function openStore(config: StoreRuntimeConfig, observer: DbObserver, app?: string): Promise<UserStore> {
  if (config.kind === 'sqlite') return (await import('./sqlite.ts')).createSqliteStore(config.path, observer);
  return (await import('./postgres.ts')).createPostgresStore(config, observer, app, { openPools: 'later' });
}

/** Ensures the users schema on every primary of a store (on the file for SQLite). */
export async function ensureStoreSchema(config: StoreRuntimeConfig, timeoutMs = 5_000): Promise<void> {
  if (config.kind === 'sqlite') return (await import('./sqlite.ts')).ensureSchema(config.path);
  const { ensureSchema } = await import('./postgres.ts');
  await Promise.all(config.shards.map((s) => ensureSchema(s.primary, timeoutMs)));
}
