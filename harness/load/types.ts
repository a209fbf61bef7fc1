// The load engine's public contract. The run lifecycle calls runLoad() (harness/load/engine.ts)
// with a schedule and targets; the engine returns the load side of results.json.
import type { LoadResults, SeriesPoint, Stage } from '../../reports/schema.ts';
import type { Workload } from '../../loadtests/workloads.ts';
import type { Catalogue } from '../../loadtests/catalogue.ts';
import type { Registry } from 'prom-client';
import type { LoadLedger } from './ledger-log.ts';
import type { ClientRegion } from './client-regions.ts';

export interface LoadTargets {
  /** base URL for API requests, e.g. http://127.3.1.1:8000 */
  api: string;
  /** base URL for static assets (the CDN edge where the phase has one) */
  static: string;
}

/** A write the system acknowledged (2xx): the set checker reads them all back after a drill. */
export interface AcknowledgedWrite {
  id: number;
  /** the name the write stored */
  value: string;
  /** when it was put on the wire, seconds since the load started: with atS, the interval in
   *  which it took effect (the checker orders writes by these intervals) */
  sentS: number;
  /** when it was acknowledged, seconds since the load started */
  atS: number;
}

/** A write sent that got no answer (timed out, connection lost) or a 5xx: it may or may not have
 *  taken effect, at any time after it was sent. */
export interface IndeterminateWrite {
  id: number;
  value: string;
  sentS: number;
}

/** Where the engine records writes when a write check will read them (chaos/write-log.ts). */
export interface WriteSink {
  acknowledged(w: AcknowledgedWrite): void;
  indeterminate(w: IndeterminateWrite): void;
}

/** Which shard a user id lives on (the app's own router), so failures are counted per shard. */
export interface ShardMap {
  /** shard names, in the router's index order */
  names: readonly string[];
  /** the index (into names) of the shard that owns user `id` */
  indexFor(id: number): number;
}

export interface LoadOptions {
  targets: LoadTargets;
  workload: Workload;
  /** the request types the workload's mix names; default: the apps' catalogue (loadtests/catalogue.ts) */
  catalogue?: Catalogue;
  /** seeded user ids are 1..users */
  users: number;
  stages: Stage[];
  seed: number;
  /** the load's sign-up salt (loadtests/lib/identity.ts): created ids are unique per load; default 0 */
  salt?: number;
  /** requests in flight at most; what is due beyond it is dropped and counted */
  maxInFlight?: number;
  /** count requests and failures per shard (user-id requests only); omitted: not counted */
  shards?: ShardMap;
  /** phase 7: the virtual users' client regions (client-regions.ts); the API's URL names the geo
   *  DNS's name, each region resolves it from its own source address and sends from there;
   *  omitted: every request goes to targets.api as given */
  clientRegions?: ClientRegion[];
  /** per-request timeout */
  timeoutMs?: number;
  /** called once per second of load with that second's figures (live progress) */
  onSecond?: (point: SeriesPoint) => void;
  /** tags every written value (bench-<runId>-<seed>-<n>), so a check tells this run's writes from
   *  an earlier run's with the same seed on the same deployment; omitted: the seed alone */
  runId?: string;
  /** records every write sent (acknowledged or not) for a write check; omitted: none is kept, so a
   *  long run that no check reads holds no memory for them */
  writeLog?: WriteSink;
  /** abort: stop scheduling, wait for in-flight requests (bounded), return what was measured */
  signal?: AbortSignal;
  /** serve the engine's metrics here (k6 names) for Prometheus to scrape; omitted: not served */
  metricsListen?: { host: string; port: number };
  /** register the engine's metrics in this registry instead (the caller serves it, and keeps
   *  serving after the load so Prometheus scrapes the final counts); wins over metricsListen */
  metricsRegistry?: Registry;
  /** generator threads (worker_threads), each sending its part of the schedule (threads.ts);
   *  default 1: this thread alone */
  generatorThreads?: number;
}

export interface LoadOutcome {
  results: LoadResults;
  /** the wall-clock time (ms since epoch) the schedule started; fault windows are relative to it */
  startedAtMs: number;
  /** per request of a type with a ledger (phase 6's uploads and payments), what the client saw;
   *  absent: the mix has no such type (or the driver cannot record it: k6) */
  ledger?: LoadLedger;
}
