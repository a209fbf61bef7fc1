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
// What Docker does differently for a kind is declared in the kind's own module (its `docker`
// hooks: PostgreSQL's data directory step in a one-off container, HAProxy's published stats port,
// the app's own image); `dockerKinds` adapts them to the runtime, handing them the helpers below.
import { chmod, chown } from 'node:fs/promises';
import { dirname, isAbsolute } from 'node:path';
import { BenchError } from '../../errors.ts';
import { reach, type DeployPlan, type Endpoint, type PlannedService } from '../../topology/plan.ts';
import type { ServiceKind } from '../../topology/types.ts';
import { lookupUser } from '../process.ts';
import type { Progress } from '../types.ts';
import { kinds } from '../../../targets/services/index.ts';
import type { ComponentKind, ContainerHelpers, NativeContext, NativeLaunch, ServiceRecipe } from '../../../targets/services/types.ts';
import { officialUsers, type ImageKind, type ImageMode } from './images.ts';

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
    const ids = officialUsers()[name];
    if (!ids) throw new BenchError('internal', `no uid:gid known for user ${name} in the official images`, "add it to the image.users of the kind's module (targets/services/<kind>.ts)");
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

/** The helpers a kind's container hooks get: its native context, launches as container processes. */
export function containerHelpers(ctx: SpecContext, kind: ImageKind, step?: StepRunner): ContainerHelpers {
  const toProcess = (launch: NativeLaunch) => launchToProcess(ctx, kind, launch);
  return {
    native: nativeContext(ctx),
    toProcess,
    runStep: async (name, launch, timeoutMs) => {
      if (!step) throw new BenchError('internal', `${ctx.service.name}: step ${name} outside prepare`);
      return step(name, await toProcess(launch), timeoutMs);
    },
  };
}

/** A kind's `docker` hooks as the runtime calls them. */
function dockerKind(k: ComponentKind): DockerKind {
  const d = k.docker ?? {};
  const kind = k.kind as ImageKind;
  return {
    prepare: d.prepare && ((ctx, step) => d.prepare!(ctx, containerHelpers(ctx, kind, step))),
    process: d.process && ((ctx) => d.process!(ctx, containerHelpers(ctx, kind))),
    ready: d.ready && ((ctx) => d.ready!(ctx)),
    afterStart: d.afterStart && ((ctx) => d.afterStart!(ctx)),
  };
}

/**
 * The kinds that differ from their native hooks under Docker, by kind. Read from the registry on
 * each access (a Proxy): the registry is built on first use, after every kind module loaded.
 */
export const dockerKinds: Readonly<Partial<Record<string, DockerKind>>> = new Proxy(
  {},
  {
    get: (_, name) => {
      const k = typeof name === 'string' ? kinds.get(name as ServiceKind) : undefined;
      return k?.docker ? dockerKind(k) : undefined;
    },
  },
);

/** The kinds the Docker runtime can run: those with an image. */
export const IMAGE_KINDS: Pick<ReadonlySet<string>, 'has'> = { has: (kind) => kinds.get(kind as ServiceKind)?.image !== undefined };
