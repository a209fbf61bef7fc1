import { describe, expect, it } from 'vitest';
import { findUser, parseProcStat, startTimeOf, isSameProcess } from './process.ts';

describe('/proc/<pid>/stat', () => {
  it('reads state, ppid, pgid and start time, even with spaces and parentheses in the name', () => {
    const text = '4242 (post gres) (x)) S 1 4242 4242 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 987654 1000 10 18446744073709551615';
    expect(parseProcStat(text)).toEqual({ pid: 4242, state: 'S', ppid: 1, pgid: 4242, startTime: 987654 });
    expect(parseProcStat('garbage')).toBeNull();
  });
  it('identifies this process by pid and start time', () => {
    const st = startTimeOf(process.pid);
    expect(st).toBeGreaterThan(0);
    expect(isSameProcess(process.pid, st)).toBe(true);
    expect(isSameProcess(process.pid, st! + 1)).toBe(false);
    expect(isSameProcess(4194305, null)).toBe(false);
  });
});

describe('/etc/passwd', () => {
  it('finds a user by name', () => {
    const passwd = 'root:x:0:0:root:/root:/bin/bash\npostgres:x:101:104:PostgreSQL administrator,,,:/var/lib/postgresql:/bin/bash\n';
    expect(findUser(passwd, 'postgres')).toEqual({ name: 'postgres', uid: 101, gid: 104, home: '/var/lib/postgresql' });
    expect(findUser(passwd, 'nobody')).toBeNull();
  });
});
