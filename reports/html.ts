// report.html: one self-contained page per run. uPlot's JS and CSS and the report's own script
// are inlined (read from disk at render time), the data is embedded as JSON, so the file opens
// from file:// with no network. Everything shown is escaped; the charts are drawn in the browser
// from specs built by reports/charts.ts.
import { regionsSectionHtml } from './regions-section.ts';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { Results } from './schema.ts';
import { loadCharts, prometheusCharts, queueChart, type ChartSpec } from './charts.ts';
import { renderTopologySvg, parseEdgeName } from './topology.ts';
import { escapeHtml as esc, inlineSafe, jsonForScript } from './html-escape.ts';
import { failedChecks, runTitle, runWarnings } from './facts.ts';
import { capacitySectionHtml } from './capacity-html.ts';
import { failRateOf } from './verdict.ts';
import { capLabel } from '../harness/load/traffic-model.ts';
import {
  fmtCount,
  fmtDuration,
  fmtMs,
  fmtNum,
  fmtPct,
  fmtRps,
  fmtValue,
  fmtWhen,
  fmtWindow,
  secondsBetween,
} from './format.ts';

const require = createRequire(import.meta.url);

/** The files inlined into every report: uPlot (from node_modules) and the report's own assets. */
function assets(): { uplotJs: string; uplotCss: string; js: string; css: string } {
  return {
    uplotJs: readFileSync(require.resolve('uplot/dist/uPlot.iife.min.js'), 'utf8'),
    uplotCss: readFileSync(require.resolve('uplot/dist/uPlot.min.css'), 'utf8'),
    js: readFileSync(new URL('./assets/report.js', import.meta.url), 'utf8'),
    css: readFileSync(new URL('./assets/report.css', import.meta.url), 'utf8'),
  };
}

/** A table cell: plain text (escaped), or with a class (num: right-aligned figures). */
type Cell = string | number | { text: string; num?: boolean; cls?: string; html?: string };

function table(headers: Array<string | { label: string; num?: boolean }>, rows: Cell[][], rowClass?: (i: number) => string): string {
  const th = headers
    .map((h) => (typeof h === 'string' ? `<th>${esc(h)}</th>` : `<th${h.num ? ' class="num"' : ''}>${esc(h.label)}</th>`))
    .join('');
  const body = rows
    .map((row, i) => {
      const cls = rowClass?.(i);
      const tds = row
        .map((c) => {
          if (typeof c === 'number') return `<td class="num">${esc(fmtNum(c))}</td>`;
          if (typeof c === 'string') return `<td>${esc(c)}</td>`;
          const classes = [c.num ? 'num' : '', c.cls ?? ''].filter(Boolean).join(' ');
          return `<td${classes ? ` class="${classes}"` : ''}>${c.html ?? esc(c.text)}</td>`;
        })
        .join('');
      return `<tr${cls ? ` class="${cls}"` : ''}>${tds}</tr>`;
    })
    .join('\n');
  return `<table><thead><tr>${th}</tr></thead><tbody>\n${body}\n</tbody></table>`;
}

const num = (text: string): Cell => ({ text, num: true });
const badge = (pass: boolean) => `<span class="badge ${pass ? 'pass' : 'fail'}">${pass ? 'pass' : 'fail'}</span>`;
/** a drill's verdict: pass, fail or inconclusive (older results carry only pass) */
const drillVerdict = (d: Results['drills'][number]) => d.verdict ?? (d.pass ? 'pass' : 'fail');
const section = (id: string, title: string, body: string) => `<section id="${id}">\n<h2>${esc(title)}</h2>\n${body}\n</section>`;
const empty = (what: string) => `<p class="muted">${esc(what)}</p>`;

/** The label each fault window carries on the charts and in the legend. */
const faultLabel = (f: Results['faults'][number]) => `${f.name} ${f.target}`;

