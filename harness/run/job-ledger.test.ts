// Which databases a run's ledger reads: found from the services' kinds and roles, not the phase.
import { describe, expect, it } from 'vitest';
import { phases } from '../../targets/phases/index.ts';
import { plan } from '../topology/plan.ts';
import { K6_LEDGER_NOTE, ledgerStep, ledgerStores, withDrainReason } from './job-ledger.ts';
import { checkLedger, ledgerSection } from '../../chaos/ledger.ts';
import { ledgerFailure } from '../../reports/verdict.ts';
import type { LoadLedger } from '../load/ledger-log.ts';

const planOf = (n: number, options: Record<string, unknown> = {}) => {
  const def = phases.get(n)!;
  return plan(def.topology({ users: 1e4, shardStrategy: 'range', ...def.defaults, ...options }), { runId: `p${n}`, slot: 9, proxies: true, prometheus: false });
};

describe('ledgerStores', () => {
  it("phase 6: the uploads API's jobs database, the payment and notification databases, idempotent workers", () => {
    const p = planOf(6);
    const s = ledgerStores(p)!;
    const dbOf = (role: string) => {
      const svc = p.services.find((x) => x.config.kind === 'microservice' && x.config.microservice.role === role)!;
      return svc.config.kind === 'microservice' ? svc.config.microservice.db : '';
    };
    expect(s.jobs!.name).toBe(dbOf('uploads'));
    expect(s.payments!.payments.name).toBe(dbOf('payment'));
    expect(s.payments!.notifications.name).toBe(dbOf('notification'));
    expect(s.jobs!.kind).toBe('postgres');
    expect(s.idempotent).toBe(true);
  });

  it('workers that say they are not idempotent: duplicates then do not fail the ledger', () => {
    const p = planOf(6);
    const workers = p.services.map((s) =>
      s.config.kind === 'microservice' && s.config.microservice.role === 'worker' ? { ...s, config: { ...s.config, microservice: { ...s.config.microservice, worker: { idempotent: false } } } } : s,
    );
    expect(ledgerStores({ ...p, services: workers })!.idempotent).toBe(false);
  });

  it('phases that take no asynchronous work keep no ledger', () => {
    for (const n of [1, 2, 3, 4, 5]) expect(ledgerStores(planOf(n))).toBeNull();
  });
});

describe('ledgerStep: what a run does about its ledger after the load', () => {
  const stores = ledgerStores(planOf(6))!;
  const history: LoadLedger = { seed: 1, salt: 2, jobs: { seq: [1], outcome: [0] }, payments: { seq: [], outcome: [] } };
  it('reads the history an embedded load recorded', () => {
    expect(ledgerStep(stores, { driver: 'embedded', ledger: history }, 'microservices')).toEqual({ step: 'read', stores, history });
  });
  it('k6 (no per-request outcome), or a workload without ledger requests: null with a note, never zeros', () => {
    expect(ledgerStep(stores, { driver: 'k6' }, 'microservices')).toEqual({ step: 'null', note: K6_LEDGER_NOTE });
    expect(ledgerStep(stores, { driver: 'embedded' }, 'mixed')).toEqual({ step: 'null', note: expect.stringMatching(/the mixed workload sends no request that carries a client-chosen id/) });
  });
  it('a topology without asynchronous work: absent, whatever the load recorded', () => {
    expect(ledgerStep(null, { driver: 'embedded', ledger: history }, 'microservices')).toEqual({ step: 'absent' });
  });
});

describe('a drain that gave up', () => {
  const why = 'the drain gave up after 60 s with 1 job(s) not settled, 0 payment(s) not notified and 0 outbox row(s) unsent: lost counts what had not landed by then';
  it('leaves lost as it is and says why in the verdict reason', () => {
    // job b was still queued when the drain gave up: no effect yet, so it counts as lost
    const r = withDrainReason(checkLedger([{ id: 'a', outcome: 'ok' }, { id: 'b', outcome: 'ok' }], { effects: new Map([['a', 1]]), deadLettered: new Set() }, { idempotent: true }), why);
    expect(r).toMatchObject({ lost: 1, verdict: 'FAIL' });
    const section = ledgerSection(r, null, [], { seconds: 60, timeoutS: 60, pending: 1, unsent: 0 });
    expect(ledgerFailure(section)).toBe(`jobs ledger: 1 accepted job(s) lost (never done nor dead-lettered), ${why}`);
  });
  it('a passing ledger is left alone, and a finished drain adds nothing', () => {
    const pass = checkLedger([{ id: 'a', outcome: 'ok' }], { effects: new Map([['a', 1]]), deadLettered: new Set() }, { idempotent: true });
    expect(withDrainReason(pass, why)).toBe(pass);
    const lost = checkLedger([{ id: 'a', outcome: 'ok' }], { effects: new Map(), deadLettered: new Set() }, { idempotent: true });
    expect(withDrainReason(lost, null).reasons).toEqual(lost.reasons);
  });
});
