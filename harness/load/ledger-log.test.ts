// The ledger's client side: the operation ids (loadtests/catalogue.ts), what the engine records per
// request it sent, and the merge across generator threads — against an in-process node:http server
// on 127.0.0.1 that answers uploads and payments like phase 6's services (202 / 201), refuses some
// (400), fails some (503) and never answers some. The threads are real worker threads.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { catalogue, defineCatalogue, operationId, operationIdRange, requestType, SUCCESS, type RequestType } from '../../loadtests/catalogue.ts';
import { iterationPlanner } from '../../loadtests/lib/plan.ts';
import { workloads, type Workload } from '../../loadtests/workloads.ts';
import { runLoad } from './engine.ts';
import { ledgerHistory, ledgerOutcome, LedgerLog, mergeLedgers } from './ledger-log.ts';
import type { LoadOptions } from './types.ts';

/** the UUID shape the services accept (targets/microservices/http.ts clientId) */
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

describe('operation ids', () => {
  it('are UUIDs the services accept, a function of (seed, salt, n) alone, distinct for any change', () => {
    const ids = new Set<string>();
    for (const seed of [0, 1, 0xffffffff]) for (const salt of [0, 1, 255, 256, 2 ** 24 - 1]) for (const n of [1, 2, 15, 2 ** 48, 2 ** 52 - 1]) ids.add(operationId(seed, salt, n));
    expect(ids.size).toBe(3 * 5 * 5);
    for (const id of ids) expect(id).toMatch(UUID);
    expect(operationId(7, 9, 3)).toBe(operationId(7, 9, 3));
    expect(operationId(7, 9, 3)).toBe('00000007-0000-8090-8000-000000000003');
  });

  it("a load's range holds its ids and no other load's (uuid order = the hex text's order)", () => {
    const r = operationIdRange(7, 300);
    for (const n of [1, 1000, 2 ** 48 + 5, 2 ** 52 - 1]) {
      const id = operationId(7, 300, n);
      expect(id >= r.lo && id <= r.hi).toBe(true);
    }
    for (const [seed, salt] of [[7, 301], [7, 299], [8, 300], [6, 300], [7, 44]]) {
      const id = operationId(seed!, salt!, 5);
      expect(id >= r.lo && id <= r.hi).toBe(false);
    }
  });

  it('the k6 planner gives iteration i the id the engine gives request i + 1', () => {
    const planner = iterationPlanner(workloads.microservices!, 1000, 42);
    let seen = 0;
    for (let i = 0; i < 200; i++) {
      const p = planner.plan(i, 77);
      if (requestType(p.kind).ledger) {
        seen++;
        expect(p.opId).toBe(operationId(42, 77, i + 1));
      } else expect(p.opId).toBeUndefined();
    }
    expect(seen).toBeGreaterThan(40);
  });

  it('the catalogue: pay and video carry {opId} in their body, poll reads its own job back; {opId} needs a ledger', () => {
    expect(requestType('pay')).toMatchObject({ ledger: 'payments', body: { id: '{opId}' } });
    expect(requestType('video')).toMatchObject({ ledger: 'jobs', body: { id: '{opId}' } });
    expect(requestType('poll')).toMatchObject({ ledger: 'jobs', method: 'POST', path: '/api/videos', then: [{ method: 'GET', path: '/api/jobs/{opId}', expect: [200] }] });
    const e: RequestType = { name: 'x', origin: 'api', method: 'POST', path: '/x', body: { id: '{opId}' }, id: 'none', expect: SUCCESS };
    expect(() => defineCatalogue([e])).toThrow(/body uses \{opId\}/);
    expect(() => defineCatalogue([{ ...e, ledger: 'jobs' }])).not.toThrow();
    expect(() => defineCatalogue([{ ...e, ledger: 'orders' as 'jobs' }])).toThrow(/ledger "orders" is not one of jobs, payments/);
  });
});

describe('recording and merging', () => {
  it('outcomes: expected = ok, 4xx = failed, 5xx / no answer / an unexpected 2xx = indeterminate', () => {
    expect(ledgerOutcome(true, 202, true)).toBe(0);
    expect(ledgerOutcome(true, 400, false)).toBe(1);
    expect(ledgerOutcome(true, 409, false)).toBe(1);
    expect(ledgerOutcome(true, 503, false)).toBe(2);
    expect(ledgerOutcome(true, 200, false)).toBe(2);
    expect(ledgerOutcome(false, 0, false)).toBe(2);
  });

  it('merges parts into what one thread records, ordered by request number; refuses parts of two loads', () => {
    const a = new LedgerLog(5, 6);
    const b = new LedgerLog(5, 6);
    a.record(0, 1, 0);
    b.record(0, 2, 2);
    a.record(0, 3, 1);
    b.record(1, 4, 0);
    a.record(1, 0, 1);
    expect(a.result().payments).toEqual({ seq: [0], outcome: [1] });
    const m = mergeLedgers([b.result(), undefined, a.result()])!;
    expect(m).toEqual({ seed: 5, salt: 6, jobs: { seq: [1, 2, 3], outcome: [0, 2, 1] }, payments: { seq: [0, 4], outcome: [1, 0] } });
    expect(ledgerHistory(m, 'jobs')).toEqual([
      { id: operationId(5, 6, 1), outcome: 'ok' },
      { id: operationId(5, 6, 2), outcome: 'indeterminate' },
      { id: operationId(5, 6, 3), outcome: 'failed' },
    ]);
    expect(mergeLedgers([undefined])).toBeUndefined();
    expect(() => mergeLedgers([a.result(), new LedgerLog(5, 7).result()])).toThrow(/different loads/);
  });
});