function header(r: Results): string {
  const took = secondsBetween(r.startedAt, r.finishedAt);
  const failed = failedChecks(r);
  const c = r.config;
  const meta = [
    `run <code>${esc(r.runId)}</code>`,
    `${esc(fmtWhen(r.startedAt))}${took !== null ? ` (${esc(fmtDuration(took))} in all)` : ''}`,
    `${esc(fmtCount(c.users))} users`,
    `${esc(fmtDuration(r.load.durationS))} of load`,
    `workload ${esc(r.load.workload)}`,
    `${esc(r.load.driver)} driver`,
    `${esc(c.runtime)} runtime`,
    `seed ${esc(c.seed)}`,
  ];
  const warnings = [...lifecycleWarnings(r), ...runWarnings(r)]
    .map((w) => `<div class="warning" role="note">⚠ ${esc(w)}</div>`)
    .join('\n');
  const reason =
    r.verdict === 'inconclusive'
      ? `<p>Inconclusive: ${esc(r.verdictReason ?? 'the load could not judge the system')}.</p>`
      : r.verdict === 'fail' && failed.length > 0
        ? `<p>Failed: ${esc(failed.join(', '))}.</p>`
        : '';
  return `<header class="run ${r.verdict}">
<h1>bench · ${esc(runTitle(r))} <span class="verdict ${r.verdict}" id="verdict">${r.verdict.toUpperCase()}</span></h1>
<div class="meta">${meta.map((m) => `<span>${m}</span>`).join('')}</div>
${reason}
${warnings}
<nav class="toc">${[
    ...(r.capacity ? [['capacity', 'Capacity']] : []),
    ['figures', 'Key figures'],
    ['over-time', 'Over time'],
    ['verdicts', 'Objectives & drills'],
    ...(r.load.regions ? [['regions', 'Regions']] : []),
    ['tiers', 'Tiers'],
    ['topology', 'Topology'],
    ['traffic', 'Traffic model'],
    ['endpoints', 'Endpoints'],
    ['run', 'Run'],
  ]
    .map(([id, label]) => `<a href="#${id}">${esc(label)}</a>`)
    .join('')}</nav>
</header>`;
}

function keyFigures(r: Results): string {
  const t = r.load.totals;
  const l = r.load.latencyMs;
  const fig = (label: string, value: string, bad = false) =>
    `<div class="figure${bad ? ' bad' : ''}"><div class="label">${esc(label)}</div><div class="value">${esc(value)}</div></div>`;
  return `<div class="figures">
${fig('throughput', fmtRps(t.throughputRps))}
${fig('p50', fmtMs(l.p50))}
${fig('p95', fmtMs(l.p95))}
${fig('p99', fmtMs(l.p99))}
${fig('p99.9', fmtMs(l.p999))}
${fig('max', fmtMs(l.max))}
${fig('error rate', fmtPct(t.errorRate), t.errorRate > 0)}
${fig('failed share (with dropped)', fmtPct(failRateOf(t)), (failRateOf(t) ?? 0) > 0)}
${fig('requests', fmtCount(t.requests))}
${fig('errors', fmtCount(t.errors), t.errors > 0)}
${fig('dropped', fmtCount(t.dropped), t.dropped > 0)}
${fig('stale keep-alive (not in the rates)', t.staleKeepalive === undefined || t.staleKeepalive === null ? 'n/a' : fmtCount(t.staleKeepalive), (t.staleKeepalive ?? 0) > 0)}
</div>
<p class="muted">Target ${esc(fmtRps(r.trafficModel.targetRps))}; the server counted ${
    r.server.appRequests === null ? 'no requests (no metrics)' : `${esc(fmtCount(r.server.appRequests))} app requests`
  }; mean latency ${esc(fmtMs(l.mean))}, p90 ${esc(fmtMs(l.p90))} (requests that got a response).${
    r.load.failureMs && r.load.failureMs.max !== null
      ? ` Requests with no response (timeout, refused, reset) failed after p50 ${esc(fmtMs(r.load.failureMs.p50))}, p99 ${esc(fmtMs(r.load.failureMs.p99))}, max ${esc(fmtMs(r.load.failureMs.max))}; they are not in the latency figures.`
      : ''
  } The failed share counts requests dropped at the in-flight cap as not served.</p>`;
}

function chartBlock(spec: ChartSpec, faultLegend: string): string {
  return `<div class="chart-title">${esc(spec.title)}${spec.unit ? ` <span class="muted">(${esc(spec.unit)})</span>` : ''}</div>
<div class="chart" id="chart-${esc(spec.id)}" data-chart="${esc(spec.id)}"></div>
${faultLegend}`;
}

