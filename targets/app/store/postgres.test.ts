// Which query errors give the connection back to the pool (pure).
import { describe, expect, it } from 'vitest';
import { keepsConnection } from './postgres.ts';

describe('keepsConnection', () => {
  it('keeps a connection the server refused a query on, drops one that may be in an unknown state', () => {
    expect(keepsConnection(Object.assign(new Error('duplicate key'), { code: '23505' }))).toBe(true);
    expect(keepsConnection(Object.assign(new Error('bad input'), { code: '22P02' }))).toBe(true);
    // unavailable servers, statement timeouts, sockets and pg's own client-side timeouts: closed
    expect(keepsConnection(Object.assign(new Error('terminating'), { code: '57P01' }))).toBe(false);
    expect(keepsConnection(Object.assign(new Error('canceling statement'), { code: '57014' }))).toBe(false);
    expect(keepsConnection(Object.assign(new Error('connect'), { code: 'ECONNRESET' }))).toBe(false);
    expect(keepsConnection(new Error('Query read timeout'))).toBe(false);
    expect(keepsConnection(null)).toBe(false);
  });
});
