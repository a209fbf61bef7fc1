// The Runtime interface: what both the native and the Docker runtime give the run lifecycle and
// the chaos drills. Contracts: `up` either returns a Deployment whose every service answered its
// readiness check, or tears down what it started and throws. `down` is idempotent and may be
// called concurrently with nothing else of the same Deployment.
import type { DeployPlan, Endpoint, PlannedService } from '../topology/plan.ts';

export type RuntimeKind = 'native' | 'docker';

/** Signals the drills send to a service's process (or container). */
export type ProcessSignal = 'SIGKILL' | 'SIGTERM' | 'SIGSTOP' | 'SIGCONT';

/** A running service: its address and the handles that the drills use. */
export interface StartedService {
  readonly name: string;
  readonly spec: PlannedService;
  /** where the service listens (not through a proxy) */
  readonly address: Endpoint;
  /** the file its stdout and stderr go to */
  readonly logFile: string;
  /** pid natively, the container's id in Docker */
  readonly id: string;
  /** the service's data directory (native runtime only): what `promote()` of postgres.ts needs */
  readonly dir?: string;
  /**
   * the service's own directory as this machine sees it (its configs, data and the files the
   * server writes there): natively its working directory, in Docker the directory bind-mounted
   * into the container at the same path
   */
  readonly dataDir: string;
  /**
   * A file the service wrote in its directory (`rel` to dataDir), e.g. the CDN edge's access log;
   * null when it does not exist (yet). Any other read failure throws.
   */
  readFile(rel: string): Promise<string | null>;
  /** sends a signal: SIGKILL kills, SIGSTOP hangs, SIGCONT resumes */
  signal(sig: ProcessSignal): Promise<void>;
  /** graceful stop (SIGTERM, then SIGKILL after a grace period) */
  stop(): Promise<void>;
  /** starts it again after a kill or stop, and waits until it is ready */
  start(): Promise<void>;
  /** true while the process (container) exists and is not stopped */
  isRunning(): boolean;
}

/** Progress lines of a long step ("pg-primary: initdb", "app: ready in 0.4 s"). */
export type Progress = (line: string) => void;

export interface Deployment extends AsyncDisposable {
  readonly plan: DeployPlan;
  readonly runtime: RuntimeKind;
  /** the run's own directory: configs, data, logs, state */
  readonly runDir: string;
  readonly services: ReadonlyMap<string, StartedService>;
  service(name: string): StartedService;
  /** stops everything this deployment started; idempotent */
  down(): Promise<void>;
  /**
   * per host that runs services: was its CPU/memory size enforced (native: the cgroup writes
   * succeeded; docker: the container limits always are)? Absent: the runtime does not say.
   */
  sizesEnforced?(): Record<string, boolean>;
  /** lets this process exit while the services keep running (`bench up`); the state file keeps
   *  them findable for `bench down` */
  detach?(): Promise<void>;
  /**
   * Where the harness reaches a service's side port (a broker's metrics): natively its host's
   * address and that port; under Docker the port published for it on 127.0.0.1.
   */
  sideAddress(service: string, port: number): Endpoint;
}

export interface UpOptions {
  runDir: string;
  progress: Progress;
  /** aborted by Ctrl-C: stop starting, tear down, throw */
  signal?: AbortSignal;
  /**
   * A failure the deployment finds outside any call (a service's log can no longer be written):
   * the caller ends the run and tears down. Without it, the failure is only reported by progress.
   */
  onFatal?(err: Error): void;
}

/** A run this runtime has on this machine (live, kept or left by a crash), as `bench status` shows it. */
export interface RunListing {
  readonly runId: string;
  readonly runtime: RuntimeKind;
  /** the run directory with its plan.json, when the runtime records one */
  readonly runDir: string | null;
  /** the harness that started it is still running */
  readonly harnessAlive: boolean;
  /** left up on purpose (`bench up`) */
  readonly kept: boolean;
  /** one line per process or container, as `bench status` prints it under the run */
  readonly units: readonly string[];
  /** the runtime's whole record of the run (`bench status --json`) */
  readonly detail: unknown;
}

export interface ReapOptions {
  /** only this run; default every run of this runtime */
  runId?: string;
  /** only runs whose harness is gone and that were not left up on purpose */
  onlyDead?: boolean;
  /** where a warning goes (a state file or labelled directory the harness may not act on) */
  warn?: (line: string) => void;
}

export interface Runtime {
  readonly kind: RuntimeKind;
  /** throws BenchError('environment') naming every missing piece and how to get it */
  check(plan: DeployPlan): Promise<void>;
  up(plan: DeployPlan, options: UpOptions): Promise<Deployment>;
  /**
   * The runs of this runtime on this machine, by what it recorded (state files, labels), never by
   * process name. A runtime with nothing to ask (no Docker daemon) lists none.
   */
  list(opts?: { warn?: (line: string) => void }): Promise<RunListing[]>;
  /**
   * Stops and removes runs this runtime left (by their recorded pids or labels): one, only the
   * dead ones, or all. Returns the ids of the runs it took down ([] when it knew none of them).
   */
  reap(opts?: ReapOptions): Promise<string[]>;
}
