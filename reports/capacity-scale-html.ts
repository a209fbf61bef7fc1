// The report.html of `bench capacity --scale`: the sustainable rate at each value of the dimension
// (a margin as a bar above it, a lower bound hollow), over the fitted Universal Scalability Law
// curve when the dimension is a count, with N* (where adding units stops paying) marked; then the
// table and the fit's parameters with their bootstrap intervals. Inline SVG, no script.
import { readFileSync } from 'node:fs';
import type { ScaleJson } from './capacity-schema.ts';
import { escapeHtml as esc, inlineSafe, jsonForScript } from './html-escape.ts';
import { fmtDuration, fmtMs, fmtNum } from './format.ts';
import { uslThroughput } from '../harness/capacity/usl.ts';

const W = 720;
const H = 340;
const PAD = { left: 64, right: 24, top: 24, bottom: 46 };
const BLUE = '#1f77b4';
const ORANGE = '#ff7f0e';

/** Round tick values from 0 to max (five or so). */
function ticks(max: number): number[] {
  const raw = max / 5;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? raw;
  const out: number[] = [];
  for (let v = 0; v <= max + 1e-9; v += step) out.push(Math.round(v * 1000) / 1000);
  return out;
}

/** The measurements over the fitted curve, as <svg id="scale-curve">. */
export function renderScaleSvg(j: ScaleJson): string {
  const u = j.usl;
  const maxValue = Math.max(...j.values);
  // show the peak when it lies a little past the measurements, never an extrapolation far out
  const xMax = u?.peakN != null && u.peakN > maxValue && u.peakN < maxValue * 2 ? u.peakN * 1.1 : maxValue * 1.1;
  const curve = u ? Array.from({ length: 61 }, (_, i) => ((i + 1) / 61) * xMax).filter((n) => n >= Math.min(1, ...j.values)) : [];
  const yVals = [...j.points.map((p) => (p.sustainableRate ?? 0) + (p.marginRate ?? 0)), ...(u ? curve.map((n) => uslThroughput(u, n)) : [])];
  const yMax = Math.max(1, ...yVals) * 1.1;
  const px = (v: number) => PAD.left + (v / xMax) * (W - PAD.left - PAD.right);
  const py = (r: number) => H - PAD.bottom - (r / yMax) * (H - PAD.top - PAD.bottom);
  const parts: string[] = [];
  for (const t of ticks(yMax / 1.1)) parts.push(`<line x1="${PAD.left}" y1="${py(t)}" x2="${W - PAD.right}" y2="${py(t)}" stroke="#eef0f3"/><text x="${PAD.left - 6}" y="${py(t) + 4}" text-anchor="end" class="tick">${esc(fmtNum(t, 0))}</text>`);
  for (const v of j.values) parts.push(`<text x="${px(v)}" y="${H - PAD.bottom + 16}" text-anchor="middle" class="tick">${esc(fmtNum(v, 2))}</text>`);
  parts.push(`<line x1="${PAD.left}" y1="${py(0)}" x2="${W - PAD.right}" y2="${py(0)}" stroke="#888"/><line x1="${PAD.left}" y1="${PAD.top}" x2="${PAD.left}" y2="${py(0)}" stroke="#888"/>`);
  parts.push(`<text x="${(PAD.left + W - PAD.right) / 2}" y="${H - 8}" text-anchor="middle" class="axis">${esc(j.dimension)}</text>`);
  parts.push(`<text x="14" y="${(PAD.top + py(0)) / 2}" text-anchor="middle" class="axis" transform="rotate(-90 14 ${(PAD.top + py(0)) / 2})">sustainable req/s</text>`);
  if (u) {
    parts.push(`<polyline class="usl-fit" points="${curve.map((n) => `${px(n).toFixed(1)},${py(uslThroughput(u, n)).toFixed(1)}`).join(' ')}" fill="none" stroke="${ORANGE}" stroke-width="2" stroke-dasharray="6 3"/>`);
    if (u.peakN !== null && u.peakN <= xMax) {
      parts.push(`<line class="peak" x1="${px(u.peakN)}" y1="${PAD.top}" x2="${px(u.peakN)}" y2="${py(0)}" stroke="${ORANGE}" stroke-dasharray="2 3"/>`);
      parts.push(`<text x="${px(u.peakN) + 4}" y="${PAD.top + 12}" class="label" fill="${ORANGE}">N* = ${esc(fmtNum(u.peakN, 1))}</text>`);
    }
  }
  for (const p of j.points) {
    const x = px(p.value);
    const title = `<title>${esc(j.dimension)}=${esc(p.value)}: ${p.sustainableRate === null ? esc(p.outcome) : `${p.lowerBound ? '≥ ' : ''}${esc(fmtNum(p.sustainableRate, 0))} req/s`}</title>`;
    if (p.sustainableRate === null) {
      parts.push(`<g class="point none">${title}<text x="${x}" y="${py(0) - 6}" text-anchor="middle" class="label" fill="#d62728">${esc(p.outcome)}</text></g>`);
      continue;
    }
    const y = py(p.sustainableRate);
    const margin = p.marginRate ? `<line x1="${x}" y1="${y}" x2="${x}" y2="${py(p.sustainableRate + p.marginRate)}" stroke="${BLUE}" stroke-opacity="0.4" stroke-width="6"/>` : '';
    parts.push(`<g class="point${p.lowerBound ? ' lower-bound' : ''}">${title}${margin}<circle cx="${x}" cy="${y}" r="5" fill="${p.lowerBound ? '#fff' : BLUE}" stroke="${BLUE}" stroke-width="2"/></g>`);
  }
  return `<svg id="scale-curve" class="scale-curve" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" role="img" aria-label="sustainable rate by ${esc(j.dimension)}">
<style>.scale-curve .tick{font:11px system-ui,sans-serif;fill:#5d6675}.scale-curve .axis{font:12px system-ui,sans-serif;fill:#1d2330}.scale-curve .label{font:bold 11px system-ui,sans-serif}</style>
${parts.join('\n')}
</svg>`;
}

