// bench run end to end on the real servers: phase 1 (SQLite) and phase 2 (PostgreSQL), a short
// load, the engine's count against the app's own counter and against the run's Prometheus,
// nothing left running after the run or bench down, and a killed harness cleaned by the next run.
import { afterAll, beforeAll, describe, expect, it, onTestFailed } from 'vitest';
import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runBench } from '../testing/cli.ts';
import { listRuns, readState, type RunState } from '../runtime/state.ts';
import { isSameProcess } from '../runtime/process.ts';
import { processesMentioning } from '../runtime/testing/run-helpers.ts';
import { instant } from '../metrics/query.ts';
import type { Results } from '../../reports/schema.ts';
import type { DeployPlan } from '../topology/plan.ts';
import { repoRoot } from '../env/which.ts';
import { resolveRunConfig } from './config.ts';
import { executeRun, loadExercise } from './lifecycle.ts';

let stateRoot: string;
let outRoot: string;
const savedStateDir = process.env.BENCH_STATE_DIR;

beforeAll(async () => {
  // A private state root: reaping in these tests never touches anyone else's run.
  stateRoot = await mkdtemp(join(tmpdir(), 'b-run-'));
  outRoot = await mkdtemp(join(tmpdir(), 'b-run-out-'));
  process.env.BENCH_STATE_DIR = stateRoot;
});

afterAll(async () => {
  await bench(['down', '--all']);
  if (savedStateDir === undefined) delete process.env.BENCH_STATE_DIR;
  else process.env.BENCH_STATE_DIR = savedStateDir;
  await rm(stateRoot, { recursive: true, force: true });
  await rm(outRoot, { recursive: true, force: true });
});

const bench = (args: string[]) => runBench(args);

/** `bench run` of phase 2 in a child process, resolved once its load runs (every service is up
 *  and recorded), with the run's state. */
