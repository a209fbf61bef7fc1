import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BenchError } from '../harness/errors.ts';
import { compareResults, DEFAULT_GATES, parseGates, parsePercent, changePct } from './compare.ts';
import { readResults } from './load.ts';
import { buildResults } from './testing/fixture.ts';
import type { Results } from './schema.ts';

/** A base and a head that pass: the head is a little faster, with the same error rate. */
function pair(): { base: Results; head: Results } {
  const base = buildResults({ fault: null });
  const head = buildResults({ fault: null });
  head.runId = 'head-run';
  head.load.latencyMs.p99 = base.load.latencyMs.p99! * 0.97;
  head.load.totals.throughputRps = base.load.totals.throughputRps * 1.01;
  return { base, head };
}

const statusOf = (rows: ReturnType<typeof compareResults>['rows'], metric: string) => rows.find((r) => r.metric === metric)?.status;

describe('compareResults', () => {
  it('passes a head within every gate, with a table row per metric and endpoint', () => {
    const { base, head } = pair();
    const c = compareResults(base, head);
    expect(c.failures).toEqual([]);
    expect(c.warnings).toEqual([]);
    expect(c.rows.map((r) => r.metric)).toEqual([
      'throughput',
      'p50 latency',
      'p95 latency',
      'p99 latency',
      'p99.9 latency',
      'error rate',
      'failed share (errors + dropped)',
      'dropped requests',
      'generator',
      'p99 GET /api/me',
      'p99 GET /api/users/:id',
      'p99 GET /static/:asset',
      'p99 POST /api/login',
      'p99 POST /api/users',
      'p99 PUT /api/users/:id',
    ]);
    expect(c.rows.filter((r) => r.status === 'fail')).toEqual([]);
    expect(statusOf(c.rows, 'p50 latency')).toBe('info');
    expect(c.markdown.split('\n')[0]).toBe('### ✅ bench compare: no gate crossed');
    expect(c.markdown).toContain('| metric | base | head | change | gate | status |');
    expect(c.markdown).toContain('| p99 latency | 42.1 ms | 40.8 ms | -3.0% | rise ≤ 10% | ✅ pass |');
    expect(c.markdown).not.toContain('Gates crossed');
  });

  it('fails when p99 rose beyond the gate', () => {
    const { base, head } = pair();
    head.load.latencyMs.p99 = base.load.latencyMs.p99! * 1.12;
    const c = compareResults(base, head);
    expect(c.failures).toEqual(['p99 latency rose 12% (42.1 ms → 47.2 ms), more than the 10% gate']);
    expect(statusOf(c.rows, 'p99 latency')).toBe('fail');
    expect(c.markdown.split('\n')[0]).toBe('### ❌ bench compare: 1 gate crossed');
    expect(c.markdown).toContain('- p99 latency rose 12% (42.1 ms → 47.2 ms), more than the 10% gate');
  });

  it('does not fail p99 exactly at the gate', () => {
    const { base, head } = pair();
    head.load.latencyMs.p99 = 110;
    base.load.latencyMs.p99 = 100;
    expect(compareResults(base, head).failures).toEqual([]);
  });

  it('fails when throughput dropped beyond the gate', () => {
    const { base, head } = pair();
    head.load.totals.throughputRps = base.load.totals.throughputRps * 0.9;
    const c = compareResults(base, head);
    expect(c.failures).toHaveLength(1);
    expect(c.failures[0]).toMatch(/^throughput dropped 10% \(\d{3} req\/s → \d{3} req\/s\), more than the 5% gate$/);
    expect(statusOf(c.rows, 'throughput')).toBe('fail');
  });

  it('fails when the head error rate is above the ceiling, whatever the base did', () => {
    const { base, head } = pair();
    head.load.totals.errorRate = 0.023;
    const c = compareResults(base, head);
    expect(c.failures).toEqual(['error rate 2.3% is above the 1% gate (base 0%)']);
    expect(c.rows.find((r) => r.metric === 'error rate')!.changeText).toBe('+2.3 pp');
  });

  it('fails an endpoint whose p99 regressed, and names it', () => {
    const { base, head } = pair();
    head.load.endpoints['PUT /api/users/:id']!.latencyMs.p99! *= 1.5;
    const c = compareResults(base, head);
    expect(c.failures).toEqual(['p99 of PUT /api/users/:id rose 50% (50.2 ms → 75.4 ms), more than the 10% gate']);
    expect(statusOf(c.rows, 'p99 PUT /api/users/:id')).toBe('fail');
  });

  it('does not gate an endpoint with too few requests', () => {
    const { base, head } = pair();
    head.load.endpoints['GET /api/me']!.latencyMs.p99! *= 3;
    head.load.endpoints['GET /api/me']!.requests = 40;
    const c = compareResults(base, head);
    expect(c.failures).toEqual([]);
    expect(c.rows.find((r) => r.metric === 'p99 GET /api/me')!.gate).toBe('— (fewer than 100 requests)');
  });

  it('reports every crossed gate at once, under custom gates', () => {
    const { base, head } = pair();
    head.load.latencyMs.p99 = base.load.latencyMs.p99! * 1.3;
    head.load.totals.throughputRps = base.load.totals.throughputRps * 0.5;
    head.load.totals.errorRate = 0.2;
    const strict = compareResults(base, head, { maxP99RegressionPct: 50, maxThroughputDropPct: 60, maxErrorRate: 0.25 });
    expect(strict.failures).toEqual([]);
    const c = compareResults(base, head, DEFAULT_GATES);
    expect(c.failures.map((f) => f.split(' ')[0])).toEqual(['throughput', 'p99', 'error']);
    expect(c.markdown.split('\n')[0]).toBe('### ❌ bench compare: 3 gates crossed');
  });

  it('fails a p99 that rose from zero', () => {
    const { base, head } = pair();
    base.load.latencyMs.p99 = 0;
    expect(compareResults(base, head).failures[0]).toMatch(/^p99 latency rose from zero/);
  });

  it('warns, without failing, when the runs differ in phase, users, duration, driver or scale factor', () => {
    const { base, head } = pair();
    head.config.phase = 4;
    head.config.users = 1_000_000;
    head.load.durationS = 120;
    head.load.driver = 'k6';
    head.trafficModel.scaleFactor = 0.5;
    const c = compareResults(base, head);
    expect(c.failures).toEqual([]);
    expect(c.warnings).toEqual([
      'the runs differ in phase: base 3, head 4',
      'the runs differ in users: base 50,000, head 1,000,000',
      'the runs differ in duration: base 1 min, head 2 min',
      'the runs differ in driver: base embedded, head k6',
      'the runs differ in scale factor: base 1, head 0.5',
    ]);
    expect(c.markdown).toContain('**Warnings** (not failures)');
    expect(c.markdown).toContain('- ⚠️ the runs differ in driver: base embedded, head k6');
  });

  it('warns about endpoints only one run hit, and about a failed head verdict', () => {
    const { base, head } = pair();
    delete head.load.endpoints['POST /api/login'];
    head.load.endpoints['DELETE /api/users/:id'] = head.load.endpoints['GET /api/me']!;
    head.verdict = 'fail';
    const c = compareResults(base, head);
    expect(c.failures).toEqual([]);
    expect(c.warnings).toContain('endpoint POST /api/login appears only in the base run');
    expect(c.warnings).toContain('endpoint DELETE /api/users/:id appears only in the head run');
    expect(c.warnings).toContain("the head run's own verdict is FAIL (see its report)");
    expect(c.rows.find((r) => r.metric === 'p99 POST /api/login')!.headText).toBe('—');
  });

  it('refuses nonsense gates', () => {
    const { base, head } = pair();
    expect(() => compareResults(base, head, { ...DEFAULT_GATES, maxErrorRate: -1 })).toThrow(/invalid compare gates: maxErrorRate is -1/);
    expect(() => compareResults(base, head, { ...DEFAULT_GATES, maxP99RegressionPct: NaN })).toThrow(BenchError);
  });
});

