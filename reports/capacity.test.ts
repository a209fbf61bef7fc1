// The capacity parts of the reports: the schema (results.json's capacity section, ladder.json),
// the inline SVG curve and bars, summary.md's tables, and the capacity gate of `bench compare`.
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { CapacitySection, LadderJson } from './capacity-schema.ts';
import { Results } from './schema.ts';
import { capacityResults, capacitySection, capacitySteps, ladderJson, scaleJson } from './testing/capacity-fixture.ts';
import { renderScaleHtml, renderScaleSvg } from './capacity-scale-html.ts';
import { ScaleJson } from './capacity-schema.ts';
import { buildResults } from './testing/fixture.ts';
import { p99LimitOf, renderCapacityCurveSvg, renderLadderBarsSvg, renderLadderHtml } from './capacity-html.ts';
import { renderHtml } from './html.ts';
import { renderMarkdown } from './markdown.ts';
import { capacityOf, compareCapacity, ladderDoc, resultsDoc } from './capacity-compare.ts';

describe('capacity schema', () => {
  it('accepts a capacity search\'s results and a ladder, and a plain run\'s results without a section', () => {
    expect(Results.safeParse(capacityResults()).success).toBe(true);
    expect(LadderJson.safeParse(ladderJson()).success).toBe(true);
    expect(Results.parse(buildResults()).capacity).toBeUndefined();
  });

  it('refuses a step without a verdict, an unknown outcome, and a missing rate (not measured is null, stated)', () => {
    const s = capacitySection();
    expect(CapacitySection.safeParse({ ...s, outcome: 'maybe' }).success).toBe(false);
    const steps = capacitySteps();
    const { verdict: _v, ...noVerdict } = steps[0]!;
    expect(CapacitySection.safeParse({ ...s, steps: [noVerdict] }).success).toBe(false);
    expect(CapacitySection.safeParse({ ...s, sustainableRate: null }).success).toBe(true);
    expect(CapacitySection.safeParse({ ...s, sustainableRate: undefined }).success).toBe(false);
  });

  it('reads what a real ladder wrote (before the rungs carried their steps)', () => {
    const stored = JSON.parse(readFileSync(new URL('./testing/ladder-2026-12-03.json', import.meta.url), 'utf8'));
    const parsed = LadderJson.parse(stored);
    expect(parsed.rungs.map((r) => r.sustainableRate)).toEqual([375, 350]);
  });
});

describe('the rate-vs-latency curve', () => {
  const svg = renderCapacityCurveSvg({ steps: capacitySteps(), sustainableRate: 375, marginRate: 75, knee: { rate: 450, p99Ms: 56.1 }, p99LimitMs: 250 });

  it('marks every step by its verdict, the knee, the sustainable rate with its margin and the objective', () => {
    expect(svg.match(/<g class="step pass"/g)).toHaveLength(5);
    expect(svg.match(/<g class="step fail"/g)).toHaveLength(3);
    expect(svg.match(/<g class="step inconclusive"/g)).toHaveLength(1);
    expect(svg).toContain('class="knee"');
    expect(svg).toContain('knee 450 req/s');
    expect(svg).toContain('sustainable 375 req/s');
    expect(svg).toContain('class="margin"');
    expect(svg).toContain('objective p99 250 ms');
  });

  it('never draws an inconclusive step into the lines', () => {
    const p99 = /<polyline class="line-p99" points="([^"]+)"/.exec(svg)![1]!.split(' ');
    // the search steps that judged the system: 100, 200, 400, 450, 500, 800 (600 was inconclusive, confirmations are markers)
    expect(p99).toHaveLength(6);
    const inconclusiveX = /<g class="step inconclusive" data-step="5">.*?<circle cx="([\d.]+)"/s.exec(svg)![1]!;
    expect(p99.some((pt) => pt.startsWith(`${Number(inconclusiveX).toFixed(1)},`))).toBe(false);
  });

  it('draws no knee, sustainable line or margin it was not given, and escapes the reasons', () => {
    const steps = capacitySteps();
    steps[0]!.reason = '<script>alert(1)</script>';
    const bare = renderCapacityCurveSvg({ steps, sustainableRate: null, marginRate: null, knee: null });
    expect(bare).not.toContain('class="knee"');
    expect(bare).not.toContain('class="sustainable"');
    expect(bare).not.toContain('class="margin"');
    expect(bare).not.toContain('<script>');
    expect(bare).toContain('&lt;script&gt;');
  });

  it('reads the p99 bound of an objective, and nothing else', () => {
    expect(p99LimitOf('p99<250ms,errors<1%')).toBe(250);
    expect(p99LimitOf('errors<1%,p99<=1.5s')).toBe(1500);
    expect(p99LimitOf('p999<250ms,errors<1%')).toBeNull();
  });
});

describe('report.html and summary.md of a capacity search', () => {
  it('report.html has the capacity section first, with the curve and the steps; a plain run has none', () => {
    const html = renderHtml(capacityResults());
    expect(html).toContain('<section id="capacity">');
    expect(html.indexOf('id="capacity"')).toBeLessThan(html.indexOf('id="figures"'));
    expect(html).toContain('375 req/s sustained (+75 req/s margin: the limit lies below 450 req/s), confirmed by a 8 s hold');
    expect(html).toContain('app-host, throttled at its CPU quota in 100% of its periods at 450 req/s');
    expect(renderHtml(buildResults())).not.toContain('<section id="capacity">');
  });

  it('summary.md gives the answer, the knee, the saturated host and every step as a table', () => {
    const md = renderMarkdown(capacityResults());
    expect(md).toContain('Sustainable rate: **375 req/s** sustained (+75 req/s margin');
    expect(md).toContain('Knee of the curve: 450 req/s (p99 56.1 ms).');
    expect(md).toContain('| 5 | bisect | 600 | 636 | 585.7 | 4980.7 | 41.64% | INCONCLUSIVE (the generator was the limit) | app-host 99% |');
    expect(md).toContain("The load figures below are step 9's whole drive (settle included).");
    expect(renderMarkdown(buildResults())).not.toContain('**Capacity**');
  });
});

