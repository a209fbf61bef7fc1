// Phase 6 — Microservices and queues. Described, not yet deployable: `bench run --phase 6` says so.
import { notBuilt } from './not-built.ts';
import { definePhase } from './params.ts';

export const phase6 = definePhase({
  phase: 6,
  title: 'Microservices and queues',
  usersRange: [10_000_000, 100_000_000],
  architecture: 'user, payment and notification services, each with its own DB, a message queue and background workers',
  shows: 'heavy work leaves the request path; bursts are absorbed by the queue; no job is lost',
  built: false,
  params: [],
  build: () => notBuilt(6),
});
