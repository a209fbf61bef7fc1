// Phase 6 on real servers as the ladder deploys it (native runtime, Toxiproxy on every edge): the
// gateway routes by path to the users fleet, the payment service and the uploads API; jobs
// accepted through it are done by the workers, payments are notified once each (both ledgers
// PASS, read from the services' own databases); and a cut worker->broker edge stops that worker
// only: the other one drains the queue, nothing accepted is lost. Twice: with RabbitMQ (the
// default) and with --broker kafka (where the cut edge also proves that every Kafka connection
// goes through the worker's Toxiproxy edge, not to the address the broker advertises).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BrokerKind } from '../microservices/broker.ts';
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { drainJobs, readJobObservations, readNotificationObservations } from '../../chaos/ledger-read.ts';
import { checkLedger, formatLedger } from '../../chaos/ledger.ts';
import { serviceOf } from '../../harness/topology/plan.ts';
import { toxiproxyClient } from '../../harness/runtime/toxiproxy-client.ts';
import { PG_CREDENTIALS } from '../app/config.ts';
import { History, submitPayment, submitUpload } from '../microservices/client.ts';
import { createUsers, deployPhase, http, type PhaseUnderTest } from './testing/deploy.ts';

for (const broker of ['rabbitmq', 'kafka'] as const satisfies readonly BrokerKind[]) describe(`--broker ${broker}`, () => {
  let ph: PhaseUnderTest;
  let gateway = { host: '', port: 0 };
  let startSeconds = 0;
  const pools: pg.Pool[] = [];
  /** every upload and payment the tests submit: the ledgers' histories */
  const jobs = new History();
  const pays = new History();

  /** A pool on a service database, directly (not through its proxy). */
  function db(name: string): pg.Pool {
    const a = serviceOf(ph.plan, name).address;
    const pool = new pg.Pool({ host: a.host, port: a.port, ...PG_CREDENTIALS, max: 2 });
    pool.on('error', () => {});
    pools.push(pool);
    return pool;
  }

  beforeAll(async () => {
    const t0 = performance.now();
    ph = await deployPhase(6, { users: 1_000, appServers: 1, replicas: 0, shards: 1, shardStrategy: 'range', broker }, `ph6${broker === 'kafka' ? 'k' : ''}`);
    startSeconds = (performance.now() - t0) / 1000;
    gateway = serviceOf(ph.plan, 'lb').address;
    await createUsers(ph.url('lb'), [7]);
  }, 240_000);

  afterAll(async () => {
    await Promise.all(pools.map((p) => p.end().catch(() => {})));
    await ph?.dispose();
  }, 90_000);

  describe(`phase 6 (--broker ${broker})`, () => {
    it('routes by path: users to the fleet, payments and uploads to their services', async () => {
      console.log(`phase 6 (--broker ${broker}) up in ${startSeconds.toFixed(1)} s`);
      expect((await http('GET', `${ph.url('lb')}/api/users/7`)).status).toBe(200);
      const payId = randomUUID();
      const pay = await http('POST', `${ph.url('lb')}/api/payments`, { id: payId, userId: 7, amountCents: 250 });
      pays.record(payId, pay.status);
      expect(pay.status).toBe(201);
      expect(pay.headers['x-served-by']).toBe('payment-1');
      const jobId = randomUUID();
      const up = await http<{ jobId: string }>('POST', `${ph.url('lb')}/api/videos`, { id: jobId, sizeKb: 128 });
      jobs.record(jobId, up.status);
      expect(up.status).toBe(202);
      expect(up.body.jobId).toBe(jobId);
      expect(up.headers['x-served-by']).toBe('uploads-1');
      const job = await http<{ status: string }>('GET', `${ph.url('lb')}/api/jobs/${jobId}`);
      expect(job.status).toBe(200);
      expect(['queued', 'running', 'done']).toContain(job.body.status);
    });

    it('jobs and payments accepted through the gateway: both ledgers PASS', async () => {
      await Promise.all(
        Array.from({ length: 8 }, async () => {
          for (let i = 0; i < 15; i++) {
            await submitUpload(gateway, jobs, { sizeKb: 512 });
            await submitPayment(gateway, pays, { userId: 7, amountCents: 100 });
          }
        }),
      );
      expect(jobs.count('ok')).toBe(121);
      expect(pays.count('ok')).toBe(121);
      const jobsDb = db('jobs-db');
      const drain = await drainJobs(jobsDb, 60_000);
      expect(drain).toMatchObject({ pending: 0, unsent: 0 });
      const ledger = checkLedger(jobs.ops, await readJobObservations(jobsDb), { idempotent: true });
      const notes = db('notifications-db');
      const deadline = Date.now() + 60_000;
      while ((await readNotificationObservations(notes)).effects.size < 121 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
      const notified = checkLedger(pays.ops, await readNotificationObservations(notes), { idempotent: true, noun: 'payment' });
      console.log(`${broker}:`, formatLedger('jobs', ledger), '|', formatLedger('payments', notified), `| drained in ${drain.seconds.toFixed(1)} s`);
      expect(ledger).toMatchObject({ verdict: 'PASS', lost: 0, unexpected: 0, duplicated: 0, done: 121 });
      expect(notified).toMatchObject({ verdict: 'PASS', lost: 0, unexpected: 0, duplicated: 0, done: 121 });
    }, 180_000);

    it('a cut worker-1->broker edge: worker-2 drains the queue, nothing accepted is lost', async () => {
      const toxi = toxiproxyClient(ph.plan.toxiproxy!.api);
      await toxi.setEnabled('worker-1->broker', false);
      try {
        const cut = new History();
        for (let i = 0; i < 30; i++) jobs.ops.push(await submitUpload(gateway, cut, { sizeKb: 256 }));
        expect(cut.count('ok')).toBe(30);
        const jobsDb = db('jobs-db');
        const drain = await drainJobs(jobsDb, 90_000);
        expect(drain).toMatchObject({ pending: 0, unsent: 0 });
        const by = await jobsDb.query<{ worker: string; n: string }>('SELECT worker, count(*) AS n FROM job_effects WHERE job_id = ANY($1::uuid[]) GROUP BY worker', [cut.ops.map((o) => o.id)]);
        console.log(`${broker}: with worker-1 cut off the broker:`, by.rows.map((r) => `${r.worker} ${r.n}`).join(', '));
        expect(by.rows.map((r) => r.worker)).toEqual(['worker-2']);
        // the whole history so far (every job of this file)
        expect(checkLedger(jobs.ops, await readJobObservations(jobsDb), { idempotent: true })).toMatchObject({ verdict: 'PASS', lost: 0, duplicated: 0, done: 151 });
      } finally {
        await toxi.setEnabled('worker-1->broker', true);
      }
    }, 180_000);
  });
});