function faultLegend(r: Results): string {
  if (r.faults.length === 0) return '';
  const items = r.faults
    .map((f) => `<span class="fault-label">${esc(faultLabel(f))}: ${esc(fmtWindow(f.startS, f.endS))}</span>`)
    .join('');
  return `<div class="fault-legend"><span class="swatch"></span>fault windows — ${items}</div>`;
}

function overTime(r: Results, charts: ChartSpec[]): string {
  const legend = faultLegend(r);
  const faults =
    r.faults.length === 0
      ? empty('No faults were injected.')
      : table(
          ['fault', 'target', 'window', 'detail'],
          r.faults.map((f) => [f.name, f.target, fmtWindow(f.startS, f.endS), f.detail ?? '']),
        );
  const body =
    r.load.series.length === 0 ? empty('No per-second series was recorded.') : charts.map((c) => chartBlock(c, legend)).join('\n');
  return section('over-time', 'Over time', `${body}\n<h3>Fault windows</h3>\n${faults}`);
}

function verdicts(r: Results): string {
  const objectives =
    r.objectives.length === 0
      ? empty('No objectives were set for this run.')
      : table(
          ['objective', 'target', { label: 'threshold', num: true }, { label: 'actual', num: true }, 'result'],
          r.objectives.map((o) => [o.name, o.description, num(fmtValue(o.threshold)), num(fmtValue(o.actual)), { text: '', html: badge(o.pass) }]),
          (i) => (r.objectives[i]!.pass ? '' : 'fail'),
        );
  const drills =
    r.drills.length === 0
      ? empty('No drill ran.')
      : r.drills
          .map((d) => {
            const figures: Cell[][] = [
              ['time to detect', num(d.timeToDetectS === null ? '—' : fmtDuration(d.timeToDetectS))],
              ['time to recover', num(d.timeToRecoverS === null ? 'not recovered' : fmtDuration(d.timeToRecoverS))],
              ['errors during the fault', num(fmtCount(d.errorsDuringFault))],
              ['p99 before → during', num(`${fmtMs(d.latencyBeforeP99)} → ${fmtMs(d.latencyDuringP99)}`)],
            ];
            if (d.writes) {
              const w = d.writes;
              figures.push(
                ['acknowledged writes', num(fmtCount(w.acknowledged))],
                ['present after the drill', num(fmtCount(w.present))],
                [{ text: 'lost', cls: w.lost > 0 ? 'fail' : '' }, num(fmtCount(w.lost))],
                ['unacknowledged but present', num(fmtCount(w.unacknowledgedPresent))],
              );
              if (w.lostIds.length > 0) {
                const shown = w.lostIds.slice(0, 20).join(', ') + (w.lostIds.length > 20 ? `, … (${w.lostIds.length} in all)` : '');
                figures.push(['lost ids', { text: shown, cls: 'mono' }]);
              }
            }
            for (const [k, v] of Object.entries(d.figures)) figures.push([k, num(fmtValue(v))]);
            const reasons = d.reasons.length ? `<ul>${d.reasons.map((x) => `<li>${esc(x)}</li>`).join('')}</ul>` : '';
            const v = drillVerdict(d);
            return `<div class="drill ${v}">
<h3>${esc(d.name)} ${v === 'inconclusive' ? '<span class="badge inconclusive">inconclusive</span>' : badge(d.pass)}</h3>
<p><b>Hypothesis:</b> ${esc(d.hypothesis)}</p>
${table(['figure', { label: 'value', num: true }], figures)}
${reasons}
</div>`;
          })
          .join('\n');
  return section('verdicts', 'Objectives and drills', `<h3>Objectives</h3>\n${objectives}\n<h3>Drills</h3>\n${drills}${ledgerHtml(r)}`);
}

