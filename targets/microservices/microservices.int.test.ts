// Phase 6's broker path on real servers (PostgreSQL and RabbitMQ from their recipes, the services
// as processes from the bundle), judged by the job ledger:
// - the flow: uploads -> outbox -> relay -> workers -> done, poison uploads dead-lettered after
//   the delivery limit, payments -> exactly one notification each;
// - a worker SIGKILLed in the middle of jobs loses nothing (redelivery), and
//   the NEGATIVE CONTROL: a worker that acks before its side effect, SIGKILLed, shows lost > 0;
// - a worker killed after the side effect but before the ack: a duplicate without idempotence,
//   none with it.
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { drainJobs, jobBacklog, readAcceptToComplete, readJobObservations, readNotificationObservations } from '../../chaos/ledger-read.ts';
import { checkLedger, formatLedger } from '../../chaos/ledger.ts';
import { History, submitPayment, submitUpload } from './client.ts';
import { startStack, type Stack } from './testing/stack.ts';

let s: Stack;

beforeAll(async () => {
  s = await startStack('ms');
}, 180_000);

afterAll(async () => {
  await s?.dispose();
});

beforeEach(async () => {
  await s.reset();
});

afterEach(async () => {
  await s.killAll();
});

const pct = (xs: number[], q: number) => {
  const v = [...xs].sort((a, b) => a - b);
  return v.length ? v[Math.min(v.length - 1, Math.floor(q * v.length))]! : null;
};

/** Effects applied so far. */
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

