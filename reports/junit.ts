// junit.xml: a run as a JUnit test suite, so any CI shows objectives and drills as test results.
// One <testsuite> per run; each objective and each drill is a <testcase>, and a last case carries
// the run's verdict, so a failed run is never all green in a CI's test view.
import type { Results } from './schema.ts';
import { runTitle, runWarnings, verdictLine } from './facts.ts';
import { failRateOf } from './verdict.ts';
import { fmtCount, fmtDuration, fmtMs, fmtPct, fmtRps, fmtValue } from './format.ts';

/** Escapes text for XML content and attributes, dropping characters XML 1.0 cannot hold. */
export function escapeXml(value: unknown): string {
  return (
    String(value)
      // eslint-disable-next-line no-control-regex
      .replace(/[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]/g, '')
      .replace(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g, '')
      .replace(/&/g, '&amp;')
      .replace(/</g, '&lt;')
      .replace(/>/g, '&gt;')
      .replace(/"/g, '&quot;')
      .replace(/'/g, '&apos;')
  );
}

interface Case {
  classname: string;
  name: string;
  failure: { message: string; type: string; body: string } | null;
  out: string;
}

const secs = (s: number) => (Number.isFinite(s) && s > 0 ? s.toFixed(3) : '0');

/** Renders junit.xml for one run. */
export function renderJunit(r: Results): string {
  const phase = `bench.phase${r.config.phase}`;
  const cases: Case[] = [];
  for (const o of r.objectives) {
    const figures = `${o.description}: actual ${fmtValue(o.actual)}, threshold ${fmtValue(o.threshold)}`;
    cases.push({
      classname: `${phase}.objectives`,
      name: o.name,
      failure: o.pass ? null : { type: 'objective', message: `${o.name} missed: ${figures}`, body: figures },
      out: figures,
    });
  }
  for (const d of r.drills) {
    const lines = [
      `hypothesis: ${d.hypothesis}`,
      `time to detect: ${d.timeToDetectS === null ? 'not detected' : fmtDuration(d.timeToDetectS)}`,
      `time to recover: ${d.timeToRecoverS === null ? 'not recovered' : fmtDuration(d.timeToRecoverS)}`,
      `errors during the fault: ${fmtCount(d.errorsDuringFault)}`,
      `p99 before/during: ${fmtMs(d.latencyBeforeP99)} / ${fmtMs(d.latencyDuringP99)}`,
    ];
    if (d.writes) {
      lines.push(
        `writes: ${fmtCount(d.writes.acknowledged)} acknowledged, ${fmtCount(d.writes.present)} present, ${fmtCount(d.writes.lost)} lost` +
          (d.writes.lostIds.length ? ` (ids ${d.writes.lostIds.slice(0, 50).join(', ')}${d.writes.lostIds.length > 50 ? ', …' : ''})` : ''),
      );
    }
    for (const [k, v] of Object.entries(d.figures)) lines.push(`${k}: ${fmtValue(v)}`);
    if (d.reasons.length) lines.push('reasons:', ...d.reasons.map((x) => `- ${x}`));
    const body = lines.join('\n');
    cases.push({
      classname: `${phase}.drills`,
      name: d.name,
      failure: d.pass
        ? null
        : d.verdict === 'inconclusive'
          ? { type: 'inconclusive', message: `${d.name} inconclusive: ${d.reasons[0] ?? 'the load could not judge it'}`, body }
          : { type: 'drill', message: `${d.name} failed: ${d.reasons.length ? d.reasons.join('; ') : 'its hypothesis did not hold'}`, body },
      out: body,
    });
  }
  const t = r.load.totals;
  const l = r.load.latencyMs;
  const summary =
    `${fmtRps(t.throughputRps)}, p50 ${fmtMs(l.p50)}, p95 ${fmtMs(l.p95)}, p99 ${fmtMs(l.p99)}, p99.9 ${fmtMs(l.p999)}, ` +
    `max ${fmtMs(l.max)}, error rate ${fmtPct(t.errorRate)}, failed share with drops ${fmtPct(failRateOf(t))}, ${fmtCount(t.requests)} requests, ${fmtCount(t.dropped)} dropped`;
  cases.push({
    classname: phase,
    name: 'verdict',
    failure:
      r.verdict === 'pass'
        ? null
        : {
            type: r.verdict === 'inconclusive' ? 'inconclusive' : 'verdict',
            message: verdictLine(r),
            body: summary,
          },
    out: [summary, ...runWarnings(r)].join('\n'),
  });

  const failures = cases.filter((c) => c.failure).length;
  const started = Date.parse(r.startedAt);
  const finished = Date.parse(r.finishedAt);
  const time = Number.isNaN(started) || Number.isNaN(finished) ? r.load.durationS : (finished - started) / 1000;
  const suiteName = `bench ${runTitle(r)} (${r.runId})`;
  const props: Array<[string, string | number]> = [
    ['runId', r.runId],
    ['phase', r.config.phase],
    ['users', r.config.users],
    ['durationS', r.load.durationS],
    ['driver', r.load.driver],
    ['workload', r.load.workload],
    ['runtime', r.config.runtime],
    ['seed', r.config.seed],
    ['scaleFactor', r.trafficModel.scaleFactor],
    ['throughputRps', t.throughputRps],
    ['p99Ms', l.p99 ?? 'n/a'],
    ['errorRate', t.errorRate],
    ['failRate', failRateOf(t) ?? 'n/a'],
    ['achievedScaleFactor', r.trafficModel.achievedScaleFactor ?? 'n/a'],
    ['verdict', r.verdict],
  ];
  const a = (name: string, value: string | number) => ` ${name}="${escapeXml(value)}"`;
  const out: string[] = ['<?xml version="1.0" encoding="UTF-8"?>'];
  out.push(`<testsuites${a('name', 'bench')}${a('tests', cases.length)}${a('failures', failures)}${a('errors', 0)}${a('time', secs(time))}>`);
  out.push(
    `  <testsuite${a('name', suiteName)}${a('tests', cases.length)}${a('failures', failures)}${a('errors', 0)}${a('skipped', 0)}` +
      `${a('time', secs(time))}${a('timestamp', r.startedAt)}>`,
  );
  out.push('    <properties>');
  for (const [k, v] of props) out.push(`      <property${a('name', k)}${a('value', v)}/>`);
  out.push('    </properties>');
  for (const c of cases) {
    out.push(`    <testcase${a('classname', c.classname)}${a('name', c.name)}${a('time', '0')}>`);
    if (c.failure) {
      out.push(`      <failure${a('message', c.failure.message)}${a('type', c.failure.type)}>${escapeXml(c.failure.body)}</failure>`);
    }
    out.push(`      <system-out>${escapeXml(c.out)}</system-out>`);
    out.push('    </testcase>');
  }
  out.push(`    <system-out>${escapeXml(`${runTitle(r)}: ${summary}`)}</system-out>`);
  out.push('  </testsuite>');
  out.push('</testsuites>');
  return out.join('\n') + '\n';
}
