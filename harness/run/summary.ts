// The human summary printed at the end of a run.
import type { Results } from '../../reports/schema.ts';

const n = (x: number, d = 0) => x.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d });

export function formatSummary(r: Results, runDir: string): string {
  const l = r.load;
  const lines = [
    '',
    `phase ${r.config.phase} (${r.topology.title}) — ${n(r.config.users)} users — ${r.load.workload} workload — ${l.driver} driver`,
    `  throughput   ${n(l.totals.throughputRps, 1)} req/s over ${n(l.durationS, 0)} s (${n(l.totals.requests)} requests, target ${n(Math.max(0, ...l.stages.map((s) => s.targetRate)), 1)} req/s)`,
    `  latency      p50 ${n(l.latencyMs.p50, 1)} ms   p90 ${n(l.latencyMs.p90, 1)}   p99 ${n(l.latencyMs.p99, 1)}   p99.9 ${n(l.latencyMs.p999, 1)}   max ${n(l.latencyMs.max, 1)} ms`,
    `  errors       ${n(l.totals.errors)} (${n(l.totals.errorRate * 100, 2)}%)   dropped ${n(l.totals.dropped)}`,
  ];
  if (r.server.appRequests !== null && r.faults.length > 0) {
    lines.push(`  server view  ${n(r.server.appRequests)} requests counted by the app (requests refused during a fault never reach it)`);
  } else if (r.server.appRequests !== null) {
    // Static requests the CDN edge answered from its cache never reach an app server.
    const edgeHits = Object.entries(r.tiers.edge ?? {}).filter(([k]) => k.startsWith('hits.')).reduce((a, [, v]) => a + v, 0);
    const expected = l.totals.requests - edgeHits;
    const diff = expected === 0 ? 0 : (100 * (r.server.appRequests - expected)) / expected;
    const basis = edgeHits > 0 ? `the engine's ${n(l.totals.requests)} less ${n(edgeHits)} edge cache hits` : 'the engine';
    lines.push(`  server view  ${n(r.server.appRequests)} requests counted by the app servers (${diff >= 0 ? '+' : ''}${n(diff, 2)}% vs ${basis})`);
  }
  if (r.trafficModel.scaleFactor < 1) {
    lines.push(`  SCALED       this machine drove ${n(r.trafficModel.targetRps, 1)} of the model's ${n(r.trafficModel.peakRps, 1)} req/s peak: scale factor ${r.trafficModel.scaleFactor.toPrecision(3)}`);
  }
  if (l.generator.saturated) lines.push(`  SATURATED    the generator fell behind its schedule by up to ${n(l.generator.maxLagMs)} ms: the offered load was lower than asked`);
  for (const [tier, figures] of Object.entries(r.tiers)) {
    lines.push(`  ${tier.padEnd(12)} ${Object.entries(figures).map(([k, v]) => `${k} ${n(v, v < 10 ? 3 : 1)}`).join('   ')}`);
  }
  for (const d of r.drills) lines.push(`  drill ${d.name}: ${d.pass ? 'PASS' : 'FAIL'}${d.reasons.length ? ' — ' + d.reasons.join('; ') : ''}`);
  for (const o of r.objectives) lines.push(`  objective    ${o.description}: ${o.pass ? 'pass' : 'FAIL'} (${n(o.actual, 3)})`);
  lines.push(`  timings      ${Object.entries(r.timings).map(([k, v]) => `${k} ${n(v, 1)} s`).join('   ')}`);
  lines.push(`  verdict      ${r.verdict.toUpperCase()}`);
  lines.push(`  reports      ${runDir}/report.html  summary.md  junit.xml  results.json`);
  for (const note of r.notes) lines.push(`  note         ${note}`);
  return lines.join('\n') + '\n';
}
