// The capacity parts of the HTML reports, drawn as inline SVG (no JS library, like topology.ts):
// the rate-vs-latency curve of a search (p50 and p99 of each firm step, the knee, the sustainable
// rate and its margin), the section report.html shows for `bench capacity`, and the ladder's own
// report.html (bars per phase, each rung's curve). Deterministic: the same data, the same picture.
import { readFileSync } from 'node:fs';
import type { CapacitySection, CapacityStep, LadderJson, SaturatedFirst } from './capacity-schema.ts';
import { escapeHtml as esc, inlineSafe, jsonForScript } from './html-escape.ts';
import { fmtDuration, fmtMs, fmtNum, fmtPct, fmtRps } from './format.ts';
import { capacityAnswerMarkdown, throttledCell } from './capacity-markdown.ts';

const W = 720;
const H = 320;
const PAD = { left: 64, right: 20, top: 40, bottom: 46 };
const GREEN = '#2ca02c';
const RED = '#d62728';
const GREY = '#9aa1ab';
const ORANGE = '#ff7f0e';
const BLUE = '#1f77b4';

/** What the curve needs of a search: its steps and, when known, the answer to mark. */
export interface CurveInput {
  steps: readonly CapacityStep[];
  sustainableRate: number | null;
  marginRate: number | null;
  knee: { rate: number; p99Ms: number } | null;
  /** the objective's p99 bound in ms, drawn as a line; null when the objective has none */
  p99LimitMs?: number | null;
}

/** A latency on the log axis; a step with no p99 is drawn on the axis floor. */
const logOf = (ms: number) => Math.log10(Math.max(ms, 0.1));

/** Round tick values of a linear axis from 0 to max. */
function linearTicks(max: number): number[] {
  const raw = max / 5;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? raw;
  const out: number[] = [];
  for (let v = 0; v <= max + 1e-9; v += step) out.push(Math.round(v * 1000) / 1000);
  return out;
}

/**
 * The rate-vs-latency curve as an <svg class="capacity-curve">: x the offered rate, y latency on a
 * log scale. Lines join the search's firm steps by rate (p50 green, p99 red); every step is a
 * marker (filled: pass, cross: fail, hollow grey: inconclusive, never part of the lines; a
 * confirmation is a diamond). The sustainable rate is a green dashed line with its margin shaded,
 * the knee an orange ring.
 */
