// Sign-up identities unique per load (loadtests/lib/identity.ts), for the k6 scripts' planner, the
// scripts' settings and the embedded engine's ids alike.
import { describe, expect, it } from 'vitest';
import { workloads } from '../../../loadtests/workloads.ts';
import { readConfig } from '../../../loadtests/lib/config.ts';
import { iterationPlanner, type PlannedRequest } from '../../../loadtests/lib/plan.ts';
import { CREATES_PER_SALT, createdUserId, newSalt, parseSalt, SALT_LIMIT } from '../../../loadtests/lib/identity.ts';
import { scriptEnv } from './args.ts';

/** a planned sign-up: it always has an id and an email */
type Create = PlannedRequest & { id: number; email: string };
const creates = (users: number, seed: number, salt: number, n: number): Create[] => {
  const p = iterationPlanner(workloads['write-heavy'], users, seed);
  const out: Create[] = [];
  for (let i = 0; i < n; i++) {
    const r = p.plan(i, salt);
    if (r.kind === 'create') out.push(r as Create);
  }
  return out;
};

describe('sign-up identities', () => {
  it('salt 0 keeps the ids loads had before salts (users + n)', () => {
    expect(createdUserId(1000, 0, 1)).toBe(1001);
    const c = creates(1000, 1, 0, 200);
    for (const r of c) expect(r.id).toBeGreaterThan(1000);
    expect(c[0].id).toBeLessThanOrEqual(1000 + 200);
  });

  it('two loads with different salts sign up disjoint ids and emails; the same seed and salt repeat them', () => {
    const a = creates(10_000, 7, 11, 3000);
    const b = creates(10_000, 7, 12, 3000);
    expect(a.length).toBeGreaterThan(500);
    const ids = new Set(a.map((r) => r.id));
    for (const r of b) expect(ids.has(r.id)).toBe(false);
    const emails = new Set(a.map((r) => r.email));
    for (const r of b) expect(emails.has(r.email)).toBe(false);
    // negative control: the same salt gives the same ids (which is what made a second load 409)
    expect(creates(10_000, 7, 11, 3000)).toEqual(a);
  });

  it('keeps ids exact doubles at the largest salt and a billion users', () => {
    const id = createdUserId(1e9, SALT_LIMIT - 1, CREATES_PER_SALT - 1);
    expect(Number.isSafeInteger(id)).toBe(true);
    expect(createdUserId(1e9, 5, CREATES_PER_SALT - 1)).toBeLessThan(createdUserId(1e9, 6, 1));
  });

  it('draws fresh salts in 1..2^24-1 and parses given ones', () => {
    expect(newSalt(() => 0)).toBe(1);
    expect(newSalt(() => 0.999999999)).toBe(SALT_LIMIT - 1);
    expect(parseSalt('42')).toBe(42);
    expect(parseSalt('0')).toBe(0);
    expect(parseSalt('-1')).toMatch(/integer in 0\.\.16777215/);
    expect(parseSalt(String(SALT_LIMIT))).toMatch(/integer/);
    expect(parseSalt('1.5')).toMatch(/integer/);
  });

  it('the k6 scripts read BENCH_SALT (null when unset: setup() picks one) and reject a bad one', () => {
    expect(readConfig({ BENCH_API_URL: 'http://127.0.0.1:1' }, 'mixed').salt).toBeNull();
    expect(readConfig({ BENCH_API_URL: 'http://127.0.0.1:1', BENCH_SALT: '99' }, 'mixed').salt).toBe(99);
    expect(() => readConfig({ BENCH_API_URL: 'http://127.0.0.1:1', BENCH_SALT: 'x' }, 'mixed')).toThrow(/BENCH_SALT must be an integer/);
  });

  it('the k6 driver passes the load\'s salt to k6, and leaves it out when it has none', () => {
    const base = { targets: { api: 'http://127.0.0.1:1', static: 'http://127.0.0.1:1' }, users: 10, seed: 1, stages: [{ durationS: 5, targetRate: 1 }], workload: 'mixed', objectives: { p99Ms: 1, maxErrorRate: 0.1 }, summaryPath: 's.json' };
    expect(scriptEnv({ ...base, salt: 77 }).BENCH_SALT).toBe('77');
    expect(scriptEnv(base).BENCH_SALT).toBeUndefined();
  });
});
