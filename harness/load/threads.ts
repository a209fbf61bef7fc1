// The engine on several cores: `--generator-threads N` runs N engines in worker_threads
// (thread-worker.ts), each on its own part of the one schedule (scheduler.ts's SchedulePart, k6's
// equal execution segments striped round-robin) with its own event loop and connections, and this
// thread merges what they measured exactly: counts summed, histograms added (HDR merge), never
// an average of percentiles. Progress, metrics and the write checker's log stay on this thread.
import { cpus } from 'node:os';
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { catalogue as builtInCatalogue, type RequestType } from '../../loadtests/catalogue.ts';
import { mixWeights } from '../../loadtests/workloads.ts';
import type { LoadResults, SeriesPoint, Stage } from '../../reports/schema.ts';
import { BenchError, usageError, type BenchErrorCode } from '../errors.ts';
import { connectionsFor, DEFAULT_MAX_IN_FLIGHT, type EngineTuning, type PartOutcome } from './engine.ts';
import { LatencyHistogram } from './histogram.ts';
import { closeMetrics, EngineMetrics, serveMetrics } from './metrics.ts';
import { ArrivalSchedule, type SchedulePart } from './scheduler.ts';
import type { AcknowledgedWrite, IndeterminateWrite, LoadOptions, LoadOutcome } from './types.ts';
import { mergeLedgers } from './ledger-log.ts';
import type { Server } from 'node:http';

/** What a worker is started with: the options that cross a thread (no functions, no signal). */
export interface WorkerInput {
  options: Omit<LoadOptions, 'catalogue' | 'writeLog' | 'signal' | 'onSecond' | 'metricsRegistry' | 'metricsListen' | 'shards' | 'generatorThreads'> & {
    catalogueEntries: readonly RequestType[] | null;
    /** whether writes are recorded (they come back in 'writes' messages) */
    writeLog: boolean;
  };
  tuning: Omit<EngineTuning, 'clock' | 'startGate' | 'metricsSink' | 'part'>;
  part: SchedulePart;
  /** whether per-request metrics come back ('metrics' messages) */
  metrics: boolean;
}

export type ToWorker = { type: 'start'; epochMs: number } | { type: 'abort' };
export type FromWorker =
  | { type: 'ready' }
  | { type: 'second'; point: SeriesPoint }
  | { type: 'metrics'; requests: (string | number)[]; dropped: number; inFlight: number; lagMs: number }
  | { type: 'writes'; acked: AcknowledgedWrite[]; indeterminate: IndeterminateWrite[] }
  | { type: 'done'; outcome: PartOutcome }
  | { type: 'error'; message: string; code: BenchErrorCode | null; hint: string | null };

/**
 * The default thread count: the cores the deployed topology leaves free (cores minus the CPUs of
 * its hosts' sizes), at least 1. A generator thread on a core the system under test also needs
 * would take that core's time from the system it measures.
 */
export function defaultGeneratorThreads(hostCpus: readonly number[], cores: number = cpus().length): number {
  const used = hostCpus.reduce((a, c) => a + c, 0);
  return Math.max(1, Math.floor(cores - used));
}

/** The threads a run uses (`chosen`: --generator-threads, null: the default) and a line that says why. */
export function generatorThreadsFor(chosen: number | null | undefined, hostCpus: readonly number[], cores: number = cpus().length): { threads: number; line: string } {
  if (chosen != null) return { threads: chosen, line: `generator: ${chosen} thread${chosen === 1 ? '' : 's'} (--generator-threads)` };
  const threads = defaultGeneratorThreads(hostCpus, cores);
  const used = Math.round(hostCpus.reduce((a, c) => a + c, 0) * 100) / 100;
  return { threads, line: `generator: ${threads} thread${threads === 1 ? '' : 's'} (${cores} cores, the deployed hosts take ${used}; --generator-threads to choose)` };
}

/** The parts of a schedule split over `n` threads. */
export function partsOf(n: number): SchedulePart[] {
  return Array.from({ length: n }, (_, index) => ({ index, count: n }));
}

/** How much of `total` (an in-flight cap) part `index` of `n` gets: the shares add up to it exactly. */
export function shareOf(total: number, index: number, n: number): number {
  return Math.floor(total / n) + (index < total % n ? 1 : 0);
}