async function phase2RunningInChild(out: string) {
  const child = spawn(process.execPath, [join(repoRoot, 'bin/bench.js'), 'run', '--phase', '2', '--users', '1000', '--duration', '60s', '--rate', '20', '--no-prometheus', '--out', join(outRoot, out)], {
    env: { ...process.env, BENCH_STATE_DIR: stateRoot },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  const run = { child, log: '', state: null as unknown as RunState };
  child.stderr.on('data', (d) => (run.log += d));
  const deadline = Date.now() + 40_000;
  while (!/load: /.test(run.log) && Date.now() < deadline && child.exitCode === null) await new Promise((r) => setTimeout(r, 100));
  expect(run.log).toMatch(/load: /);
  const [info] = await listRuns();
  // the same object: its log keeps growing after this returns
  run.state = (await readState(info!.runId))!;
  return run;
}

const readResults = async (dir: string) => JSON.parse(await readFile(join(dir, 'results.json'), 'utf8')) as Results;

describe('bench run (real servers)', () => {
  it('phase 1: the engine and the app count the same requests, and nothing is left running', async () => {
    const out = join(outRoot, 'p1');
    const r = await bench(['run', '--phase', '1', '--users', '2000', '--duration', '8s', '--rate', '150', '--no-prometheus', '--out', out]);
    expect(r.err).not.toMatch(/bench: /);
    expect(r.code).toBe(0);
    const results = await readResults(out);
    expect(results.config.phase).toBe(1);
    expect(results.load.totals.requests).toBeGreaterThan(600);
    expect(results.load.totals.errors).toBe(0);
    // with no error, every request the engine counted reached the app and no other did: exactly equal
    expect(results.server.appRequests).toBe(results.load.totals.requests);
    expect(processesMentioning(results.runId)).toEqual([]);
    expect(await listRuns()).toEqual([]);
    for (const f of ['report.html', 'summary.md', 'junit.xml', 'plan.json']) await expect(readFile(join(out, f), 'utf8')).resolves.toBeTruthy();
  }, 90_000);

  it('phase 2: Prometheus holds the app\'s and the engine\'s series for the run, within 1% of each other; bench down stops it', async () => {
    const out = join(outRoot, 'p2');
    // a 5 s warm-up: phase 2 has none by default, and a 10 s load of a cold app at 0.2 CPU judged
    // its JIT warm-up (p99 538 ms once), not the system
    const r = await bench(['run', '--phase', '2', '--users', '1e4', '--duration', '10s', '--rate', '150', '--warmup', '5s', '--keep', '--out', out]);
    const results = await readResults(out);
    // a kept run outlives a failed assertion: take it down then, so no later test meets it
    onTestFailed(async () => {
      await bench(['down', results.runId]);
    });
    expect(r.err).not.toMatch(/bench: /);
    expect(r.code, `verdict ${results.verdict}: ${results.verdictReason ?? ''}`).toBe(0);
    const plan = JSON.parse(await readFile(join(out, 'plan.json'), 'utf8')) as DeployPlan;
    const url = `http://${plan.prometheus!.address.host}:${plan.prometheus!.address.port}`;
    const engine = results.load.totals.requests;
    const end = Date.parse(results.finishedAt) / 1000;
    const sum = async (q: string) => (await instant(url, q, end)).reduce((a, s) => a + s.value[1], 0);
    // the apps' counters hold the warm-up's requests too; the engine's series only the load's
    const warmed = results.warmup?.totals.requests ?? 0;
    expect(warmed).toBeGreaterThan(0);
    const appSeen = (await sum(`sum(max_over_time(http_requests_total{run="${results.runId}"}[5m]))`)) - warmed;
    const engineSeen = await sum(`sum(max_over_time(k6_http_reqs_total{run="${results.runId}"}[5m]))`);
    expect(Math.abs(appSeen - engine) / engine).toBeLessThan(0.01);
    expect(Math.abs(engineSeen - engine) / engine).toBeLessThan(0.01);
    expect(results.server.appRequests).toBe(engine);
    const state = await readState(results.runId);
    expect(state!.services.length).toBeGreaterThanOrEqual(4);
    const d = await bench(['down', results.runId]);
    expect(d.code).toBe(0);
    for (const s of state!.services) expect(isSameProcess(s.pid, s.startTime), `${s.name} still runs`).toBe(false);
    expect(processesMentioning(results.runId)).toEqual([]);
  }, 90_000);

  it('a harness killed with SIGKILL leaves a run that the next run cleans up', async () => {
    const { child, state } = await phase2RunningInChild('killed');
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));
    expect(state.services.filter((s) => isSameProcess(s.pid, s.startTime)).length).toBeGreaterThan(0);
    const next = await bench(['run', '--phase', '1', '--users', '500', '--duration', '5s', '--rate', '20', '--no-prometheus', '--out', join(outRoot, 'next')]);
    expect(next.code).toBe(0);
    expect(next.err).toMatch(new RegExp(`cleaned up leftovers of 1 earlier run\\(s\\): ${state.runId}`));
    for (const s of state.services) expect(isSameProcess(s.pid, s.startTime), `${s.name} survived`).toBe(false);
    expect(processesMentioning(state.runId)).toEqual([]);
  }, 120_000);

  it('Ctrl-C (SIGINT) during the load tears everything down and exits 130', async () => {
    const run = await phase2RunningInChild('interrupted');
    const { child, state } = run;
    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    // a few seconds of load, so there is something measured to keep
    const deadline = Date.now() + 20_000;
    while (!/t=\s+5s/.test(run.log) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    child.kill('SIGINT');
    const code = await Promise.race([exited, new Promise<'hung'>((r) => setTimeout(() => r('hung'), 30_000))]);
    expect(code).toBe(130);
    expect(run.log).toMatch(/SIGINT received: stopping and tearing down/);
    for (const s of state.services) expect(isSameProcess(s.pid, s.startTime), `${s.name} survived`).toBe(false);
    expect(processesMentioning(state.runId)).toEqual([]);
    expect(await listRuns()).toEqual([]);
    // what was measured until Ctrl-C is kept: partial results, verdict INTERRUPTED
    const out = join(outRoot, 'interrupted');
    expect(run.log).toMatch(new RegExp(`interrupted during the load: partial results \\(verdict INTERRUPTED\\) written to ${out}/results.json`));
    const results = await readResults(out);
    expect(results.runId).toBe(state.runId);
    expect(results.verdict).toBe('interrupted');
    expect(results.partial).toBe(true);
    expect(results.load.totals.requests).toBeGreaterThan(0);
    expect(results.load.durationS).toBeLessThan(60);
    expect(results.server.appRequests).toBeNull();
    await expect(readFile(join(out, 'report.html'), 'utf8')).resolves.toMatch(/id="verdict">INTERRUPTED</);
  }, 90_000);

  it('--out holding a run is refused before anything starts; --force removes its results, then runs', async () => {
    const out = join(outRoot, 'taken');
    await mkdir(out, { recursive: true });
    await writeFile(join(out, 'results.json'), JSON.stringify({ runId: 'older' }));
    await writeFile(join(out, 'report.html'), 'older');
    await writeFile(join(out, 'mine.txt'), 'not bench\'s');
    const args = ['run', '--phase', '1', '--users', '500', '--duration', '5s', '--rate', '20', '--no-prometheus', '--out', out];
    const refused = await bench(args);
    expect(refused.code).toBe(2);
    expect(refused.err.trim().split('\n')).toEqual([`bench: --out ${out} already holds a run (results.json) — choose another directory, or add --force to remove its results first`]);
    expect(await listRuns()).toEqual([]);
    expect(JSON.parse(await readFile(join(out, 'results.json'), 'utf8'))).toEqual({ runId: 'older' });

    const forced = await bench([...args, '--force']);
    expect(forced.code).toBe(0);
    expect(forced.err).toMatch(/--force: removed the results of the earlier run in /);
    const results = await readResults(out);
    expect(results.runId).not.toBe('older');
    expect(results.partial).toBe(false);
    expect(await readFile(join(out, 'report.html'), 'utf8')).toMatch(new RegExp(results.runId));
    expect(await readFile(join(out, 'mine.txt'), 'utf8')).toBe('not bench\'s');
  }, 90_000);

  it('results.json is on disk, partial, before teardown; a teardown error becomes a note of the final results', async () => {
    const out = join(outRoot, 'teardown-error');
    const config = resolveRunConfig({ phase: '1', users: '500', duration: '5s', rate: '50', prometheus: false, out });
    let duringTeardown: Results | null = null;
    let filesDuringTeardown: string[] = [];
    const outcome = await executeRun(
      config,
      { progress: () => {}, write: () => {}, isTTY: false, signal: new AbortController().signal, cwd: repoRoot },
      {
        validate: loadExercise.validate,
        async run(ctx) {
          const dep = ctx.deployed.deployment;
          const down = dep.down.bind(dep);
          dep.down = async () => {
            duringTeardown = await readResults(out);
            filesDuringTeardown = await readdir(out);
            await down();
            throw new Error('the disk caught fire');
          };
          return loadExercise.run(ctx);
        },
      },
    );
    expect(duringTeardown).not.toBeNull();
    const partial = duringTeardown! as Results;
    expect(partial.partial).toBe(true);
    expect(partial.server.appRequests).toBeNull();
    expect(partial.notes).toContain('partial: written when the load ended, before collection and teardown');
    expect(filesDuringTeardown).toEqual(expect.arrayContaining(['results.json', 'report.html', 'summary.md', 'junit.xml']));
    const final = await readResults(out);
    expect(final.partial).toBe(false);
    expect(final.load.totals.requests).toBe(partial.load.totals.requests);
    expect(final.server.appRequests).toBe(final.load.totals.requests);
    expect(final.notes).toContain(`teardown failed: the disk caught fire (bench down ${final.runId} removes what is left)`);
    expect(outcome.exitCode).toBe(0);
    expect(processesMentioning(final.runId)).toEqual([]);
  }, 90_000);

  it('phase 3: the warm-up runs before the load, is recorded apart, and counts in no figure or objective', async () => {
    const out = join(outRoot, 'p3-warmup');
    const r = await bench(['run', '--phase', '3', '--users', '2000', '--app-servers', '2', '--replicas', '1', '--duration', '8s', '--rate', '60', '--warmup', '6s', '--no-prometheus', '--out', out]);
    expect(r.err).not.toMatch(/bench: /);
    expect(r.err).toMatch(/settled in \d+\.\d s/);
    expect(r.err).toMatch(/warm-up: 6s, mixed workload/);
    const results = await readResults(out);
    const w = results.warmup!;
    expect(w.durationS).toBe(6);
    expect(w.totals.requests).toBeGreaterThan(150);
    expect(w.series.length).toBeGreaterThanOrEqual(5);
    expect(results.timings.settle).toBeGreaterThanOrEqual(0);
    expect(results.timings.warmup).toBeGreaterThanOrEqual(6);
    // the measured load is the load alone: its series sums to its total, and the app servers
    // (counted from just before it) saw exactly as many requests; the warm-up's are in neither
    expect(results.load.series.reduce((a, p) => a + p.requests, 0)).toBe(results.load.totals.requests);
    expect(results.server.appRequests).toBe(results.load.totals.requests);
    const p99 = results.objectives.find((o) => o.name === 'p99-latency')!;
    const errors = results.objectives.find((o) => o.name === 'error-rate')!;
    expect(p99.actual).toBe(results.load.latencyMs.p99);
    expect(errors.actual).toBe(results.load.totals.errorRate);
    await expect(readFile(join(out, 'report.html'), 'utf8')).resolves.toMatch(/warm-up \(not measured\)/);
  }, 150_000);
});
