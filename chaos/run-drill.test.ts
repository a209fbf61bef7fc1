// runDrill's orchestration with a fake deployment, a fake Toxiproxy and a scripted load: the
// schedule runs on the load's clock, every fault is reverted, the verdict is valid results.json,
// and an abort reverts everything before throwing.
import { describe, expect, it } from 'vitest';
import { BenchError } from '../harness/errors.ts';
import type { LoadOptions, LoadOutcome } from '../harness/load/types.ts';
import { workloads } from '../loadtests/workloads.ts';
import { DrillResult, type SeriesPoint } from '../reports/schema.ts';
import { drillStages, REVERT_GRACE_S, runDrill, trimStages } from './run-drill.ts';
import { FakeToxiproxy, fakeDeployment, planOf } from './testing/fakes.ts';

/** A load that lasts `ms` of real time (or until aborted) and reports a series that fails in [2, 4). */
function scriptedLoad(ms: number, seen: { options?: LoadOptions }) {
  return async (options: LoadOptions): Promise<LoadOutcome> => {
    seen.options = options;
    const startedAtMs = Date.now() + 20; // the engine starts a little after runDrill's t0
    await new Promise<void>((resolve) => {
      const t = setTimeout(resolve, ms);
      options.signal?.addEventListener('abort', () => (clearTimeout(t), resolve()), { once: true });
    });
    const series: SeriesPoint[] = Array.from({ length: 8 }, (_, t) => ({ t, requests: 50, errors: t >= 2 && t < 4 ? 50 : 0, dropped: 0, targetRate: 50, p50: 2, p95: 4, p99: 8 }));
    const totals = { requests: 400, ok: 300, errors: 100, dropped: 0, throughputRps: 50, errorRate: 0.25 };
    const latency = { p50: 2, p90: 3, p95: 4, p99: 8, p999: 9, max: 10, mean: 2 };
    return {
      startedAtMs,
      results: { driver: 'embedded', workload: options.workload.name, stages: options.stages, durationS: 8, totals, latencyMs: latency, endpoints: {}, statusCodes: {}, errorKinds: {}, series, generator: { saturated: false, maxLagMs: 0, peakRssMb: 50 } },
    };
  };
}

function setup() {
  const plan = planOf(3);
  const deployment = fakeDeployment(plan);
  const tp = new FakeToxiproxy(plan);
  const gauge: string[] = [];
  const load = { targets: { api: 'http://127.0.0.1:9', static: 'http://127.0.0.1:9' }, users: 1000, seed: 1, rate: 50, workload: workloads.static! };
  return { plan, deployment, tp, gauge, load };
}

