// The native runtime: every service of a plan is a process of this machine, bound to its host's
// loopback address, in its host's cgroup, recorded in a state file so that a later `bench down`
// finds it even when this harness died. Each process gets its own process group (detached), so
// a signal reaches a server and all its children (PostgreSQL's backends) and never the harness.
import { spawn, type ChildProcess } from 'node:child_process';
import { appendFileSync, closeSync, openSync } from 'node:fs';
import { chmod, chown, copyFile, mkdir, open, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BenchError } from '../errors.ts';
import type { DeployPlan, Endpoint, PlannedService } from '../topology/plan.ts';
import { reach } from '../topology/plan.ts';
import type { ServiceKind } from '../topology/types.ts';
import { recipes as defaultRecipes } from '../../targets/services/index.ts';
import { PG_CREDENTIALS, redactSecrets } from '../../targets/app/config.ts';
import type { NativeContext, NativeLaunch, Requirement, ServiceRecipe } from '../../targets/services/types.ts';
import { resolveBinary } from './binaries.ts';
import { probeCgroups, RunCgroups } from './cgroups.ts';
import { canSwitchUser, groupMembers, lookupUser, pollUntil, signalGroup, startTimeOf, terminateGroup, type SystemUser } from './process.ts';
import { createRunDir, listRuns, PG_PASSWORD_FILE, reapAll, reapRun, releaseSlot, removeRunDir, runDataDir, stateFile, stateRoot, writeState, type RunInfo, type RunState, type ServiceRecord } from './state.ts';
import type { Deployment, ProcessSignal, Progress, RunListing, Runtime, StartedService, UpOptions } from './types.ts';
import { tryConnect } from './wait.ts';
import { readServiceFile } from './service-files.ts';

export interface NativeRuntimeOptions {
  /** where state files and service data go; default stateRoot() (BENCH_STATE_DIR, else per user) */
  stateRoot?: string;
  /** the repository (the app's sources, .tools/bin); default: this checkout */
  repoRoot?: string;
  /** SIGTERM, then SIGKILL after this long; default 5 s */
  graceMs?: number;
  /** the recipes by kind; default targets/services/index.ts */
  recipes?: ReadonlyMap<ServiceKind, ServiceRecipe>;
  /** PATH and BENCH_STATE_DIR come from here; default process.env */
  env?: NodeJS.ProcessEnv;
  /** apply host sizes as cgroup quotas; default true */
  cgroups?: boolean;
  /** outer bound on one service's readiness, beyond the recipe's own checks; default 180 s */
  readyTimeoutMs?: number;
  /** services of one wave started at once; default 4 (1: strictly one after another) */
  parallelStarts?: number;
}

/** One exit of a service's process, as the runtime saw it. */
export interface ExitRecord {
  pid: number;
  at: Date;
  code: number | null;
  signal: NodeJS.Signals | null;
  /** true when the runtime itself stopped it (stop(), down()) */
  expected: boolean;
}

/** What the native runtime's services offer beyond StartedService (drills may use it). */
export interface NativeStartedService extends StartedService {
  readonly dir: string;
  /** every exit of the service's process, killed or stopped, in order */
  readonly exits: readonly ExitRecord[];
}

/** True for a service started by the native runtime. */
export function isNativeService(s: StartedService): s is NativeStartedService {
  return s instanceof NativeService;
}

const LOG_TAIL_LINES = 20;
const CONFIG_FILE = /\.(conf|cfg|json|ya?ml|toml|ini|lua|vcl)$/;
const defaultRepoRoot = () => fileURLToPath(new URL('../../', import.meta.url));

/** The last `n` lines of a log file ('' when it cannot be read). */
export async function logTail(file: string, n = LOG_TAIL_LINES): Promise<string> {
  try {
    const fh = await open(file, 'r');
    try {
      const { size } = await fh.stat();
      const len = Math.min(size, 64 * 1024);
      const buf = Buffer.alloc(len);
      await fh.read(buf, 0, len, size - len);
      return buf.toString('utf8').split('\n').filter((l) => l.trim() !== '').slice(-n).join('\n');
    } finally {
      await fh.close();
    }
  } catch {
    return '';
  }
}

