// The FaultRunner: applies a schedule (schedule.ts) on the load's timeline, records each fault's
// window, and guarantees every applied fault is reverted, also on error or Ctrl-C.
import { BenchError } from '../harness/errors.ts';
import type { Progress } from '../harness/runtime/types.ts';
import type { FaultWindow } from '../reports/schema.ts';
import { TOXIC_PREFIX } from './faults/toxic-fault.ts';
import { Holds, type AppliedFault, type Fault, type FaultContext } from './faults/types.ts';
import type { ScheduledFault } from './schedule.ts';

/** Time for the runner; tests pass a virtual one. */
export interface Clock {
  /** ms since epoch */
  now(): number;
  /** resolves after `ms`, rejects with the signal's reason when it aborts first */
  sleep(ms: number, signal: AbortSignal): Promise<void>;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  sleep: (ms, signal) =>
    new Promise<void>((resolve, reject) => {
      if (signal.aborted) return reject(signal.reason);
      const timer = setTimeout(() => {
        signal.removeEventListener('abort', onAbort);
        resolve();
      }, Math.max(0, ms));
      const onAbort = () => {
        clearTimeout(timer);
        reject(signal.reason);
      };
      signal.addEventListener('abort', onAbort, { once: true });
    }),
};

/** Called when a fault turns on or off (the Prometheus gauge bench_fault_active). */
export type FaultObserver = (name: string, target: string, active: boolean) => void;

export interface FaultRunnerOptions {
  ctx: FaultContext;
  clock?: Clock;
  onFault?: FaultObserver;
  /** Ctrl-C: stop applying; dispose reverts what is applied */
  signal?: AbortSignal;
}

interface Active {
  fault: Fault;
  applied: AppliedFault;
  window: FaultWindow;
}

const round3 = (x: number) => Math.round(x * 1000) / 1000;

/**
 * Applies faults on a timeline relative to `t0Ms` and records their windows. Disposing it (also
 * on error or abort: `await using runner = new FaultRunner(...)`) stops the timeline, reverts
 * every fault still applied, newest first, and checks Toxiproxy is clean (resetAll if not).
 */
export class FaultRunner implements AsyncDisposable {
  readonly #ctx: FaultContext;
  readonly #clock: Clock;
  readonly #onFault: FaultObserver;
  readonly #stop = new AbortController();
  readonly #tasks: Promise<void>[] = [];
  readonly #active: Active[] = [];
  readonly #windows: FaultWindow[] = [];
  readonly #errors: string[] = [];
  #t0 = 0;
  #disposed: Promise<void> | null = null;
  #unlink: () => void = () => {};

  constructor(options: FaultRunnerOptions) {
    this.#ctx = options.ctx;
    this.#clock = options.clock ?? systemClock;
    this.#onFault = options.onFault ?? (() => {});
    const outer = options.signal;
    if (outer) {
      const onAbort = () => this.#stop.abort(outer.reason);
      if (outer.aborted) onAbort();
      else {
        outer.addEventListener('abort', onAbort, { once: true });
        this.#unlink = () => outer.removeEventListener('abort', onAbort);
      }
    }
  }

  /** Fault windows so far, seconds relative to t0 (endS null while applied). */
  get windows(): FaultWindow[] {
    return this.#windows.map((w) => ({ ...w }));
  }

