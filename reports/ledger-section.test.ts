// The ledger section of results.json: built from the checker's results, accepted by the schema,
// judged by the verdict (lost/unexpected fail the run) and shown by summary.md and report.html.
import { describe, expect, it } from 'vitest';
import { checkLedger, ledgerSection, type LedgerOp } from '../chaos/ledger.ts';
import { Results } from './schema.ts';
import { ledgerFailure, objectivesFor, runVerdict } from './verdict.ts';
import { buildResults } from './testing/fixture.ts';
import { renderMarkdown } from './markdown.ts';
import { renderHtml } from './html.ts';

const ok = (id: string): LedgerOp => ({ id, outcome: 'ok' });
const obs = (effects: Record<string, number>, dead: string[] = []) => ({ effects: new Map(Object.entries(effects)), deadLettered: new Set(dead) });
const drain = { seconds: 1.2, timeoutS: 30, pending: 0, unsent: 0 };

function section(jobEffects: Record<string, number>) {
  const jobs = checkLedger([ok('a'), ok('b'), { id: 'c', outcome: 'indeterminate' }], obs(jobEffects), { idempotent: true });
  const payments = checkLedger([ok('p1')], obs({ p1: 1 }), { idempotent: true, noun: 'payment' });
  return ledgerSection(jobs, payments, [10, 20, 30, 400], drain);
}

function verdictWith(ledger: ReturnType<typeof section> | null) {
  const r = buildResults({ fault: null });
  const objectives = objectivesFor({ p99Ms: 1e9, maxErrorRate: 1 }, r.load);
  return runVerdict({ load: r.load, objectives, drills: [], ledger });
}

describe('ledgerSection', () => {
  it('carries the counts and the accept->complete percentiles read from one HDR histogram', () => {
    const s = section({ a: 1, b: 1, c: 1 });
    expect(s.jobs).toMatchObject({ accepted: 2, done: 3, recovered: 1, lost: 0, unexpected: 0, verdict: 'PASS' });
    expect(s.payments).toMatchObject({ accepted: 1, done: 1, verdict: 'PASS' });
    expect(s.acceptToCompleteMs.count).toBe(4);
    expect(s.acceptToCompleteMs.p50).toBeCloseTo(20, 0);
    expect(s.acceptToCompleteMs.max).toBeCloseTo(400, 0);
    expect(s.acceptToCompleteMs.p99).toBeLessThanOrEqual(s.acceptToCompleteMs.max!);
  });
  it('carries the outbox publish latency when it was read, and leaves it absent when not', () => {
    const s = ledgerSection(null, null, [], drain, [5, 7, 900]);
    expect(s.publishMs).toMatchObject({ count: 3 });
    expect(s.publishMs!.p50).toBeCloseTo(7, 0);
    expect(s.publishMs!.max).toBeCloseTo(900, -1);
    expect(ledgerSection(null, null, [], drain, []).publishMs).toEqual({ p50: null, p99: null, max: null, count: 0 });
    expect(ledgerSection(null, null, [], drain)).not.toHaveProperty('publishMs');
    expect(Results.parse({ ...buildResults({ fault: null }), ledger: s }).ledger?.publishMs?.count).toBe(3);
  });
  it('is null, not 0, for the latency when no job was done', () => {
    expect(ledgerSection(null, null, [], drain).acceptToCompleteMs).toEqual({ p50: null, p99: null, max: null, count: 0 });
  });
  it('is accepted by the results schema, nullable and absent alike', () => {
    const r = buildResults({ fault: null });
    expect(Results.parse({ ...r, ledger: section({ a: 1, b: 1 }) }).ledger?.jobs?.accepted).toBe(2);
    expect(Results.parse({ ...r, ledger: null }).ledger).toBeNull();
    expect(Results.parse(r).ledger).toBeUndefined();
  });
});

describe('the ledger in the verdict', () => {
  it('passes when nothing is lost nor unexpected, and when no ledger was read', () => {
    expect(verdictWith(section({ a: 1, b: 1 }))).toEqual({ verdict: 'pass', reason: '' });
    expect(verdictWith(null)).toEqual({ verdict: 'pass', reason: '' });
  });
  // negative control: a history with an id the database never saw is a lost job -> FAIL
  it('fails with a one-line reason on a lost job', () => {
    const v = verdictWith(section({ a: 1 }));
    expect(v.verdict).toBe('fail');
    expect(v.reason).toBe('jobs ledger: 1 accepted job(s) lost (never done nor dead-lettered)');
  });
  it('fails on an unexpected payment notification', () => {
    const s = section({ a: 1, b: 1 });
    s.payments = ledgerSection(null, checkLedger([ok('p1')], obs({ p1: 1, ghost: 1 }), { idempotent: true, noun: 'payment' }), [], drain).payments;
    expect(ledgerFailure(s)).toBe('payments ledger: 1 unexpected payment(s) (done but never accepted)');
  });
});

describe('the ledger in summary.md and report.html', () => {
  it('shows both ledgers, the accept->complete line and the drain', () => {
    const r = { ...buildResults({ fault: null }), ledger: section({ a: 1 }) };
    const md = renderMarkdown(r);
    expect(md).toContain('**Job ledger**');
    expect(md).toMatch(/\| jobs \| 2 \| 1 \| 1 \|/);
    expect(md).toContain('payments → notifications');
    expect(md).toMatch(/Accept → complete \(4 jobs\): p50 /);
    const html = renderHtml(r);
    expect(html).toContain('<h3>Job ledger</h3>');
    expect(html).toContain('1 accepted job(s) lost');
  });
  it('leaves the section out when the run read no ledger', () => {
    const r = buildResults({ fault: null });
    expect(renderMarkdown(r)).not.toContain('Job ledger');
    expect(renderHtml(r)).not.toContain('Job ledger');
  });
});
