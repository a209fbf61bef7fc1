// Finds and removes what the Docker runtime left: every container, network and volume labelled
// `bench.managed=true` (of one run when asked), and the run's data directory. Labels are the only
// record it needs, so it works after a harness that was SIGKILLed mid-run (`bench down --all`).
import { existsSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import type Docker from 'dockerode';
import { isSameProcess } from '../process.ts';
import { removeRunDir, stateRoot } from '../state.ts';
import { connectDocker, daemonError, dockerSocketPath, isUnreachable, statusOf } from './client.ts';
import { LABEL_DATA_DIR, LABEL_HARNESS, LABEL_MANAGED, LABEL_ROLE, LABEL_RUN, LABEL_SERVICE, labelFilters, parseHarnessLabel } from './labels.ts';
import { LOCAL_BASE_IMAGE, OFFICIAL_IMAGES } from './images.ts';

/** A run as Docker's labels describe it. */
export interface DockerRunInfo {
  runId: string;
  /** its service containers (one-off steps included), with their Docker state */
  containers: { name: string; service: string; state: string }[];
  networks: string[];
  volumes: string[];
  dataDir: string | null;
  /** the pid of the harness that created it, when the labels say */
  harnessPid: number | null;
  harnessAlive: boolean;
  /** left up on purpose (`bench up`): detach() marked its data directory */
  kept: boolean;
}

/** What a reap removed; it prints as the run ids. */
export class DockerReapResult {
  runs: string[] = [];
  containers: string[] = [];
  networks: string[] = [];
  volumes: string[] = [];
  dirs: string[] = [];
  /** set when there was no daemon to ask: nothing could be left in it by this machine's runs */
  skipped: string | null = null;

  toString(): string {
    return this.runs.join(', ');
  }
}

export interface DockerReapOptions {
  /** only this run; default every run bench created */
  runId?: string;
  /** only runs whose harness is gone and that were not left up on purpose */
  onlyDead?: boolean;
  /** the daemon's socket; default DOCKER_HOST (unix://) or /var/run/docker.sock */
  socketPath?: string;
  /** a client to use instead of connecting */
  docker?: Docker;
  /** the state root the runs' data directories live under; default stateRoot() */
  stateRoot?: string;
  /** where a warning goes (a labelled directory that is not the harness's); default stderr */
  warn?: (line: string) => void;
}

const nameOf = (c: Docker.ContainerInfo) => (c.Names[0] ?? c.Id).replace(/^\//, '');

/** Every run that has a labelled container, network or volume. */
export async function listDockerRuns(docker: Docker, runId?: string): Promise<DockerRunInfo[]> {
  const filters = labelFilters(runId);
  const [containers, networks, volumes] = await Promise.all([
    docker.listContainers({ all: true, filters }),
    docker.listNetworks({ filters }),
    docker.listVolumes({ filters }),
  ]);
  const runs = new Map<string, DockerRunInfo>();
  const runOf = (labels: Record<string, string> | undefined | null): DockerRunInfo | null => {
    const id = labels?.[LABEL_RUN];
    if (!id) return null;
    let r = runs.get(id);
    if (!r) {
      r = { runId: id, containers: [], networks: [], volumes: [], dataDir: null, harnessPid: null, harnessAlive: false, kept: false };
      runs.set(id, r);
    }
    const harness = parseHarnessLabel(labels?.[LABEL_HARNESS]);
    if (harness && r.harnessPid === null) {
      r.harnessPid = harness.pid;
      r.harnessAlive = isSameProcess(harness.pid, harness.startTime);
    }
    r.dataDir ??= labels?.[LABEL_DATA_DIR] ?? null;
    return r;
  };
  for (const c of containers) runOf(c.Labels)?.containers.push({ name: nameOf(c), service: c.Labels?.[LABEL_SERVICE] ?? '', state: c.State });
  for (const n of networks) runOf(n.Labels)?.networks.push(n.Name);
  for (const v of volumes.Volumes ?? []) runOf(v.Labels)?.volumes.push(v.Name);
  for (const r of runs.values()) r.kept = r.dataDir !== null && existsSync(`${r.dataDir}/.kept`);
  return [...runs.values()];
}

/**
 * Removes a run's data directory. Files a container's user wrote (PostgreSQL's, owned by its uid)
 * cannot be removed by a harness that is not root: those are removed by a one-off container as
 * root (emptyDirAsRoot), then the empty directory here.
 */
export async function removeDataDir(docker: Docker, dir: string): Promise<void> {
  try {
    await rm(dir, { recursive: true, force: true });
    return;
  } catch (e) {
    if (!['EACCES', 'EPERM'].includes((e as NodeJS.ErrnoException).code ?? '')) throw e;
  }
  await emptyDirAsRoot(docker, dir);
  await rm(dir, { recursive: true, force: true });
}

/** Deletes everything inside `dir` from a one-off container running as root (no network). */
export async function emptyDirAsRoot(docker: Docker, dir: string): Promise<void> {
  if (!existsSync(dir)) return;
  // the offline base image runs the host's find; the official postgres image has its own
  const local = await docker.getImage(LOCAL_BASE_IMAGE).inspect().then(() => true, () => false);
  const container = await docker.createContainer({
    Image: local ? LOCAL_BASE_IMAGE : OFFICIAL_IMAGES.postgres,
    Entrypoint: ['find'],
    Cmd: ['/x', '-mindepth', '1', '-delete'],
    User: '0:0',
    Labels: { [LABEL_MANAGED]: 'true', [LABEL_ROLE]: 'cleanup' },
    HostConfig: {
      Mounts: [
        ...(local ? [{ Type: 'bind' as const, Source: '/usr', Target: '/usr', ReadOnly: true }] : []),
        { Type: 'bind', Source: dir, Target: '/x' },
      ],
      NetworkMode: 'none',
    },
  });
  try {
    await container.start();
    const { StatusCode } = (await container.wait()) as { StatusCode: number };
    if (StatusCode !== 0) throw new Error(`find -delete in ${dir} exited with ${StatusCode}`);
  } finally {
    await container.remove({ force: true }).catch(() => {});
  }
}

const ignoreGone = (e: unknown) => {
  // already gone (404), or removal in progress (409): either way it is going
  if (statusOf(e) === 404 || statusOf(e) === 409) return;
  throw e;
};

/** Removes one run's containers, then its networks and volumes (they are busy until then). */
export async function reapDockerRun(docker: Docker, runId: string, result = new DockerReapResult()): Promise<DockerReapResult> {
  const filters = labelFilters(runId);
  const containers = await docker.listContainers({ all: true, filters });
  // processes before the network holders whose namespaces they share
  const isHolder = (c: Docker.ContainerInfo) => c.Labels?.[LABEL_ROLE] === 'net';
  for (const batch of [containers.filter((c) => !isHolder(c)), containers.filter(isHolder)]) {
    await Promise.all(
      batch.map(async (c) => {
        await docker.getContainer(c.Id).remove({ force: true, v: true }).catch(ignoreGone);
        result.containers.push(nameOf(c));
      }),
    );
  }
  for (const n of await docker.listNetworks({ filters })) {
    await docker.getNetwork(n.Id).remove().catch(ignoreGone);
    result.networks.push(n.Name);
  }
  for (const v of (await docker.listVolumes({ filters })).Volumes ?? []) {
    await docker.getVolume(v.Name).remove().catch(ignoreGone);
    result.volumes.push(v.Name);
  }
  if (!result.runs.includes(runId)) result.runs.push(runId);
  return result;
}

/**
 * Removes everything bench created in Docker (`bench down --all`), or one run's resources, or
 * (onlyDead) what crashed harnesses left. A daemon that does not answer has nothing to remove:
 * the result says so in `skipped` instead of failing; permission denied is an error.
 */
export async function reapDocker(opts: DockerReapOptions = {}): Promise<DockerReapResult> {
  const socketPath = dockerSocketPath(opts.socketPath);
  const docker = opts.docker ?? connectDocker(socketPath);
  const result = new DockerReapResult();
  let runs: DockerRunInfo[];
  try {
    runs = await listDockerRuns(docker, opts.runId);
  } catch (e) {
    if (isUnreachable(e)) {
      result.skipped = daemonError(e, socketPath).message;
      return result;
    }
    throw daemonError(e, socketPath);
  }
  for (const r of runs) {
    if (opts.onlyDead && (r.harnessAlive || r.kept)) continue;
    await reapDockerRun(docker, r.runId, result);
    // A label is anyone's to write (whoever may talk to the daemon): the directory it names is
    // deleted only when it is this state root's directory of that run, with the harness's marker.
    if (r.dataDir !== null && (await removeRunDir(r.dataDir, r.runId, { root: opts.stateRoot ?? stateRoot(), warn: opts.warn }, (d) => removeDataDir(docker, d)))) {
      result.dirs.push(r.dataDir);
    }
  }
  return result;
}
