// Phase 1 — the monolith: web, app and an embedded database on one host.
import type { StoreSpec } from '../../harness/topology/types.ts';
import { appStoreOf } from '../../harness/topology/stores.ts';
import { definePhase } from './params.ts';
import { sizes } from './sizes.ts';

/** The monolith keeps its users in a SQLite file of its own. */
const users: StoreSpec = { name: 'users', kind: 'sqlite', owners: ['app'] };

export const phase1 = definePhase({
  phase: 1,
  title: 'Monolith',
  usersRange: [1, 1_000],
  architecture: 'one host: web + app + embedded database (SQLite)',
  shows: 'the single point of failure: kill it and everything is down',
  built: true,
  params: [],
  build: () => ({
    phase: 1,
    title: 'Monolith',
    regions: [{ name: 'local', wanLatencyMs: 0 }],
    hosts: [{ name: 'host-1', size: sizes.monolith, region: 'local' }],
    services: [
      {
        name: 'app',
        kind: 'app',
        host: 'host-1',
        role: 'monolith',
        dependsOn: [],
        config: { kind: 'app', app: { store: appStoreOf(users), sessions: { kind: 'memory' }, cache: null } },
      },
    ],
    entry: 'app',
    stores: [users],
  }),
});
