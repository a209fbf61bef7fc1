// The embedded load engine: an open-model HTTP generator (like wrk2). Requests are sent
// at the times the schedule says, whatever the server does; latency runs from that intended time,
// so a server stall shows in the percentiles instead of silently slowing the generator down
// (coordinated omission). Everything it measures lands in LoadResults (reports/schema.ts).
// HTTP goes through a Transport (transport/): the engine's own client on net.Socket by default,
// undici as the fallback. What it sends comes from the request catalogue (loadtests/catalogue.ts,
// compiled by requests.ts): the engine draws the variables an entry asks for and never names a
// request type. What it counts lives in aggregation.ts; arrivals and lag in scheduler.ts.
import { readFileSync } from 'node:fs';
import type { Server } from 'node:http';
import { catalogue as builtInCatalogue } from '../../loadtests/catalogue.ts';
import { mixWeights } from '../../loadtests/workloads.ts';
import type { LoadResults, SeriesPoint } from '../../reports/schema.ts';
import { envError, usageError } from '../errors.ts';
import { Aggregation } from './aggregation.ts';
import { closeMetrics, EngineMetrics, serveMetrics } from './metrics.ts';
import { seededRandom, weightedPicker, zipfSampler, type Random, type ZipfSampler } from './random.ts';
import { compileCatalogue, RequestBuilder, type CompiledType } from './requests.ts';
import { ArrivalSchedule, LagTracker, Scheduler, systemClock, type Clock, type SchedulePart } from './scheduler.ts';
import { DONE, InFlight, ON_WIRE, Origin as OriginOf, QUEUED } from './slots.ts';
import { ConnectionClosedError, SocketTransport } from './transport/socket.ts';
import type { PreparedRequest, ResponseHandler, Transport, TransportKind } from './transport/types.ts';
import { UndiciTransport } from './transport/undici.ts';
import { RegionClients } from './client-regions.ts';
import type { LoadOptions, LoadOutcome } from './types.ts';
import { createdUserId } from '../../loadtests/lib/identity.ts';
import { operationId } from '../../loadtests/catalogue.ts';
import { ledgerOutcome, LedgerLog } from './ledger-log.ts';

export const DEFAULT_MAX_IN_FLIGHT = 2000;
export const DEFAULT_TIMEOUT_MS = 5000;
/** how long past the schedule's end a backlog may still be sent before it is cut (dropped) */
const END_GRACE_MS = 1000;
/** what Atomics.wait sleeps on: nobody ever notifies it, so a wait always runs to its timeout */
const SLEEPER = new Int32Array(new SharedArrayBuffer(4));

/** Knobs the run lifecycle does not need; the benchmark and tests use them. */
export interface EngineTuning {
  /**
   * connections per origin; default: as many as the in-flight cap (see connectionsFor). Below
   * that, requests can wait in the engine for a connection: that wait is judged like the
   * scheduler's lag (generator.limited), so a cap set here cannot hide behind the system.
   */
  connections?: number;
  /** most requests handed out in one event-loop turn (default 256) */
  batchMax?: number;
  /**
   * wait for a due request by spinning (setImmediate) when it is closer than this; default 0: never
   * spin, which keeps the generator's CPU proportional to its rate at ~1 ms timing resolution
   */
  spinMs?: number;
  /**
   * when the next request is due within this (ms), block the thread until it is due (Atomics.wait)
   * rather than sleep on a 1 ms timer; an answer arriving meanwhile is read at most this late.
   * Default 0 (off): each such sleep costs a futex wake-up, +10% CPU at 25k req/s and +50-70% at
   * 5-12k req/s on the reference machine. See "Timing resolution" in docs/LOAD-ENGINE.md.
   */
  microSleepMs?: number;
  /** a scheduler lag above this, sustained for lagSustainMs, marks the generator saturated */
  lagThresholdMs?: number;
  lagSustainMs?: number;
  /** after an abort, how long in-flight requests may still finish (default min(timeout, 2 s)) */
  abortDrainMs?: number;
  /**
   * the HTTP client: 'socket' (default), the engine's own on net.Socket, ~2x cheaper per request
   * (docs/LOAD-ENGINE.md); 'undici', the fallback
   */
  transport?: TransportKind;
  clock?: Clock;
  /** send only this part of the schedule (one generator thread's: threads.ts); default: all */
  part?: SchedulePart;
  /**
   * after the warm-up, wait for this to give the schedule's time 0 (clock ms), so every thread's
   * part starts on one time axis; default: start as soon as warmed up
   */
  startGate?: () => Promise<number>;
  /** where per-request metrics go instead of a registry of this thread (a worker relays them) */
  metricsSink?: MetricsSink;
}

/** What the engine tells its metrics (metrics.ts's EngineMetrics, or a worker's relay). */
export type MetricsSink = Pick<EngineMetrics, 'request' | 'droppedOne' | 'second'>;

