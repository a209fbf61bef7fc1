import { describe, expect, it } from 'vitest';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cpuQuota, detectLayout, hostCgroupPlan, memoryLimitBytes, parseMounts, parseOwnCgroups, RunCgroups } from './cgroups.ts';

const V1_MOUNTS = [
  'tmpfs /sys/fs/cgroup tmpfs rw,relatime,mode=755 0 0',
  'cgroup /sys/fs/cgroup/cpu cgroup rw,relatime,cpu 0 0',
  'cgroup /sys/fs/cgroup/memory cgroup rw,relatime,memory 0 0',
  'cgroup2 /sys/fs/cgroup/unified cgroup2 rw,relatime 0 0',
].join('\n');
const V1_SELF = ['4:memory:/process_api/abc', '1:cpu:/', '0::/'].join('\n');
const V2_MOUNTS = 'cgroup2 /sys/fs/cgroup cgroup2 rw,nosuid,nodev,noexec,relatime,nsdelegate 0 0\n';

describe('quota arithmetic', () => {
  it('gives cpus * period of CPU time per period', () => {
    expect(cpuQuota(0.25)).toEqual({ quotaUs: 25_000, periodUs: 100_000 });
    expect(cpuQuota(1.5)).toEqual({ quotaUs: 150_000, periodUs: 100_000 });
    expect(cpuQuota(0.1, 50_000)).toEqual({ quotaUs: 5_000, periodUs: 50_000 });
  });
  it('never goes below the 1 ms the kernel accepts, and refuses nonsense', () => {
    expect(cpuQuota(0.001).quotaUs).toBe(1_000);
    expect(() => cpuQuota(0)).toThrow(RangeError);
    expect(() => memoryLimitBytes(-1)).toThrow(RangeError);
  });
  it('turns MB into bytes', () => {
    expect(memoryLimitBytes(512)).toBe(536_870_912);
  });
});

describe('detecting the hierarchy', () => {
  it('reads v1 controllers, combined mounts, and the harness own cgroups', () => {
    expect(parseMounts(V1_MOUNTS)).toEqual({ v1: { cpu: '/sys/fs/cgroup/cpu', memory: '/sys/fs/cgroup/memory' }, v2: '/sys/fs/cgroup/unified' });
    expect(parseMounts('cgroup /sys/fs/cgroup/cpu,cpuacct cgroup rw,cpu,cpuacct 0 0').v1.cpu).toBe('/sys/fs/cgroup/cpu,cpuacct');
    expect(parseOwnCgroups(V1_SELF)).toEqual({ v1: { memory: '/process_api/abc', cpu: '/' }, v2: '/' });
  });
  it('prefers v1 on a hybrid machine and nests below the harness own cgroup', () => {
    expect(detectLayout(V1_MOUNTS, V1_SELF, '')).toEqual({ version: 1, cpu: '/sys/fs/cgroup/cpu', memory: '/sys/fs/cgroup/memory/process_api/abc' });
  });
  it('uses v2 when only the unified hierarchy exists, and says why when it cannot limit', () => {
    expect(detectLayout(V2_MOUNTS, '0::/user.slice\n', 'cpuset cpu io memory pids\n')).toEqual({
      version: 2,
      root: '/sys/fs/cgroup',
      controllers: ['cpuset', 'cpu', 'io', 'memory', 'pids'],
    });
    expect(detectLayout(V2_MOUNTS, '0::/\n', 'pids\n')).toEqual({ reason: expect.stringMatching(/neither the cpu nor the memory/) });
    expect(detectLayout('', '', null)).toEqual({ reason: 'no cgroup filesystem is mounted' });
  });
});

