// Phase 4 — phase 3 plus a Redis cache-aside for user reads and a CDN edge (nginx proxy_cache)
// in front of the balancer for static assets.
import type { Topology } from '../../harness/topology/types.ts';
import { checkHostCount, fleetTopology, singlePrimaryTier } from './fleet.ts';
import { appServersParam, definePhase, intOf, replicasParam } from './params.ts';
import { sizes } from './sizes.ts';

/** Seconds a cached user profile lives (the classic cache-aside TTL). */
export const CACHE_TTL_SECONDS = 3600;

/**
 * Adds the cache-aside Redis and the CDN edge to a fleet topology. The cache is a Redis of its own
 * on its own host rather than the sessions Redis: a cache may evict and may be stopped by a drill
 * ("Redis down -> reads fall back to the database") without logging every user out, and its
 * hit/miss counters are not mixed with session traffic.
 */
export function withCacheAndEdge(t: Topology): Topology {
  const region = t.regions[0]!.name;
  const services = t.services.map((s) => {
    if (s.config.kind !== 'app') return s;
    return {
      ...s,
      dependsOn: [...s.dependsOn, 'redis-cache'],
      config: { kind: 'app' as const, app: { ...s.config.app, cache: { service: 'redis-cache', ttlSeconds: CACHE_TTL_SECONDS } } },
    };
  });
  return {
    ...t,
    hosts: [...t.hosts, { name: 'cache-host-2', size: sizes.cache, region }, { name: 'edge-host', size: sizes.edge, region }],
    services: [
      { name: 'redis-cache', kind: 'redis', host: 'cache-host-2', role: 'cache', dependsOn: [], config: { kind: 'redis' } },
      ...services,
      // the edge's origin is the balancer: a miss costs one trip through lb -> app
      { name: 'cdn', kind: 'nginx', host: 'edge-host', role: 'edge', dependsOn: [t.entry], config: { kind: 'nginx', nginx: { origin: t.entry } } },
    ],
    staticEntry: 'cdn',
  };
}

const TITLE = 'Cache and CDN';

export const phase4 = definePhase({
  phase: 4,
  title: TITLE,
  usersRange: [100_000, 1_000_000],
  architecture: 'phase 3 + Redis cache-aside for DB reads + CDN edge cache for static assets',
  shows: 'hit ratio, DB load drop, latency drop',
  built: true,
  params: [appServersParam, replicasParam],
  build: (o) =>
    checkHostCount(withCacheAndEdge(fleetTopology({ phase: 4, title: TITLE, appServers: intOf(o, appServersParam), db: singlePrimaryTier(intOf(o, replicasParam)) }))),
});
