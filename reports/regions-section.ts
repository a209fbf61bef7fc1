// The report's per-region section (phase 7, a load with client regions): a table per client
// region (requests, errors, p50/p99 over the run, and before and during the fault where a region
// drill measured them from the seconds' histograms), the traffic-shift curve as an inline SVG
// (each second's completed requests stacked by the region that served them, failures on top), and
// for summary.md one line per region figure. Pure: everything comes from results.json.
import type { Results } from './schema.ts';
import { fmtCount, fmtDuration, fmtMs, fmtNum, fmtPct } from './format.ts';
import { escapeHtml as esc } from './html-escape.ts';
import { PALETTE } from './charts.ts';
import { mergeServed, shiftCurve, type ShiftPoint } from '../targets/regions/figures.ts';

type Regions = NonNullable<Results['load']['regions']>;
type Figures = Results['drills'][number]['figures'];

/** The first drill's figures that name a failed region (a region drill), or null. */
function regionDrill(r: Results): Figures | null {
  return r.drills.find((d) => typeof d.figures.failedRegion === 'string')?.figures ?? null;
}

const numOf = (f: Figures | null, k: string): number | null => {
  const v = f?.[k];
  return typeof v === 'number' ? v : null;
};

const FAILED_COLOR = '#d62728';

/** The shift curve as <svg class="shift-curve">: stacked shares per second, the outage shaded. */
export function shiftCurveSvg(id: string, points: readonly ShiftPoint[], regions: readonly string[], outage: { startS: number; endS: number | null } | null, label: string): string {
  const W = 720;
  const H = 180;
  const L = 36;
  const B = 20;
  const maxT = Math.max(1, ...points.map((p) => p.t + 1));
  const x = (t: number) => L + (t / maxT) * (W - L - 8);
  const y = (share: number) => H - B - share * (H - B - 8);
  const f = (n: number) => n.toFixed(1);
  const bands = [...regions.map((r, i) => ({ name: r, color: PALETTE[i % PALETTE.length]!, of: (p: ShiftPoint) => p.share[r] ?? 0 })), { name: 'failed', color: FAILED_COLOR, of: (p: ShiftPoint) => p.failed }];
  const base = points.map(() => 0);
  const polys: string[] = [];
  for (const b of bands) {
    const top = points.map((p, i) => base[i]! + b.of(p));
    // each second is a step from t to t+1
    const upper = points.flatMap((p, i) => [`${f(x(p.t))},${f(y(top[i]!))}`, `${f(x(p.t + 1))},${f(y(top[i]!))}`]);
    const lower = points.map((p, i) => [`${f(x(p.t))},${f(y(base[i]!))}`, `${f(x(p.t + 1))},${f(y(base[i]!))}`]).reverse().flatMap(([a, c]) => [c!, a!]);
    if (points.length > 0) polys.push(`<polygon fill="${b.color}" fill-opacity="0.85" points="${[...upper, ...lower].join(' ')}"><title>${esc(b.name)}</title></polygon>`);
    top.forEach((v, i) => (base[i] = v));
  }
  const shade = outage ? `<rect class="fault" x="${f(x(outage.startS))}" y="8" width="${f(Math.max(1, x(outage.endS ?? maxT) - x(outage.startS)))}" height="${H - B - 8}" fill="#000" fill-opacity="0.08"><title>region down</title></rect>` : '';
  const ticks = [0, 0.5, 1].map((s) => `<text x="${L - 4}" y="${f(y(s) + 4)}" text-anchor="end" font-size="10">${s * 100}%</text>`).join('');
  const step = maxT > 60 ? 20 : 10;
  const xt = Array.from({ length: Math.floor(maxT / step) + 1 }, (_, i) => i * step).map((t) => `<text x="${f(x(t))}" y="${H - 6}" text-anchor="middle" font-size="10">${t} s</text>`).join('');
  const legend = bands.map((b) => `<span style="color:${b.color}">■</span> ${esc(b.name)}`).join(' ');
  return `<figure class="shift-curve"><svg id="${esc(id)}" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" role="img" aria-label="${esc(label)}">
${shade}${polys.join('\n')}${ticks}${xt}
</svg><figcaption>${esc(label)}: ${legend}</figcaption></figure>`;
}

