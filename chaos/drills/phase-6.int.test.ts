// Drills on a real phase 6, one deployment, one drill after the other (each checks the jobs its own
// load got accepted, after a bounded drain that also settles what an earlier drill left):
// - broker-outage kills RabbitMQ under the microservices load; no payment or upload fails (the
//   outboxes hold them), and after the broker is back every accepted job is done;
// - worker-crash SIGKILLs worker-1 mid-jobs (before the side effect), then restarts it armed to
//   crash after its first effect, before the ack: the synchronous path keeps its objective, the
//   jobs ledger shows lost 0 and duplicated 0 after the drain;
// - poison-message sends poison uploads: every accepted one ends dead-lettered, no other job does;
// - service-down kills the payment fleet: payments fail, reads, updates and uploads do not;
// - backlog-drain stops both workers for 10 s: the backlog grows, drains after the restart (drain
//   time and rate measured), nothing lost;
// - slow-consumer adds 500 ms on every worker -> jobs-db edge: the queue grows (slope > 0), every
//   endpoint keeps p99 under 1000 ms, the backlog drains after, nothing lost.
// A second deployment, on Kafka (`--broker kafka`) with `--idempotent-workers false`, runs
// worker-crash once: CI's Kafka drill, and the drill's NEGATIVE CONTROL at once. The crash after
// the effect leaves a done job whose offset was never committed; Kafka hands it out again (commits
// after processing) and a non-idempotent worker applies it twice: duplicated > 0, lost 0. One
// deployment for both saves CI a third one (the RabbitMQ side of the same redelivery, idempotent
// and not, is in targets/microservices/microservices.int.test.ts).
// The backlog figures' negative controls (a backlog that never grows, one that never drains) are
// in chaos/backlog.test.ts.
// The ledger checker these verifications use has its negative control (a worker that acks before
// its side effect, SIGKILLed, shows lost > 0) in targets/microservices/microservices.int.test.ts;
// each drill's own "tested nothing" guard (no poison accepted, no payment failed) is a problem.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runDrill } from '../run-drill.ts';
import { deployPhase, type TestDeployment } from '../testing/deploy.ts';

type DrillOut = Awaited<ReturnType<typeof runDrill>>;

/**
 * The ledger counts the drill's own jobs: at least the uploads its load saw answered 202, at most
 * the uploads it sent (the earlier drills' jobs, in the same table, are not its own). Uploads are
 * `video` requests and the first step of each `poll` (its count includes the GET that follows, so
 * the bound is loose by the polls, never too tight).
 */
function ownJobsOnly(out: DrillOut): void {
  const accepted = out.drill.figures.acceptedJobs as number;
  const e = out.load.results.endpoints;
  expect(accepted).toBeGreaterThanOrEqual(out.load.results.statusCodes['202'] ?? 0);
  expect(accepted).toBeLessThanOrEqual(e.video!.requests + (e.poll?.requests ?? 0));
}

/**
 * worker-crash's two moments on `d`, and what holds whatever the workers' idempotence: the sync
 * path, both crashes (the second one by the worker itself, after an effect), nothing lost, every
 * accepted job done, the victim running again.
 */
async function workerCrash(d: TestDeployment, label: string, atS: number): Promise<DrillOut> {
  const out = await runDrill({ deployment: d.deployment, drill: 'worker-crash', load: d.load, atS, durationS: 5, tailS: 5 });
  const r = out.drill;
  console.log(`phase 6 ${label}: ${JSON.stringify({ codes: out.load.results.statusCodes, pass: r.pass, errors: r.errorsDuringFault, p99: [r.latencyBeforeP99, r.latencyDuringP99], figures: r.figures, reasons: r.reasons })}`);
  expect(out.faults[0]).toMatchObject({ name: 'kill', target: 'worker-1' });
  expect(out.load.results.endpoints.video!.requests).toBeGreaterThan(50);
  expect(r.figures.afterEffectCrashS).toBeGreaterThan(0);
  expect(r.figures).toMatchObject({ lostJobs: 0, unexpectedJobs: 0, pendingAfterDrain: 0, unsentAfterDrain: 0 });
  // the drill's own uploads (its backlog, the armed victim's work) are jobs of this load too:
  // acceptedJobs is above the load's 202s, so ownJobsOnly's bound does not apply
  expect(r.figures.doneJobs).toBe(r.figures.acceptedJobs);
  // the after-effect crash left a done job unacked: its redelivery is counted (every delivery
  // adds an attempt, a done job's too)
  expect(r.figures.redeliveries as number).toBeGreaterThanOrEqual(1);
  expect(d.deployment.service('worker-1').isRunning()).toBe(true);
  expect(r.pass).toBe(true);
  return out;
}