  /** Faults that failed to apply or revert, as sentences. */
  get errors(): string[] {
    return [...this.#errors];
  }

  /** How many faults are applied right now. */
  get activeCount(): number {
    return this.#active.length;
  }

  #rel(): number {
    return round3((this.#clock.now() - this.#t0) / 1000);
  }

  /** Starts the timeline: each fault is applied `startS` after t0 and reverted after `durationS`.
   *  Faults due at the same time begin in schedule order (a kill before the failover that follows it). */
  start(schedule: readonly ScheduledFault[], t0Ms: number): void {
    if (this.#disposed) throw new Error('FaultRunner already disposed');
    this.#t0 = t0Ms;
    // Two timers for the same instant may fire in either order (each computes its own wait): the
    // one due later in the schedule waits until the one before it has begun.
    const lastBegun = new Map<number, Promise<void>>();
    for (const item of schedule) {
      const after = lastBegun.get(item.startS) ?? Promise.resolve();
      let began!: () => void;
      lastBegun.set(item.startS, new Promise<void>((r) => (began = r)));
      this.#tasks.push(this.#run(item, after, began));
    }
  }

  async #sleepUntil(ms: number): Promise<boolean> {
    const wait = ms - this.#clock.now();
    try {
      if (wait > 0 || this.#stop.signal.aborted) await this.#clock.sleep(Math.max(0, wait), this.#stop.signal);
      return !this.#stop.signal.aborted;
    } catch {
      return false;
    }
  }

  async #run(item: ScheduledFault, after: Promise<void>, began: () => void): Promise<void> {
    const due = await this.#sleepUntil(this.#t0 + item.startS * 1000);
    await after;
    if (!due || this.#stop.signal.aborted) return began();
    const active = await this.#apply(item.fault, began);
    if (!active || item.durationS === null) return;
    if (!(await this.#sleepUntil(this.#t0 + (item.startS + item.durationS) * 1000))) return; // dispose reverts
    await this.#revert(active);
  }

  async #apply(fault: Fault, began: () => void = () => {}): Promise<Active | null> {
    const window: FaultWindow = { name: fault.name, target: fault.target, startS: this.#rel(), endS: null, detail: fault.describe() };
    this.#windows.push(window);
    began();
    this.#ctx.progress(`chaos: ${fault.describe()} at ${window.startS.toFixed(1)} s`);
    this.#onFault(fault.name, fault.target, true);
    try {
      const applied = await fault.apply(this.#ctx);
      window.detail = `${fault.describe()}: ${applied.detail}`;
      const active = { fault, applied, window };
      this.#active.push(active);
      return active;
    } catch (err) {
      window.endS = this.#rel();
      const message = err instanceof Error ? err.message : String(err);
      window.detail = `${fault.describe()}: failed to apply: ${message}`;
      this.#errors.push(`${fault.describe()} failed to apply: ${message}`);
      this.#onFault(fault.name, fault.target, false);
      return null;
    }
  }

  async #revert(active: Active): Promise<boolean> {
    const i = this.#active.indexOf(active);
    if (i < 0) return true;
    this.#active.splice(i, 1);
    try {
      await active.applied.revert();
      return true;
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      this.#errors.push(`${active.fault.describe()} failed to revert: ${message}`);
      active.window.detail = `${active.window.detail ?? ''}; revert failed: ${message}`;
      return false;
    } finally {
      active.window.endS = this.#rel();
      this.#onFault(active.fault.name, active.fault.target, false);
      this.#ctx.progress(`chaos: ${active.fault.name} on ${active.fault.target} reverted at ${active.window.endS!.toFixed(1)} s`);
    }
  }

  /** Applies one fault now (outside the timeline); it stays until revertAll or dispose. */
  async applyNow(fault: Fault): Promise<boolean> {
    if (this.#disposed) throw new Error('FaultRunner already disposed');
    if (this.#t0 === 0) this.#t0 = this.#clock.now();
    return (await this.#apply(fault)) !== null;
  }

  /** Resolves when every scheduled fault has run its course (applied, and reverted if windowed). */
  async settled(): Promise<void> {
    await Promise.allSettled(this.#tasks);
  }

  /** Reverts every applied fault, newest first. True when every revert succeeded. */
  async revertAll(): Promise<boolean> {
    let ok = true;
    while (this.#active.length > 0) ok = (await this.#revert(this.#active[this.#active.length - 1]!)) && ok;
    return ok;
  }

  /** Stops the timeline, waits for faults mid-apply, reverts everything, and sweeps Toxiproxy. */
  [Symbol.asyncDispose](): Promise<void> {
    return (this.#disposed ??= this.#dispose());
  }

  async #dispose(): Promise<void> {
    this.#unlink();
    this.#stop.abort(new BenchError('interrupted', 'fault schedule stopped'));
    await Promise.allSettled(this.#tasks);
    await this.revertAll();
    const api = this.#ctx.toxiproxy;
    if (!api) return;
    // The last resort: whatever a failed revert (or a crash of a fault) left in Toxiproxy goes.
    try {
      const proxies = await api.listProxies();
      const left = proxies.filter((p) => !p.enabled || p.toxics.some((t) => t.name.startsWith(TOXIC_PREFIX)));
      if (left.length > 0) {
        this.#errors.push(`Toxiproxy still had faults on ${left.map((p) => p.name).join(', ')} after the reverts: reset`);
        await api.resetAll();
      }
    } catch (err) {
      this.#errors.push(`could not check Toxiproxy after the drill: ${err instanceof Error ? err.message : String(err)}`);
      await api.resetAll().catch(() => {});
    }
  }
}

/** A fault context for one run. */
export function faultContext(parts: Omit<FaultContext, 'holds' | 'progress'> & { progress?: Progress; holds?: FaultContext['holds'] }): FaultContext {
  return { progress: () => {}, ...parts, holds: parts.holds ?? new Holds() };
}
