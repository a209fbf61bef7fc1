import { appendFileSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { faultContext } from '../fault-runner.ts';
import { FakeService, fakeDeployment, planOf } from '../testing/fakes.ts';
import { drills, drillTiming } from './index.ts';
import { newDrillState } from './types.ts';
import { crashAfterEffect, nonIdempotentWorkers } from './worker-crash.ts';

const root = mkdtempSync(join(tmpdir(), 'bench-worker-crash-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** A worker whose directory exists, and that (when `crashes`) dies by itself soon after an armed start. */
class ArmableWorker extends FakeService {
  readonly armedAtStart: boolean[] = [];
  crashes = true;
  override readonly logFile = join(root, `${this.spec.name}.log`);
  override get dataDir() {
    return join(root, this.spec.name);
  }
  override async start() {
    const armed = existsSync(join(this.dataDir, 'crash-after-effects'));
    this.armedAtStart.push(armed);
    await super.start();
    if (armed && this.crashes) setTimeout(() => (this.running = false), 30);
  }
}

// nothing listens on the discard port: the small uploads are refused at once and reach no real service
const nowhere = { host: '127.0.0.1', port: 9 };

function setup() {
  const plan = planOf(6);
  const dep = fakeDeployment(plan);
  const w = new ArmableWorker(plan.services.find((s) => s.name === 'worker-1')!);
  dep.fake.set('worker-1', w);
  mkdirSync(w.dataDir, { recursive: true });
  writeFileSync(w.logFile, 'worker-1: an earlier start\n');
  w.running = false; // moment 1 left it SIGKILLed
  return { plan, w, ctx: faultContext({ deployment: dep, plan, toxiproxy: null }) };
}

describe('worker-crash: the after-effect moment', () => {
  it('restarts the victim armed, sees it crash by itself, starts it again unarmed; the switch is gone', async () => {
    const { w, ctx } = setup();
    const state = newDrillState();
    await crashAfterEffect(ctx, w, nowhere, () => w.start(), state, 5_000);
    expect(w.armedAtStart).toEqual([true, false]);
    expect(w.isRunning()).toBe(true);
    expect(existsSync(join(w.dataDir, 'crash-after-effects'))).toBe(false);
    expect(state.figures.afterEffectCrashS).toBeGreaterThan(0);
    expect(state.problems).toEqual([]);
  });

  it('a victim that never crashes is a problem (the moment was not tested), and is restarted unarmed', async () => {
    const { w, ctx } = setup();
    w.crashes = false;
    const state = newDrillState();
    await crashAfterEffect(ctx, w, nowhere, () => w.start(), state, 300);
    expect(state.figures.afterEffectCrashS).toBeNull();
    expect(state.problems).toEqual([expect.stringMatching(/worker-1 did not crash after a side effect within 0.3 s .*0 of 8 uploads accepted.*not tested/)]);
    expect([w.stops, w.armedAtStart]).toEqual([1, [true, false]]);
    expect(w.isRunning()).toBe(true);
  });

  it('an armed worker that crashed before it was judged ready (its log says so): the crash, then an unarmed start', async () => {
    const { w, ctx } = setup();
    const state = newDrillState();
    const crashesEarly = async () => {
      appendFileSync(w.logFile, 'worker-1: crashAfterEffects reached, SIGKILL before the ack: 1 effect(s) applied\n');
      throw new Error('worker-1 was killed by SIGKILL before it was ready');
    };
    await crashAfterEffect(ctx, w, nowhere, crashesEarly, state, 5_000);
    expect(state.figures.afterEffectCrashS).toBeGreaterThanOrEqual(0);
    expect(state.problems).toEqual([]);
    expect([w.starts, w.isRunning(), existsSync(join(w.dataDir, 'crash-after-effects'))]).toEqual([1, true, false]);
  });

  it('an armed start that fails without the crash line (an earlier start logged one) is a failure, and removes the switch', async () => {
    const { w, ctx } = setup();
    appendFileSync(w.logFile, 'worker-1: crashAfterEffects reached, SIGKILL before the ack: 1 effect(s) applied\n');
    await expect(crashAfterEffect(ctx, w, nowhere, () => Promise.reject(new Error('no start')), newDrillState(), 300)).rejects.toThrow('no start');
    expect(existsSync(join(w.dataDir, 'crash-after-effects'))).toBe(false);
  });

  it('a failed armed restart still removes the switch', async () => {
    const { w, ctx } = setup();
    await expect(crashAfterEffect(ctx, w, nowhere, () => Promise.reject(new Error('no start')), newDrillState(), 300)).rejects.toThrow('no start');
    expect(existsSync(join(w.dataDir, 'crash-after-effects'))).toBe(false);
  });
});

describe('worker-crash: what it expects of the workers', () => {
  it('idempotent workers: duplicated 0; --idempotent-workers false: duplicated > 0', () => {
    const d = drills.get('worker-crash')!;
    const p = planOf(6);
    const n = planOf(6, { idempotentWorkers: 'false' });
    expect([nonIdempotentWorkers(p), nonIdempotentWorkers(n)]).toEqual([false, true]);
    const t = drillTiming(d, { users: 1000 });
    expect(d.hypothesis(p, t).text).toMatch(/duplicated 0 \(idempotent workers\)/);
    expect(d.hypothesis(n, t).text).toMatch(/duplicated > 0 \(the workers are not idempotent/);
  });

  it('schedules one fault on worker-1 for both moments', () => {
    const [f] = drills.get('worker-crash')!.schedule(planOf(6), drillTiming(drills.get('worker-crash')!, { users: 1000 }), newDrillState());
    expect(f!.fault.describe()).toBe('30 uploads of 4096 KiB, then kill -9 worker-1; then worker-1 restarted to crash after its first effect, before the ack');
  });
});
