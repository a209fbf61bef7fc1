// Which host was the limit: the CFS throttling of each host's cgroup over a step's hold window.
// A host that used up its CPU quota in most periods was running at its size's ceiling; at the
// first step that fails, the most throttled host is the tier that saturated first.
//
// Read from the cgroups themselves (cpu.stat: nr_periods, nr_throttled; v1 and v2 alike), not
// Prometheus: no exporter here reports per-cgroup throttling. Native runtime only: under Docker
// the run's state names no cgroup, and the figures are null (not measured), never 0.
import { readFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { readState } from '../runtime/state.ts';

export interface CpuStat {
  periods: number;
  throttled: number;
}

/** Per host over a window: the share of CFS periods in which it hit its quota. */
export type Throttling = Record<string, { throttledShare: number | null }>;

/** The lines of a cpu.stat file (`key value`) that matter here; null when it has no CFS counters. */
export function parseCpuStat(text: string): CpuStat | null {
  const v = new Map(text.split('\n').map((l) => l.trim().split(/\s+/) as [string, string]).filter((p) => p.length === 2).map(([k, x]) => [k, Number(x)]));
  const periods = v.get('nr_periods');
  const throttled = v.get('nr_throttled');
  return periods === undefined || throttled === undefined ? null : { periods, throttled };
}

/** Host -> its cgroup's cpu.stat path, from the run's state file (hosts = the cgroups' names). */
export async function hostCpuStats(runId: string): Promise<Map<string, string>> {
  const state = await readState(runId).catch(() => null);
  const out = new Map<string, string>();
  for (const dir of state?.cgroups ?? []) {
    const file = join(dir, 'cpu.stat');
    if (await readFile(file, 'utf8').then(parseCpuStat, () => null)) out.set(basename(dir), file);
  }
  return out;
}

export async function snapshot(files: Map<string, string>): Promise<Map<string, CpuStat>> {
  const out = new Map<string, CpuStat>();
  for (const [host, file] of files) {
    const stat = await readFile(file, 'utf8').then(parseCpuStat, () => null);
    if (stat) out.set(host, stat);
  }
  return out;
}

/** The window between two snapshots; a host without periods in it (idle, no quota) is null. */
export function throttlingBetween(before: Map<string, CpuStat>, after: Map<string, CpuStat>): Throttling {
  const out: Throttling = {};
  for (const [host, a] of after) {
    const b = before.get(host);
    const periods = b ? a.periods - b.periods : 0;
    out[host] = { throttledShare: b && periods > 0 ? round3((a.throttled - b.throttled) / periods) : null };
  }
  return out;
}

/** The most throttled host of a window, or null when none was measured. */
export function mostThrottled(t: Throttling | null): { host: string; throttledShare: number } | null {
  let best: { host: string; throttledShare: number } | null = null;
  for (const [host, { throttledShare }] of Object.entries(t ?? {})) {
    if (throttledShare !== null && (best === null || throttledShare > best.throttledShare)) best = { host, throttledShare };
  }
  return best;
}

/**
 * A host throttled in at least half of its periods ran at its ceiling. Not lower: on this machine
 * the 0.2-core apps of phase 3 were throttled in 13-22% of their periods at a rate that passed
 * easily (200 req/s), and in 17-25% at one whose p50 was above a second, whose cause was elsewhere.
 */
export const SATURATED_SHARE = 0.5;

/**
 * The tier that saturated first: the most throttled host at the lowest rate that firmly failed,
 * when it was throttled in at least SATURATED_SHARE of its periods; otherwise null with the reason.
 */
export function saturatedFirst(steps: ReadonlyArray<{ rate: number; verdict: string; throttling: Throttling | null }>): { host: string; throttledShare: number; atRate: number } | { host: null; reason: string } {
  const fails = steps.filter((s) => s.verdict === 'fail').sort((a, b) => a.rate - b.rate);
  if (fails.length === 0) return { host: null, reason: 'no step failed' };
  const first = fails[0]!;
  const top = mostThrottled(first.throttling);
  if (top === null) return { host: null, reason: 'CPU throttling was not measured (no host cgroups: Docker, or sizes not enforced)' };
  if (top.throttledShare < SATURATED_SHARE) return { host: null, reason: `no host was throttled in ${SATURATED_SHARE * 100}% of its periods at ${first.rate} req/s (the most: ${top.host}, ${(top.throttledShare * 100).toFixed(0)}%): not a CPU quota` };
  return { ...top, atRate: first.rate };
}

const round3 = (x: number) => Math.round(x * 1000) / 1000;
