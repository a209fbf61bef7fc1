// `bench k6 merge` on the two recorded execution segments of one real k6 v2.2.0 run (and, to see
// thresholds crossed, on two recorded runs that were not one): counts summed exactly, percentiles
// from all samples together, the series on one time axis, thresholds judged again on the merge.
import { mkdtempSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { LoadResults, Results } from '../../../reports/schema.ts';
import { readResults } from '../../../reports/load.ts';
import { BenchError } from '../../errors.ts';
import { readK6JsonOutput } from './json-output.ts';
import { evaluateThresholds, findGeneratorOutputs, mergeK6Outputs, parseThreshold } from './merge.ts';
import { mergedResults } from './merged-results.ts';
import { k6Percentile, recordedDir, recordedDurations, recordedStages } from './recorded.ts';
import { parseK6Summary, k6SummaryToLoadResults } from './summary.ts';
import { runBench } from '../../testing/cli.ts';

const dir = recordedDir();
const stages = recordedStages(dir);
const seg1 = join(dir, 'segments', '1-of-2');
const seg2 = join(dir, 'segments', '2-of-2');
const tmp = mkdtempSync(join(tmpdir(), 'bench-k6-merge-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const r3 = (x: number) => Math.round(x * 1000) / 1000;

const merged = await mergeK6Outputs(findGeneratorOutputs([seg1, seg2]), { workload: 'mixed', stages });
const one = async (d: string) => readK6JsonOutput(join(d, 'points.ndjson.gz'), { stages });
const [a, b] = [await one(seg1), await one(seg2)];
const summaryP = (d: string) => k6SummaryToLoadResults(parseK6Summary(JSON.parse(readFileSync(join(d, 'summary.json'), 'utf8'))), { workload: 'mixed', stages, durationS: 20 }).latencyMs;

describe('merging the two recorded segments', () => {
  it('counts what both sent: 1,423 + 1,436 = 2,859 requests, every status code and kind summed', () => {
    const t = merged.results.totals;
    expect(t.requests).toBe(2859);
    expect(t.requests).toBe(a.totals.requests + b.totals.requests);
    expect(t.errors).toBe(a.totals.errors + b.totals.errors);
    expect(t.dropped).toBe(22);
    expect(t.dropped).toBe(a.totals.dropped + b.totals.dropped);
    for (const code of new Set([...Object.keys(a.statusCodes), ...Object.keys(b.statusCodes)])) {
      expect(merged.results.statusCodes[code], code).toBe((a.statusCodes[code] ?? 0) + (b.statusCodes[code] ?? 0));
    }
    for (const kind of Object.keys(merged.results.endpoints)) {
      expect(merged.results.endpoints[kind].requests, kind).toBe((a.endpoints[kind]?.requests ?? 0) + (b.endpoints[kind]?.requests ?? 0));
    }
    expect(merged.generators.map((g) => g.requests)).toEqual([1423, 1436]);
    expect(LoadResults.safeParse(merged.results).success).toBe(true);
  });

  it('takes each percentile from all samples together, exactly as one k6 would: the p99 of the concatenated samples', () => {
    const all = [...recordedDurations('segments/1-of-2', dir), ...recordedDurations('segments/2-of-2', dir)];
    expect(all.length).toBe(2859);
    expect(merged.percentiles).toBe('k6-exact');
    const l = merged.results.latencyMs;
    expect(l.p99).toBe(r3(k6Percentile(all, 99)));
    expect(l.p50).toBe(r3(k6Percentile(all, 50)));
    expect(l.p95).toBe(r3(k6Percentile(all, 95)));
    expect(l.p999).toBe(r3(k6Percentile(all, 99.9)));
    expect(l.max).toBe(r3(Math.max(...all)));
    expect(l.p99).toBe(173.502);
  });

  it('negative control: averaging the two segments\' own percentiles would give other figures', () => {
    const [p1, p2] = [summaryP(seg1), summaryP(seg2)];
    // each segment's summary is k6's exact figure for its half; their mean is not the whole's
    expect(r3((p1.p95! + p2.p95!) / 2)).not.toBe(merged.results.latencyMs.p95);
    expect(r3((p1.p999! + p2.p999!) / 2)).not.toBe(merged.results.latencyMs.p999);
    expect(Math.abs((p1.p999! + p2.p999!) / 2 - merged.results.latencyMs.p999!)).toBeGreaterThan(5);
  });

  it('beyond the sample cap, falls back to one HDR histogram of all samples (3 significant digits) and says so', async () => {
    const hdr = await mergeK6Outputs(findGeneratorOutputs([seg1, seg2]), { workload: 'mixed', stages, maxExactSamples: 1000 });
    expect(hdr.percentiles).toBe('hdr');
    expect(hdr.results.totals).toEqual(merged.results.totals);
    const all = [...recordedDurations('segments/1-of-2', dir), ...recordedDurations('segments/2-of-2', dir)].sort((x, y) => x - y);
    // HDR: a value at or above the sample at rank ceil(0.99 n), within 0.1%
    const rank = all[Math.ceil(0.99 * all.length) - 1];
    expect(hdr.results.latencyMs.p99).toBeGreaterThanOrEqual(rank);
    expect(hdr.results.latencyMs.p99).toBeLessThanOrEqual(rank * 1.001);
  });

  it('aligns the per-second series on one time axis from the earliest sample of either', async () => {
    const t0 = Math.min(a.startedAtMs!, b.startedAtMs!);
    expect(merged.startedAtMs).toBe(t0);
    const [al, bl] = [await readK6JsonOutput(join(seg1, 'points.ndjson.gz'), { stages, t0Ms: t0 }), await readK6JsonOutput(join(seg2, 'points.ndjson.gz'), { stages, t0Ms: t0 })];
    const s = merged.results.series;
    expect(s.length).toBe(20);
    for (let t = 0; t < s.length; t++) {
      expect(s[t].requests, `second ${t}`).toBe((al.series[t]?.requests ?? 0) + (bl.series[t]?.requests ?? 0));
      expect(s[t].dropped, `second ${t}`).toBe((al.series[t]?.dropped ?? 0) + (bl.series[t]?.dropped ?? 0));
    }
    expect(s.reduce((n, p) => n + p.requests, 0)).toBe(2859);
    // the plateau: both halves together do the 150/s one process would have
    expect(s[10].targetRate).toBe(150);
    expect(s.slice(4, 18).every((p) => p.requests >= 135 && p.requests <= 180)).toBe(true);
  });

  it('judges the script\'s thresholds again on the merged data', () => {
    expect(merged.thresholds).toEqual([
      { metric: 'http_req_duration', expression: 'p(99)<500', actual: 173.50171104000032, ok: true },
      { metric: 'http_req_failed', expression: 'rate<0.01', actual: 0, ok: true },
    ]);
  });
});

describe('thresholds on merged data', () => {
  it('a healthy output merged with a failing one crosses the error-rate threshold on the sum (1,740 of 5,594)', async () => {
    const m = await mergeK6Outputs(findGeneratorOutputs([join(dir, 'healthy'), join(dir, 'dead-app-server')]), { workload: 'mixed', stages });
    expect(m.results.totals.requests).toBe(2845 + 2749);
    const failed = m.thresholds.find((t) => t.metric === 'http_req_failed')!;
    expect(failed.ok).toBe(false);
    expect(failed.actual).toBeCloseTo(1740 / 5594, 9);
    const results = mergedResults(m, { phase: 2, title: 'p2', users: 10_000, seed: 1, objectives: { p99Ms: 500, maxErrorRate: 0.01 } });
    expect(results.verdict).toBe('fail');
    expect(results.notes.join('\n')).toMatch(/http_req_failed rate<0.01 on the merged data: crossed/);
  });

  it('parses k6 threshold expressions, and leaves what it cannot compute unjudged (null), never passed', () => {
    expect(parseThreshold('p(99)<500')).toEqual({ stat: 'p', percentile: 99, op: '<', bound: 500 });
    expect(parseThreshold(' rate < 0.01 ')).toEqual({ stat: 'rate', percentile: null, op: '<', bound: 0.01 });
    expect(parseThreshold('p(99.9)<=1e3')).toEqual({ stat: 'p', percentile: 99.9, op: '<=', bound: 1000 });
    expect(parseThreshold('abortOnFail')).toBeNull();
    const out = { ...merged.results, totals: { requests: 10, errors: 0, dropped: 0 }, errorKinds: {}, latencyMs: merged.results.latencyMs } as never;
    const judged = evaluateThresholds(new Map([['http_req_duration', ['min>0']], ['iteration_duration', ['p(95)<1']], ['http_reqs{status:200}', ['count>=0']]]), out, 20, () => 1);
    expect(judged).toEqual([
      { metric: 'http_req_duration', expression: 'min>0', actual: null, ok: null },
      { metric: 'iteration_duration', expression: 'p(95)<1', actual: null, ok: null },
    ]);
  });
});

describe('finding the outputs', () => {
  it('refuses no folder, a folder without k6 output, and one folder given twice', () => {
    const empty = join(tmp, 'empty');
    mkdirSync(empty, { recursive: true });
    expect(() => findGeneratorOutputs([])).toThrow(BenchError);
    expect(() => findGeneratorOutputs([empty])).toThrow(/holds no k6 JSON output/);
    expect(() => findGeneratorOutputs([join(tmp, 'nowhere')])).toThrow(/is not a folder/);
    expect(() => findGeneratorOutputs([seg1, seg1])).toThrow(/given twice/);
  });
});

describe('bench k6 merge', () => {
  it('writes results.json, report.html and summary.md of the merged run, finding the export\'s .env file', async () => {
    const c = await runBench(['k6', 'merge', seg1, seg2, '--out', join(tmp, 'merged')], { cwd: tmp });
    const code = c.code;
    expect(c.err).toBe('');
    expect(code).toBe(0);
    expect(c.out).toMatch(/merged 2 generators: 2859 requests, 0 errors, 22 dropped; p50 2\.57 ms, p99 173\.502 ms/);
    const results = await readResults(join(tmp, 'merged', 'results.json'));
    expect(Results.safeParse(results).success).toBe(true);
    expect(results.config.phase).toBe(2);
    expect(results.load.totals.requests).toBe(2859);
    expect(results.load.stages).toEqual(stages);
    expect(results.verdict).toBe('pass');
    // the recorded runs predate salts: nothing recorded, and the report says so
    expect(results.load.salt).toBeNull();
    expect(results.notes.join('\n')).toMatch(/no generator recorded its sign-up salt/);
  });

  it('records the load\'s salt when the generators\' summaries agree on one', async () => {
    const copies = [1, 2].map((i) => {
      const d = join(tmp, `salted-${i}`);
      mkdirSync(d, { recursive: true });
      const src = i === 1 ? seg1 : seg2;
      writeFileSync(join(d, 'points.ndjson.gz'), readFileSync(join(src, 'points.ndjson.gz')));
      writeFileSync(join(d, 'summary.json'), JSON.stringify({ ...JSON.parse(readFileSync(join(src, 'summary.json'), 'utf8')), bench: { salt: 777, seed: 1 } }));
      return d;
    });
    const m = await mergeK6Outputs(findGeneratorOutputs(copies), { workload: 'mixed', stages });
    expect(m.results.salt).toBe(777);
  });

  it.each([
    [['k6', 'merge'], /missing required argument/],
    [['k6', 'merge', '/nonexistent-bench-dir'], /is not a folder/],
    [['k6', 'merge', 'SEG1', '--env', '/nonexistent.env'], /does not exist/],
  ])('bad input %j: one line, exit 2', async (args, message) => {
    const c = await runBench(args.map((x) => (x === 'SEG1' ? seg1 : x)), { cwd: tmp });
    const code = c.code;
    expect(code).toBe(2);
    expect(c.err).toMatch(message);
    expect(c.err.trim().split('\n').length).toBe(1);
  });
});
