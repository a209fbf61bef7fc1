// Default host sizes. They are small on purpose: on a 2-core machine the load generator needs a
// core of its own, and scaling out (phase 3) is only visible when one app host is a real limit.
import type { HostSize } from '../../harness/topology/types.ts';

export const sizes = {
  /** one box holding web, app and database (phase 1) */
  monolith: { cpus: 0.5, memoryMb: 1024 },
  /** an app server. 0.2 rather than 0.25 (scripts/bench-ladder-smoke.ts, docs/PHASES.md): phase 3
   *  must be able to outgrow phase 2 before the machine runs out. Phase 3's whole path (HAProxy,
   *  three Toxiproxy hops, replicas) tops out near 3,200 req/s on 2 cores, which three 0.25-core
   *  apps already reach, so at 0.25 a busy machine decided the result (0.7x to 2.05x); at 0.2 phase 2
   *  stays app-bound and phase 3 sustained 1.9-2.25x it. Below 0.2 the ratio drops (1.5-1.8x): behind
   *  a balancer an app sees requests one at a time and spends more CPU on each. */
  app: { cpus: 0.2, memoryMb: 512 },
  /** a database host */
  db: { cpus: 0.5, memoryMb: 1024 },
  /** a cache / session store host */
  cache: { cpus: 0.25, memoryMb: 256 },
  /** the load balancer: HAProxy spends a fraction of what an app spends per request, so a quarter
   *  core keeps it out of the way of 3 app servers (the app hosts must stay the bottleneck) */
  lb: { cpus: 0.25, memoryMb: 256 },
  /** a CDN edge */
  edge: { cpus: 0.25, memoryMb: 256 },
} satisfies Record<string, HostSize>;