/** One part's outcome with its histograms encoded, so parts merge exactly (threads.ts). */
export interface PartOutcome extends LoadOutcome {
  /** LatencyHistogram.encode() per type name, and of the failure histogram */
  histograms: { types: Record<string, string>; failure: string };
}

/** file descriptors kept back from the connection budget (logs, the metrics server, stdio) */
const RESERVED_FDS = 256;

/**
 * Connections per origin: one per in-flight slot, as a population of users would open them, within
 * the process's file-descriptor budget shared by `origins`. Both transports open connections lazily
 * (only when every open one is busy), so a fast target uses a handful, and a slow one as many as
 * its latency times the rate. A bound sized to the rate instead (say 50 ms a request) turns the
 * open model into a closed one the moment latency passes it: at 694 req/s, 35 connections carried
 * at most 35 requests at a time and the rest queued inside the generator (the flagship's client
 * p50 was 2.6 s while the apps measured 9.5 ms).
 */
export function connectionsFor(maxInFlight: number, origins: number, fdLimit: number = openFileLimit()): number {
  const budget = Math.floor((fdLimit - RESERVED_FDS) / Math.max(1, origins));
  return Math.max(1, Math.min(maxInFlight, budget));
}

/** The soft limit on open files (Linux: /proc/self/limits); 1024, a common default, elsewhere. */
export function openFileLimit(): number {
  try {
    const m = /^Max open files\s+(\d+|unlimited)/m.exec(readFileSync('/proc/self/limits', 'utf8'));
    if (m) return m[1] === 'unlimited' ? Number.MAX_SAFE_INTEGER : Number(m[1]);
  } catch {
    // not Linux: fall through
  }
  return 1024;
}

/** Sends a workload at the arrival rate of `options.stages` and measures it; see the file comment. */
export async function runLoad(options: LoadOptions, tuning: EngineTuning = {}): Promise<LoadOutcome> {
  if ((options.generatorThreads ?? 1) > 1) {
    // loaded here, not at the top: threads.ts imports this file
    const { runThreaded } = await import('./threads.ts');
    return runThreaded(options, tuning);
  }
  const engine = new Engine(options, tuning);
  return engine.run();
}

/** runLoad for one part of the schedule, with the histograms a merge needs (a worker's side). */
export async function runLoadPart(options: LoadOptions, tuning: EngineTuning): Promise<PartOutcome> {
  const engine = new Engine(options, tuning);
  const outcome = await engine.run();
  return { ...outcome, histograms: engine.histograms() };
}

type Origin = OriginOf<Req>;

class TimeoutError extends Error {
  readonly code = 'BENCH_TIMEOUT';
}
class ShutdownError extends Error {
  readonly code = 'BENCH_ABORTED';
}

// One object per HTTP request, its own response handler (no closure, no adapter per request).
class Req implements ResponseHandler {
  state = QUEUED;
  status = 0;
  sid: string | null = null;
  /** the region that served the answer (client regions only; null: not read, or not named) */
  servedBy: string | null = null;
  link: unknown = null;
  timedOut = false;
  /** when it went on the wire (a write's interval starts here) */
  sentMs = 0;
  /** the shard of the user id it touches (LoadOptions.shards); -1: none or not counted */
  shard = -1;
  /** the session cookie a follow-up sends (what its type's first answer set) */
  session: string | null = null;
  prev: Req | null = null;
  next: Req | null = null;
  /** a type with a ledger: the request's number in the load, and the operation id it carries */
  seq = 0;
  opId = '';
  readonly wantSid: boolean;

  constructor(
    readonly engine: Engine,
    readonly type: CompiledType,
    /** 0 = the type's first request; 1.. = its follow-ups (a login's GET /api/me) */
    readonly step: number,
    readonly dueMs: number,
    readonly deadlineMs: number,
    readonly origin: Origin,
    readonly wire: PreparedRequest,
    /** the variables drawn for it (-1 / null / -1: none), kept for its follow-ups */
    readonly id: number,
    readonly name: string | null,
    readonly asset: number,
    /** the name a write stores (null: not a write, or a follow-up) */
    readonly writeValue: string | null,
  ) {
    this.wantSid = step === 0 && type.setsSession;
  }

  onResponse(status: number, sid: string | null, region: string | null): void {
    this.status = status;
    this.sid = sid;
    this.servedBy = region;
    this.engine.finish(this, null);
  }

  onFailure(err: Error): void {
    this.engine.finish(this, err);
  }
}

