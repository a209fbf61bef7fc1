// The traffic model: how many requests per second a population of users sends at peak, and what
// part of that one machine can actually drive. Every figure is derived in plain arithmetic that the
// report prints, so a reader can check it and a flag can override any assumption.
import type { Stage, TrafficModel } from '../../reports/schema.ts';

/**
 * The defaults, each a common rule of thumb for a consumer web product:
 * - 20% of registered users are active on a given day (DAU/MAU-style share);
 * - an active user causes 100 requests a day (a few sessions of page views and API calls);
 * - the busiest hour runs at 3x the daily average (the usual evening peak).
 */
export const TRAFFIC_DEFAULTS = {
  dailyActiveShare: 0.2,
  requestsPerActiveUserPerDay: 100,
  peakToAverage: 3,
} as const;

/**
 * Completed requests per CPU-second of the embedded engine on one core of the 2-core reference
 * machine: measured 32k-41k (generator pinned to cpu 0, nginx to cpu 1, `npm run bench:engine`;
 * docs/LOAD-ENGINE.md has the runs), rounded down to the low end of the measurements.
 */
export const ENGINE_RPS_PER_CORE = 30_000;

/**
 * Of that ceiling the engine is only given half: past ~50% of a core its own scheduling delay
 * starts to show in the latency it measures, and on a small machine the system under test needs
 * the CPU too.
 */
export const ENGINE_HEADROOM = 0.5;

const SECONDS_PER_DAY = 86_400;

export interface TrafficInput {
  users: number;
  dailyActiveShare?: number;
  requestsPerActiveUserPerDay?: number;
  peakToAverage?: number;
  /** what this machine can drive; default defaultMachineCapRps(os.availableParallelism()) by the caller */
  machineCapRps?: number;
  /**
   * how machineCapRps was obtained (default 'estimate': defaultMachineCapRps's rule of thumb);
   * 'flag' for --max-rate, 'measured' only for a ceiling measured on this machine
   */
  machineCapSource?: 'estimate' | 'flag' | 'measured';
  /** --rate: drive exactly this rate, whatever the model says */
  rateOverride?: number | null;
}

/**
 * What the embedded engine can drive on a machine with `cpus` cores: one event loop uses one core,
 * so the estimate is one core's measured rate times the headroom; with a single core the system
 * under test shares it, so half of that again.
 */
export function defaultMachineCapRps(cpus: number): number {
  const generatorCores = cpus >= 2 ? 1 : 0.5;
  return Math.round(ENGINE_RPS_PER_CORE * generatorCores * ENGINE_HEADROOM);
}

/** Users -> average and peak arrival rate -> the rate this machine drives, with the arithmetic. */
export function trafficModel(input: TrafficInput): TrafficModel {
  const users = input.users;
  const dailyActiveShare = input.dailyActiveShare ?? TRAFFIC_DEFAULTS.dailyActiveShare;
  const requestsPerActiveUserPerDay = input.requestsPerActiveUserPerDay ?? TRAFFIC_DEFAULTS.requestsPerActiveUserPerDay;
  const peakToAverage = input.peakToAverage ?? TRAFFIC_DEFAULTS.peakToAverage;
  const machineCapRps = input.machineCapRps ?? defaultMachineCapRps(2);
  const rateOverride = input.rateOverride ?? null;

  requirePositive('users', users);
  requireShare('dailyActiveShare', dailyActiveShare);
  requirePositive('requestsPerActiveUserPerDay', requestsPerActiveUserPerDay);
  if (!(peakToAverage >= 1)) throw new RangeError(`peakToAverage must be >= 1, got ${peakToAverage}`);
  requirePositive('machineCapRps', machineCapRps);
  if (rateOverride !== null) requirePositive('rateOverride', rateOverride);

  const averageRps = (users * dailyActiveShare * requestsPerActiveUserPerDay) / SECONDS_PER_DAY;
  const peakRps = averageRps * peakToAverage;
  const overridden = rateOverride !== null;
  const targetRps = overridden ? rateOverride : Math.min(peakRps, machineCapRps);
  const scaleFactor = peakRps > 0 ? targetRps / peakRps : 1;

  const model: Omit<TrafficModel, 'derivation'> = {
    users,
    dailyActiveShare,
    requestsPerActiveUserPerDay,
    peakToAverage,
    averageRps,
    peakRps,
    machineCapRps,
    machineCapSource: input.machineCapSource ?? 'estimate',
    targetRps,
    scaleFactor,
    overridden,
  };
  return { ...model, derivation: formatDerivation(model) };
}

