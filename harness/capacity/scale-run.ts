// `bench capacity --scale DIMENSION=VALUES`: one capacity search per value, each on its own
// deployment (the value changes what is deployed: a fleet's size, a host's CPU), then a table of
// capacity per value and, for counts of units (app servers, shards), the Universal Scalability
// Law fitted to the sustainable rates (harness/capacity/usl.ts), with intervals, R² and N*.
import { mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { usageError } from '../errors.ts';
import type { RunConfig } from '../run/config.ts';
import { newRunId, topologyFor, type RunIO } from '../run/lifecycle.ts';
import type { Topology } from '../topology/types.ts';
import { phaseParams } from '../../targets/phases/index.ts';
import { runCapacity, type CapacityJson, type CapacityOptions } from './run.ts';
import { SCALE_DIMENSIONS, type Scale, type ScaleDimension, type SizeOverride } from './scale.ts';
import { fitUslWithIntervals, type UslResult } from './usl.ts';
import { renderScaleHtml } from '../../reports/capacity-scale-html.ts';
import { writeAtomic } from '../../reports/index.ts';

/** The hosts a CPU dimension resizes: those running the kind of service it names. */
const CPU_KIND = { 'db-cpu': 'postgres', 'app-cpu': 'app' } as const;

/** The run's configuration at one value of the scale; a dimension the phase lacks is a usage error. */
export function configAt(config: RunConfig, dimension: ScaleDimension, value: number): RunConfig {
  switch (dimension) {
    case 'app-servers':
      // a phase scales what it declares: the options record holds exactly the phase's params
      if (!('appServers' in config.options)) throw usageError(`--scale app-servers: phase ${config.phase} has one app server`, `scale app servers on ${phasesTaking('appServers')} (a balancer in front)`);
      return { ...config, options: { ...config.options, appServers: value } };
    case 'shards':
      if (!('shards' in config.options)) throw usageError(`--scale shards: phase ${config.phase} is not sharded`, `scale shards on ${phasesTaking('shards')}`);
      if (value > config.users) throw usageError(`--scale shards=${value} is more than --users ${config.users}`, 'every shard needs at least one user');
      return { ...config, options: { ...config.options, shards: value } };
    case 'workers':
      throw usageError('--scale workers: no phase with a worker fleet is built yet', 'scale app-servers (phase 3) or shards (phase 5)');
    case 'db-cpu':
    case 'app-cpu': {
      const hosts = hostsRunning(topologyFor(config), CPU_KIND[dimension]);
      if (hosts.length === 0) throw usageError(`--scale ${dimension}: phase ${config.phase} has no ${CPU_KIND[dimension]} host`, 'choose a phase that has one');
      const sizes: Record<string, SizeOverride> = { ...(config.sizes ?? {}) };
      for (const h of hosts) sizes[h] = { host: h, cpus: value, ...(sizes[h]?.memoryMb !== undefined ? { memoryMb: sizes[h]!.memoryMb } : {}) };
      return { ...config, sizes };
    }
  }
}

/** "phase 5", "phases 3, 4, 5": the phases that declare an option. */
function phasesTaking(option: string): string {
  const list = phaseParams.get(option)?.phases ?? [];
  return list.length === 1 ? `phase ${list[0]}` : `phases ${list.join(', ')}`;
}

function hostsRunning(topology: Topology, kind: string): string[] {
  return [...new Set(topology.services.filter((s) => s.kind === kind).map((s) => s.host))];
}

/** One value's search, as scale.json records it. */
export interface ScalePoint {
  value: number;
  runId: string;
  outcome: CapacityJson['capacity']['outcome'];
  sustainableRate: number | null;
  marginRate: number | null;
  confirmed: boolean;
  /** the search stopped before the objective failed: the rate is a lower bound */
  lowerBound: boolean;
  p99AtSustainableMs: number | null;
  steps: number;
  elapsedS: number;
  dir: string;
}

export interface ScaleJson {
  kind: 'bench-capacity-scale';
  version: 1;
  phase: number;
  dimension: ScaleDimension;
  values: number[];
  objective: string;
  points: ScalePoint[];
  /** counts only, and only with 3 or more values that found a rate */
  usl: (UslResult & { note: string | null }) | null;
  uslSkipped: string | null;
  notes: string[];
}

export function pointOf(value: number, j: CapacityJson, dir: string): ScalePoint {
  const c = j.capacity;
  const at = c.steps.filter((s) => s.rate === c.sustainableRate && s.verdict === 'pass').at(-1);
  return {
    value,
    runId: j.runId,
    outcome: c.outcome,
    sustainableRate: c.sustainableRate,
    marginRate: c.marginRate,
    confirmed: c.confirmed,
    lowerBound: c.outcome === 'at-least',
    p99AtSustainableMs: at?.latencyMs.p99 ?? null,
    steps: c.steps.length,
    elapsedS: Math.round(c.elapsedMs / 100) / 10,
    dir,
  };
}

/** The USL over the values that found a rate; null with the reason when it cannot be fitted. */
export function uslOf(dimension: ScaleDimension, points: ScalePoint[]): { usl: ScaleJson['usl']; skipped: string | null } {
  if (SCALE_DIMENSIONS[dimension] !== 'count') return { usl: null, skipped: `the USL is a law of unit counts; ${dimension} is a size` };
  const firm = points.filter((p) => p.sustainableRate !== null && p.sustainableRate > 0);
  if (new Set(firm.map((p) => p.value)).size < 3) return { usl: null, skipped: `the USL needs 3 or more counts with a sustainable rate, got ${firm.length}` };
  const fit = fitUslWithIntervals(firm.map((p) => ({ n: p.value, throughput: p.sustainableRate! })), { replicates: 1000, seed: 1 });
  const bounds = firm.filter((p) => p.lowerBound).map((p) => p.value);
  return { usl: { ...fit, note: bounds.length > 0 ? `at ${dimension}=${bounds.join(', ')} the rate is a lower bound (the search stopped before the objective failed): the fit understates those points` : null }, skipped: null };
}

export async function runScale(options: CapacityOptions, scale: Scale, io: RunIO): Promise<{ json: ScaleJson; dir: string; exitCode: number }> {
  const base = options.run;
  // every value's configuration first: a value the phase cannot take fails before any deployment
  const configs = scale.values.map((v) => configAt(base, scale.dimension, v));
  const dir = resolve(io.cwd, base.out ?? join('.runs', `${newRunId(base.phase)}-scale-${scale.dimension}`));
  await mkdir(dir, { recursive: true });
  const points: ScalePoint[] = [];
  for (let i = 0; i < scale.values.length; i++) {
    const value = scale.values[i]!;
    const sub = join(dir, `${scale.dimension}-${value}`);
    io.progress(`scale ${scale.dimension}=${value} (${i + 1} of ${scale.values.length}): a search on its own deployment`);
    const got = await runCapacity({ ...options, run: { ...configs[i]!, out: sub, force: base.force } }, io);
    points.push(pointOf(value, got.json, sub));
    io.progress(`scale ${scale.dimension}=${value}: ${got.json.capacity.outcome}, ${got.json.capacity.sustainableRate ?? 'no'} req/s`);
  }
  const { usl, skipped } = uslOf(scale.dimension, points);
  const json: ScaleJson = {
    kind: 'bench-capacity-scale',
    version: 1,
    phase: base.phase,
    dimension: scale.dimension,
    values: scale.values,
    objective: options.objective.text,
    points,
    usl,
    uslSkipped: skipped,
    notes: [],
  };
  await writeFile(join(dir, 'scale.json'), JSON.stringify(json, null, 2) + '\n');
  await writeFile(join(dir, 'summary.md'), scaleMarkdown(json));
  await writeAtomic(join(dir, 'report.html'), renderScaleHtml(json));
  return { json, dir, exitCode: points.every((p) => p.sustainableRate !== null) ? 0 : 1 };
}

const fmt = (x: number | null, digits = 0) => (x === null ? 'n/a' : x.toLocaleString('en-US', { maximumFractionDigits: digits }));
const iv = (i: { low: number; high: number }, digits: number) => `[${Number.isFinite(i.low) ? i.low.toFixed(digits) : '−∞'}, ${Number.isFinite(i.high) ? i.high.toFixed(digits) : '∞'}]`;

/** summary.md of a scale: capacity per value, then the USL fit (or why there is none). */
export function scaleMarkdown(j: ScaleJson): string {
  const lines = [
    `# Capacity of phase ${j.phase} by ${j.dimension}`,
    '',
    `Objective \`${j.objective}\`; one search per value, each on its own deployment.`,
    '',
    `| ${j.dimension} | sustainable (req/s) | margin | p99 there (ms) | outcome | steps | search (s) |`,
    '|---:|---:|---:|---:|---|---:|---:|',
    ...j.points.map(
      (p) =>
        `| ${p.value} | ${p.lowerBound ? '≥ ' : ''}${fmt(p.sustainableRate)} | ${p.marginRate === null ? 'n/a' : '+' + fmt(p.marginRate)} | ${fmt(p.p99AtSustainableMs, 1)} | ${p.outcome}${p.confirmed ? ', confirmed' : ''} | ${p.steps} | ${fmt(p.elapsedS, 1)} |`,
    ),
    '',
  ];
  const u = j.usl;
  if (u) {
    lines.push(
      `Universal Scalability Law X(N) = λN / (1 + σ(N−1) + κN(N−1)), R² = ${u.rSquared.toFixed(3)}:`,
      '',
      '| parameter | estimate | ' + (u.intervals ? `${Math.round(u.intervals.level * 100)}% interval |` : 'interval |'),
      '|---|---:|---|',
      `| λ (req/s per unit) | ${u.lambda.toFixed(1)} | ${u.intervals ? iv(u.intervals.lambda, 1) : 'n/a (fewer than 4 points)'} |`,
      `| σ (contention) | ${u.sigma.toFixed(4)} | ${u.intervals ? iv(u.intervals.sigma, 4) : 'n/a'} |`,
      `| κ (coherency) | ${u.kappa.toExponential(2)} | ${u.intervals ? iv(u.intervals.kappa, 6) : 'n/a'} |`,
      `| N* (peak) | ${u.peakN === null ? 'none (κ = 0)' : u.peakN.toFixed(1)} | ${u.intervals && u.peakN !== null ? iv(u.intervals.peakN, 1) : 'n/a'} |`,
      `| X(N*) (req/s) | ${fmt(u.peakThroughput)} | ${u.intervals && u.peakThroughput !== null ? iv(u.intervals.peakThroughput, 0) : 'n/a'} |`,
      '',
      u.peakN === null
        ? `Adding units never lowers the throughput in this fit; it approaches ${fmt(u.peakThroughput)} req/s.`
        : `Adding units stops paying near N = ${u.peakN.toFixed(1)}.`,
      '',
    );
    if (u.note) lines.push(`Note: ${u.note}.`, '');
  } else if (j.uslSkipped) {
    lines.push(`No USL fit: ${j.uslSkipped}.`, '');
  }
  return lines.join('\n');
}
