// Phase 6's broker path on Kafka (`--broker kafka`): the twin of microservices.int.test.ts's
// essential cases on a real KRaft node, the services as processes from the bundle, judged by the
// same job ledger:
// - uploads done, poison uploads dead-lettered after the delivery limit (counted by the consumer:
//   Kafka has none), payments -> exactly one notification each;
// - the broker stopped: accepts go on (outbox), and after its restart the services' clients come
//   back by themselves and nothing is lost;
// - a worker SIGKILLed in the middle of jobs loses nothing: the group rebalances and another
//   member fetches what it had not committed; and the NEGATIVE CONTROL: a worker that commits
//   before its side effect, SIGKILLed, shows lost > 0.
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { drainJobs, jobBacklog, readAcceptToComplete, readJobObservations, readNotificationObservations } from '../../chaos/ledger-read.ts';
import { checkLedger, formatLedger } from '../../chaos/ledger.ts';
import { JOBS_DELIVERY_LIMIT } from './broker.ts';
import { History, submitPayment, submitUpload } from './client.ts';
import { startStack, type Stack } from './testing/stack.ts';

let s: Stack;

beforeAll(async () => {
  s = await startStack('msk', 'kafka');
}, 180_000);

afterAll(async () => {
  await s?.dispose();
});

beforeEach(async () => {
  await s.reset();
}, 60_000);

afterEach(async () => {
  await s.killAll();
});

const pct = (xs: number[], q: number) => {
  const v = [...xs].sort((a, b) => a - b);
  return v.length ? v[Math.min(v.length - 1, Math.floor(q * v.length))]! : null;
};

const effectCount = async () => Number((await s.pool.query<{ n: string }>('SELECT count(*) AS n FROM job_effects')).rows[0]!.n);

