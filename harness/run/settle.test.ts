// Pure parts of settling: LSN arithmetic and which replicas wait for which primary.
import { describe, expect, it } from 'vitest';
import { bytesBehind, fmtBytes, parseLsn, settleGroups } from './settle.ts';
import type { PlannedService } from '../topology/plan.ts';

const pgService = (name: string, primary?: string) =>
  ({ name, kind: 'postgres', config: { kind: 'postgres', postgres: primary ? { role: 'replica', primary } : { role: 'primary' } } }) as unknown as PlannedService;

describe('LSNs', () => {
  it('reads both 32-bit halves', () => {
    expect(parseLsn('0/0')).toBe(0n);
    expect(parseLsn('0/16B3748')).toBe(0x16b3748n);
    expect(parseLsn('16/B374D848')).toBe((0x16n << 32n) + 0xb374d848n);
    // the low half does not carry into the high one: 1/0 is past 0/FFFFFFFF
    expect(parseLsn('1/0') > parseLsn('0/FFFFFFFF')).toBe(true);
    expect(() => parseLsn('bogus')).toThrow(/not a PostgreSQL LSN/);
  });

  it('bytes behind: positive while behind, 0 at or past the target', () => {
    expect(bytesBehind('0/3000000', '0/1000000')).toBe(0x2000000);
    expect(bytesBehind('1/10', '0/FFFFFFF0')).toBe(0x20);
    expect(bytesBehind('0/1000', '0/1000')).toBe(0);
    expect(bytesBehind('0/1000', '0/2000')).toBe(0);
  });

  it('formats sizes', () => {
    expect(fmtBytes(96)).toBe('96 B');
    expect(fmtBytes(4096)).toBe('4 kB');
    expect(fmtBytes(39_321_600)).toBe('37.5 MB');
  });
});

describe('settleGroups', () => {
  it('groups each replica under its primary; only seeded primaries get the table ANALYZEd', () => {
    const services = [pgService('pg-a'), pgService('pg-a-replica-1', 'pg-a'), pgService('pg-b'), pgService('pg-b-replica-1', 'pg-b'), pgService('pg-b-replica-2', 'pg-b'), pgService('pg-pay')];
    expect(settleGroups({ services }, ['pg-a', 'pg-b'])).toEqual([
      { primary: 'pg-a', replicas: ['pg-a-replica-1'], tables: ['users'] },
      { primary: 'pg-b', replicas: ['pg-b-replica-1', 'pg-b-replica-2'], tables: ['users'] },
      { primary: 'pg-pay', replicas: [], tables: [] },
    ]);
  });

  it('a replica of a replica waits for the root primary', () => {
    const services = [pgService('r2', 'r1'), pgService('r1', 'p'), pgService('p')];
    expect(settleGroups({ services }, ['p'])).toEqual([{ primary: 'p', replicas: ['r2', 'r1'], tables: ['users'] }]);
  });

  it('no PostgreSQL: nothing to settle; other kinds are ignored', () => {
    const app = { name: 'app', kind: 'app', config: { kind: 'app' } } as unknown as PlannedService;
    expect(settleGroups({ services: [app] }, [])).toEqual([]);
  });

  it('a replica whose primary is not in the plan is a bug, said so', () => {
    expect(() => settleGroups({ services: [pgService('r', 'elsewhere')] }, [])).toThrow(/not a PostgreSQL primary of the plan/);
  });
});
