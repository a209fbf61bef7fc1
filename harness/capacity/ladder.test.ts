import { describe, expect, it } from 'vitest';
import { ladderMarkdown, ladderOf, parsePhases, rungOf, type LadderJson } from './ladder.ts';
import type { CapacityJson, CapacityStepJson } from './run.ts';

const step = (index: number, rate: number, verdict: CapacityStepJson['verdict'], p99: number | null, extra: Partial<CapacityStepJson> = {}): CapacityStepJson => ({
  index,
  phase: 'grow',
  rate,
  verdict,
  reason: '',
  atS: 0,
  durationS: 8,
  achievedRate: rate,
  latencyMs: { p50: p99 === null ? null : p99 / 4, p99 },
  errorRate: 0,
  requests: rate * 4,
  errors: 0,
  dropped: 0,
  generatorLimited: false,
  generatorSaturated: false,
  sizesEnforced: true,
  throttling: null,
  ...extra,
});

function search(phase: number, sustainable: number | null, steps: CapacityStepJson[], hosts: CapacityJson['hosts'], over: Partial<CapacityJson['capacity']> = {}): CapacityJson {
  return {
    kind: 'bench-capacity',
    version: 1,
    runId: `p${phase}-x`,
    startedAt: '',
    finishedAt: '',
    phase,
    title: `phase ${phase}`,
    config: { users: 10000, workload: 'mixed', seed: 1, driver: 'embedded', runtime: 'native', objective: 'p99<250ms,errors<1%', settleS: 2, holdS: 4, confirmS: 8, maxTimeS: 900, startRate: 100, maxRate: 15000, growth: 2, resolution: 0.2, maxSteps: 30 },
    hosts,
    warmup: null,
    capacity: { outcome: sustainable === null ? 'none' : 'found', stoppedBy: 'resolved', sustainableRate: sustainable, marginRate: sustainable === null ? null : 20, firstFailRate: null, confirmed: sustainable !== null, knee: null, notes: [], elapsedMs: 60_000, steps, saturatedFirst: { host: null, reason: 'no step failed' }, ...over },
    timings: {},
  };
}

describe('parsePhases', () => {
  it('reads ranges and lists of built phases, ascending and without repeats', () => {
    expect(parsePhases('1-5')).toEqual([1, 2, 3, 4, 5]);
    expect(parsePhases('3,2')).toEqual([2, 3]);
    expect(parsePhases('1,3-4,3')).toEqual([1, 3, 4]);
    // phase 7 is built since it deploys (targets/phases/phase-7.int.test.ts)
    expect(parsePhases('5-7')).toEqual([5, 6, 7]);
  });

  it('refuses what is not a ladder, in one line', () => {
    expect(() => parsePhases('2')).toThrow(/names one phase/);
    expect(() => parsePhases('5-2')).toThrow(/shrinks/);
    expect(() => parsePhases('2,x')).toThrow(/not a list of phases/);
    expect(() => parsePhases('2,9')).toThrow(/phase 9 does not exist/);
  });
});