/** The job ledger (asynchronous topologies): jobs and payments vs notifications, accept→complete, drain. */
function ledgerHtml(r: Results): string {
  const l = r.ledger;
  if (!l) return '';
  const checks = ([['jobs', l.jobs], ['payments → notifications', l.payments]] as const).filter((x) => x[1] !== null);
  const rows: Cell[][] = checks.map(([name, c]) => [
    name,
    num(fmtCount(c!.accepted)),
    num(fmtCount(c!.done)),
    { text: fmtCount(c!.lost), num: true, cls: c!.lost > 0 ? 'fail' : '' },
    num(fmtCount(c!.duplicated)),
    { text: fmtCount(c!.unexpected), num: true, cls: c!.unexpected > 0 ? 'fail' : '' },
    num(fmtCount(c!.recovered)),
    num(fmtCount(c!.deadLettered)),
    { text: '', html: badge(c!.verdict === 'PASS') },
  ]);
  const a = l.acceptToCompleteMs;
  const reasons = checks.flatMap(([name, c]) => c!.reasons.map((x) => `${name}: ${x}`));
  const left = l.drain.pending + l.drain.unsent > 0 ? `, gave up with ${fmtCount(l.drain.pending)} jobs pending and ${fmtCount(l.drain.unsent)} outbox rows unsent` : '';
  const headers = ['ledger', ...['accepted', 'done', 'lost', 'duplicated', 'unexpected', 'recovered', 'dead-lettered'].map((label) => ({ label, num: true })), 'result'];
  const list = reasons.length ? `<ul>${reasons.map((x) => `<li>${esc(x)}</li>`).join('')}</ul>` : '';
  return `\n<h3>Job ledger</h3>
${table(headers, rows)}
<p>Accept → complete (${esc(fmtCount(a.count))} jobs): p50 ${esc(fmtMs(a.p50))}, p99 ${esc(fmtMs(a.p99))}, max ${esc(fmtMs(a.max))}.${l.publishMs ? ` Outbox write → broker confirm (${esc(fmtCount(l.publishMs.count))} rows): p50 ${esc(fmtMs(l.publishMs.p50))}, p99 ${esc(fmtMs(l.publishMs.p99))}, max ${esc(fmtMs(l.publishMs.max))}.` : ''} Drain: ${esc(fmtDuration(l.drain.seconds))} of ${esc(fmtDuration(l.drain.timeoutS))}${esc(left)}.</p>
${list}`;
}

/** A --burst as a shaded window of every chart (blue: load, not a fault). */
function burstWindow(b: NonNullable<Results['config']['burst']>): { label: string; startS: number; endS: number; kind: 'burst' } {
  return { label: `burst ×${fmtNum(b.factor)}`, startS: b.startS, endS: b.startS + b.lengthS, kind: 'burst' };
}

/** The broker's backlog (results.queue): a small table of its figures and the depth over time. */
function queueSectionHtml(r: Results, chart: ChartSpec | null): string {
  const q = r.queue;
  if (!q) return '';
  const b = q.burst;
  const rows: Cell[][] = [
    ['peak depth', num(q.peakDepth === null ? 'n/a' : `${fmtCount(q.peakDepth)} at ${fmtNum(q.peakAtS ?? 0, 1)} s`)],
    ['burst', num(b ? `×${fmtNum(b.factor)} from ${fmtNum(b.startS)} s for ${fmtNum(b.lengthS)} s` : 'none')],
    ['depth before the burst', num(q.preBurstDepth === null ? 'n/a' : fmtCount(q.preBurstDepth))],
    [{ text: 'drain after the burst', cls: b && q.drainS === null ? 'fail' : '' }, { text: q.drainS === null ? `n/a: ${q.drainNote ?? 'not measured'}` : fmtDuration(q.drainS), num: q.drainS !== null }],
    [
      { text: `slope of the last ${fmtNum(q.slope.windowS)} s of the load`, cls: q.slope.growing ? 'fail' : '' },
      num(q.slope.perS === null ? 'n/a' : `${fmtNum(q.slope.perS, 2)} messages/s${q.slope.growing ? ' (growing)' : ' (not growing)'}`),
    ],
    ['after the load', num(`${q.afterLoad.drained ? 'empty' : 'not empty'} after ${fmtDuration(q.afterLoad.sampledS)} (bound ${fmtDuration(q.afterLoad.boundS)})`)],
  ];
  const body = `${table(['figure', { label: 'value', num: true }], rows)}
<p class="muted">Sampled once a second from the broker. ${esc(q.source)}.</p>
${chart ? chartBlock(chart, '') : ''}`;
  return section('queue', `Queue backlog (${q.queue})`, body);
}

