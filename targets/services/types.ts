// A recipe per component kind: how to start it natively (and later in Docker), its config and
// its readiness check. Registered by kind in targets/services/index.ts.
import type { DeployPlan, Endpoint, PlannedService } from '../../harness/topology/plan.ts';
import type { ServiceKind } from '../../harness/topology/types.ts';
import type { Progress } from '../../harness/runtime/types.ts';

/** A binary the native runtime needs, and where it comes from. */
export interface Requirement {
  /** the executable's name, looked up on PATH and in `paths` */
  binary: string;
  /** absolute places to look besides PATH (PostgreSQL keeps its server in a versioned dir) */
  paths?: string[];
  /** the Debian package that ships it */
  debianPackage: string;
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

export interface ServiceRecipe {
  kind: ServiceKind;
  requires: Requirement[];
  /** one-time setup before the first start: data directory, config files, base backup */
  prepare?(ctx: NativeContext): Promise<void>;
  /** the command line; called for every (re)start */
  launch(ctx: NativeContext): NativeLaunch;
  /** resolves when the service answers; each check carries its own deadline */
  ready(ctx: NativeContext): Promise<void>;
  /** after the first ready: schema, users, replication slots */
  afterStart?(ctx: NativeContext): Promise<void>;
}