/** The error kinds results.json reports (errorKinds keys). */
export function errorKind(err: unknown): string {
  if (err instanceof TimeoutError) return 'timeout';
  if (err instanceof ShutdownError) return 'aborted';
  if (err instanceof ConnectionClosedError) return 'connection_closed';
  const code = (err as { code?: unknown } | null)?.code;
  switch (code) {
    case 'UND_ERR_HEADERS_TIMEOUT':
    case 'UND_ERR_BODY_TIMEOUT':
    case 'UND_ERR_CONNECT_TIMEOUT':
    case 'ETIMEDOUT':
      return 'timeout';
    case 'ECONNREFUSED':
      return 'connection_refused';
    case 'ECONNRESET':
    case 'EPIPE':
      return 'connection_reset';
    case 'UND_ERR_SOCKET':
      return 'connection_closed';
    case 'BENCH_STALE_KEEPALIVE':
      // the client reused a connection the server had timed out: not the system's failure
      return 'stale_keepalive';
    case 'EADDRNOTAVAIL':
    case 'EMFILE':
    case 'ENFILE':
      return 'client_resources';
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
      return 'unreachable';
    default:
      return 'other';
  }
}

class Engine {
  private readonly clock: Clock;
  private readonly maxInFlight: number;
  private readonly timeoutMs: number;
  private readonly batchMax: number;
  private readonly spinMs: number;
  private readonly microSleepMs: number;
  private readonly abortDrainMs: number;
  private readonly schedule: ArrivalSchedule;
  private readonly scheduler: Scheduler;
  /** how long requests wait in the engine for a connection (below the in-flight cap: the generator's limit) */
  private readonly queueWait: LagTracker;
  private readonly rng: Random;
  private readonly picker: { pick(rng: Random): string };
  private readonly zipf: ZipfSampler | null;
  /** the catalogue's entries, compiled, in its order; by name for the picker */
  private readonly types: readonly CompiledType[];
  private readonly typeByName: Map<string, CompiledType>;
  /** the types the mix weighs: the only ones reported */
  private readonly typesInMix: CompiledType[];
  private readonly builder: RequestBuilder;
  /** an Origin per catalogue origin name (one shared when two names have one URL) */
  private readonly originOf: Record<CompiledType['origin'], Origin>;
  private readonly origins: Origin[];
  /** phase 7's client regions: an API origin each (client-regions.ts); null: one origin per URL */
  private readonly regions: RegionClients<Origin> | null = null;
  /** the catalogue origin names that go through the client regions (those with the API's URL) */
  private readonly regional = new Set<CompiledType['origin']>();
  private readonly agg: Aggregation;
  /** what the client saw of each request of a type with a ledger; null: the mix has none */
  private readonly ledger: LedgerLog | null;
  /** the run id and the seed in base 36: write names are bench-<runId>-<seed>-<n>, deterministic
   *  for a seed and unique per run */
  private readonly seedTag: string;
  private metrics: MetricsSink | null = null;
  private readonly tuning: EngineTuning;
  /** the index (from 1) of the last request whose variables were drawn */
  private drawn = 0;
  private drawId = -1;
  private drawAsset = -1;
  private drawName: string | null = null;
  private metricsServer: Server | null = null;

  private startMs = 0;
  private endOfSchedulingMs = NaN;
  private drainDeadlineMs = NaN;
  /** admitted and not done, in admission order (slots.ts) */
  private readonly slots = new InFlight<Req>();
  private createSeq = 0;
  private writeSeq = 0;
  private peakRss = 0;
  /** the next request's due time as of the last tick (completions compare against it) */
  private nextDueMs = 0;
  private tickTimer: NodeJS.Timeout | null = null;
  private tickImmediate: NodeJS.Immediate | null = null;
  private housekeeping: NodeJS.Timeout | null = null;
  private finished = false;
  private completing = false;
  /** the schedule ended with requests still due and unsent: the generator could not keep up */
  private backlogCut = false;
  /** ... and the in-flight cap was not full when it was cut: the generator, not the system, was late */
  private backlogCutWithFreeSlots = false;
  private startedAtWallMs = 0;
  private resolveDone: (() => void) | null = null;
  private callbackError: unknown = null;

