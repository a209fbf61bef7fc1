// The Docker runtime: the same deploy plan as the native runtime, as containers through dockerode.
// One bridge network per run (`bench-<runId>`); per service a container running the server
// (`bench-<runId>-<service>`) inside the network namespace of a holder container
// (`bench-<runId>-<service>-net`) that owns its alias and published ports, so a killed server
// leaves its address refusing connections, as a dead process on a live host does. Everything is
// labelled `bench.managed=true`, `bench.run=<runId>`, `bench.service=<name>` so that reapDocker()
// finds what a crashed run left. Inside the network a service is reached by its name (the network
// view of the plan); from this machine at 127.0.0.1:<published port> (the host view, which is the
// Deployment's `plan`). See views.ts, kinds.ts and images.ts, and docs/DOCKER.md.
import { createWriteStream, readdirSync, realpathSync, type WriteStream } from 'node:fs';
import { appendFile, copyFile, mkdir, readdir, stat, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { Writable } from 'node:stream';
import { join, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import type Docker from 'dockerode';
import { BenchError } from '../../errors.ts';
import { endpointUrl, type DeployPlan, type Endpoint, type PlannedService } from '../../topology/plan.ts';
import type { ServiceKind } from '../../topology/types.ts';
import { recipes as defaultRecipes } from '../../../targets/services/index.ts';
import type { NativeContext, Requirement, ServiceRecipe } from '../../../targets/services/types.ts';
import { resolveBinary } from '../binaries.ts';
import { inParallel, logTail, startInWaves, startOrTearDown } from '../native.ts';
import { startTimeOf } from '../process.ts';
import { createRunDir, PG_PASSWORD_FILE, releaseSlot, removeRunDir, runDataDir, stateRoot } from '../state.ts';
import type { Deployment, ProcessSignal, Progress, RunListing, Runtime, StartedService, UpOptions } from '../types.ts';
import { waitFor } from '../wait.ts';
import { readServiceFile } from '../service-files.ts';
import { connectDocker, daemonError, dockerSocketPath, isPortConflict, isUnreachable, messageOf, pingDaemon, portConflict, statusOf } from './client.ts';
import {
  APP_BASE_IMAGE,
  ensureAppImage,
  ensureLocalBase,
  ensureOfficialImages,
  hasImage,
  hostRootLayout,
  imageFor,
  LOCAL_BASE_IMAGE,
  OFFICIAL_BINARIES,
  OFFICIAL_IMAGES,
  unpullable,
  type ImageKind,
  type ImageMode,
  type ImageOverrides,
} from './images.ts';
import { containerUser, dockerKinds, IMAGE_KINDS, launchToProcess, nativeContext, ownDir, type ContainerProcess, type HostCheckContext, type NetworkInfo, type SpecContext } from './kinds.ts';
import {
  containerName,
  harnessLabel,
  LABEL_DATA_DIR,
  LABEL_HARNESS,
  LABEL_ROLE,
  labelFilters,
  netContainerName,
  networkAlias,
  networkName,
  runLabels,
  serviceLabels,
  stepContainerName,
  volumeName,
} from './labels.ts';
import { listDockerRuns, reapDocker, reapDockerRun, removeDataDir, type DockerRunInfo } from './reap.ts';
import { containerPorts, hostPlan, networkPlan, PUBLISH_IP, publishedPort, type PublishedPorts } from './views.ts';
import { PG_CREDENTIALS, redactSecrets } from '../../../targets/app/config.ts';

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
const CONFIG_FILE = /\.(conf|cfg|json|ya?ml|toml|ini|lua|vcl)$/;
const indent = (text: string) => text.split('\n').map((l) => `    ${l}`).join('\n');
const secs = (ms: number) => (ms / 1000).toFixed(2);

interface Settings {
  images: ImageMode;
  socketPath: string;
  repoRoot: string;
  stateRoot: string;
  graceMs: number;
  readyTimeoutMs: number;
  parallelStarts: number;
  recipes: ReadonlyMap<ServiceKind, ServiceRecipe>;
  path: string | undefined;
  officialImages: ImageOverrides;
  pickPort: () => Promise<number>;
  grafana: boolean;
}


/**
 * The file a container's output streams into. A failure to write it (the disk is full, the run
 * directory went away) or of the stream from Docker is reported once to `onError` as a
 * BenchError; both streams stop. Without the handlers it would be an uncaught exception that
 * kills the harness without teardown.
 */
export function logSink(file: string, from: NodeJS.ReadableStream, onError: (e: BenchError) => void): WriteStream {
  const to = createWriteStream(file, { flags: 'a' });
  let reported = false;
  const fail = (what: string) => (e: Error) => {
    (from as NodeJS.ReadableStream & { destroy?: () => void }).destroy?.();
    to.destroy();
    if (reported) return;
    reported = true;
    onError(new BenchError('environment', `${what} ${file} failed: ${e.message}`, 'check the disk and the run directory; run: bench down', { cause: e }));
  };
  to.on('error', fail('writing the log'));
  from.on('error', fail('the container output for'));
  from.on('end', () => to.end());
  return to;
}

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

/** The kinds of a plan, checked against what the Docker runtime can run. */
function kindsOf(plan: DeployPlan): ImageKind[] {
  const kinds = [...new Set(plan.services.map((s) => s.kind))];
  const unknown = kinds.filter((k) => !IMAGE_KINDS.has(k));
  if (unknown.length > 0) {
    throw new BenchError('usage', `the Docker runtime cannot run ${unknown.join(', ')} yet`, 'use --runtime native for this phase');
  }
  return kinds as ImageKind[];
}

/**
 * Binary name -> path for the plan's recipes: on this machine in local mode (they run from the
 * host's /usr), at their place in the official images otherwise.
 */
function resolveBinaries(plan: DeployPlan, s: Settings): Map<string, string> {
  const out = new Map<string, string>();
  const missing = new Map<string, Requirement>();
  for (const kind of kindsOf(plan)) {
    const recipe = s.recipes.get(kind as ServiceKind);
    if (!recipe) throw new BenchError('internal', `no recipe for kind ${kind}`, 'list one in targets/services/index.ts');
    for (const req of recipe.requires) {
      if (s.images === 'official') {
        const p = OFFICIAL_BINARIES[req.binary];
        if (!p) throw new BenchError('internal', `no path known for ${req.binary} in the official images`, 'add it to OFFICIAL_BINARIES in harness/runtime/docker/images.ts');
        out.set(req.binary, p);
        continue;
      }
      const p = resolveBinary(req, s.repoRoot, s.path);
      if (p) out.set(req.binary, p);
      else missing.set(req.binary, req);
    }
  }
  if (missing.size > 0) {
    const list = [...missing.values()].map((r) => `${r.binary} (${r.debianPackage ? `Debian package ${r.debianPackage}` : 'not in Debian: bench setup builds it'})`);
    throw new BenchError('environment', `--images local runs this machine's binaries, and these are missing: ${list.join(', ')}`, 'run: bench setup, or use --images official');
  }
  return out;
}

/** Everything up() needs, checked before anything starts; one line per problem kind. */
async function checkDocker(docker: Docker, plan: DeployPlan, s: Settings): Promise<void> {
  const info = await pingDaemon(docker, s.socketPath);
  const kinds = kindsOf(plan);
  resolveBinaries(plan, s);
  grafanaProblem(plan, s);
  if (s.images === 'local') {
    if (info.os !== 'linux') {
      throw new BenchError('environment', `--images local runs this machine's binaries in containers, and the daemon runs ${info.os} containers`, 'use --images official');
    }
  } else {
    const refs = [...kinds.filter((k) => k !== 'app'), 'pause' as const].map((k) => imageFor(k, 'official', s.officialImages));
    if (s.grafana) refs.push(imageFor('grafana', 'official', s.officialImages));
    // the app's image is built here, from the Node image
    if (kinds.includes('app') && !(await hasImage(docker, imageFor('app', 'official', s.officialImages)))) refs.push(APP_BASE_IMAGE);
    for (const ref of refs) {
      if (await hasImage(docker, ref)) continue;
      // asks the registry for the manifest without pulling: an unreachable registry fails here
      try {
        await docker.getImage(ref).distribution();
      } catch (e) {
        throw unpullable(ref, messageOf(e));
      }
    }
  }
  let leftovers: Docker.ContainerInfo[];
  try {
    leftovers = await docker.listContainers({ all: true, filters: labelFilters(plan.runId) });
  } catch (e) {
    throw daemonError(e, s.socketPath);
  }
  if (leftovers.length > 0) {
    throw new BenchError('environment', `run ${plan.runId} already has ${leftovers.length} containers`, 'remove them with: bench down --all');
  }
}

/** --grafana needs the official image (this machine has no Grafana to run) and a Prometheus to show. */
function grafanaProblem(plan: DeployPlan, s: Settings): void {
  if (!s.grafana) return;
  if (s.images === 'local') throw new BenchError('usage', '--grafana runs the official Grafana image, and --images local pulls nothing', 'drop --grafana, or use --images official');
  if (!plan.prometheus) throw new BenchError('usage', '--grafana shows the run\'s Prometheus, and this run has none', 'drop --grafana, or run with the run\'s own Prometheus');
}

/** Where Grafana finds bench's provisioning files and dashboards inside its container. */
const GRAFANA_DASHBOARDS = '/var/lib/grafana/dashboards/bench';
const GRAFANA_PORT = 3000;

/**
 * The checkout, and the real places of its top-level links that lead out of it (a git worktree
 * sharing the main checkout's `node_modules` and `.tools`): the app runs from a bundle built in
 * .tools and requires its native modules from node_modules, and a container given only the
 * checkout would find dangling links.
 */
export function checkoutMounts(repoRoot: string): string[] {
  const out = [repoRoot];
  const root = realpathSync(repoRoot);
  for (const e of readdirSync(repoRoot, { withFileTypes: true })) {
    if (!e.isSymbolicLink()) continue;
    let target: string;
    try {
      target = realpathSync(join(repoRoot, e.name));
    } catch {
      continue; // dangling here too: nothing to mount
    }
    if (target !== root && !target.startsWith(root + sep) && !out.includes(target)) out.push(target);
  }
  return out;
}

/** A free TCP port on 127.0.0.1, picked by the kernel (then released for Docker to bind). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, PUBLISH_IP, () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => resolve(port));
    });
  });
}

class DockerDeployment implements Deployment {
  readonly runtime = 'docker' as const;
  readonly runDir: string;
  /** every service's directory lives here (removed at down); the app's SQLite file too */
  readonly dataDir: string;
  readonly logsDir: string;
  readonly services = new Map<string, DockerService>();
  /** the host view: what the harness dials (set once the ports are picked) */
  plan: DeployPlan;
  /** the network view: what the containers dial */
  networkPlan!: DeployPlan;
  network!: NetworkInfo;
  readonly published = new Map<string, Map<number, number>>();
  private readonly started: DockerService[] = [];
  private downing: Promise<void> | null = null;
  readonly hostMounts: string[];

  constructor(
    readonly docker: Docker,
    /** the plan as the caller made it (native addresses) */
    readonly sourcePlan: DeployPlan,
    readonly options: UpOptions,
    readonly settings: Settings,
    readonly bins: Map<string, string>,
    readonly daemonOs: string,
  ) {
    this.plan = sourcePlan;
    this.runDir = options.runDir;
    // under the state directory, never under --out: a reap deletes it, and only where the harness
    // made it and left its marker
    this.dataDir = runDataDir(sourcePlan.runId, settings.stateRoot);
    this.logsDir = join(options.runDir, 'logs');
    this.hostMounts = ['/usr', '/etc', ...hostRootLayout().dirs, ...checkoutMounts(settings.repoRoot)];
  }

  /** Docker applies every container's CPU and memory limits itself: always enforced. */
  sizesEnforced(): Record<string, boolean> {
    return Object.fromEntries([...new Set(this.sourcePlan.services.map((s) => s.host))].map((h) => [h, true]));
  }

  get progress(): Progress {
    return this.options.progress;
  }

  get runId(): string {
    return this.sourcePlan.runId;
  }

  service(name: string): StartedService {
    const s = this.services.get(name);
    if (!s) throw new BenchError('internal', `service ${name} is not running in run ${this.runId}`);
    return s;
  }

  /** Where a service is reached inside the run's network (what a Toxiproxy upstream must name). */
  networkAddress(name: string): Endpoint {
    const s = this.networkPlan.services.find((x) => x.name === name);
    if (!s) throw new BenchError('internal', `no service ${name} in run ${this.runId}`);
    return s.address;
  }

  /** The labels of everything this run creates. */
  labels(extra: Record<string, string> = {}): Record<string, string> {
    return runLabels(this.runId, { [LABEL_HARNESS]: harnessLabel(process.pid, startTimeOf(process.pid)), [LABEL_DATA_DIR]: this.dataDir, ...extra });
  }

  async start(): Promise<void> {
    const { sourcePlan: plan, options } = this;
    const interrupted = () => new BenchError('interrupted', `interrupted while starting run ${plan.runId}`);
    if (options.signal?.aborted) throw interrupted();
    const t0 = performance.now();
    grafanaProblem(plan, this.settings);
    if (this.settings.images === 'local') {
      if (this.daemonOs !== 'linux') throw new BenchError('environment', `--images local needs a Linux daemon, this one runs ${this.daemonOs}`, 'use --images official');
      await ensureLocalBase(this.docker, this.progress);
    } else {
      const kinds = kindsOf(plan);
      const image = (k: ImageKind) => imageFor(k, 'official', this.settings.officialImages);
      await ensureOfficialImages(this.docker, [...kinds.filter((k) => k !== 'app'), 'pause' as const, ...(this.settings.grafana ? (['grafana'] as const) : [])].map(image), this.progress);
      if (kinds.includes('app')) await ensureAppImage(this.docker, this.settings.repoRoot, this.progress, image('app'));
    }
    if (options.signal?.aborted) throw interrupted();
    await mkdir(this.logsDir, { recursive: true });
    await createRunDir(plan.runId, this.settings.stateRoot);
    // the run's Postgres password for an operator of a kept run (bench up), readable by this user only
    await writeFile(join(this.dataDir, PG_PASSWORD_FILE), `${PG_CREDENTIALS.password}\n`, { mode: 0o600 });
    this.network = await this.createNetwork();

    for (const s of plan.services) {
      const ports = new Map<number, number>();
      for (const p of containerPorts(s)) ports.set(p, await this.settings.pickPort());
      this.published.set(s.name, ports);
    }
    this.networkPlan = networkPlan(plan, { gateway: this.network.gateway });
    this.plan = hostPlan(plan, this.published, { gateway: this.network.gateway });
    this.progress(`docker: network ${this.network.name} (${this.network.subnet}), ${this.settings.images} images, ready in ${secs(performance.now() - t0)} s`);

    // every service's network identity first, all at once: off the critical path of the waves
    const all = new Map(plan.services.map((s) => [s.name, new DockerService(this, s)]));
    this.started.push(...all.values());
    await inParallel([...all.values()], this.settings.parallelStarts, (svc) => svc.startNetHolder());
    const ready = await startInWaves(
      plan,
      this.settings.parallelStarts,
      options.signal,
      interrupted,
      async (name, signal) => {
        const svc = all.get(name)!;
        await svc.firstStart(signal);
        return svc;
      },
      (name, svc) => this.services.set(name, svc),
    );
    this.services.clear();
    for (const [name, svc] of ready) this.services.set(name, svc);
    if (this.settings.grafana) await this.startGrafana(options.signal);
  }

  /** Where Grafana answers (--grafana), once it does. */
  grafanaUrl: string | null = null;

  /**
   * Grafana beside the run (official image): bench's datasource pointed at the run's Prometheus
   * inside the network, the generated dashboards in a `bench` folder, anonymous viewers, published
   * on 127.0.0.1 like everything else. Not a service of the plan: no drill targets it.
   */
  private async startGrafana(signal?: AbortSignal): Promise<void> {
    const t0 = performance.now();
    const port = await this.settings.pickPort();
    const dashboards = join(this.settings.repoRoot, 'dashboards');
    const name = containerName(this.runId, 'grafana');
    let container: Docker.Container;
    try {
      container = await this.docker.createContainer({
        name,
        Hostname: 'grafana',
        Image: imageFor('grafana', 'official', this.settings.officialImages),
        Env: [
          `BENCH_PROMETHEUS_URL=${endpointUrl(this.networkPlan.prometheus!.address)}`,
          `BENCH_DASHBOARDS_DIR=${GRAFANA_DASHBOARDS}`,
          'GF_AUTH_ANONYMOUS_ENABLED=true',
          'GF_AUTH_ANONYMOUS_ORG_ROLE=Viewer',
          'GF_ANALYTICS_REPORTING_ENABLED=false',
          'GF_ANALYTICS_CHECK_FOR_UPDATES=false',
        ],
        Labels: serviceLabels(this.runId, 'grafana', 'grafana', { ...this.labels(), [LABEL_ROLE]: 'service' }),
        ExposedPorts: { [`${GRAFANA_PORT}/tcp`]: {} },
        HostConfig: {
          NetworkMode: this.network.name,
          PortBindings: { [`${GRAFANA_PORT}/tcp`]: [{ HostIp: PUBLISH_IP, HostPort: String(port) }] },
          Mounts: [
            { Type: 'bind', Source: join(dashboards, 'provisioning', 'datasources'), Target: '/etc/grafana/provisioning/datasources', ReadOnly: true },
            { Type: 'bind', Source: join(dashboards, 'provisioning', 'dashboards'), Target: '/etc/grafana/provisioning/dashboards', ReadOnly: true },
            { Type: 'bind', Source: join(dashboards, 'generated'), Target: GRAFANA_DASHBOARDS, ReadOnly: true },
          ],
          Memory: 512 * 1024 * 1024,
          RestartPolicy: { Name: 'no' },
        },
        NetworkingConfig: { EndpointsConfig: { [this.network.name]: { Aliases: ['grafana'] } } },
      });
      const from = (await container.attach({ stream: true, stdout: true, stderr: true })) as NodeJS.ReadableStream;
      const to = logSink(join(this.logsDir, 'grafana.log'), from, (e) => this.logFailed(e));
      this.docker.modem.demuxStream(from, to, to);
      this.extraStreams.push(from);
      await container.start();
    } catch (e) {
      if (isPortConflict(e)) throw portConflict('grafana', [port], e);
      throw this.dockerError(e, 'starting grafana');
    }
    const url = `http://${PUBLISH_IP}:${port}`;
    await waitFor.http(`${url}/api/health`, { status: 200, timeoutMs: 90_000, signal });
    this.grafanaUrl = url;
    this.progress(`grafana: ready in ${secs(performance.now() - t0)} s at ${url} (dashboards in folder bench)`);
  }

  /** log streams of containers that are not services (Grafana) */
  private readonly extraStreams: NodeJS.ReadableStream[] = [];

  /** A log stream failed: the run ends with teardown (onFatal), never with an uncaught exception. */
  logFailed(e: Error): void {
    this.progress(e.message);
    this.options.onFatal?.(e);
  }

  private async createNetwork(): Promise<NetworkInfo> {
    const name = networkName(this.runId);
    let net: Docker.Network;
    try {
      net = await this.docker.createNetwork({
        Name: name,
        Driver: 'bridge',
        CheckDuplicate: true,
        Labels: this.labels(),
        // a port published without an address binds loopback, not every interface
        Options: { 'com.docker.network.bridge.host_binding_ipv4': PUBLISH_IP },
      });
    } catch (e) {
      if (statusOf(e) === 409) throw new BenchError('environment', `network ${name} already exists`, 'a run with this id was left behind: bench down --all');
      throw this.dockerError(e, `creating network ${name}`);
    }
    const info = await net.inspect();
    const cfg = (info.IPAM?.Config ?? [])[0] as { Subnet?: string; Gateway?: string } | undefined;
    if (!cfg?.Subnet) throw new BenchError('internal', `network ${name} has no IPv4 subnet`);
    const gateway = cfg.Gateway ?? cfg.Subnet.replace(/\.\d+\/\d+$/, '.1');
    return { name, subnet: cfg.Subnet, gateway };
  }

  /** A Docker failure while doing `what`, as one line (the daemon's own problems get theirs). */
  dockerError(e: unknown, what: string): BenchError {
    if (e instanceof BenchError) return e;
    if (isUnreachable(e) || ['EACCES', 'EPERM'].includes((e as NodeJS.ErrnoException)?.code ?? '')) return daemonError(e, this.settings.socketPath);
    return new BenchError('environment', `${what} failed: ${messageOf(e)}`, 'see `docker info`; leftovers: bench down --all', { cause: e });
  }

  /** The context a kind's spec is made from. */
  specContext(service: PlannedService, dir: string, signal: AbortSignal): SpecContext {
    return {
      mode: this.settings.images,
      runId: this.runId,
      network: this.network,
      plan: this.networkPlan,
      service: this.networkPlan.services.find((s) => s.name === service.name)!,
      dir,
      repoRoot: this.settings.repoRoot,
      bin: (name) => {
        const p = this.bins.get(name);
        if (!p) throw new BenchError('internal', `${service.kind} recipe asked for ${name}, which it does not list in requires`);
        return p;
      },
      image: (kind) => imageFor(kind, this.settings.images, this.settings.officialImages),
      hostMounts: this.hostMounts,
      progress: this.progress,
      signal,
    };
  }

  /**
   * The create options of a service's process, or of a one-off step. A service joins the network
   * namespace of its holder (`net`); a step is on the run's network under no name.
   */
  createOptions(o: { name: string; service: PlannedService; dir: string; proc: ContainerProcess; role: string; net: { holder: string } | 'network' }): Docker.ContainerCreateOptions {
    const host = this.sourcePlan.hosts.find((h) => h.name === o.service.host)!;
    return {
      name: o.name,
      Image: o.proc.image,
      Entrypoint: [o.proc.command],
      Cmd: o.proc.args,
      Env: Object.entries(o.proc.env).map(([k, v]) => `${k}=${v}`),
      WorkingDir: o.proc.cwd,
      User: o.proc.user,
      Labels: serviceLabels(this.runId, o.service.name, o.service.kind, { ...this.labels(), [LABEL_ROLE]: o.role }),
      StopSignal: o.proc.stopSignal,
      StopTimeout: Math.ceil(this.settings.graceMs / 1000),
      HostConfig: {
        NetworkMode: o.net === 'network' ? this.network.name : `container:${o.net.holder}`,
        Mounts: [
          ...o.proc.readOnly.map((p) => ({ Type: 'bind' as const, Source: p, Target: p, ReadOnly: true })),
          // NoCopy: Docker would otherwise copy the (empty, root-owned) mount point of the image
          // into the fresh volume, ownership included, taking the directory from its user
          { Type: 'volume' as const, Source: volumeName(this.runId, o.service.name), Target: o.dir, VolumeOptions: { NoCopy: true } as Docker.MountSettings['VolumeOptions'] },
        ],
        // a host's size, per container (docs/DOCKER.md: several services of one host each get it)
        NanoCpus: Math.round(host.size.cpus * 1e9),
        Memory: host.size.memoryMb * 1024 * 1024,
        RestartPolicy: { Name: 'no' },
      },
    };
  }

  /**
   * The create options of a service's network holder: a container that only sleeps, owns the
   * service's network namespace, its alias on the run's network and its published ports. The
   * service's own container joins that namespace, so a killed service leaves its address in place
   * and a client's next connect is refused at once, as when a process dies on a live host (a
   * container's own namespace would vanish with it, and in-flight connects would hang).
   */
  netHolderOptions(service: PlannedService, ports: ReadonlyMap<number, number>): Docker.ContainerCreateOptions {
    const exposed: Record<string, object> = {};
    const bindings: Record<string, { HostIp: string; HostPort: string }[]> = {};
    for (const [inside, outside] of ports) {
      exposed[`${inside}/tcp`] = {};
      bindings[`${inside}/tcp`] = [{ HostIp: PUBLISH_IP, HostPort: String(outside) }];
    }
    const alias = networkAlias(service.name);
    const local = this.settings.images === 'local';
    return {
      name: netContainerName(this.runId, service.name),
      Hostname: alias,
      Image: imageFor('pause', this.settings.images, this.settings.officialImages),
      // the official pause image's entrypoint sleeps; the base image runs the host's sleep
      ...(local ? { Entrypoint: ['/usr/bin/sleep'], Cmd: ['infinity'] } : {}),
      Labels: serviceLabels(this.runId, service.name, service.kind, { ...this.labels(), [LABEL_ROLE]: 'net' }),
      ExposedPorts: exposed,
      HostConfig: {
        NetworkMode: this.network.name,
        PortBindings: bindings,
        Mounts: local ? this.hostMounts.map((p) => ({ Type: 'bind' as const, Source: p, Target: p, ReadOnly: true })) : [],
        Memory: 32 * 1024 * 1024,
        RestartPolicy: { Name: 'no' },
      },
      NetworkingConfig: { EndpointsConfig: { [this.network.name]: { Aliases: [alias] } } },
    };
  }

  down(): Promise<void> {
    this.downing ??= this.teardown();
    return this.downing;
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.down();
  }

  /** Lets this process exit with the containers running (`bench up`); reapDocker finds them. */
  async detach(): Promise<void> {
    for (const s of this.started) s.release();
    for (const st of this.extraStreams) (st as NodeJS.ReadableStream & { destroy?: () => void }).destroy?.();
    // reapDocker({ onlyDead: true }) leaves a run alone whose data directory says it was kept
    await writeFile(join(this.dataDir, '.kept'), `${new Date().toISOString()}\n`).catch(() => {});
  }

  private async teardown(): Promise<void> {
    for (const s of this.started) s.release();
    for (const st of this.extraStreams) (st as NodeJS.ReadableStream & { destroy?: () => void }).destroy?.();
    this.services.clear();
    const errors: unknown[] = [];
    try {
      await reapDockerRun(this.docker, this.runId);
    } catch (e) {
      errors.push(this.dockerError(e, `removing the containers of run ${this.runId}`));
    }
    try {
      await removeRunDir(this.dataDir, this.runId, { root: this.settings.stateRoot, warn: this.progress }, (d) => removeDataDir(this.docker, d));
      await releaseSlot(this.sourcePlan.slot, { root: this.settings.stateRoot });
    } catch (e) {
      errors.push(e);
    }
    if (errors.length > 0) {
      const first = errors[0] as Error;
      throw new BenchError('environment', `teardown of run ${this.runId} was incomplete: ${first.message}`, 'run: bench down --all', { cause: first });
    }
  }
}

type State = 'none' | 'running' | 'paused' | 'exited';

class DockerService implements StartedService {
  readonly name: string;
  readonly logFile: string;
  /** not `dir`: StartedService.dir means a native data directory that pg_ctl may signal through */
  private readonly serviceDir: string;
  private readonly recipe: ServiceRecipe;
  private container: Docker.Container | null = null;
  /** holds the network namespace, alias and published ports (see netHolderOptions) */
  private net: Docker.Container | null = null;
  private state: State = 'none';
  /** counts starts: an exit watcher of an earlier start must not mark a later one exited */
  private generation = 0;
  private exitWatch: Promise<number | null> = Promise.resolve(null);
  private watches = new AbortController();
  private logStreams: { from: NodeJS.ReadableStream; to: WriteStream }[] = [];

  constructor(
    private readonly dep: DockerDeployment,
    /** the service as the caller's plan has it */
    private readonly source: PlannedService,
  ) {
    this.name = source.name;
    this.serviceDir = join(dep.dataDir, source.name);
    this.logFile = join(dep.logsDir, `${source.name}.log`);
    this.recipe = dep.settings.recipes.get(source.kind)!;
  }

  /** The service in the host view. */
  get spec(): PlannedService {
    return this.dep.plan.services.find((s) => s.name === this.name)!;
  }

  get address(): Endpoint {
    return this.spec.address;
  }

  get id(): string {
    return this.container?.id ?? '';
  }

  /** the service's directory on this machine: the volume binds it into the container at the same path */
  get dataDir(): string {
    return this.serviceDir;
  }

  readFile(rel: string): Promise<string | null> {
    return readServiceFile(this.serviceDir, rel);
  }

  private get ports(): ReadonlyMap<number, number> {
    return this.dep.published.get(this.name)!;
  }

  /** The recipe's context in the host view, for readiness checks and afterStart. */
  private hostContext(signal: AbortSignal): HostCheckContext {
    const plan = this.dep.plan;
    const at = (name: string) => plan.services.find((s) => s.name === name)!.address;
    return {
      plan,
      service: this.spec,
      dir: this.serviceDir,
      repoRoot: this.dep.settings.repoRoot,
      bin: (name) => this.dep.bins.get(name) ?? name,
      reach: at,
      progress: this.dep.progress,
      signal,
      published: (containerPort) => ({ host: PUBLISH_IP, port: publishedPort(this.dep.published, this.name, containerPort) }),
      inside: this.dep.networkPlan.services.find((s) => s.name === this.name)!,
    };
  }

  private ready(signal: AbortSignal): Promise<void> {
    const ctx = this.hostContext(signal);
    const custom = dockerKinds[this.source.kind]?.ready;
    return custom ? custom(ctx, this.recipe) : this.recipe.ready(ctx);
  }

  async firstStart(outer: AbortSignal): Promise<void> {
    const t0 = performance.now();
    const { dep } = this;
    const spec = dep.specContext(this.source, this.serviceDir, outer);
    const kind = dockerKinds[this.source.kind];
    await mkdir(this.serviceDir, { recursive: true });
    // ask the launch early who the process runs as, so the directory is theirs before prepare
    const preview = this.recipe.launch(nativeContext(spec));
    await ownDir(this.serviceDir, preview.user ? await containerUser(dep.settings.images, preview.user) : null);
    try {
      await dep.docker.createVolume({
        Name: volumeName(dep.runId, this.name),
        Driver: 'local',
        // the volume is the service's directory: prepare writes configs there from this machine
        DriverOpts: { type: 'none', o: 'bind', device: this.serviceDir },
        Labels: serviceLabels(dep.runId, this.name, this.source.kind, dep.labels()),
      });
    } catch (e) {
      throw dep.dockerError(e, `creating the volume of ${this.name}`);
    }
    if (kind?.prepare) await kind.prepare(spec, (step, proc, timeoutMs) => this.runStep(step, proc, timeoutMs, outer), this.recipe);
    else if (this.recipe.prepare) await this.recipe.prepare(nativeContext(spec));
    const proc = kind?.process ? await kind.process(spec, this.recipe) : await launchToProcess(spec, this.source.kind as ImageKind, this.recipe.launch(nativeContext(spec)));
    const tPrepared = performance.now();
    const options = dep.createOptions({ name: containerName(dep.runId, this.name), service: this.source, dir: this.serviceDir, proc, role: 'service', net: { holder: this.net!.id } });
    await this.copyConfigs(options);
    try {
      this.container = await dep.docker.createContainer(options);
    } catch (e) {
      if (statusOf(e) === 404) throw new BenchError('environment', `image ${proc.image} is missing`, proc.image === LOCAL_BASE_IMAGE ? 'it is imported on the first run: run again' : `pull it (docker pull ${proc.image}) or use --images local`);
      if (statusOf(e) === 409) throw new BenchError('environment', `container ${options.name} already exists`, 'a run with this id was left behind: bench down --all');
      throw dep.dockerError(e, `creating the container of ${this.name}`);
    }
    await this.launchAndWait(outer);
    const after = dockerKinds[this.source.kind]?.afterStart;
    if (after) await after(this.hostContext(outer), this.recipe);
    else if (this.recipe.afterStart) await this.recipe.afterStart(this.hostContext(outer));
    const prep = tPrepared - t0 > 50 ? `, prepare ${secs(tPrepared - t0)} s` : '';
    const ports = [...this.ports].map(([i, o]) => `${PUBLISH_IP}:${o}->${i}`).join(', ');
    dep.progress(`${this.name}: ready in ${secs(performance.now() - tPrepared)} s${prep} (container ${this.id.slice(0, 12)}, ${ports})`);
  }

  /** Creates and starts the service's network holder: its alias and published ports exist from now on. */
  async startNetHolder(): Promise<void> {
    const { dep } = this;
    const options = dep.netHolderOptions(this.source, this.ports);
    try {
      this.net = await dep.docker.createContainer(options);
      await this.net.start();
    } catch (e) {
      if (isPortConflict(e)) throw portConflict(this.name, [...this.ports.values()], e);
      if (statusOf(e) === 404) throw new BenchError('environment', `image ${options.Image} is missing`, `pull it (docker pull ${options.Image}) or use --images local`);
      if (statusOf(e) === 409) throw new BenchError('environment', `container ${options.name} already exists`, 'a run with this id was left behind: bench down --all');
      throw dep.dockerError(e, `starting the network holder of ${this.name}`);
    }
  }

  /** Copies rendered configs and the container's create options into <runDir>/config/<service>/. */
  private async copyConfigs(options: Docker.ContainerCreateOptions): Promise<void> {
    const dest = join(this.dep.runDir, 'config', this.name);
    await mkdir(dest, { recursive: true });
    for (const f of await readdir(this.serviceDir)) {
      if (!CONFIG_FILE.test(f)) continue;
      const st = await stat(join(this.serviceDir, f)).catch(() => null);
      if (st?.isFile() && st.size < 1024 * 1024) await copyFile(join(this.serviceDir, f), join(dest, f));
    }
    // the create options carry the run's password (the app's env, an exporter's DSN): never in a log
    await writeFile(join(dest, 'container.json'), redactSecrets(JSON.stringify(options, null, 2)) + '\n');
  }

  /** Streams the container's output into the service's log, from before it starts. */
  private async attachLog(container: Docker.Container): Promise<void> {
    const from = (await container.attach({ stream: true, stdout: true, stderr: true })) as NodeJS.ReadableStream;
    const to = logSink(this.logFile, from, (e) => this.dep.logFailed(e));
    this.dep.docker.modem.demuxStream(from, to, to);
    this.logStreams.push({ from, to });
  }

  private note(line: string): Promise<void> {
    return appendFile(this.logFile, `[bench] ${new Date().toISOString()} ${line}\n`).catch(() => {});
  }

  /** Starts the container and waits for readiness; fails early, with the log's tail, if it exits. */
  private async launchAndWait(outer?: AbortSignal): Promise<void> {
    const container = this.container!;
    const ac = new AbortController();
    const signal = outer ? AbortSignal.any([outer, ac.signal]) : ac.signal;
    await this.note(`starting ${this.name}: container ${container.id.slice(0, 12)}`);
    await this.attachLog(container);
    const generation = ++this.generation;
    // asked before the start: an exit in the first milliseconds is not missed
    const exited = container.wait({ condition: 'next-exit', abortSignal: this.watches.signal }).then(
      (r: { StatusCode?: number }) => r?.StatusCode ?? null,
      () => null,
    );
    try {
      await container.start();
    } catch (e) {
      if (isPortConflict(e)) throw portConflict(this.name, [...this.ports.values()], e);
      throw this.dep.dockerError(e, `starting ${this.name}`);
    }
    this.state = 'running';
    this.exitWatch = exited.then((code) => {
      if (this.generation === generation && !this.watches.signal.aborted) {
        this.state = 'exited';
        void this.note(`${this.name} exited with code ${code}`);
      }
      return code;
    });
    const died = this.exitWatch.then((code) => {
      ac.abort(new Error(`${this.name} exited`));
      return { code };
    });
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<'timeout'>((r) => (timer = setTimeout(() => r('timeout'), this.dep.settings.readyTimeoutMs)));
    try {
      const first = await Promise.race([this.ready(signal).then(() => 'ready' as const), died, deadline]);
      if (first === 'timeout') throw new Error(`no answer within ${this.dep.settings.readyTimeoutMs / 1000} s`);
      if (first !== 'ready') throw await this.startError(`${this.name} exited with code ${first.code} before it was ready`);
    } catch (e) {
      if (e instanceof BenchError) throw e;
      if (outer?.aborted) throw e;
      if (!this.isRunning()) throw await this.startError(`${this.name} exited before it was ready`);
      throw await this.startError(`${this.name} did not become ready: ${(e as Error).message}`);
    } finally {
      clearTimeout(timer);
    }
  }

  private async startError(message: string): Promise<BenchError> {
    // the attach stream may lag the exit by a moment: give it one
    await new Promise((r) => setTimeout(r, 100));
    const tail = await logTail(this.logFile);
    return new BenchError('environment', tail ? `${message}; last log lines:\n${indent(tail)}` : message, `full log: ${this.logFile}`);
  }

  /** Runs a one-off step (initdb, pg_basebackup) in a container of the service's image and mounts. */
  private async runStep(step: string, proc: ContainerProcess, timeoutMs: number, signal: AbortSignal): Promise<string> {
    const { dep } = this;
    const name = stepContainerName(dep.runId, this.name, step);
    let container: Docker.Container;
    try {
      container = await dep.docker.createContainer(dep.createOptions({ name, service: this.source, dir: this.serviceDir, proc, role: `step:${step}`, net: 'network' }));
    } catch (e) {
      throw dep.dockerError(e, `${this.name}: creating the ${step} container`);
    }
    try {
      await this.note(`${this.name}: ${step}: ${proc.command} ${proc.args.join(' ')}`);
      const from = (await container.attach({ stream: true, stdout: true, stderr: true })) as NodeJS.ReadableStream;
      const chunks: Buffer[] = [];
      const sink = new Writable({
        write(chunk: Buffer, _enc, cb) {
          chunks.push(chunk);
          cb();
        },
      });
      dep.docker.modem.demuxStream(from, sink, sink);
      const ac = new AbortController();
      const exited = container.wait({ condition: 'next-exit', abortSignal: ac.signal });
      await container.start();
      let timer: NodeJS.Timeout | undefined;
      const timedOut = new Promise<'timeout'>((r) => (timer = setTimeout(() => r('timeout'), timeoutMs)));
      const aborted = new Promise<'aborted'>((r) => (signal.aborted ? r('aborted') : signal.addEventListener('abort', () => r('aborted'), { once: true })));
      const first = await Promise.race([exited, timedOut, aborted]).finally(() => clearTimeout(timer));
      if (first === 'timeout' || first === 'aborted') {
        ac.abort();
        await container.kill().catch(() => {});
        if (first === 'aborted') throw signal.reason instanceof Error ? signal.reason : new BenchError('interrupted', `interrupted during ${step} of ${this.name}`);
        throw new BenchError('environment', `${this.name}: ${step} did not finish within ${timeoutMs / 1000} s`, `full log: ${this.logFile}`);
      }
      await new Promise((r) => setTimeout(r, 50));
      from.removeAllListeners();
      const output = Buffer.concat(chunks).toString('utf8');
      await appendFile(this.logFile, output).catch(() => {});
      const code = (first as { StatusCode?: number }).StatusCode ?? -1;
      if (code !== 0) {
        const tail = output.split('\n').filter((l) => l.trim() !== '').slice(-15).join('\n');
        throw new BenchError('environment', `${this.name}: ${step} failed with exit code ${code}${tail ? `; last lines:\n${indent(tail)}` : ''}`, `full log: ${this.logFile}`);
      }
      return output;
    } finally {
      await container.remove({ force: true, v: true }).catch(() => {});
    }
  }

  /** Ends the background watchers and log streams (the containers keep running). */
  release(): void {
    this.watches.abort();
    for (const { from, to } of this.logStreams) {
      (from as NodeJS.ReadableStream & { destroy?: () => void }).destroy?.();
      to.end();
    }
    this.logStreams = [];
  }

  private async waitState(want: (s: State) => boolean, timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (!want(this.state)) {
      if (Date.now() > deadline) return false;
      await new Promise((r) => setTimeout(r, 20));
    }
    return true;
  }

  async signal(sig: ProcessSignal): Promise<void> {
    const c = this.container;
    if (!c || this.state === 'none' || this.state === 'exited') return;
    try {
      if (sig === 'SIGSTOP') {
        if (this.state === 'running') {
          await c.pause();
          this.state = 'paused';
          await this.note(`${this.name} paused (SIGSTOP)`);
        }
        return;
      }
      if (sig === 'SIGCONT') {
        if (this.state === 'paused') {
          await c.unpause();
          this.state = 'running';
          await this.note(`${this.name} unpaused (SIGCONT)`);
        }
        return;
      }
      await this.note(`${this.name}: docker kill --signal ${sig}`);
      // a paused container's processes cannot take a signal: thaw it first
      if (this.state === 'paused') {
        await c.unpause();
        this.state = 'running';
      }
      await c.kill({ signal: sig });
      if (sig === 'SIGKILL') {
        await this.exitWatch;
        await this.waitState((s) => s === 'exited', 10_000);
      }
    } catch (e) {
      // the container exited on its own meanwhile: the signal has nothing left to do
      if (statusOf(e) === 409 || statusOf(e) === 304) return;
      throw this.dep.dockerError(e, `sending ${sig} to ${this.name}`);
    }
  }

  async stop(): Promise<void> {
    const c = this.container;
    if (!c || this.state === 'none' || this.state === 'exited') return;
    try {
      if (this.state === 'paused') {
        await c.unpause();
        this.state = 'running';
      }
      await this.note(`${this.name}: docker stop (grace ${this.dep.settings.graceMs / 1000} s)`);
      await c.stop({ t: Math.ceil(this.dep.settings.graceMs / 1000) });
    } catch (e) {
      if (statusOf(e) !== 304 && statusOf(e) !== 409) throw this.dep.dockerError(e, `stopping ${this.name}`);
    }
    await this.exitWatch;
    await this.waitState((s) => s === 'exited', 5_000);
  }

  async start(): Promise<void> {
    if (!this.container) throw new BenchError('internal', `${this.name} was never started`);
    if (this.state === 'paused') await this.signal('SIGCONT');
    if (this.isRunning()) {
      await this.ready(new AbortController().signal);
      return;
    }
    const t0 = performance.now();
    await this.launchAndWait();
    this.dep.progress(`${this.name}: started again in ${secs(performance.now() - t0)} s (container ${this.id.slice(0, 12)})`);
  }

  isRunning(): boolean {
    return this.state === 'running';
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
