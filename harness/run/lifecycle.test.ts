// Pure and file-level parts of a run's lifecycle: --warmup and its default, the warm-up's
// schedule, and the refusal of an --out that already holds a run.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BenchError } from '../errors.ts';
import { defaultWarmupS, DEFAULT_SETTLE_TIMEOUT_S, resolveRunConfig } from './config.ts';
import { warmupStages } from './drive.ts';
import { claimRunDir, RUN_FILES, topologyFor } from './lifecycle.ts';
import { runCli } from '../cli/main.ts';

const topo = (phase: number) => topologyFor(resolveRunConfig({ phase: String(phase), users: '1e4' }));

describe('--warmup', () => {
  it('defaults to 20 s where caches or replicas exist, 0 elsewhere', () => {
    expect(defaultWarmupS(topo(1))).toBe(0);
    expect(defaultWarmupS(topo(2))).toBe(0);
    expect(defaultWarmupS(topo(3))).toBe(20);
    expect(defaultWarmupS(topo(4))).toBe(20);
    expect(defaultWarmupS(topo(5))).toBe(20);
    // phase 3 without replicas has nothing to warm
    expect(defaultWarmupS(topologyFor(resolveRunConfig({ phase: '3', users: '1e4', replicas: '0' })))).toBe(0);
  });

  it('unset is null (the default applies), 0 skips, durations parse, bad input is one usage line', () => {
    expect(resolveRunConfig({ phase: '5' }).warmupS).toBeNull();
    expect(resolveRunConfig({ phase: '5', warmup: '0' }).warmupS).toBe(0);
    expect(resolveRunConfig({ phase: '5', warmup: '45s' }).warmupS).toBe(45);
    expect(resolveRunConfig({ phase: '5' }, { BENCH_WARMUP: '10s' }).warmupS).toBe(10);
    expect(() => resolveRunConfig({ phase: '5', warmup: 'soon' })).toThrow(/--warmup "soon" is not a duration/);
    expect(() => resolveRunConfig({ phase: '5', warmup: '2h' })).toThrow(/--warmup 2h is out of range/);
  });

  it('--settle-timeout and --force', () => {
    expect(resolveRunConfig({ phase: '5' }).settleTimeoutS).toBe(DEFAULT_SETTLE_TIMEOUT_S);
    expect(resolveRunConfig({ phase: '5', settleTimeout: '3m' }).settleTimeoutS).toBe(180);
    expect(() => resolveRunConfig({ phase: '5', settleTimeout: '0' })).toThrow(/--settle-timeout 0 is out of range/);
    expect(resolveRunConfig({ phase: '5' }).force).toBe(false);
    expect(resolveRunConfig({ phase: '5', force: true }).force).toBe(true);
  });
});

describe('warmupStages', () => {
  it('ramps from the floor to the rate over half of it (at most 30 s), then holds, for exactly the warm-up', () => {
    expect(warmupStages(694, 20)).toEqual([
      { durationS: 0, targetRate: 35 },
      { durationS: 10, targetRate: 694 },
      { durationS: 10, targetRate: 694 },
    ]);
    expect(warmupStages(100, 8)).toEqual([
      { durationS: 0, targetRate: 5 },
      { durationS: 4, targetRate: 100 },
      { durationS: 4, targetRate: 100 },
    ]);
    expect(warmupStages(100, 120).reduce((a, s) => a + s.durationS, 0)).toBe(120);
    expect(warmupStages(100, 120)[1]).toEqual({ durationS: 30, targetRate: 100 });
  });

  it('a very short warm-up is all at the rate; none is no stage', () => {
    expect(warmupStages(50, 3)).toEqual([{ durationS: 0, targetRate: 50 }, { durationS: 3, targetRate: 50 }]);
    expect(warmupStages(50, 0)).toEqual([]);
  });
});

describe('claimRunDir', () => {
  let dir: string;
  const lines: string[] = [];
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'b-claim-'));
    lines.length = 0;
  });
  afterEach(async () => rm(dir, { recursive: true, force: true }));

  it('an empty or missing directory is taken as it is', async () => {
    await claimRunDir(dir, { out: dir, force: false }, (l) => lines.push(l));
    await claimRunDir(join(dir, 'new'), { out: 'new', force: false }, (l) => lines.push(l));
    expect(lines).toEqual([]);
  });

  it('a directory holding a run is refused with one usage line, and left untouched', async () => {
    await writeFile(join(dir, 'results.json'), '{}');
    const err = await claimRunDir(dir, { out: 'old-run', force: false }, (l) => lines.push(l)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BenchError);
    expect((err as BenchError).exitCode).toBe(2);
    expect((err as BenchError).oneLine()).toBe('--out old-run already holds a run (results.json) — choose another directory, or add --force to remove its results first');
    expect(await readdir(dir)).toEqual(['results.json']);
  });

  it('--force removes the old run\'s files, and nothing else', async () => {
    for (const f of RUN_FILES) await writeFile(join(dir, f), 'old');
    await writeFile(join(dir, 'notes.txt'), 'mine');
    await claimRunDir(dir, { out: 'old-run', force: true }, (l) => lines.push(l));
    expect(await readdir(dir)).toEqual(['notes.txt']);
    expect(lines).toEqual(['--force: removed the results of the earlier run in old-run']);
  });
});

describe('the CLI flags', () => {
  const bench = async (args: string[]) => {
    let err = '';
    const code = await runCli(args, { out: () => {}, err: (t) => void (err += t), env: {}, isTTY: false, signal: new AbortController().signal, cwd: process.cwd() });
    return { code, err };
  };

  it.each([
    [['run', '--phase', '3', '--warmup', 'soon'], /^bench: --warmup "soon" is not a duration — write it like 30s/],
    [['drill', 'dead-server', '--phase', '3', '--warmup', '-1s'], /^bench: --warmup "-1s" is not a duration/],
    [['up', '--phase', '3', '--settle-timeout', '0'], /^bench: --settle-timeout 0 is out of range/],
  ])('%j: one line, exit 2, nothing started', async (args, line) => {
    const r = await bench(args);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(line);
    expect(r.err.trim().split('\n')).toHaveLength(1);
  });

  it('bench run, drill and up list the new flags in their help', async () => {
    for (const [cmd, flags] of [
      ['run', ['--warmup', '--force', '--settle-timeout']],
      ['drill', ['--warmup', '--force', '--settle-timeout']],
      ['up', ['--force', '--settle-timeout']],
    ] as const) {
      let out = '';
      await runCli([cmd, '--help'], { out: (t) => void (out += t), err: () => {}, env: {}, isTTY: false, signal: new AbortController().signal, cwd: process.cwd() });
      for (const f of flags) expect(out, `${cmd} ${f}`).toContain(f);
    }
  });
});