describe('phase 6 broker path', () => {
  it('accepts, completes, dead-letters poison after the delivery limit, and notifies each payment once', async () => {
    const uploads = await s.spawn('uploads-1', 'uploads');
    const payments = await s.spawn('payment-1', 'payment');
    await s.spawn('notification-1', 'notification');
    await s.spawn('worker-1', 'worker', { worker: { prefetch: 4 } });
    await s.spawn('worker-2', 'worker', { worker: { prefetch: 4 } });

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

    // GET /api/jobs/:id follows a job to done
    const first = jobs.ops.find((o) => !poison.has(o.id))!;
    await waitFor('first job done', 30_000, async () => {
      const r = await fetch(`http://${uploads.listen.host}:${uploads.listen.port}/api/jobs/${first.id}`);
      return ((await r.json()) as { status: string }).status === 'done';
    });

    const drain = await drainJobs(s.pool, 60_000);
    expect(drain).toMatchObject({ pending: 0, unsent: 0 });
    const ledger = checkLedger(jobs.ops, await readJobObservations(s.pool), { idempotent: true });
    console.log(formatLedger('jobs', ledger), `drained in ${drain.seconds.toFixed(1)} s`);
    expect(ledger).toMatchObject({ verdict: 'PASS', lost: 0, unexpected: 0, duplicated: 0, deadLettered: poison.size, done: 150 - poison.size });
    const poisonStatus = await fetch(`http://${uploads.listen.host}:${uploads.listen.port}/api/jobs/${[...poison][0]}`).then((r) => r.json() as Promise<{ status: string; attempts: number }>);
    // the first delivery and JOBS_DELIVERY_LIMIT redeliveries ran the job, then it was dead-lettered
    expect(poisonStatus).toMatchObject({ status: 'dead-lettered', attempts: 4 });

    const a2c = await readAcceptToComplete(s.pool);
    console.log(`accept->complete over ${a2c.length} jobs: p50 ${pct(a2c, 0.5)?.toFixed(1)} ms, p99 ${pct(a2c, 0.99)?.toFixed(1)} ms`);

    await waitFor('every payment notified', 30_000, async () => (await readNotificationObservations(s.pool)).effects.size >= 150);
    const notified = checkLedger(pays.ops, await readNotificationObservations(s.pool), { idempotent: true, noun: 'payment' });
    console.log(formatLedger('payments', notified));
    expect(notified).toMatchObject({ verdict: 'PASS', lost: 0, unexpected: 0, duplicated: 0, done: 150 });
  }, 150_000);

  it('the broker down: uploads and payments still answer 202/201 (outbox), and after it returns nothing is lost', async () => {
    const uploads = await s.spawn('uploads-1', 'uploads');
    const payments = await s.spawn('payment-1', 'payment');
    const notif = await s.spawn('notification-1', 'notification');
    await s.spawn('worker-1', 'worker', { worker: { prefetch: 8 } });
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
    const drain = await drainJobs(s.pool, 90_000);
    console.log(`broker outage: ${held.unsent} job(s) held in the outbox; after the restart drained in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    expect(drain).toMatchObject({ pending: 0, unsent: 0 });
    const ledger = checkLedger(jobs.ops, await readJobObservations(s.pool), { idempotent: true });
    expect(ledger).toMatchObject({ verdict: 'PASS', lost: 0, done: 50 });
    await waitFor('every payment notified', 60_000, async () => (await readNotificationObservations(s.pool)).effects.size >= 50).catch(async (e) => {
      console.log('payments not all notified (notified, outbox, logs):', (await readNotificationObservations(s.pool)).effects.size, (await s.pool.query('SELECT count(*) FILTER (WHERE sent_at IS NULL) AS unsent, count(*) AS n FROM payment_outbox')).rows, notif.log(), payments.log());
      throw e;
    });
    expect(checkLedger(pays.ops, await readNotificationObservations(s.pool), { idempotent: true })).toMatchObject({ verdict: 'PASS', lost: 0, duplicated: 0, done: 50 });
  }, 240_000);

  it('under 15 s of closed-loop load (16 clients): the rates, accept->complete, and the ledger', async () => {
    const uploads = await s.spawn('uploads-1', 'uploads');
    const payments = await s.spawn('payment-1', 'payment');
    await s.spawn('notification-1', 'notification');
    await s.spawn('worker-1', 'worker', { worker: { prefetch: 8 } });
    await s.spawn('worker-2', 'worker', { worker: { prefetch: 8 } });
    const jobs = new History();
    const pays = new History();
    const until = Date.now() + 15_000;
    let n = 0;
    const client = async () => {
      while (Date.now() < until) {
        // three uploads (0..1 MiB) for every payment
        if (n++ % 4 === 3) await submitPayment(payments.listen, pays, { userId: 1 + (n % 1000), amountCents: 100 });
        else await submitUpload(uploads.listen, jobs, { sizeKb: (n * 389) % 1024 });
      }
    };
    const t0 = performance.now();
    await Promise.all(Array.from({ length: 16 }, client));
    const loadS = (performance.now() - t0) / 1000;
    const left = await jobBacklog(s.pool);
    const drain = await drainJobs(s.pool, 60_000);
    const a2c = await readAcceptToComplete(s.pool);
    const ledger = checkLedger(jobs.ops, await readJobObservations(s.pool), { idempotent: true });
    console.log(
      `load ${loadS.toFixed(1)} s: ${(jobs.count('ok') / loadS).toFixed(0)} uploads/s and ${(pays.count('ok') / loadS).toFixed(0)} payments/s accepted;`,
      `backlog at the end ${left.pending} (unsent ${left.unsent}), drained in ${drain.seconds.toFixed(1)} s;`,
      `accept->complete p50 ${pct(a2c, 0.5)?.toFixed(0)} ms, p99 ${pct(a2c, 0.99)?.toFixed(0)} ms;`,
      formatLedger('jobs', ledger),
    );
    expect(jobs.count('ok')).toBeGreaterThan(100);
    expect(jobs.count('failed') + jobs.count('indeterminate')).toBe(0);
    expect(drain).toMatchObject({ pending: 0, unsent: 0 });
    expect(ledger).toMatchObject({ verdict: 'PASS', lost: 0, duplicated: 0 });
    await waitFor('every payment notified', 60_000, async () => (await readNotificationObservations(s.pool)).effects.size >= pays.count('ok'));
    expect(checkLedger(pays.ops, await readNotificationObservations(s.pool), { idempotent: true, noun: 'payment' })).toMatchObject({ verdict: 'PASS', lost: 0, duplicated: 0 });
  }, 180_000);

  it('a worker SIGKILLed mid-jobs loses nothing: its unacked jobs are redelivered', async () => {
    const jobs = await backlogOf(80);
    const doomed = await s.spawn('worker-doomed', 'worker', { worker: { prefetch: 20 } });
    await waitFor('some effects', 30_000, async () => (await effectCount()) >= 5);
    await doomed.kill('SIGKILL');
    const killedAt = await effectCount();
    await s.spawn('worker-after', 'worker', { worker: { prefetch: 20 } });
    const drain = await drainJobs(s.pool, 60_000);
    const ledger = checkLedger(jobs.ops, await readJobObservations(s.pool), { idempotent: true });
    console.log(`killed after ${killedAt} effects;`, formatLedger('jobs', ledger));
    // the kill came with jobs of the backlog (80) not yet done: there was work to lose or redeliver
    // (60 was a guess at the poll's reaction; a CI run at high load killed at 62, with 18 left)
    expect(killedAt).toBeLessThan(80);
    expect(drain).toMatchObject({ pending: 0, unsent: 0 });
    expect(ledger).toMatchObject({ verdict: 'PASS', lost: 0, duplicated: 0, done: 80 });
  }, 150_000);

  it('NEGATIVE CONTROL: a worker that acks before its side effect, SIGKILLed, shows lost > 0', async () => {
    const jobs = await backlogOf(80);
    // acks on receipt and works one job at a time, 100 ms each: the kill below lands with most of
    // the backlog acked and not done. Without the limit, the early acks freed the prefetch window,
    // RabbitMQ handed over all 80 and every effect ran at once: a CI run's kill landed after all 80
    // (lost 0: the control could not fail)
    const doomed = await s.spawn('worker-acks-early', 'worker', { worker: { prefetch: 20, ackBeforeEffect: true, effectConcurrency: 1, effectDelayMs: 100 } });
    await waitFor('some effects', 30_000, async () => (await effectCount()) >= 5);
    await doomed.kill('SIGKILL');
    const killedAt = await effectCount();
    await s.spawn('worker-after', 'worker', { worker: { prefetch: 20 } });
    // bounded: the acked-but-undone jobs never come back, so this drain runs out its time
    const drain = await drainJobs(s.pool, 10_000);
    const ledger = checkLedger(jobs.ops, await readJobObservations(s.pool), { idempotent: true });
    console.log(`killed after ${killedAt} effects;`, formatLedger('jobs', ledger), `backlog left ${drain.pending}`);
    expect(ledger.verdict).toBe('FAIL');
    // the kill came with jobs of the backlog (80) not yet done: there was work to lose or redeliver
    // (60 was a guess at the poll's reaction; a CI run at high load killed at 62, with 18 left)
    expect(killedAt).toBeLessThan(80);
    expect(ledger.lost).toBeGreaterThan(0);
    expect(ledger.lost).toBe(drain.pending);
  }, 150_000);

  it('a kill after the side effect and before the ack: a duplicate without idempotence, none with it', async () => {
    const uploads = await s.spawn('uploads-1', 'uploads');
    const results: Record<string, number> = {};
    for (const idempotent of [false, true]) {
      await s.reset();
      const crashing = await s.spawn(`worker-crash-${idempotent}`, 'worker', { worker: { prefetch: 1, idempotent, crashAfterEffects: 3 } });
      const jobs = new History();
      for (let i = 0; i < 10; i++) await submitUpload(uploads.listen, jobs, { sizeKb: 64 });
      await new Promise<void>((resolve) => (crashing.child.exitCode !== null || crashing.child.signalCode !== null ? resolve() : crashing.child.once('exit', () => resolve())));
      expect(crashing.child.signalCode).toBe('SIGKILL');
      const after = await s.spawn(`worker-after-${idempotent}`, 'worker', { worker: { prefetch: 1, idempotent } });
      const drain = await drainJobs(s.pool, 30_000);
      expect(drain).toMatchObject({ pending: 0, unsent: 0 });
      const ledger = checkLedger(jobs.ops, await readJobObservations(s.pool), { idempotent });
      console.log(`idempotent=${idempotent}:`, formatLedger('jobs', ledger));
      expect(ledger).toMatchObject({ lost: 0, unexpected: 0, done: 10 });
      results[String(idempotent)] = ledger.duplicated;
      await after.kill('SIGTERM');
    }
    expect(results).toEqual({ false: 1, true: 0 });
  }, 150_000);
});
