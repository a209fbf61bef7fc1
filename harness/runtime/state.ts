// The native runtime's memory outside the process: one state file per run, written atomically
// after each start, so that `bench down` (or the next run) can clean up after a harness that
// died without tearing down (SIGKILL, OOM, a closed terminal). Processes are recorded by pid
// AND start time (/proc/<pid>/stat field 22): a recycled pid is never mistaken for ours, and
// nothing is ever killed by name.
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { chmod, lstat, mkdir, readFile, readdir, rename, rm, unlink, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { BenchError } from '../errors.ts';
import { removeCgroups } from './cgroups.ts';
import { groupMembers, isSameProcess, listProcesses, pollUntil, signalPid, startTimeOf, terminateGroup } from './process.ts';

/** One started process of a run. */
export interface ServiceRecord {
  name: string;
  pid: number;
  /** /proc/<pid>/stat field 22 at start */
  startTime: number;
  /** the service's data directory */
  dir: string;
  /** the cgroup directories the process was placed in */
  cgroups: string[];
}

/** The state file `<root>/state/<runId>.json`. */
export interface RunState {
  runId: string;
  slot: number;
  /** where logs and config copies live (kept after down) */
  runDir: string;
  /** `<root>/runs/<runId>`: service data, removed at down */
  dataDir: string;
  createdAt: string;
  harnessPid: number;
  harnessStartTime: number | null;
  /** every cgroup directory of the run (host cgroups), removed at down */
  cgroups: string[];
  services: ServiceRecord[];
  /** left up on purpose (bench up): not a leftover when its harness is gone */
  kept?: boolean;
}

const currentUid = (): number => (typeof process.getuid === 'function' ? process.getuid() : -1);

/**
 * The state root, one per user so that no one else can plant a state file the harness would act
 * on: BENCH_STATE_DIR when set; /run/bench for root; else $XDG_RUNTIME_DIR/bench, else
 * /tmp/bench-<uid>.
 */
export function stateRoot(env: NodeJS.ProcessEnv = process.env, uid: number = currentUid()): string {
  if (env.BENCH_STATE_DIR && env.BENCH_STATE_DIR.trim() !== '') return env.BENCH_STATE_DIR;
  if (uid === 0) return '/run/bench';
  if (env.XDG_RUNTIME_DIR && env.XDG_RUNTIME_DIR.trim() !== '') return join(env.XDG_RUNTIME_DIR, 'bench');
  return `/tmp/bench-${uid}`;
}

export interface StateOptions {
  /** the state root; default stateRoot() */
  root?: string;
  /** where a warning goes (a foreign state file, a directory without the marker); default stderr */
  warn?: (line: string) => void;
}

const defaultWarn = (line: string) => process.stderr.write(`bench: warning: ${line}\n`);

/** The run's Postgres password, in its data directory (mode 0600). */
export const PG_PASSWORD_FILE = 'pg-password';

/** The marker file in every directory the harness created and may delete: it holds the run id. */
export const RUN_MARKER = '.bench-run';

const dirs = (root: string) => ({
  state: join(root, 'state'),
  slots: join(root, 'state', 'slots'),
  runs: join(root, 'runs'),
});

export const stateFile = (runId: string, root = stateRoot()) => join(dirs(root).state, `${runId}.json`);
export const runDataDir = (runId: string, root = stateRoot()) => join(dirs(root).runs, runId);

/**
 * Checks a directory with lstat before the harness uses it: a real directory (not a symlink),
 * owned by this user, writable by no one else. Throws BenchError('environment') otherwise.
 */
export async function checkOwnDir(dir: string, uid: number = currentUid()): Promise<void> {
  const st = await lstat(dir);
  const fix = `remove it or point BENCH_STATE_DIR at a directory of your own`;
  if (st.isSymbolicLink()) throw new BenchError('environment', `state directory ${dir} is a symlink`, fix);
  if (!st.isDirectory()) throw new BenchError('environment', `state directory ${dir} is not a directory`, fix);
  if (uid >= 0 && st.uid !== uid) throw new BenchError('environment', `state directory ${dir} belongs to uid ${st.uid}, not to you (uid ${uid})`, fix);
  if ((st.mode & 0o022) !== 0) throw new BenchError('environment', `state directory ${dir} is writable by others (mode ${(st.mode & 0o7777).toString(8)})`, `chmod 700 ${dir}`);
}

/**
 * Creates the state root and its `state`, `runs` directories, 0700 and checked (checkOwnDir). When
 * the harness is root and runs PostgreSQL as the postgres user, the root and `runs` are 0711: the
 * postgres user can reach its own data directory inside (0700, its own) but cannot list or
 * create anything. A directory that exists and is ours is brought to those modes; one that is
 * not ours, or a symlink, is refused.
 */
export async function ensureStateRoot(root = stateRoot()): Promise<void> {
  const uid = currentUid();
  const search = uid === 0 ? 0o711 : 0o700;
  const d = dirs(root);
  await mkdir(dirname(resolve(root)), { recursive: true });
  for (const [dir, mode] of [[root, search], [d.state, 0o700], [d.slots, 0o700], [d.runs, search]] as const) {
    await mkdir(dir, { mode }).catch((e: NodeJS.ErrnoException) => {
      if (e.code !== 'EEXIST') throw e;
    });
    const st = await lstat(dir);
    // only a directory of our own is brought to its mode; anything else fails the check below
    if (st.isDirectory() && !st.isSymbolicLink() && st.uid === uid && (st.mode & 0o7777) !== mode) await chmod(dir, mode);
    await checkOwnDir(dir, uid);
  }
}

/**
 * Creates a run's data directory `<root>/runs/<runId>` with the marker that lets a later teardown
 * or reap delete it (removeRunDir). Mode 0711 when other users (postgres) must reach their own
 * directories inside, else 0700.
 */
export async function createRunDir(runId: string, root = stateRoot(), mode = currentUid() === 0 ? 0o711 : 0o700): Promise<string> {
  await ensureStateRoot(root);
  const dir = runDataDir(runId, root);
  await mkdir(dir, { mode }).catch((e: NodeJS.ErrnoException) => {
    if (e.code !== 'EEXIST') throw e;
  });
  await checkOwnDir(dir);
  await chmod(dir, mode);
  await writeFile(join(dir, RUN_MARKER), `${runId}\n`, { mode: 0o600 });
  return dir;
}

/**
 * Why `dir` may not be deleted as run `runId`'s data directory, or null when it may: it must be
 * `<root>/runs/<runId>` itself (after resolving), a real directory of this user's, holding the
 * marker with that run id. A state file or a Docker label naming any other path is never obeyed.
 */
export async function whyNotRemovable(dir: string, runId: string, root = stateRoot()): Promise<string | null> {
  const want = resolve(runDataDir(runId, root));
  if (resolve(dir) !== want || !/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(runId)) return `${dir} is not ${want}`;
  const st = await lstat(dir).catch(() => null);
  if (st === null) return null;
  if (st.isSymbolicLink() || !st.isDirectory()) return `${dir} is not a directory`;
  const uid = currentUid();
  if (uid >= 0 && st.uid !== uid) return `${dir} belongs to uid ${st.uid}`;
  const marker = await readFile(join(dir, RUN_MARKER), 'utf8').catch(() => null);
  if (marker?.trim() !== runId) return `${dir} has no ${RUN_MARKER} marker for run ${runId}`;
  return null;
}

/**
 * Deletes a run's data directory, only when whyNotRemovable allows it; otherwise warns and leaves
 * it. Resolves to whether it was removed (a directory already gone counts as removed).
 */
export async function removeRunDir(dir: string, runId: string, opts: StateOptions = {}, remove: (dir: string) => Promise<void> = (d) => rm(d, { recursive: true, force: true })): Promise<boolean> {
  const why = await whyNotRemovable(dir, runId, opts.root ?? stateRoot());
  if (why !== null) {
    (opts.warn ?? defaultWarn)(`left ${dir} in place: ${why}`);
    return false;
  }
  await remove(dir);
  return true;
}

/** Writes a run's state atomically (temp file + rename). */
export async function writeState(state: RunState, opts: StateOptions = {}): Promise<void> {
  const root = opts.root ?? stateRoot();
  await ensureStateRoot(root);
  const file = stateFile(state.runId, root);
  const tmp = `${file}.${process.pid}.tmp`;
  await writeFile(tmp, JSON.stringify(state, null, 2) + '\n');
  await rename(tmp, file);
}

/**
 * A run's state, or null when it has none. A state file that is not a regular file of this user's
 * is ignored with a warning: the harness would kill and delete what it names.
 */
export async function readState(runId: string, opts: StateOptions = {}): Promise<RunState | null> {
  const file = stateFile(runId, opts.root ?? stateRoot());
  const st = await lstat(file).catch(() => null);
  if (st === null) return null;
  const uid = currentUid();
  if (!st.isFile() || (uid >= 0 && st.uid !== uid)) {
    (opts.warn ?? defaultWarn)(`ignored state file ${file}: ${st.isFile() ? `it belongs to uid ${st.uid}, not to you` : 'it is not a regular file'}`);
    return null;
  }
  try {
    return JSON.parse(await readFile(file, 'utf8')) as RunState;
  } catch {
    return null;
  }
}

/** Is a process alive and the same one as recorded? Injected in tests. */
export type ProcessProbe = (pid: number, startTime: number | null) => boolean;

export interface RunStatus {
  harnessAlive: boolean;
  /** recorded services whose process still runs */
  live: ServiceRecord[];
  /** harness dead and no recorded process left: nothing to kill, only files to remove */
  stale: boolean;
}

/** What is still alive of a run. Pure given the probe. */
export function runStatus(state: RunState, alive: ProcessProbe = isSameProcess): RunStatus {
  const harnessAlive = alive(state.harnessPid, state.harnessStartTime);
  const live = state.services.filter((s) => alive(s.pid, s.startTime));
  return { harnessAlive, live, stale: !harnessAlive && live.length === 0 };
}

/** The lowest slot in 1..254 that is not held. Pure. */
export function pickSlot(held: ReadonlySet<number>): number {
  for (let s = 1; s <= 254; s++) if (!held.has(s)) return s;
  throw new Error('all 254 address slots are held by live runs');
}

/** Slots held by runs that are not stale. Pure given the probe. */
export function heldSlots(states: RunState[], alive: ProcessProbe = isSameProcess): Set<number> {
  return new Set(states.filter((s) => !runStatus(s, alive).stale).map((s) => s.slot));
}

/** A recorded run as `bench status` shows it: its state, and what of it is still alive. */
export interface RunInfo extends Omit<RunState, 'services'> {
  services: (ServiceRecord & { alive: boolean })[];
  harnessAlive: boolean;
  /** harness dead and no recorded process left: only files to remove */
  stale: boolean;
}

/** Joins a state with what is alive of it. Pure given the probe. */
export function runInfo(state: RunState, alive: ProcessProbe = isSameProcess): RunInfo {
  const status = runStatus(state, alive);
  const live = new Set(status.live.map((s) => s.name));
  return {
    ...state,
    services: state.services.map((s) => ({ ...s, alive: live.has(s.name) })),
    harnessAlive: status.harnessAlive,
    stale: status.stale,
  };
}

/** Every run that has a state file, oldest first, with what is still alive of it. */
export async function listRuns(opts: StateOptions = {}): Promise<RunInfo[]> {
  return (await readStates(opts.root ?? stateRoot(), opts.warn)).map((s) => runInfo(s));
}

async function readStates(root: string, warn?: (line: string) => void): Promise<RunState[]> {
  let names: string[];
  // a root someone else made (or a symlink) holds nothing the harness may act on
  const rootProblem = await checkOwnDir(root).then(
    () => null,
    (e: NodeJS.ErrnoException) => (e.code === 'ENOENT' ? null : e),
  );
  if (rootProblem !== null) {
    (warn ?? defaultWarn)(`ignored ${root}: ${rootProblem.message}`);
    return [];
  }
  try {
    names = await readdir(dirs(root).state);
  } catch {
    return [];
  }
  const out: RunState[] = [];
  for (const n of names.filter((x) => x.endsWith('.json'))) {
    const state = await readState(n.slice(0, -'.json'.length), { root, warn });
    if (state) out.push(state);
  }
  return out.sort((a, b) => a.createdAt.localeCompare(b.createdAt));
}

/**
 * Marks a run as deliberately left up (`bench up`): when its harness exits, the run is not a
 * leftover, and `reapAll({ onlyDead: true })` leaves it alone. `bench down` still stops it.
 */
export async function markKept(runId: string, opts: StateOptions = {}): Promise<void> {
  const state = await readState(runId, opts);
  if (!state) throw new Error(`no state file for run ${runId}`);
  await writeState({ ...state, kept: true }, opts);
}

interface SlotLock {
  pid: number;
  startTime: number | null;
  runId?: string;
}

const slotFile = (root: string, slot: number) => join(dirs(root).slots, `${slot}.json`);

async function readSlotLock(root: string, slot: number): Promise<SlotLock | null> {
  try {
    return JSON.parse(await readFile(slotFile(root, slot), 'utf8')) as SlotLock;
  } catch {
    return null;
  }
}

/** The second octets of 127.x.y.z addresses something listens on (from /proc/net/tcp). */
export function listeningSlots(tcpTable?: string): Set<number> {
  const slots = new Set<number>();
  let text = tcpTable;
  if (text === undefined) {
    try {
      text = readFileSync('/proc/net/tcp', 'utf8');
    } catch {
      return slots;
    }
  }
  for (const line of text.split('\n').slice(1)) {
    const f = line.trim().split(/\s+/);
    // local_address is "AABBCCDD:PORT" in little-endian hex; state 0A is LISTEN
    if (f.length < 4 || f[3] !== '0A') continue;
    const ip = f[1]!.split(':')[0]!;
    if (ip.length !== 8 || ip.slice(6, 8) !== '7F') continue;
    slots.add(parseInt(ip.slice(4, 6), 16));
  }
  slots.delete(0);
  return slots;
}

/** The port of a slot's claim (127.<slot>.255.254, an address no plan gives a service): above the
 *  kernel's ephemeral range, so no bind(0) anywhere takes it. */
export const SLOT_CLAIM_PORT = 65_535;

/** Something held while a slot is this process's; closed when the slot is given back. */
export interface SlotClaim {
  close(): void;
}

/**
 * Claims `slot` machine-wide by listening on 127.<slot>.255.254 (unref'd: it never keeps the
 * process alive). The listen is atomic across every state root and user, where the lock files
 * are per root: two harnesses of different roots that read the kernel's table before either
 * listened would both pick the same free slot. Null when someone else holds the claim.
 */
export function claimSlotAddress(slot: number): Promise<SlotClaim | null> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', (e: NodeJS.ErrnoException) => {
      if (e.code === 'EADDRINUSE') resolve(null);
      else reject(new Error(`cannot claim address slot ${slot} (listen on 127.${slot}.255.254:${SLOT_CLAIM_PORT}): ${e.message}`));
    });
    srv.listen({ host: `127.${slot}.255.254`, port: SLOT_CLAIM_PORT, exclusive: true }, () => {
      srv.unref();
      resolve({ close: () => srv.close() });
    });
  });
}

