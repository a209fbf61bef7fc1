// Phase 6 — Microservices and queues. Described, not yet deployable: `bench run --phase 6` says so.
import type { PhaseDefinition } from '../../harness/topology/types.ts';
import { notBuilt } from './not-built.ts';

export const phase6: PhaseDefinition = {
  phase: 6,
  title: 'Microservices and queues',
  usersRange: [10_000_000, 100_000_000],
  architecture: 'user, payment and notification services, each with its own DB, a message queue and background workers',
  shows: 'heavy work leaves the request path; bursts are absorbed by the queue; no job is lost',
  built: false,
  defaults: { appServers: 3, replicas: 2, shards: 2 },
  topology: () => notBuilt(6),
};