function tiers(r: Results, charts: ChartSpec[]): string {
  const names = Object.keys(r.tiers).sort();
  const tables =
    names.length === 0
      ? empty('This phase reported no per-tier figures.')
      : `<div class="grid2">${names
          .map((tier) => {
            const rows = Object.entries(r.tiers[tier]!).map(([k, v]): Cell[] => [k, num(fmtValue(v))]);
            return `<div><h3>${esc(tier)}</h3>${table(['figure', { label: 'value', num: true }], rows)}</div>`;
          })
          .join('\n')}</div>`;
  const legend = faultLegend(r);
  const promCharts =
    charts.length === 0
      ? empty('No Prometheus series were collected for this run.')
      : charts.map((c) => chartBlock(c, legend)).join('\n');
  return section('tiers', 'Tiers', `${tables}\n<h3>From Prometheus</h3>\n${promCharts}`);
}

function topology(r: Results): string {
  const t = r.topology;
  const hostRows = t.hosts.map((h): Cell[] => [
    h.name,
    h.region,
    { text: h.ip, cls: 'mono' },
    num(fmtNum(h.cpus)),
    num(`${fmtCount(h.memoryMb)} MB`),
    h.sizeEnforced === undefined ? '—' : h.sizeEnforced ? 'yes' : { text: 'no (nominal)', cls: 'fail' },
    t.services
      .filter((s) => s.host === h.name)
      .map((s) => s.name)
      .join(', '),
  ]);
  const serviceRows = t.services.map((s): Cell[] => [s.name, s.kind, s.role, s.host, { text: s.address, cls: 'mono' }]);
  const edgeRows = t.edges.map((e): Cell[] => {
    const ends = parseEdgeName(e.name);
    return [e.name, ends?.[0] ?? '', ends?.[1] ?? '', e.proxied ? 'through Toxiproxy' : 'direct'];
  });
  return section(
    'topology',
    'Topology',
    `<div class="topology-wrap">${renderTopologySvg(t)}</div>
<p class="muted">Boxes are hosts (address, CPU and memory size) with their services; lines are network edges between hosts, solid through Toxiproxy, dashed direct.</p>
<div class="grid2"><div><h3>Hosts</h3>${table(['host', 'region', 'address', { label: 'CPU', num: true }, { label: 'memory', num: true }, 'enforced', 'services'], hostRows)}</div>
<div><h3>Services</h3>${table(['service', 'kind', 'role', 'host', 'address'], serviceRows)}</div></div>
<h3>Edges</h3>${edgeRows.length ? table(['edge', 'from', 'to', 'path'], edgeRows) : empty('No edges.')}`,
  );
}

function traffic(r: Results): string {
  const m = r.trafficModel;
  const rows: Cell[][] = [
    ['users', num(fmtCount(m.users))],
    ['daily active share', num(fmtPct(m.dailyActiveShare))],
    ['requests per active user per day', num(fmtNum(m.requestsPerActiveUserPerDay))],
    ['peak to average', num(`${fmtNum(m.peakToAverage)}×`)],
    ['average rate', num(fmtRps(m.averageRps))],
    ['peak rate', num(fmtRps(m.peakRps))],
    [`machine cap (${capLabel(m.machineCapSource)})`, num(fmtRps(m.machineCapRps))],
    ['target rate planned', num(fmtRps(m.targetRps))],
    [{ text: 'scale factor planned', cls: m.scaleFactor < 1 ? 'fail' : '' }, num(fmtNum(m.scaleFactor, 3))],
    [
      { text: 'scale factor achieved (completed ÷ modelled)', cls: m.achievedScaleFactor != null && m.achievedScaleFactor < m.scaleFactor * 0.99 ? 'fail' : '' },
      num(m.achievedScaleFactor == null ? 'n/a' : fmtNum(m.achievedScaleFactor, 3)),
    ],
    ['rate overridden by --rate', m.overridden ? 'yes' : 'no'],
  ];
  const stages = r.load.stages.map((s, i): Cell[] => [String(i + 1), num(fmtDuration(s.durationS)), num(fmtRps(s.targetRate))]);
  return section(
    'traffic',
    'Traffic model',
    `<div class="grid2"><div>${table(['', { label: 'value', num: true }], rows)}</div>
<div><h3>Derivation</h3><ul class="derivation">${m.derivation.map((d) => `<li>${esc(d)}</li>`).join('')}</ul>
<h3>Stages</h3>${stages.length ? table(['stage', { label: 'duration', num: true }, { label: 'target rate', num: true }], stages) : empty('No stages.')}</div></div>`,
  );
}