describe('phase 6 drills', () => {
  let d: TestDeployment;
  beforeAll(async () => {
    d = await deployPhase('chaos-p6', 6, {}, { users: 2000, rate: 40 });
  }, 240_000);
  afterAll(async () => {
    if (d) expect(await d.dispose()).toEqual([]);
  });

  it('broker-outage: accepts keep succeeding while the broker is dead; every accepted job is done after', async () => {
    // 15 s before the fault: a cold phase 6 (no warm-up here) has a slow first seconds, and the
    // steady state is judged over everything before the fault
    const out = await runDrill({ deployment: d.deployment, drill: 'broker-outage', load: d.load, atS: 15, durationS: 8, tailS: 10 });
    const r = out.drill;
    console.log(`phase 6 broker-outage: ${JSON.stringify({ codes: out.load.results.statusCodes, pass: r.pass, errors: r.errorsDuringFault, p99: [r.latencyBeforeP99, r.latencyDuringP99], figures: r.figures, reasons: r.reasons })}`);
    expect(out.faults[0]).toMatchObject({ name: 'kill', target: 'broker' });
    expect(out.load.results.endpoints.video!.requests).toBeGreaterThan(50);
    expect(r.figures).toMatchObject({ failedPayments: 0, failedUploads: 0, pendingAfterDrain: 0, unsentAfterDrain: 0 });
    expect(r.figures.doneJobs).toBe(r.figures.acceptedJobs);
    ownJobsOnly(out);
    expect(d.deployment.service('broker').isRunning()).toBe(true);
    expect(r.pass).toBe(true);
  }, 240_000);

  it('worker-crash: a worker SIGKILLed mid-jobs, then again after an effect before its ack; the sync path keeps its objective, nothing lost or applied twice', async () => {
    // 5 s down and a 5 s tail: the redelivery is immediate (the connection closes), the verdict
    // needs 3 healthy seconds after the reverts, and the drain before the ledger is bounded apart
    const out = await workerCrash(d, 'worker-crash', 10);
    expect(out.drill.figures).toMatchObject({ duplicatedJobs: 0 });
  }, 240_000);

  it('poison-message: every accepted poison upload ends dead-lettered, no other job does', async () => {
    // a 5 s tail: the poison jobs' deliveries and dead-lettering end in the bounded drain, not the load
    const out = await runDrill({ deployment: d.deployment, drill: 'poison-message', load: d.load, atS: 10, durationS: 8, tailS: 5 });
    const r = out.drill;
    console.log(`phase 6 poison-message: ${JSON.stringify({ codes: out.load.results.statusCodes, pass: r.pass, errors: r.errorsDuringFault, figures: r.figures, reasons: r.reasons })}`);
    expect(out.faults[0]).toMatchObject({ name: 'poison-uploads' });
    const f = r.figures as Record<string, number>;
    expect(f.poisonAccepted).toBeGreaterThan(3);
    expect(f.poisonJobs).toBeGreaterThanOrEqual(f.poisonAccepted!);
    expect(f.poisonDeadLettered).toBe(f.poisonJobs);
    expect(f).toMatchObject({ cleanDeadLettered: 0, lostJobs: 0, pendingAfterDrain: 0 });
    expect(f.deadLetteredJobs).toBe(f.poisonJobs);
    expect(r.pass).toBe(true);
  }, 240_000);

  it('service-down: payments fail while the payment fleet is down; user reads, updates and uploads do not', async () => {
    const out = await runDrill({ deployment: d.deployment, drill: 'service-down', load: d.load, atS: 10, durationS: 8, tailS: 10 });
    const r = out.drill;
    console.log(`phase 6 service-down: ${JSON.stringify({ codes: out.load.results.statusCodes, pass: r.pass, errors: r.errorsDuringFault, figures: r.figures, reasons: r.reasons })}`);
    expect(out.faults[0]).toMatchObject({ name: 'kill', target: 'payment' });
    expect(r.figures.failedPayments).toBeGreaterThan(0);
    expect(r.figures).toMatchObject({ readErrors: 0, updateErrors: 0, videoErrors: 0 });
    expect(d.deployment.service('payment-1').isRunning()).toBe(true);
    expect(r.pass).toBe(true);
  }, 240_000);

  it('backlog-drain: every worker stopped for 10 s; the backlog grows, drains after the restart, nothing lost', async () => {
    const out = await runDrill({ deployment: d.deployment, drill: 'backlog-drain', load: d.load, atS: 10, durationS: 10, tailS: 15 });
    const r = out.drill;
    console.log(`phase 6 backlog-drain: ${JSON.stringify({ codes: out.load.results.statusCodes, pass: r.pass, errors: r.errorsDuringFault, p99: [r.latencyBeforeP99, r.latencyDuringP99], figures: r.figures, reasons: r.reasons })}`);
    expect(out.faults[0]).toMatchObject({ name: 'stop', target: 'workers' });
    const f = r.figures as Record<string, number | null>;
    expect(f.backlogAtFaultEnd).toBeGreaterThan(f.preFaultBacklog! + 10);
    expect(f.slopeDuringFault).toBeGreaterThan(0);
    expect(f.drainS).not.toBeNull();
    expect(f.drainRatePerS).toBeGreaterThan(0);
    expect(f).toMatchObject({ lostJobs: 0, duplicatedJobs: 0, unexpectedJobs: 0, pendingAfterDrain: 0, unsentAfterDrain: 0 });
    expect(f.doneJobs).toBe(f.acceptedJobs);
    ownJobsOnly(out);
    expect(d.deployment.service('worker-1').isRunning() && d.deployment.service('worker-2').isRunning()).toBe(true);
    expect(r.pass).toBe(true);
  }, 240_000);

  it('slow-consumer: 500 ms on the worker -> jobs-db edges; the queue grows, every endpoint keeps its p99, the backlog drains, nothing lost', async () => {
    const out = await runDrill({ deployment: d.deployment, drill: 'slow-consumer', load: d.load, atS: 10, durationS: 10, tailS: 15 });
    const r = out.drill;
    console.log(`phase 6 slow-consumer: ${JSON.stringify({ codes: out.load.results.statusCodes, pass: r.pass, errors: r.errorsDuringFault, p99: [r.latencyBeforeP99, r.latencyDuringP99], figures: r.figures, reasons: r.reasons })}`);
    expect(out.faults[0]).toMatchObject({ name: 'latency', target: 'worker->db' });
    const f = r.figures as Record<string, number | null>;
    expect(f.slopeDuringFault).toBeGreaterThan(0);
    expect(f.backlogAtFaultEnd).toBeGreaterThan(f.preFaultBacklog!);
    expect(f.drainS).not.toBeNull();
    for (const k of ['read', 'pay', 'video']) expect(f[`${k}P99Ms`]).toBeLessThanOrEqual(1000);
    expect(f).toMatchObject({ readErrors: 0, payErrors: 0, videoErrors: 0, lostJobs: 0, pendingAfterDrain: 0 });
    expect(f.doneJobs).toBe(f.acceptedJobs);
    ownJobsOnly(out);
    expect(r.pass).toBe(true);
  }, 240_000);
});

describe('phase 6 on Kafka with non-idempotent workers: worker-crash, the negative control', () => {
  let d: TestDeployment;
  beforeAll(async () => {
    d = await deployPhase('chaos-p6k', 6, { broker: 'kafka', idempotentWorkers: 'false' }, { users: 2000, rate: 40 });
  }, 240_000);
  afterAll(async () => {
    if (d) expect(await d.dispose()).toEqual([]);
  });

  it('worker-crash: the job done before the crash, its offset uncommitted, is applied again (duplicated > 0), nothing lost', async () => {
    // 15 s before the fault, as broker-outage's: this deployment is cold, and the steady state is
    // judged over everything before the fault
    const out = await workerCrash(d, 'worker-crash (kafka, non-idempotent)', 15);
    expect(out.drill.figures.duplicatedJobs).toBeGreaterThan(0);
  }, 240_000);
});
