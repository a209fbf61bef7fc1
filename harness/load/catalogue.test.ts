// The request catalogue (loadtests/catalogue.ts) as the engine reads it: a catalogue with entries
// the engine has never heard of drives requests of them (method, path, body, expected statuses,
// follow-ups) against a small real HTTP server started here: adding a request type touches the
// catalogue and the app, nothing in the engine.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { catalogue, compileBody, compileTemplate, defineCatalogue, pathFor, requestType, SUCCESS, type RequestType } from '../../loadtests/catalogue.ts';
import { iterationPlanner } from '../../loadtests/lib/plan.ts';
import { mixWeights, workloads, type Workload } from '../../loadtests/workloads.ts';
import { runLoad } from './engine.ts';
import type { LoadOptions } from './types.ts';

const USERS = 50;

// Two types no phase has yet: a payment (201), and an upload answered 202 whose job is then polled.
const payment: RequestType = {
  name: 'payment',
  origin: 'api',
  method: 'POST',
  path: '/api/payments',
  body: { userId: '{id}', memo: 'order of {id}', currency: 'EUR', cents: 1250 },
  id: 'seeded',
  expect: [201],
};
const upload: RequestType = {
  name: 'upload',
  origin: 'api',
  method: 'POST',
  path: '/api/videos/{id}',
  id: 'seeded',
  expect: [202],
  then: [{ method: 'GET', path: '/api/jobs/{id}', expect: [{ min: 200, max: 299 }] }],
};
const extended = defineCatalogue([...catalogue.entries, payment, upload]);

interface Seen {
  method: string;
  url: string;
  body: string;
}
let server: Server;
let base = '';
const seen: Seen[] = [];
/** the status POST /api/payments answers (201 unless a test says otherwise) */
let paymentStatus = 201;
/** the status POST /api/videos/:id answers (202 unless a test says otherwise) */
let videoStatus = 202;

