// Derived facts about a run that several renderers state the same way: its title, and the
// warnings that qualify its numbers (a scaled-down load, a saturated generator).
import type { Results } from './schema.ts';
import { fmtCount, fmtMs, fmtNum, fmtRps } from './format.ts';

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
  }
  const g = r.load.generator;
  if (g.saturated) {
    out.push(
      `The load generator fell behind its schedule (max lag ${fmtMs(g.maxLagMs)}): the results understate the offered load.`,
    );
  }
  if (r.load.totals.dropped > 0) {
    out.push(
      `${fmtCount(r.load.totals.dropped)} requests were due but not sent (in-flight cap reached): the system could not keep up with the arrival rate.`,
    );
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