/** The model's arithmetic as lines a person can check (what `derivation` holds). */
export function formatDerivation(m: Omit<TrafficModel, 'derivation'>): string[] {
  const lines = [
    `${fmtCount(m.users)} users × ${fmtPercent(m.dailyActiveShare)} daily active × ${fmtCount(m.requestsPerActiveUserPerDay)} req/day ÷ 86,400 s = ${fmtAverage(m.averageRps)} req/s average`,
    `× ${fmtCount(m.peakToAverage)} peak = ${fmtRate(m.peakRps)} req/s`,
  ];
  // The cap is labelled by where it came from: an estimate is a rule of thumb, never a capacity.
  const cap = `machine cap ${fmtRate(m.machineCapRps)} req/s (${capLabel(m.machineCapSource)})`;
  if (m.overridden) {
    lines.push(`--rate ${fmtRate(m.targetRps)} req/s overrides the model → scale factor ${fmtFactor(m.scaleFactor)}`);
  } else if (m.targetRps < m.peakRps) {
    lines.push(
      `${cap} < peak → driving ${fmtRate(m.targetRps)} req/s, scale factor ${fmtFactor(m.scaleFactor)} (the load is scaled down, not the full model)`,
    );
  } else {
    lines.push(`${cap} → scale factor ${fmtFactor(m.scaleFactor)}`);
  }
  return lines;
}

/** How a machine cap is described: where it came from, so an estimate never reads as a capacity. */
export function capLabel(source: TrafficModel['machineCapSource']): string {
  switch (source) {
    case 'flag':
      return 'set by --max-rate';
    case 'measured':
      return 'measured on this machine';
    default:
      return `an estimate: ${fmtCount(ENGINE_RPS_PER_CORE)} req/s per generator core × ${ENGINE_HEADROOM} headroom, not measured here`;
  }
}

/**
 * The load shape for a run of `durationS` at `targetRps`: a ramp up from a small floor (which is
 * also the connections' warm-up), a steady plateau, a short ramp down. Stages follow the k6
 * ramping-arrival-rate convention: each ramps linearly from where the previous ended to its own
 * targetRate; the first, of zero duration, sets the floor the ramp starts from.
 */
export function stagesFor(targetRps: number, durationS: number): Stage[] {
  requirePositive('targetRps', targetRps);
  requirePositive('durationS', durationS);
  // Short runs get short ramps: 15% of the run up (at most 30 s), 5% down (at most 10 s); runs
  // under 10 s are all plateau, as there is no room for a ramp to mean anything.
  const rampUp = durationS < 10 ? 0 : Math.min(30, Math.round(durationS * 0.15));
  const rampDown = durationS < 10 ? 0 : Math.min(10, Math.round(durationS * 0.05));
  const steady = durationS - rampUp - rampDown;
  const floor = rateFloor(targetRps);
  const stages: Stage[] = [{ durationS: 0, targetRate: rampUp > 0 ? floor : targetRps }];
  if (rampUp > 0) stages.push({ durationS: rampUp, targetRate: targetRps });
  stages.push({ durationS: steady, targetRate: targetRps });
  if (rampDown > 0) stages.push({ durationS: rampDown, targetRate: floor });
  return stages;
}

/**
 * A burst on top of the planned load (`--burst 5x@20s+10s`): from startS of the measured load for
 * lengthS seconds, the planned arrival rate is multiplied by factor.
 */
export interface Burst {
  factor: number;
  startS: number;
  lengthS: number;
}

/** A burst as the flag spells it: 5x@20s+10s. */
export function formatBurst(b: Burst): string {
  return `${b.factor}x@${b.startS}s+${b.lengthS}s`;
}