export function renderCapacityCurveSvg(c: CurveInput, id = 'capacity-curve'): string {
  const steps = c.steps;
  const firm = steps.filter((s) => s.verdict !== 'inconclusive');
  const rates = steps.map((s) => s.rate);
  const xMax = Math.max(1, ...rates, (c.sustainableRate ?? 0) + (c.marginRate ?? 0)) * 1.08;
  const lat = steps.flatMap((s) => [s.latencyMs.p50, s.latencyMs.p99]).filter((v): v is number => typeof v === 'number' && v > 0);
  if (c.p99LimitMs) lat.push(c.p99LimitMs);
  const yLo = Math.floor(logOf(Math.min(1, ...lat)));
  const yHi = Math.max(yLo + 1, Math.ceil(logOf(Math.max(10, ...lat))));
  const px = (rate: number) => PAD.left + (rate / xMax) * (W - PAD.left - PAD.right);
  const py = (ms: number) => H - PAD.bottom - ((logOf(ms) - yLo) / (yHi - yLo)) * (H - PAD.top - PAD.bottom);
  const floorY = H - PAD.bottom;
  const parts: string[] = [];
  // axes and grid
  for (let e = yLo; e <= yHi; e++) {
    const v = 10 ** e;
    const y = py(v);
    parts.push(`<line x1="${PAD.left}" y1="${y}" x2="${W - PAD.right}" y2="${y}" stroke="#eef0f3"/>`);
    parts.push(`<text x="${PAD.left - 6}" y="${y + 4}" text-anchor="end" class="tick">${esc(v >= 1000 ? `${v / 1000} s` : `${v} ms`)}</text>`);
  }
  for (const t of linearTicks(xMax / 1.08)) {
    const x = px(t);
    parts.push(`<line x1="${x}" y1="${floorY}" x2="${x}" y2="${floorY + 4}" stroke="#888"/>`);
    parts.push(`<text x="${x}" y="${floorY + 17}" text-anchor="middle" class="tick">${esc(fmtNum(t, 0))}</text>`);
  }
  parts.push(`<line x1="${PAD.left}" y1="${floorY}" x2="${W - PAD.right}" y2="${floorY}" stroke="#888"/>`);
  parts.push(`<line x1="${PAD.left}" y1="${PAD.top}" x2="${PAD.left}" y2="${floorY}" stroke="#888"/>`);
  parts.push(`<text x="${(PAD.left + W - PAD.right) / 2}" y="${H - 8}" text-anchor="middle" class="axis">offered rate (req/s)</text>`);
  parts.push(`<text x="14" y="${(PAD.top + floorY) / 2}" text-anchor="middle" class="axis" transform="rotate(-90 14 ${(PAD.top + floorY) / 2})">latency (ms, log)</text>`);
  // the sustainable rate and its margin
  if (c.sustainableRate !== null) {
    const x = px(c.sustainableRate);
    if (c.marginRate !== null && c.marginRate > 0) {
      parts.push(`<rect class="margin" x="${x}" y="${PAD.top}" width="${px(c.sustainableRate + c.marginRate) - x}" height="${floorY - PAD.top}" fill="${GREEN}" fill-opacity="0.10"/>`);
    }
    parts.push(`<line class="sustainable" x1="${x}" y1="${PAD.top}" x2="${x}" y2="${floorY}" stroke="${GREEN}" stroke-width="2" stroke-dasharray="6 4"/>`);
    parts.push(`<text x="${x + 4}" y="${PAD.top + 12}" class="label" fill="${GREEN}">sustainable ${esc(fmtNum(c.sustainableRate, 0))} req/s</text>`);
  }
  if (c.p99LimitMs) {
    const y = py(c.p99LimitMs);
    parts.push(`<line class="objective" x1="${PAD.left}" y1="${y}" x2="${W - PAD.right}" y2="${y}" stroke="${RED}" stroke-opacity="0.5" stroke-dasharray="3 3"/>`);
    parts.push(`<text x="${W - PAD.right - 4}" y="${y - 4}" text-anchor="end" class="label" fill="${RED}">objective p99 ${esc(fmtMs(c.p99LimitMs))}</text>`);
  }
  // lines through the firm search steps (a confirmation holds longer: it is a marker, not the line)
  const line = (key: 'p50' | 'p99', color: string) => {
    const pts = firm
      .filter((s) => s.phase !== 'confirm' && typeof s.latencyMs[key] === 'number')
      .sort((a, b) => a.rate - b.rate)
      .map((s) => `${px(s.rate).toFixed(1)},${py(s.latencyMs[key]!).toFixed(1)}`);
    return pts.length > 1 ? `<polyline class="line-${key}" points="${pts.join(' ')}" fill="none" stroke="${color}" stroke-width="1.8"/>` : '';
  };
  parts.push(line('p50', GREEN), line('p99', RED));
  for (const s of steps) {
    const title = `<title>step ${s.index} (${esc(s.phase)}): ${esc(fmtRps(s.rate))} — ${esc(s.verdict.toUpperCase())}; p50 ${esc(fmtMs(s.latencyMs.p50))}, p99 ${esc(fmtMs(s.latencyMs.p99))}, errors ${esc(fmtPct(s.errorRate))}; ${esc(s.reason)}</title>`;
    const x = px(s.rate);
    if (typeof s.latencyMs.p50 === 'number' && s.verdict !== 'inconclusive') parts.push(`<circle cx="${x}" cy="${py(s.latencyMs.p50)}" r="2.5" fill="${GREEN}"/>`);
    const y = typeof s.latencyMs.p99 === 'number' ? py(s.latencyMs.p99) : floorY;
    parts.push(`<g class="step ${s.verdict}" data-step="${s.index}">${title}${marker(s, x, y)}</g>`);
  }
  if (c.knee) {
    const x = px(c.knee.rate);
    const y = py(c.knee.p99Ms);
    parts.push(`<circle class="knee" cx="${x}" cy="${y}" r="9" fill="none" stroke="${ORANGE}" stroke-width="2.5"/>`);
    parts.push(`<text x="${x + 12}" y="${y + 16}" class="label" fill="${ORANGE}">knee ${esc(fmtNum(c.knee.rate, 0))} req/s</text>`);
  }
  // above the plot, each item as wide as its label (about 6 px a character at 11 px)
  let lx = PAD.left;
  const legend = [
    [GREEN, 'p50'],
    [RED, 'p99 (filled: pass, ×: fail, ◇: confirmation)'],
    [GREY, 'inconclusive (hollow, not counted)'],
    [ORANGE, 'knee'],
  ]
    .map(([col, label]) => {
      const g = `<g transform="translate(${lx},8)"><rect width="10" height="10" fill="${col}"/><text x="14" y="9" class="tick">${esc(label)}</text></g>`;
      lx += 30 + label!.length * 6;
      return g;
    })
    .join('');
  return `<svg id="${esc(id)}" class="capacity-curve" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" role="img" aria-label="rate versus latency of the capacity search">
<style>.capacity-curve .tick{font:11px system-ui,sans-serif;fill:#5d6675}.capacity-curve .axis{font:12px system-ui,sans-serif;fill:#1d2330}.capacity-curve .label{font:bold 11px system-ui,sans-serif}</style>
${parts.join('\n')}
${legend}
</svg>`;
}

