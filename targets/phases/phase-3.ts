// Phase 3 — a load balancer in front of N stateless app servers (sessions in Redis), a PostgreSQL
// primary for writes and read replicas for reads. The fleet itself is built in fleet.ts, which
// phases 4 and 5 build on too.
import { checkHostCount, fleetTopology, singlePrimaryTier } from './fleet.ts';
import { appServersParam, definePhase, intOf, replicasParam } from './params.ts';

const TITLE = 'Load balancer and stateless fleet';

export const phase3 = definePhase({
  phase: 3,
  title: TITLE,
  usersRange: [10_000, 100_000],
  architecture: 'load balancer + N stateless app servers (sessions in Redis) + PostgreSQL primary and read replicas',
  shows: 'capacity grows with N; a dead app server costs (almost) no errors',
  built: true,
  params: [appServersParam, replicasParam],
  build: (o) => checkHostCount(fleetTopology({ phase: 3, title: TITLE, appServers: intOf(o, appServersParam), db: singlePrimaryTier(intOf(o, replicasParam)) })),
});