function endpoints(r: Results): string {
  const eps = Object.entries(r.load.endpoints).sort((a, b) => b[1].requests - a[1].requests);
  const epTable =
    eps.length === 0
      ? empty('No requests were recorded per endpoint.')
      : table(
          [
            'endpoint',
            { label: 'requests', num: true },
            { label: 'errors', num: true },
            { label: 'error rate', num: true },
            { label: 'p50', num: true },
            { label: 'p95', num: true },
            { label: 'p99', num: true },
            { label: 'p99.9', num: true },
            { label: 'max', num: true },
          ],
          eps.map(([name, e]) => [
            { text: name, cls: 'mono' },
            num(fmtCount(e.requests)),
            num(fmtCount(e.errors)),
            num(fmtPct(e.requests > 0 ? e.errors / e.requests : 0)),
            num(fmtMs(e.latencyMs.p50)),
            num(fmtMs(e.latencyMs.p95)),
            num(fmtMs(e.latencyMs.p99)),
            num(fmtMs(e.latencyMs.p999)),
            num(fmtMs(e.latencyMs.max)),
          ]),
        );
  const total = r.load.totals.requests || 1;
  const codes = Object.entries(r.load.statusCodes).sort((a, b) => a[0].localeCompare(b[0]));
  const kinds = Object.entries(r.load.errorKinds).sort((a, b) => b[1] - a[1]);
  return section(
    'endpoints',
    'Endpoints, status codes and errors',
    `${epTable}
<div class="grid2"><div><h3>Status codes</h3>${
      codes.length
        ? table(['status', { label: 'responses', num: true }, { label: 'share', num: true }], codes.map(([k, v]) => [k, num(fmtCount(v)), num(fmtPct(v / total))]), (i) =>
            /^[45]/.test(codes[i]![0]) ? 'fail' : '',
          )
        : empty('None recorded.')
    }</div>
<div><h3>Error kinds</h3>${kinds.length ? table(['kind', { label: 'count', num: true }], kinds.map(([k, v]) => [k, num(fmtCount(v))])) : empty('No errors.')}</div></div>`,
  );
}

function runSection(r: Results): string {
  const c = r.config;
  const timings = Object.entries(r.timings);
  const longest = Math.max(1e-9, ...timings.map(([, v]) => v));
  const timingRows = timings.map(([step, s]): Cell[] => [
    step,
    num(fmtDuration(s)),
    { text: '', html: `<span class="bar" style="width:${Math.max(1, Math.round((s / longest) * 160))}px"></span>` },
  ]);
  // the phase's declared options as results.json records them; older results carry three fixed ones
  const optionRows = (cfg: typeof c): Cell[][] =>
    Object.entries(cfg.options ?? { appServers: cfg.appServers, replicas: cfg.replicas, shards: cfg.shards })
      .filter(([, v]) => v !== undefined)
      .map(([name, v]) => [name.replace(/[A-Z]/g, (ch) => ` ${ch.toLowerCase()}`), String(v)]);
  const config: Cell[][] = [
    ['phase', String(c.phase)],
    ['users', fmtCount(c.users)],
    ['duration', fmtDuration(c.durationS)],
    ['rate', c.rate === null ? 'from the traffic model' : fmtRps(c.rate)],
    ['seed', String(c.seed)],
    ['runtime', c.runtime],
    ...optionRows(c),
    ['chaos', c.chaos.length ? c.chaos.join(', ') : 'none'],
  ];
  const g = r.load.generator;
  const generator: Cell[][] = [
    ['driver', r.load.driver],
    ['saturated', g.saturated ? 'yes' : 'no'],
    ['max schedule lag', num(fmtMs(g.maxLagMs))],
    ['peak memory', num(`${fmtNum(g.peakRssMb, 1)} MB`)],
  ];
  const notes = r.notes.length ? `<ul>${r.notes.map((n) => `<li>${esc(n)}</li>`).join('')}</ul>` : empty('No notes.');
  return section(
    'run',
    'The run',
    `<div class="grid2"><div><h3>Configuration</h3>${table(['setting', 'value'], config)}</div>
<div><h3>Timings</h3>${timingRows.length ? table(['step', { label: 'took', num: true }, ''], timingRows) : empty('No timings.')}
<h3>Load generator</h3>${table(['', { label: 'value', num: true }], generator)}</div></div>
<h3>Notes</h3>${notes}`,
  );
}

