// Phase 2 — the database moves to its own host; the app stays stateful (sessions in memory).
import type { PhaseDefinition } from '../../harness/topology/types.ts';
import { sizes } from './sizes.ts';

export const phase2: PhaseDefinition = {
  phase: 2,
  title: 'Separate database',
  usersRange: [1_000, 10_000],
  architecture: 'app host + PostgreSQL host; vertical scaling by host size',
  shows: 'DB and app stop fighting for CPU; the ceiling moves with host size',
  built: true,
  defaults: { appServers: 1, replicas: 0, shards: 1 },
  topology: () => ({
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
            store: {
              kind: 'postgres',
              strategy: 'range',
              shards: [{ name: 'main', primary: 'pg-primary', replicas: [], range: [0, null] }],
            },
            sessions: { kind: 'memory' },
            cache: null,
          },
        },
      },
    ],
    entry: 'app',
  }),
};