describe('host cgroup files', () => {
  const size = { cpus: 0.5, memoryMb: 1024 };
  it('v1: bench/<run>/<host> in the cpu and memory hierarchies', () => {
    const p = hostCgroupPlan({ version: 1, cpu: '/sys/fs/cgroup/cpu', memory: '/sys/fs/cgroup/memory/x' }, 'r1', 'db-host', size);
    expect(p.dirs).toEqual(['/sys/fs/cgroup/cpu/bench/r1/db-host', '/sys/fs/cgroup/memory/x/bench/r1/db-host']);
    expect(p.writes.map((w) => [w.path, w.value])).toEqual([
      ['/sys/fs/cgroup/cpu/bench/r1/db-host/cpu.cfs_period_us', '100000'],
      ['/sys/fs/cgroup/cpu/bench/r1/db-host/cpu.cfs_quota_us', '50000'],
      ['/sys/fs/cgroup/memory/x/bench/r1/db-host/memory.limit_in_bytes', '1073741824'],
    ]);
  });
  it('v2: enables controllers down the tree, then cpu.max and memory.max', () => {
    const p = hostCgroupPlan({ version: 2, root: '/sys/fs/cgroup', controllers: ['cpu', 'memory', 'pids'] }, 'r1', 'app-host', size);
    expect(p.dirs).toEqual(['/sys/fs/cgroup/bench/r1/app-host']);
    expect(p.writes.map((w) => [w.path, w.value])).toEqual([
      ['/sys/fs/cgroup/cgroup.subtree_control', '+cpu +memory'],
      ['/sys/fs/cgroup/bench/cgroup.subtree_control', '+cpu +memory'],
      ['/sys/fs/cgroup/bench/r1/cgroup.subtree_control', '+cpu +memory'],
      ['/sys/fs/cgroup/bench/r1/app-host/cpu.max', '50000 100000'],
      ['/sys/fs/cgroup/bench/r1/app-host/memory.max', '1073741824'],
    ]);
  });
  it('v2 without the memory controller limits CPU only', () => {
    const p = hostCgroupPlan({ version: 2, root: '/c', controllers: ['cpu'] }, 'r', 'h', size);
    expect(p.writes.map((w) => w.path)).not.toContain('/c/bench/r/h/memory.max');
    expect(p.writes[0]!.value).toBe('+cpu');
  });
});

describe('RunCgroups.enforcement (what results record per host)', () => {
  const size = { cpus: 0.5, memoryMb: 256 };
  it('a host whose quotas were written (a plain directory standing in for cgroupfs) is enforced', async () => {
    const root = await mkdtemp(join(tmpdir(), 'b-cg-'));
    try {
      const cg = new RunCgroups({ version: 2, root, controllers: ['cpu', 'memory'] }, 'r1');
      await cg.createHost('db-host', size);
      await cg.addPid('db-host', 12345);
      // the memory limit at once; the CPU quota only once the deployment is up (start-up unthrottled)
      const dir = join(root, 'bench', 'r1', 'db-host');
      expect(await readFile(join(dir, 'memory.max'), 'utf8')).toBe(String(256 * 1024 * 1024));
      expect(existsSync(join(dir, 'cpu.max'))).toBe(false);
      expect(cg.enforcement()).toEqual({ 'db-host': false });
      await cg.holdCpu();
      expect(await readFile(join(dir, 'cpu.max'), 'utf8')).toBe('50000 100000');
      expect(cg.enforcement()).toEqual({ 'db-host': true });
      // a host created after that gets its quota at once
      await cg.createHost('late-host', size);
      expect(await readFile(join(root, 'bench', 'r1', 'late-host', 'cpu.max'), 'utf8')).toBe('50000 100000');
      expect(cg.enforcement()).toEqual({ 'db-host': true, 'late-host': true });
      // still known after the teardown removed the cgroups: results are written after it
      await cg.remove().catch(() => []);
      expect(cg.enforcement()).toEqual({ 'db-host': true, 'late-host': true });
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });
  it('a missing controller, a failed write or no cgroup filesystem: not enforced', async () => {
    const root = await mkdtemp(join(tmpdir(), 'b-cg-'));
    try {
      const noMemory = new RunCgroups({ version: 2, root, controllers: ['cpu'] }, 'r2');
      await noMemory.createHost('app-host', size);
      expect(noMemory.enforcement()).toEqual({ 'app-host': false });
      expect(noMemory.warnings).toContain('no memory controller: memory limits not set');
      // the root is a file: nothing under it can be created
      const file = join(root, 'not-a-dir');
      await writeFile(file, '');
      const broken = new RunCgroups({ version: 2, root: file, controllers: ['cpu', 'memory'] }, 'r3');
      await broken.createHost('app-host', size);
      expect(broken.enforcement()).toEqual({ 'app-host': false });
      const none = new RunCgroups({ reason: 'no cgroup filesystem is mounted' }, 'r4');
      await none.createHost('h', size);
      expect(none.enforcement()).toEqual({ h: false });
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });
});