/** The claims of the slots this process holds, by root and slot. */
const claims = new Map<string, SlotClaim>();
const claimKey = (root: string, slot: number) => `${resolve(root)}\0${slot}`;

export interface SlotOptions extends StateOptions {
  runId?: string;
  /** the slots something listens on (default: the kernel's table) */
  listening?: () => Set<number>;
  /** claims a slot machine-wide (default claimSlotAddress) */
  claim?: (slot: number) => Promise<SlotClaim | null>;
}

/**
 * Reserves the lowest slot (the second octet of the run's addresses, 127.<slot>.x.y) not held by
 * a live run. The reservation is a lock file created exclusively in the state root, so two
 * harnesses of one root never share a slot, and a claim on the slot's own address, so neither do
 * two of different roots; it lasts until `releaseSlot` or until this process dies.
 */
export async function allocateSlot(runIdOrOpts: string | SlotOptions = {}): Promise<number> {
  const opts: SlotOptions = typeof runIdOrOpts === 'string' ? { runId: runIdOrOpts } : runIdOrOpts;
  const root = opts.root ?? stateRoot();
  await ensureStateRoot(root);
  const held = heldSlots(await readStates(root));
  // Another state root (a test's, another user's) may hold addresses this root does not know of.
  for (const slot of (opts.listening ?? listeningSlots)()) held.add(slot);
  const me: SlotLock = { pid: process.pid, startTime: startTimeOf(process.pid), runId: opts.runId };
  for (let attempt = 0; attempt < 254 * 2; attempt++) {
    const slot = pickSlot(held);
    try {
      await writeFile(slotFile(root, slot), JSON.stringify(me), { flag: 'wx' });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      const lock = await readSlotLock(root, slot);
      if (lock && isSameProcess(lock.pid, lock.startTime)) held.add(slot);
      else await unlink(slotFile(root, slot)).catch(() => {});
      continue;
    }
    const claim = await (opts.claim ?? claimSlotAddress)(slot).catch(async (e: unknown) => {
      await unlink(slotFile(root, slot)).catch(() => {});
      throw e;
    });
    if (claim) {
      claims.set(claimKey(root, slot), claim);
      return slot;
    }
    // a harness of another root took it between our reading of the table and our lock
    await unlink(slotFile(root, slot)).catch(() => {});
    held.add(slot);
  }
  throw new Error('could not reserve an address slot');
}

