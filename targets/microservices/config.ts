// The configuration of one microservice process: one JSON document in BENCH_MS_CONFIG, with
// every dependency already resolved to an address (through its Toxiproxy edge when proxies are
// on). Secrets never travel in it: the database password comes in BENCH_PG_PASSWORD and the
// broker's in BENCH_RABBITMQ_PASSWORD, as for the app.
import { z } from 'zod';
import { BenchError } from '../../harness/errors.ts';

/** The environment variable a microservice reads its configuration from. */
export const MS_CONFIG_ENV = 'BENCH_MS_CONFIG';

// natively a loopback address; under --runtime docker a container's name on the run's bridge
// network (harness/runtime/docker/views.ts): never 0.0.0.0 nor another machine's address
const host = z.string().regex(/^(127\.\d+\.\d+\.\d+|[a-z][a-z0-9-]*)$/, 'a loopback address (127.x.y.z) or a container alias on the run network');
const endpoint = z.object({ host, port: z.number().int().min(1).max(65_535) });

const workerOptions = z.object({
  /** unacknowledged messages a worker holds at once (basic.qos) */
  prefetch: z.number().int().min(1).max(1_000).default(8),
  /** false: the side effect is applied again on a redelivery (shows duplicates appear) */
  idempotent: z.boolean().default(true),
  /** the NEGATIVE CONTROL only: ack on receipt, before the side effect; a crash then loses jobs */
  ackBeforeEffect: z.boolean().default(false),
  /**
   * NEGATIVE CONTROLS only: wait this long between a delivery and its side effect. With
   * ackBeforeEffect it holds the window a crash loses open: Kafka's consumer commits one offset
   * per partition at a time, so without it the committed-but-undone jobs are the few whose effect
   * is still running, and a kill can land when there are none (a CI run: lost 0 of 80).
   */
  effectDelayMs: z.number().int().min(0).max(10_000).default(0),
  /**
   * NEGATIVE CONTROLS only: work this many deliveries at a time (default: as many as delivered).
   * With ackBeforeEffect on RabbitMQ the ack frees the prefetch window at once, so the broker
   * hands the worker the whole backlog and every effect runs together: a CI run's kill landed
   * after all 80 (lost 0: the control could not fail). One at a time is the classic auto-ack
   * consumer, whose crash loses every job it was handed and had not done.
   */
  effectConcurrency: z.number().int().min(1).max(1_000).nullable().default(null),
  /** the CPU work's bound: an upload's size is hashed up to this many KiB */
  maxHashKb: z.number().int().min(1).max(65_536).default(4_096),
  /** the worker-crash drill: SIGKILL itself after this many side effects, before their ack */
  crashAfterEffects: z.number().int().min(1).nullable().default(null),
  /**
   * The worker-crash drill's switch for one start (an absolute path, in the service's own
   * directory): when the file exists as the worker starts, the number it holds is this start's
   * crashAfterEffects. A file, not the config: the config is fixed when the service is first
   * started (a Docker container keeps its environment), and the drill restarts the same service
   * through the runtime; it removes the file once the worker is ready, so the next start is normal.
   */
  crashFile: z.string().startsWith('/').nullable().default(null),
});

/** The crash switch's file name in a worker's directory (crashFile). */
export const WORKER_CRASH_FILE = 'crash-after-effects';

export const msConfigSchema = z.object({
  /** the service name: a label in logs and the X-Served-By header */
  name: z.string().min(1),
  role: z.enum(['payment', 'notification', 'uploads', 'worker']),
  /** HTTP: the API (payment, uploads) or only /health and /metrics (notification, worker) */
  listen: endpoint,
  db: endpoint.extend({ database: z.string().min(1).default('bench'), user: z.string().min(1).default('bench') }),
  /** the broker and its kind (the seam's implementation: broker.ts) */
  broker: endpoint.extend({ kind: z.enum(['rabbitmq', 'kafka']).default('rabbitmq') }),
  /** how often the outbox relay polls when it found nothing; default 50 ms */
  relayIdleMs: z.number().int().min(1).max(10_000).default(50),
  worker: workerOptions.prefault({}),
});

export type MsConfig = z.infer<typeof msConfigSchema>;
export type MsConfigInput = z.input<typeof msConfigSchema>;
export type WorkerOptions = z.infer<typeof workerOptions>;

/** Validates a parsed config; throws a one-line BenchError('usage') naming every problem. */
export function validateMsConfig(value: unknown): MsConfig {
  const r = msConfigSchema.safeParse(value);
  if (r.success) return r.data;
  const problems = r.error.issues.map((i) => (i.path.length ? `${i.path.join('.')}: ${i.message}` : i.message));
  throw new BenchError('usage', `invalid ${MS_CONFIG_ENV}: ${problems.join('; ')}`, 'the harness builds this from the topology; check targets/phases/phase-6.ts');
}