beforeAll(async () => {
  server = createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (c: string) => (body += c));
    req.on('end', () => {
      const url = req.url ?? '';
      seen.push({ method: req.method ?? '', url, body });
      let status = 404;
      if (req.method === 'POST' && url === '/api/payments') status = paymentStatus;
      else if (req.method === 'POST' && /^\/api\/videos\/\d+$/.test(url)) status = videoStatus;
      else if (req.method === 'GET' && /^\/api\/jobs\/\d+$/.test(url)) status = 200;
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end('{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

const workload: Workload = { name: 'microservices-test', description: 'test', mix: { payment: 1, upload: 1 }, zipfS: 0 };

function options(over: Partial<LoadOptions> = {}): LoadOptions {
  return {
    targets: { api: base, static: base },
    workload,
    catalogue: extended,
    users: USERS,
    seed: 42,
    timeoutMs: 2000,
    stages: [{ durationS: 0, targetRate: 100 }, { durationS: 0.5, targetRate: 100 }],
    ...over,
  };
}

describe('a catalogue entry the engine has never heard of', () => {
  it('is sent as its entry says: method, path, typed JSON body, expected status, follow-up', async () => {
    seen.length = 0;
    paymentStatus = 201;
    const r = (await runLoad(options())).results;
    expect(r.totals.errors).toBe(0);
    expect(r.totals.requests).toBe(seen.length);
    expect(Object.keys(r.endpoints).sort()).toEqual(['payment', 'upload']);
    const payments = seen.filter((s) => s.url === '/api/payments');
    expect(payments.length).toBe(r.endpoints.payment!.requests);
    expect(payments.length).toBeGreaterThan(5);
    for (const p of payments) {
      expect(p.method).toBe('POST');
      const body = JSON.parse(p.body) as { userId: unknown; memo: string };
      // {id} alone keeps the id a number; inside text it is text; literals pass through
      expect(typeof body.userId).toBe('number');
      expect(body).toEqual({ userId: body.userId, memo: `order of ${body.userId}`, currency: 'EUR', cents: 1250 });
      expect(body.userId as number).toBeGreaterThanOrEqual(1);
      expect(body.userId as number).toBeLessThanOrEqual(USERS);
    }
    // each 202 is followed by its job poll, for the same id, counted under the entry's name
    const uploads = seen.filter((s) => s.url.startsWith('/api/videos/'));
    const polls = seen.filter((s) => s.url.startsWith('/api/jobs/'));
    expect(uploads.length).toBeGreaterThan(5);
    expect(polls.map((p) => p.url.split('/').pop()).sort()).toEqual(uploads.map((u) => u.url.split('/').pop()).sort());
    expect(r.endpoints.upload!.requests).toBe(uploads.length + polls.length);
    expect(r.statusCodes).toEqual({ '200': polls.length, '201': payments.length, '202': uploads.length });
  });

  it('counts an answer its entry does not expect as an error, and sends no follow-up after a failure (negative control)', async () => {
    seen.length = 0;
    paymentStatus = 200; // a success to any client, but not the 201 the entry expects
    videoStatus = 500;
    const r = (await runLoad(options())).results;
    paymentStatus = 201;
    videoStatus = 202;
    expect(r.endpoints.payment!.requests).toBeGreaterThan(5);
    expect(r.endpoints.upload!.requests).toBeGreaterThan(5);
    expect(r.totals.errors).toBe(r.totals.requests);
    expect(r.errorKinds).toEqual({ unexpected_status: r.endpoints.payment!.requests, http_5xx: r.endpoints.upload!.requests });
    expect(seen.filter((s) => s.url.startsWith('/api/jobs/'))).toEqual([]);
  });

  it('draws its ids from the seed: the same seed sends the same ids, another seed others', async () => {
    const mix: Workload = { ...workload, mix: { payment: 3, read: 0 } };
    const idsFor = async (seed: number): Promise<number[]> => {
      seen.length = 0;
      await runLoad(options({ workload: mix, seed }));
      return seen.map((s) => (JSON.parse(s.body) as { userId: number }).userId).sort((a, b) => a - b);
    };
    const a = await idsFor(7);
    expect(a.length).toBeGreaterThan(5);
    expect(await idsFor(7)).toEqual(a);
    expect(await idsFor(8)).not.toEqual(a);
    // the k6 planner reads the same entry: it plans payments with seeded ids
    const planner = iterationPlanner(mix, USERS, 7, extended);
    expect(planner.kinds).toEqual(['payment']);
    for (let i = 0; i < 20; i++) expect(planner.plan(i)).toEqual({ kind: 'payment', id: expect.any(Number) });
  });

  it('rejects a workload that weighs a type the catalogue lacks, in one line', async () => {
    await expect(runLoad(options({ catalogue: catalogue }))).rejects.toThrow(/workload microservices-test weighs payment, which the request catalogue does not define/);
    expect(() => mixWeights(workload)).toThrow(/does not define/);
  });
});

describe('the catalogue itself', () => {
  it('holds the users API and static assets the apps answer', () => {
    expect(catalogue.entries.map((e) => e.name)).toEqual(['read', 'update', 'create', 'login', 'static', 'pay', 'video', 'poll']);
    for (const w of Object.values(workloads)) expect(() => mixWeights(w)).not.toThrow();
    expect(pathFor(requestType('update'), { id: 17 })).toBe('/api/users/17');
    expect(requestType('update').method).toBe('PUT');
    expect(() => requestType('nope')).toThrow(/no request type nope/);
  });

  it('refuses defects when it is defined: a duplicate, an unknown variable, a bad status, a session never set', () => {
    const ok: RequestType = { name: 'x', origin: 'api', method: 'GET', path: '/x/{id}', id: 'seeded', expect: SUCCESS };
    expect(() => defineCatalogue([ok])).not.toThrow();
    expect(() => defineCatalogue([ok, ok])).toThrow(/defined twice/);
    expect(() => defineCatalogue([{ ...ok, path: '/x/{order}' }])).toThrow(/path uses \{order\}/);
    expect(() => defineCatalogue([{ ...ok, id: 'none' }])).toThrow(/path uses \{id\}/);
    expect(() => defineCatalogue([{ ...ok, body: { n: '{name}' } }])).toThrow(/body uses \{name\}/);
    expect(() => defineCatalogue([{ ...ok, expect: [700] }])).toThrow(/not a status/);
    expect(() => defineCatalogue([{ ...ok, expect: [] }])).toThrow(/lists no status/);
    expect(() => defineCatalogue([{ ...ok, then: [{ method: 'GET', path: '/me', withSession: true, expect: SUCCESS }] }])).toThrow(/does not set one/);
    expect(() => defineCatalogue([{ ...ok, name: 'Bad Name' }])).toThrow(/lower-case/);
  });

  it('fills templates as JSON.stringify would write the same object', () => {
    const v = { id: 12, name: 'a "quoted" name', asset: 'app.js', opId: '', email: 'user12@bench.test' };
    expect(compileTemplate('/api/users/{id}')(v)).toBe('/api/users/12');
    expect(compileTemplate('/static/{asset}')(v)).toBe('/static/app.js');
    expect(compileTemplate('/a/{id}/b/{asset}/c')(v)).toBe('/a/12/b/app.js/c');
    expect(compileTemplate('/plain')(v)).toBe('/plain');
    expect(compileBody({ id: '{id}', name: '{name}', email: '{email}' })!(v)).toBe(JSON.stringify({ id: 12, name: v.name, email: v.email }));
    expect(compileBody({ note: 'user {id}', flag: true })!(v)).toBe(JSON.stringify({ note: 'user 12', flag: true }));
    expect(compileBody({})!(v)).toBe('{}');
    expect(compileBody(undefined)).toBeNull();
  });
});