/** A recipe's failure as a BenchError that names the service (BenchErrors pass unchanged). */
function asStartError(e: unknown, what: string, hint: string): BenchError {
  if (e instanceof BenchError) return e;
  return new BenchError('environment', `${what}: ${e instanceof Error ? e.message : String(e)}`, hint, { cause: e });
}

const indent = (text: string) => text.split('\n').map((l) => `    ${l}`).join('\n');

async function portInUse(e: Endpoint): Promise<boolean> {
  try {
    await tryConnect(e, 500);
    return true;
  } catch {
    return false;
  }
}

/**
 * Groups `plan.order` into waves that may start concurrently: the instruments the plan puts
 * before the topology (Toxiproxy: every edge must exist before a client connects), then the
 * topology's services by dependency depth (a service after everything it depends on), then the
 * instruments the plan puts after them (exporters). Within a wave, plan order. Pure.
 */
export function startWaves(plan: Pick<DeployPlan, 'order' | 'services' | 'topology'>): string[][] {
  const byName = new Map(plan.services.map((s) => [s.name, s]));
  const topo = new Set(plan.topology.services.map((s) => s.name));
  const firstTopo = plan.order.findIndex((n) => topo.has(n));
  const before = firstTopo < 0 ? [...plan.order] : plan.order.slice(0, firstTopo);
  const middle = plan.order.filter((n) => topo.has(n));
  const after = plan.order.filter((n) => !topo.has(n) && !before.includes(n));
  const depth = new Map<string, number>();
  // plan.order puts every service after its dependencies, so one pass settles every depth
  for (const n of middle) {
    const deps = byName.get(n)!.dependsOn.filter((d) => depth.has(d));
    depth.set(n, deps.length === 0 ? 0 : Math.max(...deps.map((d) => depth.get(d)!)) + 1);
  }
  const levels: string[][] = [];
  for (const n of middle) (levels[depth.get(n)!] ??= []).push(n);
  return [before, ...levels, after].filter((w) => w.length > 0);
}

/**
 * Runs `task` over `items`, at most `limit` at once. After the first failure it starts nothing
 * new, waits for what is in flight, then throws that first failure.
 */