describe('the ladder report', () => {
  it('draws one bar per phase with its factor and rate per core, a lower bound marked', () => {
    const j = ladderJson(375, 700);
    j.rungs[1]!.lowerBound = true;
    const svg = renderLadderBarsSvg(j);
    expect(svg.match(/<rect class="ladder-bar/g)).toHaveLength(2);
    expect(svg).toContain('class="ladder-bar lower-bound" data-phase="3"');
    expect(svg).toContain('≥ 700');
    expect(svg).toContain('1.87x · 269/core');
  });

  it('shows a phase without a rate as its outcome, never as a bar of 0', () => {
    const svg = renderLadderBarsSvg(ladderJson(375, null));
    expect(svg.match(/<rect class="ladder-bar/g)).toHaveLength(1);
    expect(svg).toContain('>none</text>');
  });

  it('is one self-contained page: bars, table, a curve per phase, the data embedded', () => {
    const html = renderLadderHtml(ladderJson());
    expect(html).toContain('id="ladder-bars"');
    expect(html).toContain('id="curve-phase-2"');
    expect(html).toContain('id="curve-phase-3"');
    expect(html).toContain('<script type="application/json" id="bench-ladder">');
    expect(html).not.toMatch(/<script src=|<link /);
  });
});

describe('the capacity gate', () => {
  it('only a found or bounded rate is a capacity', () => {
    expect(capacityOf({ outcome: 'found', rate: 300 })).toBe(300);
    expect(capacityOf({ outcome: 'at-least', rate: 300 })).toBe(300);
    expect(capacityOf({ outcome: 'inconclusive', rate: 300 })).toBeNull();
    expect(capacityOf({ outcome: 'unconfirmed', rate: 300 })).toBeNull();
  });

  it('passes within the gate, fails beyond it, and fails a phase the head did not measure', () => {
    const base = ladderDoc(ladderJson(400, 800));
    expect(compareCapacity(base, ladderDoc(ladderJson(370, 800)), 10).failures).toEqual([]);
    expect(compareCapacity(base, ladderDoc(ladderJson(350, 800)), 10).failures).toEqual(['phase 2: capacity dropped 12.5% (400 → 350 req/s), more than the 10% gate']);
    const head = ladderJson(400, 800);
    head.rungs.pop();
    expect(compareCapacity(base, ladderDoc(head), 10).failures).toEqual(['phase 3: the head did not measure it (base 800 req/s)']);
  });

  it('does not gate a phase the base has no capacity for, and says so', () => {
    const got = compareCapacity(ladderDoc(ladderJson(null, 800)), ladderDoc(ladderJson(100, 800)), 10);
    expect(got.failures).toEqual([]);
    expect(got.rows[0]!.status).toBe('info');
    expect(got.warnings[0]).toContain('phase 2: the base found no capacity');
  });

  it('refuses unenforced sizes (exit 3) unless allowed, and phases with nothing in common (exit 2)', () => {
    const j = ladderJson();
    j.rungs[0]!.sizesEnforced = false;
    expect(() => compareCapacity(ladderDoc(j), ladderDoc(ladderJson()), 10)).toThrow(expect.objectContaining({ code: 'environment' }));
    expect(compareCapacity(ladderDoc(j), ladderDoc(ladderJson()), 10, true).failures).toEqual([]);
    const phase2 = resultsDoc(capacityResults())!;
    const other = resultsDoc({ ...capacityResults(), config: { ...capacityResults().config, phase: 5 } })!;
    expect(() => compareCapacity(phase2, other, 10)).toThrow(expect.objectContaining({ code: 'usage' }));
  });
});

describe('the scale report', () => {
  it('draws each value\'s rate over the fitted USL curve, N* marked, a lower bound hollow', () => {
    const j = scaleJson('app-servers');
    expect(ScaleJson.safeParse(JSON.parse(JSON.stringify(j))).success).toBe(true);
    const svg = renderScaleSvg(j);
    expect(svg.match(/<g class="point/g)).toHaveLength(4);
    expect(svg.match(/<g class="point lower-bound"/g)).toHaveLength(1);
    expect(svg).toContain('class="usl-fit"');
    // λ=300, σ=0.1, κ=0.02: N* = sqrt(0.9/0.02) ≈ 6.7, past 4 but within twice it: drawn
    expect(j.usl!.peakN!).toBeGreaterThan(5);
    expect(svg).toMatch(/N\* = 6\.\d/);
    const html = renderScaleHtml(j);
    expect(html).toContain('Adding units stops paying near N = 6.');
    expect(html).toContain('σ (contention)');
  });

  it('draws no curve for a size dimension, and says why', () => {
    const j = scaleJson('db-cpu');
    expect(j.usl).toBeNull();
    const html = renderScaleHtml(j);
    expect(html).not.toContain('class="usl-fit"');
    expect(html).toContain('No USL fit: the USL is a law of unit counts; db-cpu is a size.');
  });
});