/**
 * The stages with a burst applied: every rate inside [startS, startS + lengthS) is multiplied by
 * the factor, as stage changes. A stage that straddles a burst edge is split there (the ramp's
 * rate at the edge is interpolated), and each edge is a zero-duration stage (a jump, as k6 reads
 * one), so the schedule's rate is exactly factor × the plan's inside the burst and the plan's
 * outside it, and the total duration is unchanged.
 */
export function withBurst(stages: readonly Stage[], burst: Burst): Stage[] {
  if (!(burst.factor > 0) || !Number.isFinite(burst.factor)) throw new RangeError(`burst factor must be a positive number, got ${burst.factor}`);
  if (!(burst.lengthS > 0) || !(burst.startS >= 0)) throw new RangeError(`burst must start at >= 0 s and last > 0 s, got ${formatBurst(burst)}`);
  const start = burst.startS;
  const end = burst.startS + burst.lengthS;
  const inside = (a: number, b: number) => a >= start - EDGE_EPS && b <= end + EDGE_EPS;
  const out: Stage[] = [];
  let t = 0;
  // the rate the previous stage ended at, and the multiplier it was emitted with
  let rate = 0;
  let mul = 1;
  for (const stage of stages) {
    if (stage.durationS === 0) {
      mul = t >= start - EDGE_EPS && t < end - EDGE_EPS ? burst.factor : 1;
      out.push({ durationS: 0, targetRate: stage.targetRate * mul });
      rate = stage.targetRate;
      continue;
    }
    const t1 = t + stage.durationS;
    const cuts = [t, ...[start, end].filter((c) => c > t + EDGE_EPS && c < t1 - EDGE_EPS), t1];
    const rateAt = (x: number) => rate + ((stage.targetRate - rate) * (x - t)) / stage.durationS;
    for (let i = 0; i + 1 < cuts.length; i++) {
      const [a, b] = [cuts[i]!, cuts[i + 1]!];
      const m = inside(a, b) ? burst.factor : 1;
      if (m !== mul) out.push({ durationS: 0, targetRate: rateAt(a) * m });
      out.push({ durationS: b - a, targetRate: (i + 2 === cuts.length ? stage.targetRate : rateAt(b)) * m });
      mul = m;
    }
    t = t1;
    rate = stage.targetRate;
  }
  return out;
}

// Burst edges are whole or decimal seconds; a float sum of stage durations may land a hair off one.
const EDGE_EPS = 1e-9;

/** The rate a ramp starts from and ends at: 5% of the target, at least 1 req/s (never 0). */
export function rateFloor(targetRps: number): number {
  return Math.min(targetRps, Math.max(1, Math.round(targetRps * 0.05)));
}

function requirePositive(name: string, v: number): void {
  if (!(v > 0) || !Number.isFinite(v)) throw new RangeError(`${name} must be a positive number, got ${v}`);
}

function requireShare(name: string, v: number): void {
  if (!(v > 0 && v <= 1)) throw new RangeError(`${name} must be in (0, 1], got ${v}`);
}

const intFmt = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });
const oneDecimal = new Intl.NumberFormat('en-US', { maximumFractionDigits: 1, minimumFractionDigits: 1 });
const threeDigits = new Intl.NumberFormat('en-US', { maximumSignificantDigits: 3 });

function fmtCount(n: number): string {
  return Number.isInteger(n) ? intFmt.format(n) : threeDigits.format(n);
}

function fmtPercent(share: number): string {
  return `${threeDigits.format(share * 100)}%`;
}

// An average keeps one decimal below 1,000 (231.5 req/s); other rates are whole from 100 up
// (694 req/s); tiny rates keep three significant digits (0.694 req/s).
function fmtAverage(r: number): string {
  if (r >= 1000) return intFmt.format(r);
  return r >= 1 ? oneDecimal.format(r) : threeDigits.format(r);
}

function fmtRate(r: number): string {
  if (r >= 100) return intFmt.format(r);
  return r >= 1 ? oneDecimal.format(r) : threeDigits.format(r);
}

function fmtFactor(f: number): string {
  // 1.00 and 0.35 read well; 0.014 must not round to 0.01.
  return f >= 0.1 ? f.toFixed(2) : f.toPrecision(2);
}