// The worker runs TypeScript: it registers tsx itself (Node 20's module hooks are not inherited by
// worker threads), then imports its entry.
const TSX_API = createRequire(import.meta.url).resolve('tsx/esm/api').replace(/\.cjs$/, '.mjs');
const WORKER_ENTRY = new URL('./thread-worker.ts', import.meta.url).href;
const BOOT = `import(${JSON.stringify(pathToFileURL(TSX_API).href)}).then((m) => { m.register(); return import(${JSON.stringify(WORKER_ENTRY)}); });`;

/** runLoad over options.generatorThreads worker threads (engine.ts calls it); see the file comment. */
export async function runThreaded(options: LoadOptions, tuning: EngineTuning = {}): Promise<LoadOutcome> {
  const n = options.generatorThreads ?? 1;
  if (!Number.isInteger(n) || n < 1) throw usageError(`generator threads must be a whole number >= 1, got ${n}`);
  if (options.shards) {
    // ShardMap.indexFor is a function of the app's router: it cannot cross to a worker thread
    throw usageError('per-shard counts are not available with more than one generator thread', 'run this drill with --generator-threads 1');
  }
  if (options.clientRegions) {
    // per-region counts and DNS answers are kept on one thread (client-regions.ts); not merged yet
    throw usageError('client regions (phase 7) are counted on one generator thread', 'run with --generator-threads 1');
  }
  if (tuning.clock) throw usageError('generator threads run on the system clock', 'use one thread with an injected clock');
  const cat = options.catalogue ?? builtInCatalogue;
  const kinds = Object.entries(mixWeights(options.workload, cat))
    .filter(([, w]) => w > 0)
    .map(([k]) => k);
  const maxInFlight = options.maxInFlight ?? DEFAULT_MAX_IN_FLIGHT;
  if (maxInFlight < n) throw usageError(`maxInFlight ${maxInFlight} is below the ${n} generator threads`, 'give each thread at least one slot');
  const origins = new Set([new URL(options.targets.api).origin, new URL(options.targets.static).origin]).size;

  // metrics: one registry on this thread, fed from every worker's batches
  let metrics: EngineMetrics | null = null;
  let metricsServer: Server | null = null;
  const inFlightOf = new Array<number>(n).fill(0);
  if (options.metricsRegistry) metrics = new EngineMetrics(kinds, () => sum(inFlightOf), options.metricsRegistry);
  else if (options.metricsListen) {
    metrics = new EngineMetrics(kinds, () => sum(inFlightOf));
    try {
      metricsServer = await serveMetrics(metrics.registry, options.metricsListen.host, options.metricsListen.port);
    } catch (err) {
      throw new BenchError('environment', `cannot serve the load engine's metrics on ${options.metricsListen.host}:${options.metricsListen.port}: ${(err as Error).message}`, 'free that port or choose another metrics address');
    }
  }

  const { catalogue: _c, writeLog, signal, onSecond, metricsRegistry: _r, metricsListen: _l, shards: _s, generatorThreads: _g, ...plain } = options;
  const { clock: _k, startGate: _sg, metricsSink: _ms, part: _p, ...plainTuning } = tuning;
  const workers: Worker[] = [];
  const outcomes: (PartOutcome | null)[] = new Array(n).fill(null);
  let failure: Error | null = null;
  let callbackError: unknown = null;
  const abortAll = () => {
    for (const w of workers) w.postMessage({ type: 'abort' } satisfies ToWorker);
  };
  // live seconds: a second is shown once every thread closed it (or ended)
  const pending = new Map<number, SeriesPoint[]>();
  const ended = new Array<boolean>(n).fill(false);
  const lagOf = new Array<number>(n).fill(0);
  const schedule = new ArrivalSchedule(options.stages);
  /** per thread: the last second it closed */
  const lastSecond = new Array<number>(n).fill(-1);
  let nextShown = 0;
  const showSeconds = () => {
    for (;;) {
      const got = pending.get(nextShown) ?? [];
      for (let i = 0; i < n; i++) if (!ended[i] && lastSecond[i]! < nextShown) return;
      if (got.length === 0) return;
      pending.delete(nextShown);
      metrics?.second(sum(inFlightOf), Math.max(...lagOf));
      const point = mergePoints(got, schedule);
      nextShown++;
      if (onSecond && callbackError === null) {
        try {
          onSecond(point);
        } catch (err) {
          callbackError = err;
          abortAll();
        }
      }
    }
  };

  let readyCount = 0;
  const done = Promise.all(
    partsOf(n).map(
      (part) =>
        new Promise<void>((resolve) => {
          const input: WorkerInput = {
            options: { ...plain, maxInFlight: shareOf(maxInFlight, part.index, n), catalogueEntries: options.catalogue ? options.catalogue.entries : null, writeLog: writeLog !== undefined },
            tuning: { ...plainTuning, connections: tuning.connections ?? connectionsFor(shareOf(maxInFlight, part.index, n), origins * n) },
            part,
            metrics: metrics !== null,
          };
          const w = new Worker(BOOT, { eval: true, workerData: input });
          workers.push(w);
          const i = part.index;
          w.on('message', (m: FromWorker) => {
            switch (m.type) {
              case 'ready':
                if (++readyCount === n) {
                  // a little ahead, so every thread has the message before its time 0
                  const epochMs = performance.timeOrigin + performance.now() + 20;
                  for (const x of workers) x.postMessage({ type: 'start', epochMs } satisfies ToWorker);
                }
                break;
              case 'second': {
                const list = pending.get(m.point.t) ?? [];
                list.push(m.point);
                pending.set(m.point.t, list);
                lastSecond[i] = m.point.t;
                showSeconds();
                break;
              }
              case 'metrics':
                inFlightOf[i] = m.inFlight;
                lagOf[i] = m.lagMs;
                if (metrics) replayMetrics(metrics, m.requests, m.dropped);
                break;
              case 'writes':
                for (const x of m.acked) writeLog?.acknowledged(x);
                for (const x of m.indeterminate) writeLog?.indeterminate(x);
                break;
              case 'done':
                outcomes[i] = m.outcome;
                // its port keeps it alive; everything it sent came before this
                void w.terminate();
                break;
              case 'error':
                failure ??= m.code ? new BenchError(m.code, m.message, m.hint ?? undefined) : new Error(m.message);
                abortAll();
                void w.terminate();
                break;
            }
          });
          w.on('error', (err) => {
            failure ??= err;
            abortAll();
          });
          w.on('exit', () => {
            ended[i] = true;
            inFlightOf[i] = 0;
            if (outcomes[i] === null) {
              failure ??= new Error(`generator thread ${i + 1} of ${n} ended without results`);
              abortAll();
            }
            showSeconds();
            resolve();
          });
        }),
    ),
  );
  const onAbort = () => abortAll();
  signal?.addEventListener('abort', onAbort, { once: true });
  if (signal?.aborted) abortAll();
  try {
    await done;
  } finally {
    signal?.removeEventListener('abort', onAbort);
    if (metricsServer) await closeMetrics(metricsServer);
  }
  if (failure) throw failure;
  if (callbackError !== null) throw callbackError;
  return mergeParts(outcomes as PartOutcome[], options.stages);
}

