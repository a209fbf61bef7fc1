// Host sizes as cgroup quotas: each logical host of a run gets a cgroup `bench/<runId>/<host>`
// with a CPU quota and a memory limit, and the runtime places every process of that host in it.
//
// cgroup v1 (a hierarchy per controller): the cgroup is created below the harness's own cgroup
// in each hierarchy (v1 allows it, and the servers stay inside whatever limits the harness runs
// under). cgroup v2 (one hierarchy): below the root of the hierarchy the harness sees, because v2
// forbids enabling controllers for the children of a cgroup that holds processes (the harness's
// own cgroup always does). When the quotas cannot be set (not root, read-only, no controller),
// nothing fails: the caller gets a reason and says once that host sizes are not enforced.
import { mkdir, readFile, rmdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { HostSize } from '../topology/types.ts';

export const CPU_PERIOD_US = 100_000;
/** the kernel refuses a CFS quota below 1 ms */
const MIN_QUOTA_US = 1_000;

/** The CFS quota for `cpus` cores: `quotaUs` of CPU time per `periodUs` of wall time. */
export function cpuQuota(cpus: number, periodUs = CPU_PERIOD_US): { quotaUs: number; periodUs: number } {
  if (!(cpus > 0)) throw new RangeError(`cpus must be positive, got ${cpus}`);
  return { quotaUs: Math.max(MIN_QUOTA_US, Math.round(cpus * periodUs)), periodUs };
}

/** A memory size in MB as the byte count the kernel takes. */
export function memoryLimitBytes(memoryMb: number): number {
  if (!(memoryMb > 0)) throw new RangeError(`memoryMb must be positive, got ${memoryMb}`);
  return Math.round(memoryMb * 1024 * 1024);
}

/** Where the cgroup filesystems are mounted, from /proc/self/mounts. */
export interface CgroupMounts {
  /** v1: mount point per controller ('cpu', 'memory', ...) */
  v1: Record<string, string>;
  /** v2: the unified hierarchy's mount point */
  v2: string | null;
}

/** Parses /proc/self/mounts (or /proc/mounts) for cgroup filesystems. */
export function parseMounts(text: string): CgroupMounts {
  const out: CgroupMounts = { v1: {}, v2: null };
  for (const line of text.split('\n')) {
    const [, mountPoint, fsType, options] = line.split(' ');
    if (!mountPoint || !options) continue;
    const point = mountPoint.replace(/\\040/g, ' ');
    if (fsType === 'cgroup2') {
      out.v2 ??= point;
    } else if (fsType === 'cgroup') {
      for (const opt of options.split(',')) {
        if (['cpu', 'memory', 'cpuacct', 'cpuset', 'pids', 'blkio'].includes(opt)) out.v1[opt] ??= point;
      }
    }
  }
  return out;
}

/** The harness's own cgroup path per v1 controller, and in v2 ("0::/path"), from /proc/self/cgroup. */
export function parseOwnCgroups(text: string): { v1: Record<string, string>; v2: string | null } {
  const out: { v1: Record<string, string>; v2: string | null } = { v1: {}, v2: null };
  for (const line of text.split('\n')) {
    const m = /^(\d+):([^:]*):(.*)$/.exec(line.trim());
    if (!m) continue;
    if (m[1] === '0' && m[2] === '') out.v2 = m[3]!;
    else for (const c of m[2]!.split(',')) if (c) out.v1[c] = m[3]!;
  }
  return out;
}

/** Where a run's cgroups go: one base directory per controller. */
export type CgroupLayout =
  | { version: 1; cpu: string | null; memory: string | null }
  | { version: 2; root: string; controllers: string[] };

/**
 * Decides v1 or v2 and the base directories. v1 wins when its cpu controller is mounted (a hybrid
 * machine mounts an empty v2 hierarchy beside v1). Returns a reason when neither can limit CPU.
 */
export function detectLayout(mountsText: string, ownText: string, v2Controllers: string | null): CgroupLayout | { reason: string } {
  const mounts = parseMounts(mountsText);
  const own = parseOwnCgroups(ownText);
  if (mounts.v1.cpu || mounts.v1.memory) {
    const base = (c: 'cpu' | 'memory') => (mounts.v1[c] ? join(mounts.v1[c]!, own.v1[c] ?? '/').replace(/(.)\/$/, '$1') : null);
    return { version: 1, cpu: base('cpu'), memory: base('memory') };
  }
  if (mounts.v2) {
    const controllers = (v2Controllers ?? '').trim().split(/\s+/).filter(Boolean);
    if (!controllers.includes('cpu') && !controllers.includes('memory')) {
      return { reason: `cgroup v2 at ${mounts.v2} offers neither the cpu nor the memory controller` };
    }
    return { version: 2, root: mounts.v2, controllers };
  }
  return { reason: 'no cgroup filesystem is mounted' };
}

/** A file to write to set up one host's cgroup. */
export interface CgroupWrite {
  path: string;
  value: string;
  /** what the write is for, in a warning when it fails */
  purpose: 'cpu' | 'memory' | 'enable';
}

/** The directories and writes that give `host` of run `runId` its size. Pure. */
export function hostCgroupPlan(layout: CgroupLayout, runId: string, host: string, size: HostSize): { dirs: string[]; writes: CgroupWrite[] } {
  const q = cpuQuota(size.cpus);
  const mem = String(memoryLimitBytes(size.memoryMb));
  const rel = join('bench', runId, host);
  if (layout.version === 1) {
    const dirs: string[] = [];
    const writes: CgroupWrite[] = [];
    if (layout.cpu) {
      const d = join(layout.cpu, rel);
      dirs.push(d);
      writes.push({ path: join(d, 'cpu.cfs_period_us'), value: String(q.periodUs), purpose: 'cpu' });
      writes.push({ path: join(d, 'cpu.cfs_quota_us'), value: String(q.quotaUs), purpose: 'cpu' });
    }
    if (layout.memory) {
      const d = join(layout.memory, rel);
      dirs.push(d);
      writes.push({ path: join(d, 'memory.limit_in_bytes'), value: mem, purpose: 'memory' });
    }
    return { dirs, writes };
  }
  const wanted = ['cpu', 'memory'].filter((c) => layout.controllers.includes(c));
  const enable = wanted.map((c) => `+${c}`).join(' ');
  const d = join(layout.root, rel);
  const writes: CgroupWrite[] = [
    // v2 hands a controller to a child only when every ancestor enables it in subtree_control.
    { path: join(layout.root, 'cgroup.subtree_control'), value: enable, purpose: 'enable' },
    { path: join(layout.root, 'bench', 'cgroup.subtree_control'), value: enable, purpose: 'enable' },
    { path: join(layout.root, 'bench', runId, 'cgroup.subtree_control'), value: enable, purpose: 'enable' },
  ];
  if (wanted.includes('cpu')) writes.push({ path: join(d, 'cpu.max'), value: `${q.quotaUs} ${q.periodUs}`, purpose: 'cpu' });
  if (wanted.includes('memory')) writes.push({ path: join(d, 'memory.max'), value: mem, purpose: 'memory' });
  return { dirs: [d], writes };
}

/** Reads the machine's cgroup setup; a reason instead when quotas cannot be applied. */
export async function probeCgroups(): Promise<CgroupLayout | { reason: string }> {
  if (process.platform !== 'linux') return { reason: `cgroups exist on Linux only (this is ${process.platform})` };
  try {
    const mounts = await readFile('/proc/self/mounts', 'utf8');
    const own = await readFile('/proc/self/cgroup', 'utf8');
    const v2 = parseMounts(mounts).v2;
    const controllers = v2 ? await readFile(join(v2, 'cgroup.controllers'), 'utf8').catch(() => null) : null;
    const layout = detectLayout(mounts, own, controllers);
    if ('reason' in layout) return layout;
    if (typeof process.getuid === 'function' && process.getuid() !== 0) {
      return { reason: 'the harness is not root, and cgroups need root to create' };
    }
    return layout;
  } catch (e) {
    return { reason: `cannot read the cgroup setup: ${(e as Error).message}` };
  }
}

const errText = (e: unknown) => {
  const err = e as NodeJS.ErrnoException;
  return err.code ? `${err.code} on ${err.path ?? 'write'}` : String(err.message ?? e);
};

/**
 * The cgroups of one run: created per host, filled by pid, removed at the end.
 *
 * A host's memory limit holds from its creation; its CPU quota from `holdCpu()`, which the
 * runtime calls once every service of the deployment is ready. A host's size models the capacity
 * of the machine under load, and nothing is measured during the first start-up: at a quarter of
 * a core RabbitMQ took 24 s to boot, 7 s unthrottled (phase 6 up in 32 s, 14 s). A service
 * started again later (a drill's kill and restart) boots under its quota, as on a small host.
 */
export class RunCgroups {
  private readonly hostDirs = new Map<string, string[]>();
  /** the CPU quota writes of each host, until holdCpu() */
  private readonly pendingCpu = new Map<string, CgroupWrite[]>();
  private cpuHeld = false;
  /** hosts whose quota was not (fully) enforced: a directory, a quota write or a pid move failed */
  private readonly unenforced = new Set<string>();
  /** every host set up, and whether any of its directories was made; kept after remove(), since
   *  results are written after the teardown */
  private readonly created = new Map<string, boolean>();
  /** things that did not work, each said once by the runtime ("host sizes are not enforced: ...") */
  readonly warnings: string[] = [];

  constructor(
    readonly layout: CgroupLayout | { reason: string },
    readonly runId: string,
  ) {
    if ('reason' in layout) this.warnings.push(layout.reason);
  }

  /** Creates the host's cgroup and writes its quotas; returns the directories (empty when unsupported). */
  async createHost(host: string, size: HostSize): Promise<string[]> {
    if ('reason' in this.layout) {
      this.unenforced.add(host);
      this.created.set(host, false);
      return [];
    }
    if (this.hostDirs.has(host)) return this.hostDirs.get(host)!;
    const p = hostCgroupPlan(this.layout, this.runId, host, size);
    // A controller the machine does not offer is a quota never written: not enforced.
    for (const c of ['cpu', 'memory'] as const) {
      if (!p.writes.some((w) => w.purpose === c)) {
        this.warnOnce(`no ${c} controller: ${c === 'cpu' ? 'CPU quotas' : 'memory limits'} not set`);
        this.unenforced.add(host);
      }
    }
    const made: string[] = [];
    for (const d of p.dirs) {
      try {
        await mkdir(d, { recursive: true });
        made.push(d);
      } catch (e) {
        this.warnOnce(`cannot create cgroup ${d}: ${errText(e)}`);
        this.unenforced.add(host);
      }
    }
    const writes = p.writes.filter((w) => made.some((d) => w.path.startsWith(d)) || w.purpose === 'enable');
    const cpu = writes.filter((w) => w.purpose === 'cpu');
    await this.write(host, this.cpuHeld ? writes : writes.filter((w) => w.purpose !== 'cpu'));
    if (!this.cpuHeld) this.pendingCpu.set(host, cpu);
    this.hostDirs.set(host, made);
    this.created.set(host, made.length > 0);
    return made;
  }

  /** Writes every host's CPU quota (once; a host created later gets its quota at creation). */
  async holdCpu(): Promise<void> {
    if (this.cpuHeld) return;
    this.cpuHeld = true;
    for (const [host, writes] of this.pendingCpu) await this.write(host, writes);
    this.pendingCpu.clear();
  }

  private async write(host: string, writes: readonly CgroupWrite[]): Promise<void> {
    for (const w of writes) {
      try {
        await writeFile(w.path, w.value);
      } catch (e) {
        const what = w.purpose === 'memory' ? 'memory limits' : w.purpose === 'cpu' ? 'CPU quotas' : 'controllers';
        this.warnOnce(`${what} not set (${errText(e)})`);
        if (w.purpose === 'cpu' || w.purpose === 'memory') this.unenforced.add(host);
      }
    }
  }

  /** Moves a process (all its threads) into the host's cgroup(s). */
  async addPid(host: string, pid: number): Promise<void> {
    for (const d of this.hostDirs.get(host) ?? []) {
      try {
        await writeFile(join(d, 'cgroup.procs'), String(pid));
      } catch (e) {
        // ESRCH: the process already exited; that is the caller's business, not a quota problem
        if ((e as NodeJS.ErrnoException).code !== 'ESRCH') {
          this.warnOnce(`cannot add pid ${pid} to ${d}: ${errText(e)}`);
          this.unenforced.add(host);
        }
      }
    }
  }

  /**
   * Per host created so far: was its CPU/memory quota enforced (the cgroup made, both quotas
   * written, every process moved in)? Results record it; a comparison refuses unenforced sizes.
   */
  enforcement(): Record<string, boolean> {
    const out: Record<string, boolean> = {};
    // a CPU quota still pending (the deployment never finished starting) was never enforced
    for (const [h, made] of this.created) out[h] = made && !this.unenforced.has(h) && !this.pendingCpu.has(h);
    return out;
  }

  /** Every directory this run created, deepest first, for the state file and the reaper. */
  paths(): string[] {
    return [...this.hostDirs.values()].flat();
  }

  /** Removes the run's cgroups (their processes must be gone). */
  async remove(): Promise<string[]> {
    const removed = await removeCgroups(this.paths());
    this.hostDirs.clear();
    return removed;
  }

  private warnOnce(w: string) {
    if (!this.warnings.includes(w)) this.warnings.push(w);
  }
}

/**
 * Removes host cgroup directories `.../bench/<runId>/<host>`, then their run directory and the
 * `bench` directory when they are empty. A cgroup with a dying process answers EBUSY for a
 * moment: retry briefly. Returns what was removed.
 */
export async function removeCgroups(hostDirs: string[], timeoutMs = 3_000): Promise<string[]> {
  const removed: string[] = [];
  const tryRmdir = async (d: string): Promise<boolean> => {
    try {
      await rmdir(d);
      removed.push(d);
      return true;
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      return code === 'ENOENT';
    }
  };
  for (const d of hostDirs) {
    const deadline = Date.now() + timeoutMs;
    while (!(await tryRmdir(d)) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  }
  const parents = new Set<string>();
  for (const d of hostDirs) {
    const runDir = dirname(d);
    if (dirname(runDir).endsWith('/bench')) parents.add(runDir);
  }
  for (const p of parents) await tryRmdir(p);
  // Only an empty `bench` goes: another run may still hold its own directory in it.
  for (const b of new Set([...parents].map((p) => dirname(p)))) await tryRmdir(b);
  return removed;
}
