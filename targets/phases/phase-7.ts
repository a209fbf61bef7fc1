// Phase 7 — Multiple data centers. Described, not yet deployable: `bench run --phase 7` says so.
import { notBuilt } from './not-built.ts';
import { definePhase } from './params.ts';

export const phase7 = definePhase({
  phase: 7,
  title: 'Multiple data centers',
  usersRange: [100_000_000, 1_000_000_000],
  architecture: 'several regions: geo-routing, async cross-region replication, automatic failover',
  shows: 'a region can die and traffic moves without a human; how much data the async link loses (RPO)',
  built: false,
  params: [],
  build: () => notBuilt(7),
});
