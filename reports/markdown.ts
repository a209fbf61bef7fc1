// summary.md: a compact run summary for a CI job summary ($GITHUB_STEP_SUMMARY) or a PR comment.
import { regionsMarkdown } from './regions-section.ts';
import type { Results } from './schema.ts';
import { failedChecks, runTitle, runWarnings } from './facts.ts';
import { failRateOf } from './verdict.ts';
import { fmtCount, fmtDuration, fmtMs, fmtNum, fmtPct, fmtRps, fmtValue, fmtWhen } from './format.ts';
import { capacityMarkdownLines } from './capacity-markdown.ts';

/**
 * Escapes text for a Markdown table cell or line: pipes and backslashes would break the table,
 * and '<' / '>' would be read as HTML by GitHub; newlines would end the row.
 */
export function mdCell(value: unknown): string {
  return String(value)
    .replace(/\\/g, '\\\\')
    .replace(/\|/g, '\\|')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/`/g, "'")
    .replace(/\r?\n/g, ' ');
}

/** A Markdown table; cells are escaped here. */
export function mdTable(headers: string[], rows: Array<Array<string | number>>, align?: Array<'l' | 'r'>): string {
  const sep = headers.map((_, i) => (align?.[i] === 'r' ? '---:' : '---'));
  const line = (cells: Array<string | number>) => `| ${cells.map(mdCell).join(' | ')} |`;
  return [line(headers), `| ${sep.join(' | ')} |`, ...rows.map(line)].join('\n');
}

const mark = (pass: boolean) => (pass ? '✅ pass' : '❌ fail');

/** Renders summary.md for one run. */
export function renderMarkdown(r: Results): string {
  const t = r.load.totals;
  const l = r.load.latencyMs;
  const out: string[] = [];
  const failed = failedChecks(r);
  // a capacity search's summary is titled by what it answers, like its stdout
  if (r.capacity) out.push(`# Capacity of phase ${r.config.phase} (${mdCell(r.topology.title)})`, '');
  out.push(`### ${r.verdict === 'pass' ? '✅' : r.verdict === 'inconclusive' ? '⚠️' : '❌'} bench ${mdCell(runTitle(r))}: **${r.verdict.toUpperCase()}**`);
  out.push('');
  out.push(
    `Run \`${r.runId.replace(/`/g, "'")}\` · ${mdCell(fmtWhen(r.startedAt))} · ${mdCell(fmtCount(r.config.users))} users · ` +
      `${mdCell(fmtDuration(r.load.durationS))} of ${mdCell(r.load.workload)} load · ${mdCell(r.load.driver)} driver · ${mdCell(r.config.runtime)} runtime`,
  );
  if (r.verdict === 'inconclusive') {
    out.push('');
    out.push(`Inconclusive: ${mdCell(r.verdictReason ?? 'the load could not judge the system')}.`);
  }
  if (r.verdict === 'fail' && failed.length > 0) {
    out.push('');
    out.push(`Failed: ${mdCell(failed.join(', '))}.`);
  }
  for (const w of runWarnings(r)) {
    out.push('');
    out.push(`> ⚠️ ${mdCell(w)}`);
  }
  if (r.capacity) {
    // a capacity search: its answer and curve first; the load figures below are one step's drive
    out.push('', `**Capacity** (objective \`${r.capacity.settings.objective.replace(/`/g, "'")}\`)`, '');
    out.push(...capacityMarkdownLines(r.capacity, r.capacity.settings.confirmS));
    out.push(r.capacity.loadStep === null ? 'No rate held: the load figures below are empty.' : `The load figures below are step ${r.capacity.loadStep}'s whole drive (settle included).`);
  }
  out.push('');
  out.push(
    mdTable(
      ['throughput', 'p50', 'p95', 'p99', 'p99.9', 'max', 'error rate', 'failed share (with dropped)', 'requests', 'errors', 'dropped', 'stale keep-alive'],
      [
        [
          fmtRps(t.throughputRps),
          fmtMs(l.p50),
          fmtMs(l.p95),
          fmtMs(l.p99),
          fmtMs(l.p999),
          fmtMs(l.max),
          fmtPct(t.errorRate),
          fmtPct(failRateOf(t)),
          fmtCount(t.requests),
          fmtCount(t.errors),
          fmtCount(t.dropped),
          // the generator's stale connections: beside the rates, in neither (n/a: the driver cannot tell)
          t.staleKeepalive === undefined || t.staleKeepalive === null ? 'n/a' : fmtCount(t.staleKeepalive),
        ],
      ],
      ['r', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r'],
    ),
  );
  if (r.objectives.length > 0) {
    out.push('');
    out.push('**Objectives**');
    out.push('');
    out.push(
      mdTable(
        ['objective', 'target', 'threshold', 'actual', 'result'],
        r.objectives.map((o) => [o.name, o.description, fmtValue(o.threshold), fmtValue(o.actual), mark(o.pass)]),
        ['l', 'l', 'r', 'r', 'l'],
      ),
    );
  }
  if (r.drills.length > 0) {
    out.push('');
    out.push('**Drills**');
    out.push('');
    out.push(
      mdTable(
        ['drill', 'detect', 'recover', 'errors in fault', 'p99 before → during', 'lost writes', 'result'],
        r.drills.map((d) => [
          d.name,
          d.timeToDetectS === null ? '—' : fmtDuration(d.timeToDetectS),
          d.timeToRecoverS === null ? 'not recovered' : fmtDuration(d.timeToRecoverS),
          fmtCount(d.errorsDuringFault),
          `${fmtMs(d.latencyBeforeP99)} → ${fmtMs(d.latencyDuringP99)}`,
          d.writes ? `${fmtCount(d.writes.lost)} of ${fmtCount(d.writes.acknowledged)}` : '—',
          d.verdict === 'inconclusive' ? '⚠️ inconclusive' : mark(d.pass),
        ]),
        ['l', 'r', 'r', 'r', 'r', 'r', 'l'],
      ),
    );
    const failing = r.drills.filter((d) => !d.pass && d.reasons.length > 0);
    for (const d of failing) {
      out.push('');
      out.push(`<details><summary>${mdCell(d.name)}: ${d.verdict === 'inconclusive' ? 'why it was inconclusive' : 'why it failed'}</summary>\n\n${d.reasons.map((x) => `- ${mdCell(x)}`).join('\n')}\n\n</details>`);
    }
  }
  const regionLines = regionsMarkdown(r, mdTable);
  if (regionLines.length > 0) out.push('', ...regionLines);
  if (r.ledger) {
    const l = r.ledger;
    out.push('');
    out.push('**Job ledger**');
    out.push('');
    const rows = ([['jobs', l.jobs], ['payments → notifications', l.payments]] as const)
      .filter((x) => x[1] !== null)
      .map(([name, c]) => [
        name,
        fmtCount(c!.accepted),
        fmtCount(c!.done),
        fmtCount(c!.lost),
        fmtCount(c!.duplicated),
        fmtCount(c!.unexpected),
        fmtCount(c!.recovered),
        fmtCount(c!.deadLettered),
        mark(c!.verdict === 'PASS'),
      ]);
    out.push(mdTable(['ledger', 'accepted', 'done', 'lost', 'duplicated', 'unexpected', 'recovered', 'dead-lettered', 'result'], rows, ['l', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'l']));
    const a = l.acceptToCompleteMs;
    out.push('');
    out.push(
      `Accept → complete (${fmtCount(a.count)} jobs): p50 ${fmtMs(a.p50)}, p99 ${fmtMs(a.p99)}, max ${fmtMs(a.max)}. ` +
        (l.publishMs ? `Outbox write → broker confirm (${fmtCount(l.publishMs.count)} rows): p50 ${fmtMs(l.publishMs.p50)}, p99 ${fmtMs(l.publishMs.p99)}, max ${fmtMs(l.publishMs.max)}. ` : '') +
        `Drain: ${fmtDuration(l.drain.seconds)} of ${fmtDuration(l.drain.timeoutS)}${l.drain.pending + l.drain.unsent > 0 ? `, gave up with ${fmtCount(l.drain.pending)} jobs pending and ${fmtCount(l.drain.unsent)} outbox rows unsent` : ''}.`,
    );
  }
  if (r.queue) out.push('', ...queueMarkdown(r.queue));
  if (r.faults.length > 0) {
    out.push('');
    out.push(
      `Faults: ${r.faults
        .map((f) => `${mdCell(f.name)} ${mdCell(f.target)} ${f.endS === null ? `from ${f.startS} s` : `${f.startS}–${f.endS} s`}`)
        .join('; ')}.`,
    );
  }
  const m = r.trafficModel;
  out.push('');
  out.push(
    m.scaleFactor === 1
      ? `Scale factor 1: the full modelled peak (${mdCell(fmtRps(m.peakRps))}) was driven.`
      : `Scale factor ${mdCell(fmtValue(m.scaleFactor))}: ${mdCell(fmtRps(m.targetRps))} driven against a ${mdCell(fmtRps(m.peakRps))} modelled peak${m.overridden ? ' (rate set by --rate)' : ''}.`,
  );
  if (m.achievedScaleFactor !== undefined) {
    out.push('');
    out.push(
      `Scale factor planned ${mdCell(fmtValue(m.scaleFactor))}, achieved ${mdCell(fmtValue(m.achievedScaleFactor))} (requests completed ÷ requests the model would have sent over the same schedule).`,
    );
  }
  out.push('');
  out.push('The full report is report.html in the run directory.');
  return out.join('\n') + '\n';
}

