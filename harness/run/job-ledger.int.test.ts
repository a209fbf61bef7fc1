// A real phase-6 run through the lifecycle API (one deployment: RabbitMQ, the services, their
// databases; a short load of the microservices workload on two generator threads, after a short
// warm-up with its own salt): results.json's ledger is filled from the ids the engine chose and
// the databases after the drain — jobs accepted > 0, lost 0, accepted = done + dead-lettered,
// payments accepted = notified. Negative control on the same deployment: the same history with one
// extra accepted job the database never saw gives lost 1, and the run verdict FAIL.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { executeRun, loadExercise, type Exercise, type RunIO, type RunOutcome } from './lifecycle.ts';
import { resolveRunConfig } from './config.ts';
import { ledgerStores, readRunLedger } from './job-ledger.ts';
import { runBench } from '../testing/cli.ts';
import { repoRoot } from '../env/which.ts';
import { runVerdict } from '../../reports/verdict.ts';
import type { LoadLedger } from '../load/ledger-log.ts';
import type { DeployPlan } from '../topology/plan.ts';
import type { Results } from '../../reports/schema.ts';

let stateRoot: string;
let outRoot: string;
const savedStateDir = process.env.BENCH_STATE_DIR;
let run: RunOutcome | null = null;
let recorded: LoadLedger | undefined;
let plan: DeployPlan;
const log: string[] = [];

function io(): RunIO {
  return { progress: (l) => void log.push(l), write: () => {}, isTTY: false, signal: new AbortController().signal, cwd: repoRoot };
}

beforeAll(async () => {
  // A private state root: nothing here touches anyone else's run.
  stateRoot = await mkdtemp(join(tmpdir(), 'b-ledger-'));
  outRoot = await mkdtemp(join(tmpdir(), 'b-ledger-out-'));
  process.env.BENCH_STATE_DIR = stateRoot;
  const out = join(outRoot, 'p6');
  // lenient objectives: this test judges the ledger, not the latency of a machine shared by eight
  const config = resolveRunConfig({ phase: '6', users: '1e4', duration: '8s', rate: '20', workload: 'microservices', warmup: '4s', generatorThreads: '2', prometheus: false, keep: true, out, p99: '60000ms', maxErrorRate: '100%' });
  // the load run's own exercise, keeping the history it recorded for the negative control
  const exercise: Exercise = {
    validate: loadExercise.validate,
    async run(ctx) {
      const done = await loadExercise.run(ctx);
      recorded = done.outcome.ledger;
      return done;
    },
  };
  run = await executeRun(config, io(), exercise);
  plan = JSON.parse(await readFile(join(run.runDir, 'plan.json'), 'utf8')) as DeployPlan;
}, 170_000);

afterAll(async () => {
  // --keep left it up for the negative control: stopped by its run id, under the private root
  if (run) await runBench(['down', run.results.runId]);
  if (savedStateDir === undefined) delete process.env.BENCH_STATE_DIR;
  else process.env.BENCH_STATE_DIR = savedStateDir;
  await rm(stateRoot, { recursive: true, force: true });
  await rm(outRoot, { recursive: true, force: true });
}, 60_000);

describe('a phase-6 run fills its job ledger (real servers)', () => {
  it('results.json: jobs accepted > 0, lost 0, accepted = done + dead-lettered; payments accepted = notified', async () => {
    const r = JSON.parse(await readFile(join(run!.runDir, 'results.json'), 'utf8')) as Results;
    const l = r.ledger!;
    console.log(`phase-6 ledger: ${JSON.stringify({ jobs: l.jobs, payments: l.payments, a2c: l.acceptToCompleteMs, drain: l.drain, verdict: r.verdict, reason: r.verdictReason, endpoints: Object.fromEntries(Object.entries(r.load.endpoints).map(([k, e]) => [k, [e.requests, e.errors]])) })}`);
    expect(r.load.generator.threads).toBe(2);
    expect(l.jobs!.accepted).toBeGreaterThan(0);
    expect(l.jobs!).toMatchObject({ lost: 0, unexpected: 0, duplicated: 0, verdict: 'PASS' });
    expect(l.jobs!.accepted).toBe(l.jobs!.done - l.jobs!.recovered + l.jobs!.deadLettered);
    expect(l.payments!.accepted).toBeGreaterThan(0);
    expect(l.payments!).toMatchObject({ lost: 0, unexpected: 0, duplicated: 0, verdict: 'PASS' });
    expect(l.payments!.done - l.payments!.recovered).toBe(l.payments!.accepted);
    // every upload and payment the engine counted as answered as expected is an accepted operation
    // (poll's first step is an upload too), and the history holds exactly the requests sent
    const ok = (n: string) => r.load.endpoints[n]!.requests - r.load.endpoints[n]!.errors;
    expect(l.payments!.accepted).toBe(ok('pay'));
    expect(recorded!.jobs.seq.length).toBe(l.jobs!.accepted + l.jobs!.failed + l.jobs!.indeterminate);
    expect(l.acceptToCompleteMs.count).toBe(l.jobs!.done - l.jobs!.recovered);
    expect(l.acceptToCompleteMs.p50).toBeGreaterThan(0);
    // every accepted job and payment wrote an outbox row that was published and confirmed
    // (rows of requests indeterminate at the client may come on top)
    expect(l.publishMs!.count).toBeGreaterThanOrEqual(l.jobs!.accepted + l.payments!.accepted);
    expect(l.publishMs!.p50).toBeGreaterThan(0);
    expect(l.drain).toMatchObject({ pending: 0, unsent: 0, timeoutS: 60 });
    expect(r.verdictReason ?? '').not.toMatch(/ledger/);
    expect(log.some((x) => /^ledger drain: settled in/.test(x))).toBe(true);
  });

  it('negative control: one extra accepted job the database never saw is lost 1, and the run verdict FAILs', async () => {
    const r = JSON.parse(await readFile(join(run!.runDir, 'results.json'), 'utf8')) as Results;
    const h = recorded!;
    const ghost = Math.max(0, ...h.jobs.seq, ...h.payments.seq) + 1;
    const tampered: LoadLedger = { ...h, jobs: { seq: [...h.jobs.seq, ghost], outcome: [...h.jobs.outcome, 0] } };
    const stores = ledgerStores(plan)!;
    const section = await readRunLedger(stores, tampered, { progress: () => {}, timeoutMs: 10_000 });
    expect(section.jobs).toMatchObject({ lost: 1, verdict: 'FAIL', accepted: r.ledger!.jobs!.accepted + 1 });
    const v = runVerdict({ load: r.load, objectives: r.objectives, drills: [], ledger: section });
    expect(v.verdict).toBe('fail');
    expect(v.reason).toMatch(/jobs ledger: 1 accepted job\(s\) lost/);
    // the untampered history on the same databases still passes: the failure is the ghost's alone
    expect((await readRunLedger(stores, h, { progress: () => {}, timeoutMs: 10_000 })).jobs).toMatchObject({ lost: 0, verdict: 'PASS' });
  });
});
