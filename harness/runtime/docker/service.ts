// A service of a Docker run: its container inside its holder's network namespace, the one-off step
// containers (initdb, pg_basebackup), its log stream, signals as docker kill/pause, restarts.
import { createWriteStream, type WriteStream } from 'node:fs';
import { appendFile, copyFile, mkdir, readdir, stat, writeFile } from 'node:fs/promises';
import { Writable } from 'node:stream';
import { join } from 'node:path';
import type Docker from 'dockerode';
import { BenchError } from '../../errors.ts';
import { type Endpoint, type PlannedService } from '../../topology/plan.ts';
import type { ServiceRecipe } from '../../../targets/services/types.ts';
import { logTail } from '../native.ts';
import type { ProcessSignal, StartedService } from '../types.ts';
import { readServiceFile } from '../service-files.ts';
import { isPortConflict, portConflict, statusOf } from './client.ts';
import { LOCAL_BASE_IMAGE, type ImageKind } from './images.ts';
import { containerUser, dockerKinds, launchToProcess, nativeContext, ownDir, type ContainerProcess, type HostCheckContext } from './kinds.ts';
import { containerName, serviceLabels, stepContainerName, volumeName } from './labels.ts';
import { PUBLISH_IP, publishedPort } from './views.ts';
import { redactSecrets } from '../../../targets/app/config.ts';
import { indent, secs, CONFIG_FILE } from './settings.ts';
import { DockerDeployment } from './deployment.ts';


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

type State = 'none' | 'running' | 'paused' | 'exited';

export class DockerService implements StartedService {
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

  /** Gives the running container its host's CPU limit (the deployment's start-up is over). */
  async holdCpu(): Promise<void> {
    await this.container?.update({ NanoCpus: this.dep.nanoCpus(this.source.host) });
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
