// Names and labels of every Docker resource bench creates. The labels are the Docker runtime's
// only record of a run: a crashed harness leaves no state file behind for containers, and
// reapDocker() finds what it left by these labels alone. Pure.

/** Every resource bench creates carries `bench.managed=true`. */
export const LABEL_MANAGED = 'bench.managed';
/** The run id. */
export const LABEL_RUN = 'bench.run';
/** The service a container (or its volume) belongs to. */
export const LABEL_SERVICE = 'bench.service';
/** The service's kind (postgres, app, ...), for people reading `docker ps`. */
export const LABEL_KIND = 'bench.kind';
/** `<pid>:<start time>` of the harness that created the resource: a dead harness means a leftover. */
export const LABEL_HARNESS = 'bench.harness';
/** The run's data directory on this machine (removed with the run). */
export const LABEL_DATA_DIR = 'bench.data-dir';
/** What a container is for: `service`, `net` (its network holder), `step:<name>` (initdb...). */
export const LABEL_ROLE = 'bench.role';

export type Labels = Record<string, string>;

/** The labels of a run's network and of everything else of the run. */
export function runLabels(runId: string, extra: Labels = {}): Labels {
  return { [LABEL_MANAGED]: 'true', [LABEL_RUN]: runId, ...extra };
}

/** The labels of one service's container and volume. */
export function serviceLabels(runId: string, service: string, kind: string, extra: Labels = {}): Labels {
  return runLabels(runId, { [LABEL_SERVICE]: service, [LABEL_KIND]: kind, ...extra });
}

/** The Docker API `filters` that select bench's resources (of one run when given). */
export function labelFilters(runId?: string): { label: string[] } {
  return { label: [`${LABEL_MANAGED}=true`, ...(runId ? [`${LABEL_RUN}=${runId}`] : [])] };
}

/**
 * A name Docker accepts for containers, networks and volumes ([a-zA-Z0-9][a-zA-Z0-9_.-]*), and a
 * DNS label for network aliases: lower case, anything else becomes '-'.
 */
export function dockerSafe(name: string): string {
  const s = name.toLowerCase().replace(/[^a-z0-9_.-]/g, '-').replace(/^[^a-z0-9]+/, '');
  return s === '' ? 'x' : s;
}

/** The run's bridge network: `bench-<runId>`. */
export const networkName = (runId: string) => `bench-${dockerSafe(runId)}`;
/** A service's container: `bench-<runId>-<service>`. */
export const containerName = (runId: string, service: string) => `bench-${dockerSafe(runId)}-${dockerSafe(service)}`;
/** A service's data volume (its directory): `bench-<runId>-<service>`. */
export const volumeName = (runId: string, service: string) => `bench-${dockerSafe(runId)}-${dockerSafe(service)}`;
/** The container that holds a service's network namespace: `bench-<runId>-<service>-net`. */
export const netContainerName = (runId: string, service: string) => `${containerName(runId, service)}-net`;
/** A one-off step's container (initdb, pg_basebackup): `bench-<runId>-<service>-<step>`. */
export const stepContainerName = (runId: string, service: string, step: string) => `${containerName(runId, service)}-${dockerSafe(step)}`;

/**
 * The name a service is reached by inside the run's network. Service names are unique in a
 * topology and already DNS-like (pg-primary, app-2); '_' is not valid in a host name, so DNS
 * aliases replace it too.
 */
export const networkAlias = (service: string) => dockerSafe(service).replace(/[_.]/g, '-');

/** Parses a `bench.harness` label; null when absent or malformed. */
export function parseHarnessLabel(value: string | undefined): { pid: number; startTime: number | null } | null {
  const m = /^(\d+):(\d+|)$/.exec(value ?? '');
  if (!m) return null;
  return { pid: Number(m[1]), startTime: m[2] === '' ? null : Number(m[2]) };
}

/** Formats the `bench.harness` label. */
export const harnessLabel = (pid: number, startTime: number | null) => `${pid}:${startTime ?? ''}`;
