import Fastify from 'fastify';
import { describe, expect, it } from 'vitest';
import { lazyValidators, noResponseSerializers } from './validators.ts';

const body = { type: 'object', required: ['name'], properties: { name: { type: 'string', minLength: 1 }, n: { type: 'integer' } } } as const;
const params = { type: 'object', properties: { id: { type: 'string', pattern: '^[0-9]+$' } } } as const;

async function appWith(v: ReturnType<typeof lazyValidators>) {
  const f = Fastify({ logger: false, schemaController: { compilersFactory: { buildValidator: v.buildValidator } } });
  f.post('/x', { schema: { body } }, async (req) => req.body);
  f.get('/y/:id', { schema: { params } }, async (req) => req.params);
  f.get('/z', async () => 'no schema');
  await f.ready();
  return f;
}

describe('lazyValidators', () => {
  it('compiles nothing at ready, then each route validator at its first request', async () => {
    const v = lazyValidators();
    const f = await appWith(v);
    expect(v.compiled()).toBe(0);
    expect((await f.inject({ method: 'GET', url: '/z' })).statusCode).toBe(200);
    expect(v.compiled()).toBe(0);
    expect((await f.inject({ method: 'GET', url: '/y/12' })).statusCode).toBe(200);
    expect(v.compiled()).toBe(1);
    // POST /x, and the HEAD route Fastify adds beside GET /y/:id (its own validator)
    expect(await v.precompile()).toBe(2);
    expect(v.compiled()).toBe(3);
    expect(await v.precompile()).toBe(0);
    await f.close();
  });

  it("validates as Fastify's own compiler does: 400 with Ajv's message, coercion of the body's types", async () => {
    const lazy = await appWith(lazyValidators());
    const eager = Fastify({ logger: false });
    eager.post('/x', { schema: { body } }, async (req) => req.body);
    eager.get('/y/:id', { schema: { params } }, async (req) => req.params);
    await eager.ready();
    const cases = [
      { method: 'POST' as const, url: '/x', payload: { name: 'a', n: '7' } },
      { method: 'POST' as const, url: '/x', payload: { n: 1 } },
      { method: 'POST' as const, url: '/x', payload: { name: '' } },
      { method: 'GET' as const, url: '/y/abc' },
      { method: 'GET' as const, url: '/y/42' },
    ];
    for (const c of cases) {
      const [a, b] = await Promise.all([lazy.inject(c), eager.inject(c)]);
      expect({ status: a.statusCode, body: a.json() }).toEqual({ status: b.statusCode, body: b.json() });
    }
    // the cases above reach both outcomes: a test that cannot fail is a defect
    expect((await lazy.inject(cases[0]!)).json()).toEqual({ name: 'a', n: 7 });
    expect((await lazy.inject(cases[1]!)).statusCode).toBe(400);
    expect((await lazy.inject(cases[1]!)).json().message).toMatch(/must have required property 'name'/);
    await Promise.all([lazy.close(), eager.close()]);
  });

  it('a request that comes before Ajv is loaded is validated as well (the asynchronous path): 400, coercion', async () => {
    for (const [payload, status, body] of [
      [{ n: 1 }, 400, { statusCode: 400, code: 'FST_ERR_VALIDATION', error: 'Bad Request', message: "body must have required property 'name'" }],
      [{ name: 'b', n: '8' }, 200, { name: 'b', n: 8 }],
    ] as const) {
      const v = lazyValidators();
      const f = await appWith(v);
      const res = await f.inject({ method: 'POST', url: '/x', payload });
      expect({ status: res.statusCode, body: res.json() }).toEqual({ status, body });
      expect(v.compiled()).toBe(1);
      await f.close();
    }
  });

  it('a schema Ajv rejects fails at precompile (and at its first request), not silently', async () => {
    const v = lazyValidators();
    const f = Fastify({ logger: false, schemaController: { compilersFactory: { buildValidator: v.buildValidator } } });
    f.post('/bad', { schema: { body: { type: 'object', properties: { a: { type: 'nonsense' } } } } }, async () => 'x');
    await f.ready();
    expect((await f.inject({ method: 'POST', url: '/bad', payload: {} })).statusCode).toBe(500);
    await expect(v.precompile()).rejects.toThrow(/type/);
    await f.close();
  });
});

describe('noResponseSerializers', () => {
  it('lets an app without response schemas start and reply, and fails the start of a route that declares one', async () => {
    const f = Fastify({ logger: false, schemaController: { compilersFactory: { buildSerializer: noResponseSerializers } } });
    f.get('/plain', async () => ({ a: 1 }));
    await f.ready();
    expect((await f.inject({ method: 'GET', url: '/plain' })).json()).toEqual({ a: 1 });
    await f.close();
    const g = Fastify({ logger: false, schemaController: { compilersFactory: { buildSerializer: noResponseSerializers } } });
    g.get('/typed', { schema: { response: { 200: { type: 'object', properties: { a: { type: 'integer' } } } } } }, async () => ({ a: 1 }));
    await expect(g.ready()).rejects.toThrow(/compiles no response schemas/);
  });
});