/** A step's p99 marker: filled circle (pass), cross (fail), hollow grey circle (inconclusive); a diamond for a confirmation. */
function marker(s: CapacityStep, x: number, y: number): string {
  if (s.verdict === 'inconclusive') return `<circle cx="${x}" cy="${y}" r="5" fill="#fff" stroke="${GREY}" stroke-width="2"/>`;
  const col = RED;
  if (s.phase === 'confirm') {
    const d = 6;
    return `<path d="M${x} ${y - d}L${x + d} ${y}L${x} ${y + d}L${x - d} ${y}Z" fill="${s.verdict === 'pass' ? col : '#fff'}" stroke="${col}" stroke-width="2"/>`;
  }
  if (s.verdict === 'fail') return `<path d="M${x - 5} ${y - 5}L${x + 5} ${y + 5}M${x - 5} ${y + 5}L${x + 5} ${y - 5}" stroke="${col}" stroke-width="2.5"/>`;
  return `<circle cx="${x}" cy="${y}" r="4.5" fill="${col}"/>`;
}

/** The objective's p99 bound in ms, read from its normal form (`p99<250ms,errors<1%`). */
export function p99LimitOf(objective: string): number | null {
  const m = /(?:^|,)p99<=?(\d+(?:\.\d+)?)(ms|s)(?:,|$)/.exec(objective.replace(/\s+/g, ''));
  return m ? Number(m[1]) * (m[2] === 's' ? 1000 : 1) : null;
}

/** One sentence: the answer of a search (summary.md's, without its emphasis). */
export function capacityAnswerText(c: Parameters<typeof capacityAnswerMarkdown>[0], confirmS: number): string {
  return capacityAnswerMarkdown(c, confirmS).replace(/\*\*/g, '');
}

export function saturatedText(s: SaturatedFirst | undefined): string {
  if (s === undefined) return 'not recorded';
  return s.host !== null ? `${s.host}, throttled at its CPU quota in ${fmtPct(s.throttledShare)} of its periods at ${fmtRps(s.atRate)}` : `not found (${s.reason})`;
}

/** The steps as an HTML table (escaped). */
export function stepsTableHtml(steps: readonly CapacityStep[]): string {
  const rows = steps
    .map((s) => {
      const cells = [
        String(s.index),
        s.phase,
        fmtNum(s.rate, 0),
        s.achievedRate === null ? 'n/a' : fmtNum(s.achievedRate, 1),
        fmtMs(s.latencyMs.p50),
        fmtMs(s.latencyMs.p99),
        fmtPct(s.errorRate),
        String(s.dropped),
      ];
      const verdict = `<span class="badge ${s.verdict}">${esc(s.verdict)}</span> <span class="muted">${esc(s.reason)}</span>`;
      return `<tr class="${s.verdict === 'fail' ? 'fail' : ''}">${cells.map((c, i) => `<td${i === 1 ? '' : ' class="num"'}>${esc(c)}</td>`).join('')}<td>${verdict}</td><td>${esc(throttledCell(s.throttling))}</td></tr>`;
    })
    .join('\n');
  const heads = ['step', 'phase', 'rate (req/s)', 'done (req/s)', 'p50', 'p99', 'errors (with dropped)', 'dropped', 'verdict', 'most throttled host'];
  return `<table class="capacity-steps"><thead><tr>${heads.map((h) => `<th>${esc(h)}</th>`).join('')}</tr></thead><tbody>\n${rows}\n</tbody></table>`;
}

