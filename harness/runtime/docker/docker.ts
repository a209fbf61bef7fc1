// The Docker runtime: the same deploy plan as the native runtime, as containers through dockerode.
// One bridge network per run (`bench-<runId>`); per service a container running the server
// (`bench-<runId>-<service>`) inside the network namespace of a holder container
// (`bench-<runId>-<service>-net`) that owns its alias and published ports, so a killed server
// leaves its address refusing connections, as a dead process on a live host does. Everything is
// labelled `bench.managed=true`, `bench.run=<runId>`, `bench.service=<name>` so that reapDocker()
// finds what a crashed run left. Inside the network a service is reached by its name (the network
// view of the plan); from this machine at 127.0.0.1:<published port> (the host view, which is the
// Deployment's `plan`). This file is the Runtime (create, check, up, list, reap); the rest by
// concern: preflight.ts (checks before anything starts), deployment.ts (one run), network.ts (the
// run's network and the holders), service.ts (a service's container and handle), settings.ts;
// views.ts, kinds.ts, images.ts and reap.ts as before. See docs/DOCKER.md.
import { fileURLToPath } from 'node:url';
import { type DeployPlan, type Endpoint } from '../../topology/plan.ts';
import type { ServiceKind } from '../../topology/types.ts';
import { recipes as defaultRecipes } from '../../../targets/services/index.ts';
import type { ServiceRecipe } from '../../../targets/services/types.ts';
import { startOrTearDown } from '../native.ts';
import { stateRoot } from '../state.ts';
import type { Deployment, RunListing, Runtime } from '../types.ts';
import { connectDocker, dockerSocketPath, pingDaemon } from './client.ts';
import { imageFor, LOCAL_BASE_IMAGE, OFFICIAL_IMAGES, type ImageMode, type ImageOverrides } from './images.ts';
import { type NetworkInfo } from './kinds.ts';
import { listDockerRuns, reapDocker, type DockerRunInfo } from './reap.ts';
import type { PublishedPorts } from './views.ts';
import { type Settings } from './settings.ts';
import { resolveBinaries, checkDocker } from './preflight.ts';
import { DockerDeployment } from './deployment.ts';
import { freePort } from './network.ts';

export { reapDocker, listDockerRuns, type DockerReapResult, type DockerRunInfo } from './reap.ts';
export type { ImageMode } from './images.ts';

export interface DockerRuntimeOptions {
  /** official images (pulled, the default) or local ones built from this machine's binaries */
  images?: ImageMode;
  /** the daemon's socket; default DOCKER_HOST (unix://) or /var/run/docker.sock */
  socketPath?: string;
  /** the checkout (the app's sources); default this one */
  repoRoot?: string;
  /** where slot reservations live (released at down); default stateRoot() (BENCH_STATE_DIR, else per user) */
  stateRoot?: string;
  /** `docker stop` grace before SIGKILL; default 5 s */
  graceMs?: number;
  /** outer bound on one service's readiness; default 180 s */
  readyTimeoutMs?: number;
  /** services of one wave started at once; default 4 */
  parallelStarts?: number;
  /** the recipes by kind; default targets/services/index.ts */
  recipes?: ReadonlyMap<ServiceKind, ServiceRecipe>;
  /** PATH (local mode finds the host's binaries on it) and DOCKER_HOST; default process.env */
  env?: NodeJS.ProcessEnv;
  /** official images replaced by kind (a registry mirror, another tag) */
  officialImages?: ImageOverrides;
  /** picks the host port published for each container port; default a free one from the kernel */
  pickPort?: () => Promise<number>;
  /** also start Grafana (official image) with bench's datasource and dashboards provisioned */
  grafana?: boolean;
}

/** The Docker runtime as created: a Runtime plus the settings it runs with. */
export interface DockerRuntime extends Runtime {
  readonly kind: 'docker';
  readonly images: ImageMode;
  readonly socketPath: string;
}

const defaultRepoRoot = () => fileURLToPath(new URL('../../../', import.meta.url));

/** Creates the Docker runtime (`--runtime docker`, `--images official|local`). */
export function createDockerRuntime(opts: DockerRuntimeOptions = {}): DockerRuntime {
  const env = opts.env ?? process.env;
  const settings: Settings = {
    images: opts.images ?? 'official',
    socketPath: dockerSocketPath(opts.socketPath, env),
    repoRoot: opts.repoRoot ?? defaultRepoRoot(),
    stateRoot: opts.stateRoot ?? stateRoot(env),
    graceMs: opts.graceMs ?? 5_000,
    readyTimeoutMs: opts.readyTimeoutMs ?? 180_000,
    parallelStarts: Math.max(1, opts.parallelStarts ?? 4),
    recipes: opts.recipes ?? defaultRecipes,
    path: env.PATH,
    officialImages: opts.officialImages ?? {},
    pickPort: opts.pickPort ?? freePort,
    grafana: opts.grafana ?? false,
  };
  return {
    kind: 'docker',
    images: settings.images,
    socketPath: settings.socketPath,
    async check(plan) {
      const docker = connectDocker(settings.socketPath);
      await checkDocker(docker, plan, settings);
    },
    async up(plan, options) {
      const docker = connectDocker(settings.socketPath);
      const info = await pingDaemon(docker, settings.socketPath);
      const bins = resolveBinaries(plan, settings);
      return startOrTearDown(new DockerDeployment(docker, plan, options, settings, bins, info.os), options.progress);
    },
    async list() {
      // no daemon: nothing of this machine's runs can be in it
      if (!(await dockerAnswers(settings.socketPath, env))) return [];
      return (await listDockerRuns(connectDocker(settings.socketPath))).map(dockerListing);
    },
    async reap(opts = {}) {
      return (await reapDocker({ runId: opts.runId, onlyDead: opts.onlyDead, warn: opts.warn, socketPath: settings.socketPath, stateRoot: settings.stateRoot })).runs;
    },
  };
}

/** A Docker run as `bench status` lists it: its containers by their labels. */
function dockerListing(run: DockerRunInfo): RunListing {
  return {
    runId: run.runId,
    runtime: 'docker',
    runDir: null,
    harnessAlive: run.harnessAlive,
    kept: run.kept,
    units: run.containers.map((c) => `${c.state.padEnd(8)} ${c.name}`),
    detail: run,
  };
}

/** True when a Docker daemon answers on the socket (`--runtime auto` picks Docker then). */
export async function dockerAnswers(socketPath?: string, env: NodeJS.ProcessEnv = process.env): Promise<boolean> {
  try {
    await connectDocker(dockerSocketPath(socketPath, env)).ping();
    return true;
  } catch {
    return false;
  }
}

/** True for a deployment of the Docker runtime; gives its network view and Docker handles. */
export function isDockerDeployment(
  d: Deployment,
): d is Deployment & { readonly networkPlan: DeployPlan; readonly network: NetworkInfo; readonly grafanaUrl: string | null; networkAddress(name: string): Endpoint } {
  return d instanceof DockerDeployment;
}

/** The image a kind runs from in a mode (re-exported for `bench doctor`). */
export { imageFor, OFFICIAL_IMAGES, LOCAL_BASE_IMAGE };
export type { PublishedPorts };
