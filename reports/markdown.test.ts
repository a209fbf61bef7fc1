import { describe, expect, it } from 'vitest';
import { mdCell, mdTable, renderMarkdown } from './markdown.ts';
import { buildResults } from './testing/fixture.ts';

describe('renderMarkdown', () => {
  const r = buildResults();
  const md = renderMarkdown(r);
  const lines = md.split('\n');

  it('starts with the verdict line and names what failed', () => {
    expect(lines[0]).toBe('### ❌ bench phase 3 — Load balancer + read replicas: **FAIL**');
    expect(md).toContain('Failed: objective "error rate".');
    expect(md).toContain('Run `r-20250314-092653-p3` · 2025-03-14 09:26:53 UTC · 50,000 users');
  });

  it('has a key figures table', () => {
    const i = lines.indexOf('| throughput | p50 | p95 | p99 | p99.9 | max | error rate | failed share (with dropped) | requests | errors | dropped | stale keep-alive |');
    expect(i).toBeGreaterThan(0);
    expect(lines[i + 1]).toBe('| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
    // the failed share counts the 15 dropped as not served: (26 + 15) / (23,178 + 15)
    expect(lines[i + 2]).toMatch(/^\| 386 req\/s \| 4\.3 ms \| 14\.1 ms \| 42\.1 ms \| 185 ms \| 611 ms \| 0\.11% \| 0\.18% \| 23,\d{3} \| 26 \| 15 \| 3 \|$/);
  });

  it('says INCONCLUSIVE with its reason, for the run and for a drill', () => {
    const r = buildResults();
    r.verdict = 'inconclusive';
    r.verdictReason = 'no request completed: nothing about the system was measured';
    r.drills[0]!.pass = false;
    r.drills[0]!.verdict = 'inconclusive';
    const m = renderMarkdown(r);
    expect(m.split('\n')[0]).toBe('### ⚠️ bench phase 3 — Load balancer + read replicas: **INCONCLUSIVE**');
    expect(m).toContain('Inconclusive: no request completed: nothing about the system was measured.');
    expect(m).toMatch(/\| app-server-kill \|.*\| ⚠️ inconclusive \|/);
    expect(m).toContain('app-server-kill: why it was inconclusive');
  });

  it('has objectives and drills tables with pass/fail marks', () => {
    expect(md).toContain('| p99 latency | p99 &lt; 100 ms | 100 | 42.1 | ✅ pass |');
    expect(md).toContain('| error rate | error rate &lt; 0.1% | 0.001 | 0.0011 | ❌ fail |');
    expect(md).toContain('| app-server-kill | 1 s | 9.5 s | 26 | 24.8 ms → 182 ms | 0 of 1,840 | ✅ pass |');
    expect(md).toContain('Faults: kill app-2 20–30 s.');
  });

  it('notes the scale factor: full, or scaled down with a warning', () => {
    expect(md).toContain('Scale factor 1: the full modelled peak (400 req/s) was driven.');
    const scaled = renderMarkdown(buildResults({ scaleFactor: 0.25 }));
    expect(scaled).toContain('Scale factor 0.25: 400 req/s driven against a 1,600 req/s modelled peak.');
    expect(scaled).toMatch(/^> ⚠️ Scaled-down load: this run drove 400 req\/s, 25% of the 1,600 req\/s peak/m);
  });

  it('explains a failed drill with its reasons', () => {
    const f = buildResults();
    f.drills[0]!.pass = false;
    f.drills[0]!.reasons = ['3 acknowledged writes lost'];
    const out = renderMarkdown(f);
    expect(out).toContain('| ❌ fail |');
    expect(out).toContain('<details><summary>app-server-kill: why it failed</summary>\n\n- 3 acknowledged writes lost');
  });

  it('a passing run without drills has no drills table', () => {
    const p = buildResults({ fault: null });
    const out = renderMarkdown(p);
    expect(out.split('\n')[0]).toBe('### ✅ bench phase 3 — Load balancer + read replicas: **PASS**');
    expect(out).not.toContain('**Drills**');
    expect(out).not.toContain('Failed:');
  });
});

describe('mdCell / mdTable', () => {
  it('escapes what would break a table or turn into HTML', () => {
    expect(mdCell('a|b')).toBe('a\\|b');
    expect(mdCell('<script>')).toBe('&lt;script&gt;');
    expect(mdCell('line1\nline2')).toBe('line1 line2');
    expect(mdCell('back\\slash')).toBe('back\\\\slash');
  });

  it('keeps one cell per column whatever the content', () => {
    const t = mdTable(['a', 'b'], [['x|y', 'z\nw']]);
    const row = t.split('\n')[2]!;
    expect(row.split(/(?<!\\)\|/).length - 2).toBe(2);
  });
});
