// The human summary printed at the end of a run.
import type { Results } from '../../reports/schema.ts';
import { capLabel } from '../load/traffic-model.ts';
import { failRateOf, staleShareOf } from '../../reports/verdict.ts';

const n = (x: number, d = 0) => x.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d });
/** a latency figure; null (nothing measured) is "n/a", never 0 */
const lat = (x: number | null) => (x === null ? 'n/a' : n(x, 1));
const pct = (x: number | null) => (x === null ? 'n/a' : `${n(x * 100, 2)}%`);

export function formatSummary(r: Results, runDir: string): string {
  const l = r.load;
  const failRate = failRateOf(l.totals);
  const lines = [
    '',
    `phase ${r.config.phase} (${r.topology.title}) — ${n(r.config.users)} users — ${r.load.workload} workload — ${l.driver} driver`,
    `  throughput   ${n(l.totals.throughputRps, 1)} req/s over ${n(l.durationS, 0)} s (${n(l.totals.requests)} requests, target ${n(Math.max(0, ...l.stages.map((s) => s.targetRate)), 1)} req/s)`,
    `  latency      p50 ${lat(l.latencyMs.p50)} ms   p90 ${lat(l.latencyMs.p90)}   p99 ${lat(l.latencyMs.p99)}   p99.9 ${lat(l.latencyMs.p999)}   max ${lat(l.latencyMs.max)} ms (requests that got a response)`,
    // Both rates side by side: errors among what completed, and the failed share of the offered
    // load, which counts requests dropped at the in-flight cap (the objectives use this one).
    `  errors       ${n(l.totals.errors)} (${pct(l.totals.errorRate)} of completed)   dropped ${n(l.totals.dropped)}   failed share ${pct(failRate)} of offered (errors + dropped)`,
  ];
  const stale = l.totals.staleKeepalive;
  if (stale !== undefined && stale !== null && stale > 0) {
    // Not the system's failure: requests sent on connections the server had already closed (not a GET, so not retried).
    lines.push(`  stale conns  ${n(stale)} requests on keep-alive connections the server had closed (${pct(staleShareOf(l.totals))} of sent; in neither rate above)`);
  }
  const noAnswer = l.failureMs;
  if (noAnswer && noAnswer.max !== null) {
    lines.push(`  no response  time to failure p50 ${lat(noAnswer.p50)} ms   p99 ${lat(noAnswer.p99)}   max ${lat(noAnswer.max)} ms (timeouts, refused, reset: not in the latency above)`);
  }
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
  const m = r.trafficModel;
  const achieved = m.achievedScaleFactor;
  if (m.scaleFactor < 1 || (achieved !== undefined && achieved !== null && achieved < m.scaleFactor * 0.99)) {
    lines.push(
      `  SCALED       planned ${n(m.targetRps, 1)} of the model's ${n(m.peakRps, 1)} req/s peak (scale factor ${m.scaleFactor.toPrecision(3)}); ` +
        `achieved ${achieved === null || achieved === undefined ? 'n/a' : `${achieved.toPrecision(3)} (${n(l.totals.throughputRps, 1)} req/s completed)`}`,
    );
    if (!m.overridden && m.targetRps < m.peakRps) lines.push(`  machine cap  ${n(m.machineCapRps)} req/s: ${capLabel(m.machineCapSource)}`);
  }
  if (l.generator.saturated) lines.push(`  SATURATED    the generator fell behind its schedule by up to ${n(l.generator.maxLagMs)} ms: the offered load was lower than asked`);
  const unenforced = r.topology.hosts.filter((h) => h.sizeEnforced === false);
  if (unenforced.length > 0) {
    lines.push(`  SIZES        not enforced on ${unenforced.map((h) => h.name).join(', ')}: their CPU/memory quotas were not applied, so the host sizes are nominal only`);
  }
  for (const [tier, figures] of Object.entries(r.tiers)) {
    lines.push(`  ${tier.padEnd(12)} ${Object.entries(figures).map(([k, v]) => `${k} ${n(v, v < 10 ? 3 : 1)}`).join('   ')}`);
  }
  for (const d of r.drills) {
    const v = d.verdict ?? (d.pass ? 'pass' : 'fail');
    lines.push(`  drill ${d.name}: ${v.toUpperCase()}${d.reasons.length ? ' — ' + d.reasons.join('; ') : ''}`);
  }
  if (r.ledger) {
    const g = r.ledger;
    for (const [name, c] of [['jobs', g.jobs], ['payments', g.payments]] as const) {
      if (c) lines.push(`  ledger       ${name}: ${c.verdict} accepted ${n(c.accepted)}, done ${n(c.done)}, lost ${n(c.lost)}, duplicated ${n(c.duplicated)}, unexpected ${n(c.unexpected)}, dead-lettered ${n(c.deadLettered)}, indeterminate ${n(c.indeterminate)}`);
    }
    const a = g.acceptToCompleteMs;
    lines.push(`  jobs         accept->complete p50 ${lat(a.p50)} ms   p99 ${lat(a.p99)}   max ${lat(a.max)} ms over ${n(a.count)} jobs; drain ${n(g.drain.seconds, 1)} s${g.drain.pending + g.drain.unsent > 0 ? `, gave up with ${n(g.drain.pending)} pending and ${n(g.drain.unsent)} unsent` : ''}`);
    const pub = g.publishMs;
    if (pub) lines.push(`  outbox       write->broker confirm p50 ${lat(pub.p50)} ms   p99 ${lat(pub.p99)}   max ${lat(pub.max)} ms over ${n(pub.count)} rows (jobs and payments)`);
  } else if (r.ledger === null) lines.push('  ledger       not measured (see the notes)');
  for (const o of r.objectives) lines.push(`  objective    ${o.description}: ${o.pass ? 'pass' : 'FAIL'} (${o.actual === null ? 'not measured' : n(o.actual, 3)})`);
  lines.push(`  timings      ${Object.entries(r.timings).map(([k, v]) => `${k} ${n(v, 1)} s`).join('   ')}`);
  lines.push(`  verdict      ${r.verdict.toUpperCase()}`);
  if (r.verdictReason) lines.push(`  because      ${r.verdictReason}`);
  lines.push(`  reports      ${runDir}/report.html  summary.md  junit.xml  results.json`);
  for (const note of r.notes) lines.push(`  note         ${note}`);
  return lines.join('\n') + '\n';
}