// ---- the engine against a phase-6-like server ----------------------------------------------

/** what the server saw, by client id: how many times, on which path */
const received = new Map<string, string[]>();
let server: Server;
let base = '';

/** the answer for a client id: by its last hex digit, so both thread counts meet the same answers */
function answerFor(id: string): number | 'none' {
  const d = parseInt(id.at(-1)!, 16);
  if (d === 3) return 400;
  if (d === 7) return 503;
  if (d === 11) return 'none';
  return -1;
}

beforeAll(async () => {
  server = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      const url = req.url ?? '';
      let id = '';
      if (req.method === 'POST') id = (JSON.parse(body) as { id: string }).id;
      else id = /^\/api\/jobs\/(.+)$/.exec(url)?.[1] ?? '';
      received.set(id, [...(received.get(id) ?? []), `${req.method} ${url}`]);
      const forced = req.method === 'POST' ? answerFor(id) : -1;
      if (forced === 'none') return; // never answered: the client cannot know
      const status = forced !== -1 ? forced : url === '/api/payments' ? 201 : url === '/api/videos' ? 202 : url.startsWith('/api/jobs/') ? 200 : 200;
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(status === 202 ? JSON.stringify({ jobId: id }) : '{}');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((r) => server.close(() => r()));
});

const mix: Workload = { name: 'ledger-test', description: 'uploads, polls and payments beside reads', mix: { read: 2, pay: 2, video: 2, poll: 1 }, zipfS: 0 };

function options(over: Partial<LoadOptions> = {}): LoadOptions {
  return { targets: { api: base, static: base }, workload: mix, users: 100, seed: 11, salt: 4242, stages: [{ durationS: 2, targetRate: 150 }], timeoutMs: 500, ...over };
}

describe('the engine records what it sent (real threads)', () => {
  it('one and two generator threads record the same ids and outcomes, the ids the server received', async () => {
    received.clear();
    const one = await runLoad(options());
    const sentByOne = new Map(received);
    received.clear();
    const two = await runLoad(options({ generatorThreads: 2 }));
    expect(two.results.generator.threads).toBe(2);
    const l1 = one.ledger!;
    const l2 = two.ledger!;
    expect(l1.jobs.seq.length).toBeGreaterThan(50);
    expect(l1.payments.seq.length).toBeGreaterThan(30);
    // exactly the same history, request by request, in request order
    expect(l2).toEqual(l1);
    expect(l1.jobs.seq).toEqual([...l1.jobs.seq].sort((a, b) => a - b));
    // every recorded id is one the server received in a request body, and the other way round
    const recorded = [...ledgerHistory(l1, 'jobs'), ...ledgerHistory(l1, 'payments')];
    const posted = [...sentByOne].filter(([, reqs]) => reqs.some((x) => x.startsWith('POST'))).map(([id]) => id);
    expect(new Set(recorded.map((r) => r.id))).toEqual(new Set(posted));
    for (const r of recorded) {
      const want = answerFor(r.id);
      expect(r.outcome).toBe(want === -1 ? 'ok' : want === 400 ? 'failed' : 'indeterminate');
    }
    const outcomes = new Set(recorded.map((r) => r.outcome));
    expect(outcomes).toEqual(new Set(['ok', 'failed', 'indeterminate']));
    // a poll reads back the job its own upload created; payments are tallied under pay only
    const polls = [...sentByOne.values()].filter((reqs) => reqs.some((x) => x.startsWith('GET /api/jobs/')));
    expect(polls.length).toBeGreaterThan(5);
    for (const reqs of polls) expect(reqs[0]).toBe('POST /api/videos');
    expect(one.results.endpoints.pay!.requests - one.results.endpoints.pay!.errors).toBe(ledgerHistory(l1, 'payments').filter((r) => r.outcome === 'ok').length);
  }, 60_000);

  it('a request dropped at the in-flight cap is not attempted: only what went on the wire is recorded', async () => {
    received.clear();
    // one slot, and every request held 300 ms: most of the schedule is dropped, never sent
    const slow: Workload = { ...mix, mix: { pay: 1 } };
    const hold = createServer((_req, res) => setTimeout(() => res.writeHead(201).end('{}'), 300));
    await new Promise<void>((r) => hold.listen(0, '127.0.0.1', r));
    try {
      const url = `http://127.0.0.1:${(hold.address() as AddressInfo).port}`;
      const got = await runLoad(options({ targets: { api: url, static: url }, workload: slow, maxInFlight: 1, stages: [{ durationS: 1, targetRate: 50 }] }));
      const r = got.results;
      expect(r.totals.dropped).toBeGreaterThan(20);
      expect(got.ledger!.payments.seq.length).toBe(r.totals.requests);
      expect(got.ledger!.jobs.seq).toEqual([]);
    } finally {
      hold.closeAllConnections();
      await new Promise<void>((r) => hold.close(() => r()));
    }
  }, 30_000);

  it('a mix without a ledger type records nothing (no ledger in the outcome)', async () => {
    const got = await runLoad(options({ workload: { ...mix, mix: { read: 1 } }, stages: [{ durationS: 0.5, targetRate: 20 }] }));
    expect(got.ledger).toBeUndefined();
    expect(catalogue.get('read')!.ledger).toBeUndefined();
  }, 30_000);
});