const iv = (i: { low: number | null; high: number | null }, digits: number) =>
  `[${i.low === null || !Number.isFinite(i.low) ? '−∞' : i.low.toFixed(digits)}, ${i.high === null || !Number.isFinite(i.high) ? '∞' : i.high.toFixed(digits)}]`;

/** The whole report.html of a scale. */
export function renderScaleHtml(j: ScaleJson): string {
  const css = readFileSync(new URL('./assets/report.css', import.meta.url), 'utf8');
  const rows = j.points
    .map((p) =>
      [
        fmtNum(p.value, 2),
        p.sustainableRate === null ? 'n/a' : `${p.lowerBound ? '≥ ' : ''}${fmtNum(p.sustainableRate, 0)}`,
        p.marginRate === null ? 'n/a' : `+${fmtNum(p.marginRate, 0)}`,
        fmtMs(p.p99AtSustainableMs),
        `${p.outcome}${p.confirmed ? ', confirmed' : ''}`,
        String(p.steps),
        fmtDuration(p.elapsedS),
        p.runId,
      ],
    )
    .map((c) => `<tr>${c.map((x) => `<td>${esc(x)}</td>`).join('')}</tr>`)
    .join('\n');
  const u = j.usl;
  const fit = u
    ? `<h2>Universal Scalability Law</h2>
<p>X(N) = λN / (1 + σ(N−1) + κN(N−1)), fitted to the sustainable rates: R² = ${esc(u.rSquared.toFixed(3))}. ${
        u.peakN === null ? `Adding units never lowers the throughput in this fit; it approaches ${esc(fmtNum(u.peakThroughput ?? NaN, 0))} req/s.` : `Adding units stops paying near N = ${esc(u.peakN.toFixed(1))}.`
      }</p>
<table class="usl"><thead><tr><th>parameter</th><th>estimate</th><th>${u.intervals ? `${Math.round(u.intervals.level * 100)}% interval (bootstrap, ${u.intervals.replicates} replicates)` : 'interval'}</th></tr></thead><tbody>
<tr><td>λ (req/s per unit)</td><td>${esc(u.lambda.toFixed(1))}</td><td>${esc(u.intervals ? iv(u.intervals.lambda, 1) : 'n/a (fewer than 4 points)')}</td></tr>
<tr><td>σ (contention)</td><td>${esc(u.sigma.toFixed(4))}</td><td>${esc(u.intervals ? iv(u.intervals.sigma, 4) : 'n/a')}</td></tr>
<tr><td>κ (coherency)</td><td>${esc(u.kappa.toExponential(2))}</td><td>${esc(u.intervals ? iv(u.intervals.kappa, 6) : 'n/a')}</td></tr>
<tr><td>N* (peak)</td><td>${esc(u.peakN === null ? 'none (κ = 0)' : u.peakN.toFixed(1))}</td><td>${esc(u.intervals && u.peakN !== null ? iv(u.intervals.peakN, 1) : 'n/a')}</td></tr>
<tr><td>X(N*) (req/s)</td><td>${esc(u.peakThroughput === null ? 'n/a' : fmtNum(u.peakThroughput, 0))}</td><td>${esc(u.intervals && u.peakThroughput !== null ? iv(u.intervals.peakThroughput, 0) : 'n/a')}</td></tr>
</tbody></table>${u.note ? `<p class="muted">Note: ${esc(u.note)}.</p>` : ''}`
    : `<p class="muted">No USL fit: ${esc(j.uslSkipped ?? 'not fitted')}.</p>`;
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(`bench capacity — phase ${j.phase} by ${j.dimension}`)}</title>
<style>${inlineSafe(css, 'style')}</style>
</head>
<body>
<main>
<header class="run"><h1>bench · capacity of phase ${esc(j.phase)} by ${esc(j.dimension)}</h1>
<div class="meta"><span>objective <code>${esc(j.objective)}</code></span> <span>one search per value, each on its own deployment</span></div></header>
<section id="scale"><h2>Sustainable rate by ${esc(j.dimension)}</h2>
${renderScaleSvg(j)}
<p class="muted">Dots: the sustainable rate of each search (hollow: a lower bound; the bar above: the margin up to the lowest rate that failed). ${u ? 'Dashed: the fitted USL curve; dotted: N*.' : ''}</p>
<table><thead><tr>${[j.dimension, 'sustainable (req/s)', 'margin', 'p99 there', 'outcome', 'steps', 'search', 'run'].map((h) => `<th>${esc(h)}</th>`).join('')}</tr></thead><tbody>
${rows}
</tbody></table>
${fit}
</section>
</main>
<script type="application/json" id="bench-scale">${jsonForScript(j)}</script>
</body>
</html>
`;
}