describe('runDrill', () => {
  it('applies the schedule on the load timeline, reverts it, and returns a valid DrillResult', async () => {
    const { deployment, tp, gauge, load } = setup();
    const seen: { options?: LoadOptions } = {};
    const out = await runDrill({
      deployment,
      drill: 'slow-database',
      load,
      atS: 0.2,
      durationS: 0.3,
      toxiproxy: tp,
      onFault: (n, t, on) => gauge.push(`${n}:${t}=${on ? 1 : 0}`),
      runLoad: scriptedLoad(900, seen),
    });
    expect(DrillResult.parse(out.drill)).toEqual(out.drill);
    expect(out.faults).toHaveLength(1);
    const w = out.faults[0]!;
    // shifted onto the load's clock: the engine started ~20 ms after runDrill's t0
    expect(w.startS).toBeGreaterThan(0.1);
    expect(w.startS).toBeLessThan(0.4);
    expect(w.endS! - w.startS).toBeGreaterThan(0.25);
    expect(tp.leftovers()).toEqual([]);
    expect(tp.calls.filter((c) => c.startsWith('add')).length).toBe(9);
    expect(gauge).toEqual(['latency:app->db=1', 'latency:app->db=0']);
    // the drill's own stages when none were given: ramp 3 s, then steady to at + duration + tail,
    // planned longer by the time reverts may take (the load is stopped a tail after they complete)
    expect(seen.options!.stages).toEqual(drillStages(50, 0.2 + 0.3 + 15 + REVERT_GRACE_S));
    expect(out.drill.name).toBe('slow-database');
    expect(out.writes).toBeNull();
  });

  it('gives each load a fresh salt unless the caller chose one (two drills on one deployment send different ids)', async () => {
    const { deployment, tp, load } = setup();
    const salts: (number | undefined)[] = [];
    for (const given of [undefined, undefined, 42]) {
      const seen: { options?: LoadOptions } = {};
      await runDrill({ deployment, drill: 'slow-database', load: { ...load, ...(given === undefined ? {} : { salt: given }) }, atS: 0.1, durationS: 0.1, tailS: 0.1, toxiproxy: tp, runLoad: scriptedLoad(300, seen) });
      salts.push(seen.options!.salt);
    }
    expect(salts[0]).toBeGreaterThan(0);
    expect(salts[1]).toBeGreaterThan(0);
    expect(salts[0]).not.toBe(salts[1]);
    expect(salts[2]).toBe(42);
  });

  it('an abort mid-fault reverts everything, starts killed services again, then throws interrupted', async () => {
    const { deployment, tp, load } = setup();
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 400);
    const err = await runDrill({ deployment, drill: 'dead-server', load, atS: 0.1, durationS: 60, toxiproxy: tp, onFault: () => {}, signal: ac.signal, runLoad: scriptedLoad(10_000, {}) }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BenchError);
    expect((err as BenchError).code).toBe('interrupted');
    const victim = deployment.fake.get('app-3')!;
    expect(victim.signals).toEqual(['SIGKILL']);
    expect(victim.starts).toBe(1);
    expect(victim.isRunning()).toBe(true);
  });

  it('the tail counts from when the revert has completed (the restarted victim ready), not from the scheduled end', async () => {
    const { deployment, tp, load } = setup();
    // the victim takes 800 ms to be ready again: its revert completes ~0.3 + 0.2 + 0.8 = 1.3 s in
    deployment.fake.get('app-3')!.startDelayMs = 800;
    const t0 = Date.now();
    let stoppedAfterMs = 0;
    const scripted = scriptedLoad(20_000, {});
    const out = await runDrill({
      deployment,
      drill: 'dead-server',
      load,
      atS: 0.3,
      durationS: 0.2,
      tailS: 0.6,
      toxiproxy: tp,
      onFault: () => {},
      runLoad: async (options) => {
        const r = await scripted(options);
        stoppedAfterMs = Date.now() - t0;
        return r;
      },
    });
    // scheduled end 0.5 s + tail 0.6 s = 1.1 s would be the old stop; the revert ends ~1.3 s, the load ~1.9 s
    expect(out.drill.figures.revertsCompletedS as number).toBeGreaterThan(1.2);
    expect(stoppedAfterMs).toBeGreaterThanOrEqual(1800);
    expect(stoppedAfterMs).toBeLessThan(5000);
    expect(deployment.fake.get('app-3')!.isRunning()).toBe(true);
  });

  it('trimStages cuts a load stopped early to what ran', () => {
    const stages = drillStages(50, 40);
    expect(trimStages(stages, 10.5)).toEqual([stages[0], stages[1], { durationS: 7.5, targetRate: 50 }]);
    expect(trimStages(stages, 2)).toEqual([stages[0], { durationS: 2, targetRate: 50 }]);
  });

  it('refuses a bad drill, phase or timing before any load', async () => {
    const { deployment, tp, load } = setup();
    let ran = false;
    const runLoad = async () => {
      ran = true;
      throw new Error('should not run');
    };
    await expect(runDrill({ deployment, drill: 'cache-outage', load, toxiproxy: tp, runLoad })).rejects.toThrow(/drill cache-outage does not apply to phase 3: it kills the read cache/);
    await expect(runDrill({ deployment, drill: 'dead-server', load: { ...load, rate: undefined }, toxiproxy: tp, runLoad })).rejects.toThrow(/drill dead-server has no load rate/);
    await expect(runDrill({ deployment, drill: 'dead-server', load: { ...load, stages: [{ durationS: 5, targetRate: 10 }] }, atS: 10, toxiproxy: tp, runLoad })).rejects.toThrow(/the load lasts 5 s and the fault starts at 10 s/);
    expect(ran).toBe(false);
  });
});