  constructor(
    private readonly options: LoadOptions,
    tuning: EngineTuning,
  ) {
    validate(options);
    this.tuning = tuning;
    this.clock = tuning.clock ?? systemClock;
    this.maxInFlight = options.maxInFlight ?? DEFAULT_MAX_IN_FLIGHT;
    this.timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.batchMax = tuning.batchMax ?? 256;
    this.spinMs = tuning.spinMs ?? 0;
    this.microSleepMs = tuning.microSleepMs ?? 0;
    this.abortDrainMs = tuning.abortDrainMs ?? Math.min(this.timeoutMs, 2000);
    this.schedule = new ArrivalSchedule(options.stages);
    this.scheduler = new Scheduler(this.schedule, this.clock, {
      lagThresholdMs: tuning.lagThresholdMs,
      sustainMs: tuning.lagSustainMs,
      freeSlots: () => this.inFlight < this.maxInFlight,
      part: tuning.part,
    });
    this.queueWait = new LagTracker({
      lagThresholdMs: tuning.lagThresholdMs,
      sustainMs: tuning.lagSustainMs,
      // A request waits for a connection while fewer than maxInFlight are on the wire: the
      // engine's own connection cap held it, not the system (a login's follow-up, admitted past
      // a full cap, may wait too; that is the system's doing).
      freeSlots: () => this.onWireTotal() < this.maxInFlight,
    });
    this.rng = seededRandom(options.seed);
    const cat = options.catalogue ?? builtInCatalogue;
    let weights: Record<string, number>;
    try {
      // the catalogue's order (not the mix literal's), as the k6 planner reads it: one seed, one stream
      weights = mixWeights(options.workload, cat);
      this.picker = weightedPicker(weights);
    } catch (err) {
      throw usageError((err as Error).message, 'weigh request types the catalogue (loadtests/catalogue.ts) defines');
    }
    this.types = compileCatalogue(cat);
    this.typeByName = new Map(this.types.map((t) => [t.name, t]));
    this.typesInMix = this.types.filter((t) => weights[t.name] > 0);
    this.ledger = this.typesInMix.some((t) => t.ledger >= 0) ? new LedgerLog(options.seed, options.salt ?? 0) : null;
    this.zipf = this.typesInMix.some((t) => t.draw === 'seeded') ? zipfSampler(options.users, options.workload.zipfS) : null;
    this.seedTag = `${options.runId ? `${options.runId}-` : ''}${(options.seed >>> 0).toString(36)}`;
    // One Origin per distinct URL (the app and the CDN edge may be one server). Phase 7's client
    // regions and Host names are properties of an origin: they go here, not into the catalogue.
    const urls = { api: new URL(options.targets.api).origin, static: new URL(options.targets.static).origin };
    const cr = options.clientRegions;
    // with client regions, the API's URL is reached through them only
    const distinct = [...new Set(Object.values(urls))].filter((u) => !cr || u !== urls.api);
    const connections = tuning.connections ?? connectionsFor(this.maxInFlight, distinct.length + (cr?.length ?? 0));
    const kind = tuning.transport ?? 'socket';
    const transportFor = (url: string): Transport => (kind === 'undici' ? new UndiciTransport(url, connections, this.timeoutMs) : new SocketTransport(url, connections));
    const byUrl = new Map(distinct.map((u) => [u, new OriginOf<Req>(transportFor(u), connections)]));
    if (cr) {
      if (kind !== 'socket') throw usageError('client regions need the socket transport (a source address and a geo lookup per connection)', 'leave the transport at its default');
      this.regions = new RegionClients<Origin>(cr, (r, lookup) => new OriginOf<Req>(new SocketTransport(urls.api, connections, { localAddress: r.localAddress, lookup, servingRegion: true }), connections), () => this.clock.now());
      for (const name of ['api', 'static'] as const) if (urls[name] === urls.api) this.regional.add(name);
    }
    // a regional name's entry here is the first region's: the builder prepares on it (every
    // region's transport has the same origin, so a prepared request goes out on any of them)
    const at = (u: string) => byUrl.get(u) ?? this.regions!.origins[0]!;
    this.originOf = { api: at(urls.api), static: at(urls.static) };
    this.origins = [...byUrl.values(), ...(this.regions?.origins ?? [])];
    this.builder = new RequestBuilder(this.types, (t) => this.originOf[t.origin].transport);
    this.agg = new Aggregation(
      this.types.map((t) => t.name),
      options.shards?.names,
      (t) => this.schedule.countAt(t + 1) - this.schedule.countAt(t),
      (point) => this.onPoint(point),
    );
  }

  async run(): Promise<LoadOutcome> {
    const { signal, metricsListen } = this.options;
    try {
      if (this.tuning.metricsSink) {
        this.metrics = this.tuning.metricsSink;
      } else if (this.options.metricsRegistry) {
        // The harness serves this registry for the whole run, so the last second is scraped too.
        this.metrics = new EngineMetrics(this.typesInMix.map((t) => t.name), () => this.inFlight, this.options.metricsRegistry);
      } else if (metricsListen) {
        const served = new EngineMetrics(this.typesInMix.map((t) => t.name), () => this.inFlight);
        this.metrics = served;
        try {
          this.metricsServer = await serveMetrics(served.registry, metricsListen.host, metricsListen.port);
        } catch (err) {
          throw envError(
            `cannot serve the load engine's metrics on ${metricsListen.host}:${metricsListen.port}: ${(err as Error).message}`,
            'free that port or choose another metrics address',
          );
        }
      }
      // Warm-up: connections for the opening rate (at ~10 ms a request), at most 64 per origin.
      const opening = Math.min(64, 1 + Math.ceil(this.schedule.rateAt(0) * 0.01));
      await Promise.all(this.origins.map((o) => o.transport.warmUp(Math.min(o.connections, opening), Math.min(this.timeoutMs, 2000))));
      const done = new Promise<void>((resolve) => (this.resolveDone = resolve));
      const onAbort = () => this.abort();
      signal?.addEventListener('abort', onAbort, { once: true });
      this.startMs = this.tuning.startGate ? await this.tuning.startGate() : this.clock.now();
      this.agg.start(this.startMs);
      this.startedAtWallMs = Date.now();
      this.scheduler.start(this.startMs);
      this.housekeeping = setInterval(() => this.housekeep(), 20);
      if (signal?.aborted) this.abort();
      else this.tick();
      await done;
      signal?.removeEventListener('abort', onAbort);
    } finally {
      await this.close();
    }
    if (this.callbackError !== null) throw this.callbackError;
    return { results: this.results(), startedAtMs: this.startedAtWallMs, ...(this.ledger ? { ledger: this.ledger.result() } : {}) };
  }