/** One row per client region: requests, errors, run p50/p99, and before/during from the drill. Pure. */
export function regionRows(regions: Regions, drill: Figures | null): Array<{ name: string; requests: number; errors: number; p50: number | null; p99: number | null; before: [number | null, number | null] | null; during: [number | null, number | null] | null }> {
  const has = drill !== null && Object.keys(drill).some((k) => k.startsWith('p99BeforeMs.'));
  return Object.entries(regions).map(([name, x]) => ({
    name,
    requests: x.requests,
    errors: x.errors,
    p50: x.latencyMs?.p50 ?? null,
    p99: x.latencyMs?.p99 ?? null,
    before: has ? [numOf(drill, `p50BeforeMs.${name}`), numOf(drill, `p99BeforeMs.${name}`)] : null,
    during: has ? [numOf(drill, `p50DuringMs.${name}`), numOf(drill, `p99DuringMs.${name}`)] : null,
  }));
}

/** The serving regions named in the load's seconds, in a stable order. */
function servingRegions(regions: Regions): string[] {
  const names = new Set<string>(Object.keys(regions));
  for (const x of Object.values(regions)) for (const s of x.seconds ?? []) for (const k of Object.keys(s.ok)) names.add(k);
  return [...names].sort();
}

/** The section's body (html.ts wraps it as #regions); '' when the load had no client regions. */
export function regionsSectionHtml(r: Results): string {
  const regions = r.load.regions;
  if (!regions) return '';
  const drill = regionDrill(r);
  const rows = regionRows(regions, drill);
  const pair = (x: [number | null, number | null] | null) => (x === null ? '' : `<td class="num">${esc(fmtMs(x[0]))} / ${esc(fmtMs(x[1]))}</td>`);
  const withWindows = rows.some((x) => x.before !== null);
  const head = `<tr><th>client region</th><th class="num">requests</th><th class="num">errors</th><th class="num">p50 / p99 (run)</th>${withWindows ? '<th class="num">p50 / p99 before the fault</th><th class="num">p50 / p99 during the outage</th>' : ''}</tr>`;
  const body = rows
    .map((x) => `<tr><td>${esc(x.name)}</td><td class="num">${esc(fmtCount(x.requests))}</td><td class="num">${esc(fmtCount(x.errors))} (${esc(fmtPct(x.requests > 0 ? x.errors / x.requests : null))})</td><td class="num">${esc(fmtMs(x.p50))} / ${esc(fmtMs(x.p99))}</td>${pair(x.before)}${pair(x.during)}</tr>`)
    .join('\n');
  const counted = Object.values(regions).some((x) => x.seconds);
  const serving = servingRegions(regions);
  const down = numOf(drill, 'regionDownAtS');
  const fault = r.faults[0];
  const outage = down !== null ? { startS: down, endS: fault?.endS ?? null } : fault ? { startS: fault.startS, endS: fault.endS } : null;
  const charts: string[] = [];
  if (counted) {
    charts.push(shiftCurveSvg('shift-all', shiftCurve(mergeServed(Object.values(regions).map((x) => x.seconds ?? []))), serving, outage, 'every client region\'s completed requests by serving region, per second'));
    const failed = drill?.failedRegion;
    const mine = typeof failed === 'string' ? regions[failed]?.seconds : undefined;
    if (typeof failed === 'string' && mine) charts.push(shiftCurveSvg('shift-failed', shiftCurve(mine), serving, outage, `${failed}'s clients' completed requests by serving region, per second (the traffic shift)`));
  }
  const lines = drill ? regionFigureLines(drill) : [];
  return `<table><thead>${head}</thead><tbody>
${body}
</tbody></table>
${lines.length > 0 ? `<ul class="region-figures">${lines.map((l) => `<li>${esc(l)}</li>`).join('')}</ul>` : ''}
${counted ? charts.join('\n') : '<p class="muted">These results carry no per-second counts by serving region: no traffic-shift curve.</p>'}`;
}

