import { describe, expect, it } from 'vitest';
import { escapeXml, renderJunit } from './junit.ts';
import { buildResults } from './testing/fixture.ts';
import { checkXml } from './testing/xml.ts';

describe('renderJunit', () => {
  const xml = renderJunit(buildResults());

  it('is well-formed: one suite, a case per objective and drill plus the verdict', () => {
    const { problems, counts } = checkXml(xml);
    expect(problems).toEqual([]);
    expect(counts.testsuites).toBe(1);
    expect(counts.testsuite).toBe(1);
    expect(counts.testcase).toBe(2 + 1 + 1);
    expect(counts.failure).toBe(2);
    expect(xml).toMatch(/<testsuite name="bench phase 3 — Load balancer \+ read replicas \(r-20250314-092653-p3\)" tests="4" failures="2"/);
  });

  it('fails the missed objective with its figures and passes the met one', () => {
    expect(xml).toContain(
      '<testcase classname="bench.phase3.objectives" name="error rate" time="0">\n' +
        '      <failure message="error rate missed: error rate &lt; 0.1%: actual 0.0011, threshold 0.001" type="objective">',
    );
    expect(xml).toMatch(/name="p99 latency" time="0">\n\s+<system-out>/);
  });

  it('fails a drill with its reasons and figures', () => {
    const r = buildResults();
    r.drills[0]!.pass = false;
    r.drills[0]!.reasons = ['3 acknowledged writes lost', 'recovered in 41 s (limit 30 s)'];
    r.drills[0]!.writes!.lost = 3;
    r.drills[0]!.writes!.lostIds = [10, 11, 12];
    const out = renderJunit(r);
    expect(checkXml(out).problems).toEqual([]);
    expect(out).toContain('<failure message="app-server-kill failed: 3 acknowledged writes lost; recovered in 41 s (limit 30 s)" type="drill">');
    expect(out).toContain('writes: 1,840 acknowledged, 1,840 present, 3 lost (ids 10, 11, 12)');
    expect(out).toContain('tests="4" failures="3"');
  });

  it('an INCONCLUSIVE run and drill fail their cases with type "inconclusive" and the reason', () => {
    const r = buildResults();
    r.verdict = 'inconclusive';
    r.verdictReason = 'the load generator was the limit: its schedule lag grew (up to 2.50 s) while it had free in-flight slots';
    r.drills[0]!.pass = false;
    r.drills[0]!.verdict = 'inconclusive';
    r.drills[0]!.reasons = ['INCONCLUSIVE: no request completed, so nothing about the system was measured'];
    const x = renderJunit(r);
    expect(checkXml(x).problems).toEqual([]);
    expect(x).toContain('<failure message="run inconclusive: the load generator was the limit: its schedule lag grew (up to 2.50 s) while it had free in-flight slots" type="inconclusive">');
    expect(x).toContain('<failure message="app-server-kill inconclusive: INCONCLUSIVE: no request completed, so nothing about the system was measured" type="inconclusive">');
  });

  it('a passing run has no failure', () => {
    const out = renderJunit(buildResults({ fault: null }));
    expect(checkXml(out).counts.failure ?? 0).toBe(0);
    expect(out).toContain('failures="0"');
  });

  it('escapes hostile names and drops characters XML cannot hold', () => {
    const r = buildResults();
    r.objectives[0]!.name = `a "quoted" <b> & 'c' ]]> \u0001\u0008 end`;
    r.drills[0]!.reasons.push('</failure></testcase><testcase name="fake">');
    const out = renderJunit(r);
    const { problems, counts } = checkXml(out);
    expect(problems).toEqual([]);
    expect(counts.testcase).toBe(4);
    expect(out).toContain('name="a &quot;quoted&quot; &lt;b&gt; &amp; &apos;c&apos; ]]&gt;  end"');
  });
});

describe('escapeXml', () => {
  it('escapes the five special characters and strips invalid ones', () => {
    expect(escapeXml(`<&>"'`)).toBe('&lt;&amp;&gt;&quot;&apos;');
    expect(escapeXml('a\u0000b\u001Fc\td\ne')).toBe('abc\td\ne');
    expect(escapeXml('lone \uD800 surrogate')).toBe('lone  surrogate');
    expect(escapeXml('ok 😀')).toBe('ok 😀');
  });
});
