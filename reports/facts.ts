// Derived facts about a run that several renderers state the same way: its title, and the
// warnings that qualify its numbers (a scaled-down load, a saturated generator).
import type { Results } from './schema.ts';
import { fmtCount, fmtMs, fmtNum, fmtPct, fmtRps } from './format.ts';
import { capLabel } from '../harness/load/traffic-model.ts';
import { failRateOf } from './verdict.ts';

/** "phase 3 — Load balancer + read replicas" */
export const runTitle = (r: Results): string => `phase ${r.config.phase} — ${r.topology.title}`;

/** The warnings that qualify a run's figures, one sentence each; empty when the numbers are whole. */
export function runWarnings(r: Results): string[] {
  const out: string[] = [];
  const m = r.trafficModel;
  if (m.scaleFactor < 1) {
    out.push(
      `Scaled-down load: this run drove ${fmtRps(m.targetRps)}, ${fmtNum(m.scaleFactor * 100, 1)}% of the ` +
        `${fmtRps(m.peakRps)} peak that ${fmtCount(m.users)} users would send (scale factor ${fmtNum(m.scaleFactor, 3)}); ` +
        `the figures describe that smaller load, not the full population.`,
    );
    if (!m.overridden) out.push(`The machine cap of ${fmtRps(m.machineCapRps)} is ${capLabel(m.machineCapSource)}.`);
  }
  const achieved = m.achievedScaleFactor;
  if (achieved !== undefined && achieved !== null && achieved < m.scaleFactor * 0.99) {
    out.push(
      `Achieved scale factor ${fmtNum(achieved, 3)} (${fmtRps(r.load.totals.throughputRps)} completed) against the planned ${fmtNum(m.scaleFactor, 3)}: ` +
        `the system completed less than the load planned.`,
    );
  }
  const g = r.load.generator;
  if (g.saturated) {
    out.push(
      `The load generator fell behind its schedule (max lag ${fmtMs(g.maxLagMs)}): the results understate the offered load.`,
    );
  }
  if (r.load.totals.dropped > 0) {
    out.push(
      `${fmtCount(r.load.totals.dropped)} requests were due but not sent (in-flight cap reached): the system could not keep up with the arrival rate; ` +
        `they count as not served in the failed share (${fmtPct(failRateOf(r.load.totals))}, vs an error rate of ${fmtPct(r.load.totals.errorRate)} of completed requests).`,
    );
  }
  const unenforced = r.topology.hosts.filter((h) => h.sizeEnforced === false);
  if (unenforced.length > 0) {
    out.push(`Host sizes not enforced on ${unenforced.map((h) => h.name).join(', ')}: their CPU/memory quotas were not applied, so the sizes are nominal only.`);
  }
  return out;
}

/** Objectives and drills that failed, by name, for a one-line verdict reason. */
export function failedChecks(r: Results): string[] {
  return [
    ...r.objectives.filter((o) => !o.pass).map((o) => `objective "${o.name}"`),
    ...r.drills.filter((d) => !d.pass).map((d) => `drill "${d.name}"`),
  ];
}

/** The verdict's one-line message: why the run failed or was inconclusive; '' for a pass. */
export function verdictLine(r: Results): string {
  if (r.verdict === 'pass') return '';
  if (r.verdict === 'inconclusive') return `run inconclusive: ${r.verdictReason ?? 'the load could not judge the system'}`;
  const failed = failedChecks(r);
  return failed.length ? `run failed: ${failed.join(', ')}` : r.verdictReason ? `run failed: ${r.verdictReason}` : 'run failed';
}
