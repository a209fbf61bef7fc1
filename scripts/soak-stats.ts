// What a memory soak's per-second RSS samples say: the peak, and the trend as a least-squares
// slope (MB per minute) over the samples after the warm-up, so "flat" is a number with its window,
// not a reading of a few printed lines. Used by scripts/bench-engine.ts --soak.

/** One sample: seconds since the load started, resident set size in MB. */
export interface RssSample {
  t: number;
  rssMb: number;
}

/** A soak's memory figures; null where there were fewer than two samples to fit a line through. */
export interface RssTrend {
  samples: number;
  peakMb: number | null;
  /** where the fitted window starts (s): the warm-up before it is left out of the slope */
  fromS: number;
  /** least-squares slope of RSS over [fromS, end], MB per minute */
  slopeMbPerMin: number | null;
  /** the fitted line's rise over that window, MB (slope x window length) */
  riseMb: number | null;
}

/** Peak and slope of `samples`, the slope fitted from `fromS` on (the warm-up's growth is not a leak). */
export function rssTrend(samples: readonly RssSample[], fromS: number): RssTrend {
  let peak: number | null = null;
  for (const s of samples) if (peak === null || s.rssMb > peak) peak = s.rssMb;
  const w = samples.filter((s) => s.t >= fromS);
  if (w.length < 2) return { samples: samples.length, peakMb: peak, fromS, slopeMbPerMin: null, riseMb: null };
  const n = w.length;
  let st = 0;
  let sr = 0;
  for (const s of w) {
    st += s.t;
    sr += s.rssMb;
  }
  const mt = st / n;
  const mr = sr / n;
  let cov = 0;
  let vt = 0;
  for (const s of w) {
    cov += (s.t - mt) * (s.rssMb - mr);
    vt += (s.t - mt) * (s.t - mt);
  }
  if (vt === 0) return { samples: samples.length, peakMb: peak, fromS, slopeMbPerMin: null, riseMb: null };
  const perS = cov / vt;
  const span = w[n - 1]!.t - w[0]!.t;
  return { samples: samples.length, peakMb: peak, fromS, slopeMbPerMin: round3(perS * 60), riseMb: round3(perS * span) };
}

function round3(x: number): number {
  return Math.round(x * 1000) / 1000;
}