async function waitFor(what: string, timeoutMs: number, check: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`${what}: not in ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** `n` uploads of 4 MiB accepted and published with no worker running: the kill lands mid-backlog. */
async function backlogOf(n: number): Promise<History> {
  const uploads = await s.spawn('uploads-1', 'uploads');
  const jobs = new History();
  await Promise.all(Array.from({ length: n }, () => submitUpload(uploads.listen, jobs, { sizeKb: 4096 })));
  expect(jobs.count('ok')).toBe(n);
  await waitFor('outbox published', 30_000, async () => (await jobBacklog(s.pool)).unsent === 0);
  return jobs;
}

describe('phase 6 broker path on Kafka', () => {
  it('accepts, completes, dead-letters poison after the delivery limit, and notifies each payment once', async () => {
    const uploads = await s.spawn('uploads-1', 'uploads');
    const payments = await s.spawn('payment-1', 'payment');
    await s.spawn('notification-1', 'notification');
    const workers = [await s.spawn('worker-1', 'worker', { worker: { prefetch: 4 } }), await s.spawn('worker-2', 'worker', { worker: { prefetch: 4 } })];

    const jobs = new History();
    const pays = new History();
    const poison = new Set<string>();
    for (let i = 0; i < 150; i++) {
      const isPoison = i % 15 === 7;
      const op = await submitUpload(uploads.listen, jobs, { sizeKb: (i * 97) % 2048, poison: isPoison });
      if (isPoison) poison.add(op.id);
      await submitPayment(payments.listen, pays, { userId: 1 + i, amountCents: 100 + i });
    }
    expect(jobs.count('ok')).toBe(150);
    expect(pays.count('ok')).toBe(150);

    const drain = await drainJobs(s.pool, 90_000);
    if (drain.pending > 0) console.log('not drained (status, attempts, n; worker logs):', (await s.pool.query('SELECT status, attempts, count(*) AS n FROM jobs GROUP BY 1, 2')).rows, workers.map((w) => w.log()), uploads.log());
    expect(drain).toMatchObject({ pending: 0, unsent: 0 });
    const ledger = checkLedger(jobs.ops, await readJobObservations(s.pool), { idempotent: true });
    console.log(formatLedger('jobs (kafka)', ledger), `drained in ${drain.seconds.toFixed(1)} s`);
    expect(ledger).toMatchObject({ verdict: 'PASS', lost: 0, unexpected: 0, duplicated: 0, deadLettered: poison.size, done: 150 - poison.size });
    const poisonStatus = await fetch(`http://${uploads.listen.host}:${uploads.listen.port}/api/jobs/${[...poison][0]}`).then((r) => r.json() as Promise<{ status: string; attempts: number }>);
    // the first delivery and JOBS_DELIVERY_LIMIT more, counted by the consumer, then jobs.dead
    expect(poisonStatus).toMatchObject({ status: 'dead-lettered', attempts: 1 + JOBS_DELIVERY_LIMIT });

    const a2c = await readAcceptToComplete(s.pool);
    console.log(`kafka accept->complete over ${a2c.length} jobs: p50 ${pct(a2c, 0.5)?.toFixed(1)} ms, p99 ${pct(a2c, 0.99)?.toFixed(1)} ms`);

    await waitFor('every payment notified', 60_000, async () => (await readNotificationObservations(s.pool)).effects.size >= 150);
    const notified = checkLedger(pays.ops, await readNotificationObservations(s.pool), { idempotent: true, noun: 'payment' });
    console.log(formatLedger('payments (kafka)', notified));
    expect(notified).toMatchObject({ verdict: 'PASS', lost: 0, unexpected: 0, duplicated: 0, done: 150 });
  }, 180_000);

  it('the broker down: uploads and payments still answer 202/201 (outbox), and after it returns nothing is lost', async () => {
    const uploads = await s.spawn('uploads-1', 'uploads');
    const payments = await s.spawn('payment-1', 'payment');
    const notif = await s.spawn('notification-1', 'notification');
    const worker = await s.spawn('worker-1', 'worker', { worker: { prefetch: 8 } });
    const jobs = new History();
    const pays = new History();
    const burst = async (n: number) => {
      for (let i = 0; i < n; i++) {
        await submitUpload(uploads.listen, jobs, { sizeKb: 256 });
        await submitPayment(payments.listen, pays, { userId: 7, amountCents: 500 });
      }
    };
    await burst(20);
    const broker = s.brokerService();
    await broker.stop();
    await burst(30);
    // every request during the outage was accepted: the outbox holds what the broker cannot take
    expect(jobs.count('ok')).toBe(50);
    expect(pays.count('ok')).toBe(50);
    const held = await jobBacklog(s.pool);
    expect(held.unsent).toBeGreaterThan(0);
    const t0 = performance.now();
    await broker.start();
    const drain = await drainJobs(s.pool, 120_000);
    console.log(`kafka broker outage: ${held.unsent} job(s) held in the outbox; after the restart drained in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    if (drain.pending > 0 || drain.unsent > 0) console.log('not drained (logs):', uploads.log(), worker.log());
    expect(drain).toMatchObject({ pending: 0, unsent: 0 });
    const ledger = checkLedger(jobs.ops, await readJobObservations(s.pool), { idempotent: true });
    expect(ledger).toMatchObject({ verdict: 'PASS', lost: 0, done: 50 });
    await waitFor('every payment notified', 60_000, async () => (await readNotificationObservations(s.pool)).effects.size >= 50).catch(async (e) => {
      console.log('payments not all notified (notified, logs):', (await readNotificationObservations(s.pool)).effects.size, notif.log(), payments.log());
      throw e;
    });
    expect(checkLedger(pays.ops, await readNotificationObservations(s.pool), { idempotent: true })).toMatchObject({ verdict: 'PASS', lost: 0, duplicated: 0, done: 50 });
  }, 300_000);

  it('a worker SIGKILLed mid-jobs loses nothing: the rebalance hands its uncommitted jobs to another', async () => {
    const jobs = await backlogOf(80);
    const doomed = await s.spawn('worker-doomed', 'worker', { worker: { prefetch: 16 } });
    await waitFor('some effects', 60_000, async () => (await effectCount()) >= 5);
    await doomed.kill('SIGKILL');
    const killedAt = await effectCount();
    await s.spawn('worker-after', 'worker', { worker: { prefetch: 16 } });
    const drain = await drainJobs(s.pool, 90_000);
    const ledger = checkLedger(jobs.ops, await readJobObservations(s.pool), { idempotent: true });
    console.log(`kafka: killed after ${killedAt} effects;`, formatLedger('jobs', ledger), `drained in ${drain.seconds.toFixed(1)} s`);
    expect(killedAt).toBeLessThan(60);
    expect(drain).toMatchObject({ pending: 0, unsent: 0 });
    expect(ledger).toMatchObject({ verdict: 'PASS', lost: 0, duplicated: 0, done: 80 });
  }, 180_000);

  it('NEGATIVE CONTROL: a worker that commits before its side effect, SIGKILLed, shows lost > 0', async () => {
    const jobs = await backlogOf(80);
    // each effect 1 s after its commit: the kill below lands while committed jobs wait for theirs
    const doomed = await s.spawn('worker-acks-early', 'worker', { worker: { prefetch: 16, ackBeforeEffect: true, effectDelayMs: 1_000 } });
    await waitFor('some effects', 60_000, async () => (await effectCount()) >= 5);
    await doomed.kill('SIGKILL');
    const killedAt = await effectCount();
    await s.spawn('worker-after', 'worker', { worker: { prefetch: 16 } });
    // bounded: the committed-but-undone jobs never come back, so this drain runs out its time
    const drain = await drainJobs(s.pool, 20_000);
    const ledger = checkLedger(jobs.ops, await readJobObservations(s.pool), { idempotent: true });
    console.log(`kafka: killed after ${killedAt} effects;`, formatLedger('jobs', ledger), `backlog left ${drain.pending}`);
    expect(ledger.verdict).toBe('FAIL');
    expect(killedAt).toBeLessThan(60);
    expect(ledger.lost).toBeGreaterThan(0);
    expect(ledger.lost).toBe(drain.pending);
  }, 180_000);
});
