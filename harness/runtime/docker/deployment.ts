// One run as containers: the run's bridge network, every service's network holder and container
// (started in the plan's waves), Grafana beside it on request, and teardown by labels. The
// service handles are service.ts; the network's pieces network.ts.
import { readdirSync, realpathSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join, sep } from 'node:path';
import type Docker from 'dockerode';
import { BenchError } from '../../errors.ts';
import { endpointUrl, type DeployPlan, type Endpoint, type PlannedService } from '../../topology/plan.ts';
import { inParallel, startInWaves } from '../native.ts';
import { startTimeOf } from '../process.ts';
import { createRunDir, PG_PASSWORD_FILE, releaseSlot, removeRunDir, runDataDir } from '../state.ts';
import type { Deployment, Progress, StartedService, UpOptions } from '../types.ts';
import { waitFor } from '../wait.ts';
import { daemonError, isPortConflict, isUnreachable, messageOf, portConflict } from './client.ts';
import { BUILT_KINDS, ensureAppImage, ensureLocalBase, ensureOfficialImages, hostRootLayout, imageFor, type ImageKind } from './images.ts';
import { type ContainerProcess, type NetworkInfo, type SpecContext } from './kinds.ts';
import { containerName, harnessLabel, LABEL_DATA_DIR, LABEL_HARNESS, LABEL_ROLE, runLabels, serviceLabels, volumeName } from './labels.ts';
import { reapDockerRun, removeDataDir } from './reap.ts';
import { containerPorts, hostPlan, networkPlan, PUBLISH_IP, publishedPort } from './views.ts';
import { PG_CREDENTIALS } from '../../../targets/app/config.ts';
import { type Settings, secs } from './settings.ts';
import { grafanaProblem, kindsOf } from './preflight.ts';
import { DockerService, logSink } from './service.ts';
import { createRunNetwork, netHolderOptions } from './network.ts';


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

export class DockerDeployment implements Deployment {
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

  /** Whether the hosts' CPU limits hold yet: from the end of the first start-up, as natively
   *  (harness/runtime/cgroups.ts RunCgroups): containers started later get theirs at creation. */
  private cpuHeld = false;

  /** Docker applies every container's CPU and memory limits itself: enforced once the CPU limits hold. */
  sizesEnforced(): Record<string, boolean> {
    return Object.fromEntries([...new Set(this.sourcePlan.services.map((s) => s.host))].map((h) => [h, this.cpuHeld]));
  }

  /** A host's CPU limit for Docker (NanoCpus), 0 (none) until the deployment is up. */
  nanoCpus(host: string): number {
    const size = this.sourcePlan.hosts.find((h) => h.name === host)!.size;
    return this.cpuHeld ? Math.round(size.cpus * 1e9) : 0;
  }

  get progress(): Progress {
    return this.options.progress;
  }

  get runId(): string {
    return this.sourcePlan.runId;
  }

  sideAddress(service: string, port: number): Endpoint {
    return { host: PUBLISH_IP, port: publishedPort(this.published, service, port) };
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
      await ensureOfficialImages(this.docker, [...kinds.filter((k) => !BUILT_KINDS.has(k)), 'pause' as const, ...(this.settings.grafana ? (['grafana'] as const) : [])].map(image), this.progress);
      // one build per image: the app and the microservices share bench/app
      for (const ref of new Set(kinds.filter((k) => BUILT_KINDS.has(k)).map(image))) await ensureAppImage(this.docker, this.settings.repoRoot, this.progress, ref);
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
    // the hosts' CPU limits hold from here: the start-up ran unthrottled
    this.cpuHeld = true;
    await inParallel([...ready.values()], this.settings.parallelStarts, (svc) => svc.holdCpu());
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

  private createNetwork(): Promise<NetworkInfo> {
    return createRunNetwork(this.docker, this.runId, this.labels(), (e, what) => this.dockerError(e, what));
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
        NanoCpus: this.nanoCpus(host.name),
        Memory: host.size.memoryMb * 1024 * 1024,
        RestartPolicy: { Name: 'no' },
      },
    };
  }

  /** The create options of a service's network holder (network.ts). */
  netHolderOptions(service: PlannedService, ports: ReadonlyMap<number, number>): Docker.ContainerCreateOptions {
    return netHolderOptions({ runId: this.runId, settings: this.settings, labels: this.labels(), network: this.network, hostMounts: this.hostMounts }, service, ports);
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