describe('the ladder', () => {
  const p2 = search(2, 200, [step(1, 100, 'pass', 20), step(2, 200, 'pass', 90), step(3, 400, 'fail', 2_000), step(4, 300, 'fail', 900), step(5, 200, 'pass', 120, { phase: 'confirm' })], [
    { name: 'app-host', cpus: 0.2, memoryMb: 512 },
    { name: 'db-host', cpus: 0.5, memoryMb: 1024 },
    { name: 'control', cpus: 0.5, memoryMb: 1024 },
  ]);
  const p3 = search(3, 500, [step(1, 100, 'pass', 15), step(2, 200, 'pass', 30), step(3, 400, 'pass', 60), step(4, 800, 'fail', 3_000), step(5, 600, 'fail', 700), step(6, 500, 'pass', 150, { phase: 'confirm' })], [
    { name: 'lb-host', cpus: 0.25, memoryMb: 256 },
    { name: 'app-host-1', cpus: 0.2, memoryMb: 512 },
    { name: 'app-host-2', cpus: 0.2, memoryMb: 512 },
    { name: 'app-host-3', cpus: 0.2, memoryMb: 512 },
    { name: 'db-host-primary', cpus: 0.5, memoryMb: 1024 },
    { name: 'control', cpus: 0.5, memoryMb: 1024 },
  ]);

  it('gives each rung its factor over the previous one, its rate per core, and p99 at the common rate', () => {
    const { rungs, commonRate } = ladderOf([p2, p3].map((j) => ({ json: j, rung: rungOf(j, `/x/phase-${j.phase}`, 90) })));
    // 400 is the highest rate both measured firmly (phase 2 failed there: still a measurement)
    expect(commonRate).toBe(400);
    expect(rungs[0]).toMatchObject({ phase: 2, sustainableRate: 200, factor: null, cores: 0.7, ratePerCore: 285.7, p99AtCommonMs: 2_000, sizesEnforced: true });
    expect(rungs[1]).toMatchObject({ phase: 3, sustainableRate: 500, factor: 2.5, cores: 1.35, ratePerCore: 370.4, p99AtCommonMs: 60 });
  });

  it('an inconclusive step is no common rate; an unknown rate has no factor; unenforced sizes are flagged', () => {
    const inconclusive = search(3, null, [step(1, 100, 'pass', 15), step(2, 200, 'inconclusive', 30), step(3, 400, 'inconclusive', null)], p3.hosts, { stoppedBy: 'sizes', outcome: 'inconclusive' });
    const { rungs, commonRate } = ladderOf([p2, inconclusive].map((j) => ({ json: j, rung: rungOf(j, '', 1) })));
    expect(commonRate).toBe(100);
    expect(rungs[1]!.factor).toBeNull();
    expect(rungs[1]!.ratePerCore).toBeNull();
    expect(rungs[1]!.sizesEnforced).toBe(false);
  });

  it('summary.md states the table', () => {
    const { rungs, commonRate } = ladderOf([p2, p3].map((j) => ({ json: j, rung: rungOf(j, '', 90) })));
    const j: LadderJson = { kind: 'bench-ladder', version: 1, startedAt: '', finishedAt: '', phases: [2, 3], workload: 'mixed', users: 10000, objective: 'p99<250ms,errors<1%', quick: true, commonRate, rungs, notes: [] };
    const md = ladderMarkdown(j);
    expect(md).toContain('| phase | topology | sustainable (req/s) | factor | CPU cores | req/s per core | p99 at 400 req/s (ms) |');
    expect(md).toContain('| 2 | phase 2 | 200 (+20) | — | 0.7 | 285.7 | 2,000 | found, confirmed | 90 |');
    expect(md).toContain('| 3 | phase 3 | 500 (+20) | 2.50x | 1.35 | 370.4 | 60 | found, confirmed | 90 |');
  });
});

describe('ladderOptions', () => {
  it('--quick fills short holds and a coarse resolution; a flag given still wins; the same users on every phase', async () => {
    const { ladderOptions } = await import('../cli/ladder.ts');
    const quick = ladderOptions({ phases: '2,3', quick: true, hold: '6s' }, {});
    expect(quick.phases).toEqual([2, 3]);
    expect(quick.options).toMatchObject({ settleS: 2, holdS: 6, confirmS: 8, resolution: 0.2 });
    expect(quick.options.run).toMatchObject({ users: 10_000, warmupS: 20, salt: null }); // the search's warm-up, not shortened
    expect(ladderOptions({ phases: '2,3', quick: true, warmup: '3s' }, {}).options.run.warmupS).toBe(3);
    const full = ladderOptions({}, {});
    expect(full.phases).toEqual([1, 2, 3, 4, 5]);
    expect(full.options).toMatchObject({ settleS: 5, holdS: 20, confirmS: 60, resolution: 0.05 });
    expect(full.options.run.warmupS).toBe(20); // every phase warms up before a search
    expect(() => ladderOptions({ phases: '2,3', users: '0' }, {})).toThrow(/--users/);
  });
});

describe('bad input on the new flags is exit 2 before anything starts', () => {
  it.each([
    [['capacity', '--phase', '2', '--scale', 'app-servers=1..3'], /phase 2 has one app server/],
    [['capacity', '--phase', '2', '--scale', 'db-cpu=0.5'], /has one value/],
    [['capacity', '--phase', '2', '--size', 'nohost=1'], /phase 2 has no host nohost/],
    [['run', '--phase', '2', '--size', 'db-host=1,3.5m'], /not a whole number of MB/],
    [['ladder', '--phases', '2'], /names one phase/],
    [['ladder', '--phases', '2,3', '--hold', '1s'], /--hold 1s is out of range/],
  ])('bench %j', async (args, pattern) => {
    const { runCli } = await import('../cli/main.ts');
    let err = '';
    const code = await runCli(args, { out: () => {}, err: (t) => void (err += t), env: { BENCH_STATE_DIR: '/nonexistent-bench-state' }, isTTY: false, signal: new AbortController().signal, cwd: '/tmp' });
    expect(code).toBe(2);
    expect(err).toMatch(pattern);
    expect(err).not.toMatch(/deploying/);
  });
});
