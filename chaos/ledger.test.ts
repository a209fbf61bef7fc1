import { describe, expect, it } from 'vitest';
import { checkLedger, formatLedger, type LedgerOp } from './ledger.ts';

const ok = (id: string): LedgerOp => ({ id, outcome: 'ok' });
const obs = (effects: Record<string, number>, dead: string[] = []) => ({ effects: new Map(Object.entries(effects)), deadLettered: new Set(dead) });

describe('checkLedger', () => {
  it('passes a history where every accepted job is done once or dead-lettered', () => {
    const r = checkLedger([ok('a'), ok('b'), ok('p')], obs({ a: 1, b: 1 }, ['p']), { idempotent: true });
    expect(r).toMatchObject({ verdict: 'PASS', accepted: 3, done: 2, deadLettered: 1, lost: 0, duplicated: 0, unexpected: 0 });
  });

  // negative controls: histories known to be invalid must fail
  it('fails on a lost job (accepted, never done nor dead-lettered)', () => {
    const r = checkLedger([ok('a'), ok('b')], obs({ a: 1 }), { idempotent: true });
    expect(r).toMatchObject({ verdict: 'FAIL', lost: 1, examples: { lost: ['b'] } });
    expect(r.reasons).toEqual(['1 accepted job(s) lost (never done nor dead-lettered)']);
  });
  it('fails on an unexpected job: done though never sent, or done though refused', () => {
    const r = checkLedger([ok('a'), { id: 'f', outcome: 'failed' }], obs({ a: 1, f: 1, ghost: 1 }), { idempotent: true });
    expect(r).toMatchObject({ verdict: 'FAIL', unexpected: 2, lost: 0 });
    expect(r.examples.unexpected.sort()).toEqual(['f', 'ghost']);
  });
  it('fails on a duplicate only when the consumers claim idempotence', () => {
    expect(checkLedger([ok('a')], obs({ a: 2 }), { idempotent: true })).toMatchObject({ verdict: 'FAIL', duplicated: 1 });
    expect(checkLedger([ok('a')], obs({ a: 2 }), { idempotent: false })).toMatchObject({ verdict: 'PASS', duplicated: 1 });
  });

  it('counts an indeterminate op done in the end as recovered, and one never done as nothing lost', () => {
    const r = checkLedger([{ id: 'x', outcome: 'indeterminate' }, { id: 'y', outcome: 'indeterminate' }], obs({ x: 1 }), { idempotent: true });
    expect(r).toMatchObject({ verdict: 'PASS', indeterminate: 2, recovered: 1, lost: 0, done: 1 });
  });
  it('takes the best outcome of a retried id', () => {
    const r = checkLedger([{ id: 'a', outcome: 'indeterminate' }, ok('a'), { id: 'a', outcome: 'failed' }], obs({}), { idempotent: true });
    expect(r).toMatchObject({ attempted: 1, accepted: 1, lost: 1 });
  });
  it('formats one line', () => {
    expect(formatLedger('jobs', checkLedger([ok('a')], obs({ a: 1 }), { idempotent: true }))).toBe(
      'jobs ledger PASS: accepted 1, done 1, lost 0, duplicated 0, unexpected 0, recovered 0, dead-lettered 0, indeterminate 0, failed 0',
    );
  });
});
