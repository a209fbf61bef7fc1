import { describe, expect, it } from 'vitest';
import { memorySessions, SESSION_TTL_SECONDS, sessionIdOf } from './sessions.ts';

describe('sessions', () => {
  it('finds the session id in a bearer header or the sid cookie', () => {
    expect(sessionIdOf({ authorization: 'Bearer abc' })).toBe('abc');
    expect(sessionIdOf({ cookie: 'a=1; sid=xyz; b=2' })).toBe('xyz');
    expect(sessionIdOf({ cookie: 'xsid=no' })).toBeNull();
    expect(sessionIdOf({ cookie: 'sid=' })).toBeNull();
    expect(sessionIdOf({})).toBeNull();
  });

  it('expires memory sessions after their TTL', async () => {
    let now = 0;
    const s = memorySessions(() => now);
    const sid = await s.create(7);
    expect(await s.get(sid)).toBe(7);
    now += SESSION_TTL_SECONDS * 1_000 - 1;
    expect(await s.get(sid)).toBe(7);
    now += 1;
    expect(await s.get(sid)).toBeNull();
    expect(await s.get('unknown')).toBeNull();
  });

  it('drops the oldest sessions beyond its cap', async () => {
    const s = memorySessions(Date.now, 3);
    const sids = [];
    for (let i = 0; i < 5; i++) sids.push(await s.create(i));
    expect(await s.get(sids[0])).toBeNull();
    expect(await s.get(sids[1])).toBeNull();
    expect(await s.get(sids[4])).toBe(4);
    expect(new Set(sids).size).toBe(5);
  });
});
