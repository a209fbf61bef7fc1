import { describe, expect, it } from 'vitest';
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { mostThrottled, parseCpuStat, saturatedFirst, snapshot, throttlingBetween } from './throttle.ts';

describe('parseCpuStat', () => {
  it('reads cgroup v1 and v2 cpu.stat alike; a file without CFS counters is null', () => {
    expect(parseCpuStat('nr_periods 13\nnr_throttled 11\nthrottled_time 939558443\nnr_bursts 0\n')).toEqual({ periods: 13, throttled: 11 });
    expect(parseCpuStat('usage_usec 100\nuser_usec 60\nsystem_usec 40\nnr_periods 50\nnr_throttled 5\nthrottled_usec 900\n')).toEqual({ periods: 50, throttled: 5 });
    expect(parseCpuStat('usage_usec 100\nuser_usec 60\n')).toBeNull();
  });
});

describe('throttling over a window', () => {
  it('is the share of the window\'s periods a host hit its quota in; no period: null, never 0', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'b-throttle-'));
    try {
      const files = new Map<string, string>();
      for (const host of ['app-host', 'db-host', 'idle-host']) {
        await mkdir(join(dir, host));
        files.set(host, join(dir, host, 'cpu.stat'));
      }
      const write = (host: string, periods: number, throttled: number) => writeFile(files.get(host)!, `nr_periods ${periods}\nnr_throttled ${throttled}\nthrottled_time 0\n`);
      await write('app-host', 100, 10);
      await write('db-host', 100, 0);
      await write('idle-host', 7, 0);
      const before = await snapshot(files);
      await write('app-host', 140, 40); // 30 of 40 periods throttled
      await write('db-host', 140, 2); // 2 of 40
      const t = throttlingBetween(before, await snapshot(files));
      expect(t).toEqual({ 'app-host': { throttledShare: 0.75 }, 'db-host': { throttledShare: 0.05 }, 'idle-host': { throttledShare: null } });
      expect(mostThrottled(t)).toEqual({ host: 'app-host', throttledShare: 0.75 });
      expect(mostThrottled(null)).toBeNull();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('saturatedFirst', () => {
  const t = (app: number | null, db: number | null) => ({ 'app-host': { throttledShare: app }, 'db-host': { throttledShare: db } });
  it('names the most throttled host at the lowest rate that failed', () => {
    const got = saturatedFirst([
      { rate: 400, verdict: 'fail', throttling: t(0.1, 0.9) },
      { rate: 200, verdict: 'pass', throttling: t(0.1, 0.1) },
      { rate: 300, verdict: 'fail', throttling: t(0.8, 0.3) },
    ]);
    expect(got).toEqual({ host: 'app-host', throttledShare: 0.8, atRate: 300 });
  });

  it('says why when there is no answer: nothing failed, nothing measured, or no host at its quota', () => {
    expect(saturatedFirst([{ rate: 200, verdict: 'pass', throttling: t(0.9, 0) }])).toEqual({ host: null, reason: 'no step failed' });
    expect(saturatedFirst([{ rate: 200, verdict: 'fail', throttling: null }])).toMatchObject({ host: null, reason: expect.stringMatching(/not measured/) });
    expect(saturatedFirst([{ rate: 200, verdict: 'fail', throttling: t(0.05, null) }])).toMatchObject({ host: null, reason: expect.stringMatching(/not a CPU quota/) });
  });
});
