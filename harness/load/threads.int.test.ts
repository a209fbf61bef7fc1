// --generator-threads 2 end to end on the real servers: `bench run --phase 1` with two engine
// threads counts exactly the requests the app counted (as the one-thread test in
// harness/run/run.int.test.ts does), and the engine's Prometheus series, fed from both threads,
// hold the same count.
import { afterAll, beforeAll, describe, expect, it, onTestFailed } from 'vitest';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runBench } from '../testing/cli.ts';
import { listRuns } from '../runtime/state.ts';
import { processesMentioning } from '../runtime/testing/run-helpers.ts';
import { instant } from '../metrics/query.ts';
import type { Results } from '../../reports/schema.ts';
import type { DeployPlan } from '../topology/plan.ts';

let stateRoot: string;
let outRoot: string;
const savedStateDir = process.env.BENCH_STATE_DIR;

beforeAll(async () => {
  // a private state root: reaping here never touches anyone else's run
  stateRoot = await mkdtemp(join(tmpdir(), 'b-threads-'));
  outRoot = await mkdtemp(join(tmpdir(), 'b-threads-out-'));
  process.env.BENCH_STATE_DIR = stateRoot;
});

afterAll(async () => {
  for (const r of await listRuns()) await runBench(['down', r.runId], { env: { BENCH_STATE_DIR: stateRoot } });
  if (savedStateDir === undefined) delete process.env.BENCH_STATE_DIR;
  else process.env.BENCH_STATE_DIR = savedStateDir;
  await rm(stateRoot, { recursive: true, force: true });
  await rm(outRoot, { recursive: true, force: true });
});

describe('bench run --generator-threads 2 (real servers)', () => {
  it('phase 1: two threads count exactly the requests the app counted, in results and in Prometheus', async () => {
    const out = join(outRoot, 'p1');
    const r = await runBench(['run', '--phase', '1', '--users', '2000', '--duration', '8s', '--rate', '150', '--generator-threads', '2', '--keep', '--out', out]);
    const results = JSON.parse(await readFile(join(out, 'results.json'), 'utf8')) as Results;
    onTestFailed(async () => {
      await runBench(['down', results.runId], { env: { BENCH_STATE_DIR: stateRoot } });
    });
    expect(r.err).not.toMatch(/bench: /);
    expect(r.err).toMatch(/generator: 2 threads \(--generator-threads\)/);
    expect(r.code, `verdict ${results.verdict}: ${results.verdictReason ?? ''}`).toBe(0);
    expect(results.load.generator.threads).toBe(2);
    expect(results.load.totals.requests).toBeGreaterThan(600);
    expect(results.load.totals.errors).toBe(0);
    // with no error, every request the engine counted reached the app and no other did: exactly equal
    expect(results.server.appRequests).toBe(results.load.totals.requests);
    // the series' seconds add up to the totals (merged per second from both threads)
    expect(results.load.series.reduce((a, p) => a + p.requests, 0)).toBe(results.load.totals.requests);
    const plan = JSON.parse(await readFile(join(out, 'plan.json'), 'utf8')) as DeployPlan;
    const url = `http://${plan.prometheus!.address.host}:${plan.prometheus!.address.port}`;
    const end = Date.parse(results.finishedAt) / 1000;
    const series = await instant(url, `sum(max_over_time(k6_http_reqs_total{run="${results.runId}"}[5m]))`, end);
    const engineSeen = series.reduce((a, s) => a + s.value[1], 0);
    expect(Math.abs(engineSeen - results.load.totals.requests) / results.load.totals.requests).toBeLessThan(0.01);
    // bench down reads the state root from its own environment
    const d = await runBench(['down', results.runId], { env: { BENCH_STATE_DIR: stateRoot } });
    expect(d.code, d.err).toBe(0);
    expect(processesMentioning(results.runId)).toEqual([]);
  }, 120_000);
});