  // ---- scheduling -------------------------------------------------------------------------

  // The loop never spins: it sleeps on a timer until the next request is due, and a completion
  // that finds requests already due wakes it early (one setImmediate per loop turn). At high
  // rates completions arrive all the time, so requests leave on time; at low rates a timer's
  // 1 ms granularity can make a request up to ~1-2 ms late, which is counted in its latency and
  // in the lag. Spinning instead (setImmediate until due) cost a full core at 10k req/s.
  private readonly tick = (): void => {
    this.tickTimer = null;
    this.tickImmediate = null;
    if (this.finished) return;
    this.drainQueues();
    const n = this.scheduler.drain(this.onDue, this.batchMax);
    if (this.scheduler.done) {
      this.nextDueMs = Infinity;
      this.schedulingEnded(this.startMs + this.schedule.durationS * 1000, this.timeoutMs + 1000);
      return;
    }
    this.nextDueMs = this.scheduler.nextDueMs();
    if (n >= this.batchMax) {
      this.tickImmediate = setImmediate(this.tick);
      return;
    }
    const wait = this.nextDueMs - this.clock.now();
    if (wait < this.spinMs) this.tickImmediate = setImmediate(this.tick);
    else if (wait < this.microSleepMs) {
      // Sleep the thread to the due time (futex, µs precision, no CPU) instead of a 1 ms timer,
      // then go round the event loop once so the answers that came in meanwhile are read.
      Atomics.wait(SLEEPER, 0, 0, wait);
      this.tickImmediate = setImmediate(this.tick);
    } else this.tickTimer = setTimeout(this.tick, Math.max(1, Math.floor(wait)));
  };

  /** Runs the loop on the next turn (a completion freed a connection, or requests are due). */
  private wake(): void {
    if (this.finished || this.tickImmediate !== null) return;
    if (this.tickTimer !== null) {
      clearTimeout(this.tickTimer);
      this.tickTimer = null;
    }
    if (this.scheduler.done) {
      this.tickImmediate = setImmediate(() => {
        this.tickImmediate = null;
        this.drainQueues();
      });
    } else {
      this.tickImmediate = setImmediate(this.tick);
    }
  }

  /**
   * Draws the next request's variables (into drawId/drawAsset/drawName) and returns its type.
   * Draw order: the type, its id, its asset (the k6 planner draws in the same order).
   */
  private draw(): CompiledType {
    this.drawn++;
    const t = this.typeByName.get(this.picker.pick(this.rng))!;
    this.drawId = -1;
    this.drawAsset = -1;
    this.drawName = null;
    if (t.draw === 'seeded') this.drawId = this.zipf!.sample(this.rng);
    else if (t.draw === 'created') this.drawId = createdUserId(this.options.users, this.options.salt ?? 0, ++this.createSeq);
    if (t.assets !== null) this.drawAsset = this.rng.int(t.assets.length);
    if (t.write) this.drawName = `bench-${this.seedTag}-${++this.writeSeq}`;
    return t;
  }

  private readonly onDue = (dueMs: number, k: number, now: number): void => {
    // Every random draw and counter happens before the in-flight check, so the same seed gives
    // the same sequence of requests (types, ids, names) however many of them the cap drops. A
    // thread that owns a part of the schedule draws the other parts' requests too and sends only
    // its own: every thread then sends exactly what one thread would (same ids, unique names)
    // for the price of a draw, well under a microsecond, per request it skips.
    while (this.drawn < k - 1) this.draw();
    const t = this.draw();
    const id = this.drawId;
    const asset = this.drawAsset;
    const name = this.drawName;
    // Handed out past its deadline (the generator was stalled longer than the timeout): sent, it
    // could only time out, blamed on a system that never saw it, and each such abort costs a
    // connection; a 10-minute soak on a loaded machine never caught up after a stall that way
    // (every backlogged request sent, timed out, its connection closed and reopened). It is
    // dropped, as at the in-flight cap; the lag that made it late is reported.
    if (this.inFlight >= this.maxInFlight || now >= dueMs + this.timeoutMs) {
      this.dropOne();
      return;
    }
    const origin = this.regions && this.regional.has(t.origin) ? this.regions.pick(k) : this.originOf[t.origin];
    // the k-th request's id, the same in every thread and in k6 (operationId): only sent ones get one
    const opId = t.ledger >= 0 ? operationId(this.options.seed, this.options.salt ?? 0, k) : '';
    const req = new Req(this, t, 0, dueMs, dueMs + this.timeoutMs, origin, this.builder.build(t, 0, id, name, asset, null, opId), id, name, asset, name);
    req.seq = k;
    req.opId = opId;
    if (id > 0 && this.options.shards) req.shard = this.options.shards.indexFor(id);
    this.admit(req);
    if (origin.onWire < origin.connections && origin.queued === 0) this.send(req);
    else origin.push(req);
  };

