// The per-region section of the reports: a table per client region with before/during where a
// region drill measured them, the traffic-shift curves, one line per figure in summary.md, and
// nothing at all for a run without client regions.
import { describe, expect, it } from 'vitest';
import { LatencyHistogram } from '../harness/load/histogram.ts';
import type { RegionSecond } from '../harness/run/results.ts';
import { renderHtml } from './html.ts';
import { renderMarkdown } from './markdown.ts';
import { regionFigureLines, shiftCurveSvg } from './regions-section.ts';
import { Results } from './schema.ts';
import { buildResults } from './testing/fixture.ts';

const hdr = (ms: number) => {
  const h = new LatencyHistogram(2);
  h.recordMs(ms);
  return h.encode();
};

/** eu dies at 20 s: its clients fail for 3 s, then us-east serves them. */
function withRegions(): Results {
  const r = buildResults();
  const sec = (t: number, own: string, failed: boolean): RegionSecond => {
    if (!failed) return { t, ok: { [own]: 10 }, errors: 0, hdr: hdr(10) };
    if (t >= 20 && t < 23) return { t, ok: {}, errors: 10, hdr: null };
    return { t, ok: { [t >= 23 && t < 30 ? 'us-east' : own]: 10 }, errors: 0, hdr: hdr(80) };
  };
  const region = (name: string) => ({
    source: '127.0.0.1',
    requests: 600,
    errors: name === 'eu' ? 30 : 0,
    latencyMs: { p50: 10, p90: 20, p95: 30, p99: 80, p999: 90, max: 100, mean: 12 },
    dns: { queries: 3, failures: 0, changes: [] },
    seconds: Array.from({ length: 60 }, (_, t) => sec(t, name, name === 'eu')),
  });
  r.load.regions = { 'us-east': region('us-east'), eu: region('eu') };
  r.drills[0]!.figures = {
    ...r.drills[0]!.figures,
    failedRegion: 'eu',
    leaderRegionAtFault: 'eu',
    regionDownAtS: 20.1,
    patroniFailoverS: 9.7,
    shiftTimeS: 2.9,
    firstSurvivorSuccessS: 2.9,
    rtoS: null,
    rpoLostWrites: 2,
    rpoAgeMs: 340,
    'lagP50Ms.eu->us-east': 0,
    'lagP99Ms.eu->us-east': 12,
    'lagMaxMs.eu->us-east': 12,
    'lagMaxBytes.eu->us-east': 4096,
    'lagSamples.eu->us-east': 14,
    'p50BeforeMs.eu': 10,
    'p99BeforeMs.eu': 11,
    'p50DuringMs.eu': 80,
    'p99DuringMs.eu': 81,
  };
  return Results.parse(r);
}

describe('regions section', () => {
  it('report.html: a row per client region with before/during, and the shift curves, all clients and the failed region\'s', () => {
    const html = renderHtml(withRegions());
    expect(html.match(/<section id="regions">/g)).toHaveLength(1);
    expect(html).toContain('href="#regions"');
    expect(html).toContain('<tr><td>eu</td><td class="num">600</td><td class="num">30 (5%)</td><td class="num">10 ms / 80 ms</td><td class="num">10 ms / 11 ms</td><td class="num">80 ms / 81 ms</td></tr>');
    expect(html).toContain('id="shift-all"');
    expect(html).toContain('id="shift-failed"');
    expect(html).toContain('RTO (error rate &lt; 1% and p99 inside the objective for the rest of the outage): not recovered during the outage');
  });

  it('summary.md: the client regions\' table and one line per figure', () => {
    const md = renderMarkdown(withRegions());
    expect(md).toContain('**Client regions**');
    expect(md).toMatch(/\| eu \| 600 \| 30 \| .* \| 10 ms \/ 11 ms \| 80 ms \/ 81 ms \|/);
    expect(md).toContain("- Shift time (≥ 95% of eu's clients' requests served by survivors): 2.9 s");
    expect(md).toContain('- RPO: 2 acknowledged writes lost, the oldest acknowledged 340 ms before the fault');
    expect(md).toContain('- Replication lag eu->us-east before the fault: p50 0 ms, p99 12 ms, max 12 ms (max 4,096 bytes), of 14 samples');
  });

  it('absent without client regions', () => {
    const r = buildResults();
    expect(renderHtml(r)).not.toContain('id="regions"');
    expect(renderMarkdown(r)).not.toContain('Client regions');
  });

  it('a figure not measured says so, never 0', () => {
    const lines = regionFigureLines({ failedRegion: 'eu', regionDownAtS: 3, shiftTimeS: null, rpoLostWrites: 0, rpoAgeMs: null, failbackS: null });
    expect(lines).toContain("Shift time (≥ 95% of eu's clients' requests served by survivors): never during the outage");
    expect(lines).toContain('RPO: 0 acknowledged writes lost');
    expect(lines).toContain("Failback (eu's clients answered by it again): not before the load ended");
  });

  it('lost writes all acknowledged after the fault began are said so, not "a negative age before"', () => {
    const lines = regionFigureLines({ failedRegion: 'eu', regionDownAtS: 3, rpoLostWrites: 28, rpoAgeMs: -13_700 });
    expect(lines.find((l) => l.startsWith('RPO:'))).toBe('RPO: 28 acknowledged writes lost, every one acknowledged after the fault began (the oldest 13.7 s after)');
  });

  it('the curve stacks each second to its completed share, failures on top', () => {
    const svg = shiftCurveSvg('c', [{ t: 0, share: { a: 0.5, b: 0.25 }, failed: 0.25 }], ['a', 'b'], { startS: 0, endS: 1 }, 'x');
    const polys = [...svg.matchAll(/<polygon[^>]*points="([^"]+)"/g)].map((m) => m[1]!.split(' ').map((p) => Number(p.split(',')[1])));
    expect(polys).toHaveLength(3);
    // the top of the last band is the chart's 100% line
    expect(Math.min(...polys[2]!)).toBe(8);
  });
});
