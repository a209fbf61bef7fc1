// The lag from a replica's answers (the real servers: targets/services/patroni.int.test.ts).
import { describe, expect, it } from 'vitest';
import { lagFrom } from './lag.ts';

describe('lagFrom', () => {
  const now = new Date('2026-12-03T22:00:10Z');
  it('caught up is 0 bytes and 0 s, whatever the last transaction age', () => {
    expect(lagFrom('0', new Date('2026-12-03T21:00:00Z'), now)).toEqual({ bytes: 0, seconds: 0 });
  });
  it('behind: the bytes, and the age of the newest replayed transaction', () => {
    expect(lagFrom('16384', new Date('2026-12-03T22:00:07.5Z'), now)).toEqual({ bytes: 16384, seconds: 2.5 });
  });
  it("streaming: the leader's replay_lag, whether or not bytes are outstanding, not the time since the last commit", () => {
    expect(lagFrom('16384', new Date('2026-12-03T22:00:07.5Z'), now, 0.213)).toEqual({ bytes: 16384, seconds: 0.213 });
    expect(lagFrom('0', new Date('2026-12-03T21:00:00Z'), now, 0.061)).toEqual({ bytes: 0, seconds: 0.061 });
  });
  it('behind with nothing replayed yet: the seconds are unknown, not 0', () => {
    expect(lagFrom('8192', null, now)).toEqual({ bytes: 8192, seconds: null });
  });
});