  private get inFlight(): number {
    return this.slots.count;
  }

  private admit(req: Req): void {
    this.slots.admit(req);
  }

  private unlink(req: Req): void {
    this.slots.remove(req);
  }

  private send(req: Req): void {
    req.state = ON_WIRE;
    if (req.writeValue !== null) req.sentMs = this.clock.now();
    req.origin.onWire++;
    req.origin.transport.send(req.wire, req);
  }

  private onWireTotal(): number {
    let n = 0;
    for (const o of this.origins) n += o.onWire;
    return n;
  }

  /** Samples how long the oldest request waiting for a connection has waited (0: none waits). */
  private observeQueueWait(now: number): void {
    let oldest = Infinity;
    for (const o of this.origins) {
      const due = o.oldestQueuedDueMs();
      if (due < oldest) oldest = due;
    }
    this.queueWait.observe(oldest === Infinity ? 0 : Math.max(0, now - oldest), now);
  }

  private anyQueued(): boolean {
    for (const o of this.origins) if (o.queued > 0) return true;
    return false;
  }

  private drainQueues(): void {
    for (const origin of this.origins) {
      while (origin.onWire < origin.connections && origin.queued > 0) {
        const req = origin.shift();
        if (!req) break;
        this.send(req);
      }
    }
  }

  private dropOne(): void {
    this.agg.rollTo(this.clock.now());
    this.agg.droppedSome(1);
    this.metrics?.droppedOne();
  }

  // ---- completion -------------------------------------------------------------------------

  /** Called once per request by the transport (answer or error), by the timeout sweep, or at shutdown. */
  finish(req: Req, err: Error | null): void {
    if (req.state === DONE) return;
    const wasOnWire = req.state === ON_WIRE;
    req.state = DONE;
    this.unlink(req);
    if (wasOnWire) req.origin.onWire--;
    const now = this.clock.now();
    this.agg.rollTo(now);
    const t = req.type;
    const step = t.steps[req.step];
    let error: string | null;
    let status = 0;
    let expected = false;
    if (err !== null || req.timedOut) {
      // No response came: its time to failure goes in its own histogram (aggregation.ts).
      error = req.timedOut ? 'timeout' : errorKind(err);
    } else {
      status = req.status;
      if (status < 600 && step.expected[status] === 1) {
        expected = true;
        error = req.wantSid && req.sid === null ? 'no_session' : null;
      } else if (status >= 500) {
        error = 'http_5xx';
      } else if (status >= 400) {
        // A 404 on a read is an error too: every id read was seeded.
        error = 'http_4xx';
      } else {
        // an answer below 400 the entry does not expect (a 200 where it waits for a 202)
        error = 'unexpected_status';
      }
    }
    const failed = error !== null;
    // the ledger's history: what the client saw of an operation it sent (its first step)
    if (t.ledger >= 0 && req.step === 0 && wasOnWire) this.ledger!.record(t.ledger, req.seq, ledgerOutcome(status !== 0, status, expected));
    const latencyUs = (now - req.dueMs) * 1000;
    this.agg.finished(t.index, status, error, req.shard, latencyUs);
    if (error !== 'stale_keepalive') this.regions?.record(req.origin, failed, latencyUs, req.servedBy, now - this.startMs);
    if (!failed && req.writeValue !== null && status >= 200 && status < 300) {
      this.options.writeLog?.acknowledged({ id: req.id, value: req.writeValue, sentS: round3((req.sentMs - this.startMs) / 1000), atS: round3((now - this.startMs) / 1000) });
    }
    // Sent and not answered, or a 5xx (a commit whose answer was lost, a balancer's timeout): it
    // may have taken effect. A 4xx, or a request never sent, did not.
    if (failed && wasOnWire && req.writeValue !== null && (status === 0 || status >= 500)) {
      this.options.writeLog?.indeterminate({ id: req.id, value: req.writeValue, sentS: round3((req.sentMs - this.startMs) / 1000) });
    }
    // A stale keep-alive connection is the generator's, not a request the system failed: the live
    // series leave it out as results.json's totals do (aggregation.ts).
    if (error !== 'stale_keepalive') this.metrics?.request(t.name, step.method, status, failed, status !== 0 ? latencyUs / 1e6 : undefined);

    if (this.completing) return;
    if (!failed && req.step + 1 < t.steps.length) this.followUp(req, now);
    if (now >= this.nextDueMs || this.anyQueued()) this.wake();
    else if (this.inFlight === 0 && !Number.isNaN(this.endOfSchedulingMs)) this.complete();
  }