export async function inParallel<T>(items: readonly T[], limit: number, task: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  let failure: { error: unknown } | null = null;
  const worker = async () => {
    while (next < items.length && !failure) {
      const item = items[next++]!;
      try {
        await task(item);
      } catch (e) {
        failure ??= { error: e };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  if (failure) throw (failure as { error: unknown }).error;
}

/**
 * Starts every service of `plan` wave by wave (startWaves), at most `limit` at once. The first
 * failure of a wave aborts the others' readiness waits and is the error thrown; an aborted
 * `outer` signal throws `interrupted()`. Resolves to the started services in plan order, whatever
 * order the waves finished in. Both runtimes start their services through this.
 */
export async function startInWaves<S>(
  plan: Pick<DeployPlan, 'order' | 'services' | 'topology'>,
  limit: number,
  outer: AbortSignal | undefined,
  interrupted: () => Error,
  start: (name: string, signal: AbortSignal) => Promise<S>,
  onStarted: (name: string, service: S) => void = () => {},
): Promise<Map<string, S>> {
  const started = new Map<string, S>();
  for (const wave of startWaves(plan)) {
    if (outer?.aborted) throw interrupted();
    const failed = new AbortController();
    const signal = outer ? AbortSignal.any([outer, failed.signal]) : failed.signal;
    await inParallel(wave, limit, async (name) => {
      try {
        const svc = await start(name, signal);
        started.set(name, svc);
        onStarted(name, svc);
      } catch (e) {
        failed.abort(e);
        if (outer?.aborted) throw interrupted();
        throw e;
      }
    });
  }
  const ordered = new Map<string, S>();
  for (const name of plan.order) if (started.has(name)) ordered.set(name, started.get(name)!);
  return ordered;
}

/** Starts a deployment; on failure tears down what did start and throws the first failure (not
 *  a teardown error). Both runtimes' `up` end here. */
export async function startOrTearDown<D extends { start(): Promise<void>; down(): Promise<void> }>(dep: D, progress: (line: string) => void): Promise<D> {
  try {
    await dep.start();
  } catch (e) {
    await dep.down().catch((d: unknown) => progress(`teardown after failure: ${(d as Error).message}`));
    throw e;
  }
  return dep;
}

/** Creates the native runtime. */
export function createNativeRuntime(opts: NativeRuntimeOptions = {}): Runtime {
  const env = opts.env ?? process.env;
  const settings: Settings = {
    // read when used, not when the module loads: the default runtime is created at import, and a
    // caller (a test, a library user) may set BENCH_STATE_DIR afterwards
    get root() {
      return opts.stateRoot ?? stateRoot(env);
    },
    repoRoot: opts.repoRoot ?? defaultRepoRoot(),
    graceMs: opts.graceMs ?? 5_000,
    recipes: opts.recipes ?? defaultRecipes,
    path: env.PATH,
    cgroups: opts.cgroups ?? true,
    readyTimeoutMs: opts.readyTimeoutMs ?? 180_000,
    parallelStarts: Math.max(1, opts.parallelStarts ?? 4),
  };

  /** Resolves every binary of every recipe the plan uses; throws one error naming all that miss. */
  function resolveAll(plan: DeployPlan): Map<string, string> {
    const kinds = [...new Set(plan.services.map((s) => s.kind))];
    const noRecipe = kinds.filter((k) => !settings.recipes.has(k));
    if (noRecipe.length > 0) {
      throw new BenchError('internal', `no native recipe for ${noRecipe.join(', ')}`, 'list a recipe for each kind in targets/services/index.ts');
    }
    const found = new Map<string, string>();
    const missing = new Map<string, Requirement>();
    for (const k of kinds) {
      for (const req of settings.recipes.get(k)!.requires) {
        const path = resolveBinary(req, settings.repoRoot, settings.path);
        if (path) found.set(req.binary, path);
        else missing.set(req.binary, req);
      }
    }
    if (missing.size > 0) {
      const list = [...missing.values()].map((r) => `${r.binary} (${r.debianPackage ? `Debian package ${r.debianPackage}` : 'not in Debian: bench setup builds it'})`);
      const pkgs = [...new Set([...missing.values()].map((r) => r.debianPackage).filter(Boolean))];
      throw new BenchError(
        'environment',
        `missing binaries: ${list.join(', ')}`,
        `run: bench setup${pkgs.length ? ` (or: apt-get install ${pkgs.join(' ')})` : ''}`,
      );
    }
    return found;
  }

  return {
    kind: 'native',
    async check(plan) {
      resolveAll(plan);
    },
    async up(plan, options) {
      const bins = resolveAll(plan);
      return startOrTearDown(new NativeDeployment(plan, options, settings, bins), options.progress);
    },
    async list(opts = {}) {
      return (await listRuns({ root: settings.root, warn: opts.warn })).map(nativeListing);
    },
    async reap(opts = {}) {
      const state = { root: settings.root, warn: opts.warn, graceMs: settings.graceMs };
      if (opts.runId === undefined) return (await reapAll({ ...state, onlyDead: opts.onlyDead })).map(String);
      // a run id this runtime never recorded is not its to reap (Docker may know it)
      const run = (await listRuns(state)).find((r) => r.runId === opts.runId);
      if (!run || (opts.onlyDead && (run.harnessAlive || (run.kept && !run.stale)))) return [];
      return [String(await reapRun(run.runId, state))];
    },
  };
}

/** A native run as `bench status` lists it: its recorded processes by pid. */
function nativeListing(run: RunInfo): RunListing {
  return {
    runId: run.runId,
    runtime: 'native',
    runDir: run.runDir,
    harnessAlive: run.harnessAlive,
    kept: run.kept ?? false,
    units: run.services.map((s) => `pid ${String(s.pid).padStart(7)}  ${s.alive ? 'running' : 'gone   '}  ${s.name}`),
    detail: run,
  };
}

/** The native runtime with default settings (the state root: stateRoot()). */
export const nativeRuntime: Runtime = createNativeRuntime();

interface Settings {
  root: string;
  repoRoot: string;
  graceMs: number;
  recipes: ReadonlyMap<ServiceKind, ServiceRecipe>;
  path: string | undefined;
  cgroups: boolean;
  readyTimeoutMs: number;
  parallelStarts: number;
}

class NativeDeployment implements Deployment {
  readonly runtime = 'native' as const;
  readonly runDir: string;
  readonly dataDir: string;
  readonly logsDir: string;
  /** services that answered their readiness check, in start order */
  readonly services = new Map<string, NativeService>();
  /** every service that was spawned at least once (teardown covers them all) */
  private readonly spawned: NativeService[] = [];
  private readonly state: RunState;
  private saving: Promise<void> = Promise.resolve();
  private downing: Promise<void> | null = null;
  cgroups!: RunCgroups;

  constructor(
    readonly plan: DeployPlan,
    readonly options: UpOptions,
    readonly settings: Settings,
    readonly bins: Map<string, string>,
  ) {
    this.runDir = options.runDir;
    this.dataDir = runDataDir(plan.runId, settings.root);
    this.logsDir = join(options.runDir, 'logs');
    this.state = {
      runId: plan.runId,
      slot: plan.slot,
      runDir: options.runDir,
      dataDir: this.dataDir,
      createdAt: new Date().toISOString(),
      harnessPid: process.pid,
      harnessStartTime: startTimeOf(process.pid),
      cgroups: [],
      services: [],
    };
  }

  /** Per host with services: its cgroup quotas were written and every process moved in. */
  sizesEnforced(): Record<string, boolean> {
    return this.cgroups ? this.cgroups.enforcement() : {};
  }

  get progress(): Progress {
    return this.options.progress;
  }

  sideAddress(service: string, port: number): Endpoint {
    return { host: this.service(service).address.host, port };
  }

  service(name: string): StartedService {
    const s = this.services.get(name);
    if (!s) throw new BenchError('internal', `service ${name} is not running in run ${this.plan.runId}`);
    return s;
  }

  /** Brings every service of the plan up, in order. */
  async start(): Promise<void> {
    const { plan, options } = this;
    const interrupted = () => new BenchError('interrupted', `interrupted while starting run ${plan.runId}`);
    if (options.signal?.aborted) throw interrupted();
    // 0711 when root: postgres (another user) must reach its own directory inside, nothing more
    await createRunDir(plan.runId, this.settings.root);
    // the run's Postgres password for an operator of a kept run (bench up), readable by this user only
    await writeFile(join(this.dataDir, PG_PASSWORD_FILE), `${PG_CREDENTIALS.password}\n`, { mode: 0o600 });
    await mkdir(this.logsDir, { recursive: true });
    // Recorded before anything starts: a harness killed during initdb still leaves a trace.
    await this.save();

    this.cgroups = new RunCgroups(this.settings.cgroups ? await probeCgroups() : { reason: 'disabled by the caller' }, plan.runId);
    const usedHosts = new Set(plan.services.map((s) => s.host));
    for (const h of plan.hosts) if (usedHosts.has(h.name)) await this.cgroups.createHost(h.name, h.size);
    this.state.cgroups = this.cgroups.paths();
    await this.save();
    if (this.cgroups.warnings.length > 0) this.progress(`host sizes are not enforced: ${this.cgroups.warnings.join('; ')}`);

    const ready = await startInWaves(
      plan,
      this.settings.parallelStarts,
      options.signal,
      interrupted,
      async (name, signal) => {
        const spec = plan.services.find((s) => s.name === name)!;
        const svc = new NativeService(this, spec, this.settings.recipes.get(spec.kind)!);
        await svc.firstStart(signal);
        return svc;
      },
      // recorded as each starts: a failure in a later wave tears down what is already up
      (name, svc) => this.services.set(name, svc),
    );
    // present the services in start order, whatever order the waves finished in
    this.services.clear();
    for (const [name, svc] of ready) this.services.set(name, svc);
    // the hosts' CPU quotas hold from here: the start-up ran unthrottled (RunCgroups)
    await this.cgroups.holdCpu();
  }

  /** Called by a service each time it spawned a process. */
  async recordSpawn(svc: NativeService, rec: ServiceRecord): Promise<void> {
    if (!this.spawned.includes(svc)) this.spawned.push(svc);
    // a restart replaces the record in place: the reaper stops services in recorded order, reversed
    const at = this.state.services.findIndex((s) => s.name === rec.name);
    if (at >= 0) this.state.services[at] = rec;
    else this.state.services.push(rec);
    await this.save();
  }

  /** Writes the state file; writes are serialised so the last one wins in order. */
  save(): Promise<void> {
    const snapshot = JSON.parse(JSON.stringify(this.state)) as RunState;
    this.saving = this.saving.catch(() => {}).then(() => writeState(snapshot, { root: this.settings.root }));
    return this.saving;
  }

  down(): Promise<void> {
    this.downing ??= this.teardown();
    return this.downing;
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.down();
  }

  private async teardown(): Promise<void> {
    const errors: unknown[] = [];
    for (const svc of [...this.spawned].reverse()) {
      try {
        await svc.stop();
      } catch (e) {
        errors.push(e);
      }
    }
    this.services.clear();
    await this.saving.catch(() => {});
    try {
      await this.cgroups?.remove();
      await removeRunDir(this.dataDir, this.plan.runId, { root: this.settings.root, warn: this.progress });
      await releaseSlot(this.plan.slot, { root: this.settings.root });
      await rm(stateFile(this.plan.runId, this.settings.root), { force: true });
    } catch (e) {
      errors.push(e);
    }
    if (errors.length > 0) {
      const first = errors[0] as Error;
      throw new BenchError('internal', `teardown of run ${this.plan.runId} was incomplete: ${first.message}`, 'run: bench down', { cause: first });
    }
  }
}

class NativeService implements NativeStartedService {
  readonly name: string;
  readonly address: Endpoint;
  readonly logFile: string;
  readonly dir: string;
  /** every exit of this service's process, in order */
  readonly exits: ExitRecord[] = [];
  private child: ChildProcess | null = null;
  private pid: number | null = null;
  private stopped = false;
  private stopping = false;
  private exitWait: Promise<void> = Promise.resolve();
  private user: SystemUser | null = null;
  private launchSpec: NativeLaunch | null = null;

  constructor(
    private readonly dep: NativeDeployment,
    readonly spec: PlannedService,
    private readonly recipe: ServiceRecipe,
  ) {
    this.name = spec.name;
    this.address = spec.address;
    this.dir = join(dep.dataDir, spec.name);
    this.logFile = join(dep.logsDir, `${spec.name}.log`);
  }

  get id(): string {
    return this.pid === null ? '' : String(this.pid);
  }

  get dataDir(): string {
    return this.dir;
  }

  readFile(rel: string): Promise<string | null> {
    return readServiceFile(this.dir, rel);
  }

  private context(signal: AbortSignal): NativeContext {
    const { plan, settings, bins } = this.dep;
    return {
      plan,
      service: this.spec,
      dir: this.dir,
      repoRoot: settings.repoRoot,
      bin: (name) => {
        const path = bins.get(name);
        if (!path) throw new BenchError('internal', `${this.spec.kind} recipe asked for ${name}, which it does not list in requires`);
        return path;
      },
      reach: (to) => reach(plan, this.name, to),
      progress: this.dep.progress,
      signal,
    };
  }

  /** The first start: directory, prepare, config copies, launch, ready, afterStart. */
  async firstStart(outer?: AbortSignal): Promise<void> {
    const t0 = performance.now();
    const signal = outer ?? new AbortController().signal;
    const ctx = this.context(signal);
    // launch() is a pure function of the context: ask it early who the process runs as, so the
    // directory belongs to that user before prepare (initdb) writes into it.
    const preview = this.recipe.launch(ctx);
    await mkdir(this.dir, { recursive: true });
    if (preview.user && canSwitchUser()) {
      this.user = await lookupUser(preview.user);
      if (!this.user) {
        throw new BenchError('environment', `system user ${preview.user} (for ${this.name}) does not exist`, `install the package that creates it (postgres: postgresql-15), or run: bench setup`);
      }
      await chown(this.dir, this.user.uid, this.user.gid);
      await chmod(this.dir, 0o700);
    } else {
      await chmod(this.dir, 0o755);
    }
    if (this.recipe.prepare) {
      await this.recipe.prepare(ctx).catch((e: unknown) => {
        throw asStartError(e, `${this.name} could not be prepared`, 'check the message above; run: bench doctor');
      });
    }
    const tPrepared = performance.now();
    await this.copyConfigs(preview);
    await this.launchAndWait(outer);
    if (this.recipe.afterStart) {
      await this.recipe.afterStart(this.context(signal)).catch((e: unknown) => {
        throw asStartError(e, `${this.name} started, but its setup failed`, `full log: ${this.logFile}`);
      });
    }
    const prep = tPrepared - t0 > 50 ? `, prepare ${((tPrepared - t0) / 1000).toFixed(2)} s` : '';
    this.dep.progress(`${this.name}: ready in ${((performance.now() - tPrepared) / 1000).toFixed(2)} s${prep} (pid ${this.pid}, ${this.address.host}:${this.address.port})`);
  }

  /** Copies rendered config files and the command line into <runDir>/config/<service>/ for people to read. */
  private async copyConfigs(launch: NativeLaunch): Promise<void> {
    const dest = join(this.dep.runDir, 'config', this.name);
    await mkdir(dest, { recursive: true });
    for (const f of await readdir(this.dir)) {
      if (!CONFIG_FILE.test(f)) continue;
      const st = await stat(join(this.dir, f)).catch(() => null);
      if (st?.isFile() && st.size < 1024 * 1024) await copyFile(join(this.dir, f), join(dest, f));
    }
    const { command, args, env, cwd, user, stopSignal } = launch;
    // env carries the run's password (the app's, an exporter's DSN): never in the run directory
    await writeFile(join(dest, 'launch.json'), redactSecrets(JSON.stringify({ command, args, env, cwd, user, stopSignal }, null, 2)) + '\n');
  }

  /** Spawns the process and waits for the recipe's readiness; fails early if the process exits. */
  private async launchAndWait(outer?: AbortSignal): Promise<void> {
    const ac = new AbortController();
    const signal = outer ? AbortSignal.any([outer, ac.signal]) : ac.signal;
    const ctx = this.context(signal);
    const launch = this.recipe.launch(ctx);
    this.launchSpec = launch;
    if (await portInUse(this.address)) {
      throw new BenchError('environment', `${this.address.host}:${this.address.port} (${this.name}) is already in use`, 'another run or program holds it; run: bench down');
    }
    const exited = this.spawnProcess(launch);
    const pid = this.pid!;
    // The child was just exec'd: move it before it forks its workers (a sweep after ready catches
    // any that were quicker).
    await this.dep.cgroups.addPid(this.spec.host, pid);
    await this.dep.recordSpawn(this, {
      name: this.name,
      pid,
      startTime: startTimeOf(pid) ?? 0,
      dir: this.dir,
      cgroups: this.dep.cgroups.paths().filter((p) => p.endsWith(`/${this.spec.host}`)),
    });

    const died = exited.then((rec) => {
      ac.abort(new Error(`${this.name} exited`));
      return rec;
    });
    let timer: NodeJS.Timeout | undefined;
    const outerDeadline = new Promise<'timeout'>((r) => (timer = setTimeout(() => r('timeout'), this.dep.settings.readyTimeoutMs)));
    try {
      const first = await Promise.race([
        this.recipe.ready(ctx).then(() => 'ready' as const),
        died,
        outerDeadline,
      ]);
      if (first === 'timeout') throw new Error(`no answer within ${this.dep.settings.readyTimeoutMs / 1000} s`);
      if (first !== 'ready') {
        const how = first.signal ? `was killed by ${first.signal}` : `exited with code ${first.code}`;
        throw await this.startError(`${this.name} ${how} before it was ready`);
      }
    } catch (e) {
      if (e instanceof BenchError) throw e;
      if (outer?.aborted) throw e;
      // A failed readiness check while the process still runs: say what was awaited, show the log.
      if (ac.signal.aborted && this.exits.at(-1)?.pid === pid) {
        const last = this.exits.at(-1)!;
        throw await this.startError(`${this.name} ${last.signal ? `was killed by ${last.signal}` : `exited with code ${last.code}`} before it was ready`);
      }
      throw await this.startError(`${this.name} did not become ready: ${(e as Error).message}`);
    } finally {
      clearTimeout(timer);
    }
    for (const member of groupMembers(pid)) await this.dep.cgroups.addPid(this.spec.host, member);
  }

  private async startError(message: string): Promise<BenchError> {
    const tail = await logTail(this.logFile);
    return new BenchError('environment', tail ? `${message}; last log lines:\n${indent(tail)}` : message, `full log: ${this.logFile}`);
  }

  /** Spawns the launch in its own process group with output appended to the log; resolves at exit. */
  private spawnProcess(launch: NativeLaunch): Promise<ExitRecord> {
    const fd = openSync(this.logFile, 'a');
    const ids = this.user;
    let child: ChildProcess;
    try {
      appendFileSync(fd, `[bench] ${new Date().toISOString()} starting ${this.name}: ${launch.command} ${launch.args.join(' ')}\n`);
      child = spawn(launch.command, launch.args, {
        cwd: launch.cwd ?? this.dir,
        env: {
          ...process.env,
          ...(ids ? { HOME: ids.home, USER: ids.name, LOGNAME: ids.name } : {}),
          ...launch.env,
        },
        stdio: ['ignore', fd, fd],
        detached: true,
        ...(ids ? { uid: ids.uid, gid: ids.gid } : {}),
      });
    } finally {
      closeSync(fd);
    }
    // without a listener, a failed exec ('error', asynchronously) would crash the harness
    child.on('error', () => {});
    if (child.pid === undefined) {
      // spawn reports ENOENT/EACCES asynchronously through 'error'; the pid tells us synchronously
      throw new BenchError('environment', `cannot start ${this.name}: ${launch.command} could not be executed`, 'run: bench setup');
    }
    // The harness may exit while servers run (bench up): do not let them hold its event loop.
    child.unref();
    this.child = child;
    this.pid = child.pid;
    this.stopped = false;
    const pid = child.pid;
    const exited = new Promise<ExitRecord>((resolve) => {
      child.once('exit', (code, sig) => {
        const rec: ExitRecord = { pid, at: new Date(), code, signal: sig, expected: this.stopping };
        this.exits.push(rec);
        try {
          appendFileSync(this.logFile, `[bench] ${rec.at.toISOString()} ${this.name} (pid ${pid}) ${sig ? `killed by ${sig}` : `exited with code ${code}`}${rec.expected ? ' (stopped by bench)' : ''}\n`);
        } catch {
          /* the run directory may be gone */
        }
        if (this.child === child) {
          this.child = null;
          this.stopped = false;
        }
        resolve(rec);
      });
    });
    this.exitWait = exited.then(() => undefined);
    return exited;
  }

  async signal(sig: ProcessSignal): Promise<void> {
    if (this.pid === null || this.child === null) return;
    signalGroup(this.pid, sig);
    if (sig === 'SIGSTOP') this.stopped = true;
    // A SIGKILLed process that was stopped is exiting, not hung: isRunning() stays true until its
    // exit is seen, so a caller waiting for it to be down (takeDown) waits for the exit, and a
    // start() after it launches a new process instead of resuming the dead one.
    if (sig === 'SIGCONT' || sig === 'SIGKILL') this.stopped = false;
  }

  async stop(): Promise<void> {
    if (this.pid === null) return;
    const pid = this.pid;
    this.stopping = true;
    try {
      const sig = this.launchSpec?.stopSignal ?? 'SIGTERM';
      const how = await terminateGroup(pid, { graceMs: this.dep.settings.graceMs, sig });
      if (how === 'killed') this.dep.progress(`${this.name}: still running ${this.dep.settings.graceMs / 1000} s after ${sig}, killed`);
      // the exit event carries the record; it follows the group's end closely
      await Promise.race([this.exitWait, pollUntil(() => this.child === null, 2_000)]);
    } finally {
      this.stopping = false;
      this.stopped = false;
    }
  }

  async start(): Promise<void> {
    if (this.child !== null) {
      if (this.stopped) await this.signal('SIGCONT');
      const ctx = this.context(new AbortController().signal);
      await this.recipe.ready(ctx);
      return;
    }
    // Leftovers of the old group (a SIGKILLed postmaster's backends) would hold the port.
    if (this.pid !== null && groupMembers(this.pid).length > 0) await terminateGroup(this.pid, { graceMs: this.dep.settings.graceMs });
    const t0 = performance.now();
    await this.launchAndWait();
    this.dep.progress(`${this.name}: started again in ${((performance.now() - t0) / 1000).toFixed(2)} s (pid ${this.pid})`);
  }

  isRunning(): boolean {
    return this.child !== null && !this.stopped;
  }
}
