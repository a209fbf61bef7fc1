import { describe, expect, it } from 'vitest';
import type { AppliedFault, Fault } from './faults/types.ts';
import { faultContext, FaultRunner } from './fault-runner.ts';
import { FakeToxiproxy, VirtualClock, fakeDeployment, planOf } from './testing/fakes.ts';

/** A fault that records when it was applied and reverted on the virtual clock. */
function recorder(name: string, log: string[], clock: VirtualClock, opts: { failApply?: boolean; failRevert?: boolean } = {}): Fault {
  return {
    name,
    target: `t-${name}`,
    describe: () => `${name} on t-${name}`,
    async apply(): Promise<AppliedFault> {
      if (opts.failApply) throw new Error('no such thing');
      log.push(`apply ${name} @${clock.now() - 1_000_000}`);
      return {
        detail: 'ok',
        revert: async () => {
          log.push(`revert ${name} @${clock.now() - 1_000_000}`);
          if (opts.failRevert) throw new Error('stuck');
        },
      };
    },
  };
}

function runnerSetup() {
  const plan = planOf(3);
  const tp = new FakeToxiproxy(plan);
  const ctx = faultContext({ deployment: fakeDeployment(plan), plan, toxiproxy: tp });
  const clock = new VirtualClock();
  const gauge: string[] = [];
  const ac = new AbortController();
  const runner = new FaultRunner({ ctx, clock, onFault: (n, t, on) => gauge.push(`${n}:${t}=${on ? 1 : 0}`), signal: ac.signal });
  return { plan, tp, clock, gauge, runner, ac };
}

describe('FaultRunner', () => {
  it('applies on the timeline, reverts at the window end, records windows and the gauge', async () => {
    const { clock, gauge, runner } = runnerSetup();
    const log: string[] = [];
    runner.start(
      [
        { fault: recorder('a', log, clock), startS: 2, durationS: 3 },
        { fault: recorder('b', log, clock), startS: 4, durationS: null },
      ],
      clock.now(),
    );
    await clock.advanceTo(clock.t + 10_000);
    expect(log).toEqual(['apply a @2000', 'apply b @4000', 'revert a @5000']);
    expect(runner.windows).toEqual([
      { name: 'a', target: 't-a', startS: 2, endS: 5, detail: 'a on t-a: ok' },
      { name: 'b', target: 't-b', startS: 4, endS: null, detail: 'b on t-b: ok' },
    ]);
    await runner[Symbol.asyncDispose]();
    expect(log.at(-1)).toBe('revert b @10000');
    expect(runner.windows[1]!.endS).toBe(10);
    expect(gauge).toEqual(['a:t-a=1', 'b:t-b=1', 'a:t-a=0', 'b:t-b=0']);
  });

  it('faults due at the same instant begin in schedule order, whichever timer fires first', async () => {
    const plan = planOf(3);
    const ctx = faultContext({ deployment: fakeDeployment(plan), plan, toxiproxy: new FakeToxiproxy(plan) });
    // a clock whose sleeps end last-in, first-out: the later timer fires first, as on a busy machine
    const pending: Array<() => void> = [];
    const clock = { now: () => 1_000_000, sleep: () => new Promise<void>((r) => pending.push(r)) };
    const runner = new FaultRunner({ ctx, clock });
    const log: string[] = [];
    const vc = { now: () => 1_000_000 } as VirtualClock;
    runner.start(
      [
        { fault: recorder('kill', log, vc), startS: 5, durationS: null },
        { fault: recorder('failover', log, vc), startS: 5, durationS: null },
      ],
      clock.now(),
    );
    await new Promise((r) => setTimeout(r, 0));
    while (pending.length > 0) pending.pop()!();
    await runner.settled();
    expect(log).toEqual(['apply kill @0', 'apply failover @0']);
    expect(runner.windows.map((w) => w.name)).toEqual(['kill', 'failover']);
    await runner[Symbol.asyncDispose]();
  });

  it('on abort applies nothing more and dispose reverts what is applied, newest first', async () => {
    const { clock, runner, ac } = runnerSetup();
    const log: string[] = [];
    runner.start(
      [
        { fault: recorder('a', log, clock), startS: 1, durationS: 100 },
        { fault: recorder('b', log, clock), startS: 2, durationS: 100 },
        { fault: recorder('c', log, clock), startS: 50, durationS: 1 },
      ],
      clock.now(),
    );
    await clock.advanceTo(clock.t + 3000);
    ac.abort();
    await runner[Symbol.asyncDispose]();
    expect(log).toEqual(['apply a @1000', 'apply b @2000', 'revert b @3000', 'revert a @3000']);
    expect(runner.activeCount).toBe(0);
  });

  it('records a fault that fails to apply or to revert, and keeps going', async () => {
    const { clock, runner } = runnerSetup();
    const log: string[] = [];
    runner.start(
      [
        { fault: recorder('bad', log, clock, { failApply: true }), startS: 1, durationS: 1 },
        { fault: recorder('stuck', log, clock, { failRevert: true }), startS: 1, durationS: 1 },
        { fault: recorder('good', log, clock), startS: 1, durationS: 1 },
      ],
      clock.now(),
    );
    await clock.advanceTo(clock.t + 5000);
    await runner[Symbol.asyncDispose]();
    expect(runner.errors).toEqual(['bad on t-bad failed to apply: no such thing', 'stuck on t-stuck failed to revert: stuck']);
    expect(runner.windows.find((w) => w.name === 'bad')).toMatchObject({ startS: 1, endS: 1 });
    expect(log).toContain('revert good @2000');
  });

  it('sweeps Toxiproxy at dispose: a toxic or a disabled proxy left behind is reset', async () => {
    const { tp, runner } = runnerSetup();
    await tp.addToxic('lb->app-1', { name: 'bench.latency.99.downstream', type: 'latency', stream: 'downstream', toxicity: 1, attributes: { latency: 1 } });
    await tp.setEnabled('lb->app-2', false);
    await runner[Symbol.asyncDispose]();
    expect(tp.leftovers()).toEqual([]);
    expect(tp.calls).toContain('reset');
    expect(runner.errors[0]).toMatch(/still had faults on lb->app-1, lb->app-2/);
  });

  it('leaves a clean Toxiproxy alone', async () => {
    const { tp, runner, plan } = runnerSetup();
    const { makeFault } = await import('./faults/index.ts');
    const done = await runner.applyNow(makeFault('latency', 'lb->app-1', {}, plan));
    expect(done).toBe(true);
    expect(tp.leftovers().length).toBe(1);
    await runner[Symbol.asyncDispose]();
    expect(tp.leftovers()).toEqual([]);
    expect(tp.calls).not.toContain('reset');
    expect(runner.errors).toEqual([]);
  });
});