  /** The type's next step (a login's GET /api/me, with the session), due the moment `prev` answered. */
  private followUp(prev: Req, now: number): void {
    const session = prev.wantSid ? prev.sid : prev.session;
    const wire = this.builder.build(prev.type, prev.step + 1, prev.id, prev.name, prev.asset, session, prev.opId);
    const req = new Req(this, prev.type, prev.step + 1, now, now + this.timeoutMs, prev.origin, wire, prev.id, prev.name, prev.asset, null);
    req.session = session;
    req.opId = prev.opId;
    req.shard = prev.shard;
    this.admit(req);
    // Queued rather than sent here: on undici the connection that just answered is still marked
    // busy until this callback returns, and dispatching now would open a new one.
    prev.origin.unshift(req);
    this.wake();
  }

  // ---- housekeeping: seconds, timeouts, the end -------------------------------------------

  private housekeep(): void {
    if (this.finished) return;
    const now = this.clock.now();
    this.agg.rollTo(now);
    this.sweepTimeouts(now);
    this.observeQueueWait(now);
    const scheduleEndMs = this.startMs + this.schedule.durationS * 1000;
    if (Number.isNaN(this.endOfSchedulingMs) && !this.scheduler.done && now >= scheduleEndMs + END_GRACE_MS) this.cutBacklog(now);
    if (Number.isNaN(this.endOfSchedulingMs) && this.scheduler.done) {
      this.schedulingEnded(this.startMs + this.schedule.durationS * 1000, this.timeoutMs + 1000);
    }
    if (!Number.isNaN(this.endOfSchedulingMs) && (this.inFlight === 0 || now >= this.drainDeadlineMs)) this.complete();
  }

  private sweepTimeouts(now: number): void {
    // Admission order is (nearly) deadline order, so expired requests sit at the head.
    let req = this.slots.head;
    while (req !== null && req.deadlineMs <= now) {
      const next = req.next;
      req.timedOut = true;
      const onWire = req.state === ON_WIRE;
      const err = new TimeoutError('request timed out');
      this.finish(req, err);
      // Aborting closes the connection, as it must: the answer may still be on its way.
      if (onWire) req.origin.transport.abort(req, err);
      req = next;
    }
  }

  /**
   * The schedule is over but a backlog is still due (the generator fell behind): the run does not
   * stretch to send it. Those requests count as dropped, and the lag that built them stays
   * reported, so a run ends on time whatever happens.
   */
  private cutBacklog(now: number): void {
    this.scheduler.report(); // folds the backlog's lag into maxLagMs before stop() hides it
    this.backlogCut = true;
    this.backlogCutWithFreeSlots = this.inFlight < this.maxInFlight;
    const left = this.scheduler.owned - this.scheduler.sent;
    this.scheduler.stop();
    this.agg.rollTo(now);
    this.agg.droppedSome(left);
    for (let i = 0; i < left; i++) this.metrics?.droppedOne();
    this.schedulingEnded(this.startMs + this.schedule.durationS * 1000, this.timeoutMs + 1000);
  }

  /** No more requests will be handed out; in-flight ones get until now + drainMs. */
  private schedulingEnded(endMs: number, drainMs: number): void {
    if (!Number.isNaN(this.endOfSchedulingMs)) return;
    this.endOfSchedulingMs = endMs;
    this.drainDeadlineMs = this.clock.now() + drainMs;
    if (this.inFlight === 0) this.complete();
  }

  private abort(): void {
    if (this.finished) return;
    this.scheduler.stop();
    const now = this.clock.now();
    if (Number.isNaN(this.endOfSchedulingMs)) {
      this.schedulingEnded(Math.min(now, this.startMs + this.schedule.durationS * 1000), this.abortDrainMs);
    } else {
      // Aborted while draining after the schedule: shorten the wait, do not extend it.
      this.drainDeadlineMs = Math.min(this.drainDeadlineMs, now + this.abortDrainMs);
    }
  }

  /** A second closed (aggregation.ts): the generator's own figures, then the live progress. */
  private onPoint(point: SeriesPoint): void {
    const rss = process.memoryUsage.rss();
    if (rss > this.peakRss) this.peakRss = rss;
    this.metrics?.second(this.inFlight, Math.max(this.scheduler.takeWindowMaxLagMs(), this.queueWait.takeWindowMax()));
    if (this.options.onSecond && this.callbackError === null) {
      try {
        this.options.onSecond(point);
      } catch (err) {
        // A failing progress callback stops the run (cleanly) and is rethrown by runLoad.
        this.callbackError = err;
        queueMicrotask(() => this.abort());
      }
    }
  }

