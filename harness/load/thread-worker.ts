// A generator thread (worker_threads): runs the engine on its part of the schedule (threads.ts
// owns the other end) and relays what the main thread keeps for the whole run: each closed second,
// the per-request metrics, the writes for the write checker, and at the end its results with their
// histograms encoded, so the main thread merges every part exactly.
import { parentPort, workerData } from 'node:worker_threads';
import { defineCatalogue } from '../../loadtests/catalogue.ts';
import { BenchError } from '../errors.ts';
import { runLoadPart, type MetricsSink } from './engine.ts';
import type { FromWorker, ToWorker, WorkerInput } from './threads.ts';
import type { AcknowledgedWrite, IndeterminateWrite } from './types.ts';

const port = parentPort!;
const input = workerData as WorkerInput;
const post = (m: FromWorker): void => port.postMessage(m);

const abort = new AbortController();
let startAt: ((epochMs: number) => void) | null = null;
port.on('message', (m: ToWorker) => {
  if (m.type === 'abort') {
    abort.abort();
    // aborted before the start (Ctrl-C, or another thread failed): start now, so the engine sees
    // the abort at once and ends, instead of waiting for a start that will not come
    startAt?.(performance.timeOrigin + performance.now());
  } else if (m.type === 'start') startAt?.(m.epochMs);
});

// Writes and metrics go out in batches, once a second and at the end: a message per request
// would cost more than the request.
let acked: AcknowledgedWrite[] = [];
let indeterminate: IndeterminateWrite[] = [];
/** per request: type name, method, status, failed (0/1), seconds (-1: none) */
let requests: (string | number)[] = [];
let dropped = 0;
const flushWrites = (): void => {
  if (acked.length + indeterminate.length === 0) return;
  post({ type: 'writes', acked, indeterminate });
  acked = [];
  indeterminate = [];
};

const metricsSink: MetricsSink | undefined = input.metrics
  ? {
      request(kind, method, status, failed, durationS) {
        requests.push(kind, method, status, failed ? 1 : 0, durationS ?? -1);
      },
      droppedOne() {
        dropped++;
      },
      second(inFlight, lagMs) {
        post({ type: 'metrics', requests, dropped, inFlight, lagMs });
        requests = [];
        dropped = 0;
      },
    }
  : undefined;

try {
  const { catalogueEntries, writeLog, ...rest } = input.options;
  const outcome = await runLoadPart(
    {
      ...rest,
      ...(catalogueEntries ? { catalogue: defineCatalogue(catalogueEntries) } : {}),
      ...(writeLog ? { writeLog: { acknowledged: (w) => acked.push(w), indeterminate: (w) => indeterminate.push(w) } } : {}),
      signal: abort.signal,
      onSecond: (point) => {
        flushWrites();
        post({ type: 'second', point });
      },
    },
    {
      ...input.tuning,
      part: input.part,
      ...(metricsSink ? { metricsSink } : {}),
      // time 0 is the main thread's, given once every thread has warmed up (an absolute time:
      // each thread's performance.now() has its own origin)
      startGate: () =>
        new Promise<number>((resolve) => {
          startAt = (epochMs) => resolve(epochMs - performance.timeOrigin);
          post({ type: 'ready' });
        }),
    },
  );
  flushWrites();
  if (metricsSink && (requests.length > 0 || dropped > 0)) post({ type: 'metrics', requests, dropped, inFlight: 0, lagMs: 0 });
  post({ type: 'done', outcome });
} catch (err) {
  flushWrites();
  const e = err as Error;
  post({ type: 'error', message: e.message, code: err instanceof BenchError ? err.code : null, hint: err instanceof BenchError ? (err.hint ?? null) : null });
}
