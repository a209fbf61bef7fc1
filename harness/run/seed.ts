// Seeding: --users N becomes N user rows in the phase's store, fast (COPY for PostgreSQL, batched
// transactions for SQLite) and deterministic for a seed. The topology names its 'users' store
// (harness/topology/stores.ts), so this works for every phase without knowing which one it is.
import { join } from 'node:path';
import { BenchError } from '../errors.ts';
import type { Deployment, Progress } from '../runtime/types.ts';
import { storeLocation, storeOf as storeSpecOf } from '../topology/stores.ts';
import { seedPostgres, seedSqlite } from '../../targets/app/seed.ts';
import type { StoreRuntimeConfig } from '../../targets/app/config.ts';

/** Where the phase's 'users' store is, by addresses the harness reaches directly (no proxy); null: none. */
export function storeOf(deployment: Deployment): StoreRuntimeConfig | null {
  const spec = storeSpecOf(deployment.plan, 'users');
  if (!spec) return null;
  const dirOf = (name: string) => {
    const started = deployment.services.get(name);
    return started ? started.dataDir : join(deployment.runDir, 'data', name);
  };
  return storeLocation(deployment.plan, spec, dirOf);
}

export async function seedUsers(deployment: Deployment, users: number, seed: number, progress: Progress, signal?: AbortSignal): Promise<void> {
  const store = storeOf(deployment);
  if (!store) return;
  let lastPct = -1;
  const onProgress = (done: number, total: number) => {
    const pct = Math.floor((100 * done) / total / 10) * 10;
    if (pct !== lastPct) {
      lastPct = pct;
      progress(`seeding users: ${done.toLocaleString('en-US')} / ${total.toLocaleString('en-US')} (${pct}%)`);
    }
  };
  if (signal?.aborted) throw new BenchError('interrupted', 'interrupted before seeding');
  const result =
    store.kind === 'sqlite'
      ? await seedSqlite(store.path, users, seed, onProgress)
      : await seedPostgres(
          store.shards.map((s) => ({ name: s.name, range: s.range, primary: s.primary })),
          store.strategy,
          users,
          seed,
          onProgress,
        );
  const per = Object.entries(result.perShard).map(([k, v]) => `${k} ${v.toLocaleString('en-US')}`).join(', ');
  progress(`seeded ${result.rows.toLocaleString('en-US')} users in ${result.seconds.toFixed(1)} s (${per})`);
}