describe('compare inputs read from disk', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'bench-compare-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('refuses a base with a missing field, naming it', async () => {
    const base = buildResults() as unknown as { load: { totals: Record<string, unknown> } };
    delete base.load.totals.throughputRps;
    const p = join(dir, 'base.json');
    await writeFile(p, JSON.stringify(base));
    await expect(readResults(p)).rejects.toThrow(`${p} is invalid: load.totals.throughputRps: missing (expected number)`);
  });

  it('refuses a head of another schema version', async () => {
    const p = join(dir, 'head.json');
    await writeFile(p, JSON.stringify({ ...buildResults(), schemaVersion: 2 }));
    const err = await readResults(p).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BenchError);
    expect((err as BenchError).oneLine()).toBe(`${p} has schemaVersion 2, this bench reads 1 — re-render with the bench that wrote it`);
    expect((err as BenchError).exitCode).toBe(2);
  });
});

describe('parsePercent', () => {
  it('reads percentages', () => {
    expect(parsePercent('10%')).toBe(10);
    expect(parsePercent(' 0.5 %')).toBe(0.5);
    expect(parsePercent('+5%')).toBe(5);
    expect(parsePercent('.5%')).toBe(0.5);
    expect(parsePercent('0%')).toBe(0);
    expect(parsePercent('--max-error-rate', '1%')).toBe(1);
  });

  it('refuses anything else with a one-line hint', () => {
    const msg = (v: string) => {
      try {
        parsePercent('--max-p99-regression', v);
      } catch (e) {
        expect((e as BenchError).code).toBe('usage');
        return (e as BenchError).oneLine();
      }
      throw new Error('no error');
    };
    expect(msg('10')).toBe('--max-p99-regression: "10" is not a percentage — write it with a % sign, e.g. 10%');
    expect(msg('-5%')).toBe('--max-p99-regression: "-5%" is not a percentage — use a positive percentage, e.g. 10%');
    expect(msg('ten%')).toBe('--max-p99-regression: "ten%" is not a percentage — write a number followed by %, e.g. 10%');
    expect(msg('')).toMatch(/"" is not a percentage/);
    expect(msg('10%%')).toMatch(/"10%%" is not a percentage/);
    expect(msg('1e3%')).toMatch(/is not a percentage/);
  });
});

