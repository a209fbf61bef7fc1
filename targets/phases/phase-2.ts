// Phase 2 — the database moves to its own host; the app stays stateful (sessions in memory).
import type { StoreSpec } from '../../harness/topology/types.ts';
import { appStoreOf } from '../../harness/topology/stores.ts';
import { definePhase } from './params.ts';
import { sizes } from './sizes.ts';

/** One PostgreSQL primary owning every user id, used by the one app. */
const users: StoreSpec = { name: 'users', kind: 'postgres', owners: ['app'], strategy: 'range', shards: [{ name: 'main', primary: 'pg-primary', replicas: [], range: [0, null] }] };

export const phase2 = definePhase({
  phase: 2,
  title: 'Separate database',
  usersRange: [1_000, 10_000],
  architecture: 'app host + PostgreSQL host; vertical scaling by host size',
  shows: 'DB and app stop fighting for CPU; the ceiling moves with host size',
  built: true,
  params: [],
  build: () => ({
    phase: 2,
    title: 'Separate database',
    regions: [{ name: 'local', wanLatencyMs: 0 }],
    hosts: [
      { name: 'app-host', size: sizes.app, region: 'local' },
      { name: 'db-host', size: sizes.db, region: 'local' },
    ],
    services: [
      {
        name: 'pg-primary',
        kind: 'postgres',
        host: 'db-host',
        role: 'primary',
        dependsOn: [],
        config: { kind: 'postgres', postgres: { role: 'primary' } },
      },
      {
        name: 'app',
        kind: 'app',
        host: 'app-host',
        role: 'app',
        dependsOn: ['pg-primary'],
        config: {
          kind: 'app',
          app: {
            store: appStoreOf(users),
            sessions: { kind: 'memory' },
            cache: null,
          },
        },
      },
    ],
    entry: 'app',
    stores: [users],
  }),
});
