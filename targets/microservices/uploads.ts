// The uploads API: POST /api/videos records the job and its outbox row in one transaction and
// answers 202 {jobId} at once; GET /api/jobs/:id reports queued / running / done / dead-lettered.
// It also consumes the dead-letter queue: a job the workers gave up on is marked dead-lettered.
import type pg from 'pg';
import type { Broker } from './broker.ts';
import { badRequest, clientId, type Metrics, type Route } from './http.ts';
import { inTransaction } from './effects.ts';
import { startRelay } from './relay.ts';
import type { ServiceParts } from './main.ts';

/** The largest upload a request may claim, in KiB (the worker bounds its CPU work separately). */
export const MAX_UPLOAD_KB = 1_048_576;

export function uploadsService(pool: pg.Pool, broker: Broker, relayIdleMs: number, log: (l: string) => void): ServiceParts {
  let accepted = 0;
  let deadLettered = 0;
  const routes: Route[] = [
    {
      method: 'POST',
      path: /^\/api\/videos$/,
      async handler(_req, body) {
        const b = (body ?? {}) as Record<string, unknown>;
        const id = clientId(b.id);
        const sizeKb = Number(b.sizeKb);
        if (!Number.isSafeInteger(sizeKb) || sizeKb < 0 || sizeKb > MAX_UPLOAD_KB) throw badRequest(`sizeKb must be an integer in 0..${MAX_UPLOAD_KB}`);
        if (b.poison !== undefined && typeof b.poison !== 'boolean') throw badRequest('poison must be a boolean');
        const poison = b.poison === true;
        await inTransaction(pool, async (c) => {
          const ins = await c.query('INSERT INTO jobs (id, size_kb, poison) VALUES ($1, $2, $3) ON CONFLICT (id) DO NOTHING', [id, sizeKb, poison]);
          if (ins.rowCount === 1) await c.query('INSERT INTO job_outbox (job_id, body) VALUES ($1, $2)', [id, { jobId: id, sizeKb, poison, acceptedAt: Date.now() }]);
        });
        accepted += 1;
        return { status: 202, body: { jobId: id } };
      },
    },
    {
      method: 'GET',
      path: /^\/api\/jobs\/([0-9a-fA-F-]{36})$/,
      async handler(_req, _body, [id]) {
        const { rows } = await pool.query('SELECT id, status, size_kb AS "sizeKb", attempts, accepted_at AS "acceptedAt", done_at AS "doneAt" FROM jobs WHERE id = $1', [id!.toLowerCase()]);
        return rows.length ? { status: 200, body: rows[0] } : { status: 404, body: { error: 'no such job' } };
      },
    },
  ];
  const relay = startRelay(pool, broker, { table: 'job_outbox', stream: 'jobs', messageId: (b) => String(b.jobId) }, relayIdleMs, log);
  const metrics: Metrics = {
    jobs_accepted_total: { help: 'uploads answered 202', type: 'counter', value: () => accepted },
    outbox_published_total: { help: 'outbox rows published and confirmed', type: 'counter', value: () => relay.stats.published },
    jobs_dead_lettered_total: { help: 'jobs marked dead-lettered from the dead-letter queue', type: 'counter', value: () => deadLettered },
  };
  return {
    routes,
    metrics,
    consumers: [
      {
        stream: 'jobs.dead',
        prefetch: 16,
        handle(d) {
          const { jobId } = JSON.parse(d.body.toString()) as { jobId: string };
          pool
            .query("UPDATE jobs SET status = 'dead-lettered' WHERE id = $1 AND status <> 'done'", [jobId])
            .then(() => {
              deadLettered += 1;
              d.ack();
            })
            .catch(() => d.nack());
        },
      },
    ],
    close: () => relay.stop(),
  };
}
