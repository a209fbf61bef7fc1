// The one small interface every fault implements, and the context it is applied in.
//
// A FaultKind is the registered plug-in ("latency", "kill", ...): it validates a target and
// parameters against a deploy plan (pure, before anything starts) and returns a Fault bound to
// them. A Fault is applied once; the AppliedFault it returns reverts it. Contracts:
// - create() throws BenchError('usage') naming the valid targets or the bad parameter;
// - apply() either leaves the fault fully in place or undoes what it did and throws;
// - revert() is idempotent and safe to call concurrently with itself (it runs once).
import type { Deployment, Progress } from '../../harness/runtime/types.ts';
import type { DeployPlan } from '../../harness/topology/plan.ts';
import type { ParamSpec, ParamValues } from './params.ts';

/** The Toxiproxy toxic types (the server's own names). */
export type ToxicType = 'latency' | 'bandwidth' | 'timeout' | 'reset_peer' | 'slow_close' | 'slicer' | 'limit_data';

/** Which direction of a connection a toxic acts on: upstream = client -> server. */
export type ToxicStream = 'upstream' | 'downstream';

export interface ToxicSpec {
  name: string;
  type: ToxicType;
  stream: ToxicStream;
  /** probability the toxic applies to a new connection, 0..1 */
  toxicity: number;
  attributes: Record<string, number>;
}

export interface ProxyState {
  name: string;
  listen: string;
  upstream: string;
  enabled: boolean;
  toxics: ToxicSpec[];
}

/**
 * What the faults need from Toxiproxy. The runtime's client (harness/runtime/toxiproxy-client.ts)
 * is adapted to it in chaos/toxiproxy.ts; a unit test passes a recording fake.
 */
export interface ToxiproxyApi {
  listProxies(): Promise<ProxyState[]>;
  setEnabled(proxy: string, enabled: boolean): Promise<void>;
  addToxic(proxy: string, toxic: ToxicSpec): Promise<void>;
  /** resolves when the toxic is gone, also when it was already gone */
  removeToxic(proxy: string, toxic: string): Promise<void>;
  /** points a proxy at another upstream ("host:port"); open connections are closed */
  setUpstream(proxy: string, upstream: string): Promise<void>;
  /** every proxy enabled, every toxic removed but the topology's baseline (targets/regions/latency.ts);
   *  upstreams are left as they are */
  resetAll(): Promise<void>;
}

/**
 * Reference counts shared by the faults of one run, so two overlapping faults that both take an
 * edge down (a partition and a host-down) do not bring it back while the other still holds it.
 */
export class Holds {
  private readonly counts = new Map<string, number>();

  /** true when this is the first hold on `key` (the caller must do the work) */
  acquire(key: string): boolean {
    const n = this.counts.get(key) ?? 0;
    this.counts.set(key, n + 1);
    return n === 0;
  }

  /** true when this was the last hold on `key` (the caller must undo the work) */
  release(key: string): boolean {
    const n = this.counts.get(key) ?? 0;
    if (n <= 1) {
      this.counts.delete(key);
      return n === 1;
    }
    this.counts.set(key, n - 1);
    return false;
  }

  held(key: string): boolean {
    return this.counts.has(key);
  }
}

/** Everything a fault may touch while applied. */
export interface FaultContext {
  deployment: Deployment;
  plan: DeployPlan;
  /** null when the run has no Toxiproxy (edge faults then refuse at create()) */
  toxiproxy: ToxiproxyApi | null;
  progress: Progress;
  holds: Holds;
}

/** A fault in place; revert() undoes it (idempotent). */
export interface AppliedFault {
  /** what was done, for the fault window's detail ("toxic latency on 3 edges") */
  readonly detail: string;
  revert(): Promise<void>;
}

/** A fault bound to its target and parameters, ready to apply. */
export interface Fault {
  /** the kind's name: "latency", "kill" */
  readonly name: string;
  /** the target as the user wrote it, resolved: "app->pg-primary", "app-2", "app-host|db-host" */
  readonly target: string;
  /** one line: "latency 200 ms ± 50 ms on app->pg-primary" */
  describe(): string;
  apply(ctx: FaultContext): Promise<AppliedFault>;
}

/** What a target names. */
export type TargetKind = 'edge' | 'service' | 'host' | 'partition';

/** A registered fault plug-in. */
export interface FaultKind {
  readonly name: string;
  /** one line for help and docs */
  readonly summary: string;
  readonly target: TargetKind;
  /** parameters in positional order (the first may be written bare: `latency:EDGE:200ms`) */
  readonly params: readonly ParamSpec[];
  /** validates target and parameters against the plan; throws BenchError('usage') */
  create(target: string | undefined, params: ParamValues, plan: DeployPlan): Fault;
}
