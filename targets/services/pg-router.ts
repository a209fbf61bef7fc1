// The route to a Patroni cluster's current leader (or its replicas): HAProxy in TCP mode whose
// health check asks each member's Patroni REST API (GET /primary or /replica, 200 or 503) the way
// Patroni's documentation recommends, so the apps' connection string never changes when the
// leader moves. One per region, beside the apps: the data goes through each member's edge (its
// Toxiproxy proxy, where the WAN latency is), the checks go straight to the member's REST API.
// When a member stops being what the route wants, its open sessions are cut (on-marked-down
// shutdown-sessions): a pool must not keep writing to a demoted or dead leader.
//
// HAProxy starts every checked server UP and lets the first failed check take it down: for the
// ~0.2-0.5 s until the first checks ran, a router to the leader sent connections to replicas too
// (measured: 5 of the first 5 connections in 0.2 s went to a server whose check answers 503), and
// a phase-7 test's first write, right after the deploy, failed read-only. So the router is ready
// only when every server's first check ran (its stats page, on a side port, says so).
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { waitFor } from '../../harness/runtime/wait.ts';
import { serviceOf, type Endpoint, type PlannedService } from '../../harness/topology/plan.ts';
import { borrowedBinary, PATRONI_REST_PORT } from './patroni.ts';
import type { ComponentKind } from './types.ts';

/** What a phase declares for one router: the Patroni members by service name, and where
 *  connections go: the leader (writes) or any running replica (reads). */
const pgRouterConfig = z
  .object({ kind: z.literal('pg-router'), pgRouter: z.object({ members: z.array(z.string()).min(1), route: z.enum(['primary', 'replica']) }).strict() })
  .strict();
declare module '../../harness/topology/types.ts' {
  interface ServiceConfigs {
    'pg-router': Omit<z.infer<typeof pgRouterConfig>, 'kind'>;
  }
}
export type PgRouterConfig = z.infer<typeof pgRouterConfig>['pgRouter'];

export const PG_ROUTER_CONFIG_FILE = 'pg-router.cfg';
/** The stats page (CSV at /stats;csv), on the router's own address at its port + this offset
 *  (5000 -> 8404): active-active puts three routers on one host (ports 5000-5002, plan.ts takes the
 *  next free main port), so a fixed side port would collide. */
export const PG_ROUTER_STATS_OFFSET = 3404;
export const pgRouterStatsPort = (address: Endpoint) => address.port + PG_ROUTER_STATS_OFFSET;

export interface PgRouterInput {
  listen: Endpoint;
  /** the stats page, on the same IP as `listen` */
  statsPort: number;
  route: 'primary' | 'replica';
  /** per member: where the data goes (its edge) and the host its REST API listens on */
  members: { name: string; data: Endpoint; restHost: string }[];
}

/** haproxy.cfg for one router. Pure. */
export function renderPgRouterConfig(input: PgRouterInput): string {
  if (input.members.length === 0) throw new Error('renderPgRouterConfig: a router needs at least one member');
  return [
    '# rendered by targets/services/pg-router.ts',
    'global',
    '    maxconn 2048',
    '    nbthread 1',
    '',
    'defaults',
    '    mode tcp',
    '    timeout connect 1s',
    // pooled connections idle for long stretches between queries: no short client/server timeout
    '    timeout client 30m',
    '    timeout server 30m',
    '',
    'listen pg',
    `    bind ${input.listen.host}:${input.listen.port}`,
    '    option httpchk',
    `    http-check send meth GET uri /${input.route}`,
    '    http-check expect status 200',
    // the leader key changes hands in ~ttl seconds; a check every 500 ms adds at most ~1 s to that
    '    default-server inter 500ms fall 2 rise 1 on-marked-down shutdown-sessions',
    ...input.members.map((m) => `    server ${m.name} ${m.data.host}:${m.data.port} check addr ${m.restHost} port ${PATRONI_REST_PORT}`),
    '',
    'frontend stats',
    '    mode http',
    `    bind ${input.listen.host}:${input.statsPort}`,
    '    stats enable',
    '    stats uri /stats',
    '',
  ].join('\n');
}

/**
 * The servers whose first health check has not run yet, from the stats page's CSV (`check_status`
 * INI; a leading "* " marks a check in progress). Pure.
 */
export function uncheckedServers(csv: string): string[] {
  const [header, ...rows] = csv.split('\n').filter((l) => l.trim() !== '');
  const cols = (header ?? '').replace(/^# /, '').split(',');
  const sv = cols.indexOf('svname');
  const check = cols.indexOf('check_status');
  if (sv < 0 || check < 0) throw new Error('pg-router: the stats CSV has no svname or check_status column');
  return rows
    .map((r) => r.split(','))
    .filter((f) => f[sv] !== 'FRONTEND' && f[sv] !== 'BACKEND')
    .filter((f) => (f[check] ?? '').replace(/^\* /, '') === 'INI')
    .map((f) => f[sv]!);
}

function routerConfigOf(service: PlannedService): PgRouterConfig {
  if (service.config.kind !== 'pg-router') throw new Error(`${service.name} is not a pg-router service`);
  return service.config.pgRouter;
}

export const pgRouterRecipe: ComponentKind = {
  kind: 'pg-router',
  config: pgRouterConfig,
  ports: { main: 5000 },
  tier: 'data',
  // HAProxy's binary is the haproxy kind's (borrowedBinary)
  requires: [],
  async prepare(ctx) {
    const c = routerConfigOf(ctx.service);
    const input: PgRouterInput = {
      listen: ctx.service.address,
      statsPort: pgRouterStatsPort(ctx.service.address),
      route: c.route,
      members: c.members.map((m) => ({ name: m, data: ctx.reach(m), restHost: serviceOf(ctx.plan, m).address.host })),
    };
    await writeFile(join(ctx.dir, PG_ROUTER_CONFIG_FILE), renderPgRouterConfig(input));
  },
  launch: (ctx) => ({
    command: borrowedBinary({ binary: 'haproxy', paths: ['/usr/sbin'], debianPackage: 'haproxy' }, ctx.repoRoot),
    // -db: foreground, so the runtime owns the process
    args: ['-db', '-f', join(ctx.dir, PG_ROUTER_CONFIG_FILE)],
    cwd: ctx.dir,
  }),
  async ready(ctx) {
    await waitFor.port(ctx.service.address, { timeoutMs: 10_000, signal: ctx.signal });
    // routing decided by the checks, not by HAProxy's start-up assumption that every server is UP
    const url = `http://${ctx.service.address.host}:${pgRouterStatsPort(ctx.service.address)}/stats;csv`;
    await waitFor.until(`every server's first check in ${url}`, async (left) => {
      const res = await fetch(url, { signal: AbortSignal.timeout(Math.min(left, 2_000)) });
      return res.ok && uncheckedServers(await res.text()).length === 0 ? true : undefined;
    }, { timeoutMs: 10_000, signal: ctx.signal });
  },
};