function sum(xs: readonly number[]): number {
  let s = 0;
  for (const x of xs) s += x;
  return s;
}

function replayMetrics(metrics: EngineMetrics, r: (string | number)[], dropped: number): void {
  for (let j = 0; j < r.length; j += 5) {
    const d = r[j + 4] as number;
    metrics.request(r[j] as string, r[j + 1] as string, r[j + 2] as number, r[j + 3] === 1, d < 0 ? undefined : d);
  }
  for (let j = 0; j < dropped; j++) metrics.droppedOne();
}

/** One second of every part, as one: counts summed, the histograms merged, the rate the whole schedule's. */
export function mergePoints(points: readonly SeriesPoint[], schedule: ArrivalSchedule): SeriesPoint {
  const t = points[0]!.t;
  const h = new LatencyHistogram(2);
  let requests = 0;
  let errors = 0;
  let dropped = 0;
  let staleKeepalive = 0;
  for (const p of points) {
    requests += p.requests;
    errors += p.errors;
    dropped += p.dropped;
    staleKeepalive += p.staleKeepalive ?? 0;
    if (p.hdr) h.merge(LatencyHistogram.decode(p.hdr));
  }
  const at = (q: number) => {
    const v = h.percentileMs(q);
    return v === null ? null : round3(v);
  };
  const max = h.maxMs();
  return {
    t,
    requests,
    errors,
    dropped,
    staleKeepalive,
    targetRate: round2(schedule.countAt(t + 1) - schedule.countAt(t)),
    p50: at(50),
    p95: at(95),
    p99: at(99),
    max: max === null ? null : round3(max),
    hdr: h.count > 0 ? h.encode() : null,
  };
}

