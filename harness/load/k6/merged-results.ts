// A merged k6 run as a results.json the renderers read: the load side from the merge, the rest
// stated for what it is. The generators ran elsewhere against a deployment bench did not start
// here, so the topology, the server's view and Prometheus' series are unknown (empty), and the
// notes say so; the objectives and the verdict come from the merged data, with every k6 threshold
// re-evaluated on it.
import { SCHEMA_VERSION, type Objective, type Results } from '../../../reports/schema.ts';
import { trafficModel } from '../traffic-model.ts';
import { version } from '../../run/version.ts';
import type { MergedK6 } from './merge.ts';
import { objectivesFor, runVerdict } from '../../../reports/verdict.ts';
import { generatorLabel } from './merge.ts';

export interface MergedRunInfo {
  phase: number;
  title: string;
  users: number;
  seed: number;
  objectives: { p99Ms: number; maxErrorRate: number };
  /** the run id; default k6-merge-<start time> */
  runId?: string;
}

/** Results for `bench k6 merge`. */
export function mergedResults(m: MergedK6, info: MergedRunInfo): Results {
  const load = m.results;
  const durationS = load.durationS;
  const started = new Date(m.startedAtMs ?? Date.now());
  const peak = Math.max(...load.stages.map((s) => s.targetRate));
  // the same objectives and verdict as `bench run` (reports/verdict.ts): drops count as failed,
  // an unmeasured p99 is no pass, nothing completed is INCONCLUSIVE
  const objectives: Objective[] = objectivesFor(info.objectives, load);
  const crossed = m.thresholds.filter((t) => t.ok === false);
  const notes = [
    `merged from ${m.generators.length} k6 generators (${m.generators.map((g) => `${generatorLabel(g.dir)}: ${g.requests} requests, ${g.errors} errors, ${g.dropped} dropped`).join('; ')}): counts summed, percentiles from all ${load.totals.requests} samples together (${m.percentiles === 'k6-exact' ? "k6's own definition over every sample" : 'one HDR histogram, 3 significant digits'}; each second's from one HDR histogram), the series on one time axis from the earliest sample`,
    'the generators ran outside bench: the deployment\'s topology, its own counters and Prometheus series are not part of this report',
    ...m.thresholds.map((t) => `k6 threshold ${t.metric} ${t.expression} on the merged data: ${t.ok === null ? 'not re-evaluated (a statistic the merge does not keep)' : `${t.ok ? 'held' : 'crossed'} (${t.actual === null ? 'n/a' : Math.round(t.actual * 1000) / 1000})`}`),
  ];
  const judged = runVerdict({ load, objectives, drills: [], thresholdsFailed: crossed.length > 0 });
  const salts = [...new Set(m.generators.map((g) => g.salt))];
  if (load.salt === null) notes.push(salts.every((s) => s === null) ? 'no generator recorded its sign-up salt' : `the generators used different sign-up salts (${salts.map((s) => s ?? 'unknown').join(', ')})`);
  if (m.malformed > 0) notes.push(`${m.malformed} of ${m.lines} lines of the outputs were not k6 samples and were skipped`);
  return {
    schemaVersion: SCHEMA_VERSION,
    tool: { name: 'bench', version },
    runId: info.runId ?? `k6-merge-${started.toISOString().replace(/[-:]/g, '').replace(/\..*/, '').replace('T', '-')}`,
    startedAt: started.toISOString(),
    finishedAt: new Date(started.getTime() + durationS * 1000).toISOString(),
    config: { phase: info.phase, users: info.users, durationS, rate: peak, seed: info.seed, runtime: 'native', chaos: [] },
    topology: { phase: info.phase, title: info.title, hosts: [], services: [], edges: [] },
    trafficModel: trafficModel({ users: info.users, rateOverride: peak, machineCapRps: peak }),
    load,
    server: { appRequests: null },
    tiers: {},
    prometheus: {},
    faults: [],
    drills: [],
    objectives,
    timings: {},
    notes,
    verdict: judged.verdict,
    ...(judged.reason ? { verdictReason: judged.reason } : {}),
  };
}
