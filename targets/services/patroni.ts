// Patroni 3.0 (Debian) managing a PostgreSQL 15 from the machine's binaries: one member per region,
// its leader key in etcd (targets/services/etcd.ts), so no step of a failover is the harness's.
// The service's address is the PostgreSQL port; Patroni's REST API listens beside it on
// PATRONI_REST_PORT and answers GET /primary and /replica with 200 or 503 (the load balancers'
// health checks). Runs as the `postgres` system user. Layout of the service directory:
//   <dir>/patroni.secret      Patroni's config (JSON, which is YAML), mode 0600: it holds the
//                             run's password, so not a *.yml the runtime copies beside the results
//   <dir>/bin/                the PostgreSQL bin directory Patroni uses: links to the real one,
//                             and a `postgres` wrapper (below)
//   <dir>/data/               the cluster, created by Patroni (initdb or a base backup)
//   <dir>/.s.PGSQL.<port>     the unix socket
//
// Why the wrapper: Patroni starts PostgreSQL in a session of its own (setsid), so killing
// Patroni's process group, which is how the native runtime stops and kills a service, would leave
// that PostgreSQL running: a "dead host" that still serves, and a leftover after teardown. The
// wrapper starts a watcher beside the server that kills it once Patroni's process is gone; a
// graceful stop (SIGINT to Patroni) still lets Patroni shut PostgreSQL down first.
import { chown, mkdir, readdir, symlink, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { z } from 'zod';
import { BenchError } from '../../harness/errors.ts';
import { resolveBinary } from '../../harness/runtime/binaries.ts';
import { lookupUser } from '../../harness/runtime/process.ts';
import { toxiproxyClient } from '../../harness/runtime/toxiproxy-client.ts';
import { waitFor } from '../../harness/runtime/wait.ts';
import { waitForEtcdClusterVersion } from './etcd.ts';
import { pgMaxConnections, type Endpoint, type PlannedService } from '../../harness/topology/plan.ts';
import { APP_POOL_SIZE, PG_CREDENTIALS } from '../app/config.ts';
import { createBenchRole, PG_BIN_DIRS, PG_USER } from './postgres.ts';
import type { ComponentKind, Requirement } from './types.ts';
import type { Service, TopologyToxic } from '../../harness/topology/types.ts';
import { applyBaseline } from '../regions/latency.ts';
import { baselineApiOf } from './toxiproxy.ts';

/** What a phase declares for one Patroni member: the cluster's name (Patroni's scope: one leader
 *  key per scope in etcd), the etcd members it talks to by service name, and the leader key's time
 *  to live in seconds (default 10: the field notes' 9.7 s failover). */
const patroniConfig = z
  .object({
    kind: z.literal('patroni'),
    patroni: z.object({ scope: z.string().regex(/^[a-z0-9-]+$/), etcd: z.array(z.string()).min(1), ttlSeconds: z.number().int().min(5).optional() }).strict(),
  })
  .strict();
declare module '../../harness/topology/types.ts' {
  interface ServiceConfigs {
    patroni: Omit<z.infer<typeof patroniConfig>, 'kind'>;
  }
}
export type PatroniConfig = z.infer<typeof patroniConfig>['patroni'];

/**
 * max_connections of a member: any member may lead, and the apps reach the leader through their
 * region's pg-router, so every app pool behind a router that lists this member may land on it
 * (pgMaxConnections counts only apps that name the server itself). Pure.
 */
export function patroniMaxConnections(services: readonly Pick<Service, 'name' | 'config'>[], member: string): number {
  const routers = new Set(services.filter((s) => s.config.kind === 'pg-router' && s.config.pgRouter.members.includes(member)).map((s) => s.name));
  // a router stands for its members: count the apps behind it as if they named this member
  const asMember = services.map((s) => {
    if (s.config.kind !== 'app' || s.config.app.store.kind !== 'postgres') return s;
    const shards = s.config.app.store.shards.map((sh) => (routers.has(sh.primary) ? { ...sh, primary: member } : sh));
    return { ...s, config: { ...s.config, app: { ...s.config.app, store: { ...s.config.app.store, shards } } } };
  });
  return pgMaxConnections(asMember, member, APP_POOL_SIZE);
}

/** Patroni's REST API, on the member's host address. */
export const PATRONI_REST_PORT = 8008;
export const PATRONI_CONFIG_FILE = 'patroni.secret';
/** The environment variable that tells the wrapper whose death ends its server. */
const GUARD_ENV = 'BENCH_PATRONI_PID';

/**
 * A binary another registered kind lists (PostgreSQL's, HAProxy's): the registry lists each binary
 * once, with the kind it belongs to, so a kind that borrows one finds it here when it starts.
 */
export function borrowedBinary(req: Requirement, repoRoot: string): string {
  const path = resolveBinary(req, repoRoot);
  if (!path) throw new BenchError('environment', `${req.binary} not found`, `install it: apt-get install ${req.debianPackage}`);
  return path;
}

/** The Toxiproxy proxy every other member reaches this one's PostgreSQL through. */
export const replicationProxyName = (member: string) => `replication->${member}`;

/**
 * Creates the member's replication proxy (Toxiproxy picks its port) and returns where it listens.
 * Why not a plan edge: a replica reaches whichever member leads through the leader's advertised
 * address (Patroni's connect_address), one address for every peer, so the edge belongs to the
 * member, not to a pair; a drill holds back the WAL of a leader by acting on it.
 */
async function replicationProxy(api: Endpoint, controlIp: string, service: PlannedService, toxics: readonly TopologyToxic[]): Promise<Endpoint> {
  const client = toxiproxyClient(api);
  const name = replicationProxyName(service.name);
  const created = await client.createProxy({ name, listen: `${controlIp}:0`, upstream: `${service.address.host}:${service.address.port}` });
  const m = /^(.*):(\d+)$/.exec(created.listen);
  if (!m || Number(m[2]) === 0) throw new Error(`toxiproxy gave ${name} no port (${created.listen})`);
  // the topology's toxics on it (phase 7's WAN baseline on the WAL), before any replica connects:
  // Toxiproxy's recipe adds the plan edges' own, and this proxy is not one
  await applyBaseline(baselineApiOf(client), toxics.filter((t) => t.proxy === name));
  return { host: m[1]!, port: Number(m[2]) };
}

export const patroniRestUrl = (s: Pick<PlannedService, 'address'>) => `http://${s.address.host}:${PATRONI_REST_PORT}`;

function patroniConfigOf(service: PlannedService): PatroniConfig {
  if (service.config.kind !== 'patroni') throw new Error(`${service.name} is not a patroni service`);
  return service.config.patroni;
}

export interface PatroniYamlInput {
  service: PlannedService;
  dir: string;
  /** where this member reaches each etcd member */
  etcd: Endpoint[];
  maxConnections: number;
  password: string;
  /** where the other members reach this one's PostgreSQL (base backup, WAL stream, pg_rewind);
   *  default its own address */
  connectAddress?: Endpoint;
}

/**
 * Patroni's whole configuration, as an object written as JSON. Pure.
 *
 * loop_wait 1 s and retry_timeout 4 s keep loop_wait + 2 x retry_timeout inside the ttl, as
 * Patroni requires; the ttl then decides how long a dead leader holds its key. Replication is
 * asynchronous (the phase measures what that loses) and any replica may take over however far
 * behind it is (maximum_lag_on_failover 1 GiB): a region that died must not block its successor.
 */
export function renderPatroniConfig(input: PatroniYamlInput): Record<string, unknown> {
  const { service, dir } = input;
  const config = patroniConfigOf(service);
  const ip = service.address.host;
  const pg = `${ip}:${service.address.port}`;
  const connect = input.connectAddress ? `${input.connectAddress.host}:${input.connectAddress.port}` : pg;
  const { user, password } = { user: PG_CREDENTIALS.user, password: input.password };
  return {
    scope: config.scope,
    name: service.name,
    log: { level: 'INFO' },
    restapi: { listen: `${ip}:${PATRONI_REST_PORT}`, connect_address: `${ip}:${PATRONI_REST_PORT}` },
    // use_proxies: the hosts are the only addresses to use. Without it Patroni asks etcd for its
    // members' advertised client URLs and connects to those, straight past Toxiproxy: a cut edge
    // to an etcd member then cut nothing (a partitioned leader kept its key for the whole cut)
    etcd3: { hosts: input.etcd.map((e) => `${e.host}:${e.port}`), use_proxies: true },
    bootstrap: {
      dcs: {
        ttl: config.ttlSeconds ?? 10,
        loop_wait: 1,
        retry_timeout: 4,
        maximum_lag_on_failover: 1024 * 1024 * 1024,
        postgresql: {
          use_pg_rewind: true,
          parameters: {
            wal_level: 'replica',
            hot_standby: 'on',
            hot_standby_feedback: 'on',
            max_wal_senders: 10,
            max_replication_slots: 10,
            wal_keep_size: '256MB',
            wal_log_hints: 'on',
            max_connections: input.maxConnections,
          },
        },
      },
      initdb: [{ encoding: 'UTF8' }, { locale: 'C' }],
      // the same rules as targets/services/postgres.ts, plus the superuser over TCP for pg_rewind
      pg_hba: [
        'local all all trust',
        'local replication all trust',
        `host all ${user} 127.0.0.0/8 scram-sha-256`,
        `host replication ${user} 127.0.0.0/8 scram-sha-256`,
        `host all ${PG_USER} 127.0.0.0/8 scram-sha-256`,
      ],
    },
    postgresql: {
      listen: pg,
      connect_address: connect,
      data_dir: join(dir, 'data'),
      bin_dir: join(dir, 'bin'),
      pgpass: join(dir, 'pgpass'),
      use_unix_socket: true,
      // without it pg_basebackup waits for a spread checkpoint: minutes on an idle fresh leader
      basebackup: [{ checkpoint: 'fast' }],
      authentication: {
        superuser: { username: PG_USER, password },
        replication: { username: user, password },
        rewind: { username: PG_USER, password },
      },
      parameters: {
        unix_socket_directories: dir,
        unix_socket_permissions: '0700',
        shared_buffers: '32MB',
        fsync: 'on',
        synchronous_commit: 'on',
        logging_collector: 'off',
        timezone: 'UTC',
        lc_messages: 'C',
      },
      remove_data_directory_on_rewind_failure: true,
    },
  };
}

/** The `postgres` wrapper Patroni runs instead of the server (why: the header). Pure. */
export function renderPostgresWrapper(realPostgres: string): string {
  return [
    '#!/bin/sh',
    '# Written by bench (targets/services/patroni.ts): the server dies with the Patroni that started it.',
    `if [ -n "$${GUARD_ENV}" ]; then`,
    '  server=$$',
    '  (',
    `    while kill -0 "$${GUARD_ENV}" 2>/dev/null && kill -0 "$server" 2>/dev/null; do sleep 0.2; done`,
    '    kill -0 "$server" 2>/dev/null && kill -KILL "$server"',
    '  ) </dev/null >/dev/null 2>&1 &',
    'fi',
    `exec '${realPostgres}' "$@"`,
    '',
  ].join('\n');
}

/** The member's role as its REST API tells it: what a load balancer's health check sees. */
export async function patroniRole(s: Pick<PlannedService, 'address'>, timeoutMs = 1_000): Promise<'primary' | 'replica' | 'down'> {
  for (const role of ['primary', 'replica'] as const) {
    try {
      const res = await fetch(`${patroniRestUrl(s)}/${role}`, { signal: AbortSignal.timeout(timeoutMs) });
      await res.arrayBuffer();
      if (res.status === 200) return role;
    } catch {
      return 'down';
    }
  }
  return 'down';
}

/** Whether a member leads, from its own answer to `GET /primary`: true (200), false (any other
 *  answer), null when it gave none within `timeoutMs` (a busy or frozen Patroni: not known). */
export async function patroniLeads(s: Pick<PlannedService, 'address'>, timeoutMs = 1_000): Promise<boolean | null> {
  try {
    const res = await fetch(`${patroniRestUrl(s)}/primary`, { signal: AbortSignal.timeout(timeoutMs) });
    await res.arrayBuffer();
    return res.status === 200;
  } catch {
    return null;
  }
}

export const patroniRecipe: ComponentKind = {
  kind: 'patroni',
  config: patroniConfig,
  ports: { main: 5432, side: { rest: PATRONI_REST_PORT } },
  tier: 'data',
  requires: [
    { binary: 'patroni', debianPackage: 'patroni', doctor: { name: 'Patroni', neededFor: 'automatic failover (phase 7)', versionArgs: ['--version'] } },
    // PostgreSQL's binaries are the postgres kind's (borrowedBinary)
  ],

  async prepare(ctx) {
    const owner = await lookupUser(PG_USER);
    const own = async (path: string) => {
      if (owner) await chown(path, owner.uid, owner.gid).catch(() => {});
    };
    const realPostgres = borrowedBinary({ binary: 'postgres', paths: PG_BIN_DIRS, debianPackage: 'postgresql-15' }, ctx.repoRoot);
    const realBin = dirname(realPostgres);
    const bin = join(ctx.dir, 'bin');
    await mkdir(bin, { recursive: true });
    for (const f of await readdir(realBin)) {
      if (f !== 'postgres') await symlink(join(realBin, f), join(bin, f));
    }
    await writeFile(join(bin, 'postgres'), renderPostgresWrapper(realPostgres), { mode: 0o755 });
    const config = patroniConfigOf(ctx.service);
    // Patroni exits at start while the etcd cluster has not decided its version
    await waitForEtcdClusterVersion(config.etcd.map((e) => ctx.reach(e)), { signal: ctx.signal });
    const connectAddress = ctx.plan.toxiproxy ? await replicationProxy(ctx.plan.toxiproxy.api, ctx.plan.controlIp, ctx.service, ctx.plan.topology.toxics ?? []) : undefined;
    const yaml = renderPatroniConfig({
      connectAddress,
      service: ctx.service,
      dir: ctx.dir,
      etcd: config.etcd.map((e) => ctx.reach(e)),
      maxConnections: patroniMaxConnections(ctx.plan.services, ctx.service.name),
      password: PG_CREDENTIALS.password,
    });
    const file = join(ctx.dir, PATRONI_CONFIG_FILE);
    await writeFile(file, JSON.stringify(yaml, null, 2) + '\n', { mode: 0o600 });
    await own(file);
  },

  launch(ctx) {
    // through sh so that Patroni's pid (sh's, kept by exec) is in its own environment for the wrapper
    return {
      command: '/bin/sh',
      args: ['-c', `${GUARD_ENV}=$$; export ${GUARD_ENV}; exec "$0" "$1"`, ctx.bin('patroni'), join(ctx.dir, PATRONI_CONFIG_FILE)],
      cwd: ctx.dir,
      user: PG_USER,
      // Patroni stops its PostgreSQL on SIGINT/SIGTERM before it exits
      stopSignal: 'SIGTERM',
    };
  },

  async ready(ctx) {
    // 200 once PostgreSQL runs, as leader or replica; the first member bootstraps (initdb), the
    // others take a base backup from it. etcd must have elected a leader before any of that.
    await waitFor.http(`${patroniRestUrl(ctx.service)}/health`, { status: 200, timeoutMs: 90_000, signal: ctx.signal });
  },

  async afterStart(ctx) {
    // Role and database `bench` on the leader; replicas receive them through replication. /health
    // answers while a bootstrapping member has not taken the leader key yet: wait for a leader.
    const leader = await waitFor.until(`a running leader in ${patroniRestUrl(ctx.service)}/cluster`, async (left) => {
      const res = await fetch(`${patroniRestUrl(ctx.service)}/cluster`, { signal: AbortSignal.timeout(Math.min(left, 2_000)) });
      const members = ((await res.json()) as { members?: { name: string; role: string; state: string }[] }).members ?? [];
      return members.find((m) => m.role === 'leader' && m.state === 'running')?.name;
    }, { timeoutMs: 60_000, signal: ctx.signal });
    if (leader === ctx.service.name) await createBenchRole(ctx);
  },
};