/** The broker's backlog (results.queue) as a small table: peak, drain after the burst, slope. */
function queueMarkdown(q: NonNullable<Results['queue']>): string[] {
  const b = q.burst;
  const rows = [
    ['peak depth', q.peakDepth === null ? 'n/a' : `${fmtCount(q.peakDepth)} at ${fmtNum(q.peakAtS ?? 0, 1)} s`],
    ['burst', b ? `×${fmtNum(b.factor)} from ${fmtNum(b.startS)} s for ${fmtNum(b.lengthS)} s` : 'none'],
    ['depth before the burst', q.preBurstDepth === null ? 'n/a' : fmtCount(q.preBurstDepth)],
    ['drain after the burst', q.drainS === null ? `n/a: ${q.drainNote ?? 'not measured'}` : fmtDuration(q.drainS)],
    [`slope, last ${fmtNum(q.slope.windowS)} s of the load`, q.slope.perS === null ? 'n/a' : `${fmtNum(q.slope.perS, 2)} messages/s (${q.slope.growing ? '⚠️ growing' : 'not growing'})`],
    ['after the load', `${q.afterLoad.drained ? 'empty' : 'not empty'} after ${fmtDuration(q.afterLoad.sampledS)} (bound ${fmtDuration(q.afterLoad.boundS)})`],
  ].map(([k, v]) => [k!, mdCell(v!)]);
  return [`**Queue backlog** (${mdCell(q.queue)}, sampled once a second from the broker)`, '', mdTable(['figure', 'value'], rows, ['l', 'r'])];
}