/** The parts' outcomes as one run's: what one thread would have reported for the whole schedule. */
export function mergeParts(parts: readonly PartOutcome[], stages: readonly Stage[]): LoadOutcome {
  const first = parts[0]!.results;
  const schedule = new ArrivalSchedule(stages);
  const durationS = Math.max(...parts.map((p) => p.results.durationS));
  const totals = { requests: 0, ok: 0, errors: 0, dropped: 0, staleKeepalive: 0 };
  const statusCodes = new Map<string, number>();
  const errorKinds = new Map<string, number>();
  const add = (m: Map<string, number>, rec: Record<string, number>) => {
    for (const [k, v] of Object.entries(rec)) m.set(k, (m.get(k) ?? 0) + v);
  };
  const bySecond = new Map<number, SeriesPoint[]>();
  for (const { results: r } of parts) {
    totals.requests += r.totals.requests;
    totals.ok += r.totals.ok;
    totals.errors += r.totals.errors;
    totals.dropped += r.totals.dropped;
    totals.staleKeepalive += r.totals.staleKeepalive ?? 0;
    add(statusCodes, r.statusCodes);
    add(errorKinds, r.errorKinds);
    for (const p of r.series) bySecond.set(p.t, [...(bySecond.get(p.t) ?? []), p]);
  }
  const endpoints: LoadResults['endpoints'] = {};
  const all = new LatencyHistogram();
  for (const name of Object.keys(first.endpoints)) {
    const h = new LatencyHistogram();
    let requests = 0;
    let errors = 0;
    let noResponse = 0;
    for (const p of parts) {
      const e = p.results.endpoints[name]!;
      requests += e.requests;
      errors += e.errors;
      noResponse += e.noResponse ?? 0;
      h.merge(LatencyHistogram.decode(p.histograms.types[name]!));
    }
    all.merge(h);
    endpoints[name] = { requests, errors, latencyMs: h.summary(), noResponse };
  }
  const failure = LatencyHistogram.merged(parts.map((p) => LatencyHistogram.decode(p.histograms.failure)));
  const offered = totals.requests + totals.dropped;
  const series = [...bySecond.keys()].sort((a, b) => a - b).map((t) => mergePoints(bySecond.get(t)!, schedule));
  const results: LoadResults = {
    ...first,
    durationS,
    totals: {
      ...totals,
      throughputRps: durationS > 0 ? round2(totals.requests / durationS) : 0,
      errorRate: totals.requests > 0 ? totals.errors / totals.requests : 0,
      failRate: offered > 0 ? (totals.errors + totals.dropped) / offered : null,
    },
    latencyMs: all.summary(),
    failureMs: failure.summary(),
    endpoints,
    statusCodes: Object.fromEntries([...statusCodes].sort((a, b) => Number(a[0]) - Number(b[0]))),
    errorKinds: Object.fromEntries(errorKinds),
    series,
    generator: {
      saturated: parts.some((p) => p.results.generator.saturated),
      limited: parts.some((p) => p.results.generator.limited === true),
      maxLagMs: Math.max(...parts.map((p) => p.results.generator.maxLagMs)),
      // threads share one process: its peak is the largest any thread saw
      peakRssMb: Math.max(...parts.map((p) => p.results.generator.peakRssMb)),
      threads: parts.length,
    },
  };
  const ledger = mergeLedgers(parts.map((p) => p.ledger));
  return { results, startedAtMs: Math.min(...parts.map((p) => p.startedAtMs)), ...(ledger ? { ledger } : {}) };
}

function round2(x: number): number {
  return Math.round(x * 100) / 100;
}

function round3(x: number): number {
  return Math.round(x * 1000) / 1000;
}
