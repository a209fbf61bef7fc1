// --burst: the flag's parse (one line, exit 2 on bad input) and the schedule it makes, counted in
// arrivals per second with and without the burst, for the embedded scheduler and k6's stages.
import { describe, expect, it } from 'vitest';
import { ArrivalSchedule } from './scheduler.ts';
import { formatBurst, stagesFor, withBurst, type Burst } from './traffic-model.ts';
import { parseBurst, resolveRunConfig } from '../run/config.ts';
import { usageLine } from '../testing/usage-error.ts';
import { runCli } from '../cli/main.ts';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runBench } from '../testing/cli.ts';
import { startRateOf, toK6Stages } from '../../loadtests/lib/options.ts';

/** Requests due in each whole second of a schedule. */
function perSecond(stages: ReturnType<typeof stagesFor>): number[] {
  const s = new ArrivalSchedule(stages, startRateOf(stages));
  const out: number[] = [];
  for (let t = 0; t < s.durationS; t++) out.push(s.countAt(t + 1) - s.countAt(t));
  return out;
}

describe('parseBurst', () => {
  it('reads FACTORx@START+LENGTH', () => {
    expect(parseBurst('5x@20s+10s', 60)).toEqual({ factor: 5, startS: 20, lengthS: 10 });
    expect(parseBurst('2.5x@1m+30s', 120)).toEqual({ factor: 2.5, startS: 60, lengthS: 30 });
    expect(parseBurst('20x@0+5', 5)).toEqual({ factor: 20, startS: 0, lengthS: 5 });
    expect(formatBurst({ factor: 5, startS: 20, lengthS: 10 })).toBe('5x@20s+10s');
  });

  it('refuses bad input in one line each', () => {
    expect(usageLine(() => parseBurst('5@20s+10s', 60))).toMatch(/^--burst "5@20s\+10s" is not a burst — write FACTORx@START\+LENGTH/);
    expect(usageLine(() => parseBurst('1x@20s+10s', 60))).toMatch(/factor 1 must be more than 1 and at most 20/);
    expect(usageLine(() => parseBurst('21x@20s+10s', 60))).toMatch(/factor 21 must be more than 1 and at most 20/);
    expect(usageLine(() => parseBurst('5x@soon+10s', 60))).toMatch(/^--burst start "soon" is not a duration/);
    expect(usageLine(() => parseBurst('5x@20s+0s', 60))).toMatch(/^--burst length 0s is out of range/);
    expect(usageLine(() => parseBurst('5x@55s+10s', 60))).toMatch(/^--burst 5x@55s\+10s ends at 65s, past the 60s of the measured load/);
    for (const line of [usageLine(() => parseBurst('x', 60)), usageLine(() => parseBurst('5x@55s+10s', 60))]) expect(line).not.toContain('\n');
  });

  it('is checked against the run duration by resolveRunConfig; absent: null', () => {
    expect(resolveRunConfig({ phase: '1' }).burst).toBeNull();
    expect(resolveRunConfig({ phase: '1', duration: '40s', burst: '3x@10s+5s' }).burst).toEqual({ factor: 3, startS: 10, lengthS: 5 });
    expect(usageLine(() => resolveRunConfig({ phase: '1', duration: '30s', burst: '3x@20s+15s' }))).toMatch(/past the 30s of the measured load/);
  });

  it('exits 2 with one line from the CLI', async () => {
    let err = '';
    const code = await runCli(['run', '--phase', '1', '--burst', '50x@1s+1s'], { out: () => {}, err: (t) => void (err += t), env: {}, isTTY: false, signal: new AbortController().signal, cwd: process.cwd() });
    expect(code).toBe(2);
    expect(err.trim().split('\n')).toHaveLength(1);
    expect(err).toMatch(/^bench: --burst 50x@1s\+1s: the factor 50 must be more than 1 and at most 20/);
  });
});