/** report.html's capacity section (id "capacity") for the results of `bench capacity`. */
export function capacitySectionHtml(c: CapacitySection): string {
  const knee = c.knee ? `${fmtRps(c.knee.rate)} (p99 ${fmtMs(c.knee.p99Ms)})` : 'not found (too few firm steps, or no bend)';
  const facts = [
    ['sustainable rate', capacityAnswerText(c, c.settings.confirmS)],
    ['knee of the curve', knee],
    ['saturated first', saturatedText(c.saturatedFirst)],
    ['objective', c.settings.objective],
    ['search', `${c.steps.length} steps in ${fmtDuration(c.elapsedMs / 1000)}, stopped by ${c.stoppedBy}; each step settles ${c.settings.settleS} s and holds ${c.settings.holdS} s (confirm ${c.settings.confirmS} s)`],
    ['the load sections below', c.loadStep === null ? 'no rate held: empty' : `step ${c.loadStep}'s whole drive (settle included)`],
  ]
    .map(([k, v]) => `<tr><th>${esc(k)}</th><td id="capacity-${esc(k!.replace(/\s+/g, '-'))}">${esc(v)}</td></tr>`)
    .join('\n');
  const notes = c.notes.length ? `<ul>${c.notes.map((n) => `<li>${esc(n)}</li>`).join('')}</ul>` : '';
  return `<section id="capacity">
<h2>Capacity</h2>
<table class="capacity-facts">${facts}</table>
<div class="capacity-wrap">${renderCapacityCurveSvg({ steps: c.steps, sustainableRate: c.sustainableRate, marginRate: c.marginRate, knee: c.knee, p99LimitMs: p99LimitOf(c.settings.objective) })}</div>
<p class="muted">Each step's figures are its hold window's, merged from per-second HDR histograms. An inconclusive step (the generator was the limit, a figure unmeasured, sizes not enforced) is drawn hollow and is never a capacity.</p>
<h3>Steps</h3>
${stepsTableHtml(c.steps)}
${notes}
</section>`;
}

const BAR_H = 300;

/** The ladder's bars: sustainable rate per phase (margin lighter, a lower bound open at the top), factor over the previous. */
export function renderLadderBarsSvg(j: LadderJson): string {
  const n = Math.max(1, j.rungs.length);
  const bw = 90;
  const gap = 50;
  const left = 64;
  const width = left + n * (bw + gap) + 20;
  const top = 30;
  const bottom = 56;
  const max = Math.max(1, ...j.rungs.map((r) => (r.sustainableRate ?? 0) + (r.marginRate ?? 0))) * 1.1;
  const py = (v: number) => BAR_H - bottom - (v / max) * (BAR_H - top - bottom);
  const parts: string[] = [];
  for (const t of linearTicks(max / 1.1)) {
    parts.push(`<line x1="${left}" y1="${py(t)}" x2="${width - 20}" y2="${py(t)}" stroke="#eef0f3"/><text x="${left - 6}" y="${py(t) + 4}" text-anchor="end" class="tick">${esc(fmtNum(t, 0))}</text>`);
  }
  j.rungs.forEach((r, i) => {
    const x = left + gap / 2 + i * (bw + gap);
    const v = r.sustainableRate;
    if (v !== null) {
      if (r.marginRate) parts.push(`<rect class="margin" x="${x}" y="${py(v + r.marginRate)}" width="${bw}" height="${py(v) - py(v + r.marginRate)}" fill="${BLUE}" fill-opacity="0.25"/>`);
      parts.push(`<rect class="ladder-bar${r.lowerBound ? ' lower-bound' : ''}" data-phase="${r.phase}" x="${x}" y="${py(v)}" width="${bw}" height="${py(0) - py(v)}" fill="${BLUE}"${r.lowerBound ? ' fill-opacity="0.6"' : ''}/>`);
      parts.push(`<text x="${x + bw / 2}" y="${py(v + (r.marginRate ?? 0)) - 6}" text-anchor="middle" class="label">${r.lowerBound ? '≥ ' : ''}${esc(fmtNum(v, 0))}</text>`);
    } else {
      parts.push(`<text class="label no-rate" x="${x + bw / 2}" y="${py(0) - 8}" text-anchor="middle" fill="${RED}">${esc(r.outcome)}</text>`);
    }
    parts.push(`<text x="${x + bw / 2}" y="${BAR_H - bottom + 16}" text-anchor="middle" class="axis">phase ${r.phase}</text>`);
    parts.push(`<text x="${x + bw / 2}" y="${BAR_H - bottom + 32}" text-anchor="middle" class="tick">${r.factor === null ? '' : `${esc(r.factor.toFixed(2))}x · `}${r.ratePerCore === null ? '' : `${esc(fmtNum(r.ratePerCore, 0))}/core`}</text>`);
  });
  parts.push(`<line x1="${left}" y1="${py(0)}" x2="${width - 20}" y2="${py(0)}" stroke="#888"/>`);
  parts.push(`<text x="14" y="${(top + BAR_H - bottom) / 2}" text-anchor="middle" class="axis" transform="rotate(-90 14 ${(top + BAR_H - bottom) / 2})">sustainable req/s</text>`);
  return `<svg id="ladder-bars" class="ladder-bars" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${width} ${BAR_H}" width="${width}" height="${BAR_H}" role="img" aria-label="sustainable rate per phase">
<style>.ladder-bars .tick{font:11px system-ui,sans-serif;fill:#5d6675}.ladder-bars .axis{font:12px system-ui,sans-serif;fill:#1d2330}.ladder-bars .label{font:bold 12px system-ui,sans-serif;fill:#1d2330}.ladder-bars .no-rate{fill:#d62728}</style>
${parts.join('\n')}
</svg>`;
}

