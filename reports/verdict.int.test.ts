// The run verdict on real servers (phase 1: the reference app on SQLite, deployed natively), through
// the whole lifecycle (deploy, seed, load, results.json, teardown):
// - a generator that is itself the limit (its event loop held, in-flight slots free) gives
//   INCONCLUSIVE, exit 1, never PASS, even though the system answered everything it was sent;
// - requests dropped at the in-flight cap while the app is stopped (SIGSTOP) count as not served:
//   the failed share the objective uses includes them, beside the plain error rate.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { executeRun, type Exercise, type RunIO } from '../harness/run/lifecycle.ts';
import { resolveRunConfig } from '../harness/run/config.ts';
import { loadTargets } from '../harness/run/drive.ts';
import { runLoad } from '../harness/load/engine.ts';
import { workloads } from '../loadtests/workloads.ts';
import { repoRoot } from '../harness/env/which.ts';
import type { Results } from './schema.ts';

let stateRoot: string;
let outRoot: string;
const savedStateDir = process.env.BENCH_STATE_DIR;

beforeAll(async () => {
  // A private state root: nothing here touches anyone else's run.
  stateRoot = await mkdtemp(join(tmpdir(), 'b-verdict-'));
  outRoot = await mkdtemp(join(tmpdir(), 'b-verdict-out-'));
  process.env.BENCH_STATE_DIR = stateRoot;
});

afterAll(async () => {
  if (savedStateDir === undefined) delete process.env.BENCH_STATE_DIR;
  else process.env.BENCH_STATE_DIR = savedStateDir;
  await rm(stateRoot, { recursive: true, force: true });
  await rm(outRoot, { recursive: true, force: true });
});

function io(): RunIO & { log: string[] } {
  const log: string[] = [];
  return { log, progress: (l) => void log.push(l), write: () => {}, isTTY: false, signal: new AbortController().signal, cwd: repoRoot };
}

/** Blocks this thread (the generator's only event loop) for `ms`: what a generator out of CPU looks like. */
function hog(ms: number): void {
  const until = performance.now() + ms;
  while (performance.now() < until) {
    /* busy: no timer, no I/O, no completion is read meanwhile */
  }
}

const readResults = async (dir: string) => JSON.parse(await readFile(join(dir, 'results.json'), 'utf8')) as Results;

describe('run verdict (real servers, phase 1)', () => {
  it('a generator that was the limit (lag grew with in-flight slots free) is INCONCLUSIVE, exit 1, never PASS', async () => {
    const out = join(outRoot, 'limited');
    const config = resolveRunConfig({ phase: '1', users: '1000', duration: '8s', rate: '50', prometheus: false, out, p99: '60000ms', maxErrorRate: '100%' });
    let hogged = false;
    const exercise: Exercise = {
      validate() {},
      async run({ deployed, stages }) {
        const load = await runLoad({
          targets: loadTargets(deployed.plan),
          workload: workloads['read-heavy']!,
          users: config.users,
          stages,
          seed: config.seed,
          // the 3rd second: hold the event loop 2.5 s, far from the 2,000 in-flight cap
          onSecond: (p) => {
            if (p.t === 2 && !hogged) {
              hogged = true;
              hog(2500);
            }
          },
        });
        return { outcome: { ...load, driver: 'embedded', thresholdsFailed: false }, faults: [], drills: [], notes: [] };
      },
    };
    const run = await executeRun(config, io(), exercise);
    const r = await readResults(out);
    expect(hogged).toBe(true);
    expect(r.load.totals.requests).toBeGreaterThan(0);
    expect(r.load.generator.limited).toBe(true);
    expect(r.load.generator.maxLagMs).toBeGreaterThan(2000);
    // the objectives alone would pass (thresholds wide open): only the verdict stops a PASS
    expect(r.objectives.every((o) => o.pass)).toBe(true);
    expect(r.verdict).toBe('inconclusive');
    expect(r.verdictReason).toMatch(/^the load generator was the limit/);
    expect(r.verdictReason).not.toContain('\n');
    expect(run.exitCode).toBe(1);
  }, 120_000);

  it('requests dropped at the in-flight cap while the app is stopped count as not served in the failed share', async () => {
    const out = join(outRoot, 'drops');
    // --max-error-rate 0 must be passable (<=): it is the drops that fail this run
    const config = resolveRunConfig({ phase: '1', users: '1000', duration: '10s', rate: '100', prometheus: false, out, maxErrorRate: '0%' });
    const exercise: Exercise = {
      validate() {},
      async run({ deployed, stages }) {
        const app = deployed.deployment.service('app');
        // stop the app from 3 s to 6 s: 4 requests fill the in-flight cap, the rest due is dropped
        const stop = setTimeout(() => void app.signal('SIGSTOP'), 3000);
        const resume = setTimeout(() => void app.signal('SIGCONT'), 6000);
        try {
          const load = await runLoad({
            targets: loadTargets(deployed.plan),
            workload: workloads['read-heavy']!,
            users: config.users,
            stages,
            seed: config.seed,
            maxInFlight: 4,
            timeoutMs: 5000,
          });
          return { outcome: { ...load, driver: 'embedded', thresholdsFailed: false }, faults: [], drills: [], notes: [] };
        } finally {
          clearTimeout(stop);
          clearTimeout(resume);
          await app.signal('SIGCONT').catch(() => {});
        }
      },
    };
    const run = await executeRun(config, io(), exercise);
    const r = await readResults(out);
    const t = r.load.totals;
    expect(t.dropped).toBeGreaterThan(100);
    // both rates side by side: errors among completed requests, and the failed share of the offered load
    expect(t.failRate).toBeCloseTo((t.errors + t.dropped) / (t.requests + t.dropped), 12);
    expect(t.failRate!).toBeGreaterThan(t.errorRate);
    const objective = r.objectives.find((o) => o.name === 'error-rate')!;
    expect(objective.actual).toBe(t.failRate);
    expect(objective.pass).toBe(false);
    expect(r.verdict).toBe('fail');
    expect(r.load.generator.limited).toBe(false);
    expect(run.exitCode).toBe(1);
    // a stopped app answers nothing: no latency printed above the max, and the no-response
    // requests (if any timed out) sit in their own histogram
    const l = r.load.latencyMs;
    for (const k of ['p50', 'p90', 'p95', 'p99', 'p999'] as const) expect(l[k]!).toBeLessThanOrEqual(l.max!);
  }, 120_000);

  it('--max-error-rate 0 passes a run that failed nothing', async () => {
    const out = join(outRoot, 'clean');
    const config = resolveRunConfig({ phase: '1', users: '1000', duration: '6s', rate: '30', prometheus: false, out, maxErrorRate: '0%', p99: '5000ms' });
    const run = await executeRun(config, io());
    const r = await readResults(out);
    expect(r.load.totals.errors).toBe(0);
    expect(r.load.totals.dropped).toBe(0);
    expect(r.objectives.find((o) => o.name === 'error-rate')).toMatchObject({ actual: 0, threshold: 0, pass: true });
    expect(r.verdict).toBe('pass');
    expect(run.exitCode).toBe(0);
    // the native runtime records whether the host's cgroup quota was enforced
    expect(typeof r.topology.hosts.find((h) => h.name === 'host-1')!.sizeEnforced).toBe('boolean');
    console.log(`phase 1 host-1 sizeEnforced: ${r.topology.hosts[0]!.sizeEnforced}; achieved scale factor ${r.trafficModel.achievedScaleFactor}`);
  }, 120_000);
});