describe('parseGates', () => {
  it('keeps defaults for omitted flags and converts the error rate to a fraction', () => {
    expect(parseGates({})).toEqual(DEFAULT_GATES);
    expect(parseGates({ maxP99Regression: '20%', maxThroughputDrop: '3%', maxErrorRate: '0.5%' })).toEqual({
      ...DEFAULT_GATES,
      maxP99RegressionPct: 20,
      maxThroughputDropPct: 3,
      maxErrorRate: 0.005,
    });
  });

  it('refuses impossible values', () => {
    expect(() => parseGates({ maxThroughputDrop: '150%' })).toThrow(/--max-throughput-drop: 150% is more than 100%/);
    expect(() => parseGates({ maxErrorRate: '1' })).toThrow(/--max-error-rate: "1" is not a percentage/);
  });
});

describe('changePct', () => {
  it('is relative, and infinite from zero', () => {
    expect(changePct(100, 110)).toBeCloseTo(10);
    expect(changePct(0, 0)).toBe(0);
    expect(changePct(0, 1)).toBe(Infinity);
  });
});

describe('compare gates on drops, saturation and verdicts; refuses unenforced sizes', () => {
  it('fails a head that dropped requests (--max-dropped, default 0), and counts them in the failed share', () => {
    const { base, head } = pair();
    head.load.totals.dropped = 40;
    const c = compareResults(base, head);
    expect(c.failures).toContain('the head dropped 40 requests at the in-flight cap, more than the 0 allowed (--max-dropped)');
    expect(statusOf(c.rows, 'dropped requests')).toBe('fail');
    expect(compareResults(base, head, { ...DEFAULT_GATES, maxDropped: 40 }).failures.filter((f) => /dropped \d+ requests/.test(f))).toEqual([]);
  });

  it('gates the failed share (errors + dropped) against the error-rate ceiling', () => {
    const { base, head } = pair();
    // few errors, many drops: the plain error rate passes, the failed share does not
    head.load.totals.dropped = 2000;
    const c = compareResults(base, head, { ...DEFAULT_GATES, maxDropped: 1e9 });
    expect(statusOf(c.rows, 'error rate')).toBe('pass');
    expect(statusOf(c.rows, 'failed share (errors + dropped)')).toBe('fail');
    expect(c.failures.some((f) => /^failed share \(errors \+ dropped\) [\d.]+% is above the 1% gate/.test(f))).toBe(true);
  });

  it('fails when either run\'s generator was saturated or limited', () => {
    const { base, head } = pair();
    head.load.generator.saturated = true;
    head.load.generator.maxLagMs = 300;
    expect(compareResults(base, head).failures).toContain("the head run's generator was saturated (lag up to 300 ms): it did not offer the planned load");
    const p = pair();
    p.base.load.generator.limited = true;
    expect(compareResults(p.base, p.head).failures.some((f) => f.startsWith("the base run's generator was limited"))).toBe(true);
    expect(statusOf(compareResults(p.base, p.head).rows, 'generator')).toBe('fail');
  });

  it('fails an INCONCLUSIVE head and a head whose p99 was not measured', () => {
    const { base, head } = pair();
    head.verdict = 'inconclusive';
    head.verdictReason = 'no request completed: nothing about the system was measured';
    head.load.latencyMs.p99 = null;
    const c = compareResults(base, head);
    expect(c.failures).toContain("the head run's verdict is INCONCLUSIVE: no request completed: nothing about the system was measured");
    expect(c.failures).toContain('p99 latency of the head was not measured (no request got a response)');
    expect(c.markdown).toContain('| p99 latency | 42.1 ms | n/a | n/a |');
  });

  it('refuses (exit 3) runs whose host sizes were not enforced, unless allowed', () => {
    const { base, head } = pair();
    head.topology.hosts[0]!.sizeEnforced = false;
    let err: unknown;
    try {
      compareResults(base, head);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(BenchError);
    expect((err as BenchError).exitCode).toBe(3);
    expect((err as BenchError).message).toMatch(/^host sizes were not enforced \(head head-run: /);
    expect(compareResults(base, head, DEFAULT_GATES, { allowUnenforcedSizes: true }).failures).toEqual([]);
    // enforced, or not recorded (older results): compared as before
    head.topology.hosts[0]!.sizeEnforced = true;
    expect(compareResults(base, head).failures).toEqual([]);
  });

  it('parses --max-dropped as a whole number', () => {
    expect(parseGates({ maxDropped: '25' }).maxDropped).toBe(25);
    expect(() => parseGates({ maxDropped: '2.5' })).toThrow(/--max-dropped: "2.5" is not a whole number of requests/);
    expect(() => parseGates({ maxDropped: '-1' })).toThrow(/not a whole number/);
  });
});