/** The ladder's own report.html: bars, the table, each rung's curve; self-contained, no script but the data. */
export function renderLadderHtml(j: LadderJson): string {
  const css = readFileSync(new URL('./assets/report.css', import.meta.url), 'utf8');
  const head = ['phase', 'topology', 'sustainable (req/s)', 'factor', 'CPU cores', 'req/s per core', `p99 at ${j.commonRate === null ? 'a common rate' : fmtRps(j.commonRate)}`, 'saturated first', 'outcome', 'time'];
  const rows = j.rungs
    .map((r) =>
      [
        String(r.phase),
        r.title,
        r.sustainableRate === null ? 'n/a' : `${r.lowerBound ? '≥ ' : ''}${fmtNum(r.sustainableRate, 0)}${r.marginRate !== null ? ` (+${fmtNum(r.marginRate, 0)})` : ''}`,
        r.factor === null ? '—' : `${r.factor.toFixed(2)}x`,
        fmtNum(r.cores, 2),
        r.ratePerCore === null ? 'n/a' : fmtNum(r.ratePerCore, 1),
        fmtMs(r.p99AtCommonMs),
        saturatedText(r.saturatedFirst),
        `${r.outcome}${r.confirmed ? ', confirmed' : ''}${r.sizesEnforced ? '' : ', sizes NOT enforced'}`,
        fmtDuration(r.totalS),
      ],
    )
    .map((cells) => `<tr>${cells.map((c) => `<td>${esc(c)}</td>`).join('')}</tr>`)
    .join('\n');
  const curves = j.rungs
    .map(
      (r) => `<h3>Phase ${r.phase}: ${esc(r.title)} <span class="muted">(run <code>${esc(r.runId)}</code>)</span></h3>
${r.steps && r.steps.length > 0 ? renderCapacityCurveSvg({ steps: r.steps, sustainableRate: r.sustainableRate, marginRate: r.marginRate, knee: r.knee ?? null, p99LimitMs: p99LimitOf(j.objective) }, `curve-phase-${r.phase}`) : '<p class="muted">This ladder did not record the steps.</p>'}`,
    )
    .join('\n');
  const notes = j.notes.length ? `<h2>Notes</h2><ul>${j.notes.map((n) => `<li>${esc(n)}</li>`).join('')}</ul>` : '';
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(`bench ladder — phases ${j.phases.join(', ')}`)}</title>
<style>${inlineSafe(css, 'style')}</style>
</head>
<body>
<main>
<header class="run"><h1>bench · capacity ladder, phases ${esc(j.phases.join(', '))}</h1>
<div class="meta"><span>objective <code>${esc(j.objective)}</code></span> <span>${esc(j.workload)} workload</span> <span>${esc(fmtNum(j.users, 0))} users</span>${j.quick ? ' <span>--quick</span>' : ''} <span>${esc(j.startedAt)}</span></div></header>
<section id="ladder"><h2>Sustainable rate per phase</h2>
${renderLadderBarsSvg(j)}
<p class="muted">Bars: the sustainable rate (lighter: the margin up to the lowest rate that failed; pale: a lower bound). Under each bar: the factor over the previous phase and the rate per CPU core of the topology (the harness's own control host left out).</p>
<table class="ladder"><thead><tr>${head.map((h) => `<th>${esc(h)}</th>`).join('')}</tr></thead><tbody>
${rows}
</tbody></table></section>
<section id="curves"><h2>Rate vs latency, per phase</h2>
${curves}</section>
${notes}
</main>
<script type="application/json" id="bench-ladder">${jsonForScript(j)}</script>
</body>
</html>
`;
}
