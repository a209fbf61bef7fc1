import { describe, expect, it } from 'vitest';
import { planOf } from '../testing/fakes.ts';
import { DEFAULT_FACTOR, degradation, factorOf, lagVerdict, median, p99, summarize, wanDegradation, type Sample } from './wan-degradation.ts';

const sample = (tS: number, phase: Sample['phase'], west: number | null, eu: number | null, readMs: Sample['readMs'] = {}): Sample => ({
  tS,
  phase,
  lag: { 'us-west': west === null ? null : { bytes: Math.round(west * 1000), seconds: west }, eu: eu === null ? null : { bytes: Math.round(eu * 1000), seconds: eu } },
  readMs,
});

describe('wan-degradation', () => {
  const p7 = planOf(7);

  it('takes its factor from --param factor=N (or a bare N), default 5; refuses what is not above 1', () => {
    expect(factorOf({ params: [] })).toBe(DEFAULT_FACTOR);
    expect(factorOf({ params: ['factor=3'] })).toBe(3);
    expect(factorOf({ params: ['2.5'] })).toBe(2.5);
    for (const bad of ['factor=1', 'factor=0.5', 'factor=abc', 'factor=500']) expect(() => factorOf({ params: [bad] })).toThrow(/wan-degradation: factor .* is not a number above 1/);
  });

  it('adds (factor - 1) x each baseline toxic on its own proxy and stream, and so every replication proxy by its region\'s nearest pair', () => {
    const added = degradation(p7, 5);
    const baseline = p7.topology.toxics!;
    expect(baseline.length).toBeGreaterThan(0);
    for (const b of baseline) expect(added).toContainEqual({ proxy: b.proxy, stream: b.stream, latency: 4 * b.attributes.latency, jitter: 0 });
    // us-east's nearest is us-west (30 ms), eu's nearest is 40 ms
    expect(added).toContainEqual({ proxy: 'replication->pg-us-east', stream: 'upstream', latency: 120, jitter: 0 });
    expect(added).toContainEqual({ proxy: 'replication->pg-eu', stream: 'downstream', latency: 160, jitter: 0 });
    // the replication proxies' slowdown comes from their own baseline toxics (6), nothing on top
    expect(baseline.filter((b) => b.proxy.startsWith('replication->'))).toHaveLength(6);
    expect(added.length).toBe(baseline.length);
    // a cross-region router edge pays 40 ms baseline to eu; x5 adds 160
    expect(added).toContainEqual({ proxy: 'pg-router-us-east->pg-eu', stream: 'upstream', latency: 160, jitter: 0 });
  });

  it('schedules one fault named after its factor', () => {
    const [item] = wanDegradation.schedule(p7, { atS: 10, durationS: 30, params: ['factor=3'], users: 100 }, { primaries: new Map(), figures: {}, problems: [] });
    expect([item!.fault.name, item!.fault.target, item!.startS, item!.durationS]).toEqual(['wan-degradation', 'x3', 10, 30]);
    expect(wanDegradation.applies(planOf(3)).ok).toBe(false);
    expect(wanDegradation.applies(p7).ok).toBe(true);
  });

  it('p99 is nearest-rank over the samples; null when there are none', () => {
    expect(p99([])).toBeNull();
    expect(p99([5])).toBe(5);
    expect(p99(Array.from({ length: 100 }, (_, i) => i + 1))).toBe(99);
    expect(p99(Array.from({ length: 20 }, (_, i) => i + 1))).toBe(20);
  });

  it('summarizes lag per replica region and phase (max and p99 of 1 s samples) and reads per region; unmeasured stays null', () => {
    const s = [sample(0, 'before', 0.01, 0.02, { 'us-east': 5, eu: null }), sample(1, 'before', 0.03, null), sample(9, 'during', 0.4, 0.6), sample(10, 'during', 0.5, 0.2), sample(40, 'after', 0.02, 0.01)];
    const f = summarize(s, ['us-west', 'eu'], ['us-east', 'us-west', 'eu']);
    expect(f['lagSecondsMax.us-west.before']).toBe(0.03);
    expect(f['lagSecondsMax.eu.during']).toBe(0.6);
    expect(f['lagBytesMax.us-west.during']).toBe(500);
    expect(f['lagSamples.eu.before']).toBe(1);
    expect(f['readP99Ms.us-east.before']).toBe(5);
    expect(f['readP99Ms.us-west.before']).toBeNull();
    expect(f['readFailures.eu.before']).toBe(1);
  });

  it('judges the lag: it rose during, and is back within the baseline maximum at the first sample that says so', () => {
    const s = [sample(0, 'before', 0.05, 0.05), sample(9, 'during', 0.5, 0.4), sample(31, 'after', 0.3, 0.04), sample(33, 'after', 0.05, 0.03)];
    expect(lagVerdict(s, ['us-west', 'eu'], 30)).toEqual({ rose: { 'us-west': true, eu: true }, backS: 3 });
    // NEGATIVE CONTROL: flat lag did not rise, and a lag stuck above the baseline never came back
    const flat = [sample(0, 'before', 0.05, 0.05), sample(9, 'during', 0.05, 0.04), sample(31, 'after', 0.3, 0.3)];
    expect(lagVerdict(flat, ['us-west', 'eu'], 30)).toEqual({ rose: { 'us-west': false, eu: false }, backS: null });
  });

  it('judges the rise on medians: one starved second in the baseline is not the baseline; noise is not a rise', () => {
    // a CI run: us-west 0.063 s before but one sample of 0.982 s, 0.304 s all through the x5
    const before = [0.063, 0.063, 0.982, 0.063, 0.064, 0.063, 0.063, 0.063, 0.064].map((l, i) => sample(i, 'before', l, 0.063));
    const during = Array.from({ length: 12 }, (_, i) => sample(9 + i, 'during', 0.304, 0.306));
    const after = [sample(31, 'after', 0.063, 0.063)];
    expect(lagVerdict([...before, ...during, ...after], ['us-west', 'eu'], 30)).toEqual({ rose: { 'us-west': true, eu: true }, backS: 1 });
    // NEGATIVE CONTROL: during as before give or take 10 ms, and one starved second during
    const noisy = [...before, ...[0.07, 0.055, 0.065, 0.9, 0.06].map((l, i) => sample(9 + i, 'during', l, l)), ...after];
    expect(lagVerdict(noisy, ['us-west', 'eu'], 30).rose).toEqual({ 'us-west': false, eu: false });
    expect(median([])).toBeNull();
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 3, 2])).toBe(2);
  });
});
