import { describe, expect, it } from 'vitest';
import { rssTrend } from './soak-stats.ts';

describe('rssTrend', () => {
  const series = (f: (t: number) => number, seconds: number) => Array.from({ length: seconds }, (_, i) => ({ t: i + 1, rssMb: f(i + 1) }));

  it('reads a flat series as slope 0 and a leak as its rate', () => {
    const flat = rssTrend(series((t) => 100 + (t % 2 ? 0.5 : -0.5), 600), 60);
    expect(Math.abs(flat.slopeMbPerMin!)).toBeLessThan(0.01);
    // negative control: 1 MB a minute is found, with its rise over the window
    const leak = rssTrend(series((t) => 100 + t / 60, 600), 60);
    expect(leak.slopeMbPerMin).toBeCloseTo(1, 6);
    expect(leak.riseMb).toBeCloseTo(9, 6);
    expect(leak.peakMb).toBe(110);
  });

  it('leaves the warm-up out of the slope but not out of the peak', () => {
    // fast growth in the first minute (module loading, JIT), flat after
    const s = series((t) => (t < 60 ? 50 + t : 120), 300);
    const r = rssTrend(s, 60);
    expect(r.slopeMbPerMin).toBe(0);
    expect(r.peakMb).toBe(120);
    expect(rssTrend(s, 0).slopeMbPerMin!).toBeGreaterThan(1);
  });

  it('says null, not 0, when there is no line to fit', () => {
    expect(rssTrend([], 0)).toEqual({ samples: 0, peakMb: null, fromS: 0, slopeMbPerMin: null, riseMb: null });
    expect(rssTrend([{ t: 70, rssMb: 90 }], 60).slopeMbPerMin).toBeNull();
    expect(rssTrend([{ t: 10, rssMb: 90 }, { t: 20, rssMb: 95 }], 60).peakMb).toBe(95);
  });
});