/** Gives a slot back (only when this process, or a dead one, holds it). */
export async function releaseSlot(slot: number, opts: StateOptions & { holderPid?: number } = {}): Promise<void> {
  const root = opts.root ?? stateRoot();
  const lock = await readSlotLock(root, slot);
  if (!lock) return;
  const holder = opts.holderPid ?? process.pid;
  if (lock.pid === holder || !isSameProcess(lock.pid, lock.startTime)) {
    await unlink(slotFile(root, slot)).catch(() => {});
    claims.get(claimKey(root, slot))?.close();
    claims.delete(claimKey(root, slot));
  }
}

/**
 * Stops one recorded process group: the group when its leader is still the recorded process;
 * otherwise members left behind by a dead leader (same process group id, started after it).
 * Returns the pids that were signalled.
 */
export async function killRecorded(rec: Pick<ServiceRecord, 'pid' | 'startTime'>, graceMs: number, sig: NodeJS.Signals = 'SIGTERM'): Promise<number[]> {
  // pid 1 and below (init, "every process" for kill(2)) are never ours; a group whose leader's
  // start time was not recorded cannot be told apart from a stranger that reused the pid
  if (!Number.isInteger(rec.pid) || rec.pid <= 1 || !(typeof rec.startTime === 'number' && rec.startTime > 0)) return [];
  if (isSameProcess(rec.pid, rec.startTime)) {
    const members = groupMembers(rec.pid);
    await terminateGroup(rec.pid, { graceMs, sig });
    return members;
  }
  // A group id cannot be handed out as a new pid while the group exists, so members of group
  // `pid` started after our leader are ours, unless a new leader with that pid is alive.
  if (startTimeOf(rec.pid) !== null) return [];
  const orphans = listProcesses().filter((p) => p.pgid === rec.pid && p.startTime >= rec.startTime);
  if (orphans.length === 0) return [];
  const gone = () => orphans.every((o) => !isSameProcess(o.pid, o.startTime));
  for (const o of orphans) signalPid(o.pid, sig);
  if (!(await pollUntil(gone, graceMs))) {
    for (const o of orphans) if (isSameProcess(o.pid, o.startTime)) signalPid(o.pid, 'SIGKILL');
    await pollUntil(gone, 5_000);
  }
  return orphans.map((o) => o.pid);
}

