// A component kind: one module (targets/services/<kind>.ts) that says everything about it, and
// one line in targets/services/index.ts. Its config schema, ports, readiness, what Prometheus
// scrapes, its tier, its requirements (package, binaries, image), its native launch and what
// Docker does differently all live in that module; plan ports, `bench doctor`/`setup`, the
// images, the scrape config and the report's drawing read them from the registry.
import type { z } from 'zod';
import type { DeployPlan, Endpoint, PlannedService } from '../../harness/topology/plan.ts';
import type { ServiceKind } from '../../harness/topology/types.ts';
import type { Progress } from '../../harness/runtime/types.ts';
import type { ContainerProcess, HostCheckContext, SpecContext } from '../../harness/runtime/docker/kinds.ts';

/** How a missing binary is obtained (doctor prints it, setup runs it). */
export type Install =
  | { kind: 'apt'; packages: string[] }
  | { kind: 'go'; module: string; binary: string; buildName: string }
  | { kind: 'manual'; hint: string }
  /** jars from Maven Central (`group:artifact:version`, with their dependencies) copied into
   *  `home`/libs, and `home`/bin/`launcher` (java with them on the classpath) written last */
  | { kind: 'maven'; artifacts: string[]; home: string; launcher: string; agents?: string[] };

/** A binary a kind needs: where to find it on this machine, how to get it, where its image has it. */
export interface Requirement {
  /** the executable's name, looked up on PATH and in `paths` */
  binary: string;
  /** absolute places to look besides PATH (PostgreSQL keeps its server in a versioned dir) */
  paths?: string[];
  /** the Debian package that ships it ('' when Debian has none: `doctor.install` says how) */
  debianPackage: string;
  /** its place in the kind's official image (`image.official`) */
  inImage?: string;
  /**
   * How `bench doctor` lists it: a name, what needs it, the flags that print its version. Left out
   * for a binary another one of the same package stands for (initdb beside postgres).
   * `versionArgs: null`: the binary is never run for its version (it has no flag that only prints it).
   */
  doctor?: { name: string; neededFor: string; versionArgs: string[] | null; install?: Install };
}

export interface NativeContext {
  plan: DeployPlan;
  service: PlannedService;
  /** the service's own directory in the run: data, rendered config */
  dir: string;
  /** the repository root, for the app's sources */
  repoRoot: string;
  /** resolved absolute path of each required binary, by name */
  bin(name: string): string;
  /** how this service reaches a dependency (through its Toxiproxy edge when proxies are on) */
  reach(to: string): Endpoint;
  progress: Progress;
  /** aborts a readiness wait (Ctrl-C, or the process died) */
  signal: AbortSignal;
}

/** The process the native runtime starts for a service. */
export interface NativeLaunch {
  command: string;
  args: string[];
  env?: Record<string, string>;
  cwd?: string;
  /** run as this system user (PostgreSQL refuses root) */
  user?: string;
  /** graceful stop signal; the runtime sends SIGKILL after its grace period */
  stopSignal?: NodeJS.Signals;
}

/** The report's rows, top to bottom: entry (balancers, edges), app, cache/queue, data, the harness's instruments. */
export type Tier = 'entry' | 'app' | 'cache' | 'data' | 'instrument';

/** How Prometheus scrapes a kind's services: one job per kind that declares it. */
export interface ScrapeSpec {
  /** the `job` label, e.g. 'postgres' for the exporter that watches PostgreSQL */
  job: string;
  metricsPath?: string;
  /** the scraped series' own labels win over the target's (the app labels its DB metrics by role) */
  honorLabels?: boolean;
  /** scrape this side port (ports.side) instead of the main one */
  sidePort?: string;
  /** label the target as the service named by `config.target` (exporters), not as itself */
  labelAsTarget?: boolean;
}

/**
 * A counter a kind's scraped services export that results.json sums per service over the load's
 * window: `tiers[tier]["<name>.<service>"]`. Read with the kind's scrape job as `job`.
 */
export interface TierFigure {
  tier: string;
  name: string;
  /** summed together (rows written = inserted + updated + deleted) */
  metrics: string[];
  /** series selectors besides run and job, e.g. the database */
  labels?: Readonly<Record<string, string>>;
}

/** The official image a kind runs from under `--images official`. */
export interface KindImage {
  /** pinned by tag */
  official: string;
  /** system users its launch names, as `uid:gid` in that image (Docker resolves names in the image) */
  users?: Readonly<Record<string, string>>;
}

/** What the Docker runtime hands a kind's container hooks, so that a kind module imports nothing
 *  of the Docker runtime but types. */
export interface ContainerHelpers {
  /** the native hooks' context in the network view: the service's alias as its address */
  native: NativeContext;
  /** a launch as a container process of the kind's image, in the run's image mode */
  toProcess(launch: NativeLaunch): Promise<ContainerProcess>;
  /** runs a launch (initdb, pg_basebackup) to its end in a one-off container; resolves to its output */
  runStep(step: string, launch: NativeLaunch, timeoutMs: number): Promise<string>;
}

/** What a kind does differently in a container; anything left out comes from its native hooks
 *  (prepare and afterStart run as they are; launch goes through `toProcess`). */
export interface ContainerSpec {
  /** one-time setup instead of the native prepare */
  prepare?(ctx: SpecContext, helpers: ContainerHelpers): Promise<void>;
  /** the container's process instead of the native launch */
  process?(ctx: SpecContext, helpers: ContainerHelpers): Promise<ContainerProcess>;
  ready?(ctx: HostCheckContext): Promise<void>;
  afterStart?(ctx: HostCheckContext): Promise<void>;
}

export interface ComponentKind {
  kind: ServiceKind;
  /** the schema of a service's `config` (with its `kind`): plan() reports a service that fails it */
  config: z.ZodType;
  /** the port it listens on (every host has its own address, so kinds can share ports) and named
   *  side ports on the same address (admin, metrics) */
  ports: { main: number; side?: Readonly<Record<string, number>> };
  /** where its services stand in the report's drawing */
  tier: Tier;
  requires: Requirement[];
  /** absent: the Docker runtime cannot run it */
  image?: KindImage;
  /** absent: Prometheus does not scrape it */
  scrape?: ScrapeSpec;
  /** its per-service figures in results.json (needs `scrape`) */
  figures?: TierFigure[];
  /** the exporter the plan puts beside each service of this kind when the run has a Prometheus;
   *  its config is `{ kind, target: <the service> }` */
  exporter?: ServiceKind;
  /** one-time setup before the first start: data directory, config files, base backup */
  prepare?(ctx: NativeContext): Promise<void>;
  /** the command line; called for every (re)start */
  launch(ctx: NativeContext): NativeLaunch;
  /** resolves when the service answers; each check carries its own deadline */
  ready(ctx: NativeContext): Promise<void>;
  /** after the first ready: schema, users, replication slots */
  afterStart?(ctx: NativeContext): Promise<void>;
  docker?: ContainerSpec;
}

/** The runtimes' name for a kind: they start services from its native hooks. */
export type ServiceRecipe = ComponentKind;