/** Partial results and the warm-up, said at the top: they change how every figure below reads. */
function lifecycleWarnings(r: Results): string[] {
  const out: string[] = [];
  if (r.partial) {
    out.push(
      r.verdict === 'interrupted'
        ? 'Partial results: the run was interrupted; the figures cover the load until then, and the servers\' view was not collected.'
        : 'Partial results: written when the load ended, before collection and teardown; the run did not get to write its final results.',
    );
  }
  if (r.warmup) {
    out.push(
      `A ${fmtDuration(r.warmup.durationS)} warm-up (${fmtCount(r.warmup.totals.requests)} requests, p99 ${fmtMs(r.warmup.latencyMs.p99)}) ran before the measured load: shaded grey at negative times on the charts, excluded from every figure, objective and comparison.`,
    );
  }
  return out;
}

/** How far the warm-up's seconds are moved before t=0: its length, or past its last point (the
 *  engine's last second can hold the drain of its in-flight requests), so none meets t=0. */
function warmupShift(w: NonNullable<Results['warmup']>): number {
  return Math.max(w.durationS, ...w.series.map((p) => p.t + 1));
}

/** The load charts' input with the warm-up's seconds put before the measured load's (t < 0). */
function withWarmupSeries(r: Results): Results {
  if (!r.warmup || r.warmup.series.length === 0) return r;
  const shift = warmupShift(r.warmup);
  return { ...r, load: { ...r.load, series: [...r.warmup.series.map((p) => ({ ...p, t: p.t - shift })), ...r.load.series] } };
}

/** Renders the whole report.html for one run; pure apart from reading the inlined assets. */
export function renderHtml(results: Results): string {
  const a = assets();
  const timeCharts = loadCharts(withWarmupSeries(results));
  const promCharts = prometheusCharts(results);
  const backlogChart = queueChart(results);
  const chartData = {
    charts: [...timeCharts, ...(backlogChart ? [backlogChart] : []), ...promCharts],
    durationS: results.load.durationS,
    faults: [
      ...(results.warmup ? [{ label: 'warm-up (not measured)', startS: -warmupShift(results.warmup), endS: 0, kind: 'warmup' }] : []),
      ...results.faults.map((f) => ({ label: faultLabel(f), startS: f.startS, endS: f.endS })),
      ...(results.config.burst ? [burstWindow(results.config.burst)] : []),
    ],
  };
  const title = `bench ${runTitle(results)} — ${results.verdict.toUpperCase()} — ${results.runId}`;
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="${esc(`${results.tool.name} ${results.tool.version}`)}">
<title>${esc(title)}</title>
<style>${inlineSafe(a.uplotCss, 'style')}</style>
<style>${inlineSafe(a.css, 'style')}</style>
</head>
<body>
<main>
${header(results)}
${results.capacity ? capacitySectionHtml(results.capacity) : ''}
${section('figures', 'Key figures', keyFigures(results))}
${overTime(results, timeCharts)}
${verdicts(results)}
${results.load.regions ? section('regions', 'Regions', regionsSectionHtml(results)) : ''}
${queueSectionHtml(results, backlogChart)}
${tiers(results, promCharts)}
${topology(results)}
${traffic(results)}
${endpoints(results)}
${runSection(results)}
<footer>Written by ${esc(results.tool.name)} ${esc(results.tool.version)} from results.json (schema ${esc(results.schemaVersion)}), embedded below as #bench-results.</footer>
</main>
<script type="application/json" id="bench-results">${jsonForScript(results)}</script>
<script type="application/json" id="bench-charts">${jsonForScript(chartData)}</script>
<script>${inlineSafe(a.uplotJs, 'script')}</script>
<script>${inlineSafe(a.js, 'script')}</script>
</body>
</html>
`;
}