/** What a reap removed; it prints as its run id (`${results.join(', ')}`). */
export class ReapResult {
  /** pids that were signalled */
  killed: number[] = [];
  cgroups: string[] = [];
  dirs: string[] = [];
  stateFile: string | null = null;

  constructor(readonly runId: string) {}

  toString(): string {
    return this.runId;
  }
}

export interface ReapOptions extends StateOptions {
  /** SIGTERM, then SIGKILL after this long; default 5 s */
  graceMs?: number;
}

/** Kills what a run recorded (reverse start order), removes its cgroups, data and state file. */
export async function reapRun(runId: string, opts: ReapOptions = {}): Promise<ReapResult> {
  const root = opts.root ?? stateRoot();
  const state = await readState(runId, { root, warn: opts.warn });
  const result = new ReapResult(runId);
  if (!state) return result;
  for (const s of [...state.services].reverse()) result.killed.push(...(await killRecorded(s, opts.graceMs ?? 5_000)));
  const cgroupDirs = [...new Set([...state.cgroups, ...state.services.flatMap((s) => s.cgroups)])];
  result.cgroups = await removeCgroups(cgroupDirs);
  const dataDir = state.dataDir ?? runDataDir(runId, root);
  if (await removeRunDir(dataDir, runId, { root, warn: opts.warn })) result.dirs.push(dataDir);
  await releaseSlot(state.slot, { root, holderPid: state.harnessPid });
  const file = stateFile(runId, root);
  await rm(file, { force: true });
  result.stateFile = file;
  return result;
}

/**
 * Reaps every recorded run. With `onlyDead`, only what a crashed or SIGKILLed harness left: runs
 * whose harness is gone and that were not left up on purpose (markKept), so that a run in
 * progress elsewhere, or one `bench up` keeps, is left alone.
 */
export async function reapAll(opts: ReapOptions & { onlyDead?: boolean } = {}): Promise<ReapResult[]> {
  const out: ReapResult[] = [];
  for (const r of await listRuns(opts)) {
    if (opts.onlyDead && (r.harnessAlive || (r.kept && !r.stale))) continue;
    out.push(await reapRun(r.runId, opts));
  }
  return out;
}
