// Fakes for the unit tests of chaos/ (never used outside *.test.ts): a recording Toxiproxy, a
// deployment of fake processes, a virtual clock, and plans of the real phases.
import type { Deployment, ProcessSignal, StartedService } from '../../harness/runtime/types.ts';
import { plan, type DeployPlan, type PlannedService } from '../../harness/topology/plan.ts';
import type { PhaseOptions } from '../../harness/topology/types.ts';
import { phases } from '../../targets/phases/index.ts';
import type { Clock } from '../fault-runner.ts';
import type { ProxyState, ToxicSpec, ToxiproxyApi } from '../faults/types.ts';

/** A plan of a real phase (proxies on, no Prometheus). */
export function planOf(phase: number, options: Partial<PhaseOptions> = {}): DeployPlan {
  const def = phases.get(phase)!;
  const o: PhaseOptions = { users: 1000, shardStrategy: 'range', ...def.defaults, ...options };
  return plan(def.topology(o), { runId: `t${phase}`, slot: 9, proxies: true, prometheus: false });
}

/** A Toxiproxy that keeps its state in memory and records every call. */
export class FakeToxiproxy implements ToxiproxyApi {
  readonly proxies = new Map<string, ProxyState>();
  readonly calls: string[] = [];
  failAddOn: string | null = null;

  constructor(p: DeployPlan) {
    for (const e of p.edges.filter((x) => x.proxied)) {
      this.proxies.set(e.name, { name: e.name, listen: `${e.listen.host}:${e.listen.port}`, upstream: `${e.upstream.host}:${e.upstream.port}`, enabled: true, toxics: [] });
    }
  }

  private get(name: string): ProxyState {
    const p = this.proxies.get(name);
    if (!p) throw new Error(`404 no proxy ${name}`);
    return p;
  }

  async listProxies() {
    return [...this.proxies.values()].map((p) => ({ ...p, toxics: [...p.toxics] }));
  }
  async setEnabled(proxy: string, enabled: boolean) {
    this.calls.push(`${enabled ? 'enable' : 'disable'} ${proxy}`);
    this.get(proxy).enabled = enabled;
  }
  async addToxic(proxy: string, toxic: ToxicSpec) {
    this.calls.push(`add ${proxy} ${toxic.type} ${toxic.stream}`);
    if (this.failAddOn === proxy) throw new Error(`refused on ${proxy}`);
    const p = this.get(proxy);
    if (p.toxics.some((t) => t.name === toxic.name)) throw new Error(`409 toxic ${toxic.name} exists`);
    p.toxics.push(toxic);
  }
  async removeToxic(proxy: string, toxic: string) {
    this.calls.push(`remove ${proxy} ${toxic}`);
    const p = this.get(proxy);
    p.toxics = p.toxics.filter((t) => t.name !== toxic);
  }
  async setUpstream(proxy: string, upstream: string) {
    this.calls.push(`upstream ${proxy} ${upstream}`);
    this.get(proxy).upstream = upstream;
  }
  async resetAll() {
    this.calls.push('reset');
    for (const p of this.proxies.values()) {
      p.enabled = true;
      p.toxics = [];
    }
  }
  /** every toxic left, as "proxy:name" */
  leftovers(): string[] {
    return [...this.proxies.values()].flatMap((p) => [...p.toxics.map((t) => `${p.name}:${t.name}`), ...(p.enabled ? [] : [`${p.name}:disabled`])]);
  }
}

/** A process that only records signals. */
export class FakeService implements StartedService {
  running = true;
  readonly signals: string[] = [];
  starts = 0;
  stops = 0;
  readonly address;
  readonly logFile: string = '/dev/null';
  /** the files readFile() answers with, by path inside the service's directory */
  readonly files = new Map<string, string>();
  constructor(readonly spec: PlannedService) {
    this.address = spec.address;
  }
  get name() {
    return this.spec.name;
  }
  get dataDir() {
    return `/tmp/none/${this.spec.name}`;
  }
  async readFile(rel: string) {
    return this.files.get(rel) ?? null;
  }
  get id() {
    return `pid-${this.spec.name}`;
  }
  async signal(sig: ProcessSignal) {
    this.signals.push(sig);
    if (sig === 'SIGKILL' || sig === 'SIGSTOP') this.running = false;
    if (sig === 'SIGCONT') this.running = true;
  }
  async stop() {
    this.stops += 1;
    this.running = false;
  }
  /** how long start() takes (a restarted server getting ready) */
  startDelayMs = 0;
  async start() {
    this.starts += 1;
    if (this.startDelayMs > 0) await new Promise((r) => setTimeout(r, this.startDelayMs));
    this.running = true;
  }
  isRunning() {
    return this.running;
  }
}

export function fakeDeployment(p: DeployPlan): Deployment & { fake: Map<string, FakeService> } {
  const fake = new Map(p.services.map((s) => [s.name, new FakeService(s)]));
  return {
    plan: p,
    runtime: 'native',
    runDir: '/tmp/none',
    services: fake,
    fake,
    service(name: string) {
      const s = fake.get(name);
      if (!s) throw new Error(`no service ${name}`);
      return s;
    },
    sideAddress(name: string, port: number) {
      return { host: this.service(name).address.host, port };
    },
    async down() {},
    async [Symbol.asyncDispose]() {},
  };
}

/** A clock that only moves when told: sleeps resolve in time order as it advances. */
export class VirtualClock implements Clock {
  t = 1_000_000;
  private timers: Array<{ at: number; resolve: () => void }> = [];
  now() {
    return this.t;
  }
  sleep(ms: number, signal: AbortSignal): Promise<void> {
    return new Promise((resolve, reject) => {
      if (signal.aborted) return reject(signal.reason);
      const timer = { at: this.t + Math.max(0, ms), resolve };
      this.timers.push(timer);
      signal.addEventListener(
        'abort',
        () => {
          this.timers = this.timers.filter((x) => x !== timer);
          reject(signal.reason);
        },
        { once: true },
      );
    });
  }
  /** Moves to `target` ms after the clock's origin, firing timers in order. */
  async advanceTo(target: number): Promise<void> {
    for (;;) {
      await new Promise((r) => setImmediate(r));
      this.timers.sort((a, b) => a.at - b.at);
      const next = this.timers[0];
      if (!next || next.at > target) break;
      this.timers.shift();
      this.t = next.at;
      next.resolve();
    }
    this.t = Math.max(this.t, target);
    await new Promise((r) => setImmediate(r));
  }
}