describe('withBurst', () => {
  const burst: Burst = { factor: 5, startS: 20, lengthS: 10 };

  it('multiplies the arrivals of the burst window only, second by second', () => {
    const base = stagesFor(100, 60);
    const bursted = withBurst(base, burst);
    const a = perSecond(base);
    const b = perSecond(bursted);
    expect(b).toHaveLength(60);
    for (let t = 0; t < 60; t++) {
      if (t >= 20 && t < 30) expect(b[t]).toBeCloseTo(a[t]! * 5, 6);
      else expect(b[t]).toBeCloseTo(a[t]!, 6);
    }
    // the plateau is 100/s from t=9 s: 500 per second in the burst, 10 x 400 more in total
    expect(b[25]).toBeCloseTo(500, 6);
    const total = (xs: number[]) => xs.reduce((x, y) => x + y, 0);
    expect(total(b) - total(a)).toBeCloseTo(4000, 6);
    // the planned rate (the series' targetRate) shows the burst
    const s = new ArrivalSchedule(bursted, startRateOf(bursted));
    expect(s.rateAt(19.5)).toBeCloseTo(100, 6);
    expect(s.rateAt(20)).toBeCloseTo(500, 6);
    expect(s.rateAt(29.9)).toBeCloseTo(500, 6);
    expect(s.rateAt(30)).toBeCloseTo(100, 6);
  });

  it('splits a ramp at the burst edges (rate interpolated) and keeps the duration', () => {
    // stagesFor(100, 60): floor 5/s, ramp 9 s up, 48 s plateau, 3 s down; burst across the ramp up
    const base = stagesFor(100, 60);
    const b = withBurst(base, { factor: 2, startS: 3, lengthS: 10 });
    expect(b.reduce((t, s) => t + s.durationS, 0)).toBe(60);
    const sa = new ArrivalSchedule(base, startRateOf(base));
    const sb = new ArrivalSchedule(b, startRateOf(b));
    for (const t of [0, 2.9, 3, 5.5, 8.99, 9, 12.9, 13, 40, 59.5]) {
      expect(sb.rateAt(t), `t=${t}`).toBeCloseTo(sa.rateAt(t) * (t >= 3 && t < 13 ? 2 : 1), 6);
    }
  });

  it('covers a burst from t=0 and one that lasts to the end', () => {
    const base = stagesFor(50, 30);
    const a = perSecond(base);
    const fromStart = perSecond(withBurst(base, { factor: 3, startS: 0, lengthS: 5 }));
    const toEnd = perSecond(withBurst(base, { factor: 3, startS: 25, lengthS: 5 }));
    for (let t = 0; t < 30; t++) {
      expect(fromStart[t]).toBeCloseTo(a[t]! * (t < 5 ? 3 : 1), 6);
      expect(toEnd[t]).toBeCloseTo(a[t]! * (t >= 25 ? 3 : 1), 6);
    }
  });

  it('gives k6 the same schedule as extra stages (jumps as 0 s stages)', () => {
    const b = withBurst(stagesFor(100, 60), burst);
    const k6 = toK6Stages(b);
    expect(k6.timeUnit).toBe('1s');
    expect(k6.startRate).toBe(5);
    expect(k6.stages).toEqual([
      { duration: '0s', target: 5 },
      { duration: '9s', target: 100 },
      { duration: '11s', target: 100 },
      { duration: '0s', target: 500 },
      { duration: '10s', target: 500 },
      { duration: '0s', target: 100 },
      { duration: '27s', target: 100 },
      { duration: '3s', target: 5 },
    ]);
  });
});

describe('bench k6 export --burst', () => {
  it('writes the burst into the exported stages, and refuses one past the duration', async () => {
    const tmp = await mkdtemp(join(tmpdir(), 'bench-burst-'));
    try {
      const base = ['k6', 'export', '--phase', '1', '--api-url', 'http://127.1.1.1:8080', '--rate', '100', '--duration', '60s'];
      const ok = await runBench([...base, '--burst', '5x@20s+10s', '--out', 'b'], { cwd: tmp });
      expect(ok.err).toBe('');
      expect(ok.code).toBe(0);
      const env = await readFile(join(tmp, 'b', 'bench-phase1-mixed.env'), 'utf8');
      const line = env.split('\n').find((l) => l.startsWith('BENCH_STAGES='))!;
      const stages = JSON.parse(line.slice('BENCH_STAGES='.length).replace(/^'|'$/g, ''));
      expect(stages).toEqual(withBurst(stagesFor(100, 60), { factor: 5, startS: 20, lengthS: 10 }));
      const bad = await runBench([...base, '--burst', '5x@55s+10s', '--out', 'c'], { cwd: tmp });
      expect(bad.code).toBe(2);
      expect(bad.err).toMatch(/^bench: --burst 5x@55s\+10s ends at 65s, past the 60s of the measured load/);
    } finally {
      await rm(tmp, { recursive: true, force: true });
    }
  });
});