const secs = (v: number | null, never: string) => (v === null ? never : fmtDuration(v));

/** One line per region figure a region drill reported (absent figures say why). Pure. */
export function regionFigureLines(f: Figures): string[] {
  const out: string[] = [];
  const failed = String(f.failedRegion);
  const n = (k: string) => numOf(f, k);
  out.push(`Region down: ${failed} at ${fmtNum(n('regionDownAtS') ?? 0, 3)} s (leader in ${String(f.leaderRegionAtFault ?? 'no region')})`);
  if ('patroniFailoverS' in f) out.push(`Patroni failover: ${n('patroniFailoverS') === null ? 'none (the leader was elsewhere)' : fmtDuration(n('patroniFailoverS')!)}`);
  if ('dnsFlipS' in f) out.push(`Geo DNS flip: ${secs(n('dnsFlipS'), 'never')}`);
  if ('dnsConvergenceS' in f) out.push(`DNS convergence of ${failed}'s clients: ${secs(n('dnsConvergenceS'), 'not measured')}`);
  if ('firstSurvivorSuccessS' in f) out.push(`First success of ${failed}'s clients in a surviving region: ${secs(n('firstSurvivorSuccessS'), 'none')}`);
  if ('shiftTimeS' in f) out.push(`Shift time (≥ 95% of ${failed}'s clients' requests served by survivors): ${secs(n('shiftTimeS'), 'never during the outage')}`);
  if ('rtoS' in f) out.push(`RTO (error rate < 1% and p99 inside the objective for the rest of the outage): ${secs(n('rtoS'), 'not recovered during the outage')}`);
  if ('rpoLostWrites' in f) out.push(`RPO: ${fmtCount(n('rpoLostWrites') ?? 0)} acknowledged writes lost${n('rpoAgeMs') === null ? '' : (n('rpoAgeMs')! >= 0 ? `, the oldest acknowledged ${fmtMs(n('rpoAgeMs'))} before the fault` : `, every one acknowledged after the fault began (the oldest ${fmtMs(-n('rpoAgeMs')!)} after)`)}`);
  for (const k of Object.keys(f).filter((x) => x.startsWith('lagSamples.'))) {
    const pair = k.slice('lagSamples.'.length);
    out.push(`Replication lag ${pair} before the fault: p50 ${fmtMs(n(`lagP50Ms.${pair}`))}, p99 ${fmtMs(n(`lagP99Ms.${pair}`))}, max ${fmtMs(n(`lagMaxMs.${pair}`))} (max ${fmtCount(n(`lagMaxBytes.${pair}`) ?? 0)} bytes), of ${fmtCount(n(k) ?? 0)} samples`);
  }
  if ('failbackS' in f) out.push(`Failback (${failed}'s clients answered by it again): ${secs(n('failbackS'), 'not before the load ended')}`);
  return out;
}

/** summary.md's lines: the client regions' table and one line per region figure; [] without regions. */
export function regionsMarkdown(r: Results, table: (headers: string[], rows: string[][], align: Array<'l' | 'r'>) => string): string[] {
  const regions = r.load.regions;
  if (!regions) return [];
  const drill = regionDrill(r);
  const rows = regionRows(regions, drill);
  const withWindows = rows.some((x) => x.before !== null);
  const pp = (x: [number | null, number | null]) => `${fmtMs(x[0])} / ${fmtMs(x[1])}`;
  const out = [
    '**Client regions**',
    '',
    table(
      ['client region', 'requests', 'errors', 'p50 / p99', ...(withWindows ? ['before the fault', 'during the outage'] : [])],
      rows.map((x) => [x.name, fmtCount(x.requests), fmtCount(x.errors), pp([x.p50, x.p99]), ...(withWindows ? [pp(x.before!), pp(x.during!)] : [])]),
      ['l', 'r', 'r', 'r', ...(withWindows ? (['r', 'r'] as const) : [])],
    ),
  ];
  if (drill) out.push('', ...regionFigureLines(drill).map((l) => `- ${l}`));
  return out;
}
