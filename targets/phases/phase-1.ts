// Phase 1 — the monolith: web, app and an embedded database on one host.
import type { PhaseDefinition } from '../../harness/topology/types.ts';
import { sizes } from './sizes.ts';

export const phase1: PhaseDefinition = {
  phase: 1,
  title: 'Monolith',
  usersRange: [1, 1_000],
  architecture: 'one host: web + app + embedded database (SQLite)',
  shows: 'the single point of failure: kill it and everything is down',
  built: true,
  defaults: { appServers: 1, replicas: 0, shards: 1 },
  topology: () => ({
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
        config: { kind: 'app', app: { store: { kind: 'sqlite' }, sessions: { kind: 'memory' }, cache: null } },
      },
    ],
    entry: 'app',
  }),
};
