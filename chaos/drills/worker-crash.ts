// worker-crash: the two moments a worker can die at under the microservices load, in one run.
// 1. Before the side effect: just after a backlog of heavy uploads (so that it dies holding jobs),
//    SIGKILL one worker. The jobs it held unacked go back to the queue (manual acks after the side
//    effect) and the other workers finish them.
// 2. After the side effect, before the ack: when the kill's window ends, the victim is started
//    again through the runtime with its crash switch armed (crashAfterEffects 1, for that start
//    only: a file in its own directory, targets/microservices/config.ts crashFile), a few small
//    uploads give it work, and it SIGKILLs itself right after committing its first effect; the
//    drill then starts it again, normally. The message whose effect is done but unacked is
//    redelivered: an idempotent worker skips it (duplicated 0), a non-idempotent one applies it
//    again (--idempotent-workers false: duplicated > 0, the drill's negative control).
// Both moments in one run, not a parameter: the restart that ends moment 1 is the armed start of
// moment 2, so the second moment costs one small backlog and one more restart, not a second load,
// drain and ledger. The synchronous path must not notice either, and the job ledger, read from the
// jobs database after a bounded drain, shows nothing lost. The ledger checker's negative control (a
// worker that acks before its side effect, SIGKILLed, shows lost > 0) is in
// targets/microservices/microservices.int.test.ts.
import { open, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { BenchError } from '../../harness/errors.ts';
import type { StartedService } from '../../harness/runtime/types.ts';
import type { DeployPlan, Endpoint, PlannedService } from '../../harness/topology/plan.ts';
import { History, submitUpload } from '../../targets/microservices/client.ts';
import { WORKER_CRASH_FILE } from '../../targets/microservices/config.ts';
import { SELF_CRASH_LOG } from '../../targets/microservices/worker.ts';
import { makeFault } from '../faults/index.ts';
import { waitRunning } from '../faults/process-control.ts';
import type { Fault, FaultContext } from '../faults/types.ts';
import { jobsAfterDrain, jobsDatabase, LEDGER_NOTE, ledgerFigures } from '../ledger-read.ts';
import { brokerService } from './broker-outage.ts';
import { APPLIES, applied, doesNotApply, type Drill, type DrillState } from './types.ts';

// the jobs ledger of a drill's own load lives in chaos/ledger-read.ts; poison-message reads it from here
export { jobsAfterDrain, LEDGER_NOTE, ledgerFigures };

/** The deployment's workers (microservices of role worker), in plan order. */
export function workerServices(plan: DeployPlan): PlannedService[] {
  return plan.services.filter((s) => s.config.kind === 'microservice' && s.config.microservice.role === 'worker');
}

/** A drill that checks jobs needs workers, the broker they consume from, and the jobs database they and the uploads API share. */
export function hasWorkersAndJobs(plan: DeployPlan, what: string): ReturnType<Drill['applies']> {
  if (workerServices(plan).length === 0) return doesNotApply(`it ${what}, and phase ${plan.topology.phase} has no workers`);
  if (!brokerService(plan)) return doesNotApply(`it ${what}, and phase ${plan.topology.phase} has no message broker for its workers`);
  return jobsDatabase(plan) ? APPLIES : doesNotApply(`it checks the jobs an uploads API accepted, and phase ${plan.topology.phase} has none`);
}

/** The service the load enters through (the gateway), for the requests a drill sends itself. */
export function entryService(plan: DeployPlan, drill: string): PlannedService {
  return applied(plan.services.find((s) => s.name === plan.topology.entry), drill, 'an entry service');
}

/**
 * Heavy uploads sent at once just before the kill: under the workload's own uploads the workers
 * are mostly idle, and a SIGKILL of an idle worker tests only its restart. With this backlog the
 * victim holds unacked jobs when it dies (the stack-level test does the same).
 */
const BACKLOG = { uploads: 30, sizeKb: 4096 };

/**
 * Small uploads sent once the armed victim is ready, so that it has work at once (the heavy
 * backlog may be gone by then, and on Kafka its partitions are the ones the rejoin gave it).
 */
const ARMED_WORK = { uploads: 8, sizeKb: 64 };

/** How long the armed victim is given to apply an effect and crash before the drill calls it a failure. */
export const AFTER_EFFECT_WAIT_MS = 30_000;

/** Workers that apply a redelivered job again: every worker of the plan says idempotent false. */
export function nonIdempotentWorkers(plan: DeployPlan): boolean {
  return workerServices(plan).every((w) => w.config.kind === 'microservice' && w.config.microservice.worker?.idempotent === false);
}

async function sendUploads(entry: Endpoint, n: { uploads: number; sizeKb: number }): Promise<number> {
  const h = new History();
  await Promise.all(Array.from({ length: n.uploads }, () => submitUpload(entry, h, { sizeKb: n.sizeKb }, 5_000)));
  return h.count('ok');
}

/** The size of a file (0 when it does not exist yet): where a service's log stood before a start. */
async function sizeOf(file: string): Promise<number> {
  return (await stat(file).catch(() => null))?.size ?? 0;
}

/** Whether the service logged its own crash after `offset` of its log (waits up to `ms` for a log that is written late). */
export async function loggedSelfCrash(logFile: string, offset: number, ms = 2_000): Promise<boolean> {
  const deadline = Date.now() + ms;
  for (;;) {
    const f = await open(logFile, 'r').catch(() => null);
    if (f) {
      try {
        const { size } = await f.stat();
        const buf = Buffer.alloc(Math.max(0, size - offset));
        await f.read(buf, 0, buf.length, offset);
        if (buf.toString('utf8').includes(SELF_CRASH_LOG)) return true;
      } finally {
        await f.close();
      }
    }
    if (Date.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * Moment 2: `restart` brings the victim back with its crash switch armed (the file is read at
 * start and removed once the start is over); it must die by itself after an effect, and is then
 * started again unarmed. It may die before the runtime judged it ready (a backlog waiting for it):
 * that failed start is the crash when the worker logged it, and any other failure is thrown. A
 * victim that never crashes is a problem (the moment was not tested), and is restarted so that it
 * no longer carries the switch. afterEffectCrashS: from the armed start until the drill saw the
 * crash (the runtime saw the process end).
 */
export async function crashAfterEffect(ctx: FaultContext, svc: StartedService, entry: Endpoint, restart: () => Promise<void>, state: DrillState, waitMs = AFTER_EFFECT_WAIT_MS): Promise<void> {
  const file = join(svc.dataDir, WORKER_CRASH_FILE);
  const logFrom = await sizeOf(svc.logFile);
  await writeFile(file, '1\n');
  const t0 = performance.now();
  let crashed = false;
  try {
    await restart();
  } catch (e) {
    if (svc.isRunning() || !(await loggedSelfCrash(svc.logFile, logFrom))) throw e;
    crashed = true;
  } finally {
    await rm(file, { force: true });
  }
  if (!crashed) {
    ctx.progress(`worker-crash: ${svc.name} started with crashAfterEffects 1; ${ARMED_WORK.uploads} uploads of ${ARMED_WORK.sizeKb} KiB`);
    const accepted = await sendUploads(entry, ARMED_WORK);
    try {
      await waitRunning(svc, false, waitMs);
      crashed = true;
    } catch {
      state.figures.afterEffectCrashS = null;
      state.problems.push(`${svc.name} did not crash after a side effect within ${waitMs / 1000} s of its start with crashAfterEffects 1 (${accepted} of ${ARMED_WORK.uploads} uploads accepted for it): the after-effect moment was not tested`);
      await svc.stop();
    }
  }
  if (crashed) {
    state.figures.afterEffectCrashS = Number(((performance.now() - t0) / 1000).toFixed(2));
    ctx.progress(`worker-crash: ${svc.name} SIGKILLed itself after an effect, before its ack, ${state.figures.afterEffectCrashS} s after its armed start`);
  }
  ctx.progress(`worker-crash: ${svc.name}: starting again, unarmed`);
  await svc.start();
}

/** Both moments: the backlog and the kill (apply), then the armed restart and the crash after an effect (revert). */
function killMidJobsThenAfterEffect(plan: DeployPlan, victim: string, state: DrillState): Fault {
  const kill = makeFault('kill', victim, {}, plan);
  const entry = entryService(plan, 'worker-crash').address;
  return {
    name: kill.name,
    target: kill.target,
    describe: () => `${BACKLOG.uploads} uploads of ${BACKLOG.sizeKb} KiB, then ${kill.describe()}; then ${victim} restarted to crash after its first effect, before the ack`,
    async apply(ctx) {
      const accepted = await sendUploads(entry, BACKLOG);
      const applied = await kill.apply(ctx);
      let reverted: Promise<void> | null = null;
      return {
        detail: `${accepted} of ${BACKLOG.uploads} backlog uploads accepted, then ${applied.detail}`,
        revert: () => (reverted ??= crashAfterEffect(ctx, ctx.deployment.service(victim), entry, () => applied.revert(), state)),
      };
    },
  };
}

export const workerCrash: Drill = {
  name: 'worker-crash',
  summary: 'SIGKILL one worker mid-jobs (before the side effect), then restart it to crash after an effect, before the ack; its unacked jobs are redelivered, nothing is lost or (idempotent workers) applied twice',
  applies: (plan) => hasWorkersAndJobs(plan, 'kills a worker'),
  // the revert holds the second moment: an armed start, up to AFTER_EFFECT_WAIT_MS for the crash,
  // and a start again; past the default 30 s of grace the load would end before the reverts did
  defaults: { atS: 10, durationS: 10, tailS: 15, revertGraceS: 60 },
  workload: 'microservices',
  hypothesis(plan) {
    const n = workerServices(plan).length;
    return {
      text: `one of ${n} worker(s) dies (SIGKILL) in the middle of jobs, then again right after a side effect, before its ack: the synchronous path does not notice (fewer than 1% of requests fail, p99 under 1000 ms); after a bounded drain the jobs ledger shows lost 0 and ${nonIdempotentWorkers(plan) ? 'duplicated > 0 (the workers are not idempotent: the redelivered job is applied again)' : 'duplicated 0 (idempotent workers)'}`,
      maxErrorRate: 0.01,
      maxP99Ms: 1000,
    };
  },
  schedule(plan, t, state) {
    const workers = workerServices(plan);
    const victim = t.target === undefined ? applied(workers[0], 'worker-crash', 'a worker') : workers.find((w) => w.name === t.target);
    if (!victim) throw new BenchError('usage', `${t.target} is not a worker (drill worker-crash)`, `the workers in phase ${plan.topology.phase}: ${workers.map((w) => w.name).join(', ')}`);
    return [{ fault: killMidJobsThenAfterEffect(plan, victim.name, state), startS: t.atS, durationS: t.durationS }];
  },
  async rollback(ctx) {
    // an aborted drill may leave a switch behind: no later start of a worker may find it armed
    for (const w of workerServices(ctx.plan)) await rm(join(ctx.deployment.service(w.name).dataDir, WORKER_CRASH_FILE), { force: true });
  },
  async verify(ctx) {
    const j = await jobsAfterDrain(ctx, 'worker-crash');
    const notes = [LEDGER_NOTE];
    const problems = [...j.problems];
    if (j.redeliveries === 0) notes.push('no redelivery was recorded by the jobs\' attempt counters: neither death left a delivered job unacked');
    // the after-effect crash leaves a done, unacked job: without idempotence its redelivery must
    // apply it again; none means the drill did not test what it claims (or the broker lost it)
    if (nonIdempotentWorkers(ctx.plan) && j.ledger.duplicated === 0) {
      problems.push('the workers are not idempotent and one crashed after a side effect, before its ack, yet no job was applied twice: the redelivery the drill exists to show did not happen');
    } else if (nonIdempotentWorkers(ctx.plan)) {
      notes.push(`${j.ledger.duplicated} job(s) applied twice: what a redelivery costs without idempotent workers (--idempotent-workers false), as expected`);
    }
    return { figures: { ...ledgerFigures(j), redeliveries: j.redeliveries }, problems, notes };
  },
};
