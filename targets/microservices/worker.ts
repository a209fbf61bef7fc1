// A worker of the jobs queue: prefetch N, the CPU work, then the side effect (an effect row and
// the job marked done, in one transaction), and only then the ack. A worker killed at any point
// before the ack loses nothing: the broker redelivers the message. Idempotent by job id unless
// told not to. A job that fails is nacked back; the queue's x-delivery-limit dead-letters it.
import { readFileSync } from 'node:fs';
import type pg from 'pg';
import type { WorkerOptions } from './config.ts';
import { applyOnce } from './effects.ts';
import type { Metrics } from './http.ts';
import type { ServiceParts } from './main.ts';
import { hashWork } from './work.ts';

interface JobMessage {
  jobId: string;
  sizeKb: number;
  poison: boolean;
}

/**
 * The line a worker logs just before it SIGKILLs itself: how the worker-crash drill tells its own
 * crash from a failed start when the worker dies before the runtime judged it ready (with a backlog
 * waiting, a RabbitMQ consumer gets work before the service listens).
 */
export const SELF_CRASH_LOG = 'crashAfterEffects reached, SIGKILL before the ack';

/**
 * This start's crashAfterEffects: the config's, else the number in the drill's crash file when it
 * exists now (read once: removing the file later does not disarm a worker that started with it).
 */
export function crashAfterEffectsAtStart(o: Pick<WorkerOptions, 'crashAfterEffects' | 'crashFile'>, log: (l: string) => void): number | null {
  if (o.crashAfterEffects !== null || o.crashFile === null) return o.crashAfterEffects;
  let text: string;
  try {
    text = readFileSync(o.crashFile, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw e;
  }
  const n = Number(text.trim());
  // the harness writes it: anything but a positive integer is its bug, and the start fails loudly
  if (!Number.isInteger(n) || n < 1) throw new Error(`${o.crashFile} holds "${text.trim()}", not a positive integer of side effects`);
  log(`${o.crashFile}: this start SIGKILLs itself after ${n} side effect(s), before their ack`);
  return n;
}

export function workerService(name: string, pool: pg.Pool, o: WorkerOptions, log: (l: string) => void): ServiceParts {
  const n = { effects: 0, skipped: 0, failed: 0, redelivered: 0 };
  const crashAfterEffects = crashAfterEffectsAtStart(o, log);
  let busy = 0;
  // effectConcurrency (negative controls): at most that many handle() at once, the rest queued
  const queue: Array<() => void> = [];
  let running = 0;
  const limited = <T>(work: () => Promise<T>): Promise<T> => {
    if (o.effectConcurrency === null) return work();
    return new Promise<T>((resolve, reject) => {
      const go = () => {
        running += 1;
        work().then(resolve, reject).finally(() => {
          running -= 1;
          queue.shift()?.();
        });
      };
      if (running < o.effectConcurrency!) go();
      else queue.push(go);
    });
  };

  async function handle(job: JobMessage): Promise<void> {
    if (o.effectDelayMs > 0) await new Promise((r) => setTimeout(r, o.effectDelayMs));
    // every delivery counts as an attempt, a redelivery of a job already done included (the
    // effect committed, the ack lost): the ledger's redeliveries are sum(attempts - 1). Only a
    // queued or running job is marked running: a done or dead-lettered one keeps its status
    await pool.query("UPDATE jobs SET attempts = attempts + 1, status = CASE WHEN status IN ('queued', 'running') THEN 'running' ELSE status END WHERE id = $1", [job.jobId]);
    // a poison upload fails every time: the delivery limit, not the worker, decides when to stop
    if (job.poison) throw new Error(`job ${job.jobId} is poison`);
    const digest = hashWork(job.jobId, job.sizeKb, o.maxHashKb);
    const applied = await applyOnce(
      pool,
      job.jobId,
      o.idempotent,
      async (c) => (await c.query('SELECT 1 FROM job_effects WHERE job_id = $1 LIMIT 1', [job.jobId])).rowCount! > 0,
      async (c) => {
        await c.query('INSERT INTO job_effects (job_id, worker, digest) VALUES ($1, $2, $3)', [job.jobId, name, digest]);
        await c.query("UPDATE jobs SET status = 'done', done_at = coalesce(done_at, clock_timestamp()) WHERE id = $1", [job.jobId]);
      },
    );
    if (applied) n.effects += 1;
    else n.skipped += 1;
    if (applied && crashAfterEffects !== null && n.effects >= crashAfterEffects) {
      // the worker-crash drill's second case: the effect is committed, the ack never leaves
      log(`${SELF_CRASH_LOG}: ${n.effects} effect(s) applied`);
      process.kill(process.pid, 'SIGKILL');
    }
  }

  const metrics: Metrics = {
    worker_effects_total: { help: 'side effects applied', type: 'counter', value: () => n.effects },
    worker_skipped_total: { help: 'deliveries whose job was already done (idempotence)', type: 'counter', value: () => n.skipped },
    worker_failed_total: { help: 'deliveries that failed and were nacked', type: 'counter', value: () => n.failed },
    worker_redelivered_total: { help: 'deliveries flagged redelivered by the broker', type: 'counter', value: () => n.redelivered },
    worker_busy: { help: 'messages being worked on', type: 'gauge', value: () => busy },
  };

  return {
    routes: [],
    metrics,
    consumers: [{
      stream: 'jobs',
      prefetch: o.prefetch,
      handle(d) {
        if (d.redelivered) n.redelivered += 1;
        // NEGATIVE CONTROL only: the ack leaves before the work; a crash loses what it held
        if (o.ackBeforeEffect) d.ack();
        busy += 1;
        limited(() => handle(JSON.parse(d.body.toString()) as JobMessage))
          .then(() => {
            if (!o.ackBeforeEffect) d.ack();
          })
          .catch(() => {
            n.failed += 1;
            if (!o.ackBeforeEffect) d.nack();
          })
          .finally(() => {
            busy -= 1;
          });
      },
    }],
    close: async () => {},
  };
}