  private complete(): void {
    if (this.finished || this.completing) return;
    this.completing = true;
    const now = this.clock.now();
    // Whatever is still in flight at the drain deadline is given up on, counted as an 'aborted'
    // error, and cut; what never left its queue was not sent, so it counts as dropped.
    this.agg.rollTo(now);
    let req = this.slots.head;
    while (req !== null) {
      const next = req.next;
      if (req.state === QUEUED) {
        req.state = DONE;
        this.unlink(req);
        this.agg.droppedSome(1);
        this.metrics?.droppedOne();
      } else {
        const err = new ShutdownError('still in flight when the run ended');
        this.finish(req, err);
        req.origin.transport.abort(req, err);
      }
      req = next;
    }
    this.finished = true;
    if (Number.isNaN(this.endOfSchedulingMs)) this.endOfSchedulingMs = now;
    // The last, partial second is emitted too, so the series accounts for every request.
    this.agg.flush(now);
    const rss = process.memoryUsage.rss();
    if (rss > this.peakRss) this.peakRss = rss;
    this.resolveDone?.();
  }

  private async close(): Promise<void> {
    this.finished = true;
    if (this.tickTimer) clearTimeout(this.tickTimer);
    if (this.tickImmediate) clearImmediate(this.tickImmediate);
    if (this.housekeeping) clearInterval(this.housekeeping);
    await Promise.all(this.origins.map((o) => o.transport.close()));
    if (this.metricsServer) await closeMetrics(this.metricsServer);
  }

  // ---- results ----------------------------------------------------------------------------

  histograms(): PartOutcome['histograms'] {
    const h = this.agg.histograms();
    return { types: Object.fromEntries(this.types.map((t) => [t.name, h.types[t.index]!.encode()])), failure: h.failure.encode() };
  }

  private results(): LoadResults {
    const durationS = Math.max(0, (this.endOfSchedulingMs - this.startMs) / 1000);
    const counted = this.agg.results(this.typesInMix.map((t) => t.index), durationS);
    const lag = this.scheduler.report();
    const waited = this.queueWait.report();
    return {
      driver: 'embedded',
      workload: this.options.workload.name,
      stages: this.options.stages.map((s) => ({ ...s })),
      durationS: round3(durationS),
      ...counted,
      ...(this.regions ? { regions: this.regions.results(this.startMs) } : {}),
      generator: {
        saturated: lag.saturated || waited.saturated || this.backlogCut,
        limited: lag.limited || waited.limited || this.backlogCutWithFreeSlots,
        maxLagMs: round3(Math.max(lag.maxLagMs, waited.maxLagMs)),
        peakRssMb: Math.round((this.peakRss / 1048576) * 10) / 10,
        // one thread; threads.ts writes how many sent a merged run
        threads: 1,
      },
    };
  }
}

function validate(o: LoadOptions): void {
  for (const [name, url] of [['api', o.targets.api], ['static', o.targets.static]] as const) {
    let u: URL;
    try {
      u = new URL(url);
    } catch {
      throw usageError(`load target ${name} is not a URL: ${url}`, 'give a base URL such as http://127.0.0.1:8080');
    }
    if (u.protocol !== 'http:') throw usageError(`load target ${name} must be http://, got ${url}`, 'the engine speaks plain HTTP/1.1 on loopback');
    // a client region resolves the API's name itself, and connects only to a loopback answer (client-regions.ts)
    const resolvedByRegions = o.clientRegions !== undefined && u.origin === new URL(o.targets.api).origin;
    if (!resolvedByRegions && !isLoopback(u.hostname)) throw usageError(`load target ${name} is not a loopback address: ${url}`, 'bench only sends load to 127.0.0.0/8 (or a port published on 127.0.0.1)');
  }
  for (const r of o.clientRegions ?? []) {
    if (!isLoopback(r.localAddress) || !isLoopback(r.dns.host)) throw usageError(`client region ${r.name}: its source ${r.localAddress} and DNS ${r.dns.host} must be loopback addresses`);
  }
  if (o.metricsListen && !isLoopback(o.metricsListen.host)) {
    throw usageError(`metrics address ${o.metricsListen.host} is not loopback`, 'serve the engine metrics on a 127.x.y.z address');
  }
  if (!(o.stages.length > 0)) throw usageError('no load stages given', 'pass stages, e.g. stagesFor(rate, seconds)');
  if (!Number.isInteger(o.users) || o.users < 1) throw usageError(`users must be a whole number >= 1, got ${o.users}`);
  if (o.maxInFlight !== undefined && !(o.maxInFlight >= 1)) throw usageError(`maxInFlight must be >= 1, got ${o.maxInFlight}`);
  if (o.timeoutMs !== undefined && !(o.timeoutMs > 0)) throw usageError(`timeoutMs must be > 0, got ${o.timeoutMs}`);
}

function isLoopback(host: string): boolean {
  return /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host) || host === 'localhost' || host === '[::1]' || host === '::1';
}

function round3(x: number): number {
  return Math.round(x * 1000) / 1000;
}
