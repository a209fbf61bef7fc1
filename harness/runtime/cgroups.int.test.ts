// A busy loop in a host cgroup of 0.1 CPU must get about 10% of a core. Skipped where cgroups
// cannot be written (not root, read-only): the runtime then only warns.
import { afterAll, describe, expect, it } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { probeCgroups, RunCgroups } from './cgroups.ts';

const layout = await probeCgroups();
const supported = !('reason' in layout);

/** utime + stime of a process, in seconds (USER_HZ is 100 on Linux). */
function cpuSeconds(pid: number): number {
  const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = text.slice(text.lastIndexOf(')') + 2).split(' ');
  return (Number(f[11]) + Number(f[12])) / 100;
}

describe.skipIf(!supported)('cgroup quotas (real kernel)', () => {
  const cg = new RunCgroups(layout, `cgtest-${process.pid}`);
  let child: ChildProcess | undefined;

  afterAll(async () => {
    if (child?.pid) process.kill(child.pid, 'SIGKILL');
    await new Promise((r) => setTimeout(r, 100));
    const removed = await cg.remove();
    expect(removed.length).toBeGreaterThan(0);
    for (const d of cg.paths()) expect(existsSync(d)).toBe(false);
  });

  it('throttles a busy loop to its 10% quota', async () => {
    const dirs = await cg.createHost('busy', { cpus: 0.1, memoryMb: 64 });
    // the CPU quota holds from the end of a deployment's start-up (RunCgroups.holdCpu)
    await cg.holdCpu();
    expect(cg.warnings).toEqual([]);
    expect(dirs.length).toBeGreaterThan(0);
    child = spawn('sh', ['-c', 'while :; do :; done'], { stdio: 'ignore' });
    await cg.addPid('busy', child.pid!);
    const procs = dirs.map((d) => readFileSync(join(d, 'cgroup.procs'), 'utf8').trim().split('\n'));
    for (const p of procs) expect(p).toContain(String(child.pid));
    const before = cpuSeconds(child.pid!);
    const t0 = performance.now();
    await new Promise((r) => setTimeout(r, 1_000));
    const used = cpuSeconds(child.pid!) - before;
    const wall = (performance.now() - t0) / 1000;
    // ~0.1 s of CPU per wall second; unthrottled it would be ~1 s
    expect(used / wall).toBeLessThan(0.2);
    expect(used / wall).toBeGreaterThan(0.03);
  });
});
