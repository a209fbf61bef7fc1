// Per-kind container specs: what runs in each service's container, in either image mode.
//
// The native recipes (targets/services/*.ts) stay the source of truth: their launch() gives the
// command line, their prepare() renders config files into the service directory, their ready()
// is the readiness check. The Docker runtime calls them with the network view of the plan (so
// configs name `pg-primary:5432`, `toxiproxy:20001`) and the service directory mounted at the same
// path inside the container, then turns the launch into a container:
//
//   local     the base image + this machine's /usr, /etc and the checkout, read-only; the
//             recipe's binary paths as they are; its system user as numbers (uid:gid)
//   official  the component's image; binaries at their place in that image; the image's users
//
// A kind only appears below where Docker needs something else than the recipe: PostgreSQL
// (initdb / pg_basebackup run in one-off containers of the same image, pg_hba admits the run's
// network), HAProxy (its stats side port is published under another number), the app (its own
// image in official mode).
import { chmod, chown, stat, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { dirname, isAbsolute, join } from 'node:path';
import { BenchError } from '../../errors.ts';
import { pgMaxConnections, reach, sidePorts, type DeployPlan, type Endpoint, type PlannedService } from '../../topology/plan.ts';
import type { ServiceKind } from '../../topology/types.ts';
import { lookupUser } from '../process.ts';
import type { Progress } from '../types.ts';
import { waitFor } from '../wait.ts';
import { appRuntimeConfig, appStart } from '../../../targets/services/app.ts';
import { findBundle } from '../../../targets/app/bundle.ts';
import { PG_CONFIG_FILE, PG_HBA_FILE, PG_USER, pgDataDir, renderPgHba, renderPostgresConf, socketClientConfig } from '../../../targets/services/postgres.ts';
import type { NativeContext, NativeLaunch, ServiceRecipe } from '../../../targets/services/types.ts';
import { APP_POOL_SIZE, CONFIG_ENV, PG_CREDENTIALS, PG_PASSWORD_ENV, REDIS_PASSWORD, REDIS_PASSWORD_ENV } from '../../../targets/app/config.ts';
import { APP_IMAGE_ROOT, OFFICIAL_USERS, type ImageKind, type ImageMode } from './images.ts';

/** The run's bridge network as the specs need it. */
export interface NetworkInfo {
  name: string;
  /** e.g. 172.18.0.0/16: pg_hba admits it (other containers, and the gateway for published ports) */
  subnet: string;
  gateway: string;
}

/** Everything a container spec is made from. */
export interface SpecContext {
  mode: ImageMode;
  runId: string;
  network: NetworkInfo;
  /** the network view of the plan (harness/runtime/docker/views.ts) */
  plan: DeployPlan;
  /** this service in the network view: it binds exactly `address` (its alias), never 0.0.0.0 */
  service: PlannedService;
  /** the service's directory: the same path on the host and in the container */
  dir: string;
  repoRoot: string;
  /** where a binary is: on this machine (local) or in the component's image (official) */
  bin(name: string): string;
  /** the image a kind runs from (the mode's, with the caller's overrides) */
  image(kind: ImageKind): string;
  /** directories mounted read-only into every container in local mode (/usr, /etc, ...) */
  hostMounts: readonly string[];
  progress: Progress;
  signal: AbortSignal;
}

/** What runs in one container, as plain data. */
export interface ContainerProcess {
  image: string;
  command: string;
  args: string[];
  env: Record<string, string>;
  cwd: string;
  /** numeric `uid:gid`; undefined keeps the image's user */
  user?: string;
  /** the signal `docker stop` sends first */
  stopSignal?: string;
  /** host paths mounted read-only at the same path */
  readOnly: string[];
}

/** Runs a one-off step (initdb, pg_basebackup) in a container beside the service; resolves to its output. */
export type StepRunner = (step: string, proc: ContainerProcess, timeoutMs: number) => Promise<string>;

/** The readiness check's view: the recipe's context in the host view, and the published ports. */
export interface HostCheckContext extends NativeContext {
  /** where the harness reaches one of the service's container ports */
  published(containerPort: number): Endpoint;
  /** the service in the network view: its container port, e.g. for a unix socket's name */
  inside: PlannedService;
}

/** What a kind does differently under Docker; anything left out comes from its native recipe. */
export interface DockerKind {
  prepare?(ctx: SpecContext, step: StepRunner, recipe: ServiceRecipe): Promise<void>;
  process?(ctx: SpecContext, recipe: ServiceRecipe): Promise<ContainerProcess>;
  ready?(ctx: HostCheckContext, recipe: ServiceRecipe): Promise<void>;
  afterStart?(ctx: HostCheckContext, recipe: ServiceRecipe): Promise<void>;
}

const STANDARD_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/** The recipe's context for a spec: the network view, the service's alias as its address. */
export function nativeContext(ctx: SpecContext): NativeContext {
  return {
    plan: ctx.plan,
    service: ctx.service,
    dir: ctx.dir,
    repoRoot: ctx.repoRoot,
    bin: ctx.bin,
    reach: (to) => reach(ctx.plan, ctx.service.name, to),
    progress: ctx.progress,
    signal: ctx.signal,
  };
}

/** The `uid:gid` a recipe's system user runs as in its container. */
export async function containerUser(mode: ImageMode, name: string): Promise<{ user: string; uid: number; gid: number; home: string }> {
  if (mode === 'official') {
    const ids = OFFICIAL_USERS[name];
    if (!ids) throw new BenchError('internal', `no uid:gid known for user ${name} in the official images`, 'add it to OFFICIAL_USERS in harness/runtime/docker/images.ts');
    const [uid, gid] = ids.split(':').map(Number) as [number, number];
    return { user: ids, uid, gid, home: '/' };
  }
  const u = await lookupUser(name);
  if (!u) throw new BenchError('environment', `system user ${name} does not exist on this machine`, `install the package that creates it (postgres: postgresql-15), or use --images official`);
  // by number: the base image has no /etc/passwd of its own to resolve a name against
  return { user: `${u.uid}:${u.gid}`, uid: u.uid, gid: u.gid, home: u.home };
}

const under = (path: string, dir: string) => path === dir || path.startsWith(dir.endsWith('/') ? dir : `${dir}/`);

/** Turns a recipe's launch into a container process for the mode. */
export async function launchToProcess(ctx: SpecContext, kind: ImageKind, launch: NativeLaunch): Promise<ContainerProcess> {
  const u = launch.user ? await containerUser(ctx.mode, launch.user) : null;
  const env: Record<string, string> = ctx.mode === 'local' ? { PATH: STANDARD_PATH, HOME: u?.home ?? '/root' } : {};
  if (u && launch.user) Object.assign(env, { USER: launch.user, LOGNAME: launch.user });
  Object.assign(env, launch.env ?? {});
  const readOnly: string[] = [];
  if (ctx.mode === 'local') {
    readOnly.push(...ctx.hostMounts);
    // a binary outside /usr (toxiproxy-server in .tools/bin, node from nvm): its directory too
    if (isAbsolute(launch.command) && !readOnly.some((d) => under(launch.command, d))) readOnly.push(dirname(launch.command));
  }
  return {
    image: ctx.image(kind),
    command: launch.command,
    args: launch.args,
    env,
    cwd: launch.cwd ?? ctx.dir,
    // official images run as root unless the recipe names a user: several images default to an
    // unprivileged user who could not write the service directory the harness created
    user: u?.user ?? (ctx.mode === 'official' ? '0:0' : undefined),
    stopSignal: launch.stopSignal,
    readOnly,
  };
}

/** Gives the service directory to the user its process runs as (initdb and postgres insist). */
export async function ownDir(dir: string, ids: { uid: number; gid: number } | null): Promise<void> {
  if (!ids) {
    await chmod(dir, 0o755);
    return;
  }
  try {
    await chown(dir, ids.uid, ids.gid);
    await chmod(dir, 0o700);
  } catch {
    // not root: the harness cannot give the directory away; let the container's user write in it
    await chmod(dir, 0o777);
  }
}

/** pg_hba.conf for Docker: the recipe's rules, plus the run's network (containers, and the
 *  bridge's gateway, where connections through a published port come from). Pure. */
export function renderDockerPgHba(subnet: string): string {
  const { user } = PG_CREDENTIALS;
  return [
    renderPgHba().trimEnd(),
    '# The run\'s Docker network: other containers, and the gateway (published ports arrive from it).',
    `host    all          ${user}     ${subnet}    scram-sha-256`,
    `host    replication  ${user}     ${subnet}    scram-sha-256`,
    '',
  ].join('\n');
}

const MAX_SOCKET_PATH = 107;

async function writeOwnedLike(file: string, text: string, ownerOf: string): Promise<void> {
  await writeFile(file, text, { mode: 0o644 });
  const st = await stat(ownerOf);
  await chown(file, st.uid, st.gid).catch(() => {});
}

const postgres: DockerKind = {
  async prepare(ctx, step) {
    const s = ctx.service;
    if (s.config.kind !== 'postgres') throw new Error(`${s.name} is not a postgres service`);
    const config = s.config.postgres;
    const socket = join(ctx.dir, `.s.PGSQL.${s.address.port}`);
    if (socket.length > MAX_SOCKET_PATH) {
      throw new BenchError('environment', `the socket path ${socket} is longer than ${MAX_SOCKET_PATH} bytes`, 'set BENCH_STATE_DIR to a shorter directory');
    }
    const data = pgDataDir(ctx.dir);
    let launch: NativeLaunch;
    if (config.role === 'replica') {
      if (!config.primary) throw new BenchError('internal', `replica ${s.name} names no primary`);
      // through the replica->primary edge, as the native recipe: -R writes this address into
      // primary_conninfo, so replication goes through Toxiproxy and a drill can cut it
      const from = reach(ctx.plan, s.name, config.primary);
      ctx.progress(`${s.name}: pg_basebackup from ${config.primary} (${from.host}:${from.port})`);
      launch = {
        command: ctx.bin('pg_basebackup'),
        args: ['-h', from.host, '-p', String(from.port), '-U', PG_CREDENTIALS.user, '-D', data, '-R', '-X', 'stream', '-c', 'fast', '--no-sync'],
        env: { PGPASSWORD: PG_CREDENTIALS.password, PGCONNECT_TIMEOUT: '10' },
        user: PG_USER,
        cwd: ctx.dir,
      };
    } else {
      ctx.progress(`${s.name}: initdb`);
      launch = {
        command: ctx.bin('initdb'),
        args: ['-D', data, '-U', PG_USER, '--auth=trust', '--no-sync', '-E', 'UTF8', '--locale=C'],
        user: PG_USER,
        cwd: ctx.dir,
      };
    }
    await step(config.role === 'replica' ? 'pg_basebackup' : 'initdb', await launchToProcess(ctx, 'postgres', launch), 300_000);
    const conf = renderPostgresConf({ name: s.name, ip: s.address.host, port: s.address.port, socketDir: ctx.dir, maxConnections: pgMaxConnections(ctx.plan.services, s.name, APP_POOL_SIZE) });
    await writeOwnedLike(join(ctx.dir, PG_CONFIG_FILE), conf, ctx.dir);
    await writeOwnedLike(join(ctx.dir, PG_HBA_FILE), renderDockerPgHba(ctx.network.subnet), ctx.dir);
  },
  async ready(ctx) {
    // the recipe's checks, with the socket named after the container port (not the published one)
    await waitFor.port(ctx.service.address, { timeoutMs: 60_000, signal: ctx.signal });
    const standby = existsSync(join(pgDataDir(ctx.dir), 'standby.signal'));
    await waitFor.sql(socketClientConfig({ dir: ctx.dir, service: ctx.inside }), {
      query: 'SELECT pg_is_in_recovery() AS recovering',
      check: (rows) => rows[0]?.recovering === standby,
      timeoutMs: 60_000,
      signal: ctx.signal,
    });
  },
  async afterStart(ctx, recipe) {
    // the recipe connects over the unix socket in the service directory, named after the port
    await recipe.afterStart?.({ ...ctx, service: ctx.inside });
  },
};

const haproxy: DockerKind = {
  async ready(ctx) {
    // the recipe asks for <ip>:8404; under Docker that side port is published under another number
    const stats = ctx.published(sidePorts.haproxyStats);
    await waitFor.http(`http://${stats.host}:${stats.port}/metrics`, { status: 200, timeoutMs: 10_000, signal: ctx.signal });
    await waitFor.port(ctx.service.address, { timeoutMs: 2_000, signal: ctx.signal });
  },
};

const app: DockerKind = {
  async process(ctx, recipe) {
    if (ctx.mode === 'local') return launchToProcess(ctx, 'app', recipe.launch(nativeContext(ctx)));
    // the image holds the checkout at /app with its production node_modules (tsx among them);
    // the bundle the recipe's prepare built on this machine is mounted read-only and finds the
    // image's native modules through NODE_PATH (tsx runs the sources when there is none)
    const start = appStart(APP_IMAGE_ROOT, findBundle({ repoRoot: ctx.repoRoot }), 'tsx');
    return {
      image: ctx.image('app'),
      command: 'node',
      args: start.args,
      env: { [CONFIG_ENV]: JSON.stringify(appRuntimeConfig(nativeContext(ctx))), [PG_PASSWORD_ENV]: PG_CREDENTIALS.password, [REDIS_PASSWORD_ENV]: REDIS_PASSWORD, NODE_ENV: 'production', ...start.env },
      cwd: APP_IMAGE_ROOT,
      readOnly: start.bundle ? [start.bundle.dir] : [],
    };
  },
};

/** The kinds that differ from their recipe under Docker. */
export const dockerKinds: Partial<Record<ServiceKind, DockerKind>> = { postgres, haproxy, app };

/** The kinds the Docker runtime can run (rabbitmq and worker have neither recipe nor image yet). */
export const IMAGE_KINDS: ReadonlySet<string> = new Set<ImageKind>(['app', 'postgres', 'redis', 'haproxy', 'nginx', 'toxiproxy', 'prometheus', 'postgres-exporter', 'redis-exporter']);
