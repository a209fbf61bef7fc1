// Process helpers on /proc: identity that survives pid reuse (start time), process groups,
// graceful-then-forceful termination, system users, and a bounded command runner for recipes.
// Linux only, like the native runtime that uses them.
import { spawn } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { readFile } from 'node:fs/promises';

/** The fields of /proc/<pid>/stat the runtime needs. */
export interface ProcStat {
  pid: number;
  /** R, S, D, Z (zombie), T (stopped), ... */
  state: string;
  ppid: number;
  pgid: number;
  /** field 22: clock ticks after boot; with the pid, a process's identity */
  startTime: number;
}

/** Parses the text of /proc/<pid>/stat. The command name may hold spaces and parentheses. */
export function parseProcStat(text: string): ProcStat | null {
  const open = text.indexOf('(');
  const close = text.lastIndexOf(')');
  if (open < 0 || close < open) return null;
  const pid = Number(text.slice(0, open).trim());
  // After the name: field 3 (state) is index 0, so field N is index N - 3.
  const f = text.slice(close + 2).trim().split(/\s+/);
  if (f.length < 20) return null;
  const stat = { pid, state: f[0]!, ppid: Number(f[1]), pgid: Number(f[2]), startTime: Number(f[19]) };
  return Number.isFinite(stat.pid) && Number.isFinite(stat.startTime) ? stat : null;
}

/** /proc/<pid>/stat of a process, or null when it is gone. */
export function procStat(pid: number): ProcStat | null {
  try {
    return parseProcStat(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return null;
  }
}

/** The start time (field 22) of a live process, or null when it is gone or a zombie. */
export function startTimeOf(pid: number): number | null {
  const s = procStat(pid);
  return s && s.state !== 'Z' && s.state !== 'X' ? s.startTime : null;
}

/** True when `pid` runs and is the same process as when `startTime` was recorded. */
export function isSameProcess(pid: number, startTime: number | null | undefined): boolean {
  const now = startTimeOf(pid);
  return now !== null && (startTime == null || now === startTime);
}

/** Every live (non-zombie) process of the machine. */
export function listProcesses(): ProcStat[] {
  const out: ProcStat[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const s = procStat(Number(name));
    if (s && s.state !== 'Z' && s.state !== 'X') out.push(s);
  }
  return out;
}

/** Live members of process group `pgid`. */
export function groupMembers(pgid: number): number[] {
  return listProcesses().filter((p) => p.pgid === pgid).map((p) => p.pid);
}

/** The command line of a process (NUL-separated arguments joined by spaces), '' when gone. */
export function cmdlineOf(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ').trim();
  } catch {
    return '';
  }
}

/**
 * Refuses pid/pgid 1 and below: kill(2) reads 0 as "my own group" and -1 as "every process I may
 * signal", and 1 is init. A corrupt record must never turn into one of those.
 */
function assertSignalable(pid: number, what: string): void {
  if (!Number.isInteger(pid) || pid <= 1) throw new Error(`refusing to signal ${what} ${pid}`);
}

/** Sends a signal to a whole process group; false when it no longer exists. */
export function signalGroup(pgid: number, sig: NodeJS.Signals): boolean {
  assertSignalable(pgid, 'process group');
  try {
    process.kill(-pgid, sig);
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ESRCH') return false;
    throw e;
  }
}

/** Sends a signal to one process; false when it no longer exists. */
export function signalPid(pid: number, sig: NodeJS.Signals): boolean {
  assertSignalable(pid, 'pid');
  try {
    process.kill(pid, sig);
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ESRCH') return false;
    throw e;
  }
}

const delay = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Polls until `gone()` is true or `timeoutMs` passes; returns whether it became true. */
export async function pollUntil(gone: () => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  let wait = 5;
  while (!gone()) {
    if (Date.now() >= deadline) return false;
    await delay(wait);
    wait = Math.min(100, wait * 2);
  }
  return true;
}

/**
 * Stops a process group: `sig` (SIGTERM by default), SIGCONT so that a SIGSTOPped group can act
 * on it, then SIGKILL after `graceMs`. Resolves when no member is left, with how it ended.
 */
export async function terminateGroup(pgid: number, opts: { graceMs: number; sig?: NodeJS.Signals }): Promise<'gone' | 'exited' | 'killed'> {
  assertSignalable(pgid, 'process group');
  const empty = () => groupMembers(pgid).length === 0;
  if (empty()) return 'gone';
  signalGroup(pgid, opts.sig ?? 'SIGTERM');
  signalGroup(pgid, 'SIGCONT');
  if (await pollUntil(empty, opts.graceMs)) return 'exited';
  signalGroup(pgid, 'SIGKILL');
  if (!(await pollUntil(empty, 5_000))) {
    throw new Error(`process group ${pgid} survived SIGKILL: ${groupMembers(pgid).join(', ')}`);
  }
  return 'killed';
}

/** A system user from /etc/passwd. */
export interface SystemUser {
  name: string;
  uid: number;
  gid: number;
  home: string;
}

/** Parses /etc/passwd text and finds `name`. */
export function findUser(passwd: string, name: string): SystemUser | null {
  for (const line of passwd.split('\n')) {
    const f = line.split(':');
    if (f[0] === name && f.length >= 6) return { name, uid: Number(f[2]), gid: Number(f[3]), home: f[5]! };
  }
  return null;
}

/** Looks a system user up in /etc/passwd (no NSS: the runtime needs local system users only). */
export async function lookupUser(name: string, passwdFile = '/etc/passwd'): Promise<SystemUser | null> {
  return findUser(await readFile(passwdFile, 'utf8'), name);
}

/** True when this process may switch to another user for its children. */
export const canSwitchUser = () => typeof process.getuid === 'function' && process.getuid() === 0;

export interface RunOptions {
  env?: Record<string, string>;
  cwd?: string;
  /** run as this system user when the harness is root (ignored otherwise) */
  user?: string;
  timeoutMs?: number;
  signal?: AbortSignal;
}

/**
 * Runs a short command to completion (initdb, pg_basebackup, pg_ctl): resolves with its output,
 * rejects with the command, its exit status and the tail of its stderr.
 */
export async function runCommand(command: string, args: string[], opts: RunOptions = {}): Promise<{ stdout: string; stderr: string }> {
  const ids = opts.user && canSwitchUser() ? await lookupUser(opts.user) : null;
  if (opts.user && canSwitchUser() && !ids) throw new Error(`system user ${opts.user} does not exist`);
  const timeoutMs = opts.timeoutMs ?? 60_000;
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      cwd: opts.cwd,
      env: { ...process.env, ...(ids ? { HOME: ids.home, USER: ids.name, LOGNAME: ids.name } : {}), ...opts.env },
      stdio: ['ignore', 'pipe', 'pipe'],
      ...(ids ? { uid: ids.uid, gid: ids.gid } : {}),
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    const onAbort = () => child.kill('SIGKILL');
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    const what = `${command.split('/').pop()} ${args.join(' ')}`;
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(new Error(`cannot run ${what}: ${e.message}`));
    });
    child.on('close', (code, sig) => {
      clearTimeout(timer);
      opts.signal?.removeEventListener('abort', onAbort);
      if (code === 0) return resolve({ stdout, stderr });
      const tail = (stderr || stdout).trim().split('\n').slice(-5).join(' | ');
      const how = sig ? `was killed by ${sig}${sig === 'SIGKILL' && !opts.signal?.aborted ? ` (timeout ${timeoutMs} ms)` : ''}` : `exited with ${code}`;
      reject(new Error(`${what} ${how}: ${tail}`));
    });
  });
}
